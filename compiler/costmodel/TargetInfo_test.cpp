//===- TargetInfo_test.cpp - occupancy from registers and local memory ----===//
//
// Hand-computed cases; agreement with the compilers over every generated
// kernel is test/Codegen/occupancy-model.test.
//
//===----------------------------------------------------------------------===//

#include "compiler/costmodel/TargetInfo.h"

#include <gtest/gtest.h>

using namespace fd::costmodel;

namespace {

TEST(TargetInfo, KnowsTheThreeTargets) {
  for (const char *name : {"gfx1151", "gfx1100", "sm_90"}) {
    const TargetInfo *t = lookupTarget(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_GT(t->units, 0);
    EXPECT_GT(t->bandwidth, 0);
  }
  EXPECT_EQ(lookupTarget("gfx90a"), nullptr);
}

TEST(TargetInfo, Gfx1151RegisterLimits) {
  const TargetInfo &t = *lookupTarget("gfx1151");
  // The seed's MoE down projection: 157 VGPRs round to 168 and give 9 waves
  // per SIMD (56 %); its 113-VGPR rewrite rounds to 120 and gives 12 (75 %).
  Occupancy before = occupancy(t, 157, 0, 128);
  EXPECT_EQ(before.waves, 9);
  EXPECT_STREQ(before.limitedBy, "registers");
  Occupancy after = occupancy(t, 113, 0, 128);
  EXPECT_EQ(after.waves, 12);
  EXPECT_DOUBLE_EQ(after.fraction, 0.75);
  // Up to 96 VGPRs every one of the 16 wave slots fits.
  EXPECT_EQ(occupancy(t, 96, 0, 256).waves, 16);
  EXPECT_EQ(occupancy(t, 97, 0, 256).waves, 12);
}

TEST(TargetInfo, Gfx1151LocalMemoryLimits) {
  const TargetInfo &t = *lookupTarget("gfx1151");
  // 128 KiB per WGP: three 33 KiB groups of 8 waves over 4 SIMDs.
  Occupancy o = occupancy(t, 18, 33 * 1024, 256);
  EXPECT_EQ(o.waves, 6);
  EXPECT_STREQ(o.limitedBy, "local memory");
}

TEST(TargetInfo, Sm90WholeBlocks) {
  const TargetInfo &t = *lookupTarget("sm_90");
  // 48 registers x 32 lanes = 1536 per warp: 42 warps fit, i.e. 10 blocks
  // of 4 warps = 40 warps of 64.
  Occupancy o = occupancy(t, 48, 0, 128);
  EXPECT_EQ(o.waves, 40);
  EXPECT_DOUBLE_EQ(o.fraction, 0.625);
  // One-warp blocks hit the 32-block limit first.
  EXPECT_EQ(occupancy(t, 16, 0, 32).waves, 32);
  EXPECT_STREQ(occupancy(t, 16, 0, 32).limitedBy, "blocks");
  // 100 KiB of shared memory: two blocks.
  EXPECT_EQ(occupancy(t, 16, 100 * 1024, 256).waves, 16);
  EXPECT_STREQ(occupancy(t, 16, 100 * 1024, 256).limitedBy, "local memory");
}

} // namespace
