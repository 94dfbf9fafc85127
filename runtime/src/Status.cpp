//===- Status.cpp - errors of the runtime's C API -------------------------===//

#include "Status.h"

#include <cstdio>
#include <new>

namespace {
// Returned when memory runs out, or when the error itself cannot be
// allocated: a failure must never read as success (NULL).
fd_error outOfMemory{"out of memory"};
} // namespace

namespace fd::runtime {
fd_error_t makeError(std::string message) {
  for (char &c : message) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  try {
    return new fd_error{std::move(message)};
  } catch (const std::bad_alloc &) {
    return &outOfMemory;
  }
}

fd_error_t outOfMemoryError() noexcept { return &outOfMemory; }

std::string formatGiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / 1073741824.0);
  return buf;
}
} // namespace fd::runtime

extern "C" const char *fd_error_message(fd_error_t e) {
  return e ? e->message.c_str() : "success";
}

extern "C" void fd_error_free(fd_error_t e) {
  if (e != &outOfMemory) {
    delete e;
  }
}
