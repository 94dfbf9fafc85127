//===- fuzz_safetensors.cpp - the safetensors header parser ---------------===//

#include "FuzzSupport.h"

#include "compiler/import/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fd::fuzz::MemFile file(data, size);
  auto shard = fd::import::readSafetensorsHeader(file.dir(), file.name());
  if (!shard) {
    std::string msg = llvm::toString(shard.takeError());
    fd::fuzz::require(msg.find('\n') == std::string::npos,
                      "errors are one line");
    return 0;
  }
  // An accepted header describes tensors inside the file.
  for (const auto &t : shard->tensors) {
    fd::fuzz::require(t.end >= t.begin && t.end <= shard->fileSize,
                      "accepted tensor data lies inside the file");
  }
  return 0;
}
