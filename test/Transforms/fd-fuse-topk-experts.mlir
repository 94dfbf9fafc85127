// RUN: fd-opt %s -split-input-file --fd-fuse-topk-experts | FileCheck %s

// The released checkpoints' form: the router with the shared expert's
// gate/up, then the routed experts' gate/up reading its ids and the down
// projection reading ids and weights. The router keeps its logits and the
// gate/up (LOGITS_ONLY, the softmax_topk epilogue moved), the experts take
// the logits in and write the ids and weights (ROUTE), the down projection
// is untouched and the unused block count is gone.
module @router_glu {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.buffer @dq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.down layout "w4.qweight"
  fdkernel.buffer @ds #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.down layout "w4.scales"
  fdkernel.buffer @sg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.gate layout "bf16"
  fdkernel.buffer @su #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.up layout "bf16"
  fdkernel.buffer @sd #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.down layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk_glu" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, SHARED = 2, WAVES = 2, ZEROS = false}> target <sm_90> grid [5, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null, @sg, @__null, @__null, @su, @__null, @__null] outs [@logits, @ids, @wts, @done, @sact] scalars {e = 8 : i32, k = 64 : i32, n = 32 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>, #fdkernel.epilogue<silu_mul>]
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
    fdkernel.launch "moe_down_combine" <{GROUP = 32, LANES = 32, ROWS = 1, SHARED = 2, WAVES = 2, ZEROS = false}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] ins [@h, @dq, @ds, @__null, @ids, @wts, @eact, @sd, @__null, @__null, @sact, @__null, @__null, @__null] outs [@h] scalars {gateK = 0 : i32, k = 32 : i32, n = 64 : i32, sharedK = 32 : i32, slots = 2 : i32}
  }
}
// CHECK-LABEL: module @router_glu
// CHECK-NOT: @done
// CHECK: fdkernel.launch "router_gemv_topk_glu"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 8 : i64, LOGITS_ONLY = 1 : i64, ROWS = 1 : i64, SHARED = 2 : i64, WAVES = 2 : i64, ZEROS = false}> target <sm_90> grid [5, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null, @sg, @__null, @__null, @su, @__null, @__null] outs [@logits, @__null, @__null, @__null, @sact] scalars {e = 8 : i32, k = 64 : i32, n = 32 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
// CHECK-NEXT: fdkernel.launch "gemv_w4a16_experts_glu"<{GROUP = 32 : i64, LANES = 32 : i64, ROUTE = 1 : i64, ROWS = 1 : i64, WAVES = 2 : i64, ZEROS = false}> target <sm_90> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @__null, @x, @logits] outs [@eact, @ids, @wts] scalars {e = 8 : i32, k = 64 : i32, n = 32 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>, #fdkernel.epilogue<silu_mul>]
// CHECK-NEXT: fdkernel.launch "moe_down_combine"{{.*}} ins [@h, @dq, @ds, @__null, @ids, @wts, @eact,

// -----

// The router alone (no shared expert in its launch), a w4 router on
// gfx1151, with a launch in between that touches neither ids, weights nor
// logits.
module @router_alone {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @x2 #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @rq #fdkernel.buffer_kind<weight> size 256 offset 0 weight @router layout "w4.qweight"
  fdkernel.buffer @rs #fdkernel.buffer_kind<weight> size 32 offset 0 weight @router layout "w4.scales"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 1, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <gfx1151> grid [1, 1, 1] block [64, 1, 1] ins [@x, @rq, @rs, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 0 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "add_residual" <{THREADS = 256}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1] ins [@x] outs [@x2] scalars {n = 64 : i32}
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <gfx1151> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @router_alone
// CHECK-NOT: @done
// CHECK: fdkernel.launch "router_gemv_topk"<{{.*}}LOGITS_ONLY = 1 : i64{{.*}} outs [@logits, @__null, @__null, @__null] scalars {e = 8 : i32, k = 64 : i32, renormalize = 0 : i32, topk = 2 : i32}{{$}}
// CHECK-NEXT: fdkernel.launch "add_residual"
// CHECK-NEXT: fdkernel.launch "gemv_w4a16_experts_glu"<{{.*}}ROUTE = 1 : i64{{.*}} ins [@eq, @es, @__null, @uq, @us, @__null, @__null, @x, @logits] outs [@eact, @ids, @wts] scalars {e = 8 : i32, k = 64 : i32, n = 32 : i32, renormalize = 0 : i32, topk = 2 : i32}

// -----

// Refused: a launch between the two reads the weights (the router's
// launch wrote them; after the pass only the experts' would).
module @weights_read_between {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@wts] outs [@y] scalars {n = 2 : i32}
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @weights_read_between
// CHECK: @done
// CHECK: fdkernel.launch "router_gemv_topk"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 8 : i64, ROWS = 1 : i64, WAVES = 2 : i64, ZEROS = false}> {{.*}} outs [@logits, @ids, @wts, @done]
// CHECK: fdkernel.launch "gemv_w4a16_experts_glu"<{GROUP = 32 : i64, LANES = 32 : i64, ROWS = 1 : i64, WAVES = 2 : i64, ZEROS = false}> {{.*}} ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact]

// -----

// Refused: a launch between the two overwrites the logits.
module @logits_written_between {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@x] outs [@logits] scalars {n = 8 : i32}
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @logits_written_between
// CHECK: fdkernel.launch "router_gemv_topk"<{{.*}} outs [@logits, @ids, @wts, @done]
// CHECK: fdkernel.launch "gemv_w4a16_experts_glu"<{{.*}} ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x]

// -----

// Refused: the first user of the ids is not the experts' gate/up (the
// unfused gemv_w4a16_experts), and a top-k wider than 32 slots.
module @other_users {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 160 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @ids2 #fdkernel.buffer_kind<arena> size 160 offset 0
  fdkernel.buffer @wts2 #fdkernel.buffer_kind<arena> size 160 offset 0
  fdkernel.buffer @done2 #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eg #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 2560 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 32, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [4, 2, 1] block [128, 1, 1] ins [@eq, @es, @__null, @ids, @x] outs [@eg] scalars {k = 64 : i32, n = 32 : i32, xSlotStride = 0 : i32}
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [5, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids2, @wts2, @done2] scalars {e = 40 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 40 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [16, 40, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids2, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @other_users
// CHECK-NOT: LOGITS_ONLY
// CHECK-NOT: ROUTE
