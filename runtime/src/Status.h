//===- Status.h - building fd_error_t values ------------------------------===//

#ifndef FUSEDECODE_RUNTIME_STATUS_H
#define FUSEDECODE_RUNTIME_STATUS_H

#include "fusedecode/status.h"

#include <cstdint>
#include <string>

struct fd_error {
  std::string message;
};

namespace fd::runtime {
/// A new error with a one-line message (newlines become spaces).
fd_error_t makeError(std::string message);
/// "12.34 GiB", for memory messages.
std::string formatGiB(uint64_t bytes);
} // namespace fd::runtime

#endif
