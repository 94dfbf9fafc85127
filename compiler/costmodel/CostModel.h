//===- CostModel.h - predicted time of a skinny-GEMV launch -----*- C++ -*-===//
//
// The GEMV templates of codegen-templates/gemv.h have three tuning knobs:
// ROWS (rows per lane group), LANES (lanes splitting K per row) and WAVES
// (waves per block). For one launch shape and target this file lists the
// candidate settings and predicts each one's time from:
//   - bytes moved (weights, scales, zero points, activations, output) at the
//     target's bandwidth, plus one memory latency to fill the pipe;
//   - loads in flight: each wave issues ROWS 16-byte loads per active lane
//     per step and waits about one memory latency for them, so the grid's
//     steps run in rounds of (resident waves per unit x units), where the
//     resident waves come from the occupancy the compiler's register and
//     local-memory numbers allow (TargetInfo::occupancy) and whole blocks;
//   - the tail: a last, partly filled round costs a whole one;
//   - the launch overhead inside a replayed graph;
//   - an RMSNorm prologue (normK): its row and weight read once, and per
//     round one more memory latency before the first weight load;
//   - the w4 steps' activation loads through L1, for the templates that
//     have gemv.h's x-stationary step (where the target's rate is measured):
//     the per-lane step reloads a lane's 32 values of x for every step (N K
//     2 bytes), the x-stationary step (where the setting takes it) once a
//     wave (1 / C of that); ROWS and LANES left out, as measured (.cpp).
// The prediction is max(bandwidth term, latency term) + activations + launch:
// whichever of the memory system and the latency-bound issue rate is the
// bottleneck, then the activations' L1 traffic, measured to add to it.
// Plain C++.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_COSTMODEL_COSTMODEL_H
#define FUSEDECODE_COMPILER_COSTMODEL_COSTMODEL_H

#include "compiler/costmodel/TargetInfo.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fd::costmodel {

/// The shape of one GEMV-like launch.
struct GemvShape {
  /// W8: int8 rows with fp16 scales per `group` (the quantized lm_head).
  enum Kind { W4, Bf16, W4Experts, W8 } kind = W4;
  /// A horizontally fused launch (gemv_segments*): its matrices over the
  /// same x, in block order; `kind` and `n` then describe the first one and
  /// the rows of all.
  struct Segment {
    Kind kind = W4;
    int64_t n = 0;
    /// Gate and up rows, bf16(silu(gate x) * up x) out (router_gemv_topk_glu's
    /// shared expert): twice the weights per row.
    bool glu = false;
  };
  std::vector<Segment> segments;
  int64_t n = 0, k = 0;
  int64_t m = 1;     // token rows
  int64_t slots = 1; // W4Experts: experts per token (grid y)
  int64_t group = 0; // W4: quantization group along K
  bool zeros = false;
  bool xFloat = false; // Bf16: float activations (8 bytes per 8 values more)
  bool outBf16 = false;
  bool accumulate = false; // y += (reads y too)
  bool glu = false; // gate and up matrices, bf16(silu(gate x) * up x) out
  /// W4Experts summed in one launch (moe_down_combine): a block owns
  /// rows x 32/lanes rows and its waves split the slots and a shared expert
  /// of `sharedKind` over `sharedK` (0: none); grid y 1.
  bool sumSlots = false;
  Kind sharedKind = Bf16;
  int64_t sharedK = 0;
  /// The RMSNorm prologue (fd-fuse-rms-norm): every block first reads the
  /// float row of normK values and its norm weight and writes the bf16 row
  /// to local memory (0: no prologue).
  int64_t normK = 0;
  /// The template takes gemv.h's x-stationary step where the setting allows
  /// it (gemv_w4a16, gemv_w4a16_experts_glu): see xStationaryChunks.
  bool xStationaryForm = false;
  /// The elements of K one lane consumes per step (one 16-byte weight load);
  /// segments: the coarsest (LANES must suit every segment).
  int64_t kPerLaneStep() const;
  /// Steps per wave over K for `lanes` lanes per row: segments, the most;
  /// summed slots, those of the busiest of a block's `waves` waves.
  int64_t stepsPerWave(int lanes, int waves = 1) const;
  /// Every byte the launch must move at least once.
  int64_t bytes() const;

private:
  int64_t bytesWithoutNorm() const;

public:
};

struct GemvConfig {
  int rows = 2, lanes = 32, waves = 4;
  bool operator==(const GemvConfig &o) const {
    return rows == o.rows && lanes == o.lanes && waves == o.waves;
  }
  int rowsPerBlock() const { return rows * (32 / lanes) * waves; }
  int blockThreads() const { return waves * 32; }
};

/// The chunks C of K (K = 1024 C) of the x-stationary step `config` takes
/// for `shape`, 0 where it takes the per-lane step: gemv.h's kW4XFits (one
/// token, no prologue, 32 lanes, C in {1, 2, 4} dividing WAVES, the
/// partials of every row and chunk within 32 KB of local memory).
int xStationaryChunks(const GemvShape &shape, const GemvConfig &config);

/// Every setting the model weighs for `shape` (those the template accepts
/// for it: LANES below 32 only where K fills them).
std::vector<GemvConfig> gemvCandidates(const GemvShape &shape);

/// The grid a setting needs: x over rows, y over expert slots.
int64_t gemvGridX(const GemvShape &shape, const GemvConfig &config);

struct Prediction {
  double micros = 0;          // predicted time
  double bandwidthMicros = 0; // bytes at peak + one latency
  double latencyMicros = 0;   // rounds x steps x latency
  double launchMicros = 0;
  double activationMicros = 0; // the w4 steps' x loads through L1
  int xStationaryChunks = 0;   // 0: the per-lane step
  Occupancy occupancy;
  int64_t blocks = 0, rounds = 0, stepsPerWave = 0;
  int64_t bytes = 0;
  /// The fraction of each lane group's lanes that get no part of K (K under
  /// LANES x the elements one lane takes per step). Not in the time terms;
  /// it breaks ties: on the H100 the K=512 expert down projection with
  /// half its lanes idle measured 1.7x slower than the tied candidates
  /// without (docs/performance.md, autotuning).
  double idleLanes = 0;
  const char *boundBy = ""; // "bandwidth" or "latency"
};

/// The predicted time of `config` for `shape` on `target`, given the
/// registers (AMD VGPRs, NVIDIA registers per thread) and local memory its
/// compiled instance uses.
Prediction predictGemv(const TargetInfo &target, const GemvShape &shape,
                       const GemvConfig &config, int registers,
                       int64_t localBytes);

/// One candidate with its resources and prediction.
struct Candidate {
  GemvConfig config;
  int registers = 0;
  int64_t localBytes = 0;
  int spills = 0;
  Prediction prediction;
};

/// The choice among candidates (spilling ones are never chosen): the least
/// predicted time; candidates within `kTieFraction` of it are a tie, broken
/// by fewer idle lanes, then higher occupancy, then fewer registers. `reason`
/// says which rule decided, in words.
struct Choice {
  size_t index = 0;
  std::string reason;
};
constexpr double kTieFraction = 0.02;
Choice choose(const std::vector<Candidate> &candidates);

} // namespace fd::costmodel

#endif
