// RUN: fd-opt %s -split-input-file --fd-plan-memory | FileCheck %s

// @a and @b are alive together: disjoint. @c starts after @a's last use: it
// reuses @a's place. Sizes round up to 256. Weights are not arena.
module {
  fdkernel.buffer @a #fdkernel.buffer_kind<arena> size 1000 offset 0
  fdkernel.buffer @b #fdkernel.buffer_kind<arena> size 300 offset 0
  fdkernel.buffer @c #fdkernel.buffer_kind<arena> size 1024 offset 0
  fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 64 offset 0 weight @x layout "bf16"
  fdkernel.step "decode" {
    fdkernel.launch "k" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@w] outs [@a]
    fdkernel.launch "k" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@a] outs [@b]
    fdkernel.launch "k" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [@b] outs [@c]
  }
}
// CHECK-LABEL: module attributes {fdkernel.arena_size = 1536 : i64}
// CHECK: fdkernel.buffer @a <arena> size 1000 offset 0
// CHECK: fdkernel.buffer @b <arena> size 300 offset 1024
// CHECK: fdkernel.buffer @c <arena> size 1024 offset 0
// CHECK: fdkernel.buffer @w <weight> size 64 offset 0

// -----

// A buffer no launch names keeps a place of its own.
module {
  fdkernel.buffer @used #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.buffer @unused #fdkernel.buffer_kind<arena> size 256 offset 0
  fdkernel.step "decode" {
    fdkernel.launch "k" <{}> target <sm_90> grid [1, 1, 1] block [32, 1, 1] ins [] outs [@used]
  }
}
// CHECK-LABEL: module attributes {fdkernel.arena_size = 512 : i64}
// CHECK: fdkernel.buffer @used <arena> size 256 offset 256
// CHECK: fdkernel.buffer @unused <arena> size 256 offset 0
