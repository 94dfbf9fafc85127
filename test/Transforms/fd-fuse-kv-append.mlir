// RUN: fd-opt %s -split-input-file --fd-fuse-kv-append | FileCheck %s

// The KV append and the attention reading its caches at the same position:
// one attention_decode with APPEND = 1 taking the key row, the value row
// and the key norm as its last inputs and both caches as its last outputs
// (still inputs too). A launch in between that touches neither the caches
// nor the append's inputs stays where it is.
module @fused {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "kv_append" <{MAX_D = 8, THREADS = 64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@k, @v, @kn, @io.position] outs [@kv.3.k, @kv.3.v] scalars {d = 8 : i32, eps = 9.99999997E-7 : f32, hkv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@q] outs [@copy] scalars {n = 16 : i32}
    fdkernel.launch "attention_decode" <{D = 8, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @fused
// CHECK-NOT: "kv_append"
// CHECK: fdkernel.launch "add_residual"
// CHECK-NEXT: fdkernel.launch "attention_decode"<{APPEND = 1 : i64, D = 8 : i64, GROUP = 2 : i64, SPLITS = 8 : i64, THREADS = 256 : i64}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v, @k, @v, @kn] outs [@partials, @done, @attn, @kv.3.k, @kv.3.v] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}

// -----

// Refused: a launch between the two writes the key row the append read.
module @input_written_between {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "kv_append" <{MAX_D = 8, THREADS = 64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@k, @v, @kn, @io.position] outs [@kv.3.k, @kv.3.v] scalars {d = 8 : i32, eps = 9.99999997E-7 : f32, hkv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@q] outs [@k] scalars {n = 16 : i32}
    fdkernel.launch "attention_decode" <{D = 8, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @input_written_between
// CHECK: fdkernel.launch "kv_append"
// CHECK: fdkernel.launch "attention_decode"<{D = 8

// -----

// Refused: the first launch after the append that touches the cache is
// not the attention.
module @cache_read_between {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "kv_append" <{MAX_D = 8, THREADS = 64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@k, @v, @kn, @io.position] outs [@kv.3.k, @kv.3.v] scalars {d = 8 : i32, eps = 9.99999997E-7 : f32, hkv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@kv.3.k] outs [@copy] scalars {n = 16 : i32}
    fdkernel.launch "attention_decode" <{D = 8, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @cache_read_between
// CHECK: fdkernel.launch "kv_append"
// CHECK: fdkernel.launch "attention_decode"<{D = 8

// -----

// Refused: the append normalises the key with another epsilon than the
// attention's (the fused kernel has one).
module @other_eps {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "kv_append" <{MAX_D = 8, THREADS = 64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@k, @v, @kn, @io.position] outs [@kv.3.k, @kv.3.v] scalars {d = 8 : i32, eps = 1.000000e-05 : f32, hkv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
    fdkernel.launch "attention_decode" <{D = 8, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @other_eps
// CHECK: fdkernel.launch "kv_append"
// CHECK: fdkernel.launch "attention_decode"<{D = 8

// -----

// Refused: the attention's head dim is not the append's row length.
module @other_dim {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "kv_append" <{MAX_D = 8, THREADS = 64}> target <sm_90> grid [1, 1, 1] block [64, 1, 1] ins [@k, @v, @kn, @io.position] outs [@kv.3.k, @kv.3.v] scalars {d = 8 : i32, eps = 9.99999997E-7 : f32, hkv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
    fdkernel.launch "attention_decode" <{D = 16, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @other_dim
// CHECK: fdkernel.launch "kv_append"
// CHECK: fdkernel.launch "attention_decode"<{D = 16

// -----

// Nothing to fuse: an attention without an append stays as it is.
module @no_append {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @q #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @k #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @v #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @attn #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @partials #fdkernel.buffer_kind<arena> size 1280 offset 0
  fdkernel.buffer @done #fdkernel.buffer_kind<state> size 8 offset 0
  fdkernel.buffer @kv.3.k #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @kv.3.v #fdkernel.buffer_kind<kv_cache> size 4096 offset 0
  fdkernel.buffer @qn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @q_norm layout "bf16"
  fdkernel.buffer @kn #fdkernel.buffer_kind<weight> size 16 offset 0 weight @k_norm layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "attention_decode" <{D = 8, GROUP = 2, SPLITS = 8, THREADS = 256}> target <sm_90> grid [2, 8, 1] block [256, 1, 1] ins [@q, @qn, @io.position, @kv.3.k, @kv.3.v] outs [@partials, @done, @attn] scalars {eps = 9.99999997E-7 : f32, hkv = 2 : i32, minChunk = 8 : i32, outputGate = 1 : i32, qPerKv = 2 : i32, rotary = 2 : i32, theta = 1.000000e+07 : f32, zeroCentered = 1 : i32}
  }
}
// CHECK-LABEL: module @no_append
// CHECK: fdkernel.launch "attention_decode"<{D = 8
