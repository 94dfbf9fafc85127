//===- PlanWriter.h - the launch plan the runtime executes -------*- C++
//-*-===//
//
// OUT/plan.json: everything the generic runtime needs to run one decode
// step, with no MLIR and no knowledge of the model: buffers (kind, size,
// arena offset, weights-file tensor), and launches in order (kernel symbol
// per target, grid, block, and the argument list in kernel order: a buffer,
// a null pointer, or a typed scalar). Written from the lowered module and
// the kernel registry's argument order.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_PLANWRITER_H
#define FUSEDECODE_COMPILER_CODEGEN_PLANWRITER_H

#include "compiler/codegen/KernelSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>

namespace fd::codegen {

/// `symbols[target][instance]` is the instance's kernel symbol on `target`.
llvm::Expected<std::string>
writePlanJson(mlir::ModuleOp module, const KernelSource &source,
              const std::map<std::string, std::vector<std::string>> &symbols,
              uint64_t planHash);

} // namespace fd::codegen

#endif
