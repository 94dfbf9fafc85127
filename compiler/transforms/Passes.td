//===- Passes.td - fusedecode compiler passes --------------*- tablegen -*-===//

#ifndef FUSEDECODE_TRANSFORMS_PASSES
#define FUSEDECODE_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def LowerToKernelsPass : Pass<"fd-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Lower the fdgraph forward function to the kernel launches of one decode token";
  let description = [{
    Turns each op of `func.func @forward` into one or more `fdkernel.launch`
    ops of the templates in `codegen-templates/` (a fixed rule per op; the
    cost model that chooses parameters is a later pass), inside one
    `fdkernel.step "decode"`, and declares every buffer they touch:
    weights (with the `fdgraph.weight` and packing layout they come from),
    per-layer state (GDN conv and recurrent state, KV cache), io (token,
    position, sampling step, next token) and arena activations, whose
    offsets `fd-plan-memory` assigns. The residual stream is float32;
    GEMV inputs are bf16.

    Before:
    ```mlir
    %x = fdgraph.rms_norm %h, @"layers.0.input_layernorm" {...} : tensor<?x64xf32>
    %y = fdgraph.linear %x, @"layers.0.linear_attn.in_proj_z" quant(...) : ...
    ```
    After (abridged):
    ```mlir
    fdkernel.launch "rms_norm" <{THREADS = 256, ZERO_CENTERED = true, IN_F32 = true}>
        target <sm_90> grid [1, 1, 1] block [256, 1, 1]
        ins [@a.h, @w.layers.0.input_layernorm] outs [@a.x1] scalars {d = 64, eps = 1.0e-06}
    fdkernel.launch "gemv_w4a16" <{ROWS = 2, M = 1, WAVES = 4, GROUP = 32, ZEROS = false, OUT_BF16 = false}>
        ... ins [@w.layers.0.linear_attn.in_proj_z.qweight, ...scales, @__null, @a.x1] outs [@a.y2]
    ```
    The forward function stays: it is what the CPU backend interprets.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "GPU target: gfx1151, gfx1100 or sm_90">,
    Option<"maxContext", "max-context", "int64_t", /*default=*/"4096",
           "Positions the KV cache holds">,
    Option<"gdnMaxSplit", "gdn-max-split", "int64_t", /*default=*/"1",
           "Most blocks one Gated DeltaNet value head is split over in "
           "gdn_decode (1, 2 or 4; 1: a block per head)">,
    Option<"attentionMinChunk", "attention-min-chunk", "int64_t",
           /*default=*/"8",
           "Fewest positions one attention_decode block takes (rounded up "
           "to its 8 waves): a short context then uses fewer splits">,
  ];
  let dependentDialects = ["fd::fdkernel::FDKernelDialect"];
}

def PlanMemoryPass : Pass<"fd-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place arena buffers by liveness over the launch order";
  let description = [{
    Each arena buffer lives from the first to the last launch of the decode
    step that names it. Buffers are placed largest first at the lowest
    256-byte-aligned offset that overlaps no buffer alive at the same time;
    the module gets `fdkernel.arena_size`. Non-arena buffers are left alone.

    Before: `fdkernel.buffer @a <arena> size 100 offset 0` (all at 0)
    After: disjoint offsets where lifetimes overlap, shared ones where not.
  }];
}

def FuseResidualPass : Pass<"fd-fuse-residual", "mlir::ModuleOp"> {
  let summary = "Fold residual adds into the epilogue of the launch that produces the addend";
  let description = [{
    An `add_residual` launch (h += y) whose `y` comes from a float-output
    `gemv_w4a16` / `gemv_bf16` (o_proj, out_proj, a dense MLP's down
    projection) becomes that GEMV's epilogue: the GEMV gets `ACCUM = true`
    and writes into `h`, adding to what is there. When `y` comes from
    `moe_combine` (the routed experts' weighted sum plus the gated shared
    expert), `h` becomes its `base` and its output. Either way one launch
    and one float round trip of the hidden state disappear, and the sum is
    computed with the same float operations in the same order, so results
    are bit-identical. Applied only when `y` has no other reader or writer,
    the producer does not read `h`, and nothing between the two launches
    touches `h` or `y`; `y`'s buffer is removed when nothing names it any
    more.

    Before:
    ```mlir
    fdkernel.launch "gemv_w4a16" <{ACCUM = false, ...}> ... ins [..., @a.x] outs [@a.y]
    fdkernel.launch "add_residual" <{THREADS = 256}> ... ins [@a.y] outs [@a.h]
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_w4a16" <{ACCUM = true, ...}> ... ins [..., @a.x] outs [@a.h]
        epilogues [#fdkernel.epilogue<residual_add>]
    ```
  }];
}

def FuseGluPass : Pass<"fd-fuse-glu", "mlir::ModuleOp"> {
  let summary = "Fuse a SwiGLU's gate and up GEMVs and silu_mul into one launch";
  let description = [{
    A `silu_mul` launch (a = bf16(silu(g) * u)) whose `g` and `u` come from
    two GEMVs of the same template (`gemv_w4a16`, `gemv_bf16` or the routed
    experts' `gemv_w4a16_experts`) over the same activations (and expert
    ids), with equal shape and packing and float outputs, becomes one
    `<template>_glu` launch: each lane group computes a row of the gate and
    the same row of the up projection in one K loop and stores the product,
    epilogue `silu_mul`. Two launches and the float round trip of g and u
    disappear; the weights stay in their own buffers (no interleaved copy),
    and with equal LANES the arithmetic is the unfused one, in the same order.
    Applied only when `g` and `u` have no other reader or writer and nothing
    between the first GEMV and `silu_mul` writes what the GEMVs read or
    touches `a`; the fused launch takes `silu_mul`'s place and `g`'s and
    `u`'s buffers are removed.

    Before:
    ```mlir
    fdkernel.launch "gemv_w4a16_experts" <{...}> ... ins [@w.gate.qweight, @w.gate.scales, @__null, @a.ids, @a.x] outs [@a.eg]
    fdkernel.launch "gemv_w4a16_experts" <{...}> ... ins [@w.up.qweight, @w.up.scales, @__null, @a.ids, @a.x] outs [@a.eu]
    fdkernel.launch "silu_mul" <{THREADS = 256}> ... ins [@a.eg, @a.eu] outs [@a.eact]
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_w4a16_experts_glu" <{...}> ... ins [@w.gate.qweight, @w.gate.scales, @__null,
        @w.up.qweight, @w.up.scales, @__null, @a.ids, @a.x] outs [@a.eact]
        epilogues [#fdkernel.epilogue<silu_mul>]
    ```
  }];
}

def FuseRouterPass : Pass<"fd-fuse-router", "mlir::ModuleOp"> {
  let summary = "Compute the MoE router GEMV, softmax and top-k in one launch";
  let description = [{
    A `router_topk` launch whose logits come from a one-token GEMV
    (`gemv_bf16` or `gemv_w4a16`, float output) becomes one
    `router_gemv_topk` launch at `router_topk`'s place, epilogue
    `softmax_topk`: every block computes its rows of the logits with the
    GEMV's arithmetic (a `gemv_segments` segment of KIND 1 = w4, 2 = bf16),
    releases them with a device-scope fence and counts itself in a 4-byte
    state buffer `s.<ids>.done`; the last block to arrive reads all the
    logits back and takes the softmax and top-k with the logits in
    registers, then resets the count for the next token. One launch and its
    gap disappear per MoE layer. Applied only with at most 512 experts (the
    registers the top-k holds), when the logits have no other reader and
    nothing between the GEMV and `router_topk` writes what the GEMV reads or
    touches the ids and weights. The softmax sums in another order than
    `router_topk`'s, so weights can differ in the last bits. Run before
    `fd-fuse-horizontal`, which would otherwise put the router GEMV into a
    `gemv_segments` launch.

    Before:
    ```mlir
    fdkernel.launch "gemv_bf16" <{...}> ... ins [@w.router, @a.x] outs [@a.logits] scalars {k = 2048, n = 256}
    fdkernel.launch "router_topk" <{THREADS = 256}> ... ins [@a.logits] outs [@a.ids, @a.weights] scalars {e = 256, k = 8, renormalize = 1}
    ```
    After:
    ```mlir
    fdkernel.buffer @s.a.ids.done <state> size 4
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 32, ROWS = 2, WAVES = 4, ZEROS = false}>
        ... ins [@a.x, @w.router, @__null, @__null] outs [@a.logits, @a.ids, @a.weights, @s.a.ids.done]
        scalars {e = 256, k = 2048, renormalize = 1, topk = 8} epilogues [#fdkernel.epilogue<softmax_topk>]
    ```
  }];
}

def FuseGdnConvPass : Pass<"fd-fuse-gdn-conv", "mlir::ModuleOp"> {
  let summary = "Compute Gated DeltaNet's causal conv inside its decode launch";
  let description = [{
    A `gdn_conv` launch whose output (the conv'd q|k|v row) only the next
    `gdn_decode` reads disappears into that launch: `gdn_decode` gets
    `CONV` = the kernel size, reads the conv's input in place of the row,
    and takes the conv's weight and `@io.position` as its last inputs and
    the conv's state as its last output. Each block computes the conv for
    the channels it reads (its key head's q and k, its columns of v) with
    `gdn_conv`'s expression and order, so the result is bit-identical. The
    state becomes a ring of K slots (slot t % K holds position t's input;
    its buffer grows from K - 1 to K rows): a position reads only the other
    slots, so the two value heads that share a key head's q and k channels
    never race on them (only the first stores them). One launch and its gap
    disappear per GDN layer. Applied only when nothing between the two
    launches writes the conv's input or weight or touches its state, with
    a kernel size of 1 to 8 and an `io.position` buffer.

    Before:
    ```mlir
    fdkernel.buffer @s.0.conv <state> size 98304
    fdkernel.launch "gdn_conv" <{THREADS = 256}> ... ins [@a.qkv, @w.conv1d] outs [@s.0.conv, @a.mixed] scalars {channels = 8192, kernelSize = 4}
    fdkernel.launch "gdn_decode" <{MAX_DK = 128, RG = 4, SPLIT = 1, THREADS = 512}> ... ins [@a.mixed, @a.z, @a.b, @a.a, @w.A_log, @w.dt_bias, @w.norm]
        outs [@s.0.recurrent, @a.gdn, @__null, @__null]
    ```
    After:
    ```mlir
    fdkernel.buffer @s.0.conv <state> size 131072
    fdkernel.launch "gdn_decode" <{CONV = 4, MAX_DK = 128, RG = 4, SPLIT = 1, THREADS = 512}> ...
        ins [@a.qkv, @a.z, @a.b, @a.a, @w.A_log, @w.dt_bias, @w.norm, @w.conv1d, @io.position]
        outs [@s.0.recurrent, @a.gdn, @__null, @__null, @s.0.conv]
    ```
  }];
}

def FuseKvAppendPass : Pass<"fd-fuse-kv-append", "mlir::ModuleOp"> {
  let summary = "Append the token's key and value inside its attention launch";
  let description = [{
    A `kv_append` launch whose caches the next `attention_decode` reads at
    the same position disappears into that launch: `attention_decode` gets
    `APPEND` = 1, takes the append's key row, value row and key norm as its
    last inputs and the two caches as its last outputs (they stay inputs
    too: it reads the earlier positions). The blocks of the chunk that ends
    at the position normalise and rotate the key with `kv_append`'s
    function, attend to the new row from shared memory, and the first head
    group of each KV head writes it to the cache; no block reads the
    position it writes, and each wave takes its positions in the same
    order, so the result is bit-identical. One launch and its gap
    disappear per attention layer. Applied only when the two launches
    share the norm, RoPE and head scalars and the position buffer, and
    nothing between them writes the append's inputs.

    Before:
    ```mlir
    fdkernel.launch "kv_append" <{MAX_D = 256, THREADS = 64}> ... ins [@a.k, @a.v, @w.k_norm, @io.position] outs [@kv.3.k, @kv.3.v]
    fdkernel.launch "attention_decode" <{D = 256, GROUP = 4, SPLITS = 64, THREADS = 256}> ...
        ins [@a.q, @w.q_norm, @io.position, @kv.3.k, @kv.3.v] outs [@a.partials, @s.done, @a.attn]
    ```
    After:
    ```mlir
    fdkernel.launch "attention_decode" <{APPEND = 1, D = 256, GROUP = 4, SPLITS = 64, THREADS = 256}> ...
        ins [@a.q, @w.q_norm, @io.position, @kv.3.k, @kv.3.v, @a.k, @a.v, @w.k_norm]
        outs [@a.partials, @s.done, @a.attn, @kv.3.k, @kv.3.v]
    ```
  }];
  let dependentDialects = ["fd::fdkernel::FDKernelDialect"];
}

def FuseRouterSharedPass : Pass<"fd-fuse-router-shared", "mlir::ModuleOp"> {
  let summary = "Compute the shared expert's gate/up in the router's launch";
  let description = [{
    A `router_gemv_topk` launch and the first later launch that reads its
    activations as a shared expert's gate/up (`gemv_bf16_glu` or
    `gemv_w4a16_glu`, the same K) become one `router_gemv_topk_glu` launch
    at the router's place: its first blocks are the router's (rows, done
    counter, the last block's softmax and top-k), the next ones compute the
    gate/up rows with `gemv_*_glu`'s arithmetic at the router's block shape
    (`SHARED` 1 = w4a16, 2 = bf16; ins the router's, then the gate's and the
    up's weight, scales and zeros, `@__null` for bf16; outs the router's,
    then the gate/up output; scalar `n` its rows). The router's top-k then
    runs while the shared expert's blocks still stream their weights, and
    one launch and its gap disappear per MoE layer. The result is
    bit-identical to the two launches with the same LANES. Applied only
    when nothing between the two launches writes what the gate/up reads or
    touches its output, and, for a w4 router with a w4 shared expert, when
    their GROUP and ZEROS agree. Run after `fd-fuse-router` and
    `fd-fuse-glu`, before `fd-fuse-rms-norm` (which then folds the norm into
    the fused launch) and `fd-select-kernels` (which sets its block shape
    and grid again).

    Before:
    ```mlir
    fdkernel.launch "router_gemv_topk" <{GROUP = 32, KIND = 2, LANES = 32, ROWS = 1, WAVES = 4, ZEROS = false}> ... grid [64, 1, 1]
        ins [@a.x, @w.router, @__null, @__null] outs [@a.logits, @a.ids, @a.weights, @s.a.ids.done] scalars {e = 256, k = 2048, ...}
    fdkernel.launch "gemv_w4a16_experts_glu" ... ins [..., @a.ids, @a.x] outs [@a.eact]
    fdkernel.launch "gemv_bf16_glu" <{LANES = 32, ROWS = 1, WAVES = 2}> ... ins [@w.gate, @w.up, @a.x] outs [@a.sact] scalars {k = 2048, n = 512}
    ```
    After:
    ```mlir
    fdkernel.launch "router_gemv_topk_glu" <{GROUP = 32, KIND = 2, LANES = 32, ROWS = 1, SHARED = 2, WAVES = 4, ZEROS = false}> ... grid [192, 1, 1]
        ins [@a.x, @w.router, @__null, @__null, @w.gate, @__null, @__null, @w.up, @__null, @__null]
        outs [@a.logits, @a.ids, @a.weights, @s.a.ids.done, @a.sact] scalars {e = 256, k = 2048, n = 512, ...}
    fdkernel.launch "gemv_w4a16_experts_glu" ... ins [..., @a.ids, @a.x] outs [@a.eact]
    ```
  }];
}

def FuseSharedGatePass : Pass<"fd-fuse-shared-gate", "mlir::ModuleOp"> {
  let summary = "Fold the shared expert's sigmoid gate into its down projection";
  let description = [{
    A `moe_combine` that scales the shared expert by sigmoid(g), where g is
    a one-row `gemv_bf16` (the `shared_expert_gate` dot product over the
    MoE input) and the shared expert comes from a one-token GEMV, gets the
    shared output already gated: the down projection becomes a `gemv_gated`
    launch (epilogue `sigmoid_gate_mul`) in which every block reduces the
    gate's dot product itself — 2 x K bf16 values from cache, cheaper than
    a launch — and multiplies its rows by the sigmoid; the one-row GEMV and
    its output disappear and `moe_combine` no longer gates. Applied only
    when g and the shared output have no other reader and nothing between
    the two GEMVs writes what the gate reads. Run before
    `fd-fuse-horizontal` (which would put the gate's GEMV into the router's
    launch) and before `fd-fuse-moe-combine`, which carries the gate into
    its own launch.

    Before:
    ```mlir
    fdkernel.launch "gemv_bf16" <{...}> ... ins [@w.shared_down, @a.sact] outs [@a.sd] scalars {k = 512, n = 2048}
    fdkernel.launch "gemv_bf16" <{...}> ... ins [@w.shared_expert_gate, @a.x] outs [@a.seg] scalars {k = 2048, n = 1}
    fdkernel.launch "moe_combine" ... ins [@__null, @a.ed, @a.weights, @a.sd, @a.seg] outs [@a.moe]
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_gated" <{GROUP = 32, KIND = 2, ...}> ... ins [@a.sact, @w.shared_down, @__null, @__null,
        @w.shared_expert_gate, @a.x] outs [@a.sd] scalars {gk = 2048, k = 512, n = 2048}
        epilogues [#fdkernel.epilogue<sigmoid_gate_mul>]
    fdkernel.launch "moe_combine" ... ins [@__null, @a.ed, @a.weights, @a.sd, @__null] outs [@a.moe]
    ```
  }];
}

def FuseMoeCombinePass : Pass<"fd-fuse-moe-combine", "mlir::ModuleOp"> {
  let summary = "Compute the experts' down projections and their weighted sum in one launch";
  let description = [{
    A `moe_combine` whose routed rows come from `gemv_w4a16_experts` (one x
    row per slot, every slot) and whose shared row, if any, from a one-token
    GEMV or `gemv_gated`, becomes one `moe_down_combine` launch at the
    combination's place (epilogue `expert_weighted_sum`, plus
    `sigmoid_gate_mul` and `residual_add` when they came along): each lane
    group computes its output rows for every routed expert and the shared
    expert in turn, weights each lane's partial sums by the router weight
    (or the shared gate) and reduces once, then adds the base (the residual
    stream, in place). Three launches become one, and the per-slot float
    rows (slots x N x 4 bytes written and read back) disappear. The
    parameter `SHARED` says the shared expert's kind (0 none, 1 w4 with the
    routed experts' GROUP and ZEROS, 2 bf16). Applied only when the
    producers' outputs have no other reader and nothing between a producer
    and the combination writes what it reads. Results differ from the
    unfused launches in rounding only (the weights apply before the
    reduction).

    Before:
    ```mlir
    fdkernel.launch "gemv_w4a16_experts" <{...}> grid [256, 8, 1] ... ins [@w.down.qweight, @w.down.scales, @__null, @a.ids, @a.eact] outs [@a.ed]
    fdkernel.launch "gemv_gated" <{...}> ... outs [@a.sd]
    fdkernel.launch "moe_combine" ... ins [@a.h, @a.ed, @a.weights, @a.sd, @__null] outs [@a.h]
    ```
    After:
    ```mlir
    fdkernel.launch "moe_down_combine" <{GROUP = 128, LANES = 16, ROWS = 1, SHARED = 2, WAVES = 4, ZEROS = false}> grid [256, 1, 1]
        ... ins [@a.h, @w.down.qweight, @w.down.scales, @__null, @a.ids, @a.weights, @a.eact,
                 @w.shared_down, @__null, @__null, @a.sact, @__null, @w.shared_expert_gate, @a.x]
        outs [@a.h] scalars {gateK = 2048, k = 512, n = 2048, sharedK = 512, slots = 8}
    ```
  }];
}

def FuseHorizontalPass : Pass<"fd-fuse-horizontal", "mlir::ModuleOp"> {
  let summary = "Fuse GEMVs that read the same activations into one launch";
  let description = [{
    Up to four `gemv_w4a16` / `gemv_bf16` launches (one token, bf16
    activations, float output, no epilogue) that read the same activations
    with the same K become one `gemv_segments<count>` launch: each GEMV is a
    segment with its own matrix (int4 or bf16, parameter `KIND<i>`: 1 = w4,
    2 = bf16) and output, taking consecutive block ranges of one grid. This is
    Gated DeltaNet's in_proj_qkv | in_proj_z | in_proj_b | in_proj_a (mixed
    int4 and bf16), attention's q | k | v, and the MoE router with the
    shared-expert gate. Every segment computes its rows with the arithmetic
    of the lone GEMV with the same ROWS / LANES, so results are bit-identical.
    The fused launch takes the first GEMV's place; a later GEMV joins only if
    nothing it would move above touches its output, and gathering stops
    where a launch rewrites the activations. w4 segments share GROUP and
    ZEROS. Run after `fd-fuse-glu` (a GLU's gate and up read the same
    activations too and are better fused with their activation).

    Before:
    ```mlir
    fdkernel.launch "gemv_w4a16" <{...}> ... ins [@w.qkv.qweight, @w.qkv.scales, @__null, @a.x] outs [@a.qkv] scalars {k = 2048, n = 8192}
    fdkernel.launch "gemv_bf16" <{...}> ... ins [@w.b, @a.x] outs [@a.b] scalars {k = 2048, n = 32}
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_segments2" <{GROUP = 128, KIND0 = 1, KIND1 = 2, LANES = 32, ROWS = 2, WAVES = 4, ZEROS = false}>
        ... ins [@a.x, @w.qkv.qweight, @w.qkv.scales, @__null, @w.b, @__null, @__null]
        outs [@a.qkv, @a.b] scalars {k = 2048, n0 = 8192, n1 = 32}
    ```
  }];
}

def QuantizeLmHeadPass : Pass<"fd-quantize-lm-head", "mlir::ModuleOp"> {
  let summary = "Quantize the bf16 lm_head to int8 at compile time";
  let description = [{
    The lm_head is the largest single read of a decode step (248,320 x 2048
    bf16 = 1.02 GB for Qwen3.5-35B-A3B). This quant-lowering pass replaces
    its `gemv_bf16` launch with `gemv_w8a16` over two new weight buffers
    packed from the same bf16 weight: symmetric int8 codes (`w8.qweight`,
    N x K bytes) and fp16 scales (`w8.scales.g<group>`), one per `group` values of K
    (`int8:gG`) or one per row (`int8`). Weight packing quantizes with
    `reference::quantizeInt8Rows` (scale = max|w| / 127 rounded to fp16,
    codes rounded to nearest), which the CPU backend and fd-ref share, so
    every backend computes the same quantized head. The bf16 buffer is
    removed; a tied lm_head (the embedding lookup reads the same buffer) is
    an error. `mode=none` leaves the module unchanged.

    Before:
    ```mlir
    fdkernel.buffer @w.lm_head <weight> size 65536 offset 0 weight @lm_head layout "bf16"
    fdkernel.launch "gemv_bf16" <{...}> ins [@w.lm_head, @a.x] outs [@a.logits] scalars {k = 64, n = 512}
    ```
    After (`mode=int8:g32`):
    ```mlir
    fdkernel.buffer @w.lm_head.q8 <weight> size 32768 offset 0 weight @lm_head layout "w8.qweight"
    fdkernel.buffer @w.lm_head.q8scales <weight> size 2048 offset 0 weight @lm_head layout "w8.scales.g32"
    fdkernel.launch "gemv_w8a16" <{GROUP = 32, ...}> ins [@w.lm_head.q8, @w.lm_head.q8scales, @a.x] outs [@a.logits] ...
    ```
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int8:g32\"",
           "none, int8 (per output row), int8:g32, int8:g64 or int8:g128">,
  ];
  let dependentDialects = ["fd::fdkernel::FDKernelDialect"];
}

def FuseRmsNormPass : Pass<"fd-fuse-rms-norm", "mlir::ModuleOp"> {
  let summary = "Fold each RMSNorm into the prologue of the GEMV that first reads it";
  let description = [{
    An `rms_norm` launch (one row of the float residual stream, bf16 output)
    disappears into its first consumer when that launch's template takes the
    norm prologue (`gemv_w4a16`, `gemv_bf16`, `gemv_w8a16`,
    `gemv_segments<n>`, `router_gemv_topk`: the registry's `normInput`):
    the consumer gets parameters `NORM` (1: scale 1 + w, zero-centred; 2: w)
    and `NORM_K` (the row's length), the residual row and the norm weight as
    its last two inputs, `normEps`, and in place of its activations
    `@__null`. Every block then computes the norm itself (chunk sums of
    squares in local memory, the bf16 row in local memory) before its first
    weight load, in the one summation order `rms_norm` uses too, so the
    result is bit-identical. When later launches read the norm's output as
    well (the experts' and the shared expert's gate/up after the router), the
    consumer's block (0, 0) publishes the row into that buffer (its last
    output, else `@__null`) and they read it as before; otherwise the buffer
    is removed. Applied only when the consumer reads the row as its
    activations and nowhere else, has K equal to the row's length, one
    token, and neither it nor anything between writes the residual row or
    the weight. Run last among the fusions: it takes the launches they
    leave.

    Before:
    ```mlir
    fdkernel.launch "rms_norm" <{IN_F32 = true, OUT_F32 = false, THREADS = 256, ZERO_CENTERED = true}> ... ins [@a.h, @w.norm] outs [@a.x] scalars {d = 2048 : i32, eps = 1.0e-06 : f32}
    fdkernel.launch "gemv_bf16" <{...}> ... ins [@w.lm_head, @a.x] outs [@a.logits] scalars {k = 2048, n = 248320}
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_bf16" <{..., NORM = 1, NORM_K = 2048}> ... ins [@w.lm_head, @__null, @a.h, @w.norm]
        outs [@a.logits, @__null] scalars {k = 2048, n = 248320, normEps = 1.0e-06 : f32}
    ```

    `max-rows` (default 4096) bounds the rows (output elements) of a reader
    that takes the prologue: every block of the reader repeats it (12 bytes
    per value of the row from L2, two barriers before its first weight
    load), which on a reader of many small blocks costs more than the launch
    it saves. On the H100 the router (256 rows) gains 1.8 us per folded norm
    while GDN's in_proj and attention's q | k | v (9-12k rows, ~1500 blocks
    of 8 KB of weights each) lose ~3 us each (docs/performance.md); on the
    H200 with overlapped launches and the one-round prologue they gain
    ~1.7 us each, a bound of 32768 (compile-model's default for sm_90,
    TargetInfo's `normFoldMaxRows`). 0 folds into any reader.
  }];
  let options = [
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"4096",
           "Fold only into readers of at most this many output rows (0: any)">,
  ];
}

def SelectKernelsPass : Pass<"fd-select-kernels", "mlir::ModuleOp"> {
  let summary = "Choose each GEMV launch's template parameters with the cost model";
  let description = [{
    For every `gemv_w4a16`, `gemv_w4a16_experts` and `gemv_bf16` launch,
    lists the candidate settings of ROWS (rows per lane group), LANES (lanes
    splitting K) and WAVES (waves per block), compiles each candidate
    instance for `target` with the real device compiler (clang-22 for AMD,
    nvcc for NVIDIA; results cached per instance, target, compiler version
    and template sources under `cache-dir`), predicts each one's time from
    bytes moved, occupancy-limited loads in flight, the tail over compute
    units and the launch cost (`compiler/costmodel/CostModel.h`), and keeps
    the fastest; near ties go to higher occupancy, then fewer registers.
    Candidates that spill are never chosen. With `tuning-db`, a shape whose
    candidates were all measured on the GPU (`compile-model --autotune`,
    `fd-tune`) takes the fastest measured one instead, and the attribute
    carries `measured_us` next to `predicted_us`; a database measured with
    other templates or another device compiler is ignored with a warning.
    Grid and block follow the choice; every launch gets the target, and each GEMV an `fdkernel.cost`
    attribute with what decided. Launches of equal template and shape share
    one decision.

    Before:
    ```mlir
    fdkernel.launch "gemv_w4a16_experts" <{ROWS = 2, LANES = 32, WAVES = 4, ...}>
        target <gfx1151> grid [256, 8, 1] block [128, 1, 1] ... scalars {k = 512, n = 2048, ...}
    ```
    After:
    ```mlir
    fdkernel.launch "gemv_w4a16_experts" <{ROWS = 1, LANES = 16, WAVES = 4, ...}>
        target <gfx1151> grid [256, 8, 1] block [128, 1, 1] ...
        {fdkernel.cost = {bound = "bandwidth", candidates = 27, occupancy = 1.0,
                          predicted_us = 17.6, reason = "...", registers = 40}}
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "GPU target: gfx1151, gfx1100 or sm_90">,
    Option<"cacheDir", "cache-dir", "std::string", /*default=*/"\"\"",
           "Resource cache directory (default: $FD_KERNEL_CACHE, else "
           "~/.cache/fusedecode/kernels)">,
    Option<"templates", "templates", "std::string", /*default=*/"\"\"",
           "Kernel template directory (default: the source tree's "
           "codegen-templates)">,
    Option<"tuningDb", "tuning-db", "std::string", /*default=*/"\"\"",
           "Directory of tuning databases (<target>.json, written by fd-tune): "
           "where every candidate of a shape was measured, the fastest wins">,
    ListOption<"force", "force", "std::string",
           "TEMPLATE=ROWS,LANES,WAVES: every launch of TEMPLATE takes this "
           "setting whatever the model or the measurements say (for "
           "experiments; an error when it is no candidate or spills)">,
  ];
  let dependentDialects = ["fd::fdkernel::FDKernelDialect"];
}

#endif
