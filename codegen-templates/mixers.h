//===- mixers.h - Gated DeltaNet and gated attention decode -----*- C++ -*-===//
//
// One decode token. The math is fd-ref's (docs/reference.md), which matches
// transformers: recurrent state and every reduction in fp32. The position of
// the token is read from device memory so one captured graph replays for
// every token.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_MIXERS_H
#define FUSEDECODE_TEMPLATES_MIXERS_H

#include "elementwise.h"

namespace fd::kernels {

/// Causal depthwise conv over [state (kernel-1 rows), x] with SiLU, one
/// thread per channel, and the state shifted by one input.
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    gdn_conv(const float *__restrict__ x, const uint16_t *__restrict__ weight,
             float *__restrict__ state, float *__restrict__ mixed, int channels,
             int kernelSize) {
  const int c = blockX() * THREADS + threadX();
  if (c >= channels) {
    return;
  }
  const uint16_t *w = weight + static_cast<int64_t>(c) * kernelSize;
  float acc = bf16ToFloat(w[kernelSize - 1]) * x[c];
  for (int j = 0; j < kernelSize - 1; ++j) {
    acc += bf16ToFloat(w[j]) * state[static_cast<int64_t>(j) * channels + c];
  }
  mixed[c] = siluF(acc);
  for (int j = 0; j + 1 < kernelSize - 1; ++j) {
    state[static_cast<int64_t>(j) * channels + c] =
        state[static_cast<int64_t>(j + 1) * channels + c];
  }
  if (kernelSize > 1) {
    state[static_cast<int64_t>(kernelSize - 2) * channels + c] = x[c];
  }
}

/// The gated delta rule for one token, one block per value head h (key head
/// h / (hv / hk)); thread j < dv owns column j of the fp32 state S [dk][dv].
/// mixed = [q (hk*dk) | k (hk*dk) | v (hv*dv)] after the conv. Writes the
/// gated-normed output rmsnorm(o) * w * silu(z) as bf16 (out_proj's input).
template <int THREADS, int MAX_DK>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    gdn_decode(const float *__restrict__ mixed, const float *__restrict__ z,
               const float *__restrict__ b, const float *__restrict__ a,
               const float *__restrict__ aLog, const float *__restrict__ dtBias,
               const float *__restrict__ normWeight, float *__restrict__ state,
               uint16_t *__restrict__ out, int hk, int hv, int dk, int dv,
               float eps) {
  FD_SHARED float q[MAX_DK];
  FD_SHARED float k[MAX_DK];
  FD_SHARED float red[THREADS / 32];
  const int h = blockX();
  const int kh = h / (hv / hk);
  const int t = threadX();
  const float *qIn = mixed + static_cast<int64_t>(kh) * dk;
  const float *kIn =
      mixed + static_cast<int64_t>(hk) * dk + static_cast<int64_t>(kh) * dk;
  const float *vIn =
      mixed + 2 * static_cast<int64_t>(hk) * dk + static_cast<int64_t>(h) * dv;
  float qq = 0.0f, kk = 0.0f;
  for (int i = t; i < dk; i += THREADS) {
    q[i] = qIn[i];
    k[i] = kIn[i];
    qq += q[i] * q[i];
    kk += k[i] * k[i];
  }
  // transformers' l2norm: x * rsqrt(sum(x^2) + 1e-6); q also / sqrt(dk).
  const float qScale = 1.0f / (sqrtF(blockSum<THREADS>(qq, red) + 1e-6f) *
                               sqrtF(static_cast<float>(dk)));
  const float kScale = 1.0f / sqrtF(blockSum<THREADS>(kk, red) + 1e-6f);
  for (int i = t; i < dk; i += THREADS) {
    q[i] *= qScale;
    k[i] *= kScale;
  }
  barrier();
  const float beta = sigmoidF(b[h]);
  const float x = a[h] + dtBias[h];
  const float softplus = x > 20.0f ? x : log1pF(expF(x));
  const float decay = expF(-expF(aLog[h]) * softplus);
  float o = 0.0f;
  if (t < dv) {
    float *S = state + static_cast<int64_t>(h) * dk * dv + t;
    float kv = 0.0f;
    for (int i = 0; i < dk; ++i) {
      kv += S[static_cast<int64_t>(i) * dv] * decay * k[i];
    }
    const float delta = (vIn[t] - kv) * beta;
    for (int i = 0; i < dk; ++i) {
      const float s = S[static_cast<int64_t>(i) * dv] * decay + k[i] * delta;
      S[static_cast<int64_t>(i) * dv] = s;
      o += s * q[i];
    }
  }
  const float ss = blockSum<THREADS>(t < dv ? o * o : 0.0f, red);
  if (t < dv) {
    const float inv = 1.0f / sqrtF(ss / dv + eps);
    const float gate = siluF(z[static_cast<int64_t>(h) * dv + t]);
    out[static_cast<int64_t>(h) * dv + t] =
        floatToBf16(o * inv * normWeight[t] * gate);
  }
}

/// RMSNorm (per head, fp32) then rotate-half RoPE on the first `rotary` dims
/// of x[0..d) held in shared memory; inverse frequencies formed in float32
/// like transformers. All threads of the block call it.
template <int THREADS>
FD_DEVICE void normRope(float *x, const uint16_t *normWeight, int zeroCentered,
                        float eps, int d, int rotary, float theta, int pos,
                        float *red) {
  float ss = 0.0f;
  for (int i = threadX(); i < d; i += THREADS) {
    ss += x[i] * x[i];
  }
  const float inv = 1.0f / sqrtF(blockSum<THREADS>(ss, red) / d + eps);
  for (int i = threadX(); i < d; i += THREADS) {
    const float w = bf16ToFloat(normWeight[i]);
    x[i] = x[i] * inv * (zeroCentered ? 1.0f + w : w);
  }
  barrier();
  const int half = rotary / 2;
  for (int i = threadX(); i < half; i += THREADS) {
    const float invFreq = 1.0f / powF(theta, static_cast<float>(2 * i) /
                                                 static_cast<float>(rotary));
    const float angle = static_cast<float>(pos) * invFreq;
    const float c = cosF(angle), s = sinF(angle);
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * c - x2 * s;
    x[i + half] = x2 * c + x1 * s;
  }
  barrier();
}

/// Normalises and rotates this token's keys and appends keys and values to
/// the layer's cache ([ctx][hkv][d], fp32) at *position. One block per KV head.
template <int THREADS, int MAX_D>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    kv_append(const float *__restrict__ kIn, const float *__restrict__ vIn,
              const uint16_t *__restrict__ kNorm, int zeroCentered, float eps,
              int rotary, float theta, const int32_t *__restrict__ position,
              float *__restrict__ kCache, float *__restrict__ vCache, int hkv,
              int d) {
  FD_SHARED float kx[MAX_D];
  FD_SHARED float red[THREADS / 32];
  const int h = blockX();
  const int pos = *position;
  for (int i = threadX(); i < d; i += THREADS) {
    kx[i] = kIn[static_cast<int64_t>(h) * d + i];
  }
  barrier();
  normRope<THREADS>(kx, kNorm, zeroCentered, eps, d, rotary, theta, pos, red);
  const int64_t base = (static_cast<int64_t>(pos) * hkv + h) * d;
  for (int i = threadX(); i < d; i += THREADS) {
    kCache[base + i] = kx[i];
    vCache[base + i] = vIn[static_cast<int64_t>(h) * d + i];
  }
}

/// softmax(q kᵀ / sqrt(d)) v over positions 0..*position for one query head
/// per block (kv head h / (hq / hkv)), times sigmoid(gate) when the q row
/// holds [query d | gate d] per head. `scores` is [hq][ctx] scratch.
template <int THREADS, int MAX_D>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    attention_decode(const float *__restrict__ qIn,
                     const uint16_t *__restrict__ qNorm, int zeroCentered,
                     float eps, int rotary, float theta,
                     const int32_t *__restrict__ position,
                     const float *__restrict__ kCache,
                     const float *__restrict__ vCache,
                     float *__restrict__ scores, uint16_t *__restrict__ out,
                     int hq, int hkv, int d, int outputGate, int maxContext) {
  FD_SHARED float q[MAX_D];
  FD_SHARED float red[THREADS / 32];
  const int h = blockX();
  const int kvh = h / (hq / hkv);
  const int pos = *position;
  const int len = pos + 1;
  const int qStride = outputGate ? 2 * d : d;
  const float *qRow = qIn + static_cast<int64_t>(h) * qStride;
  for (int i = threadX(); i < d; i += THREADS) {
    q[i] = qRow[i];
  }
  barrier();
  normRope<THREADS>(q, qNorm, zeroCentered, eps, d, rotary, theta, pos, red);
  float *sc = scores + static_cast<int64_t>(h) * maxContext;
  const float scale = 1.0f / sqrtF(static_cast<float>(d));
  float m = negInf();
  for (int p = threadX(); p < len; p += THREADS) {
    const float *kp = kCache + (static_cast<int64_t>(p) * hkv + kvh) * d;
    float s = 0.0f;
    for (int i = 0; i < d; ++i) {
      s += q[i] * kp[i];
    }
    s *= scale;
    sc[p] = s;
    m = s > m ? s : m;
  }
  m = blockMax<THREADS>(m, red);
  float sum = 0.0f;
  for (int p = threadX(); p < len; p += THREADS) {
    const float e = expF(sc[p] - m);
    sc[p] = e;
    sum += e;
  }
  sum = blockSum<THREADS>(sum, red); // its barriers also publish sc[]
  for (int j = threadX(); j < d; j += THREADS) {
    float acc = 0.0f;
    for (int p = 0; p < len; ++p) {
      acc += sc[p] * vCache[(static_cast<int64_t>(p) * hkv + kvh) * d + j];
    }
    float o = acc / sum;
    if (outputGate) {
      o *= sigmoidF(qRow[d + j]);
    }
    out[static_cast<int64_t>(h) * d + j] = floatToBf16(o);
  }
}

} // namespace fd::kernels

#endif
