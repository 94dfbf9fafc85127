//===- moe.h - router, expert activation and combination --------*- C++ -*-===//
//
// The routed-expert block of one token: the router GEMV (gemv_bf16) gives E
// logits; router_topk turns them into k expert ids and weights in device
// memory; gemv_w4a16_experts runs gate/up and down for those ids;
// silu_mul joins gate and up; moe_combine adds the weighted experts and the
// gated shared expert to the residual stream. No id ever reaches the host.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_MOE_H
#define FUSEDECODE_TEMPLATES_MOE_H

#include "elementwise.h"

namespace fd::kernels {

/// fp32 softmax over e logits, the top k (largest first, lowest index on
/// ties), renormalised to sum 1 when `renormalize`. One block, e <= 8192.
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    router_topk(const float *__restrict__ logits, int e, int k, int renormalize,
                int32_t *__restrict__ ids, float *__restrict__ weights) {
  constexpr int kMaxExperts = 8192;
  FD_SHARED float probs[kMaxExperts];
  FD_SHARED float red[THREADS / 32];
  FD_SHARED int redI[THREADS / 32];
  float m = negInf();
  for (int i = threadX(); i < e; i += THREADS) {
    m = logits[i] > m ? logits[i] : m;
  }
  m = blockMax<THREADS>(m, red);
  float sum = 0.0f;
  for (int i = threadX(); i < e; i += THREADS) {
    probs[i] = expF(logits[i] - m);
    sum += probs[i];
  }
  sum = blockSum<THREADS>(sum, red);
  for (int i = threadX(); i < e; i += THREADS) {
    probs[i] /= sum;
  }
  barrier();
  float chosenSum = 0.0f;
  for (int r = 0; r < k; ++r) {
    float best = negInf();
    int bi = 0x7fffffff;
    for (int i = threadX(); i < e; i += THREADS) {
      if (probs[i] > best) {
        best = probs[i];
        bi = i;
      }
    }
    blockArgmax<THREADS>(best, bi, red, redI);
    if (threadX() == 0) {
      ids[r] = bi;
      weights[r] = best;
      chosenSum += best;
      probs[bi] = negInf(); // taken
    }
    barrier();
  }
  if (threadX() == 0 && renormalize) {
    for (int r = 0; r < k; ++r) {
      weights[r] /= chosenSum;
    }
  }
}

/// out[i] = silu(gate[i]) * up[i] as bf16, over n elements (all slots).
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    silu_mul(const float *__restrict__ gate, const float *__restrict__ up,
             uint16_t *__restrict__ out, int n) {
  for (int i = blockX() * THREADS + threadX(); i < n; i += THREADS * 1024) {
    out[i] = floatToBf16(siluF(gate[i]) * up[i]);
  }
}

/// out[j] = base[j] + sum_s weights[s] * experts[s][j]
///          + sigmoid(*sharedGate) * shared[j]
/// (base, shared and sharedGate each optional: null leaves the term out; out
/// may be base, for accumulating into the residual stream in place).
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    moe_combine(float *out, const float *base,
                const float *__restrict__ experts,
                const float *__restrict__ weights, int slots,
                const float *__restrict__ shared,
                const float *__restrict__ sharedGate, int d) {
  const int j = blockX() * THREADS + threadX();
  if (j >= d) {
    return;
  }
  float acc = 0.0f;
  for (int s = 0; s < slots; ++s) {
    acc += weights[s] * experts[static_cast<int64_t>(s) * d + j];
  }
  if (shared) {
    const float g = sharedGate ? sigmoidF(*sharedGate) : 1.0f;
    acc += g * shared[j];
  }
  out[j] = (base ? base[j] : 0.0f) + acc;
}

/// h[i] += y[i]: the residual connection after a mixer.
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    add_residual(float *__restrict__ h, const float *__restrict__ y, int n) {
  const int i = blockX() * THREADS + threadX();
  if (i < n) {
    h[i] += y[i];
  }
}

} // namespace fd::kernels

#endif
