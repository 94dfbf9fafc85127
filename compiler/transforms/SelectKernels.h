//===- SelectKernels.h - the cost model's choices, for --explain -*- C++
//-*-===//

#ifndef FUSEDECODE_COMPILER_TRANSFORMS_SELECTKERNELS_H
#define FUSEDECODE_COMPILER_TRANSFORMS_SELECTKERNELS_H

#include "compiler/costmodel/CostModel.h"
#include "compiler/transforms/Passes.h"

#include <string>
#include <vector>

namespace fd::transforms {

/// One decision of fd-select-kernels: a template and shape, every launch it
/// covers, the candidates weighed and the one kept.
struct KernelChoice {
  std::string target;
  std::string templateName;
  costmodel::GemvShape shape;
  std::string firstOp; // location of the first launch it covers
  int launches = 0;
  std::vector<costmodel::Candidate> candidates;
  /// AMD: the occupancy the compiler reports per candidate (waves per SIMD,
  /// -1 on NVIDIA); the model's must equal it.
  std::vector<int> compilerWaves;
  size_t chosen = 0;
  std::string reason;
};

/// fd-select-kernels that also appends its decisions to `sink`.
std::unique_ptr<mlir::Pass>
createSelectKernelsPass(const SelectKernelsPassOptions &options,
                        std::vector<KernelChoice> *sink);

/// "N=2048 K=512 w4 g128 x8 slots" for reports.
std::string describeShape(const costmodel::GemvShape &shape);

} // namespace fd::transforms

#endif
