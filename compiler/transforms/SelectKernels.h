//===- SelectKernels.h - the cost model's choices, for --explain -*- C++
//-*-===//

#ifndef FUSEDECODE_COMPILER_TRANSFORMS_SELECTKERNELS_H
#define FUSEDECODE_COMPILER_TRANSFORMS_SELECTKERNELS_H

#include "compiler/costmodel/CostModel.h"
#include "compiler/transforms/Passes.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include <string>
#include <vector>

namespace fd::transforms {

/// One decision of fd-select-kernels: a template and shape, every launch it
/// covers, the candidates weighed and the one kept.
struct KernelChoice {
  std::string target;
  std::string key; // the tuning database's key for this shape
  std::string templateName;
  costmodel::GemvShape shape;
  std::string firstOp; // location of the first launch it covers
  int launches = 0;
  std::vector<costmodel::Candidate> candidates;
  /// AMD: the occupancy the compiler reports per candidate (waves per SIMD,
  /// -1 on NVIDIA); the model's must equal it.
  std::vector<int> compilerWaves;
  /// Per candidate, its time from the tuning database in µs (0: none).
  std::vector<double> measured;
  bool byMeasurement = false; // measured times chose, not the model
  std::string tuningDbFile;   // the database the times came from
  size_t modelChoice = 0;     // the model's pick, whatever decided
  size_t chosen = 0;
  std::string reason;
};

/// The GEMV launches of one decision: equal template, fixed parameters and
/// shape; the settings the model weighs for them.
struct GemvGroup {
  std::string key;
  std::vector<fdkernel::LaunchOp> launches;
  costmodel::GemvShape shape;
  std::vector<costmodel::GemvConfig> configs;
};

/// The tunable GEMV launches of `module` in groups, in order of first use.
std::vector<GemvGroup> collectGemvGroups(mlir::ModuleOp module);

/// A module with one step holding, for each group in order, a copy of its
/// first launch per candidate, with that candidate's parameters, grid and
/// block: what one device compile needs to build every candidate.
mlir::OwningOpRef<mlir::ModuleOp>
buildCandidateModule(mlir::Location loc, const std::vector<GemvGroup> &groups);

/// fd-select-kernels that also appends its decisions to `sink`.
std::unique_ptr<mlir::Pass>
createSelectKernelsPass(const SelectKernelsPassOptions &options,
                        std::vector<KernelChoice> *sink);

/// "N=2048 K=512 w4 g128 x8 slots" for reports.
std::string describeShape(const costmodel::GemvShape &shape);

} // namespace fd::transforms

#endif
