// RUN: fd-opt %s -split-input-file --fd-fuse-horizontal | FileCheck %s

// GDN's in_proj_qkv | z (int4) and in_proj_b | a (bf16): one launch of four
// segments, blocks = sum of ceil(n / 8 rows per block), at the first GEMV's
// place.
module @gdn {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @qkv #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wqkvq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @wqkv layout "w4.qweight"
  fdkernel.buffer @wqkvs #fdkernel.buffer_kind<weight> size 128 offset 0 weight @wqkv layout "w4.scales"
  fdkernel.buffer @wzq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @wz layout "w4.qweight"
  fdkernel.buffer @wzs #fdkernel.buffer_kind<weight> size 128 offset 0 weight @wz layout "w4.scales"
  fdkernel.buffer @wb #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @wb layout "bf16"
  fdkernel.buffer @wa #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @wa layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wqkvq, @wqkvs, @__null, @x] outs [@qkv] scalars {k = 64 : i32, n = 128 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wzq, @wzs, @__null, @x] outs [@z] scalars {k = 64 : i32, n = 64 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wb, @x] outs [@b] scalars {k = 64 : i32, n = 4 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wa, @x] outs [@a] scalars {k = 64 : i32, n = 4 : i32}
  }
}
// CHECK-LABEL: module @gdn
// CHECK: fdkernel.launch "gemv_segments4"<{GROUP = 32 : i64, KIND0 = 1 : i64, KIND1 = 1 : i64, KIND2 = 2 : i64, KIND3 = 2 : i64, LANES = 32 : i64, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [26, 1, 1] block [128, 1, 1] ins [@x, @wqkvq, @wqkvs, @__null, @wzq, @wzs, @__null, @wb, @__null, @__null, @wa, @__null, @__null] outs [@qkv, @z, @b, @a] scalars {k = 64 : i32, n0 = 128 : i32, n1 = 64 : i32, n2 = 4 : i32, n3 = 4 : i32}
// CHECK-NOT: "gemv_

// -----

// The router and the shared-expert gate: launches that neither touch the
// gate's output nor rewrite x lie between; the gate moves up to the router.
module @router {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @seg #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @wr layout "bf16"
  fdkernel.buffer @wg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @wg layout "bf16"
  fdkernel.buffer @wd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @wd layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wr, @x] outs [@logits] scalars {k = 64 : i32, n = 8 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@logits] outs [@ids, @wts] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wd, @ids] outs [@y] scalars {k = 64 : i32, n = 8 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@wg, @x] outs [@seg] scalars {k = 64 : i32, n = 1 : i32}
  }
}
// CHECK-LABEL: module @router
// CHECK: fdkernel.launch "gemv_segments2"<{GROUP = 32 : i64, KIND0 = 2 : i64, KIND1 = 2 : i64, {{.*}} grid [2, 1, 1] {{.*}} ins [@x, @wr, @__null, @__null, @wg, @__null, @__null] outs [@logits, @seg] scalars {k = 64 : i32, n0 = 8 : i32, n1 = 1 : i32}
// CHECK-NEXT: "router_topk"
// CHECK-NEXT: "gemv_bf16"{{.*}} ins [@wd, @ids]

// -----

// A launch between reads the second GEMV's output (its old value): that
// GEMV cannot move above it; a third one still joins.
module @reader_between {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @r #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @o1 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @o2 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @w1 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w1 layout "bf16"
  fdkernel.buffer @w2 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w2 layout "bf16"
  fdkernel.buffer @w3 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w3 layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@q] outs [@o1, @o2] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w2, @x] outs [@q] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w3, @x] outs [@r] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @reader_between
// CHECK: "gemv_segments2"{{.*}} outs [@p, @r]
// CHECK-NEXT: "router_topk"
// CHECK-NEXT: "gemv_bf16"{{.*}} outs [@q]

// -----

// x is rewritten between: the GEMVs after it read another x.
module @x_rewritten {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @o1 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @w1 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w1 layout "bf16"
  fdkernel.buffer @w2 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w2 layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "router_topk" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@p] outs [@x, @o1] scalars {e = 8 : i32, k = 2 : i32, renormalize = 1 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w2, @x] outs [@q] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @x_rewritten
// CHECK-NOT: gemv_segments
// CHECK-COUNT-2: "gemv_bf16"

// -----

// ACCUM, bf16 output, float x, another K, or w4 of another group size:
// none joins the first GEMV.
module @not_members {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @r #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @s #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @t #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @u #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @v1q #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @v1 layout "w4.qweight"
  fdkernel.buffer @v1s #fdkernel.buffer_kind<weight> size 128 offset 0 weight @v1 layout "w4.scales"
  fdkernel.buffer @v2q #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @v2 layout "w4.qweight"
  fdkernel.buffer @v2s #fdkernel.buffer_kind<weight> size 128 offset 0 weight @v2 layout "w4.scales"
  fdkernel.buffer @w1 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w1 layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 32, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@v1q, @v1s, @__null, @x] outs [@p] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = true, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@q] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = true, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@r] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = true}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@s] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@t] scalars {k = 128 : i32, n = 32 : i32}
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, GROUP = 64, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@v2q, @v2s, @__null, @x] outs [@u] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @not_members
// CHECK-NOT: gemv_segments

// -----

// Five GEMVs over x: four segments, then the fifth alone.
module @five {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p1 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p2 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p3 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p4 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @p5 #fdkernel.buffer_kind<arena> size 512 offset 0
  fdkernel.buffer @w1 #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @w1 layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p1] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p2] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p3] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p4] scalars {k = 64 : i32, n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w1, @x] outs [@p5] scalars {k = 64 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @five
// CHECK: "gemv_segments4"{{.*}} outs [@p1, @p2, @p3, @p4]
// CHECK-NEXT: "gemv_bf16"{{.*}} outs [@p5]
