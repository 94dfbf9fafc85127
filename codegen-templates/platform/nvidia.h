//===- nvidia.h - platform layer over CUDA ----------------------*- C++ -*-===//

#ifndef FUSEDECODE_PLATFORM_NVIDIA_H
#define FUSEDECODE_PLATFORM_NVIDIA_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#define FD_GLOBAL __global__
#define FD_DEVICE __device__ __forceinline__
#define FD_SHARED __shared__
#define FD_LAUNCH_BOUNDS(threads) __launch_bounds__(threads)

namespace fd::gpu {

constexpr int kWaveSize = 32;

struct alignas(16) Vec4i {
  int32_t x, y, z, w;
};

FD_DEVICE int threadX() { return static_cast<int>(threadIdx.x); }
FD_DEVICE int blockX() { return static_cast<int>(blockIdx.x); }
FD_DEVICE int blockY() { return static_cast<int>(blockIdx.y); }
FD_DEVICE int laneId() {
  return static_cast<int>(threadIdx.x) & (kWaveSize - 1);
}
FD_DEVICE void barrier() { __syncthreads(); }
/// Orders this wave's shared-memory writes before its later reads (lanes of
/// a warp do not run in lockstep since Volta).
FD_DEVICE void waveBarrier() { __syncwarp(); }

FD_DEVICE float shflXor(float v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
FD_DEVICE int shflXorInt(int v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}

FD_DEVICE float bf16ToFloat(uint16_t b) {
  return __uint_as_float(static_cast<uint32_t>(b) << 16);
}
FD_DEVICE uint16_t floatToBf16(float f) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}
FD_DEVICE float halfToFloat(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}

/// IEEE square root (nvcc's default -prec-sqrt=true), not the approximate
/// rsqrtf.
FD_DEVICE float sqrtF(float x) { return sqrtf(x); }
/// a * b + c rounded once, stated: where two kernels must agree bit for bit
/// the compiler may not pick which product to contract.
FD_DEVICE float fmaF(float a, float b, float c) { return fmaf(a, b, c); }
FD_DEVICE float negInf() { return -__int_as_float(0x7f800000); }
FD_DEVICE float expF(float x) { return expf(x); }
/// exp through the hardware exp2 (2 ulp): softmax weights, where the
/// result is normalised by a sum of the same approximations.
FD_DEVICE float expFast(float x) { return __expf(x); }
FD_DEVICE float logF(float x) { return logf(x); }
FD_DEVICE float log1pF(float x) { return log1pf(x); }
FD_DEVICE float cosF(float x) { return cosf(x); }
FD_DEVICE float sinF(float x) { return sinf(x); }
FD_DEVICE float powF(float x, float y) { return powf(x, y); }

/// 16-byte load of weights that are read once per token: bypass L1 and mark
/// the lines evict-first so activations keep the cache.
FD_DEVICE Vec4i loadStream16(const void *p) {
  int4 v = __ldcs(reinterpret_cast<const int4 *>(p));
  return Vec4i{v.x, v.y, v.z, v.w};
}
FD_DEVICE Vec4i load16(const void *p) {
  int4 v = *reinterpret_cast<const int4 *>(p);
  return Vec4i{v.x, v.y, v.z, v.w};
}

/// Device-scope memory fence: this thread's writes are visible to every
/// block before its later writes (the last-block-done pattern).
FD_DEVICE void fenceDevice() { __threadfence(); }
/// Device-scope atomic add; returns the old value.
FD_DEVICE uint32_t atomicAddDevice(uint32_t *p, uint32_t v) {
  return atomicAdd(p, v);
}
/// Programmatic dependent launch (sm_90 and later). A launch the runtime
/// marks "overlap" may start its blocks while the previous launch in the
/// stream still runs. Every kernel calls this before it reads or writes
/// anything another launch writes or reads (activations, state, KV,
/// counters); only read-only weights may be touched before. It waits for
/// the previous launch to finish with its writes visible, then lets the
/// next launch start its blocks, so at most one launch runs ahead. Without
/// the launch attribute (or below sm_90) the wait returns at once.
FD_DEVICE void waitForPreviousLaunch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}
/// Asks L2 to fetch the 128-byte line holding `p` (read-only weights the
/// kernel reads after waitForPreviousLaunch).
FD_DEVICE void prefetchL2(const void *p) {
  asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

/// A float another block wrote during this launch: read through L2, never
/// a stale L1 line.
FD_DEVICE float loadCoherent(const float *p) { return __ldcg(p); }

} // namespace fd::gpu

#endif
