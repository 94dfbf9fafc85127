//===- Errors.h - one-line import errors ------------------------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_IMPORT_ERRORS_H
#define FUSEDECODE_COMPILER_IMPORT_ERRORS_H

#include "llvm/Support/Error.h"

#include <string>

namespace fd::import {

/// Every import error is one line: "<file>: <tensor or field>: <problem>"
/// (the middle part omitted when the whole file is at fault), so users can
/// grep for it and tools can show it as is.
inline llvm::Error makeError(const std::string &file, const std::string &what,
                             const std::string &problem) {
  std::string msg = file;
  if (!what.empty()) {
    msg += ": " + what;
  }
  msg += ": " + problem;
  for (char &c : msg) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace fd::import

#endif
