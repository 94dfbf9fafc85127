//===- CostModel_test.cpp - predicted GEMV times and the choice rule ------===//

#include "compiler/costmodel/CostModel.h"

#include <gtest/gtest.h>

using namespace fd::costmodel;

namespace {

GemvShape expertDown() {
  // Qwen3.5-35B-A3B routed experts' down projection: 8 slots of N=2048,
  // K=512, int4 g128 symmetric.
  GemvShape s;
  s.kind = GemvShape::W4Experts;
  s.n = 2048;
  s.k = 512;
  s.slots = 8;
  s.group = 128;
  return s;
}

TEST(CostModel, BytesCountWeightsScalesActivationsAndOutput) {
  GemvShape s = expertDown();
  // Per slot: 2048*512/2 weights + 2048*4 groups*2 scales + 2048*4 output;
  // x: 512 bf16 per slot.
  EXPECT_EQ(s.bytes(), 8 * (524288 + 16384 + 8192) + 8 * 1024);
  GemvShape b;
  b.kind = GemvShape::Bf16;
  b.n = 256;
  b.k = 2048;
  b.xFloat = true;
  b.accumulate = true;
  EXPECT_EQ(b.bytes(), 256 * 2048 * 2 + 2048 * 4 + 256 * 4 * 2);
}

TEST(CostModel, GluReadsGateAndUpAndWritesOneBf16Row) {
  GemvShape s;
  s.kind = GemvShape::W4Experts;
  s.n = 512;
  s.k = 2048;
  s.slots = 8;
  s.group = 128;
  s.glu = true;
  s.outBf16 = true;
  // Per slot: two matrices of 512*2048/2 weights + 512*16*2 scales, x 2048
  // bf16, y 512 bf16.
  EXPECT_EQ(s.bytes(), 8 * (2 * (524288 + 16384) + 4096 + 1024));
}

TEST(CostModel, CandidatesSplitLanesOnlyWhereKFillsThem) {
  GemvShape s = expertDown();
  int lanes16 = 0, lanes8 = 0;
  for (const GemvConfig &c : gemvCandidates(s)) {
    lanes16 += c.lanes == 16;
    lanes8 += c.lanes == 8;
  }
  EXPECT_EQ(lanes16, 9); // 512 >= 16 lanes x 32 values
  EXPECT_EQ(lanes8, 9);
  GemvShape tiny = s;
  tiny.k = 256; // 16 lanes x 32 would leave lanes idle
  for (const GemvConfig &c : gemvCandidates(tiny)) {
    EXPECT_NE(c.lanes, 16);
  }
  EXPECT_EQ(gemvCandidates(tiny).size(), 18u); // 32 and 8 lanes x 3 x 3
}

TEST(CostModel, GridCoversEveryRow) {
  GemvShape s = expertDown();
  EXPECT_EQ(gemvGridX(s, {2, 32, 4}), 256);
  EXPECT_EQ(gemvGridX(s, {2, 16, 4}), 128); // two row groups per wave
  s.n = 2050;
  EXPECT_EQ(gemvGridX(s, {1, 8, 2}), 257);
}

TEST(CostModel, SummedExpertsSplitSlotsOverABlocksWaves) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s; // moe_down_combine: 8 routed w4 2048 x 512 + shared bf16
  s.kind = GemvShape::W4Experts;
  s.sumSlots = true;
  s.slots = 8;
  s.n = 2048;
  s.k = 512;
  s.group = 128;
  s.sharedKind = GemvShape::Bf16;
  s.sharedK = 512;
  s.accumulate = true;
  // A block owns one wave's rows: 2 row groups of 1 row at LANES=16.
  EXPECT_EQ(gemvGridX(s, {1, 16, 8}), 1024);
  EXPECT_EQ(gemvGridX(s, {2, 32, 4}), 1024);
  // 9 matrices over 8 waves: wave 0 runs expert 0 (1 step of 16 x 32
  // values) and the shared bf16 one (512 / (16 x 8) = 4 steps).
  EXPECT_EQ(s.stepsPerWave(16, 8), 1 + 4);
  // Over 2 waves, wave 0 runs experts 0, 2, 4, 6 and the shared one.
  EXPECT_EQ(s.stepsPerWave(16, 2), 4 + 4);
  EXPECT_EQ(s.stepsPerWave(32, 4), 2 + 2);
  // Every expert's weights and x row, the shared expert's, the output read
  // and written once.
  const int64_t expert = 2048 * 512 / 2 + 2048 * 4 * 2 + 512 * 2;
  EXPECT_EQ(s.bytes(), 8 * expert + 2048 * 512 * 2 + 512 * 2 + 2048 * 8);
  Prediction p = predictGemv(h100, s, {1, 16, 8}, 40, 0);
  EXPECT_EQ(p.blocks, 1024); // no grid y
}

TEST(CostModel, NormPrologueReadsTheRowOnceAndWaitsOneLatency) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s; // the bf16 router after the post-attention norm
  s.kind = GemvShape::Bf16;
  s.n = 256;
  s.k = 2048;
  GemvShape normed = s;
  normed.normK = 2048;
  // The float row and the bf16 weight once, besides the GEMV's bytes.
  EXPECT_EQ(normed.bytes(), s.bytes() + 2048 * (4 + 2));
  const Prediction plain = predictGemv(h100, s, {1, 32, 2}, 32, 0);
  const Prediction fused = predictGemv(h100, normed, {1, 32, 2}, 32, 5120);
  ASSERT_EQ(fused.rounds, plain.rounds);
  // Latency-bound: one more memory latency per round before the weights.
  EXPECT_STREQ(fused.boundBy, "latency");
  EXPECT_DOUBLE_EQ(fused.latencyMicros - plain.latencyMicros,
                   static_cast<double>(plain.rounds) *
                       h100.memoryLatencyMicros);
}

TEST(CostModel, SmallShapeIsLatencyBoundAndPrefersFewerSteps) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s; // in_proj_b: N=32, K=2048, bf16
  s.kind = GemvShape::Bf16;
  s.n = 32;
  s.k = 2048;
  Prediction wide = predictGemv(h100, s, {1, 32, 4}, 32, 0);
  Prediction narrow = predictGemv(h100, s, {1, 8, 4}, 32, 0);
  EXPECT_STREQ(wide.boundBy, "latency");
  EXPECT_EQ(wide.stepsPerWave, 8); // 2048 / (32 lanes x 8)
  EXPECT_EQ(narrow.stepsPerWave, 32);
  EXPECT_LT(wide.micros, narrow.micros);
  EXPECT_DOUBLE_EQ(wide.micros,
                   8 * h100.memoryLatencyMicros + h100.launchMicroseconds);
}

TEST(CostModel, LargeShapeIsBandwidthBound) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s; // lm_head 248320 x 2048 bf16
  s.kind = GemvShape::Bf16;
  s.n = 248320;
  s.k = 2048;
  Prediction p = predictGemv(h100, s, {2, 32, 8}, 40, 0);
  EXPECT_STREQ(p.boundBy, "bandwidth");
  EXPECT_NEAR(p.micros,
              s.bytes() / h100.bandwidth * 1e6 + h100.memoryLatencyMicros +
                  h100.launchMicroseconds,
              1e-9);
}

TEST(CostModel, FewerResidentWavesMeanMoreRounds) {
  // The seed's gfx1151 finding in the model: the same shape at 157 VGPRs
  // and 1024-thread blocks fits one block per WGP (50 %); at 113 VGPRs and
  // 512 threads three blocks (75 %), so the grid needs fewer rounds.
  const TargetInfo &strix = *lookupTarget("gfx1151");
  GemvShape s = expertDown();
  Prediction wide = predictGemv(strix, s, {2, 32, 32}, 157, 0);
  Prediction narrow = predictGemv(strix, s, {2, 32, 16}, 113, 0);
  EXPECT_EQ(wide.occupancy.waves, 9); // per SIMD, by registers
  EXPECT_EQ(narrow.occupancy.waves, 12);
  EXPECT_GT(wide.rounds, narrow.rounds);
  EXPECT_GE(wide.latencyMicros, narrow.latencyMicros);
}

TEST(CostModel, GridsUnderTheUnitCountStreamFromFewerUnits) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s; // 2048 x 4096 w4: 64 blocks of 32 rows on 132 SMs
  s.kind = GemvShape::W4;
  s.n = 2048;
  s.k = 4096;
  s.group = 128;
  Prediction few = predictGemv(h100, s, {4, 32, 8}, 64, 0);
  Prediction many = predictGemv(h100, s, {1, 32, 8}, 64, 0);
  EXPECT_EQ(few.blocks, 64);
  EXPECT_EQ(many.blocks, 256);
  const double bytesUs = s.bytes() / h100.bandwidth * 1e6;
  EXPECT_NEAR(few.bandwidthMicros,
              bytesUs * 132.0 / 64.0 + h100.memoryLatencyMicros, 1e-9);
  EXPECT_NEAR(many.bandwidthMicros, bytesUs + h100.memoryLatencyMicros, 1e-9);
}

GemvShape outProj() {
  // GDN's out_proj / attention's o_proj: N=2048, K=4096, int4 g128.
  GemvShape s;
  s.kind = GemvShape::W4;
  s.n = 2048;
  s.k = 4096;
  s.group = 128;
  s.accumulate = true;
  s.xStationaryForm = true;
  return s;
}

TEST(CostModel, XStationaryStepWhereTheTemplateTakesIt) {
  GemvShape s = outProj();
  EXPECT_EQ(xStationaryChunks(s, {1, 32, 8}), 4);
  EXPECT_EQ(xStationaryChunks(s, {4, 32, 8}), 4); // 4 x 32 rows x 256 B
  EXPECT_EQ(xStationaryChunks(s, {1, 32, 2}), 0); // 4 chunks, 2 waves
  EXPECT_EQ(xStationaryChunks(s, {1, 16, 8}), 0);
  GemvShape other = s;
  other.xStationaryForm = false;
  EXPECT_EQ(xStationaryChunks(other, {1, 32, 8}), 0);
  other = s;
  other.normK = 4096;
  EXPECT_EQ(xStationaryChunks(other, {1, 32, 8}), 0);
  other = s;
  other.k = 8192; // C = 8: not taken
  EXPECT_EQ(xStationaryChunks(other, {1, 32, 8}), 0);
  other = s;
  other.k = 1536;
  EXPECT_EQ(xStationaryChunks(other, {1, 32, 8}), 0);
  GemvShape glu; // the experts' gate/up: both matrices' partials
  glu.kind = GemvShape::W4Experts;
  glu.n = 512;
  glu.k = 2048;
  glu.slots = 8;
  glu.group = 128;
  glu.glu = true;
  glu.xStationaryForm = true;
  EXPECT_EQ(xStationaryChunks(glu, {4, 32, 8}), 2); // 2 x 64 rows: 32 KB
  glu.k = 4096;
  EXPECT_EQ(xStationaryChunks(glu, {4, 32, 8}), 0); // 64 KB
  EXPECT_EQ(xStationaryChunks(glu, {1, 32, 4}), 4);
}

TEST(CostModel, ActivationLoadsOncePerWaveInTheXStationaryStep) {
  const TargetInfo &h100 = *lookupTarget("sm_90");
  GemvShape s = outProj();
  // (1, 32, 2): 4 chunks do not divide 2 waves, the per-lane step.
  Prediction a = predictGemv(h100, s, {1, 32, 2}, 48, 0);
  Prediction b = predictGemv(h100, s, {1, 32, 8}, 48, 8192);
  // N K 2 bytes of x through L1 for one row a lane group.
  EXPECT_EQ(a.xStationaryChunks, 0);
  EXPECT_NEAR(a.activationMicros,
              2048.0 * 4096 * 2 / h100.activationLoadBandwidth * 1e6, 1e-9);
  EXPECT_NEAR(b.activationMicros, a.activationMicros / 4, 1e-9);
  EXPECT_EQ(b.xStationaryChunks, 4);
  EXPECT_EQ(b.stepsPerWave, 2); // x, then one batch of 4 rows
  EXPECT_LT(b.micros, a.micros);
  // Counted as for one row of 32 lanes whatever ROWS and LANES.
  EXPECT_NEAR(predictGemv(h100, s, {1, 16, 2}, 48, 0).activationMicros,
              a.activationMicros, 1e-9);
  EXPECT_NEAR(predictGemv(h100, s, {2, 32, 2}, 48, 0).activationMicros,
              a.activationMicros, 1e-9);
  EXPECT_NEAR(predictGemv(h100, s, {2, 32, 8}, 64, 16384).activationMicros,
              b.activationMicros, 1e-9);
  // No measured rate, no term; no term for templates without the step.
  const TargetInfo &strix = *lookupTarget("gfx1151");
  EXPECT_EQ(predictGemv(strix, s, {1, 32, 2}, 48, 0).activationMicros, 0.0);
  GemvShape other = s;
  other.xStationaryForm = false;
  EXPECT_EQ(predictGemv(h100, other, {1, 32, 2}, 48, 0).activationMicros, 0.0);
}

Candidate candidate(GemvConfig c, double us, int waves, int regs,
                    int spills = 0) {
  Candidate k;
  k.config = c;
  k.registers = regs;
  k.spills = spills;
  k.prediction.micros = us;
  k.prediction.occupancy.waves = waves;
  return k;
}

TEST(CostModel, ChoiceTakesLeastTimeThenOccupancyThenRegisters) {
  std::vector<Candidate> c{candidate({2, 32, 4}, 10.0, 8, 100),
                           candidate({1, 32, 4}, 8.0, 8, 90),
                           candidate({4, 32, 4}, 9.0, 16, 40)};
  Choice a = choose(c);
  EXPECT_EQ(a.index, 1u);
  EXPECT_NE(a.reason.find("least predicted time"), std::string::npos);
  // Within 2 %: occupancy decides.
  c[2].prediction.micros = 8.1;
  Choice b = choose(c);
  EXPECT_EQ(b.index, 2u);
  EXPECT_NE(b.reason.find("highest occupancy"), std::string::npos);
  // Equal occupancy: fewer registers.
  c[2].prediction.occupancy.waves = 8;
  Choice d = choose(c);
  EXPECT_EQ(d.index, 2u);
  EXPECT_NE(d.reason.find("fewest registers"), std::string::npos);
}

TEST(CostModel, TiesGoFirstToCandidatesWithoutIdleLanes) {
  // K=512 int4: 32 lanes x 32 values per step leave half the lanes idle,
  // 16 lanes do not; the idle-lane candidate has the higher occupancy.
  TargetInfo t = *lookupTarget("sm_90");
  GemvShape down;
  down.kind = GemvShape::W4Experts;
  down.n = 2048;
  down.k = 512;
  down.slots = 8;
  down.group = 128;
  Prediction wide = predictGemv(t, down, {1, 32, 2}, 32, 0);
  Prediction narrow = predictGemv(t, down, {2, 16, 2}, 48, 0);
  EXPECT_DOUBLE_EQ(wide.idleLanes, 0.5);
  EXPECT_DOUBLE_EQ(narrow.idleLanes, 0.0);
  std::vector<Candidate> c{candidate({1, 32, 2}, 3.67, 64, 32),
                           candidate({2, 16, 2}, 3.67, 42, 48)};
  c[0].prediction.idleLanes = wide.idleLanes;
  c[1].prediction.idleLanes = narrow.idleLanes;
  Choice pick = choose(c);
  EXPECT_EQ(pick.index, 1u);
  EXPECT_NE(pick.reason.find("no idle lanes"), std::string::npos);
  // Outside the tie, time still decides.
  c[1].prediction.micros = 4.0;
  EXPECT_EQ(choose(c).index, 0u);
}

TEST(CostModel, SpillingCandidatesAreNeverChosen) {
  std::vector<Candidate> c{candidate({4, 32, 8}, 5.0, 16, 255, 64),
                           candidate({2, 32, 4}, 7.0, 12, 100)};
  EXPECT_EQ(choose(c).index, 1u);
}

} // namespace
