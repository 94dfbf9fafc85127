//===- sample.h - next-token choice on the GPU ------------------*- C++ -*-===//
//
// Greedy or stochastic choice of the next token from one row of logits,
// entirely on the device (the token id never needs the host between steps).
// Stochastic sampling: softmax at `temperature` over the logits that survive
// top-k (k largest; 0 = all) and top-p (the smallest set of most probable
// tokens whose probability reaches p; 1 = all), then one uniform draw from a
// counter-based generator keyed by (seed, *step) so a replayed graph draws a
// fresh number each token and a run is reproducible from its seed.
//
// Thresholds are found by bisection over values rather than by sorting:
// 40 passes over the row, each a block-wide count or sum, which for a
// 248k vocabulary costs about as much as reading the logits 40 times.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_SAMPLE_H
#define FUSEDECODE_TEMPLATES_SAMPLE_H

#include "elementwise.h"

namespace fd::kernels {

/// splitmix64 of (seed, step) mapped to [0, 1) with 24 random bits.
FD_DEVICE float uniformDraw(uint64_t seed, uint64_t step) {
  uint64_t z = seed + (step + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    sample_token(const float *__restrict__ logits, int n, float temperature,
                 int topK, float topP, uint64_t seed,
                 const int32_t *__restrict__ step, int32_t *__restrict__ out) {
  waitForPreviousLaunch();
  FD_SHARED float red[THREADS / 32];
  FD_SHARED int redI[THREADS / 32];
  FD_SHARED float chunkSum[THREADS];
  const int t = threadX();
  if (temperature <= 0.0f) {
    // Greedy: the first index holding the maximum, in one pass (NaNs never
    // win; a row of -inf gives index 0).
    float best = negInf();
    int bi = 0x7fffffff;
    for (int i = t; i < n; i += THREADS) {
      const float v = logits[i];
      if (v > best || (v == best && i < bi)) {
        best = v;
        bi = i;
      }
    }
    blockArgmax<THREADS>(best, bi, red, redI);
    if (t == 0) {
      *out = static_cast<int32_t>(bi);
    }
    return;
  }
  float mx = negInf();
  for (int i = t; i < n; i += THREADS) {
    mx = logits[i] > mx ? logits[i] : mx;
  }
  mx = blockMax<THREADS>(mx, red);
  float mn = -negInf();
  for (int i = t; i < n; i += THREADS) {
    mn = logits[i] < mn ? logits[i] : mn;
  }
  mn = -blockMax<THREADS>(-mn, red);

  // Top-k: the largest threshold v with count(logit >= v) >= k keeps exactly
  // the k largest (and ties with the k-th).
  float lo = mn; // count(>= lo) = n >= k
  if (topK > 0 && topK < n) {
    float hi = mx; // count(>= hi) >= 1
    for (int it = 0; it < 40; ++it) {
      const float mid = 0.5f * (lo + hi);
      float c = 0.0f;
      for (int i = t; i < n; i += THREADS) {
        c += logits[i] >= mid ? 1.0f : 0.0f;
      }
      if (blockSum<THREADS>(c, red) >= static_cast<float>(topK)) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
  }
  const float invT = 1.0f / temperature;
  float z = 0.0f;
  for (int i = t; i < n; i += THREADS) {
    z += logits[i] >= lo ? expF((logits[i] - mx) * invT) : 0.0f;
  }
  z = blockSum<THREADS>(z, red);
  // Top-p: the largest probability threshold whose kept mass reaches p.
  float pCut = 0.0f;
  if (topP < 1.0f) {
    float a = 0.0f, b = 1.0f; // kept mass at a is 1 >= p
    for (int it = 0; it < 40; ++it) {
      const float mid = 0.5f * (a + b);
      float mass = 0.0f;
      for (int i = t; i < n; i += THREADS) {
        const float p =
            logits[i] >= lo ? expF((logits[i] - mx) * invT) / z : 0.0f;
        mass += p >= mid ? p : 0.0f;
      }
      if (blockSum<THREADS>(mass, red) >= topP) {
        a = mid;
      } else {
        b = mid;
      }
    }
    pCut = a;
  }
  // Draw: each thread owns a contiguous chunk; the chunk sums' prefix finds
  // the chunk holding the draw, its owner walks it.
  const int chunk = (n + THREADS - 1) / THREADS;
  const int begin = t * chunk, end = begin + chunk < n ? begin + chunk : n;
  auto weight = [&](int i) {
    if (logits[i] < lo) {
      return 0.0f;
    }
    const float p = expF((logits[i] - mx) * invT) / z;
    return p >= pCut ? p : 0.0f;
  };
  float mine = 0.0f;
  for (int i = begin; i < end; ++i) {
    mine += weight(i);
  }
  chunkSum[t] = mine;
  barrier();
  if (t == 0) {
    float total = 0.0f;
    for (int i = 0; i < THREADS; ++i) {
      total += chunkSum[i];
    }
    float u = uniformDraw(seed, static_cast<uint64_t>(*step)) * total;
    // Rounding may carry u past every chunk: fall back to the last chunk
    // that holds any kept token.
    int owner = 0;
    for (int i = 0; i < THREADS; ++i) {
      if (chunkSum[i] > 0.0f) {
        owner = i;
      }
    }
    for (int i = 0; i < THREADS; ++i) {
      if (u < chunkSum[i]) {
        owner = i;
        break;
      }
      u -= chunkSum[i];
    }
    // Hand the remainder to the owner through shared memory.
    red[0] = u;
    red[1] = static_cast<float>(owner);
  }
  barrier();
  const int owner = static_cast<int>(red[1]);
  if (t == owner) {
    float u = red[0];
    int pick = -1, last = -1;
    for (int i = begin; i < end; ++i) {
      const float w = weight(i);
      if (w > 0.0f) {
        last = i;
        if (u < w) {
          pick = i;
          break;
        }
        u -= w;
      }
    }
    // Rounding can leave u just past the chunk's last kept token.
    *out = pick >= 0 ? pick : last;
  }
}

} // namespace fd::kernels

#endif
