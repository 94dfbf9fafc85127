// RUN: fd-opt %s -split-input-file --fd-fuse-rms-norm | FileCheck %s
// RUN: fd-opt %s -split-input-file --fd-fuse-rms-norm="max-rows=256" | FileCheck %s --check-prefix=BOUND

// The final norm and the lm_head, its only reader: the GEMV takes NORM
// (1: zero-centred), NORM_K, the residual row and the weight as its last
// inputs and normEps; its activations and the optional output are @__null
// and the norm's buffer is gone.
module @lm_head {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 2048 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wl #fdkernel.buffer_kind<weight> size 65536 offset 0 weight @lm_head layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = false}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@wl, @x] outs [@logits] scalars {k = 64 : i32, n = 512 : i32}
  }
}
// CHECK-LABEL: module @lm_head
// CHECK-NOT: fdkernel.buffer @x
// CHECK-NOT: "rms_norm"
// CHECK: fdkernel.launch "gemv_bf16"<{ACCUM = false, LANES = 8 : i64, M = 1 : i64, NORM = 1 : i64, NORM_K = 64 : i64, OUT_BF16 = false, ROWS = 1 : i64, WAVES = 2 : i64, X_F32 = false}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@wl, @__null, @h, @wn] outs [@logits, @__null] scalars {k = 64 : i32, n = 512 : i32, normEps = 9.99999997E-7 : f32}

// -----

// The post-attention norm: the router reads it first and publishes the row
// (its last output) for the experts' gate/up, which read it as before. A
// plain (not zero-centred) weight is NORM 2.
module @router_publishes {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @act #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @gate #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @up #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = false}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32}
    fdkernel.launch "gemv_bf16_glu" <{LANES = 8, ROWS = 1, WAVES = 2}> target <sm_90> grid [4, 1, 1] block [64, 1, 1] ins [@gate, @up, @x] outs [@act] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @router_publishes
// CHECK: fdkernel.buffer @x
// CHECK-NOT: "rms_norm"
// CHECK: fdkernel.launch "router_gemv_topk"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 8 : i64, NORM = 2 : i64, NORM_K = 64 : i64, ROWS = 1 : i64, WAVES = 2 : i64, ZEROS = false}> {{.*}} ins [@__null, @wr, @__null, @__null, @h, @wn] outs [@logits, @ids, @wts, @done, @x] scalars {e = 8 : i32, k = 64 : i32, normEps = 9.99999997E-7 : f32, renormalize = 1 : i32, topk = 2 : i32}
// CHECK: fdkernel.launch "gemv_bf16_glu"<{LANES = 8 : i64, ROWS = 1 : i64, WAVES = 2 : i64}> {{.*}} ins [@gate, @up, @x] outs [@act]

// -----

// A horizontally fused in_proj: the activations are the segments' x (the
// first input).
module @segments {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y0 #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @y1 #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @w0 #fdkernel.buffer_kind<weight> size 2048 offset 0 weight @a layout "bf16"
  fdkernel.buffer @w1 #fdkernel.buffer_kind<weight> size 2048 offset 0 weight @b layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_segments2" <{GROUP = 32, KIND0 = 2, KIND1 = 2, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <gfx1151> grid [16, 1, 1] block [64, 1, 1] ins [@x, @w0, @__null, @__null, @w1, @__null, @__null] outs [@y0, @y1] scalars {k = 64 : i32, n0 = 16 : i32, n1 = 16 : i32}
  }
}
// CHECK-LABEL: module @segments
// CHECK-NOT: "rms_norm"
// CHECK: fdkernel.launch "gemv_segments2"<{{.*}}NORM = 1 : i64, NORM_K = 64 : i64{{.*}}> {{.*}} ins [@__null, @w0, @__null, @__null, @w1, @__null, @__null, @h, @wn] outs [@y0, @y1, @__null]

// -----

// Refused: the first reader (a GLU) takes no prologue; the norm stays.
module @first_reader_without_prologue {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @act #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @gate #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @gate layout "bf16"
  fdkernel.buffer @up #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16_glu" <{LANES = 8, ROWS = 1, WAVES = 2}> target <sm_90> grid [4, 1, 1] block [64, 1, 1] ins [@gate, @up, @x] outs [@act] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @first_reader_without_prologue
// CHECK: "rms_norm"
// CHECK: "gemv_bf16_glu"<{LANES = 8 : i64, ROWS = 1 : i64, WAVES = 2 : i64}> {{.*}} ins [@gate, @up, @x]

// -----

// Refused: the residual row changes between the norm and its reader.
module @row_written_between {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @d #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 2048 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wl #fdkernel.buffer_kind<weight> size 65536 offset 0 weight @lm_head layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@d] outs [@h] scalars {n = 64 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = false}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@wl, @x] outs [@logits] scalars {k = 64 : i32, n = 512 : i32}
  }
}
// CHECK-LABEL: module @row_written_between
// CHECK: "rms_norm"
// CHECK: "gemv_bf16"<{ACCUM = false, LANES = 8 : i64, M = 1 : i64, OUT_BF16 = false, ROWS = 1 : i64, WAVES = 2 : i64, X_F32 = false}> {{.*}} ins [@wl, @x]

// -----

// Refused: the reader adds into the residual row it would normalise (one
// block's prologue would read another block's output).
module @reader_writes_row {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wo #fdkernel.buffer_kind<weight> size 8192 offset 0 weight @o layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{ACCUM = true, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = false}> target <sm_90> grid [32, 1, 1] block [64, 1, 1] ins [@wo, @x] outs [@h] scalars {k = 64 : i32, n = 64 : i32}
  }
}
// CHECK-LABEL: module @reader_writes_row
// CHECK: "rms_norm"
// CHECK: "gemv_bf16"<{ACCUM = true, LANES = 8 : i64, M = 1 : i64, OUT_BF16 = false, ROWS = 1 : i64, WAVES = 2 : i64, X_F32 = false}>

// -----

// Refused: a float output (not a GEMV's bf16 activations).
module @float_output {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 2048 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wl #fdkernel.buffer_kind<weight> size 65536 offset 0 weight @lm_head layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = true, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = true}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@wl, @x] outs [@logits] scalars {k = 64 : i32, n = 512 : i32}
  }
}
// CHECK-LABEL: module @float_output
// CHECK: "rms_norm"
// CHECK: "gemv_bf16"<{ACCUM = false, LANES = 8 : i64, M = 1 : i64, OUT_BF16 = false, ROWS = 1 : i64, WAVES = 2 : i64, X_F32 = true}>

// -----

// max-rows: the 512-row lm_head is over a bound of 256 and keeps its norm;
// the 8-row router is under it.
module @bounded {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @x2 #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 2048 offset 0
  fdkernel.buffer @rl #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @wl #fdkernel.buffer_kind<weight> size 65536 offset 0 weight @lm_head layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x2] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x2, @wr, @__null, @__null] outs [@rl, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32}
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = false}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@wl, @x] outs [@logits] scalars {k = 64 : i32, n = 512 : i32}
  }
}
// CHECK-LABEL: module @bounded
// CHECK-NOT: "rms_norm"
// BOUND-LABEL: module @bounded
// BOUND: "router_gemv_topk"<{{.*}}NORM = 1 : i64
// BOUND: "rms_norm"
// BOUND: "gemv_bf16"<{ACCUM = false, LANES = 8 : i64, M = 1 : i64, OUT_BF16 = false, ROWS = 1 : i64, WAVES = 2 : i64, X_F32 = false}> {{.*}} ins [@wl, @x]
