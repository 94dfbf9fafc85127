//===- PlanWriter.h - the launch plan the runtime executes -------*- C++
//-*-===//
//
// OUT/plan.json: everything the generic runtime needs to run one decode
// step, with no MLIR and no knowledge of the model: buffers (kind, size,
// arena offset, weights-file tensor), and launches in order (per target:
// kernel symbol, grid and block, since the cost model picks parameters per
// target; and the argument list in kernel order: a buffer, a null pointer,
// or a typed scalar). Written from the lowered module, each target's
// selected copy of it and the kernel registry's argument order.
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

struct TemplateInfo;

/// Launches marked to overlap the previous one (compile-model
/// --overlap-launches): none, those whose template prefetches its weights
/// before waiting (TemplateInfo::prefetchesWeights), or all.
enum class OverlapLaunches { None, Prefetching, All };

/// Whether a launch of `info` (null: unknown template) is marked "overlap"
/// under `mode`.
bool launchOverlaps(OverlapLaunches mode, const TemplateInfo *info);

/// One target's copy of the plan after fd-select-kernels: same buffers and
/// launch order as the base module, its own parameters, grid and block.
struct TargetPlan {
  std::string target;
  mlir::ModuleOp module;
  const KernelSource *source = nullptr; // with symbols bound for `target`
  /// Which launches may start while the previous one finishes ("overlap"
  /// in plan.json; the runtime launches them programmatically dependent).
  OverlapLaunches overlap = OverlapLaunches::None;
};

llvm::Expected<std::string>
writePlanJson(mlir::ModuleOp module, const std::vector<TargetPlan> &targets,
              uint64_t planHash);

} // namespace fd::codegen

#endif
