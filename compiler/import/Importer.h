//===- Importer.h - checkpoint directory -> fdgraph module ------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_IMPORT_IMPORTER_H
#define FUSEDECODE_COMPILER_IMPORT_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir {
class MLIRContext;
class DialectRegistry;
} // namespace mlir

namespace fd::import {

/// Registers the dialects an imported module uses.
void registerImportDialects(mlir::DialectRegistry &registry);

/// Imports a Hugging Face checkpoint directory (config.json, safetensors
/// headers, optional index) into a verified fdgraph module holding one
/// `func.func @forward(tensor<?xi32>) -> tensor<i32>`. Reads no weight data.
/// Errors are one line: "<file>: <tensor or field>: <problem>".
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importCheckpoint(mlir::MLIRContext &context, const std::string &dir);

} // namespace fd::import

#endif
