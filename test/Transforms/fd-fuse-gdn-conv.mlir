// RUN: fd-opt %s -split-input-file --fd-fuse-gdn-conv | FileCheck %s

// GDN's conv and its decode: one gdn_decode with CONV = 4 reading the
// conv's input, the conv weight and the position as its last inputs, the
// conv state as its last output; the state grows to a ring of 4 slots
// (4 x 64 channels x 4 bytes) and the conv'd row's buffer disappears.
module @fused {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @qkv #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @mixed #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @out #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @s.conv #fdkernel.buffer_kind<state> size 768 offset 0
  fdkernel.buffer @s.rec #fdkernel.buffer_kind<state> size 512 offset 0
  fdkernel.buffer @wc #fdkernel.buffer_kind<weight> size 512 offset 0 weight @conv1d layout "bf16"
  fdkernel.buffer @alog #fdkernel.buffer_kind<weight> size 8 offset 0 weight @A_log layout "f32"
  fdkernel.buffer @dt #fdkernel.buffer_kind<weight> size 8 offset 0 weight @dt_bias layout "f32"
  fdkernel.buffer @nw #fdkernel.buffer_kind<weight> size 16 offset 0 weight @norm layout "f32"
  fdkernel.step "decode" {
    fdkernel.launch "gdn_conv" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@qkv, @wc] outs [@s.conv, @mixed] scalars {channels = 64 : i32, kernelSize = 4 : i32}
    fdkernel.launch "gdn_decode" <{MAX_DK = 16, RG = 4, SPLIT = 1, THREADS = 128}> target <sm_90> grid [2, 1, 1] block [128, 1, 1] ins [@mixed, @z, @b, @a, @alog, @dt, @nw] outs [@s.rec, @out, @__null, @__null] scalars {dk = 16 : i32, dv = 16 : i32, eps = 1.0e-06 : f32, hk = 1 : i32, hv = 2 : i32}
  }
}
// CHECK-LABEL: module @fused
// CHECK-NOT: fdkernel.buffer @mixed
// CHECK: fdkernel.buffer @s.conv <state> size 1024
// CHECK-NOT: "gdn_conv"
// CHECK: fdkernel.launch "gdn_decode"<{CONV = 4 : i64, MAX_DK = 16 : i64, RG = 4 : i64, SPLIT = 1 : i64, THREADS = 128 : i64}> target <sm_90> grid [2, 1, 1] block [128, 1, 1] ins [@qkv, @z, @b, @a, @alog, @dt, @nw, @wc, @io.position] outs [@s.rec, @out, @__null, @__null, @s.conv]

// -----

// Refused: the conv'd row has another reader.
module @mixed_read_elsewhere {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @qkv #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @mixed #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @out #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @s.conv #fdkernel.buffer_kind<state> size 768 offset 0
  fdkernel.buffer @s.rec #fdkernel.buffer_kind<state> size 512 offset 0
  fdkernel.buffer @wc #fdkernel.buffer_kind<weight> size 512 offset 0 weight @conv1d layout "bf16"
  fdkernel.buffer @alog #fdkernel.buffer_kind<weight> size 8 offset 0 weight @A_log layout "f32"
  fdkernel.buffer @dt #fdkernel.buffer_kind<weight> size 8 offset 0 weight @dt_bias layout "f32"
  fdkernel.buffer @nw #fdkernel.buffer_kind<weight> size 16 offset 0 weight @norm layout "f32"
  fdkernel.step "decode" {
    fdkernel.launch "gdn_conv" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@qkv, @wc] outs [@s.conv, @mixed] scalars {channels = 64 : i32, kernelSize = 4 : i32}
    fdkernel.launch "gdn_decode" <{MAX_DK = 16, RG = 4, SPLIT = 1, THREADS = 128}> target <sm_90> grid [2, 1, 1] block [128, 1, 1] ins [@mixed, @z, @b, @a, @alog, @dt, @nw] outs [@s.rec, @out, @__null, @__null] scalars {dk = 16 : i32, dv = 16 : i32, eps = 1.0e-06 : f32, hk = 1 : i32, hv = 2 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@mixed] outs [@copy] scalars {n = 64 : i32}
  }
}
// CHECK-LABEL: module @mixed_read_elsewhere
// CHECK: fdkernel.buffer @s.conv <state> size 768
// CHECK: fdkernel.launch "gdn_conv"
// CHECK: fdkernel.launch "gdn_decode"<{MAX_DK

// -----

// Refused: a launch between the two touches the conv state.
module @state_touched_between {
  fdkernel.buffer @io.position #fdkernel.buffer_kind<io> size 4 offset 0
  fdkernel.buffer @qkv #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @mixed #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @copy #fdkernel.buffer_kind<arena> size 768 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @out #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @s.conv #fdkernel.buffer_kind<state> size 768 offset 0
  fdkernel.buffer @s.rec #fdkernel.buffer_kind<state> size 512 offset 0
  fdkernel.buffer @wc #fdkernel.buffer_kind<weight> size 512 offset 0 weight @conv1d layout "bf16"
  fdkernel.buffer @alog #fdkernel.buffer_kind<weight> size 8 offset 0 weight @A_log layout "f32"
  fdkernel.buffer @dt #fdkernel.buffer_kind<weight> size 8 offset 0 weight @dt_bias layout "f32"
  fdkernel.buffer @nw #fdkernel.buffer_kind<weight> size 16 offset 0 weight @norm layout "f32"
  fdkernel.step "decode" {
    fdkernel.launch "gdn_conv" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@qkv, @wc] outs [@s.conv, @mixed] scalars {channels = 64 : i32, kernelSize = 4 : i32}
    fdkernel.launch "add_residual" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@s.conv] outs [@copy] scalars {n = 192 : i32}
    fdkernel.launch "gdn_decode" <{MAX_DK = 16, RG = 4, SPLIT = 1, THREADS = 128}> target <sm_90> grid [2, 1, 1] block [128, 1, 1] ins [@mixed, @z, @b, @a, @alog, @dt, @nw] outs [@s.rec, @out, @__null, @__null] scalars {dk = 16 : i32, dv = 16 : i32, eps = 1.0e-06 : f32, hk = 1 : i32, hv = 2 : i32}
  }
}
// CHECK-LABEL: module @state_touched_between
// CHECK: fdkernel.launch "gdn_conv"
// CHECK: fdkernel.launch "gdn_decode"<{MAX_DK

// -----

// Refused: no io.position buffer to index the ring with.
module @no_position {
  fdkernel.buffer @qkv #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @mixed #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @z #fdkernel.buffer_kind<arena> size 64 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 8 offset 0
  fdkernel.buffer @out #fdkernel.buffer_kind<arena> size 32 offset 0
  fdkernel.buffer @s.conv #fdkernel.buffer_kind<state> size 768 offset 0
  fdkernel.buffer @s.rec #fdkernel.buffer_kind<state> size 512 offset 0
  fdkernel.buffer @wc #fdkernel.buffer_kind<weight> size 512 offset 0 weight @conv1d layout "bf16"
  fdkernel.buffer @alog #fdkernel.buffer_kind<weight> size 8 offset 0 weight @A_log layout "f32"
  fdkernel.buffer @dt #fdkernel.buffer_kind<weight> size 8 offset 0 weight @dt_bias layout "f32"
  fdkernel.buffer @nw #fdkernel.buffer_kind<weight> size 16 offset 0 weight @norm layout "f32"
  fdkernel.step "decode" {
    fdkernel.launch "gdn_conv" <{THREADS = 256}> target <sm_90> grid [1, 1, 1] block [256, 1, 1] ins [@qkv, @wc] outs [@s.conv, @mixed] scalars {channels = 64 : i32, kernelSize = 4 : i32}
    fdkernel.launch "gdn_decode" <{MAX_DK = 16, RG = 4, SPLIT = 1, THREADS = 128}> target <sm_90> grid [2, 1, 1] block [128, 1, 1] ins [@mixed, @z, @b, @a, @alog, @dt, @nw] outs [@s.rec, @out, @__null, @__null] scalars {dk = 16 : i32, dv = 16 : i32, eps = 1.0e-06 : f32, hk = 1 : i32, hv = 2 : i32}
  }
}
// CHECK-LABEL: module @no_position
// CHECK: fdkernel.launch "gdn_conv"
// CHECK: fdkernel.launch "gdn_decode"<{MAX_DK
