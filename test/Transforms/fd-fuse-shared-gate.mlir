// RUN: fd-opt %s -split-input-file --fd-fuse-shared-gate | FileCheck %s

// The shared expert's bf16 down projection and the one-row gate GEMV: one
// gemv_gated at the down projection's place (KIND 2, the gate's weight and
// x as inputs); moe_combine no longer gates and the gate's buffer is gone.
module @bf16 {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 4 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @wd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "bf16"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 128 offset 0 weight @gate layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 16, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@wd, @sact] outs [@sd] scalars {k = 32 : i32, n = 64 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@seg] scalars {k = 64 : i32, n = 1 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @ed, @wts, @sd, @seg] outs [@h] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @bf16
// CHECK-NOT: fdkernel.buffer @seg
// CHECK: fdkernel.launch "gemv_gated"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 16 : i64, ROWS = 1 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@sact, @wd, @__null, @__null, @wg, @x] outs [@sd] scalars {gk = 64 : i32, k = 32 : i32, n = 64 : i32} epilogues [#fdkernel.epilogue<sigmoid_gate_mul>]
// CHECK-NEXT: fdkernel.launch "moe_combine"{{.*}} ins [@h, @ed, @wts, @sd, @__null] outs [@h]
// CHECK-NOT: "gemv_bf16"

// -----

// A 4-bit shared expert (KIND 1) whose gate is computed before it.
module @w4_gate_first {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 4 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @out #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @down layout "w4.qweight"
  fdkernel.buffer @s #fdkernel.buffer_kind<weight> size 128 offset 0 weight @down layout "w4.scales"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 128 offset 0 weight @gate layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <gfx1151> grid [1, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@seg] scalars {k = 64 : i32, n = 1 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <gfx1151> grid [8, 1, 1] block [128, 1, 1] ins [@q, @s, @__null, @sact] outs [@sd] scalars {k = 32 : i32, n = 64 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1] ins [@__null, @ed, @wts, @sd, @seg] outs [@out] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @w4_gate_first
// CHECK: fdkernel.launch "gemv_gated"<{GROUP = 32 : i64, KIND = 1 : i64, LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> {{.*}} ins [@sact, @q, @s, @__null, @wg, @x] outs [@sd]
// CHECK-NEXT: fdkernel.launch "moe_combine"{{.*}} ins [@__null, @ed, @wts, @sd, @__null] outs [@out]

// -----

// Refused: the gate's x is rewritten between the gate GEMV and the down
// projection, where the fused launch would read it.
module @x_rewritten {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 4 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "bf16"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 128 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@seg] scalars {k = 64 : i32, n = 1 : i32}
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 16, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@wd, @sact] outs [@sd] scalars {k = 32 : i32, n = 64 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @ed, @wts, @sd, @seg] outs [@h] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @x_rewritten
// CHECK-NOT: "gemv_gated"
// CHECK: fdkernel.launch "moe_combine"{{.*}} ins [@h, @ed, @wts, @sd, @seg]

// -----

// Refused: the gate is a GEMV of more than one row.
module @gate_not_a_dot {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @sd #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @ed #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @wd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @down layout "bf16"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 256 offset 0 weight @gate layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 16, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@wd, @sact] outs [@sd] scalars {k = 32 : i32, n = 64 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@seg] scalars {k = 64 : i32, n = 2 : i32}
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @ed, @wts, @sd, @seg] outs [@h] scalars {d = 64 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @gate_not_a_dot
// CHECK-NOT: "gemv_gated"
// CHECK: fdkernel.launch "moe_combine"{{.*}} ins [@h, @ed, @wts, @sd, @seg]
