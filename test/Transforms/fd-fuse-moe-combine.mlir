// RUN: fd-opt %s -split-input-file --fd-fuse-moe-combine | FileCheck %s

// The routed experts' down projection, the gated shared expert and
// moe_combine (already accumulating into h): one moe_down_combine at the
// combination's place; the gate's weight and x move along; the grid covers
// the rows of one wave per block (ROWS 1 x 32/16 groups = 2 rows: 32
// blocks for N = 64).
module @gated {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @dq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "w4.qweight"
  fdkernel.buffer @ds #fdkernel.buffer_kind<weight> size 512 offset 0 weight @down layout "w4.scales"
  fdkernel.buffer @wd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared_down layout "bf16"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 128 offset 0 weight @gate layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 16, OUT_BF16 = false, ROWS = 1, WAVES = 4, ZEROS = false}> target <sm_90> grid [8, 2, 1] block [128, 1, 1] ins [@dq, @ds, @__null, @ids, @eact] outs [@ed] scalars {k = 32 : i32, n = 64 : i32, xSlotStride = 32 : i32}
    fdkernel.launch "gemv_gated" <{GROUP = 32, KIND = 2, LANES = 16, ROWS = 1, WAVES = 4, ZEROS = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@sact, @wd, @__null, @__null, @wg, @x] outs [@sd] scalars {gk = 64 : i32, k = 32 : i32, n = 64 : i32} epilogues [#fdkernel.epilogue<sigmoid_gate_mul>]
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @ed, @wts, @sd, @__null] outs [@h] scalars {d = 64 : i32, slots = 2 : i32} epilogues [#fdkernel.epilogue<residual_add>]
  }
}
// CHECK-LABEL: module @gated
// CHECK-NOT: fdkernel.buffer @ed
// CHECK-NOT: fdkernel.buffer @sd
// CHECK: fdkernel.launch "moe_down_combine"<{GROUP = 32 : i64, LANES = 16 : i64, ROWS = 1 : i64, SHARED = 2 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [32, 1, 1] block [128, 1, 1] ins [@h, @dq, @ds, @__null, @ids, @wts, @eact, @wd, @__null, @__null, @sact, @__null, @wg, @x] outs [@h] scalars {gateK = 64 : i32, k = 32 : i32, n = 64 : i32, sharedK = 32 : i32, slots = 2 : i32} epilogues [#fdkernel.epilogue<expert_weighted_sum>, #fdkernel.epilogue<sigmoid_gate_mul>, #fdkernel.epilogue<residual_add>]
// CHECK-NOT: "gemv_w4a16_experts"
// CHECK-NOT: "gemv_gated"
// CHECK-NOT: "moe_combine"

// -----

// A 4-bit shared expert still gated by moe_combine's logit: the logit
// stays an input; no base (a new output buffer).
module @w4_shared_logit {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 4 offset 0
  fdkernel.buffer @moe #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @dq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "w4.qweight"
  fdkernel.buffer @ds #fdkernel.buffer_kind<weight> size 512 offset 0 weight @down layout "w4.scales"
  fdkernel.buffer @sq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @shared_down layout "w4.qweight"
  fdkernel.buffer @ss #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared_down layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <gfx1151> grid [8, 2, 1] block [128, 1, 1] ins [@dq, @ds, @__null, @ids, @eact] outs [@ed] scalars {k = 32 : i32, n = 64 : i32, xSlotStride = 32 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <gfx1151> grid [8, 1, 1] block [128, 1, 1] ins [@sq, @ss, @__null, @sact] outs [@sd] scalars {k = 32 : i32, n = 64 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1] ins [@__null, @ed, @wts, @sd, @seg] outs [@moe] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @w4_shared_logit
// CHECK: fdkernel.launch "moe_down_combine"<{GROUP = 32 : i64, LANES = 32 : i64, ROWS = 2 : i64, SHARED = 1 : i64, WAVES = 4 : i64, ZEROS = false}> target <gfx1151> grid [32, 1, 1] block [128, 1, 1] ins [@__null, @dq, @ds, @__null, @ids, @wts, @eact, @sq, @ss, @__null, @sact, @seg, @__null, @__null] outs [@moe] scalars {gateK = 0 : i32, k = 32 : i32, n = 64 : i32, sharedK = 32 : i32, slots = 2 : i32} epilogues [#fdkernel.epilogue<expert_weighted_sum>]

// -----

// Refused: a w4 shared expert with another group size than the routed
// experts (the fused template shares GROUP).
module @w4_group_mismatch {
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @moe #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @dq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "w4.qweight"
  fdkernel.buffer @ds #fdkernel.buffer_kind<weight> size 512 offset 0 weight @down layout "w4.scales"
  fdkernel.buffer @sq #fdkernel.buffer_kind<weight> size 2048 offset 0 weight @shared_down layout "w4.qweight"
  fdkernel.buffer @ss #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared_down layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [8, 2, 1] block [128, 1, 1] ins [@dq, @ds, @__null, @ids, @eact] outs [@ed] scalars {k = 32 : i32, n = 64 : i32, xSlotStride = 32 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 64, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@sq, @ss, @__null, @sact] outs [@sd] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@__null, @ed, @wts, @sd, @__null] outs [@moe] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @w4_group_mismatch
// CHECK-NOT: "moe_down_combine"
// CHECK: fdkernel.launch "moe_combine"

// -----

// Refused: the experts' rows have another reader.
module @experts_read_elsewhere {
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @moe #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @dq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "w4.qweight"
  fdkernel.buffer @ds #fdkernel.buffer_kind<weight> size 512 offset 0 weight @down layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [8, 2, 1] block [128, 1, 1] ins [@dq, @ds, @__null, @ids, @eact] outs [@ed] scalars {k = 32 : i32, n = 64 : i32, xSlotStride = 32 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@__null, @ed, @wts, @__null, @__null] outs [@moe] scalars {d = 64 : i32, slots = 2 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@ed] outs [@copy] scalars {n = 128 : i32}
  }
}
// CHECK-LABEL: module @experts_read_elsewhere
// CHECK-NOT: "moe_down_combine"
// CHECK: fdkernel.launch "gemv_w4a16_experts"
