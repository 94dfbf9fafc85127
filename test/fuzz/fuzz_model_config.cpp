//===- fuzz_model_config.cpp - config.json + quantization_config ----------===//

#include "FuzzSupport.h"

#include "compiler/import/ModelConfig.h"

#include <filesystem>
#include <fstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // parseModelConfig reads <dir>/config.json: one directory per process in
  // memory-backed /dev/shm, rewritten for each input.
  static const std::string dir = [] {
    std::string d = "/dev/shm/fd-fuzz-config-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  {
    std::ofstream out(dir + "/config.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data),
              static_cast<std::streamsize>(size));
  }
  auto config = fd::import::parseModelConfig(dir);
  if (!config) {
    std::string msg = llvm::toString(config.takeError());
    fd::fuzz::require(msg.find('\n') == std::string::npos,
                      "errors are one line");
    return 0;
  }
  fd::fuzz::require(config->hiddenSize > 0 && config->numLayers > 0,
                    "an accepted config has a positive size");
  return 0;
}
