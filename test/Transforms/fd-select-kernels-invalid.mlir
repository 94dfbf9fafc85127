// RUN: fd-opt %s --fd-select-kernels="target=gfx9" -verify-diagnostics

// expected-error @below {{unknown target 'gfx9' (known: gfx1151, gfx1100, sm_90)}}
module {
}
