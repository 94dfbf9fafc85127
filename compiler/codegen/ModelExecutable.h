//===- ModelExecutable.h - writing OUT/<model> ------------------*- C++ -*-===//
//
// The model executable is the runtime's generic program (fd-run, which this
// code copies but never links) with the compiled model's files appended in
// the layout of runtime/include/fusedecode/bundle_format.h. Plain C++.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_MODELEXECUTABLE_H
#define FUSEDECODE_COMPILER_CODEGEN_MODELEXECUTABLE_H

#include <string>
#include <utility>
#include <vector>

namespace fd::codegen {

/// Writes `out` = `program` + `files` (name, bytes) + table + trailer,
/// executable (0755), through a `.partial` file renamed at the end. Returns
/// an empty string or a one-line error naming the path.
std::string writeModelExecutable(
    const std::string &program, const std::string &out,
    const std::vector<std::pair<std::string, std::string>> &files);

} // namespace fd::codegen

#endif
