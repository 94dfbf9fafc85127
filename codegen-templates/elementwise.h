//===- elementwise.h - norm, embedding and argmax templates -----*- C++ -*-===//

#ifndef FUSEDECODE_TEMPLATES_ELEMENTWISE_H
#define FUSEDECODE_TEMPLATES_ELEMENTWISE_H

#include "gemv.h"

namespace fd::kernels {

/// Sum over the block: wave sums, then the first wave sums the waves.
template <int THREADS> FD_DEVICE float blockSum(float v, float *shared) {
  constexpr int kWaves = THREADS / kWaveSize;
  v = waveSum<kWaveSize>(v);
  const int wave = threadX() / kWaveSize;
  if (laneId() == 0) {
    shared[wave] = v;
  }
  barrier();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kWaves; ++w) {
    total += shared[w];
  }
  barrier();
  return total;
}

/// Maximum over the wave (every lane gets it).
FD_DEVICE float waveMax(float v) {
#pragma unroll
  for (int mask = kWaveSize / 2; mask > 0; mask >>= 1) {
    const float o = shflXor(v, mask);
    v = o > v ? o : v;
  }
  return v;
}

/// Maximum over the block (every thread gets it).
template <int THREADS> FD_DEVICE float blockMax(float v, float *shared) {
  constexpr int kWaves = THREADS / kWaveSize;
  v = waveMax(v);
  const int wave = threadX() / kWaveSize;
  if (laneId() == 0) {
    shared[wave] = v;
  }
  barrier();
  float m = shared[0];
#pragma unroll
  for (int w = 1; w < kWaves; ++w) {
    m = shared[w] > m ? shared[w] : m;
  }
  barrier();
  return m;
}

FD_DEVICE float sigmoidF(float x) { return 1.0f / (1.0f + expF(-x)); }
FD_DEVICE float siluF(float x) { return x / (1.0f + expF(-x)); }

/// The longest row rms_norm takes: its chunk sums fill d / 8 floats of
/// local memory.
constexpr int kRmsNormMaxD = 16384;

/// RMSNorm of one row per block: y = x * rsqrt(mean(x^2) + eps) * scale with
/// scale = 1 + w (ZERO_CENTERED, Qwen3.5) or w; x float or bf16, y bf16 (the
/// next GEMV's input) or float. Sums in fp32, in rmsInverse's order.
/// d % 8 == 0 and d <= kRmsNormMaxD (the lowering checks both).
template <int THREADS, bool ZERO_CENTERED, typename InT = uint16_t,
          typename OutT = uint16_t>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    rms_norm(const InT *__restrict__ x, const uint16_t *__restrict__ w,
             OutT *__restrict__ y, int d, float eps) {
  waitForPreviousLaunch();
  static_assert(THREADS % 32 == 0, "whole waves");
  FD_SHARED float chunks[kRmsNormMaxD / 8];
  const int64_t row = blockX();
  const InT *xr = x + row * d;
  const float inv = rmsInverse<THREADS>(xr, d, eps, chunks);
  for (int i = threadX(); i < d; i += THREADS) {
    const float v =
        loadAct(xr, i) * inv * normScale<ZERO_CENTERED>(bf16ToFloat(w[i]));
    if constexpr (sizeof(OutT) == 4) {
      y[row * d + i] = v;
    } else {
      y[row * d + i] = floatToBf16(v);
    }
  }
}

/// Gathers one bf16 embedding row per block (token ids read on the device)
/// into a bf16 or float (the residual stream) row.
template <int THREADS, typename OutT = uint16_t>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    embed(const uint16_t *__restrict__ table, const int32_t *__restrict__ ids,
          OutT *__restrict__ out, int h) {
  waitForPreviousLaunch();
  const int64_t t = blockX();
  const int64_t id = ids[t];
  for (int i = threadX(); i < h; i += THREADS) {
    if constexpr (sizeof(OutT) == 4) {
      out[t * h + i] = bf16ToFloat(table[id * h + i]);
    } else {
      out[t * h + i] = table[id * h + i];
    }
  }
}

/// Reduces each lane's (best, index) to the wave's largest value, the lowest
/// index on ties; every lane gets it.
FD_DEVICE void waveArgmax(float &best, int &bi) {
#pragma unroll
  for (int mask = kWaveSize / 2; mask > 0; mask >>= 1) {
    const float ov = shflXor(best, mask);
    const int oi = shflXorInt(bi, mask);
    if (ov > best || (ov == best && oi < bi)) {
      best = ov;
      bi = oi;
    }
  }
}

/// Reduces each thread's (best, index) to the block's largest value, the
/// lowest index on ties; the result is valid in thread 0. `sv`/`si` are
/// shared arrays of THREADS / 32; callers barrier before reusing them.
template <int THREADS>
FD_DEVICE void blockArgmax(float &best, int &bi, float *sv, int *si) {
  waveArgmax(best, bi);
  if (laneId() == 0) {
    sv[threadX() / kWaveSize] = best;
    si[threadX() / kWaveSize] = bi;
  }
  barrier();
  if (threadX() == 0) {
    for (int w = 1; w < THREADS / kWaveSize; ++w) {
      if (sv[w] > best || (sv[w] == best && si[w] < bi)) {
        best = sv[w];
        bi = si[w];
      }
    }
  }
}

/// Index of the largest of n floats (the lowest index on ties), one block.
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    argmax(const float *__restrict__ v, int n, int32_t *__restrict__ out) {
  waitForPreviousLaunch();
  FD_SHARED float bestV[THREADS / 32];
  FD_SHARED int bestI[THREADS / 32];
  float best = negInf();
  int bi = 0x7fffffff;
  for (int i = threadX(); i < n; i += THREADS) {
    const float x = v[i];
    if (x > best) { // strided ascending: the first max of this thread wins
      best = x;
      bi = i;
    }
  }
  blockArgmax<THREADS>(best, bi, bestV, bestI);
  if (threadX() == 0) {
    *out = bi;
  }
}

} // namespace fd::kernels

#endif
