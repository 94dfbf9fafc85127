// RUN: fd-opt %s -split-input-file | fd-opt -split-input-file | FileCheck %s

// CHECK-LABEL: fdkernel.buffer @x <arena> size 8192 offset 0
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 8192 offset 0
// CHECK: fdkernel.buffer @w <weight> size 4194304 offset 0 weight @layers.0.mlp.gate layout "bf16"
fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 4194304 offset 0 weight @"layers.0.mlp.gate" layout "bf16"
fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 8192 offset 8192
fdkernel.buffer @s #fdkernel.buffer_kind<state> size 65536 offset 0
// CHECK: fdkernel.step "decode" {
fdkernel.step "decode" {
  // CHECK: fdkernel.launch "w4a16_gemv"<{rows_per_wave = 2 : i64, split_k = false}> target <sm_90> grid [1024, 1, 1] block [64, 1, 1] ins [@x, @w, @__null] outs [@h] scalars {eps = 9.99999997E-7 : f32, n = 2048 : i32} epilogues [#fdkernel.epilogue<residual_add>]
  fdkernel.launch "w4a16_gemv" <{rows_per_wave = 2 : i64, split_k = false}> target <sm_90> grid [1024, 1, 1] block [64, 1, 1] ins [@x, @w, @__null] outs [@h] scalars {n = 2048 : i32, eps = 1.0e-6 : f32} epilogues [#fdkernel.epilogue<residual_add>]
  // A state buffer may be read and written by the same launch (in place).
  // CHECK: fdkernel.launch "gated_delta_net_decode"<{}> target <gfx1151> grid [32, 1, 1] block [128, 1, 1] ins [@h, @s] outs [@s]
  fdkernel.launch "gated_delta_net_decode" <{}> target <gfx1151> grid [32, 1, 1] block [128, 1, 1] ins [@h, @s] outs [@s]
}
