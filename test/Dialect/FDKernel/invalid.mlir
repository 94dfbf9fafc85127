// RUN: fd-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the fdkernel dialect.

// CHECK-LABEL: buffer_size
// expected-error @+1 {{expects a positive size}}
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 0 offset 0

// -----

// CHECK-LABEL: buffer_offset
// expected-error @+1 {{expects a non-negative offset}}
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset -16

// -----

// CHECK-LABEL: buffer_offset_outside_arena
// expected-error @+1 {{expects offset 0 outside the arena}}
fdkernel.buffer @x #fdkernel.buffer_kind<weight> size 16 offset 16 weight @v layout "bf16"

// -----

// CHECK-LABEL: buffer_weight_without_source
// expected-error @+1 {{expects a weight source exactly on weight buffers}}
fdkernel.buffer @x #fdkernel.buffer_kind<weight> size 16 offset 0

// -----

// CHECK-LABEL: buffer_source_on_arena
// expected-error @+1 {{expects a weight source exactly on weight buffers}}
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0 weight @v layout "bf16"

// -----

// CHECK-LABEL: launch_scalar_kind
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects scalar 'eps' to be an integer or float}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x] scalars {eps = "small"}
}

// -----

// CHECK-LABEL: launch_null_output
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects at least one output buffer}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@x] outs [@__null]
}

// -----

// CHECK-LABEL: launch_template_name
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects the template name to be a C identifier, got 'w4a16-gemv'}}
  fdkernel.launch "w4a16-gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x]
}

// -----

// CHECK-LABEL: launch_param_kind
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects template parameter 'tile' to be an integer or bool}}
  fdkernel.launch "gemv" <{tile = "big"}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x]
}

// -----

// CHECK-LABEL: launch_rank
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects 3-D grid and block}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1] block [32, 1, 1] ins [] outs [@x]
}

// -----

// CHECK-LABEL: launch_positive
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects positive grid and block dimensions}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [0, 1, 1] block [32, 1, 1] ins [] outs [@x]
}

// -----

// CHECK-LABEL: launch_whole_waves
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects a block of whole waves of 32 and at most 1024 threads, got 48}}
  fdkernel.launch "gemv" <{}> target <gfx1151> grid [1, 1, 1] block [48, 1, 1] ins [] outs [@x]
}

// -----

// CHECK-LABEL: launch_no_outputs
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects at least one output buffer}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@x] outs []
}

// -----

// CHECK-LABEL: launch_output_twice
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects each output once, got @x twice}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x, @x]
}

// -----

// CHECK-LABEL: launch_epilogue_twice
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects each epilogue once, got #fdkernel.epilogue<silu_mul> twice}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x] epilogues [#fdkernel.epilogue<silu_mul>, #fdkernel.epilogue<silu_mul>]
}

// -----

// CHECK-LABEL: launch_unknown_buffer
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
fdkernel.step "decode" {
  // expected-error @+1 {{expects @nope to name an fdkernel.buffer}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@nope] outs [@x]
}

// -----

// CHECK-LABEL: launch_write_weight
fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 16 offset 0 weight @v layout "bf16"
fdkernel.step "decode" {
  // expected-error @+1 {{expects no write to weight buffer @w}}
  fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@w]
}

// -----

// CHECK-LABEL: launch_outside_step
fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 16 offset 0
// expected-error @+1 {{'fdkernel.launch' op expects parent op 'fdkernel.step'}}
fdkernel.launch "gemv" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@x]
