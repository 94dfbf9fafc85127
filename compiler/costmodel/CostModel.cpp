//===- CostModel.cpp - predicted time of a skinny-GEMV launch -------------===//

#include "compiler/costmodel/CostModel.h"

#include <algorithm>
#include <cstdio>

namespace fd::costmodel {

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

int64_t GemvShape::kPerLaneStep() const {
  if (segments.empty()) {
    return kind == Bf16 ? 8 : kind == W8 ? 16 : 32;
  }
  int64_t step = 8;
  for (const Segment &seg : segments) {
    step = std::max<int64_t>(step, seg.kind == Bf16 ? 8 : 32);
  }
  return step;
}

int64_t GemvShape::stepsPerWave(int lanes, int waves) const {
  if (sumSlots) {
    // A block's waves split the slots, wave w taking w, w + waves, ...,
    // the shared expert counting as slot `slots`: the busiest wave's steps.
    const int64_t routed = ceilDiv(k, lanes * kPerLaneStep());
    const int64_t items = slots + (sharedK > 0 ? 1 : 0);
    int64_t busiest = 0;
    for (int64_t w = 0; w < std::min<int64_t>(waves, items); ++w) {
      int64_t steps = 0;
      for (int64_t it = w; it < items; it += waves) {
        steps += it < slots ? routed
                            : ceilDiv(sharedK,
                                      lanes * (sharedKind == Bf16 ? 8 : 32));
      }
      busiest = std::max(busiest, steps);
    }
    return busiest;
  }
  if (segments.empty()) {
    return ceilDiv(k, lanes * kPerLaneStep());
  }
  int64_t steps = 0;
  for (const Segment &seg : segments) {
    steps = std::max(steps, ceilDiv(k, lanes * (seg.kind == Bf16 ? 8 : 32)));
  }
  return steps;
}

int64_t GemvShape::bytes() const {
  // The prologue's float row and bf16 weight, read once.
  return normK * (4 + 2) + bytesWithoutNorm();
}

int64_t GemvShape::bytesWithoutNorm() const {
  if (!segments.empty()) {
    int64_t total = m * k * 2; // x once (it stays in cache for the others)
    for (const Segment &seg : segments) {
      GemvShape one = *this;
      one.segments.clear();
      one.kind = seg.kind;
      one.n = seg.n;
      one.glu = seg.glu;
      one.outBf16 = seg.glu;
      total += one.bytesWithoutNorm() - m * k * 2;
    }
    return total;
  }
  int64_t weights = 0;
  if (kind == Bf16) {
    weights = n * k * 2;
  } else if (kind == W8) {
    weights = n * k + n * (k / std::max<int64_t>(group, 1)) * 2;
  } else {
    const int64_t groups = k / std::max<int64_t>(group, 1);
    weights = n * k / 2 + n * groups * 2 + (zeros ? n * groups : 0);
  }
  if (glu) {
    weights *= 2; // gate and up
  }
  const int64_t x = m * k * (kind == Bf16 && xFloat ? 4 : 2);
  const int64_t y = m * n * (outBf16 ? 2 : 4) * (accumulate ? 2 : 1);
  if (sumSlots) {
    // Every slot's expert and x row, the shared expert's, the output once.
    int64_t shared = 0;
    if (sharedK > 0) {
      GemvShape one;
      one.kind = sharedKind;
      one.n = n;
      one.k = sharedK;
      one.group = group;
      one.zeros = zeros;
      shared = one.bytes() - n * 4;
    }
    return slots * (weights + x) + shared + y;
  }
  // Experts: each slot reads its own expert's weights, the activations and
  // writes its row.
  return slots * (weights + y + x);
}

int xStationaryChunks(const GemvShape &shape, const GemvConfig &config) {
  const bool w4 = shape.kind == GemvShape::W4 ||
                  shape.kind == GemvShape::W4Experts;
  if (!shape.xStationaryForm || !w4 || !shape.segments.empty() ||
      shape.sumSlots || shape.m != 1 || shape.normK != 0 ||
      config.lanes != 32 || shape.k % 1024 != 0) {
    return 0;
  }
  const int64_t chunks = shape.k / 1024;
  const int64_t partialRows =
      (shape.glu ? 2 : 1) * static_cast<int64_t>(config.rowsPerBlock());
  constexpr int64_t kMaxLocalBytes = 32 * 1024, kBytesPerRowChunk = 2 * 32 * 4;
  if ((chunks != 1 && chunks != 2 && chunks != 4) ||
      config.waves % chunks != 0 ||
      chunks * partialRows * kBytesPerRowChunk > kMaxLocalBytes) {
    return 0;
  }
  return static_cast<int>(chunks);
}

std::vector<GemvConfig> gemvCandidates(const GemvShape &shape) {
  std::vector<GemvConfig> out;
  for (int lanes : {32, 16, 8}) {
    // Fewer lanes per row only pay where every lane of the group has work.
    if (lanes < 32 && shape.k < lanes * shape.kPerLaneStep()) {
      continue;
    }
    for (int rows : {1, 2, 4}) {
      for (int waves : {2, 4, 8}) {
        out.push_back({rows, lanes, waves});
      }
    }
  }
  return out;
}

int64_t gemvGridX(const GemvShape &shape, const GemvConfig &config) {
  if (shape.sumSlots) { // a block's waves share its rows
    return ceilDiv(shape.n, config.rows * (32 / config.lanes));
  }
  if (shape.segments.empty()) {
    return ceilDiv(shape.n, config.rowsPerBlock());
  }
  int64_t blocks = 0;
  for (const GemvShape::Segment &seg : shape.segments) {
    blocks += ceilDiv(seg.n, config.rowsPerBlock());
  }
  return blocks;
}

Prediction predictGemv(const TargetInfo &t, const GemvShape &shape,
                       const GemvConfig &config, int registers,
                       int64_t localBytes) {
  Prediction p;
  p.bytes = shape.bytes();
  p.occupancy = occupancy(t, registers, localBytes, config.blockThreads());
  p.blocks = gemvGridX(shape, config) * (shape.sumSlots ? 1 : shape.slots);
  // Resident blocks per unit: AMD counts waves per SIMD, a block's waves
  // spread over the unit's SIMDs; NVIDIA counts warps per SM.
  const int64_t wavesPerUnit =
      static_cast<int64_t>(p.occupancy.waves) * t.simdsPerUnit;
  const int64_t blocksPerUnit = wavesPerUnit / config.waves;
  const int64_t capacity = blocksPerUnit * t.units;
  p.rounds = capacity > 0 ? ceilDiv(p.blocks, capacity) : 0;
  p.xStationaryChunks = xStationaryChunks(shape, config);
  // The x-stationary step: one round for the wave's x, then its rows' loads
  // in batches of gemv.h's kW4XBatch (4).
  p.stepsPerWave =
      p.xStationaryChunks > 0
          ? 1 + ceilDiv((shape.glu ? 2 : 1) * config.rows *
                            p.xStationaryChunks,
                        4)
          : shape.stepsPerWave(config.lanes, config.waves);
  const double laneK = static_cast<double>(config.lanes) *
                       static_cast<double>(shape.kPerLaneStep());
  p.idleLanes = std::max(0.0, 1.0 - static_cast<double>(shape.k) / laneK);
  p.launchMicros = t.launchMicroseconds;
  // A grid of fewer blocks than units streams from only that many: the
  // bandwidth scales down with them (H200, fd-tune: out_proj in 64 blocks
  // of 32 rows 7.75 us, in 256 of 8 rows 5.46 us, 2026-12-03).
  const double filled =
      std::min(1.0, static_cast<double>(p.blocks) / std::max(1, t.units));
  p.bandwidthMicros = static_cast<double>(p.bytes) / (t.bandwidth * filled) *
                          1e6 +
                      t.memoryLatencyMicros;
  // The prologue's reads of the row (written by the previous launch, so
  // cached) and its barrier: about one latency before a block's first
  // weight load.
  const int64_t prologueSteps = shape.normK > 0 ? 1 : 0;
  p.latencyMicros =
      capacity > 0 ? static_cast<double>(p.rounds) *
                         static_cast<double>(p.stepsPerWave + prologueSteps) *
                         t.memoryLatencyMicros
                   : 1e30; // does not fit on the target at all
  // The activations' loads, for the templates with both steps (where the
  // term decides between them): the per-lane step reloads a lane's 32
  // values of x for each of its steps, N K 2 bytes through L1 at one row a
  // lane group; the x-stationary step once per wave, 1 / C of that. Added to
  // the weights' time, as measured on the H200 (bench/probe_w4bound).
  // Counted as for one row of 32 lanes whatever ROWS and LANES: on the H200
  // neither more rows a group (out_proj 5.46 -> 5.52 us, the experts' gate/up
  // 6.35 -> 6.66, fd-tune) nor fewer lanes (1.1-2.3x slower) made the
  // per-lane step faster, and the x-stationary step slows with the rows a
  // wave walks in series (out_proj 3.87 us at 1 row, 4.84 at 2, the probe;
  // 2026-12-04), which the other terms do not see.
  const bool w4 = shape.kind == GemvShape::W4 ||
                  shape.kind == GemvShape::W4Experts;
  if (w4 && shape.xStationaryForm && t.activationLoadBandwidth > 0) {
    const double bytes = static_cast<double>(shape.n) *
                         static_cast<double>(shape.slots) *
                         static_cast<double>(shape.k) * 2.0 *
                         static_cast<double>(shape.m) /
                         std::max(1, p.xStationaryChunks);
    p.activationMicros = bytes / t.activationLoadBandwidth * 1e6;
  }
  p.boundBy = p.latencyMicros >= p.bandwidthMicros ? "latency" : "bandwidth";
  p.micros = std::max(p.bandwidthMicros, p.latencyMicros) +
             p.activationMicros + p.launchMicros;
  return p;
}

Choice choose(const std::vector<Candidate> &candidates) {
  Choice c;
  double best = 1e300;
  for (const Candidate &cand : candidates) {
    if (cand.spills == 0) {
      best = std::min(best, cand.prediction.micros);
    }
  }
  std::vector<size_t> tied;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].spills == 0 &&
        candidates[i].prediction.micros <= best * (1 + kTieFraction)) {
      tied.push_back(i);
    }
  }
  if (tied.empty()) {
    c.reason = "every candidate spills; the first is kept";
    return c;
  }
  char buf[160];
  if (tied.size() == 1) {
    c.index = tied.front();
    std::snprintf(buf, sizeof buf, "least predicted time (%.2f us)", best);
    c.reason = buf;
    return c;
  }
  size_t pick = tied.front();
  for (size_t i : tied) {
    const Candidate &a = candidates[i], &b = candidates[pick];
    const Prediction &pa = a.prediction, &pb = b.prediction;
    if (pa.idleLanes < pb.idleLanes ||
        (pa.idleLanes == pb.idleLanes &&
         (pa.occupancy.waves > pb.occupancy.waves ||
          (pa.occupancy.waves == pb.occupancy.waves &&
           a.registers < b.registers)))) {
      pick = i;
    }
  }
  // Name the rule that separated the pick from the other tied candidates.
  bool byIdle = false, byOccupancy = false, byRegisters = false;
  for (size_t i : tied) {
    const Candidate &a = candidates[i], &b = candidates[pick];
    if (a.prediction.idleLanes > b.prediction.idleLanes) {
      byIdle = true;
    } else if (a.prediction.occupancy.waves < b.prediction.occupancy.waves) {
      byOccupancy = true;
    } else if (a.registers > b.registers) {
      byRegisters = true;
    }
  }
  c.index = pick;
  std::snprintf(buf, sizeof buf,
                "%zu candidates within %.0f%% of the least predicted time "
                "(%.2f us); %s",
                tied.size(), kTieFraction * 100, best,
                byIdle        ? "no idle lanes, then highest occupancy"
                : byOccupancy ? "highest occupancy"
                : byRegisters ? "fewest registers"
                              : "first listed");
  c.reason = buf;
  return c;
}

} // namespace fd::costmodel
