// RUN: fd-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the fdgraph dialect.

// CHECK-LABEL: quant_bits
// expected-error @+1 {{expects bits to be 2, 4 or 8, got 3}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 3, group_size = 32, symmetric = true, zero_points = true>) storage {}

// -----

// CHECK-LABEL: quant_group
// expected-error @+1 {{expects group_size to be positive or -1, got 0}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 0, symmetric = true, zero_points = true>) storage {}

// -----

// CHECK-LABEL: quant_asym_no_zeros
// expected-error @+1 {{expects zero points for asymmetric quantization}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = compressed_tensors, bits = 4, group_size = 32, symmetric = false, zero_points = false>) storage {}

// -----

// CHECK-LABEL: quant_gptq_no_zeros
// expected-error @+1 {{expects zero points with the GPTQ packing}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = gptq, bits = 4, group_size = 32, symmetric = true, zero_points = false>) storage {}

// -----

// CHECK-LABEL: tensor_name
// expected-error @+1 {{expects a non-empty tensor name}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"", tensor<4xbf16>, files = [0]>}

// -----

// CHECK-LABEL: tensor_dynamic
// expected-error @+1 {{expects a static shape for 'w'}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"w", tensor<?xbf16>, files = [0]>}

// -----

// CHECK-LABEL: tensor_files
// expected-error @+1 {{expects one shard index for 'w' (only per-expert names hold several)}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"w", tensor<4xbf16>, files = [0, 1]>}

// -----

// CHECK-LABEL: tensor_negative_file
// expected-error @+1 {{expects non-negative shard indices for 'w'}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"w", tensor<4xbf16>, files = [-1]>}

// -----

// CHECK-LABEL: weight_dynamic
// expected-error @+1 {{expects a static weight type}}
fdgraph.weight @w : tensor<?xbf16> storage {weight = #fdgraph.tensor<"w", tensor<4xbf16>, files = [0]>}

// -----

// CHECK-LABEL: weight_empty
// expected-error @+1 {{expects at least one storage entry}}
fdgraph.weight @w : tensor<4xbf16> storage {}

// -----

// CHECK-LABEL: weight_entry_kind
// expected-error @+1 {{expects storage entry 'weight' to be a #fdgraph.tensor}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = 3 : i32}

// -----

// CHECK-LABEL: weight_expert_counts
// expected-error @+1 {{expects every per-expert tensor to list the same number of experts}}
fdgraph.weight @w : tensor<2x8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"e.{e}.q", tensor<4x8xi32>, files = [0, 0]>, scales = #fdgraph.tensor<"e.{e}.s", tensor<1x8xf16>, files = [0, 0, 0]>, qzeros = #fdgraph.tensor<"e.{e}.z", tensor<1x1xi32>, files = [0, 0]>}

// -----

// CHECK-LABEL: weight_expert_type
// expected-error @+1 {{expects a per-expert weight to have type [2, N, K], got [3, 8, 32]}}
fdgraph.weight @w : tensor<3x8x32xbf16> storage {weight = #fdgraph.tensor<"e.{e}.w", tensor<8x32xbf16>, files = [0, 0]>}

// -----

// CHECK-LABEL: weight_plain_keys
// expected-error @+1 {{expects an unquantized weight to store exactly 'weight'}}
fdgraph.weight @w : tensor<4xbf16> storage {qweight = #fdgraph.tensor<"w", tensor<4xbf16>, files = [0]>}

// -----

// CHECK-LABEL: weight_plain_elem
// expected-error @+1 {{expects stored 'weight' of element type 'bf16', got 'f16'}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"w", tensor<4xf16>, files = [0]>}

// -----

// CHECK-LABEL: weight_plain_shape
// expected-error @+1 {{expects stored 'weight' of shape [4], got [5]}}
fdgraph.weight @w : tensor<4xbf16> storage {weight = #fdgraph.tensor<"w", tensor<5xbf16>, files = [0]>}

// -----

// CHECK-LABEL: weight_quant_rank
// expected-error @+1 {{expects a quantized weight of type [N, K] or [E, N, K]}}
fdgraph.weight @w : tensor<32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_group_div
// expected-error @+1 {{expects K (48) divisible by group size (32)}}
fdgraph.weight @w : tensor<8x48xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<6x8xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_pack_div
// expected-error @+1 {{expects K (20) divisible by the 8 values packed per int32}}
fdgraph.weight @w : tensor<8x20xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = -1, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<2x8xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_zero_div
// expected-error @+1 {{expects N (12) divisible by the 8 zero points packed per int32}}
fdgraph.weight @w : tensor<12x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x12xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x12xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_missing_entry
// expected-error @+1 {{expects storage entry 'scales'}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_entry_elem
// expected-error @+1 {{expects 'qweight' to be i32, got 'f16'}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xf16>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_scale_elem
// expected-error @+1 {{expects 'scales' to be a float, got 'i32'}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xi32>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_entry_shape
// expected-error @+1 {{expects stored 'scales' of shape [1, 8], got [2, 8]}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<2x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_extra_entry
// expected-error @+1 {{expects no storage entry 'g' for scheme autoround}}
fdgraph.weight @w : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>, g = #fdgraph.tensor<"g", tensor<32xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_ct_zero
// expected-error @+1 {{expects no 'weight_zero_point' without zero points}}
fdgraph.weight @w : tensor<8x32xbf16> quant(#fdgraph.quant<scheme = compressed_tensors, bits = 4, group_size = 32, symmetric = true, zero_points = false>) storage {weight_packed = #fdgraph.tensor<"p", tensor<8x4xi32>, files = [0]>, weight_scale = #fdgraph.tensor<"s", tensor<8x1xbf16>, files = [0]>, weight_zero_point = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: weight_scale_type
// expected-error @+1 {{expects the weight's element type to be the scales' type 'f16', got 'bf16'}}
fdgraph.weight @w : tensor<8x32xbf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}

// -----

// CHECK-LABEL: embed_symbol

func.func @f(%i: tensor<?xi32>) {
  // expected-error @+1 {{expects weight @nope to name an fdgraph.weight}}
  %0 = fdgraph.embed %i, @nope : tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: embed_quant
fdgraph.weight @e : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}
func.func @f(%i: tensor<?xi32>) {
  // expected-error @+1 {{expects an unquantized [vocab, hidden] weight}}
  %0 = fdgraph.embed %i, @e : tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: embed_width
fdgraph.weight @e : tensor<16x32xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x32xbf16>, files = [0]>}
func.func @f(%i: tensor<?xi32>) {
  // expected-error @+1 {{expects result features to equal the embedding width 32, got 16}}
  %0 = fdgraph.embed %i, @e : tensor<?xi32> -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: embed_rows
fdgraph.weight @e : tensor<16x32xbf16> storage {weight = #fdgraph.tensor<"e", tensor<16x32xbf16>, files = [0]>}
func.func @f(%i: tensor<3xi32>) {
  // expected-error @+1 {{expects one result row per token id}}
  %0 = fdgraph.embed %i, @e : tensor<3xi32> -> tensor<2x32xf32>
  return
}

// -----

// CHECK-LABEL: norm_eps
fdgraph.weight @n : tensor<32xbf16> storage {weight = #fdgraph.tensor<"n", tensor<32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a positive eps}}
  %0 = fdgraph.rms_norm %x, @n {eps = 0.0 : f64, zero_centered = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: norm_shape
fdgraph.weight @n : tensor<16xbf16> storage {weight = #fdgraph.tensor<"n", tensor<16xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects norm weight of shape [32], got [16]}}
  %0 = fdgraph.rms_norm %x, @n {eps = 1.0e-6 : f64, zero_centered = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: linear_rank
fdgraph.weight @l : tensor<2x8x32xbf16> storage {weight = #fdgraph.tensor<"l", tensor<2x8x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a 2-D [N, K] weight, got [2, 8, 32]}}
  %0 = fdgraph.linear %x, @l : tensor<?x32xf32> -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: linear_k
fdgraph.weight @l : tensor<8x16xbf16> storage {weight = #fdgraph.tensor<"l", tensor<8x16xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects input to have 16 features, got 32}}
  %0 = fdgraph.linear %x, @l : tensor<?x32xf32> -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: linear_n
fdgraph.weight @l : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"l", tensor<8x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects result to have 8 features, got 9}}
  %0 = fdgraph.linear %x, @l : tensor<?x32xf32> -> tensor<?x9xf32>
  return
}

// -----

// CHECK-LABEL: linear_rows
fdgraph.weight @l : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"l", tensor<8x32xbf16>, files = [0]>}
func.func @f(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{expects all operands and results to have the same number of tokens}}
  %0 = fdgraph.linear %x, @l : tensor<2x32xf32> -> tensor<3x8xf32>
  return
}

// -----

// CHECK-LABEL: linear_quant
fdgraph.weight @l : tensor<8x32xf16> quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) storage {qweight = #fdgraph.tensor<"q", tensor<4x8xi32>, files = [0]>, scales = #fdgraph.tensor<"s", tensor<1x8xf16>, files = [0]>, qzeros = #fdgraph.tensor<"z", tensor<1x1xi32>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects quant to match the weight's quantization}}
  %0 = fdgraph.linear %x, @l : tensor<?x32xf32> -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: head_rank
fdgraph.weight @h : tensor<32xbf16> storage {weight = #fdgraph.tensor<"h", tensor<32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a 2-D [N, K] weight, got [32]}}
  %0 = fdgraph.lm_head %x, @h : tensor<?x32xf32> -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: head_vocab
fdgraph.weight @h : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"h", tensor<8x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects result to have 8 features, got 7}}
  %0 = fdgraph.lm_head %x, @h : tensor<?x32xf32> -> tensor<?x7xf32>
  return
}

// -----

// CHECK-LABEL: head_quant
fdgraph.weight @h : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"h", tensor<8x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects quant to match the weight's quantization}}
  %0 = fdgraph.lm_head %x, @h quant(#fdgraph.quant<scheme = autoround, bits = 4, group_size = 32, symmetric = true, zero_points = true>) : tensor<?x32xf32> -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: gdn_positive
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects positive head counts, head dims and conv kernel size}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 0 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_layer
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects a non-negative layer index}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = -1 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_heads
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects num_v_heads (4) to be a multiple of num_k_heads (3)}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 3 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_eps
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects a positive norm_eps}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = -1.0 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_qkv
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects qkv to have 48 features, got 32}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 8 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_z
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x4xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects z to have 16 features, got 4}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_result
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects result to have 16 features, got 8}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

// CHECK-LABEL: gdn_conv
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects conv_weight weight of shape [32, 1, 3], got [32, 1, 4]}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 3 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_alog
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt2 : tensor<8xbf16> storage {weight = #fdgraph.tensor<"dt2", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects a_log weight of shape [4], got [8]}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @dt2, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @gn, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: gdn_norm
fdgraph.weight @conv : tensor<32x1x4xbf16> storage {weight = #fdgraph.tensor<"conv", tensor<32x1x4xbf16>, files = [0]>}
fdgraph.weight @alog : tensor<4xf32> storage {weight = #fdgraph.tensor<"alog", tensor<4xf32>, files = [0]>}
fdgraph.weight @dt : tensor<4xbf16> storage {weight = #fdgraph.tensor<"dt", tensor<4xbf16>, files = [0]>}
fdgraph.weight @gn : tensor<4xf32> storage {weight = #fdgraph.tensor<"gn", tensor<4xf32>, files = [0]>}
fdgraph.weight @alog2 : tensor<2xbf16> storage {weight = #fdgraph.tensor<"alog2", tensor<2xbf16>, files = [0]>}
func.func @f(%q: tensor<?x32xf32>, %z: tensor<?x16xf32>, %b: tensor<?x4xf32>, %a: tensor<?x4xf32>) {
  // expected-error @+1 {{expects norm_weight weight of shape [4], got [2]}}
  %0 = fdgraph.gated_delta_net %q, %z, %b, %a {a_log = @alog, conv_kernel_size = 4 : i64, conv_weight = @conv, dt_bias = @dt, head_k_dim = 4 : i64, head_v_dim = 4 : i64, layer = 0 : i64, norm_eps = 1.0e-6 : f64, norm_weight = @alog2, num_k_heads = 2 : i64, num_v_heads = 4 : i64} : (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x16xf32>
  return
}

// -----

// CHECK-LABEL: attn_positive
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects positive head counts and head dim}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 0 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_layer
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects a non-negative layer index}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = -2 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_gqa
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects num_heads (4) to be a multiple of num_kv_heads (3)}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 3 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_rotary
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects an even rotary_dim in (0, head_dim], got 3}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 3 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_theta
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects a positive rope_theta}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 0.0 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_eps
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects a positive norm_eps}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 0.0 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_q_gate
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects q to have 32 features, got 64}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = false, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_kv
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects k to have 8 features, got 16}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 1 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: attn_result
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects result to have 32 features, got 64}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @qn, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x64xf32>
  return
}

// -----

// CHECK-LABEL: attn_norm
fdgraph.weight @qn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"qn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @kn : tensor<8xbf16> storage {weight = #fdgraph.tensor<"kn", tensor<8xbf16>, files = [0]>}
fdgraph.weight @big : tensor<16xbf16> storage {weight = #fdgraph.tensor<"big", tensor<16xbf16>, files = [0]>}
func.func @f(%q: tensor<?x64xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) {
  // expected-error @+1 {{expects q_norm weight of shape [8], got [16]}}
  %0 = fdgraph.gated_attention %q, %k, %v {head_dim = 8 : i64, k_norm = @kn, layer = 3 : i64, norm_eps = 1.0e-6 : f64, num_heads = 4 : i64, num_kv_heads = 2 : i64, output_gate = true, q_norm = @big, qk_norm_zero_centered = true, rope_theta = 1.0e7 : f64, rotary_dim = 2 : i64} : (tensor<?x64xf32>, tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_experts
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a positive num_experts}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 0 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_topk
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects top_k in [1, num_experts], got 5}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 5 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_both
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects either experts_gate and experts_up or experts_gate_up}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true, experts_gate_up = @gu} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_half
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects either experts_gate and experts_up or experts_gate_up}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_shared
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects shared_gate, shared_up and shared_down together}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_seg
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects a shared expert with shared_expert_gate}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_router
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects router weight of shape [4, 32], got [2, 32]}}
  %0 = fdgraph.moe %x {router = @bad, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_down_rank
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects experts_down weight of shape [4, 32, I], got [32, 8]}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @sd, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_down
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects experts_down weight of shape [4, 32, 32], got [4, 8, 32]}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @g, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_gate
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects experts_gate weight of shape [4, 8, 32], got [4, 32, 8]}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @d, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_gate_up
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects experts_gate_up weight of shape [4, 16, 32], got [4, 8, 32]}}
  %0 = fdgraph.moe %x {router = @r, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true, experts_gate_up = @g} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_shared_shape
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects shared_up weight of shape [8, 32], got [2, 32]}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @bad, shared_down = @sd, shared_expert_gate = @seg, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: moe_seg_shape
fdgraph.weight @r : tensor<4x32xbf16> storage {weight = #fdgraph.tensor<"r", tensor<4x32xbf16>, files = [0]>}
fdgraph.weight @g : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"g", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @u : tensor<4x8x32xbf16> storage {weight = #fdgraph.tensor<"u", tensor<4x8x32xbf16>, files = [0]>}
fdgraph.weight @d : tensor<4x32x8xbf16> storage {weight = #fdgraph.tensor<"d", tensor<4x32x8xbf16>, files = [0]>}
fdgraph.weight @gu : tensor<4x16x32xbf16> storage {weight = #fdgraph.tensor<"gu", tensor<4x16x32xbf16>, files = [0]>}
fdgraph.weight @sg : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"sg", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @su : tensor<8x32xbf16> storage {weight = #fdgraph.tensor<"su", tensor<8x32xbf16>, files = [0]>}
fdgraph.weight @sd : tensor<32x8xbf16> storage {weight = #fdgraph.tensor<"sd", tensor<32x8xbf16>, files = [0]>}
fdgraph.weight @seg : tensor<1x32xbf16> storage {weight = #fdgraph.tensor<"seg", tensor<1x32xbf16>, files = [0]>}
fdgraph.weight @bad : tensor<2x32xbf16> storage {weight = #fdgraph.tensor<"bad", tensor<2x32xbf16>, files = [0]>}
func.func @f(%x: tensor<?x32xf32>) {
  // expected-error @+1 {{expects shared_expert_gate weight of shape [1, 32], got [2, 32]}}
  %0 = fdgraph.moe %x {router = @r, experts_gate = @g, experts_up = @u, experts_down = @d, shared_gate = @sg, shared_up = @su, shared_down = @sd, shared_expert_gate = @bad, num_experts = 4 : i64, top_k = 2 : i64, norm_topk_prob = true} : tensor<?x32xf32>
  return
}
