// REQUIRES: nvcc
// RUN: fd-opt %s -split-input-file --fd-select-kernels="target=sm_90" | FileCheck %s

// The expert down projection on the H100: nvcc's registers give the
// occupancy (nvcc reports none); the chosen instance does not spill and
// keeps the highest occupancy among near ties.
module @expert_down {
  fdkernel.buffer @w.q #fdkernel.buffer_kind<weight> size 4194304 offset 0 weight @d layout "w4.qweight"
  fdkernel.buffer @w.s #fdkernel.buffer_kind<weight> size 131072 offset 0 weight @d layout "w4.scales"
  fdkernel.buffer @ids #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 8192 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 65536 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_w4a16_experts" <{GROUP = 128, LANES = 32, OUT_BF16 = false, ROWS = 2, WAVES = 4, ZEROS = false}> target <gfx1151> grid [256, 8, 1] block [128, 1, 1] ins [@w.q, @w.s, @__null, @ids, @x] outs [@y] scalars {k = 512 : i32, n = 2048 : i32, xSlotStride = 512 : i32}
  }
}
// CHECK-LABEL: module @expert_down
// CHECK: fdkernel.launch "gemv_w4a16_experts"<{{.*}}> target <sm_90> grid [{{[0-9]+}}, 8, 1]
// CHECK-SAME: fdkernel.cost = {bound = "bandwidth", candidates = 27 : i64, occupancy = 1.000000e+00 : f64, predicted_us = {{.*}}, registers = {{[0-9]+}} : i64}

// -----

// The lm_head (248320 x 2048 bf16): bandwidth-bound, several rounds.
module @lm_head {
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 1017118720 offset 0 weight @h layout "bf16"
  fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 4096 offset 0
  fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 993280 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 32, M = 1, OUT_BF16 = false, ROWS = 2, WAVES = 4, X_F32 = false}> target <gfx1151> grid [31040, 1, 1] block [128, 1, 1] ins [@w, @x] outs [@y] scalars {k = 2048 : i32, n = 248320 : i32}
  }
}
// CHECK-LABEL: module @lm_head
// CHECK: "gemv_bf16"{{.*}} target <sm_90>
// CHECK-SAME: bound = "bandwidth"
