//===- moe.h - router, expert activation and combination --------*- C++ -*-===//
//
// The routed-expert block of one token: the router GEMV (gemv_bf16) gives E
// logits; router_topk turns them into k expert ids and weights in device
// memory; gemv_w4a16_experts runs gate/up and down for those ids;
// silu_mul joins gate and up; moe_combine adds the weighted experts and the
// gated shared expert to the residual stream. No id ever reaches the host.
// Fused forms: router_gemv_topk (router GEMV, softmax and top-k in one
// launch; router_gemv_topk_glu also computes the shared expert's gate/up
// in the same launch), gemv_gated (the shared expert's down projection times
// its sigmoid gate, the gate's dot product reduced in the same launch) and
// moe_down_combine (every routed expert's down projection, the shared
// expert's and the weighted sum into the residual stream in one launch).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_MOE_H
#define FUSEDECODE_TEMPLATES_MOE_H

#include "elementwise.h"
#include "glu.h"

namespace fd::kernels {

/// fp32 softmax over e logits, the top k (largest first, lowest index on
/// ties), renormalised to sum 1 when `renormalize`. One block, e <= 8192.
template <int THREADS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    router_topk(const float *__restrict__ logits, int e, int k, int renormalize,
                int32_t *__restrict__ ids, float *__restrict__ weights) {
  waitForPreviousLaunch();
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
  waitForPreviousLaunch();
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
  waitForPreviousLaunch();
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
  waitForPreviousLaunch();
  const int i = blockX() * THREADS + threadX();
  if (i < n) {
    h[i] += y[i];
  }
}

/// The most experts router_gemv_topk handles: its softmax and top-k keep
/// the logits in registers, kMaxFusedExperts / 32 per lane of one wave.
constexpr int kMaxFusedExperts = 512;

/// Softmax over e logits and the top k (largest first, lowest index on ties),
/// renormalised when `renormalize` — router_topk's result — by one wave:
/// lane l holds logits l, l + 32, ... in registers, so the k rounds of
/// argmax are shuffles with no block barrier. e <= kMaxFusedExperts.
/// Results are written by lane 0.
FD_DEVICE void softmaxTopkWave(const float *logits, int e, int k,
                               int renormalize, int32_t *ids, float *weights) {
  constexpr int kPer = kMaxFusedExperts / kWaveSize;
  const int lane = laneId();
  float p[kPer];
  float m = negInf();
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int i = lane + j * kWaveSize;
    p[j] = i < e ? loadCoherent(logits + i) : negInf();
    m = p[j] > m ? p[j] : m;
  }
  m = waveMax(m);
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    if (lane + j * kWaveSize < e) {
      p[j] = expF(p[j] - m);
      sum += p[j];
    }
  }
  sum = waveSum<kWaveSize>(sum);
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    if (lane + j * kWaveSize < e) {
      p[j] /= sum;
    }
  }
  float chosenSum = 0.0f;
  for (int r = 0; r < k; ++r) {
    float best = negInf();
    int bi = 0x7fffffff;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      if (p[j] > best) { // ascending j: the lowest index wins ties
        best = p[j];
        bi = lane + j * kWaveSize;
      }
    }
    waveArgmax(best, bi);
    if (lane == 0) {
      ids[r] = bi;
      weights[r] = best;
    }
    chosenSum += best;
#pragma unroll
    for (int j = 0; j < kPer; ++j) { // the owner drops it (static indexing)
      if (lane + j * kWaveSize == bi) {
        p[j] = negInf();
      }
    }
  }
  if (lane == 0 && renormalize) {
    for (int r = 0; r < k; ++r) {
      weights[r] /= chosenSum;
    }
  }
}

/// Block `block` of the router's `blocks`: its rows of the e logits (KIND 1
/// w4a16, 2 bf16, as a gemv_segments segment), released and counted in
/// `done`; the last of the blocks to finish resets `done` to 0 for the next
/// launch and takes the softmax and top-k (router_topk's result). Every
/// thread of the block calls it (it barriers).
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND>
FD_DEVICE void routerBlock(const uint16_t *__restrict__ x, int k, const void *w,
                           const uint16_t *scales, const uint8_t *zeros,
                           float *logits, int e, int topk, int renormalize,
                           int32_t *ids, float *weights, uint32_t *done,
                           int block, int blocks) {
  FD_SHARED int last;
  const GemvSegment seg{w, scales, zeros, logits, e};
  gemvSegmentBlock<KIND, ROWS, LANES, WAVES, GROUP, ZEROS>(seg, x, k, block);
  // Release this block's logits, then count the block.
  fenceDevice();
  barrier();
  if (threadX() == 0) {
    last = atomicAddDevice(done, 1u) == static_cast<uint32_t>(blocks) - 1;
  }
  barrier();
  if (!last) {
    return;
  }
  fenceDevice(); // acquire every other block's logits
  if (threadX() < kWaveSize) {
    softmaxTopkWave(logits, e, topk, renormalize, ids, weights);
  }
  if (threadX() == 0) {
    *done = 0;
  }
}

/// The router in one launch: each block computes its rows of the e logits
/// and the last block to finish takes the softmax and top-k (routerBlock).
/// `done` must be 0 before the first launch. e <= kMaxFusedExperts. NORM /
/// NORM_K: x is RMSNorm(normH) from the prologue (gemv.h).
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND,
          int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    router_gemv_topk(const uint16_t *__restrict__ x, int k, const void *w,
                     const uint16_t *scales, const uint8_t *zeros,
                     float *logits, int e, int topk, int renormalize,
                     int32_t *ids, float *weights, uint32_t *done,
                     const float *normH = nullptr,
                     const uint16_t *normW = nullptr,
                     uint16_t *normOut = nullptr, float normEps = 0.0f) {
  constexpr int kThreads = WAVES * 32;
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  prefetchBlockRows<KIND, kRowsPerBlock, kThreads, GROUP, ZEROS>(
      w, scales, zeros, e, k, blockX());
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, kThreads>(x, normH, normW, normOut, normEps);
  routerBlock<ROWS, LANES, WAVES, GROUP, ZEROS, KIND>(
      x, k, w, scales, zeros, logits, e, topk, renormalize, ids, weights, done,
      blockX(), (e + kRowsPerBlock - 1) / kRowsPerBlock);
}

/// The router and the shared expert's gate/up over the same x in one launch
/// (fd-fuse-router-shared): blocks [0, ceil(e / rows per block)) are
/// router_gemv_topk's, the next ceil(n / rows per block) compute the shared
/// expert's y = bf16(silu(gate x) * (up x)) [n] (SHARED 1 w4a16 with GROUP
/// and ZEROS, 2 bf16) with gluBlock's arithmetic. The router's blocks come
/// first, so its last block's softmax and top-k run while the shared
/// expert's blocks still stream their weights, and the gate/up launch and
/// its gap disappear. NORM / NORM_K: every block computes x from the
/// prologue.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND,
          int SHARED, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    router_gemv_topk_glu(const uint16_t *__restrict__ x, int k, const void *w,
                         const uint16_t *scales, const uint8_t *zeros,
                         float *logits, int e, int topk, int renormalize,
                         int32_t *ids, float *weights, uint32_t *done,
                         const void *gate, const uint16_t *gateScales,
                         const uint8_t *gateZeros, const void *up,
                         const uint16_t *upScales, const uint8_t *upZeros,
                         uint16_t *y, int n, const float *normH = nullptr,
                         const uint16_t *normW = nullptr,
                         uint16_t *normOut = nullptr, float normEps = 0.0f) {
  constexpr int kThreads = WAVES * 32;
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int routerBlocks = (e + kRowsPerBlock - 1) / kRowsPerBlock;
  const int block = blockX();
  if (block < routerBlocks) {
    prefetchBlockRows<KIND, kRowsPerBlock, kThreads, GROUP, ZEROS>(
        w, scales, zeros, e, k, block);
  } else {
    gluPrefetch<SHARED, ROWS, LANES, WAVES, GROUP, ZEROS>(
        gate, gateScales, gateZeros, up, upScales, upZeros, n, k,
        block - routerBlocks);
  }
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, kThreads>(x, normH, normW, normOut, normEps);
  if (block >= routerBlocks) { // uniform per block
    gluBlock<SHARED, ROWS, LANES, WAVES, GROUP, ZEROS>(
        gate, gateScales, gateZeros, up, upScales, upZeros, x, y, n, k,
        block - routerBlocks);
    return;
  }
  routerBlock<ROWS, LANES, WAVES, GROUP, ZEROS, KIND>(
      x, k, w, scales, zeros, logits, e, topk, renormalize, ids, weights, done,
      block, routerBlocks);
}

/// One thread's part of gateW . gateX (gk % 8 == 0): the 8-value chunks
/// first, first + count, ... of the `count` threads sharing the dot.
FD_DEVICE float gateDotPartial(const uint16_t *__restrict__ gateW,
                               const uint16_t *__restrict__ gateX, int gk,
                               int first, int count) {
  float s = 0.0f;
  for (int i = first * 8; i < gk; i += count * 8) {
    float a[8], b[8];
    loadX8(gateW + i, a);
    loadX8(gateX + i, b);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      s += a[j] * b[j];
    }
  }
  return s;
}

/// sigmoid(gateW . gateX) over gk values (gk % 8 == 0), reduced by the
/// whole block; every thread gets it. The shared expert's gate: an M = N = 1
/// dot product, cheaper recomputed per block than launched as a GEMV.
template <int THREADS>
FD_DEVICE float blockSigmoidGate(const uint16_t *__restrict__ gateW,
                                 const uint16_t *__restrict__ gateX, int gk,
                                 float *red) {
  return sigmoidF(blockSum<THREADS>(
      gateDotPartial(gateW, gateX, gk, threadX(), THREADS), red));
}

/// y = sigmoid(gateW . gateX) * (W x): the shared expert's down projection
/// (W w4a16 or bf16, KIND 1 / 2, as a gemv_segments segment) with its gate
/// in the epilogue. gk % 8 == 0.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_gated(const uint16_t *__restrict__ x, int k, const void *w,
               const uint16_t *scales, const uint8_t *zeros, float *y, int n,
               const uint16_t *__restrict__ gateW,
               const uint16_t *__restrict__ gateX, int gk) {
  prefetchBlockRows<KIND, ROWS * (32 / LANES) * WAVES, WAVES * 32, GROUP,
                    ZEROS>(w, scales, zeros, n, k, blockX());
  waitForPreviousLaunch();
  FD_SHARED float red[WAVES];
  const float g = blockSigmoidGate<WAVES * 32>(gateW, gateX, gk, red);
  const GemvSegment seg{w, scales, zeros, y, n};
  gemvSegmentBlock<KIND, ROWS, LANES, WAVES, GROUP, ZEROS>(seg, x, k, blockX(),
                                                           g);
}

/// sigmoid(gateW . gateX) over gk values (gk % 8 == 0), reduced by one
/// wave; every lane gets it.
FD_DEVICE float waveSigmoidGate(const uint16_t *__restrict__ gateW,
                                const uint16_t *__restrict__ gateX, int gk) {
  return sigmoidF(waveSum<kWaveSize>(
      gateDotPartial(gateW, gateX, gk, laneId(), kWaveSize)));
}

/// The MoE block's output in one launch:
///   out[j] = base[j] + sum_s routeWeights[s] * (W_{ids[s]} x_s)[j]
///            + g * (Wshared sharedX)[j]
/// with the routed experts' down projections (w4a16 [E, n, k], x_s bf16
/// [slots][k]) and the shared expert's (SHARED 1 w4a16 with the same GROUP
/// and ZEROS, 2 bf16, 0 none; K = sharedK). A block owns ROWS x 32/LANES
/// rows; its WAVES waves split the experts (wave w takes slots w, w +
/// WAVES, ..., the shared expert counting as slot `slots`), so the grid has
/// as many waves in flight as the unfused launch with one slot per grid
/// row. Each lane weights its partial sums by the router weight (or the
/// shared gate) before its group's reduction; the waves' sums are added in
/// wave order through local memory, then the base. g is sigmoid(gateW .
/// gateX) over gateK values when gateW is given (reduced by the wave that
/// takes the shared expert), else sigmoid(*gateLogit) when that is, else 1.
/// base may be null or out (the residual stream, updated in place).
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int SHARED>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32) moe_down_combine(
    float *out, const float *base, const int32_t *__restrict__ qweight,
    const uint16_t *__restrict__ scales, const uint8_t *__restrict__ zeros,
    const int32_t *__restrict__ expertIds,
    const float *__restrict__ routeWeights, const uint16_t *__restrict__ x,
    int slots, int k, const void *sharedW, const uint16_t *sharedScales,
    const uint8_t *sharedZeros, const uint16_t *__restrict__ sharedX,
    int sharedK, const float *__restrict__ gateLogit,
    const uint16_t *__restrict__ gateW, const uint16_t *__restrict__ gateX,
    int gateK, int n) {
  static_assert(SHARED >= 0 && SHARED <= 2,
                "shared expert: 0 none, 1 w4a16, 2 bf16");
  constexpr int kGroups = 32 / LANES;
  constexpr int kRowsPerBlock = ROWS * kGroups;
  // The routed experts are known only after the wait; the shared one is not.
  if constexpr (SHARED != 0) {
    prefetchBlockRows<SHARED, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
        sharedW, sharedScales, sharedZeros, n, sharedK, blockX());
  }
  waitForPreviousLaunch();
  FD_SHARED float partial[WAVES][kRowsPerBlock];
  const int blockRow0 = blockX() * kRowsPerBlock;
  if (blockRow0 >= n) {
    return; // the whole block: no barrier is left waiting
  }
  const int wave = threadX() / kWaveSize;
  const int group = laneId() / LANES;
  const int lane = laneId() % LANES;
  const int row0 = blockRow0 + group * ROWS;
  int rows[ROWS];
  clampRows<ROWS>(row0, n, rows);
  const int64_t groups = k / GROUP;
  const int items = slots + (SHARED != 0 ? 1 : 0);
  float acc[ROWS] = {};
  for (int it = wave; it < items; it += WAVES) { // uniform per wave
    float part[ROWS][1] = {};
    float weight;
    if (it < slots) {
      const int64_t e = expertIds[it];
      weight = routeWeights[it];
      W4Rows<ROWS> w;
      setW4Rows<0, ROWS, ROWS, GROUP, ZEROS>(
          w, qweight + e * n * (k / 8), scales + e * n * groups,
          ZEROS ? zeros + e * n * groups : zeros, k, rows);
      gemvW4Partial<ROWS, LANES, 1, GROUP, ZEROS>(
          w, x + static_cast<int64_t>(it) * k, k, lane, part);
    } else {
      weight = gateW       ? waveSigmoidGate(gateW, gateX, gateK)
               : gateLogit ? sigmoidF(*gateLogit)
                           : 1.0f;
      if constexpr (SHARED == kSegmentW4) {
        W4Rows<ROWS> w;
        setW4Rows<0, ROWS, ROWS, GROUP, ZEROS>(
            w, static_cast<const int32_t *>(sharedW), sharedScales, sharedZeros,
            sharedK, rows);
        gemvW4Partial<ROWS, LANES, 1, GROUP, ZEROS>(w, sharedX, sharedK, lane,
                                                    part);
      } else if constexpr (SHARED == kSegmentBf16) {
        Bf16Rows<ROWS> w;
        setBf16Rows<0, ROWS, ROWS>(w, static_cast<const uint16_t *>(sharedW),
                                   sharedK, rows);
        gemvBf16Partial<ROWS, LANES, 1, uint16_t>(w, sharedX, sharedK, lane,
                                                  part);
      }
    }
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      acc[r] += weight * part[r][0];
    }
  }
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const float v = waveSum<LANES>(acc[r]);
    if (lane == 0) {
      partial[wave][group * ROWS + r] = v;
    }
  }
  barrier();
  if (wave == 0 && lane == 0) {
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int row = row0 + r;
      if (row < n) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < WAVES; ++w) {
          sum += partial[w][group * ROWS + r];
        }
        out[row] = (base ? base[row] : 0.0f) + sum;
      }
    }
  }
}

} // namespace fd::kernels

#endif
