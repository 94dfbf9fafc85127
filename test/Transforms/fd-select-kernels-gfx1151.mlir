// RUN: fd-opt %s -split-input-file --fd-select-kernels="target=gfx1151" | FileCheck %s

// Qwen3.5-35B-A3B's routed-expert down projection (K=512, N=2048, 8 slots,
// int4 g128) on Strix Halo. The seed's finding: the instance must not be
// one whose registers cap occupancy at 50 % when a variant reaches 75 % or
// more — the candidates include ROWS=4 at ~190 VGPRs (44 %), and the choice
// keeps >= 75 %. Launch dimensions follow the choice.
module @expert_down {
  fdkernel.buffer @w.q #fdkernel.buffer_kind<weight> size 4194304 offset 0 weight @d layout "w4.qweight"
  fdkernel.buffer @w.s #fdkernel.buffer_kind<weight> size 131072 offset 0 weight @d layout "w4.scales"
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 8192 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 65536 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 128, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <sm_90> grid [256, 8, 1] block [128, 1, 1] ins [@w.q, @w.s, @__null, @ids, @x] outs [@y] scalars {k = 512 : i32, n = 2048 : i32, xSlotStride = 512 : i32}
  }
}
// CHECK-LABEL: module @expert_down
// CHECK: fdkernel.launch "gemv_w4a16_experts"<{GROUP = 128 : i64, LANES = [[L:32|16|8]] : i64, OUT_BF16 = false, ROWS = [[R:[124]]] : i64, WAVES = [[W:[248]]] : i64, ZEROS = false}> target <gfx1151> grid [{{[0-9]+}}, 8, 1]
// CHECK-SAME: fdkernel.cost = {bound = "bandwidth", candidates = 27 : i64, occupancy = {{(1.000000e\+00|9.375000e-01|8.750000e-01|8.125000e-01|7.500000e-01)}} : f64, predicted_us = {{.*}}, reason = "{{.*}}highest occupancy", registers = {{[0-9]+}} : i64}

// -----

// A small bf16 GEMV (in_proj_b: N=32, K=2048) is latency-bound: one round,
// so the fewest steps per wave win — all 32 lanes on K.
module @small {
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 131072 offset 0 weight @b layout "bf16"
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 4096 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 2048 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @small
// CHECK: "gemv_bf16"<{ACCUM = false, LANES = 32 : i64, {{.*}}> target <gfx1151>
// CHECK-SAME: bound = "latency"

// -----

// Launches of one shape share one decision; other templates only get the
// target.
module @shared {
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 131072 offset 0 weight @b layout "bf16"
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 4096 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 128 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 2048 : i32, n = 32 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@y] outs [@z] scalars {n = 32 : i32}
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <sm_90> grid [4, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@z] scalars {k = 2048 : i32, n = 32 : i32}
  }
}
// CHECK-LABEL: module @shared
// CHECK: "gemv_bf16"<{[[P:.*]]}> target <gfx1151> grid [[G:\[.*\]]] block [[B:\[.*\]]] ins
// CHECK: "add_residual"<{THREADS = 256 : i64}> target <gfx1151> grid [1, 1, 1] block [256, 1, 1]
// CHECK: "gemv_bf16"<{[[P]]}> target <gfx1151> grid [[G]] block [[B]] ins
