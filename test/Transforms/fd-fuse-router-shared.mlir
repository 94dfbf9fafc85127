// RUN: fd-opt %s -split-input-file --fd-fuse-router-shared | FileCheck %s
// RUN: fd-opt %s -split-input-file --fd-fuse-router-shared --fd-fuse-rms-norm | FileCheck %s --check-prefix=NORM

// The fused router and the bf16 shared expert's gate/up (the released
// checkpoints' form), with the routed experts' gate/up in between: one
// router_gemv_topk_glu at the router's place (SHARED 2, the gate's and up's
// scales and zeros @__null), the router's blocks (8 rows / 8 per block = 1)
// then the gate/up's (32 / 8 = 4); the experts' launch stays. With the
// norm pass after it, the norm goes into the fused launch's prologue and
// block 0 publishes the row for the experts.
module @bf16_shared {
  fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @eact #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @eq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.gate layout "w4.qweight"
  fdkernel.buffer @es #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @experts.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 256 offset 0 weight @experts.up layout "w4.scales"
  fdkernel.buffer @sg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.gate layout "bf16"
  fdkernel.buffer @su #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@h, @wn] outs [@x] scalars {d = 64 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_w4a16_experts_glu" <{GROUP = 32, LANES = 32, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [16, 2, 1] block [64, 1, 1] ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x] outs [@eact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
    fdkernel.launch "gemv_bf16_glu" <{LANES = 32, ROWS = 1, WAVES = 2}> target <sm_90> grid [16, 1, 1] block [64, 1, 1] ins [@sg, @su, @x] outs [@sact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @bf16_shared
// CHECK: fdkernel.launch "rms_norm"
// CHECK-NEXT: fdkernel.launch "router_gemv_topk_glu"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 8 : i64, ROWS = 1 : i64, SHARED = 2 : i64, WAVES = 2 : i64, ZEROS = false}> target <sm_90> grid [5, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null, @sg, @__null, @__null, @su, @__null, @__null] outs [@logits, @ids, @wts, @done, @sact] scalars {e = 8 : i32, k = 64 : i32, n = 32 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>, #fdkernel.epilogue<silu_mul>]
// CHECK-NEXT: fdkernel.launch "gemv_w4a16_experts_glu"
// CHECK-NOT: "gemv_bf16_glu"
// NORM-LABEL: module @bf16_shared
// NORM-NOT: "rms_norm"
// NORM: fdkernel.launch "router_gemv_topk_glu"<{GROUP = 32 : i64, KIND = 2 : i64, LANES = 8 : i64, NORM = 1 : i64, NORM_K = 64 : i64, ROWS = 1 : i64, SHARED = 2 : i64, WAVES = 2 : i64, ZEROS = false}> {{.*}} ins [@__null, @wr, @__null, @__null, @sg, @__null, @__null, @su, @__null, @__null, @h, @wn] outs [@logits, @ids, @wts, @done, @sact, @x]
// NORM-NEXT: fdkernel.launch "gemv_w4a16_experts_glu"{{.*}} ins [@eq, @es, @__null, @uq, @us, @__null, @ids, @x]

// -----

// A w4 shared expert under a bf16 router: its weights, scales and zeros
// in order, and the launch takes its GROUP and ZEROS.
module @w4_shared {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @gq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @shared.gate layout "w4.qweight"
  fdkernel.buffer @gs #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared.gate layout "w4.scales"
  fdkernel.buffer @gz #fdkernel.buffer_kind<weight> size 64 offset 0 weight @shared.gate layout "w4.zeros"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @shared.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared.up layout "w4.scales"
  fdkernel.buffer @uz #fdkernel.buffer_kind<weight> size 64 offset 0 weight @shared.up layout "w4.zeros"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <gfx1151> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_w4a16_glu" <{GROUP = 16, LANES = 8, ROWS = 2, WAVES = 4, ZEROS = true}> target <gfx1151> grid [2, 1, 1] block [128, 1, 1] ins [@gq, @gs, @gz, @uq, @us, @uz, @x] outs [@sact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @w4_shared
// CHECK: fdkernel.launch "router_gemv_topk_glu"<{GROUP = 16 : i64, KIND = 2 : i64, LANES = 8 : i64, ROWS = 1 : i64, SHARED = 1 : i64, WAVES = 2 : i64, ZEROS = true}> {{.*}} ins [@x, @wr, @__null, @__null, @gq, @gs, @gz, @uq, @us, @uz] outs [@logits, @ids, @wts, @done, @sact]
// CHECK-NOT: "gemv_w4a16_glu"

// -----

// Refused: a w4 router and a w4 shared expert of another group size (one
// GROUP per launch).
module @w4_groups_differ {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @rq #fdkernel.buffer_kind<weight> size 256 offset 0 weight @router layout "w4.qweight"
  fdkernel.buffer @rs #fdkernel.buffer_kind<weight> size 32 offset 0 weight @router layout "w4.scales"
  fdkernel.buffer @gq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @shared.gate layout "w4.qweight"
  fdkernel.buffer @gs #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared.gate layout "w4.scales"
  fdkernel.buffer @uq #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @shared.up layout "w4.qweight"
  fdkernel.buffer @us #fdkernel.buffer_kind<weight> size 128 offset 0 weight @shared.up layout "w4.scales"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 1, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <gfx1151> grid [1, 1, 1] block [64, 1, 1] ins [@x, @rq, @rs, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_w4a16_glu" <{GROUP = 16, LANES = 8, ROWS = 2, WAVES = 4, ZEROS = false}> target <gfx1151> grid [2, 1, 1] block [128, 1, 1] ins [@gq, @gs, @__null, @uq, @us, @__null, @x] outs [@sact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @w4_groups_differ
// CHECK: fdkernel.launch "router_gemv_topk"<
// CHECK: fdkernel.launch "gemv_w4a16_glu"

// -----

// Refused: a launch between the two writes the gate/up's activations
// (moving the gate/up up to the router would read the old row).
module @input_written_between {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @x2 #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @sg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.gate layout "bf16"
  fdkernel.buffer @su #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@x2] outs [@x] scalars {n = 64 : i32}
    fdkernel.launch "gemv_bf16_glu" <{LANES = 32, ROWS = 1, WAVES = 2}> target <sm_90> grid [16, 1, 1] block [64, 1, 1] ins [@sg, @su, @x] outs [@sact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @input_written_between
// CHECK: fdkernel.launch "router_gemv_topk"<
// CHECK: fdkernel.launch "add_residual"
// CHECK: fdkernel.launch "gemv_bf16_glu"

// -----

// Refused: a launch between the two reads the gate/up's output (it would
// see this token's value instead of what it read before).
module @output_read_between {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @sg #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.gate layout "bf16"
  fdkernel.buffer @su #fdkernel.buffer_kind<weight> size 4096 offset 0 weight @shared.up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@sact] outs [@y] scalars {n = 32 : i32}
    fdkernel.launch "gemv_bf16_glu" <{LANES = 32, ROWS = 1, WAVES = 2}> target <sm_90> grid [16, 1, 1] block [64, 1, 1] ins [@sg, @su, @x] outs [@sact] scalars {k = 64 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @output_read_between
// CHECK: fdkernel.launch "router_gemv_topk"<
// CHECK: fdkernel.launch "add_residual"
// CHECK: fdkernel.launch "gemv_bf16_glu"

// -----

// Refused: a gate/up of another K (not the router's activations' length).
module @k_differs {
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @logits #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @wts #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 4 offset 0
  fdkernel.buffer @sact #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @wr #fdkernel.buffer_kind<weight> size 1024 offset 0 weight @router layout "bf16"
  fdkernel.buffer @sg #fdkernel.buffer_kind<weight> size 2048 offset 0 weight @shared.gate layout "bf16"
  fdkernel.buffer @su #fdkernel.buffer_kind<weight> size 2048 offset 0 weight @shared.up layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 8, ROWS = 1, WAVES = 2, ZEROS = false}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@x, @wr, @__null, @__null] outs [@logits, @ids, @wts, @done] scalars {e = 8 : i32, k = 64 : i32, renormalize = 1 : i32, topk = 2 : i32} epilogues [#fdkernel.epilogue<softmax_topk>]
    fdkernel.launch "gemv_bf16_glu" <{LANES = 32, ROWS = 1, WAVES = 2}> target <sm_90> grid [16, 1, 1] block [64, 1, 1] ins [@sg, @su, @x] outs [@sact] scalars {k = 32 : i32, n = 32 : i32} epilogues [#fdkernel.epilogue<silu_mul>]
  }
}
// CHECK-LABEL: module @k_differs
// CHECK: fdkernel.launch "router_gemv_topk"<
// CHECK: fdkernel.launch "gemv_bf16_glu"
