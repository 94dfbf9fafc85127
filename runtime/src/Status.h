//===- Status.h - building fd_error_t values ------------------------------===//

#ifndef FUSEDECODE_RUNTIME_STATUS_H
#define FUSEDECODE_RUNTIME_STATUS_H

#include "fusedecode/status.h"

#include <string>

struct fd_error {
  std::string message;
};

namespace fd::runtime {
/// A new error with a one-line message (newlines become spaces).
fd_error_t makeError(std::string message);
} // namespace fd::runtime

#endif
