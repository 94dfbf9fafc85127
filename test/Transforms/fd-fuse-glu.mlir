// RUN: fd-opt %s -split-input-file --fd-fuse-glu | FileCheck %s

// The shared expert's bf16 gate and up and silu_mul: one gemv_bf16_glu at
// silu_mul's place, writing silu_mul's output; g's and u's buffers are gone.
module @bf16 {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @bf16
// CHECK-NOT: fdkernel.buffer @g
// CHECK-NOT: fdkernel.buffer @u
// CHECK: fdkernel.launch "gemv_bf16_glu"<{LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @wu, @x] outs [@a] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
// CHECK-NOT: "gemv_bf16"<
// CHECK-NOT: silu_mul"

// -----

// The routed experts: both GEMVs read the same ids and x; silu_mul covers
// every slot (n = 2 slots x 32).
module @experts {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @gq #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @gate layout "w4.qweight"
  fdkernel.buffer @gs #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@gq, @gs, @__null, @ids, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32, xSlotStride = 0 : i32}
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@uq, @us, @__null, @ids, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32, xSlotStride = 0 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @experts
// CHECK: fdkernel.launch "gemv_w4a16_experts_glu"<{GROUP = 32 : i64, LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@gq, @gs, @__null, @uq, @us, @__null, @ids, @x] outs [@a] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
// CHECK-NOT: silu_mul"

// -----

// A dense w4 MLP, with up computed first: gate is still silu_mul's first
// input and the fused launch's first weights.
module @w4_up_first {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @gq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @gate layout "w4.qweight"
  fdkernel.buffer @gs #fdkernel.buffer_kind<weight> size 128 offset 0 weight @gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 128 offset 0 weight @up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@uq, @us, @__null, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@gq, @gs, @__null, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @w4_up_first
// CHECK: fdkernel.launch "gemv_w4a16_glu"<{GROUP = 32 : i64, LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> {{.*}} ins [@gq, @gs, @__null, @uq, @us, @__null, @x] outs [@a]

// -----

// g is read by another launch: nothing fuses.
module @other_reader {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @g] outs [@z] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @other_reader
// CHECK-NOT: _glu
// CHECK: fdkernel.buffer @g
// CHECK-COUNT-2: "gemv_bf16"<

// -----

// x is rewritten between the two GEMVs (gate and up see different inputs),
// or they read different activations: nothing fuses.
module @x_changes {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @y] outs [@x] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @x_changes
// CHECK-NOT: _glu

// -----

module @different_x {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @y] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @different_x
// CHECK-NOT: _glu

// -----

// Float activations (X_F32): stays unfused (the GLU templates read bf16 x).
module @f32_x {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.buffer @xf #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = true}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @xf] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = true}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @xf] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @f32_x
// CHECK-NOT: _glu
// CHECK: silu_mul"

// -----

// A bf16 output of a GEMV: stays unfused.
module @bf16_out {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = true, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = true, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @bf16_out
// CHECK-NOT: _glu
// CHECK: silu_mul"

// -----

// Gate and up of different N: stays unfused.
module @shapes {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 16 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 32 : i32}
  }
}
// CHECK-LABEL: module @shapes
// CHECK-NOT: _glu
// CHECK: silu_mul"

// -----

// silu_mul over part of the outputs: stays unfused.
module @partial {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @wu #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wu, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 16 : i32}
  }
}
// CHECK-LABEL: module @partial
// CHECK-NOT: _glu
// CHECK: silu_mul"

// -----

// The down projection's experts (one x row per slot) are not a gate/up pair.
module @slot_stride {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @g #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @gq #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @gate layout "w4.qweight"
  fdkernel.buffer @gs #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@gq, @gs, @__null, @ids, @x] outs [@g] scalars {k = 64 : i32, n = 32 : i32, xSlotStride = 64 : i32}
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@uq, @us, @__null, @ids, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32, xSlotStride = 64 : i32}
    fdkernel.launch "silu_mul" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@g, @u] outs [@a] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @slot_stride
// CHECK-NOT: _glu
