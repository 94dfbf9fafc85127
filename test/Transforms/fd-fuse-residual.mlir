// RUN: fd-opt %s -split-input-file --fd-fuse-residual | FileCheck %s

// o_proj's GEMV takes h += y as its epilogue: ACCUM, output h, y's buffer
// and the add are gone.
module @gemv {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @o layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@h] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @gemv
// CHECK-NOT: fdkernel.buffer @y
// CHECK: fdkernel.launch "gemv_bf16"<{ACCUM = true, {{.*}}> {{.*}} ins [@w, @x] outs [@h] scalars {k = 64 : i32, n = 64 : i32} epilogues [#fdkernel.epilogue<residual_add>]
// CHECK-NOT: add_residual

// -----

// The MoE's weighted sum: h becomes moe_combine's base and output.
module @moe {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @e #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wt #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @m #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "moe_combine" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@__null, @e, @wt, @__null, @__null] outs [@m] scalars {d = 64 : i32, slots = 2 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@m] outs [@h] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @moe
// CHECK: fdkernel.launch "moe_combine"{{.*}} ins [@h, @e, @wt, @__null, @__null] outs [@h] {{.*}} epilogues [#fdkernel.epilogue<residual_add>]
// CHECK-NOT: add_residual

// -----

// y is read again later: the add stays.
module @reused {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @o layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@h] scalars {n = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@z] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @reused
// CHECK: fdkernel.buffer @y
// CHECK: "gemv_bf16"<{ACCUM = false
// CHECK: "add_residual"{{.*}} ins [@y] outs [@h]
// CHECK: "add_residual"{{.*}} ins [@y] outs [@z]

// -----

// The GEMV reads h itself (blocks would race on it), or writes bf16: no
// fusion.
module @reads_h {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @y2 #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @o layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = true}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w, @h] outs [@y] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@h] scalars {n = 64 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = true, ROWS = 2, WAVES = 4, X_F32 = true}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w, @h] outs [@y2] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y2] outs [@h] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @reads_h
// CHECK-NOT: ACCUM = true
// CHECK: "add_residual"{{.*}} ins [@y] outs [@h]
// CHECK: "add_residual"{{.*}} ins [@y2] outs [@h]

// -----

// Something between producer and add touches h: no fusion.
module @between {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @o layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "rms_norm" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @w] outs [@x] scalars {d = 64 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@h] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @between
// CHECK: "gemv_bf16"<{ACCUM = false
// CHECK: "add_residual"
