// RUN: fd-opt %s -split-input-file | fd-opt -split-input-file | FileCheck %s

// A tiny Qwen3.5-style layer: every op of the dialect, round-tripped.

module attributes {fdgraph.shards = ["model-00001-of-00001.safetensors"]} {
  fdgraph.weight @embed : tensor<64x32xbf16> storage {weight = #fdgraph.tensor<"model.embed_tokens.weight", tensor<64x32xbf16>, files = [0]>}
  fdgraph.weight @ln : tensor<32xbf16> storage {weight = #fdgraph.tensor<"model.layers.0.input_layernorm.weight", tensor<32xbf16>, files = [0]>}
  fdgraph.weight @qkv : tensor<96x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 16, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q.qweight", tensor<4x96xi32>, files = [0]>, qzeros = #fdgraph.tensor<"q.qzeros", tensor<2x12xi32>, files = [0]>, scales = #fdgraph.tensor<"q.scales", tensor<2x96xf16>, files = [0]>}
  fdgraph.weight @z : tensor<32x32xbf16> storage {weight = #fdgraph.tensor<"z.weight", tensor<32x32xbf16>, files = [0]>}
  fdgraph.weight @b : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"b.weight", tensor<4x32xbf16>, files = [0]>}
  fdgraph.weight @a : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"a.weight", tensor<4x32xbf16>, files = [0]>}
  fdgraph.weight @conv : tensor<96x1x4xbf16> storage {weight = #fdgraph.tensor<"conv.weight", tensor<96x1x4xbf16>, files = [0]>}
  fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"A_log", tensor<4xf32>, files = [0]>}
  fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt_bias", tensor<4xbf16>, files = [0]>}
  fdgraph.weight @gnorm : tensor<8xf32> storage {weight = #fdgraph.tensor<"norm.weight", tensor<8xf32>, files = [0]>}
  fdgraph.weight @router : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"mlp.gate.weight", tensor<4x32xbf16>, files = [0]>}
  fdgraph.weight @eg : tensor<4x16x32xf16> quant(#fdgraph.quant<scheme = gptq, bits = 4, group_size = 32, symmetric = false, zero_points = true>) storage {qweight = #fdgraph.tensor<"experts.{e}.gate_proj.qweight", tensor<4x16xi32>, files = [0, 0, 0, 0]>, qzeros = #fdgraph.tensor<"experts.{e}.gate_proj.qzeros", tensor<1x2xi32>, files = [0, 0, 0, 0]>, scales = #fdgraph.tensor<"experts.{e}.gate_proj.scales", tensor<1x16xf16>, files = [0, 0, 0, 0]>}
  fdgraph.weight @eu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"experts.{e}.up_proj.weight", tensor<16x32xbf16>, files = [0, 0, 0, 0]>}
  fdgraph.weight @ed : tensor<4x32x16xbf16> storage {weight = #fdgraph.tensor<"experts.{e}.down_proj.weight", tensor<32x16xbf16>, files = [0, 0, 0, 0]>}
  fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"shared.gate.weight", tensor<8x32xbf16>, files = [0]>}
  fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"shared.up.weight", tensor<8x32xbf16>, files = [0]>}
  fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"shared.down.weight", tensor<32x8xbf16>, files = [0]>}
  fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"shared_expert_gate.weight", tensor<1x32xbf16>, files = [0]>}
  fdgraph.weight @head : tensor<64x32xf16> quant(#fdgraph.quant<scheme = compressed_tensors, bits = 8, group_size = -1, symmetric = true, zero_points = false>) storage {weight_packed = #fdgraph.tensor<"lm_head.weight_packed", tensor<64x8xi32>, files = [0]>, weight_scale = #fdgraph.tensor<"lm_head.weight_scale", tensor<64x1xf16>, files = [0]>}

  // CHECK-LABEL: fdgraph.weight @embed
  // CHECK: fdgraph.weight @eg : tensor<4x16x32xf16> quant(<scheme = gptq, bits = 4, group_size = 32, symmetric = false, zero_points = true>) storage {qweight = #fdgraph.tensor<"experts.{e}.gate_proj.qweight", tensor<4x16xi32>, files = [0, 0, 0, 0]>
  // CHECK-LABEL: func.func @forward
  func.func @forward(%ids: tensor<?xi32>) -> tensor<i32> {
    // CHECK: fdgraph.embed %{{.*}}, @embed : tensor<?xi32> -> tensor<?x32xf32>
    %h = fdgraph.embed %ids, @embed : tensor<?xi32> -> tensor<?x32xf32>
    // CHECK: fdgraph.rms_norm %{{.*}}, @ln {eps = 9.9999999999999995E-7 : f64, zero_centered = true} : tensor<?x32xf32>
    %x = fdgraph.rms_norm %h, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x32xf32>
    // CHECK: fdgraph.linear %{{.*}}, @qkv quant(<scheme = autoround, bits = 4, group_size = 16, symmetric = true, zero_points = true>)
    %qkv = fdgraph.linear %x, @qkv quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 16, symmetric = true, zero_points = true>) : tensor<?x32xf32> -> tensor<?x96xf32>
    %z = fdgraph.linear %x, @z : tensor<?x32xf32> -> tensor<?x32xf32>
    %b = fdgraph.linear %x, @b : tensor<?x32xf32> -> tensor<?x4xf32>
    %a = fdgraph.linear %x, @a : tensor<?x32xf32> -> tensor<?x4xf32>
    // CHECK: fdgraph.gated_delta_net
    %o = fdgraph.gated_delta_net %qkv, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 8 : i64, head_v_dim = 8 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gnorm, num_k_heads = 4 : i64, num_v_heads = 4 : i64} : (tensor<?x96xf32>, tensor<?x32xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x32xf32>
    // CHECK: fdgraph.add
    %h1 = fdgraph.add %h, %o : tensor<?x32xf32>
    // CHECK: fdgraph.moe %{{.*}} {experts_down = @ed, experts_gate = @eg, experts_up = @eu, norm_topk_prob = true, num_experts = 4 : i64, router = @router, shared_down = @sd, shared_expert_gate = @seg, shared_gate = @sg, shared_up = @su, top_k = 2 : i64} : tensor<?x32xf32>
    %m = fdgraph.moe %h1 {router = @router, experts_gate = @eg, experts_up = @eu, experts_down = @ed, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
    // CHECK: fdgraph.lm_head %{{.*}}, @head quant(<scheme = compressed_tensors, bits = 8, group_size = -1, symmetric = true, zero_points = false>) : tensor<?x32xf32> -> tensor<?x64xf32>
    %logits = fdgraph.lm_head %m, @head quant(#fdgraph.quant<scheme = compressed_tensors, bits = 8, group_size = -1, symmetric = true, zero_points = false>) : tensor<?x32xf32> -> tensor<?x64xf32>
    // CHECK: fdgraph.sample %{{.*}} : tensor<?x64xf32> -> tensor<i32>
    %t = fdgraph.sample %logits : tensor<?x64xf32> -> tensor<i32>
    return %t : tensor<i32>
  }
}

// -----

// Full attention with the output gate, and fused transformers-5 experts.
module {
  fdgraph.weight @qn : tensor<16xbf16> storage {weight = #fdgraph.tensor<"q_norm.weight", tensor<16xbf16>, files = [0]>}
  fdgraph.weight @kn : tensor<16xbf16> storage {weight = #fdgraph.tensor<"k_norm.weight", tensor<16xbf16>, files = [0]>}
  fdgraph.weight @router : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"mlp.gate.weight", tensor<4x32xbf16>, files = [0]>}
  fdgraph.weight @gu : tensor<4x32x32xbf16> storage {weight = #fdgraph.tensor<"mlp.experts.gate_up_proj", tensor<4x32x32xbf16>, files = [0]>}
  fdgraph.weight @d : tensor<4x32x16xbf16> storage {weight = #fdgraph.tensor<"mlp.experts.down_proj", tensor<4x32x16xbf16>, files = [0]>}
  // CHECK-LABEL: func.func @attention
  func.func @attention(%q: tensor<1x128xf32>, %k: tensor<1x32xf32>, %v: tensor<1x32xf32>, %x: tensor<1x32xf32>) -> (tensor<1x64xf32>, tensor<1x32xf32>) {
    // CHECK: fdgraph.gated_attention
    // CHECK-SAME: output_gate = true
    %o = fdgraph.gated_attention %q, %k, %v {layer = 3 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, rotary_dim = 4 : i64, rope_theta = 1.0e7 : f64, output_gate = true, norm_eps = 1.0e-6 : f64, qk_norm_zero_centered = true, q_norm = @qn, k_norm = @kn} : (tensor<1x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>) -> tensor<1x64xf32>
    // CHECK: fdgraph.moe
    // CHECK-SAME: experts_gate_up = @gu
    %m = fdgraph.moe %x {router = @router, experts_gate_up = @gu, experts_down = @d, num_experts = 4 : i64, top_k = 4 : i64, norm_topk_prob = false} : tensor<1x32xf32>
    return %o, %m : tensor<1x64xf32>, tensor<1x32xf32>
  }
}
