//===- Traffic.h - the bytes each launch moves per token ---------*- C++
//-*-===//
//
// What the bench command's roofline and per-kernel profile are measured
// against: for every launch of the decode step, the device-memory bytes it
// must read or write per token, by category (experts, shared expert, router,
// mixers, norms, embed, lm_head, state, KV). Activations (arena and io
// buffers, a few KB that stay in the last-level cache) are not counted.
//
//   - weights: the buffer once, except the routed experts' (top-k of E
//     experts: size x k / E, k from the launch's expert-id buffer) and the
//     embedding table (one row);
//   - recurrent state: read and written (2 x size);
//   - KV cache: a launch that reads it reads one position's worth per
//     position of context (`perPosition`); one that writes it writes one.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_TRAFFIC_H
#define FUSEDECODE_COMPILER_CODEGEN_TRAFFIC_H

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fd::codegen {

struct TrafficItem {
  std::string category;
  int64_t bytes = 0;       // per token
  int64_t perPosition = 0; // per position of context, per token
};

/// The launch's traffic, one item per category it touches (in first-touch
/// order). `module` holds the buffers and the fdgraph weights they name.
std::vector<TrafficItem> launchTraffic(mlir::ModuleOp module,
                                       fdkernel::LaunchOp launch);

/// The category of a weight from its fdgraph name ("layers.3.mlp.experts.
/// gate_proj" -> "experts").
std::string weightCategory(const std::string &weight);

} // namespace fd::codegen

#endif
