//===- FDGraphOps.td - fdgraph operations ------------------*- tablegen -*-===//

#ifndef FDGRAPH_OPS
#define FDGRAPH_OPS

include "dialects/FDGraph/IR/FDGraphDialect.td"
include "dialects/FDGraph/IR/FDGraphAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// Activations are [tokens, features] float tensors; the token count is
// usually dynamic (prefill) and 1 in decode.
def FDGraph_Activation : 2DTensorOf<[AnyFloat]>;
def FDGraph_TokenIds : 1DTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def FDGraph_WeightOp : FDGraph_Op<"weight", [Symbol]> {
  let summary = "A model weight stored in the checkpoint";
  let description = [{
    Declares a weight by its logical (dequantized) type and the stored tensors
    that hold it. `type` is [N, K] for a linear layer (out, in, as in Hugging
    Face), [E, N, K] for routed experts, and the plain shape otherwise; its
    element type is the type the weight dequantizes to.

    Unquantized weights have one storage entry, `weight`, of exactly `type`.
    Quantized weights carry `quant` and the packed tensors of its scheme
    (see `#fdgraph.quant`); the verifier checks every packed shape against
    N, K, bits and group size.

    ```mlir
    fdgraph.weight @"layers.0.mlp.shared_expert.down_proj" : tensor<2048x512xf16>
        quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 128,
                             symmetric = true, zero_points = true>)
        storage {qweight = #fdgraph.tensor<"...qweight", tensor<64x2048xi32>, files = [0]>,
                 qzeros = #fdgraph.tensor<"...qzeros", tensor<4x256xi32>, files = [0]>,
                 scales = #fdgraph.tensor<"...scales", tensor<4x2048xf16>, files = [0]>}
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    TypeAttrOf<AnyRankedTensor>:$type,
    OptionalAttr<FDGraph_QuantAttr>:$quant,
    DictionaryAttr:$storage);
  let assemblyFormat = [{
    $sym_name `:` $type (`quant` `(` $quant^ `)`)? `storage` $storage attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// Dense ops
//===----------------------------------------------------------------------===//

def FDGraph_EmbedOp : FDGraph_Op<"embed",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Token embedding lookup";
  let description = [{
    Gathers one row of the [vocab, hidden] embedding weight per token id.

    ```mlir
    %h = fdgraph.embed %ids, @embed_tokens : tensor<?xi32> -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins FDGraph_TokenIds:$ids, FlatSymbolRefAttr:$weight);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat =
      "$ids `,` $weight attr-dict `:` type($ids) `->` type($result)";
}

def FDGraph_RMSNormOp : FDGraph_Op<"rms_norm",
    [Pure, SameOperandsAndResultType,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Root-mean-square normalisation over the feature dimension";
  let description = [{
    y = x * rsqrt(mean(x^2) + eps) * (1 + w) when `zero_centered` (Qwen3.5,
    whose norm weights are stored centred on zero), else * w (Qwen3). Computed
    in fp32.

    ```mlir
    %y = fdgraph.rms_norm %x, @"layers.0.input_layernorm" {eps = 1.0e-06 : f64,
        zero_centered = true} : tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins FDGraph_Activation:$input, FlatSymbolRefAttr:$weight,
                       F64Attr:$eps, BoolAttr:$zero_centered);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def FDGraph_AddOp : FDGraph_Op<"add",
    [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Elementwise addition (the residual connection)";
  let description = [{
    ```mlir
    %h1 = fdgraph.add %h0, %y : tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins FDGraph_Activation:$lhs, FDGraph_Activation:$rhs);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def FDGraph_LinearOp : FDGraph_Op<"linear",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "y = x Wᵀ with a possibly quantized weight";
  let description = [{
    Multiplies [T, K] activations by the [N, K] weight named by `weight`.
    The op carries its weight's quantization in `quant` (absent for a plain
    weight) so that kernel selection can match on it without a symbol
    lookup; the verifier checks it equals the weight's.

    ```mlir
    %y = fdgraph.linear %x, @"layers.0.linear_attn.out_proj"
        quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 128,
                             symmetric = true, zero_points = true>)
        : tensor<?x4096xf32> -> tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins FDGraph_Activation:$input, FlatSymbolRefAttr:$weight,
                       OptionalAttr<FDGraph_QuantAttr>:$quant);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`quant` `(` $quant^ `)`)? attr-dict `:` type($input)
    `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Mixers
//===----------------------------------------------------------------------===//

def FDGraph_GatedDeltaNetOp : FDGraph_Op<"gated_delta_net",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Gated DeltaNet linear-attention core (one layer)";
  let description = [{
    Takes the already projected `qkv` ([T, 2*Hk*Dk + Hv*Dv]), `z` ([T, Hv*Dv]),
    `b` and `a` ([T, Hv]) and returns the gated-normed output [T, Hv*Dv] that
    feeds `out_proj`. Per token: causal depthwise conv1d over the qkv
    channels (kernel `conv_kernel_size`, rolling state) with SiLU; q and k
    L2-normalised per head, q scaled by 1/sqrt(Dk); beta = sigmoid(b);
    g = -exp(A_log) * softplus(a + dt_bias); per value head the fp32 state
    S (Dk x Dv) is updated S <- S*exp(g); u = beta*(v - S^T k); S <- S + k u^T;
    o = S^T q; then rmsnorm(o) * norm_weight * silu(z) per head.
    Value head h reads key head h / (Hv / Hk). The conv and recurrent state
    belong to layer `layer`.
  }];
  let arguments = (ins
    FDGraph_Activation:$qkv, FDGraph_Activation:$z, FDGraph_Activation:$b,
    FDGraph_Activation:$a,
    FlatSymbolRefAttr:$conv_weight, FlatSymbolRefAttr:$a_log,
    FlatSymbolRefAttr:$dt_bias, FlatSymbolRefAttr:$norm_weight,
    I64Attr:$layer, I64Attr:$num_k_heads, I64Attr:$num_v_heads,
    I64Attr:$head_k_dim, I64Attr:$head_v_dim, I64Attr:$conv_kernel_size,
    F64Attr:$norm_eps);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = [{
    $qkv `,` $z `,` $b `,` $a attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def FDGraph_GatedAttentionOp : FDGraph_Op<"gated_attention",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Causal grouped-query attention with optional output gate";
  let description = [{
    Takes projected `q` ([T, Hq*D] or, with `output_gate`, [T, Hq*2D] where
    each head holds its query then its gate), `k` and `v` ([T, Hkv*D]); applies
    the per-head q/k RMSNorm (`qk_norm_zero_centered` selects 1 + w), rotate-
    half RoPE on the first `rotary_dim` dims with base `rope_theta`, appends k
    and v to layer `layer`'s KV cache, computes softmax(q kᵀ / sqrt(D)) v with
    Hq / Hkv query heads per KV head, and multiplies by sigmoid(gate) when
    `output_gate` is set. Returns [T, Hq*D], the input of `o_proj`.
  }];
  let arguments = (ins
    FDGraph_Activation:$q, FDGraph_Activation:$k, FDGraph_Activation:$v,
    FlatSymbolRefAttr:$q_norm, FlatSymbolRefAttr:$k_norm,
    I64Attr:$layer, I64Attr:$num_heads, I64Attr:$num_kv_heads,
    I64Attr:$head_dim, I64Attr:$rotary_dim, F64Attr:$rope_theta,
    BoolAttr:$output_gate, F64Attr:$norm_eps, BoolAttr:$qk_norm_zero_centered);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def FDGraph_MoEOp : FDGraph_Op<"moe",
    [Pure, SameOperandsAndResultType,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Routed SwiGLU experts with an optional gated shared expert";
  let description = [{
    router logits = x routerᵀ ([T, E]); softmax in fp32; the `top_k` largest
    are kept and, when `norm_topk_prob`, renormalised to sum 1. Each chosen
    expert computes down(silu(gate(x)) * up(x)). The routed experts' weights
    are either `experts_gate`, `experts_up` ([E, I, H]) or the fused
    `experts_gate_up` ([E, 2I, H], gate rows first), and `experts_down`
    ([E, H, I]). With a shared expert (`shared_gate`, `shared_up`,
    `shared_down`), its output is added, scaled by
    sigmoid(x shared_expert_gateᵀ) when `shared_expert_gate` is given.

    ```mlir
    %y = fdgraph.moe %x {router = @"layers.0.mlp.gate", experts_gate = @...,
        experts_up = @..., experts_down = @..., num_experts = 256 : i64,
        top_k = 8 : i64, norm_topk_prob = true} : tensor<?x2048xf32>
    ```
  }];
  let arguments = (ins
    FDGraph_Activation:$input,
    FlatSymbolRefAttr:$router,
    OptionalAttr<FlatSymbolRefAttr>:$experts_gate,
    OptionalAttr<FlatSymbolRefAttr>:$experts_up,
    OptionalAttr<FlatSymbolRefAttr>:$experts_gate_up,
    FlatSymbolRefAttr:$experts_down,
    OptionalAttr<FlatSymbolRefAttr>:$shared_gate,
    OptionalAttr<FlatSymbolRefAttr>:$shared_up,
    OptionalAttr<FlatSymbolRefAttr>:$shared_down,
    OptionalAttr<FlatSymbolRefAttr>:$shared_expert_gate,
    I64Attr:$num_experts, I64Attr:$top_k, BoolAttr:$norm_topk_prob);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

def FDGraph_LMHeadOp : FDGraph_Op<"lm_head",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Projection of the final hidden state onto the vocabulary";
  let description = [{
    logits = x Wᵀ with W [vocab, hidden] (the embedding when tied). Only the
    last token's logits are needed in decode; the op is defined for all rows.

    ```mlir
    %logits = fdgraph.lm_head %h, @lm_head : tensor<?x2048xf32> -> tensor<?x248320xf32>
    ```
  }];
  let arguments = (ins FDGraph_Activation:$input, FlatSymbolRefAttr:$weight,
                       OptionalAttr<FDGraph_QuantAttr>:$quant);
  let results = (outs FDGraph_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`quant` `(` $quant^ `)`)? attr-dict `:` type($input)
    `->` type($result)
  }];
}

def FDGraph_SampleOp : FDGraph_Op<"sample", []> {
  let summary = "Choose the next token from the last row of logits";
  let description = [{
    Greedy (argmax) or stochastic sampling; temperature, top-k, top-p and the
    seed are runtime parameters, so the op has no attributes. Not `Pure`: it
    advances the sampler's random state.

    ```mlir
    %tok = fdgraph.sample %logits : tensor<?x248320xf32> -> tensor<i32>
    ```
  }];
  let arguments = (ins FDGraph_Activation:$logits);
  let results = (outs 0DTensorOf<[I32]>:$token);
  let assemblyFormat = "$logits attr-dict `:` type($logits) `->` type($token)";
}

#endif // FDGRAPH_OPS
