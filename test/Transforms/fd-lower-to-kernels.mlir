// RUN: fd-opt %s -split-input-file -verify-diagnostics --fd-lower-to-kernels="target=sm_90 max-context=64" | FileCheck %s
// RUN: fd-opt %s -split-input-file -verify-diagnostics --fd-lower-to-kernels="target=sm_90 max-context=64 gdn-max-split=4" | FileCheck --check-prefix=SPLIT %s
// RUN: not fd-opt %s -split-input-file --fd-lower-to-kernels="gdn-max-split=3" 2>&1 | FileCheck --check-prefix=BADSPLIT %s
// BADSPLIT: gdn-max-split must be 1, 2 or 4, got 3
// RUN: fd-opt %s -split-input-file -verify-diagnostics --fd-lower-to-kernels="target=sm_90 max-context=64 attention-min-chunk=32" | FileCheck --check-prefix=CHUNK %s
// RUN: not fd-opt %s -split-input-file --fd-lower-to-kernels="max-context=64 attention-min-chunk=0" 2>&1 | FileCheck --check-prefix=BADCHUNK %s
// RUN: not fd-opt %s -split-input-file --fd-lower-to-kernels="max-context=64 attention-min-chunk=65" 2>&1 | FileCheck --check-prefix=BADCHUNK65 %s
// BADCHUNK: attention-min-chunk must be in [1, max-context], got 0
// BADCHUNK65: attention-min-chunk must be in [1, max-context], got 65

// A norm, a 4-bit linear and the residual add: one launch each, the add in
// place on the residual stream.
module {
  fdgraph.weight @emb : tensor<16x64xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x64xbf16>, files = [0]>}
  fdgraph.weight @ln : tensor<64xbf16> storage {weight = #fdgraph.tensor<"n", tensor<64xbf16>, files = [0]>}
  fdgraph.weight @w : tensor<64x64xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<8x64xi32>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<2x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<2x64xf16>, files = [0]>}
  fdgraph.weight @head : tensor<16x64xbf16> storage {weight = #fdgraph.tensor<"h", tensor<16x64xbf16>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<i32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x64xf32>
    %x = fdgraph.rms_norm %h, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x64xf32>
    %y = fdgraph.linear %x, @w quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) : tensor<?x64xf32> -> tensor<?x64xf32>
    %h1 = fdgraph.add %h, %y : tensor<?x64xf32>
    %x2 = fdgraph.rms_norm %h1, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x64xf32>
    %l = fdgraph.lm_head %x2, @head : tensor<?x64xf32> -> tensor<?x16xf32>
    %t = fdgraph.sample %l : tensor<?x16xf32> -> tensor<i32>
    return %t : tensor<i32>
  }
}
// CHECK-LABEL: fdkernel.buffer @io.token <io> size 4 offset 0
// CHECK-DAG: fdkernel.buffer @w.emb <weight> size 2048 offset 0 weight @emb layout "bf16"
// CHECK-DAG: fdkernel.buffer @w.w.qweight <weight> size 2048 offset 0 weight @w layout "w4.qweight"
// CHECK-DAG: fdkernel.buffer @w.w.scales <weight> size 256 offset 0 weight @w layout "w4.scales"
// CHECK-DAG: fdkernel.buffer @a0.h <arena> size 256
// CHECK: fdkernel.step "decode" {
// CHECK-NEXT: fdkernel.launch "embed"<{OUT_F32 = true, THREADS = 256 : i64}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@w.emb, @io.token] outs [@a0.h] scalars {h = 64 : i32}
// CHECK-NEXT: fdkernel.launch "rms_norm"<{IN_F32 = true, OUT_F32 = false, THREADS = 256 : i64, ZERO_CENTERED = true}> {{.*}} ins [@a0.h, @w.ln] outs [@[[X:[a-z0-9.]+]]] scalars {d = 64 : i32, eps = 9.99999997E-7 : f32}
// Symmetric 4-bit: no zero points after the repack (@__null).
// CHECK-NEXT: fdkernel.launch "gemv_w4a16"<{ACCUM = false, GROUP = 32 : i64, LANES = 32 : i64, M = 1 : i64, OUT_BF16 = false, ROWS = 2 : i64, WAVES = 4 : i64, ZEROS = false}> target <sm_90> grid [8, 1, 1] block [128, 1, 1] ins [@w.w.qweight, @w.w.scales, @__null, @[[X]]] outs [@[[Y:[a-z0-9.]+]]] scalars {k = 64 : i32, n = 64 : i32}
// CHECK-NEXT: fdkernel.launch "add_residual"<{THREADS = 256 : i64}> {{.*}} ins [@[[Y]]] outs [@a0.h] scalars {n = 64 : i32}
// CHECK-NEXT: fdkernel.launch "rms_norm"{{.*}} ins [@a0.h, @w.ln]
// CHECK-NEXT: fdkernel.launch "gemv_bf16"{{.*}} ins [@w.head, @{{.*}}] outs [@[[L:[a-z0-9.]+]]] scalars {k = 64 : i32, n = 16 : i32}
// CHECK-NEXT: fdkernel.launch "sample_token"<{THREADS = 1024 : i64}> {{.*}} ins [@[[L]], @io.step] outs [@io.next_token]
// CHECK-NEXT: {{^ *[}]$}}

// -----

module {
  fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = gptq, bits = 8, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<8x8xi32>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x2xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>}
  fdgraph.weight @ln : tensor<32xbf16> storage {weight = #fdgraph.tensor<"n", tensor<32xbf16>, files = [0]>}
  func.func @forward(%h: tensor<?x32xf32>) -> tensor<?x8xf32> {
    %x = fdgraph.rms_norm %h, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x32xf32>
    // expected-error @+1 {{lowering supports 4-bit weights, @w has 8 bits}}
    %y = fdgraph.linear %x, @w quant(#fdgraph.quant<scheme = gptq, bits = 8, group_size = 32, symmetric = true, zero_points = true>) : tensor<?x32xf32> -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
}

// -----

module {
  fdgraph.weight @ln : tensor<32xbf16> storage {weight = #fdgraph.tensor<"n", tensor<32xbf16>, files = [0]>}
  fdgraph.weight @router : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
  fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
  fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
  func.func @forward(%h: tensor<?x32xf32>) -> tensor<?x32xf32> {
    %x = fdgraph.rms_norm %h, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x32xf32>
    // expected-error @+1 {{lowering supports 4-bit per-expert weights only}}
    %m = fdgraph.moe %x {router = @router, experts_gate_up = @gu, experts_down = @d, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
    return %m : tensor<?x32xf32>
  }
}

// -----

// rms_norm sums squares in chunks of 8 values.
module {
  fdgraph.weight @emb : tensor<16x12xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x12xbf16>, files = [0]>}
  fdgraph.weight @ln : tensor<12xbf16> storage {weight = #fdgraph.tensor<"n", tensor<12xbf16>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x12xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x12xf32>
    // expected-error @+1 {{lowering expects a normalised row of a multiple of 8 and at most 16384 values, got 12}}
    %x = fdgraph.rms_norm %h, @ln {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x12xf32>
    return %x : tensor<?x12xf32>
  }
}

// -----

// expected-error @+1 {{expects a func.func @forward to lower}}
module {
}

// -----

// Gated attention: kv_append one wave per KV head, then attention_decode
// over a (head group, split) grid: both query heads of a KV head in one
// group (2 x 1 value per lane), max-context 64 gives 8 splits of at least
// 8 positions. The partials are scratch, the finished-block counts state.
module {
  fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
  fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
  fdgraph.weight @emb : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wq : tensor<64x16xbf16> storage {weight = #fdgraph.tensor<"wq", tensor<64x16xbf16>, files = [0]>}
  fdgraph.weight @wk : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"wk", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wv : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"wv", tensor<16x16xbf16>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x32xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %q = fdgraph.linear %h, @wq : tensor<?x16xf32> -> tensor<?x64xf32>
    %k = fdgraph.linear %h, @wk : tensor<?x16xf32> -> tensor<?x16xf32>
    %v = fdgraph.linear %h, @wv : tensor<?x16xf32> -> tensor<?x16xf32>
    %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
    return %0 : tensor<?x32xf32>
  }
}
// CHECK-LABEL: fdkernel.buffer @kv.3.k <kv_cache> size 4096
// CHECK-DAG: fdkernel.buffer @a.attn.partials.4x8x8 <arena> size 1280
// CHECK-DAG: fdkernel.buffer @s.attn.done.2 <state> size 8
// CHECK: fdkernel.launch "kv_append"<{MAX_D = 8 : i64, THREADS = 64 : i64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@[[K:[a-z0-9.]+]], @[[V:[a-z0-9.]+]], @w.kn, @io.position] outs [@kv.3.k, @kv.3.v]
// CHECK-NEXT: fdkernel.launch "attention_decode"<{D = 8 : i64, GROUP = 2 : i64, SPLITS = 8 : i64, THREADS = 256 : i64}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@[[Q:[a-z0-9.]+]], @w.qn, @io.position, @kv.3.k, @kv.3.v] outs [@a.attn.partials.4x8x8, @s.attn.done.2, @{{[a-z0-9.]+}}] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
// CHUNK-LABEL: fdkernel.buffer @kv.3.k <kv_cache> size 4096
// CHUNK: fdkernel.launch "attention_decode"{{.*}} minChunk = 32 : i32

// -----

// A head of dim 1056: 33 values per lane of one query head would spill.
module {
  fdgraph.weight @qn : tensor<1056xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<1056xbf16>, files = [0]>}
  fdgraph.weight @kn : tensor<1056xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<1056xbf16>, files = [0]>}
  fdgraph.weight @emb : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wq : tensor<2112x16xbf16> storage {weight = #fdgraph.tensor<"wq", tensor<2112x16xbf16>, files = [0]>}
  fdgraph.weight @wk : tensor<1056x16xbf16> storage {weight = #fdgraph.tensor<"wk", tensor<1056x16xbf16>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x1056xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %q = fdgraph.linear %h, @wq : tensor<?x16xf32> -> tensor<?x2112xf32>
    %k = fdgraph.linear %h, @wk : tensor<?x16xf32> -> tensor<?x1056xf32>
    %v = fdgraph.linear %h, @wk : tensor<?x16xf32> -> tensor<?x1056xf32>
    // expected-error @+1 {{lowering supports head_dim <= 1024 in attention_decode, got 1056}}
    %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 1056 : i64, k_norm = @kn, layer = 0 : i64, norm_eps = 1.0e-6 : f64, num_heads = 1 : i64, num_kv_heads = 1 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 64 : i64} : (tensor<?x2112xf32>, tensor<?x1056xf32>, tensor<?x1056xf32>) -> tensor<?x1056xf32>
    return %0 : tensor<?x1056xf32>
  }
}

// -----

// A value head of 520: more columns than gdn_decode's 512 threads.
module {
  fdgraph.weight @emb : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wqkv : tensor<536x16xbf16> storage {weight = #fdgraph.tensor<"wqkv", tensor<536x16xbf16>, files = [0]>}
  fdgraph.weight @wz : tensor<520x16xbf16> storage {weight = #fdgraph.tensor<"wz", tensor<520x16xbf16>, files = [0]>}
  fdgraph.weight @wab : tensor<1x16xbf16> storage {weight = #fdgraph.tensor<"wab", tensor<1x16xbf16>, files = [0]>}
  fdgraph.weight @conv : tensor<536x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<536x1x4xbf16>, files = [0]>}
  fdgraph.weight @alog : tensor<1xf32> storage {weight = #fdgraph.tensor<"alog", tensor<1xf32>, files = [0]>}
  fdgraph.weight @dt : tensor<1xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<1xbf16>, files = [0]>}
  fdgraph.weight @gnorm : tensor<520xf32> storage {weight = #fdgraph.tensor<"gnorm", tensor<520xf32>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x520xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %qkv = fdgraph.linear %h, @wqkv : tensor<?x16xf32> -> tensor<?x536xf32>
    %z = fdgraph.linear %h, @wz : tensor<?x16xf32> -> tensor<?x520xf32>
    %b = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x1xf32>
    %a = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{lowering supports head_v_dim <= 512 in gdn_decode, got 520}}
    %o = fdgraph.gated_delta_net %qkv, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 8 : i64, head_v_dim = 520 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gnorm, num_k_heads = 1 : i64, num_v_heads = 1 : i64} : (tensor<?x536xf32>, tensor<?x520xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x520xf32>
    return %o : tensor<?x520xf32>
  }
}

// -----

// A key head of 260 over 4 row groups: 65 state rows per thread would spill.
module {
  fdgraph.weight @emb : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wqkv : tensor<552x16xbf16> storage {weight = #fdgraph.tensor<"wqkv", tensor<552x16xbf16>, files = [0]>}
  fdgraph.weight @wz : tensor<32x16xbf16> storage {weight = #fdgraph.tensor<"wz", tensor<32x16xbf16>, files = [0]>}
  fdgraph.weight @wab : tensor<1x16xbf16> storage {weight = #fdgraph.tensor<"wab", tensor<1x16xbf16>, files = [0]>}
  fdgraph.weight @conv : tensor<552x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<552x1x4xbf16>, files = [0]>}
  fdgraph.weight @alog : tensor<1xf32> storage {weight = #fdgraph.tensor<"alog", tensor<1xf32>, files = [0]>}
  fdgraph.weight @dt : tensor<1xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<1xbf16>, files = [0]>}
  fdgraph.weight @gnorm : tensor<32xf32> storage {weight = #fdgraph.tensor<"gnorm", tensor<32xf32>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x32xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %qkv = fdgraph.linear %h, @wqkv : tensor<?x16xf32> -> tensor<?x552xf32>
    %z = fdgraph.linear %h, @wz : tensor<?x16xf32> -> tensor<?x32xf32>
    %b = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x1xf32>
    %a = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x1xf32>
    // expected-error @+1 {{lowering supports ceil(head_k_dim / 4) <= 64 state rows per thread in gdn_decode, got head_k_dim 260}}
    %o = fdgraph.gated_delta_net %qkv, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 260 : i64, head_v_dim = 32 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gnorm, num_k_heads = 1 : i64, num_v_heads = 1 : i64} : (tensor<?x552xf32>, tensor<?x32xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x32xf32>
    return %o : tensor<?x32xf32>
  }
}

// -----

// Value heads of 128 columns: by default a block per head (the split
// measured slower on the H200 with overlapped launches,
// docs/performance.md); with gdn-max-split=4 each head over 4 blocks of 32
// columns (8 row groups), the last block of a head normalising it from the
// partials.
// CHECK-LABEL: module @gdn_split
// CHECK: fdkernel.launch "gdn_decode"<{MAX_DK = 16 : i64, RG = 4 : i64, SPLIT = 1 : i64, THREADS = 512 : i64}> target <sm_90> grid [2, 1, 1] block [512, 1, 1]
// CHECK-SAME: outs [@s.0.recurrent, @{{[a-z0-9.]+}}, @__null, @__null]
// SPLIT-LABEL: module @gdn_split
// SPLIT: fdkernel.buffer @a.gdn.partials.2x128x4 <arena> size 1056
// SPLIT: fdkernel.buffer @s.gdn.done.2 <state> size 8
// SPLIT: fdkernel.launch "gdn_decode"<{MAX_DK = 16 : i64, RG = 8 : i64, SPLIT = 4 : i64, THREADS = 256 : i64}> target <sm_90> grid [8, 1, 1] block [256, 1, 1]
// SPLIT-SAME: outs [@s.0.recurrent, @{{[a-z0-9.]+}}, @a.gdn.partials.2x128x4, @s.gdn.done.2]
module @gdn_split {
  fdgraph.weight @emb : tensor<16x16xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x16xbf16>, files = [0]>}
  fdgraph.weight @wqkv : tensor<288x16xbf16> storage {weight = #fdgraph.tensor<"wqkv", tensor<288x16xbf16>, files = [0]>}
  fdgraph.weight @wz : tensor<256x16xbf16> storage {weight = #fdgraph.tensor<"wz", tensor<256x16xbf16>, files = [0]>}
  fdgraph.weight @wab : tensor<2x16xbf16> storage {weight = #fdgraph.tensor<"wab", tensor<2x16xbf16>, files = [0]>}
  fdgraph.weight @conv : tensor<288x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<288x1x4xbf16>, files = [0]>}
  fdgraph.weight @alog : tensor<2xf32> storage {weight = #fdgraph.tensor<"alog", tensor<2xf32>, files = [0]>}
  fdgraph.weight @dt : tensor<2xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<2xbf16>, files = [0]>}
  fdgraph.weight @gnorm : tensor<128xf32> storage {weight = #fdgraph.tensor<"gnorm", tensor<128xf32>, files = [0]>}
  func.func @forward(%ids: tensor<?xi32>) -> tensor<?x256xf32> {
    %h = fdgraph.embed %ids, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %qkv = fdgraph.linear %h, @wqkv : tensor<?x16xf32> -> tensor<?x288xf32>
    %z = fdgraph.linear %h, @wz : tensor<?x16xf32> -> tensor<?x256xf32>
    %b = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x2xf32>
    %a = fdgraph.linear %h, @wab : tensor<?x16xf32> -> tensor<?x2xf32>
    %o = fdgraph.gated_delta_net %qkv, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 16 : i64, head_v_dim = 128 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gnorm, num_k_heads = 1 : i64, num_v_heads = 2 : i64} : (tensor<?x288xf32>, tensor<?x256xf32>, tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x256xf32>
    return %o : tensor<?x256xf32>
  }
}
