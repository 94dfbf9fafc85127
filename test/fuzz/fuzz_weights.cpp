//===- fuzz_weights.cpp - the packed weights file header and table --------===//

#include "FuzzSupport.h"

#include "fusedecode/weights.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fd::fuzz::MemFile file(data, size);
  fd_weights *w = nullptr;
  if (fd_error_t err = fd_weights_open(file.path().c_str(), 0, &w)) {
    std::string msg = fd_error_message(err);
    fd_error_free(err);
    fd::fuzz::require(msg.find('\n') == std::string::npos,
                      "errors are one line");
    return 0;
  }
  // Every entry of an accepted file reads (or fails its checksum) without
  // touching memory outside its buffer.
  for (uint64_t i = 0; i < fd_weights_count(w); ++i) {
    const FdwEntry *e = fd_weights_entry(w, i);
    fd::fuzz::require(e->bytes <= size, "accepted entries lie in the file");
    std::vector<uint8_t> buf(e->bytes);
    fd_error_free(fd_weights_read(w, i, buf.data()));
  }
  fd_weights_close(w);
  return 0;
}
