//===- Status.h - building fd_error_t values ------------------------------===//

#ifndef FUSEDECODE_RUNTIME_STATUS_H
#define FUSEDECODE_RUNTIME_STATUS_H

#include "fusedecode/status.h"

#include <cstdint>
#include <exception>
#include <new>
#include <string>

struct fd_error {
  std::string message;
};

namespace fd::runtime {
/// A new error with a one-line message (newlines become spaces).
fd_error_t makeError(std::string message);
/// "12.34 GiB", for memory messages.
std::string formatGiB(uint64_t bytes);
/// The error for a failed allocation; allocates nothing.
fd_error_t outOfMemoryError() noexcept;

/// Runs a C API function's body: an exception (a failed allocation
/// included) becomes a status naming `what`, never crossing the C boundary.
template <typename F> fd_error_t guarded(const char *what, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return outOfMemoryError();
  } catch (const std::exception &ex) {
    try {
      return makeError(std::string(what) + ": " + ex.what());
    } catch (...) {
      return outOfMemoryError();
    }
  } catch (...) {
    return outOfMemoryError();
  }
}
} // namespace fd::runtime

#endif
