// RUN: fd-opt %s -split-input-file --fd-fuse-router | FileCheck %s

// The bf16 router GEMV and router_topk: one router_gemv_topk at
// router_topk's place (KIND 2), writing the logits, ids, weights and a new
// 4-byte state buffer counting finished blocks.
module @bf16 {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wr, @x] outs [@logits] scalars {k = 64 : i32, n = 8 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
  }
}
// CHECK-LABEL: module @bf16
// CHECK: fdkernel.buffer @s.ids.done <state> size 4
// CHECK: fdkernel.launch "router_gemv_topk"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @s.ids.done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
// CHECK-NOT: "gemv_bf16"
// CHECK-NOT: "router_topk"

// -----

// A 4-bit router (KIND 1) keeps its GROUP and ZEROS.
module @w4 {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<weight> size 512 offset 0 weight @router layout "w4.qweight"
  fdkernel.buffer @s #fdkernel.buffer_kind<weight> size 64 offset 0 weight @router layout "w4.scales"
  fdkernel.buffer @z #fdkernel.buffer_kind<weight> size 32 offset 0 weight @router layout "w4.zeros"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 16, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, ZEROS = true}> target <gfx1151> grid [4, 1, 1] block [64, 1, 1] ins [@q, @s, @z, @x] outs [@logits] scalars {k = 64 : i32, n = 16 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 16 : i32, k = 2 : i32, renormalize = 0 : i32}
  }
}
// CHECK-LABEL: module @w4
// CHECK: fdkernel.launch "router_gemv_topk"<{GROUP = 32 : i64, KIND = 1 : i64, LANES = 16 : i64, ROWS = 1 : i64, WAVES = 2 : i64, ZEROS = true}> target <gfx1151> grid [4, 1, 1] block [64, 1, 1] ins [@x, @q, @s, @z] outs [@logits, @ids, @wts, @s.ids.done]

// -----

// Refused: more than 512 experts (the fused top-k holds the logits in
// registers).
module @too_many_experts {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 4096 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 131072 offset 0 weight @router layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [128, 1, 1] block [128, 1, 1] ins [@wr, @x] outs [@logits] scalars {k = 64 : i32, n = 1024 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 1024 : i32, k = 8 : i32, renormalize = 1 : i32}
  }
}
// CHECK-LABEL: module @too_many_experts
// CHECK-NOT: fdkernel.buffer @s.ids.done
// CHECK: fdkernel.launch "gemv_bf16"
// CHECK: fdkernel.launch "router_topk"

// -----

// Refused: the logits have another reader.
module @logits_read_elsewhere {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wr, @x] outs [@logits] scalars {k = 64 : i32, n = 8 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@copy] scalars {n = 8 : i32}
  }
}
// CHECK-LABEL: module @logits_read_elsewhere
// CHECK: fdkernel.launch "gemv_bf16"
// CHECK: fdkernel.launch "router_topk"

// -----

// Refused: x is rewritten between the GEMV and router_topk, where the fused
// launch would read it.
module @x_rewritten {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [1, 1, 1] block [128, 1, 1] ins [@wr, @x] outs [@logits] scalars {k = 64 : i32, n = 8 : i32}
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
  }
}
// CHECK-LABEL: module @x_rewritten
// CHECK: fdkernel.launch "gemv_bf16"
// CHECK: fdkernel.launch "rms_norm"
// CHECK: fdkernel.launch "router_topk"
