//===- Plan.h - plan.json as the runtime reads it ---------------*- C++ -*-===//

#ifndef FUSEDECODE_RUNTIME_PLAN_H
#define FUSEDECODE_RUNTIME_PLAN_H

#include "fusedecode/status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fd::runtime {

struct PlanBuffer {
  // layout and weight (the fdgraph weight it holds) for weight buffers.
  std::string name, kind, layout, weight;
  uint64_t size = 0, offset = 0;
};

struct PlanArg {
  enum Kind { Buffer, Null, I32, F32, U64 } kind = Null;
  size_t buffer = 0;
  int32_t i32 = 0;
  float f32 = 0;
  uint64_t u64 = 0;
};

/// One target's kernel for a launch: the cost model picks template
/// parameters per target, and with them the launch dimensions.
struct PlanKernel {
  std::string symbol;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  /// May start while the previous launch finishes (the kernel waits for it
  /// itself: programmatic dependent launch on CUDA sm_90+).
  bool overlap = false;
};

/// Device-memory bytes a launch moves per token in one category (weights
/// of the experts, the router, ..., state, KV): `bytes` plus `perPosition`
/// for each position of context. Written by the compiler (Traffic.h); what
/// `bench` measures against.
struct PlanTraffic {
  std::string category;
  uint64_t bytes = 0, perPosition = 0;
};

struct PlanLaunch {
  std::map<std::string, PlanKernel> kernel; // by target
  std::string templateName;
  std::vector<PlanArg> args;
  std::vector<PlanTraffic> traffic; // empty in plans from before it existed
};

struct Plan {
  uint64_t hash = 0;
  uint64_t arenaBytes = 0;
  int64_t maxContext = 0; // positions the KV cache holds
  std::vector<PlanBuffer> buffers;
  std::vector<PlanLaunch> decode;
};

/// Parses and checks plan.json's text (format, version, buffer indices in
/// range); `path` names it in errors.
fd_error_t parsePlan(const std::string &text, const std::string &path,
                     Plan &out);

/// Index of the buffer named `name`.
fd_error_t findBuffer(const Plan &plan, const std::string &name, size_t &index);

} // namespace fd::runtime

#endif
