//===- PackWeights.h - OUT/weights.fdw from a lowered module ----*- C++ -*-===//
//
// Every weight buffer of the decode plan names the fdgraph.weight it comes
// from and the layout the kernels read (`w4.qweight`, `w4.scales`,
// `w4.zeros`, `bf16`, `f32`); this reads the checkpoint tensors, repacks or
// converts them, and streams them into the weights file.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_PACKWEIGHTS_H
#define FUSEDECODE_COMPILER_CODEGEN_PACKWEIGHTS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace fd::codegen {

/// XXH3-64 of `text`: the plan hash written into the weights file.
uint64_t hashPlan(const std::string &text);

llvm::Error packWeights(mlir::ModuleOp module, const std::string &checkpointDir,
                        const std::string &outPath, uint64_t planHash);

} // namespace fd::codegen

#endif
