//===- Errors.h - one-line import errors ------------------------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_IMPORT_ERRORS_H
#define FUSEDECODE_COMPILER_IMPORT_ERRORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

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

/// "[a, b, c]", the shape spelling of every import message.
inline std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape.begin(), shape.end(), ", "));
}

} // namespace fd::import

#endif
