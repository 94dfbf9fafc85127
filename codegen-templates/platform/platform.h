//===- platform.h - the vendor layer kernel templates build on --*- C++ -*-===//
//
// Kernel templates include only this header. It selects the vendor file:
//   - platform/amd.h    : clang-22 HIP device compile with -nogpuinc (no HIP
//                         headers; clang builtins), gfx11 in wave32 mode
//   - platform/nvidia.h : nvcc / CUDA
// Both provide, in namespace fd::gpu: kWaveSize (32 on both), thread and
// block ids, barrier(), waveBarrier(), laneId(), shflXor(float, mask),
// bf16/fp16 <-> float conversions on 16-bit storage, a 16-byte
// vector load, waitForPreviousLaunch() (which every kernel calls before
// touching data another launch writes), prefetchL2(), and the FD_GLOBAL /
// FD_DEVICE / FD_SHARED qualifiers. Only files under platform/ may include a
// vendor header.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_PLATFORM_H
#define FUSEDECODE_PLATFORM_H

#if defined(__HIP__) && defined(__AMDGCN__) || defined(FD_PLATFORM_AMD)
#include "platform/amd.h"
#elif defined(__CUDACC__)
#include "platform/nvidia.h"
#else
#error                                                                         \
    "fusedecode kernels build for AMD (clang HIP device pass) or NVIDIA (nvcc)"
#endif

#endif
