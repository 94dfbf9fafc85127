//===- TuningJob.h - what fd-tune measures on the GPU -----------*- C++ -*-===//
//
// `compile-model --autotune` (or `--emit-tuning-job DIR`) writes, per target,
// a job for fd-tune: every candidate instance of every GEMV shape the plan
// launches, compiled into one code object, with the launch's arguments as
// buffers to allocate (size, how to fill them with valid random data, how
// many copies to rotate through so the last-level cache does not serve the
// weights) and scalars. fd-tune needs no compiler: it loads the code object,
// times each candidate and writes the tuning database (TuningDb.h).
//
// <dir>/job.json (version 1):
//   {"format": "fusedecode-tuning-job", "version": 1, "target": "sm_90",
//    "templates_hash": "…", "compiler": "…",
//    "code_object": "candidates.sm_90.cubin",
//    "buffers": [{"name": "…", "size": N, "fill": "w4.qweight" | "w4.scales"
//                 | "w4.zeros" | "bf16" | "f32" | "ids", "ids_below": E,
//                 "copies": C}],
//    "shapes": [{"key": "…", "template": "…", "shape": "…", "launches": L,
//                "candidates": [{"ROWS": r, "LANES": l, "WAVES": w,
//                  "symbol": "…", "grid": [x, y, z], "block": [x, y, z],
//                  "args": [{"buffer": i} | {"null": true} | {"i32": v}
//                           | {"f32": v} | {"u64": v}]}]}]}
// Candidates that spill are left out: they are never chosen.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_TRANSFORMS_TUNINGJOB_H
#define FUSEDECODE_COMPILER_TRANSFORMS_TUNINGJOB_H

#include "compiler/codegen/DeviceCompiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace fd::transforms {

struct TuningJobSummary {
  size_t shapes = 0, candidates = 0, skippedSpilling = 0;
  std::string jobFile;
};

/// Writes <dir>/job.json and the candidates' code object for `target` from
/// a lowered (and fused) module whose GEMV parameters are not chosen yet.
llvm::Expected<TuningJobSummary>
writeTuningJob(mlir::ModuleOp module, codegen::GpuTarget target,
               const std::string &dir,
               const codegen::DeviceCompileOptions &options);

} // namespace fd::transforms

#endif
