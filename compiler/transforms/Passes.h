//===- Passes.h - fusedecode compiler passes --------------------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_TRANSFORMS_PASSES_H
#define FUSEDECODE_COMPILER_TRANSFORMS_PASSES_H

#include "dialects/FDKernel/IR/FDKernelDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace fd::transforms {

#define GEN_PASS_DECL
#include "compiler/transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/transforms/Passes.h.inc"

} // namespace fd::transforms

#endif
