//===- RefBuilder.h - fdgraph module -> RefProgram --------------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_REFERENCE_REFBUILDER_H
#define FUSEDECODE_COMPILER_REFERENCE_REFBUILDER_H

#include "compiler/reference/RefProgram.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace fd::reference {

/// Translates the `forward` function of an imported fdgraph module into a
/// RefProgram, reading every weight's data from the checkpoint directory the
/// module was imported from and dequantizing it to float32. Errors are one
/// line naming the file and tensor. With `loadData` false the weights carry
/// only their names and shapes (what compile-model serialises for the
/// runtime's CPU backend, which reads the data from weights.fdw), and the
/// checkpoint is not opened.
llvm::Expected<RefProgram> buildRefProgram(mlir::ModuleOp module,
                                           const std::string &checkpointDir,
                                           bool loadData = true);

} // namespace fd::reference

#endif
