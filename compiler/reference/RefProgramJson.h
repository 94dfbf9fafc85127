//===- RefProgramJson.h - a RefProgram without its weight data --*- C++ -*-===//
//
// compile-model writes the structure of the reference program (ops, their
// attributes, value numbering, and each weight's name and shape) next to the
// GPU plan; the runtime's CPU backend reads it back and fills the weights
// from weights.fdw. Plain C++ (nlohmann/json), no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_REFERENCE_REFPROGRAMJSON_H
#define FUSEDECODE_COMPILER_REFERENCE_REFPROGRAMJSON_H

#include "compiler/reference/RefProgram.h"

#include <functional>
#include <string>

namespace fd::reference {

/// The program as JSON: {"format": "fusedecode-reference", "version": 1,
/// sizes, "steps": [{"op", "in", "out", attributes, "weights": {role:
/// name}}], "weights": {name: shape}}. Weight data is not written.
std::string refProgramToJson(const RefProgram &program);

/// Gives the weight `name` with logical `shape` (data filled), or null with
/// `error` set.
using WeightResolver = std::function<WeightPtr(
    const std::string &name, const std::vector<int64_t> &shape,
    std::string &error)>;

/// Parses refProgramToJson's output and resolves every weight once. Returns
/// an empty string on success, else a one-line message (without a file
/// name: the caller knows where the text came from).
std::string refProgramFromJson(const std::string &text,
                               const WeightResolver &resolve, RefProgram &out);

} // namespace fd::reference

#endif
