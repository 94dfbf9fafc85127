//===- amd.h - platform layer over clang's AMDGPU builtins ------*- C++ -*-===//
//
// For `clang++-22 -x hip --offload-arch=gfx1151 --cuda-device-only -nogpulib
// -nogpuinc`: no HIP headers (Debian's HIP 5.2 headers do not work with
// clang 22), so the CUDA-style qualifiers and every intrinsic come from
// clang builtins. gfx11 runs wave32 here (clang's default for gfx11).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_PLATFORM_AMD_H
#define FUSEDECODE_PLATFORM_AMD_H

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __host__ __attribute__((host))

#define FD_GLOBAL __global__
#define FD_DEVICE __device__ inline __attribute__((always_inline))
#define FD_SHARED __shared__
#define FD_LAUNCH_BOUNDS(threads)                                              \
  __attribute__((amdgpu_flat_work_group_size(1, threads)))

typedef __INT32_TYPE__ int32_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __INT8_TYPE__ int8_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT64_TYPE__ uint64_t;

namespace fd::gpu {

constexpr int kWaveSize = 32;

struct alignas(16) Vec4i {
  int32_t x, y, z, w;
};

FD_DEVICE int threadX() {
  return static_cast<int>(__builtin_amdgcn_workitem_id_x());
}
FD_DEVICE int blockX() {
  return static_cast<int>(__builtin_amdgcn_workgroup_id_x());
}
FD_DEVICE int blockY() {
  return static_cast<int>(__builtin_amdgcn_workgroup_id_y());
}
FD_DEVICE int laneId() {
  return static_cast<int>(__builtin_amdgcn_mbcnt_lo(~0u, 0u));
}
FD_DEVICE void barrier() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup");
  __builtin_amdgcn_s_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup");
}
/// Orders this wave's LDS writes before its later reads (keeps the compiler
/// from moving them across; the hardware runs a wave in order).
FD_DEVICE void waveBarrier() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "wavefront");
  __builtin_amdgcn_wave_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "wavefront");
}

FD_DEVICE int shflXorInt(int v, int mask) {
  // ds_bpermute addresses lanes in bytes.
  return __builtin_amdgcn_ds_bpermute((laneId() ^ mask) << 2, v);
}
FD_DEVICE float shflXor(float v, int mask) {
  return __builtin_bit_cast(float,
                            shflXorInt(__builtin_bit_cast(int, v), mask));
}

FD_DEVICE float bf16ToFloat(uint16_t b) {
  return __builtin_bit_cast(float, static_cast<uint32_t>(b) << 16);
}
FD_DEVICE uint16_t floatToBf16(float f) {
  uint32_t bits = __builtin_bit_cast(uint32_t, f);
  bits += 0x7FFFu + ((bits >> 16) & 1u); // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}
FD_DEVICE float halfToFloat(uint16_t h) {
  return static_cast<float>(__builtin_bit_cast(_Float16, h));
}

FD_DEVICE float sqrtF(float x) { return __builtin_sqrtf(x); }
/// a * b + c rounded once, stated (see nvidia.h).
FD_DEVICE float fmaF(float a, float b, float c) {
  return __builtin_fmaf(a, b, c);
}
FD_DEVICE float negInf() { return -__builtin_inff(); }
// clang lowers these builtins to LLVM intrinsics the AMDGPU backend expands
// (no device libm is linked with -nogpulib).
FD_DEVICE float expF(float x) { return __builtin_expf(x); }
/// exp through the hardware exp2 (v_exp_f32, 1 ulp): softmax weights, where
/// the result is normalised by a sum of the same approximations.
FD_DEVICE float expFast(float x) {
  return __builtin_amdgcn_exp2f(x * 1.4426950408889634f);
}
FD_DEVICE float logF(float x) { return __builtin_logf(x); }
FD_DEVICE float log1pF(float x) { return __builtin_logf(1.0f + x); }
FD_DEVICE float cosF(float x) { return __builtin_cosf(x); }
FD_DEVICE float sinF(float x) { return __builtin_sinf(x); }
FD_DEVICE float powF(float x, float y) {
  return __builtin_expf(y * __builtin_logf(x));
}

FD_DEVICE Vec4i loadStream16(const void *p) {
  typedef int v4i __attribute__((ext_vector_type(4)));
  v4i v = __builtin_nontemporal_load(reinterpret_cast<const v4i *>(p));
  return Vec4i{v.x, v.y, v.z, v.w};
}
FD_DEVICE Vec4i load16(const void *p) {
  return *reinterpret_cast<const Vec4i *>(p);
}

/// Device-scope memory fence: this thread's writes are visible to every
/// block before its later writes; as an acquire it also invalidates this
/// unit's vector caches (the last-block-done pattern).
FD_DEVICE void fenceDevice() {
  __builtin_amdgcn_fence(__ATOMIC_SEQ_CST, "agent");
}
/// Device-scope atomic add; returns the old value.
FD_DEVICE uint32_t atomicAddDevice(uint32_t *p, uint32_t v) {
  return __scoped_atomic_fetch_add(p, v, __ATOMIC_RELAXED,
                                   __MEMORY_SCOPE_DEVICE);
}
/// A float another block wrote during this launch (after fenceDevice the
/// caches hold no stale line; volatile keeps the load where it is).
FD_DEVICE float loadCoherent(const float *p) {
  return *static_cast<const volatile float *>(p);
}

/// AMD has no programmatic dependent launch: launches in a stream are
/// ordered by the runtime, so there is nothing to wait for.
FD_DEVICE void waitForPreviousLaunch() {}
/// No L2 prefetch hint is used on AMD; the weights are read where used.
FD_DEVICE void prefetchL2(const void *) {}

} // namespace fd::gpu

#endif
