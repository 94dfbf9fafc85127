//===- gemv.h - skinny GEMV templates (M = 1..4 tokens) ---------*- C++ -*-===//
//
// y[m][n] = sum_k W[n][k] * x[m][k] for M <= 4 token rows, the shape of batch-1
// decode. A wave's 32 lanes form 32/LANES groups; each group computes ROWS
// output rows, its LANES lanes splitting K, each lane reading 16 contiguous
// bytes of every row per step; the group reduces with xor shuffles and its
// first lane writes. WAVES waves per block take consecutive row blocks. This
// is the wvSplitK family of the seed, parameterised (the cost model in
// compiler/costmodel picks the values per shape and target):
//   ROWS  output rows per lane group (ROWS rows' weights in flight per lane)
//   LANES lanes per row: 32, 16 or 8 (short K keeps every lane busy)
//   M     token rows (activations reused across the ROWS rows)
//   WAVES waves per block
//   ACCUM y += W x (the residual add fused into the epilogue)
//   NORM, NORM_K  x = RMSNorm(h) computed in the prologue (fd-fuse-rms-norm:
//         normH, normW, normEps; normOut publishes the row), NORM_K = K
//
// Weight layout (compiler/codegen/Repack.h writes it):
//   w4a16: qweight int32 [N][K/8], word j of row n holds k = 8j..8j+7 at bits
//          4*(k % 8); scales fp16 [N][K/GROUP]; zeros uint8 [N][K/GROUP] (the
//          zero point, 0..15) or absent when symmetric (zero 8).
//   bf16:  w bf16 [N][K].
//   w8a16: qweight int8 [N][K]; scales fp16 [N][K/GROUP] (symmetric).
// Activations x are bf16 [M][K]; y is float or bf16 [M][N].
// Requirements: K % 32 == 0 (w4a16; GROUP % 32 == 0), K % 8 == 0 (bf16);
// rows past N are computed on a clamped row and not written.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_GEMV_H
#define FUSEDECODE_TEMPLATES_GEMV_H

#include "platform/platform.h"

namespace fd::kernels {

using namespace fd::gpu;

template <int N> FD_DEVICE float waveSum(float v) {
#pragma unroll
  for (int mask = N / 2; mask > 0; mask >>= 1) {
    v += shflXor(v, mask);
  }
  return v;
}

/// The output store of a GEMV: y = v (float or bf16), or y += v (ACCUM, float
/// only: the residual add fused into the epilogue).
template <bool OUT_BF16, bool ACCUM = false>
FD_DEVICE void storeOut(void *y, int index, float v) {
  static_assert(!(OUT_BF16 && ACCUM), "accumulation is into a float output");
  if constexpr (OUT_BF16) {
    static_cast<uint16_t *>(y)[index] = floatToBf16(v);
  } else if constexpr (ACCUM) {
    static_cast<float *>(y)[index] += v;
  } else {
    static_cast<float *>(y)[index] = v;
  }
}

/// How a wave's 32 lanes are split: 32 / LANES groups of LANES lanes, each
/// group computing ROWS rows with K split over its lanes. LANES < 32 keeps
/// every lane busy when K is short (K = 512 in w4 leaves half of 32 lanes
/// idle) — the seed's wvSplitK variants, as a parameter.
template <int ROWS, int LANES> struct WaveSplit {
  static_assert(LANES == 32 || LANES == 16 || LANES == 8,
                "lanes per row: 32, 16 or 8");
  static constexpr int kGroups = 32 / LANES;
  static constexpr int kRowsPerWave = ROWS * kGroups;
  int waveRow0; // the wave's first row
  int row0;     // this lane's group's first row
  int lane;     // lane within the group
  FD_DEVICE explicit WaveSplit(int wavesPerBlock)
      : WaveSplit(wavesPerBlock, blockX()) {}
  /// `block`: the block's index among those of its matrix (a segment of a
  /// horizontally fused launch starts at block 0).
  FD_DEVICE WaveSplit(int wavesPerBlock, int block) {
    const int wave = threadX() / kWaveSize;
    waveRow0 = (block * wavesPerBlock + wave) * kRowsPerWave;
    row0 = waveRow0 + (laneId() / LANES) * ROWS;
    lane = laneId() % LANES;
  }
};

enum GemvSegmentKind { kSegmentW4 = 1, kSegmentBf16 = 2 };

/// Before waitForPreviousLaunch: asks L2 for `count` rows from `first` of a
/// row-major weight array of `rowBytes` bytes per row, one 128-byte line per
/// thread per step, so the block's first weight reads overlap the previous
/// launch instead of following it. Weights only: nothing a launch writes.
template <int THREADS>
FD_DEVICE void prefetchRows(const void *base, int64_t rowBytes, int64_t first,
                            int64_t count) {
  const char *p = static_cast<const char *>(base) + first * rowBytes;
  const int64_t bytes = count * rowBytes;
  for (int64_t off = static_cast<int64_t>(threadX()) * 128; off < bytes;
       off += static_cast<int64_t>(THREADS) * 128) {
    prefetchL2(p + off);
  }
}

/// prefetchRows of the rows block `block` computes (RPB rows per block) of a
/// w4a16 (KIND 1: words, scales, zero points) or bf16 (KIND 2) matrix.
template <int KIND, int RPB, int THREADS, int GROUP, bool ZEROS>
FD_DEVICE void prefetchBlockRows(const void *w, const uint16_t *scales,
                                 const uint8_t *zeros, int n, int k,
                                 int block) {
  const int64_t first = static_cast<int64_t>(block) * RPB;
  if (first >= n) {
    return;
  }
  const int64_t count = n - first < RPB ? n - first : RPB;
  if constexpr (KIND == kSegmentW4) {
    prefetchRows<THREADS>(w, k / 2, first, count);
    prefetchRows<THREADS>(scales, k / GROUP * 2, first, count);
    if constexpr (ZEROS) {
      prefetchRows<THREADS>(zeros, k / GROUP, first, count);
    }
  } else {
    prefetchRows<THREADS>(w, static_cast<int64_t>(k) * 2, first, count);
  }
}

/// The group's rows; rows past N repeat the last row (computed, not stored).
/// No lane may leave early: the reductions shuffle across the whole wave.
template <int ROWS>
FD_DEVICE void clampRows(int row0, int n, int (&rows)[ROWS]) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    rows[r] = row0 + r < n ? row0 + r : n - 1;
  }
}

/// Sums each lane's partial dot products over its group; the group's first
/// lane stores the rows that exist, times `scale` (a gate; 1 is exact).
template <int ROWS, int LANES, int M, bool OUT_BF16, bool ACCUM = false>
FD_DEVICE void reduceAndStore(float (&acc)[ROWS][M], void *y, int n, int row0,
                              int lane, float scale = 1.0f) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
#pragma unroll
    for (int m = 0; m < M; ++m) {
      const float v = waveSum<LANES>(acc[r][m]) * scale;
      if (lane == 0 && row0 + r < n) {
        storeOut<OUT_BF16, ACCUM>(y, m * n + row0 + r, v);
      }
    }
  }
}

/// Eight bf16 values (16 bytes) to float.
FD_DEVICE void unpackBf16x8(const Vec4i &v, float *out) {
  const int32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    uint32_t u = static_cast<uint32_t>(words[i]);
    out[2 * i] = bf16ToFloat(static_cast<uint16_t>(u & 0xFFFFu));
    out[2 * i + 1] = bf16ToFloat(static_cast<uint16_t>(u >> 16));
  }
}

/// Eight activations to float: bf16 (one 16-byte load) or float (two).
FD_DEVICE void loadX8(const uint16_t *p, float *out) {
  unpackBf16x8(load16(p), out);
}
FD_DEVICE void loadX8(const float *p, float *out) {
  const Vec4i a = load16(p), b = load16(p + 4);
  const int32_t words[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    out[i] = __builtin_bit_cast(float, words[i]);
  }
}

/// An activation element as float: the residual stream is float, GEMV
/// inputs are bf16 (uint16_t storage).
FD_DEVICE float loadAct(const float *p, int64_t i) { return p[i]; }
FD_DEVICE float loadAct(const uint16_t *p, int64_t i) {
  return bf16ToFloat(p[i]);
}

/// RMSNorm folded into a GEMV's prologue (fd-fuse-rms-norm): template
/// parameter NORM picks the scale (none: x is given; 1 + w, Qwen3.5's
/// zero-centred weight; w) and NORM_K is the row's length, which sizes the
/// local-memory copy of the normalised row.
enum NormKind { kNormNone = 0, kNormZeroCentered = 1, kNormPlain = 2 };

/// 1 / sqrt(mean(h^2) + eps) over d values (d % 8 == 0); every thread of the
/// block calls it (it barriers) and gets the result. One summation order
/// whatever the block shape: chunk c = h[8c .. 8c+8) squared and summed in
/// turn (the block's threads take the chunks, into `chunks`, d / 8 floats of
/// local memory), then lane l of every wave sums chunks l, l + kWaveSize,
/// ... and the xor tree adds the lanes. rms_norm and the prologue share it,
/// so a fused and an unfused plan normalise bit-identically; each thread
/// holds 8 values at a time (the prologue must not raise the GEMV's
/// register count).
template <int THREADS, typename InT>
FD_DEVICE float rmsInverse(const InT *__restrict__ h, int d, float eps,
                           float *chunks) {
  for (int c = threadX(); c < d / 8; c += THREADS) {
    float v[8];
    loadX8(h + 8 * c, v);
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      s += v[j] * v[j];
    }
    chunks[c] = s;
  }
  barrier();
  float ss = 0.0f;
  for (int c = laneId(); c < d / 8; c += kWaveSize) {
    ss += chunks[c];
  }
  return 1.0f / sqrtF(waveSum<kWaveSize>(ss) / d + eps);
}

/// The scale of a normalised value: 1 + w (zero-centred) or w.
template <bool ZERO_CENTERED> FD_DEVICE float normScale(float w) {
  return ZERO_CENTERED ? 1.0f + w : w;
}

/// Eight normalised values h * inv * scale(w) as bf16 into `xs` and, when
/// `publish`, `out` (16-byte stores): rms_norm's expression.
template <int NORM>
FD_DEVICE void storeNormalized8(const float (&hv)[8], const float (&wv)[8],
                                float inv, uint16_t *xs, uint16_t *out,
                                bool publish) {
  int32_t words[4];
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    const uint32_t lo = floatToBf16(
        hv[2 * q] * inv * normScale<NORM == kNormZeroCentered>(wv[2 * q]));
    const uint32_t hi =
        floatToBf16(hv[2 * q + 1] * inv *
                    normScale<NORM == kNormZeroCentered>(wv[2 * q + 1]));
    words[q] = static_cast<int32_t>(lo | hi << 16);
  }
  const Vec4i v{words[0], words[1], words[2], words[3]};
  *reinterpret_cast<Vec4i *>(xs) = v;
  if (publish) {
    *reinterpret_cast<Vec4i *>(out) = v;
  }
}

/// The most 8-value chunks of the row a thread of the prologue holds in
/// registers (16 floats each: 64 threads hold K = 2048 in 76 registers on
/// sm_90); beyond that it reads the row twice.
constexpr int kNormPrologueHeldChunks = 4;

/// The RMSNorm prologue; every thread of the block calls it (it barriers).
/// Writes x[i] = bf16(h[i] * inv * scale(w[i])) — rms_norm's expression —
/// for i < K into local memory and returns that row; block (0, 0) also
/// writes it to `out` when given, the input of the norm's other consumers.
/// K % 8 == 0.
template <int NORM, int K, int THREADS>
FD_DEVICE const uint16_t *rmsNormPrologue(const float *__restrict__ h,
                                          const uint16_t *__restrict__ w,
                                          uint16_t *out, float eps) {
  static_assert(NORM == kNormZeroCentered || NORM == kNormPlain,
                "NORM: 1 zero-centred, 2 plain");
  static_assert(K > 0 && K % 8 == 0, "NORM_K: a positive multiple of 8");
  constexpr int kChunks = K / 8, kPer = (kChunks + THREADS - 1) / THREADS;
  FD_SHARED float chunks[kChunks];
  // 16-byte stores and loads of the row.
  alignas(16) FD_SHARED uint16_t xs[K];
  if constexpr (kPer <= kNormPrologueHeldChunks) {
    // Every load of the row and its weight is issued before the first is
    // used and held in registers for both passes: one round of latency,
    // where a loop over the row twice waited once per 8-value chunk (the
    // router's prologue, ncu 2026-11-25). The sums are rmsInverse's, in its
    // order.
    float hv[kPer][8], wv[kPer][8];
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int c = threadX() + j * THREADS;
      if (c < kChunks) {
        loadX8(h + 8 * c, hv[j]);
        loadX8(w + 8 * c, wv[j]);
      }
    }
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int c = threadX() + j * THREADS;
      if (c < kChunks) {
        float sq = 0.0f;
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          sq += hv[j][e] * hv[j][e];
        }
        chunks[c] = sq;
      }
    }
    barrier();
    float ss = 0.0f;
    for (int c = laneId(); c < kChunks; c += kWaveSize) {
      ss += chunks[c];
    }
    const float inv = 1.0f / sqrtF(waveSum<kWaveSize>(ss) / K + eps);
    const bool publish = out != nullptr && blockX() == 0 && blockY() == 0;
    // The stores stay written out here, not through storeNormalized8: this
    // is the code measured on the H200 (docs/performance.md), and the
    // helper compiles to other (equivalent) code.
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int c = threadX() + j * THREADS;
      if (c >= kChunks) {
        break;
      }
      int32_t words[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t lo =
            floatToBf16(hv[j][2 * q] * inv *
                        normScale<NORM == kNormZeroCentered>(wv[j][2 * q]));
        const uint32_t hi =
            floatToBf16(hv[j][2 * q + 1] * inv *
                        normScale<NORM == kNormZeroCentered>(wv[j][2 * q + 1]));
        words[q] = static_cast<int32_t>(lo | hi << 16);
      }
      const Vec4i v{words[0], words[1], words[2], words[3]};
      *reinterpret_cast<Vec4i *>(xs + 8 * c) = v;
      if (publish) {
        *reinterpret_cast<Vec4i *>(out + 8 * c) = v;
      }
    }
  } else {
    // Held in registers, more chunks would cost 16 floats each (sm_90, 64
    // threads: 140 registers at K = 4096, spills at K = 8192; 43 and 44
    // this way), so the row is read twice, the sums again rmsInverse's.
    const float inv = rmsInverse<THREADS>(h, K, eps, chunks);
    const bool publish = out != nullptr && blockX() == 0 && blockY() == 0;
    for (int c = threadX(); c < kChunks; c += THREADS) {
      float hv[8], wv[8];
      loadX8(h + 8 * c, hv);
      loadX8(w + 8 * c, wv);
      storeNormalized8<NORM>(hv, wv, inv, xs + 8 * c, out + 8 * c, publish);
    }
  }
  barrier();
  return xs;
}

/// The activations a GEMV reads: x, or with NORM the prologue's row (bf16
/// only; every thread of the block must call it then).
template <int NORM, int K, int THREADS, typename XT>
FD_DEVICE const XT *gemvInput(const XT *x, const float *h, const uint16_t *w,
                              uint16_t *out, float eps) {
  if constexpr (NORM == kNormNone) {
    return x;
  } else {
    return rmsNormPrologue<NORM, K, THREADS>(h, w, out, eps);
  }
}

/// The rows one lane group reads from a w4a16 matrix: per row its packed
/// words, scales and zero points. Rows may come from different matrices (the
/// gate and up projections of a fused GLU), so each row has its own pointers.
template <int ROWS> struct W4Rows {
  const int32_t *q[ROWS];
  const uint16_t *s[ROWS];
  const uint8_t *z[ROWS];
};

/// Rows rows[0..R) of the w4a16 matrix (qweight, scales, zeros) of K = k,
/// stored into slots OFFSET.. of `out`.
template <int OFFSET, int R, int TOTAL, int GROUP, bool ZEROS>
FD_DEVICE void setW4Rows(W4Rows<TOTAL> &out, const int32_t *qweight,
                         const uint16_t *scales, const uint8_t *zeros, int k,
                         const int (&rows)[R]) {
  static_assert(OFFSET + R <= TOTAL, "rows past the set");
  const int64_t kWords = k / 8, groups = k / GROUP;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    out.q[OFFSET + r] = qweight + rows[r] * kWords;
    out.s[OFFSET + r] = scales + rows[r] * groups;
    out.z[OFFSET + r] = ZEROS ? zeros + rows[r] * groups : nullptr;
  }
}

/// A lane's running sum after one 32-value step of a w4a16 row: acc + s (dot
/// - z sx), as two stated fused multiply-adds so that every w4 path (per
/// lane, staged, x-stationary) rounds the same way whatever the compiler
/// would contract.
FD_DEVICE float w4StepSum(float acc, float s, float z, float dot, float sx) {
  return fmaF(s, fmaF(-z, sx, dot), acc);
}

/// One lane's partial dot products of a w4a16 GEMV over the rows of `w`: its
/// K slice is 32 values per step, LANES lanes per row.
template <int ROWS, int LANES, int M, int GROUP, bool ZEROS>
FD_DEVICE void gemvW4Partial(const W4Rows<ROWS> &w,
                             const uint16_t *__restrict__ x, int k, int lane,
                             float (&acc)[ROWS][M]) {
  static_assert(GROUP % 32 == 0, "a lane's 32 K-values must share a group");
  static_assert(M >= 1 && M <= 4, "skinny GEMV: 1..4 token rows");
  for (int k0 = lane * 32; k0 < k; k0 += 32 * LANES) {
    Vec4i q[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      q[r] = loadStream16(w.q[r] + k0 / 8);
    }
    float dot[ROWS][M] = {};
    float sx[M] = {};
#pragma unroll
    for (int wi = 0; wi < 4; ++wi) {
      float xv[M][8];
#pragma unroll
      for (int m = 0; m < M; ++m) {
        unpackBf16x8(load16(x + m * k + k0 + wi * 8), xv[m]);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          sx[m] += xv[m][i];
        }
      }
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        const int32_t word = wi == 0   ? q[r].x
                             : wi == 1 ? q[r].y
                             : wi == 2 ? q[r].z
                                       : q[r].w;
        const uint32_t u = static_cast<uint32_t>(word);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float qi = static_cast<float>((u >> (4 * i)) & 0xFu);
#pragma unroll
          for (int m = 0; m < M; ++m) {
            dot[r][m] += qi * xv[m][i];
          }
        }
      }
    }
    // sum_i (q_i - z) s x_i = s (sum_i q_i x_i - z sum_i x_i): the zero
    // point costs one multiply per group and token, not one per weight.
    const int g = k0 / GROUP;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const float s = halfToFloat(w.s[r][g]);
      float z = 8.0f;
      if constexpr (ZEROS) {
        z = static_cast<float>(w.z[r][g]);
      }
#pragma unroll
      for (int m = 0; m < M; ++m) {
        acc[r][m] = w4StepSum(acc[r][m], s, z, dot[r][m], sx[m]);
      }
    }
  }
}

/// The prologue's row prepared for the w4a16 steps (fd-fuse-rms-norm
/// kernels): x[k] as float times 16^-(k % 8) and the sum of every 32 values,
/// in local memory. A step then reads its x with two 16-byte loads per 8
/// values and takes its sum as one load, and a code needs no shift: code i
/// of a word masked in place is q * 16^i, exact as a float, and
/// (q * 16^i) * (x * 16^-i) = q * x exactly whenever |x| >= 2^-98 (x *
/// 16^-7 a normal float), so the dot products, their order and the sums are
/// gemvW4Partial's bit for bit; a smaller element loses low bits of a
/// product far below any sum's rounding. ncu on the H200: the w4
/// GEMVs issue 2.3-2.5 instructions per cycle, an FFMA among five to seven
/// (2026-12-03); this path takes three per code and value.
struct W4StagedX {
  const float *x;
  const float *sums; // sums[c] = x[32c] + ... + x[32c + 31], in that order
};

/// Whether a prologue row of K values is staged: its floats must fit in
/// local memory beside the bf16 row (48 KB of static local memory a block).
template <int K> constexpr bool kStageW4Input = K > 0 && K <= 4096;

/// Where values 4q .. 4q + 3 of 32-value chunk c of a staged row of `chunks`
/// chunks live: the quads of consecutive chunks side by side, so the lanes
/// of a wave, which read consecutive chunks, read one contiguous span per
/// 16-byte load (a row-major float row puts them 128 bytes apart, in the
/// same banks: that layout measured 1.2-2.5x slower per launch on the H200).
FD_DEVICE int w4StagedIndex(int chunks, int c, int q) {
  return (q * chunks + c) * 4;
}

/// Values 4q .. 4q + 3 of chunk c of a staged row of `chunks` chunks.
FD_DEVICE void loadX4Staged(const float *x, int chunks, int c, int q,
                            float *out) {
  const Vec4i v = load16(x + w4StagedIndex(chunks, c, q));
  out[0] = __builtin_bit_cast(float, v.x);
  out[1] = __builtin_bit_cast(float, v.y);
  out[2] = __builtin_bit_cast(float, v.z);
  out[3] = __builtin_bit_cast(float, v.w);
}

/// Stages the bf16 row xs (local memory, K values) for the w4a16 steps;
/// every thread of the block calls it (it barriers).
template <int K, int THREADS>
FD_DEVICE W4StagedX stageW4Input(const uint16_t *xs) {
  static_assert(K % 32 == 0, "the w4a16 steps take 32 values");
  FD_SHARED float xf[K];
  FD_SHARED float sums[K / 32];
  constexpr int kChunks = K / 32;
  for (int c = threadX(); c < kChunks; c += THREADS) {
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float v[8];
      unpackBf16x8(load16(xs + 32 * c + 8 * j), v);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        sum += v[i];
        // 16^-i: exact, a power of two.
        v[i] *= __builtin_bit_cast(float, (127u - 4u * i) << 23);
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        *reinterpret_cast<Vec4i *>(xf + w4StagedIndex(kChunks, c, 2 * j + h)) =
            Vec4i{__builtin_bit_cast(int32_t, v[4 * h]),
                  __builtin_bit_cast(int32_t, v[4 * h + 1]),
                  __builtin_bit_cast(int32_t, v[4 * h + 2]),
                  __builtin_bit_cast(int32_t, v[4 * h + 3])};
      }
    }
    sums[c] = sum;
  }
  barrier();
  return W4StagedX{xf, sums};
}

/// stageW4Input when STAGED, else nothing (no local memory, no barrier).
template <bool STAGED, int K, int THREADS>
FD_DEVICE W4StagedX segmentsStage(const uint16_t *x) {
  if constexpr (STAGED) {
    return stageW4Input<K, THREADS>(x);
  } else {
    return W4StagedX{nullptr, nullptr};
  }
}

/// gemvW4Partial for one token over a staged row: the same products in the
/// same order, the same sums (bit-identical), fewer instructions.
template <int ROWS, int LANES, int GROUP, bool ZEROS>
FD_DEVICE void gemvW4PartialStaged(const W4Rows<ROWS> &w, W4StagedX x, int k,
                                   int lane, float (&acc)[ROWS][1]) {
  static_assert(GROUP % 32 == 0, "a lane's 32 K-values must share a group");
  for (int k0 = lane * 32; k0 < k; k0 += 32 * LANES) {
    Vec4i q[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      q[r] = loadStream16(w.q[r] + k0 / 8);
    }
    float dot[ROWS] = {};
    const float sx = x.sums[k0 / 32];
#pragma unroll
    for (int wi = 0; wi < 4; ++wi) {
      float xv[8];
      loadX4Staged(x.x, k / 32, k0 / 32, 2 * wi, xv);
      loadX4Staged(x.x, k / 32, k0 / 32, 2 * wi + 1, xv + 4);
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        const int32_t word = wi == 0   ? q[r].x
                             : wi == 1 ? q[r].y
                             : wi == 2 ? q[r].z
                                       : q[r].w;
        const uint32_t u = static_cast<uint32_t>(word);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float qi = static_cast<float>(u & (0xFu << (4 * i)));
          dot[r] += qi * xv[i];
        }
      }
    }
    const int g = k0 / GROUP;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const float s = halfToFloat(w.s[r][g]);
      float z = 8.0f;
      if constexpr (ZEROS) {
        z = static_cast<float>(w.z[r][g]);
      }
      acc[r][0] = w4StepSum(acc[r][0], s, z, dot[r], sx);
    }
  }
}

/// One row of a w4a16 matrix: its packed words, scales and zero points.
struct W4Row {
  const int32_t *q;
  const uint16_t *s;
  const uint8_t *z;
};

/// The x-stationary w4a16 step (one token, K = 1024 C, 32 lanes a row).
/// gemvW4Partial re-reads a lane's 32 activations for every step of every
/// row it walks, so a wave moves two to four times as many bytes of x
/// through L1 as of weights: 1.4-1.5 us of a 4.8-6.3 us launch on the H200
/// (bench/probe_w4bound.cu). Here wave w of a block takes chunk w % C of K
/// for the rows of row group w / C: each lane loads its 32 values of the
/// chunk once (times 16^-(k % 8), as the staged row) and walks the group's
/// rows, kW4XBatch rows' loads in flight. Each lane leaves its scale and (dot
/// - z sx) per row and chunk in local memory; after a barrier a wave sums,
/// per lane, the chunks of its ROWS rows in K order with w4StepSum and then
/// across the lanes, so every output equals gemvW4Partial's with LANES 32
/// bit for bit (check-kernels compares them).
constexpr int kW4XBatch = 4;
/// The largest K the step takes (C <= 4) and the local memory it may use:
/// the buffer is sized for the largest C the block shape allows.
constexpr int kW4XMaxChunks = 4;
constexpr int kW4XMaxLocalBytes = 32 * 1024;

/// Whether a block of WAVES waves with R partial rows (ROWS x WAVES per
/// matrix) can take the step over C chunks.
template <int WAVES, int R, int C>
constexpr bool kW4XFits = C <= kW4XMaxChunks && WAVES % C == 0 &&
                          C * R * 2 * kWaveSize * 4 <= kW4XMaxLocalBytes;

/// Floats of local memory the step needs for that block (0: never taken).
template <int WAVES, int R>
constexpr int kW4XLocalFloats = kW4XFits<WAVES, R, 4>   ? 4 * R * 2 * kWaveSize
                                : kW4XFits<WAVES, R, 2> ? 2 * R * 2 * kWaveSize
                                : kW4XFits<WAVES, R, 1> ? R * 2 * kWaveSize
                                                        : 0;

template <int C> struct W4XChunks {
  static constexpr int value = C;
};

template <int C, int WAVES, int R, typename F>
FD_DEVICE bool w4XTry(int k, F &f) {
  if constexpr (kW4XFits<WAVES, R, C>) {
    if (k == 1024 * C) {
      f(W4XChunks<C>{});
      return true;
    }
  }
  return false;
}

/// Runs f(W4XChunks<C>{}) for the C with k == 1024 C when the block fits it;
/// false (f not run) otherwise.
template <int WAVES, int R, typename F>
FD_DEVICE bool w4XDispatch(int k, F f) {
  return w4XTry<1, WAVES, R>(k, f) || w4XTry<2, WAVES, R>(k, f) ||
         w4XTry<4, WAVES, R>(k, f);
}

/// One block of the step (every thread calls it: it barriers). MATS
/// matrices (1, or a GLU's gate and up) over the block's ROWS x WAVES rows
/// from blockRow0; rowOf(mat, row) gives the pointers of a row below n;
/// store(row, sums) gets row's MATS dot products, from lane 0 of a wave, for
/// the rows below n. part: kW4XLocalFloats<WAVES, MATS * ROWS * WAVES>.
template <int C, int ROWS, int WAVES, int MATS, int GROUP, bool ZEROS,
          typename RowOf, typename Store>
FD_DEVICE void w4XStationaryBlock(RowOf rowOf, const uint16_t *__restrict__ x,
                                  int n, int k, int blockRow0, float *part,
                                  Store store) {
  static_assert(kWaveSize == 32, "a lane holds 32 of a chunk's 1024 values");
  static_assert(GROUP % 32 == 0, "a lane's 32 K-values must share a group");
  constexpr int kGroupRows = ROWS * C;       // rows of a row group
  constexpr int kRows = MATS * kGroupRows;   // partial rows of a wave
  constexpr int kBatch = kRows < kW4XBatch ? kRows : kW4XBatch;
  constexpr int kGroupFloats = kRows * 2 * kWaveSize;
  constexpr int kChunkFloats = (WAVES / C) * kGroupFloats;
  static_assert(kRows % kBatch == 0, "rows in whole batches");
  const int wave = threadX() / kWaveSize, lane = laneId();
  const int chunk = wave % C, rowGroup = wave / C;
  const int row0 = blockRow0 + rowGroup * kGroupRows;
  const int kBase = chunk * 1024 + lane * 32;
  float xr[32];
  float sx = 0.0f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    float v[8];
    unpackBf16x8(load16(x + kBase + 8 * j), v);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      sx += v[i];
      // 16^-i: exact, a power of two.
      xr[8 * j + i] = v[i] * __builtin_bit_cast(float, (127u - 4u * i) << 23);
    }
  }
  const int g = kBase / GROUP;
  float *mine = part + chunk * kChunkFloats + rowGroup * kGroupFloats;
#pragma unroll 1
  for (int j0 = 0; j0 < kRows; j0 += kBatch) {
    Vec4i w[kBatch];
    float s[kBatch], z[kBatch];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int j = j0 + b, mat = j / kGroupRows;
      const int row = row0 + j % kGroupRows < n ? row0 + j % kGroupRows : n - 1;
      const W4Row r = rowOf(mat, row);
      w[b] = loadStream16(r.q + kBase / 8);
      s[b] = halfToFloat(r.s[g]);
      z[b] = 8.0f;
      if constexpr (ZEROS) {
        z[b] = static_cast<float>(r.z[g]);
      }
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const uint32_t words[4] = {
          static_cast<uint32_t>(w[b].x), static_cast<uint32_t>(w[b].y),
          static_cast<uint32_t>(w[b].z), static_cast<uint32_t>(w[b].w)};
      float dot = 0.0f;
#pragma unroll
      for (int wi = 0; wi < 4; ++wi) {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          dot += static_cast<float>(words[wi] & (0xFu << (4 * i))) *
                 xr[8 * wi + i];
        }
      }
      mine[(2 * (j0 + b)) * kWaveSize + lane] = s[b];
      mine[(2 * (j0 + b) + 1) * kWaveSize + lane] = fmaF(-z[b], sx, dot);
    }
  }
  barrier();
  // Wave (rowGroup, chunk) finishes rows chunk * ROWS .. of its group.
  const float *groupPart = part + rowGroup * kGroupFloats;
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const int j = chunk * ROWS + r;
    float sums[MATS];
#pragma unroll
    for (int mat = 0; mat < MATS; ++mat) {
      const int pj = mat * kGroupRows + j;
      float acc = 0.0f;
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const float *p = groupPart + c * kChunkFloats + 2 * pj * kWaveSize;
        acc = fmaF(p[lane], p[kWaveSize + lane], acc);
      }
      sums[mat] = waveSum<32>(acc);
    }
    if (lane == 0 && row0 + j < n) {
      store(row0 + j, sums);
    }
  }
}

/// gemv_w4a16's body after its prefetch and wait. One token, 32 lanes a row, no prologue and K in {1024,
/// 2048, 4096} with K / 1024 dividing WAVES take the x-stationary step;
/// X_STATIONARY false keeps the per-lane one (check-kernels compares the two
/// through a kernel of its own: the plan names gemv_w4a16's parameters only).
template <int ROWS, int LANES, int M, int WAVES, int GROUP, bool ZEROS,
          bool OUT_BF16, bool ACCUM, int NORM, int NORM_K, bool X_STATIONARY>
FD_DEVICE void gemvW4a16Block(const int32_t *__restrict__ qweight,
                              const uint16_t *__restrict__ scales,
                              const uint8_t *__restrict__ zeros,
                              const uint16_t *__restrict__ x,
                              void *__restrict__ y, int n, int k,
                              const float *normH, const uint16_t *normW,
                              uint16_t *normOut, float normEps) {
  static_assert(NORM == kNormNone || M == 1, "the prologue normalises one row");
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  constexpr bool kStaged = NORM != kNormNone && kStageW4Input<NORM_K>;
  const W4StagedX staged = segmentsStage<kStaged, NORM_K, WAVES * 32>(x);
  constexpr int kXFloats = kW4XLocalFloats<WAVES, ROWS * WAVES>;
  if constexpr (X_STATIONARY && M == 1 && LANES == 32 && NORM == kNormNone &&
                kXFloats > 0) {
    FD_SHARED float part[kXFloats];
    const int64_t kWords = k / 8, groups = k / GROUP;
    auto rowOf = [&](int, int row) {
      return W4Row{qweight + row * kWords, scales + row * groups,
                   ZEROS ? zeros + row * groups : nullptr};
    };
    auto store = [&](int row, const float(&sums)[1]) {
      storeOut<OUT_BF16, ACCUM>(y, row, sums[0]);
    };
    if (w4XDispatch<WAVES, ROWS * WAVES>(k, [&](auto chunks) {
          w4XStationaryBlock<decltype(chunks)::value, ROWS, WAVES, 1, GROUP,
                             ZEROS>(rowOf, x, n, k, blockX() * ROWS * WAVES,
                                    part, store);
        })) {
      return;
    }
  }
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  W4Rows<ROWS> w;
  setW4Rows<0, ROWS, ROWS, GROUP, ZEROS>(w, qweight, scales, zeros, k, rows);
  float acc[ROWS][M] = {};
  if constexpr (kStaged) {
    gemvW4PartialStaged<ROWS, LANES, GROUP, ZEROS>(w, staged, k, split.lane,
                                                   acc);
  } else {
    gemvW4Partial<ROWS, LANES, M, GROUP, ZEROS>(w, x, k, split.lane, acc);
  }
  reduceAndStore<ROWS, LANES, M, OUT_BF16, ACCUM>(acc, y, n, split.row0,
                                                  split.lane);
}

/// y = W x for M token rows, W in the w4a16 layout; ACCUM adds into y (the
/// residual stream) instead of overwriting it.
template <int ROWS, int LANES, int M, int WAVES, int GROUP, bool ZEROS,
          bool OUT_BF16, bool ACCUM, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_w4a16(const int32_t *__restrict__ qweight,
               const uint16_t *__restrict__ scales,
               const uint8_t *__restrict__ zeros,
               const uint16_t *__restrict__ x, void *__restrict__ y, int n,
               int k, const float *normH = nullptr,
               const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
               float normEps = 0.0f) {
  prefetchBlockRows<kSegmentW4, ROWS * (32 / LANES) * WAVES, WAVES * 32, GROUP,
                    ZEROS>(qweight, scales, zeros, n, k, blockX());
  waitForPreviousLaunch();
  gemvW4a16Block<ROWS, LANES, M, WAVES, GROUP, ZEROS, OUT_BF16, ACCUM, NORM,
                 NORM_K, true>(qweight, scales, zeros, x, y, n, k, normH,
                               normW, normOut, normEps);
}

/// The routed experts' GEMV: blockY is the top-k slot, whose expert id is
/// read from device memory (never copied to the host). Weights are [E, N, ...]
/// in the w4a16 layout; x is one row shared by all slots (xSlotStride 0, the
/// gate/up projections) or one row per slot (the down projection); y is
/// [slots][N].
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, bool OUT_BF16>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_w4a16_experts(const int32_t *__restrict__ qweight,
                       const uint16_t *__restrict__ scales,
                       const uint8_t *__restrict__ zeros,
                       const int32_t *__restrict__ expertIds,
                       const uint16_t *__restrict__ x, int xSlotStride,
                       void *__restrict__ y, int n, int k) {
  waitForPreviousLaunch();
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  const int slot = blockY();
  const int64_t e = expertIds[slot];
  const int64_t groups = k / GROUP;
  char *ySlot = static_cast<char *>(y) +
                static_cast<int64_t>(slot) * n * (OUT_BF16 ? 2 : 4);
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  W4Rows<ROWS> w;
  setW4Rows<0, ROWS, ROWS, GROUP, ZEROS>(
      w, qweight + e * n * (k / 8), scales + e * n * groups,
      ZEROS ? zeros + e * n * groups : zeros, k, rows);
  float acc[ROWS][1] = {};
  gemvW4Partial<ROWS, LANES, 1, GROUP, ZEROS>(
      w, x + static_cast<int64_t>(slot) * xSlotStride, k, split.lane, acc);
  reduceAndStore<ROWS, LANES, 1, OUT_BF16>(acc, ySlot, n, split.row0,
                                           split.lane);
}

/// The rows one lane group reads from bf16 matrices, one pointer per row.
template <int ROWS> struct Bf16Rows {
  const uint16_t *w[ROWS];
};

/// Rows rows[0..R) of the bf16 matrix w of K = k, into slots OFFSET.. of out.
template <int OFFSET, int R, int TOTAL>
FD_DEVICE void setBf16Rows(Bf16Rows<TOTAL> &out, const uint16_t *w, int k,
                           const int (&rows)[R]) {
  static_assert(OFFSET + R <= TOTAL, "rows past the set");
#pragma unroll
  for (int r = 0; r < R; ++r) {
    out.w[OFFSET + r] = w + static_cast<int64_t>(rows[r]) * k;
  }
}

/// One lane's partial dot products of a bf16 GEMV over the rows of `w`: 8
/// values of K per step, LANES lanes per row.
template <int ROWS, int LANES, int M, typename XT>
FD_DEVICE void gemvBf16Partial(const Bf16Rows<ROWS> &w,
                               const XT *__restrict__ x, int k, int lane,
                               float (&acc)[ROWS][M]) {
  static_assert(M >= 1 && M <= 4, "skinny GEMV: 1..4 token rows");
  for (int k0 = lane * 8; k0 < k; k0 += 8 * LANES) {
    float xv[M][8];
#pragma unroll
    for (int m = 0; m < M; ++m) {
      loadX8(x + m * k + k0, xv[m]);
    }
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      float wv[8];
      unpackBf16x8(loadStream16(w.w[r] + k0), wv);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int m = 0; m < M; ++m) {
          acc[r][m] += wv[i] * xv[m][i];
        }
      }
    }
  }
}

template <int ROWS, int LANES, int M, int WAVES, bool OUT_BF16, bool ACCUM,
          typename XT = uint16_t, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_bf16(const uint16_t *__restrict__ w, const XT *__restrict__ x,
              void *__restrict__ y, int n, int k, const float *normH = nullptr,
              const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
              float normEps = 0.0f) {
  static_assert(NORM == kNormNone || (M == 1 && sizeof(XT) == 2),
                "the prologue normalises one row into bf16");
  prefetchBlockRows<kSegmentBf16, ROWS * (32 / LANES) * WAVES, WAVES * 32, 32,
                    false>(w, nullptr, nullptr, n, k, blockX());
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  Bf16Rows<ROWS> wr;
  setBf16Rows<0, ROWS, ROWS>(wr, w, k, rows);
  float acc[ROWS][M] = {};
  gemvBf16Partial<ROWS, LANES, M, XT>(wr, x, k, split.lane, acc);
  reduceAndStore<ROWS, LANES, M, OUT_BF16, ACCUM>(acc, y, n, split.row0,
                                                  split.lane);
}

/// One lane's partial dot products over int8 rows (symmetric, one fp16
/// scale per GROUP values of K): 16 values of K per step, LANES lanes per
/// row. GROUP % 16 == 0, so a lane's 16 values share one scale.
template <int ROWS, int LANES, int M, int GROUP>
FD_DEVICE void gemvW8Partial(const int8_t *const (&w)[ROWS],
                             const uint16_t *const (&s)[ROWS],
                             const uint16_t *__restrict__ x, int k, int lane,
                             float (&acc)[ROWS][M]) {
  static_assert(GROUP % 16 == 0, "a lane's 16 K-values must share a group");
  static_assert(M >= 1 && M <= 4, "skinny GEMV: 1..4 token rows");
  for (int k0 = lane * 16; k0 < k; k0 += 16 * LANES) {
    Vec4i q[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      q[r] = loadStream16(w[r] + k0);
    }
    float xv[M][16];
#pragma unroll
    for (int m = 0; m < M; ++m) {
      unpackBf16x8(load16(x + m * k + k0), xv[m]);
      unpackBf16x8(load16(x + m * k + k0 + 8), xv[m] + 8);
    }
    const int g = k0 / GROUP;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const int32_t words[4] = {q[r].x, q[r].y, q[r].z, q[r].w};
      float dot[M] = {};
#pragma unroll
      for (int i = 0; i < 16; ++i) {
        const float qi = static_cast<float>(static_cast<int8_t>(
            static_cast<uint32_t>(words[i / 4]) >> (8 * (i % 4))));
#pragma unroll
        for (int m = 0; m < M; ++m) {
          dot[m] += qi * xv[m][i];
        }
      }
      const float scale = halfToFloat(s[r][g]);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        acc[r][m] += scale * dot[m];
      }
    }
  }
}

/// y = W x with W int8 [N][K] and fp16 scales [N][K/GROUP] (GROUP = K: one
/// per row): the lm_head quantized at compile time (--lm-head-quant), half
/// the bytes of bf16. Requirements: K % 16 == 0, GROUP % 16 == 0.
template <int ROWS, int LANES, int M, int WAVES, int GROUP, bool OUT_BF16,
          int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_w8a16(const int8_t *__restrict__ qweight,
               const uint16_t *__restrict__ scales,
               const uint16_t *__restrict__ x, void *__restrict__ y, int n,
               int k, const float *normH = nullptr,
               const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
               float normEps = 0.0f) {
  static_assert(NORM == kNormNone || M == 1, "the prologue normalises one row");
  {
    constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
    const int64_t first = static_cast<int64_t>(blockX()) * kRowsPerBlock;
    const int64_t count = n - first < kRowsPerBlock ? n - first : kRowsPerBlock;
    if (count > 0) {
      prefetchRows<WAVES * 32>(qweight, k, first, count);
      prefetchRows<WAVES * 32>(scales, k / GROUP * 2, first, count);
    }
  }
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  const int8_t *w[ROWS];
  const uint16_t *s[ROWS];
  const int64_t groups = k / GROUP;
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    w[r] = qweight + static_cast<int64_t>(rows[r]) * k;
    s[r] = scales + static_cast<int64_t>(rows[r]) * groups;
  }
  float acc[ROWS][M] = {};
  gemvW8Partial<ROWS, LANES, M, GROUP>(w, s, x, k, split.lane, acc);
  reduceAndStore<ROWS, LANES, M, OUT_BF16>(acc, y, n, split.row0, split.lane);
}

/// One matrix of a horizontally fused launch (gemv_segments*): KIND 1 is
/// w4a16 (w = qweight, with scales and optional zeros), KIND 2 is bf16 (w =
/// the bf16 matrix; scales and zeros unused). y is float [n].
struct GemvSegment {
  const void *w;
  const uint16_t *scales;
  const uint8_t *zeros;
  float *y;
  int n;
};

/// Block `block` of segment `seg`: the rows a lone gemv_w4a16 / gemv_bf16
/// with the same ROWS, LANES and WAVES would compute in that block, with
/// the same arithmetic in the same order; each output times `scale`.
/// STAGED: x's w4a16 steps read `staged` (stageW4Input of x), the same
/// results bit for bit.
template <int KIND, int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS,
          bool STAGED = false>
FD_DEVICE void
gemvSegmentBlock(const GemvSegment &seg, const uint16_t *__restrict__ x, int k,
                 int block, float scale = 1.0f, W4StagedX staged = {}) {
  static_assert(KIND == kSegmentW4 || KIND == kSegmentBf16,
                "segment kind: 1 = w4a16, 2 = bf16");
  const WaveSplit<ROWS, LANES> split(WAVES, block);
  if (split.waveRow0 >= seg.n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, seg.n, rows);
  float acc[ROWS][1] = {};
  if constexpr (KIND == kSegmentW4) {
    W4Rows<ROWS> w;
    setW4Rows<0, ROWS, ROWS, GROUP, ZEROS>(
        w, static_cast<const int32_t *>(seg.w), seg.scales, seg.zeros, k, rows);
    if constexpr (STAGED) {
      gemvW4PartialStaged<ROWS, LANES, GROUP, ZEROS>(w, staged, k, split.lane,
                                                     acc);
    } else {
      gemvW4Partial<ROWS, LANES, 1, GROUP, ZEROS>(w, x, k, split.lane, acc);
    }
  } else {
    Bf16Rows<ROWS> w;
    setBf16Rows<0, ROWS, ROWS>(w, static_cast<const uint16_t *>(seg.w), k,
                               rows);
    gemvBf16Partial<ROWS, LANES, 1, uint16_t>(w, x, k, split.lane, acc);
  }
  reduceAndStore<ROWS, LANES, 1, false>(acc, seg.y, seg.n, split.row0,
                                        split.lane, scale);
}

/// Dispatches block `block` of a launch whose segments take consecutive
/// block ranges (each ceil(n / rows per block) blocks). Returns once the
/// block's segment ran; the branch is uniform per block.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, bool STAGED,
          int KIND, int... REST>
FD_DEVICE void gemvSegmentsDispatch(const GemvSegment *segs,
                                    const uint16_t *__restrict__ x, int k,
                                    int block, W4StagedX staged) {
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int blocks = (segs[0].n + kRowsPerBlock - 1) / kRowsPerBlock;
  if (block < blocks) {
    gemvSegmentBlock<KIND, ROWS, LANES, WAVES, GROUP, ZEROS, STAGED>(
        segs[0], x, k, block, 1.0f, staged);
    return;
  }
  if constexpr (sizeof...(REST) > 0) {
    gemvSegmentsDispatch<ROWS, LANES, WAVES, GROUP, ZEROS, STAGED, REST...>(
        segs + 1, x, k, block - blocks, staged);
  }
}

/// The input of a gemv_segments launch: x, or the prologue's row, staged for
/// the w4a16 segments when there are any and the row fits
/// (kStageW4Input).
template <int NORM, int NORM_K, int... KINDS>
constexpr bool kSegmentsStaged = NORM != kNormNone && kStageW4Input<NORM_K> &&
                                 ((KINDS == kSegmentW4) || ...);

/// prefetchBlockRows for block `block` of a gemv_segments launch: the rows
/// gemvSegmentsDispatch will give it.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND,
          int... REST>
FD_DEVICE void gemvSegmentsPrefetch(const GemvSegment *segs, int k, int block) {
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  const int blocks = (segs[0].n + kRowsPerBlock - 1) / kRowsPerBlock;
  if (block < blocks) {
    prefetchBlockRows<KIND, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
        segs[0].w, segs[0].scales, segs[0].zeros, segs[0].n, k, block);
    return;
  }
  if constexpr (sizeof...(REST) > 0) {
    gemvSegmentsPrefetch<ROWS, LANES, WAVES, GROUP, ZEROS, REST...>(
        segs + 1, k, block - blocks);
  }
}

/// Horizontal fusion: 2, 3 or 4 GEMVs over the same activations x (bf16
/// [K]) in one launch, each segment its own matrix (int4 or bf16, KINDi)
/// and float output — GDN's in_proj_qkv | z | b | a, attention's q | k | v.
/// w4 segments share GROUP and ZEROS.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND0,
          int KIND1, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_segments2(const uint16_t *__restrict__ x, int k, const void *w0,
                   const uint16_t *s0, const uint8_t *z0, float *y0, int n0,
                   const void *w1, const uint16_t *s1, const uint8_t *z1,
                   float *y1, int n1, const float *normH = nullptr,
                   const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
                   float normEps = 0.0f) {
  const GemvSegment segs[2] = {{w0, s0, z0, y0, n0}, {w1, s1, z1, y1, n1}};
  gemvSegmentsPrefetch<ROWS, LANES, WAVES, GROUP, ZEROS, KIND0, KIND1>(
      segs, k, blockX());
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  constexpr bool kStaged = kSegmentsStaged<NORM, NORM_K, KIND0, KIND1>;
  const W4StagedX staged = segmentsStage<kStaged, NORM_K, WAVES * 32>(x);
  gemvSegmentsDispatch<ROWS, LANES, WAVES, GROUP, ZEROS, kStaged, KIND0, KIND1>(
      segs, x, k, blockX(), staged);
}
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND0,
          int KIND1, int KIND2, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_segments3(const uint16_t *__restrict__ x, int k, const void *w0,
                   const uint16_t *s0, const uint8_t *z0, float *y0, int n0,
                   const void *w1, const uint16_t *s1, const uint8_t *z1,
                   float *y1, int n1, const void *w2, const uint16_t *s2,
                   const uint8_t *z2, float *y2, int n2,
                   const float *normH = nullptr,
                   const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
                   float normEps = 0.0f) {
  const GemvSegment segs[3] = {
      {w0, s0, z0, y0, n0}, {w1, s1, z1, y1, n1}, {w2, s2, z2, y2, n2}};
  gemvSegmentsPrefetch<ROWS, LANES, WAVES, GROUP, ZEROS, KIND0, KIND1, KIND2>(
      segs, k, blockX());
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  constexpr bool kStaged = kSegmentsStaged<NORM, NORM_K, KIND0, KIND1, KIND2>;
  const W4StagedX staged = segmentsStage<kStaged, NORM_K, WAVES * 32>(x);
  gemvSegmentsDispatch<ROWS, LANES, WAVES, GROUP, ZEROS, kStaged, KIND0, KIND1,
                       KIND2>(segs, x, k, blockX(), staged);
}
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS, int KIND0,
          int KIND1, int KIND2, int KIND3, int NORM = kNormNone, int NORM_K = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_segments4(const uint16_t *__restrict__ x, int k, const void *w0,
                   const uint16_t *s0, const uint8_t *z0, float *y0, int n0,
                   const void *w1, const uint16_t *s1, const uint8_t *z1,
                   float *y1, int n1, const void *w2, const uint16_t *s2,
                   const uint8_t *z2, float *y2, int n2, const void *w3,
                   const uint16_t *s3, const uint8_t *z3, float *y3, int n3,
                   const float *normH = nullptr,
                   const uint16_t *normW = nullptr, uint16_t *normOut = nullptr,
                   float normEps = 0.0f) {
  const GemvSegment segs[4] = {{w0, s0, z0, y0, n0},
                               {w1, s1, z1, y1, n1},
                               {w2, s2, z2, y2, n2},
                               {w3, s3, z3, y3, n3}};
  gemvSegmentsPrefetch<ROWS, LANES, WAVES, GROUP, ZEROS, KIND0, KIND1, KIND2,
                       KIND3>(segs, k, blockX());
  waitForPreviousLaunch();
  x = gemvInput<NORM, NORM_K, WAVES * 32>(x, normH, normW, normOut, normEps);
  constexpr bool kStaged =
      kSegmentsStaged<NORM, NORM_K, KIND0, KIND1, KIND2, KIND3>;
  const W4StagedX staged = segmentsStage<kStaged, NORM_K, WAVES * 32>(x);
  gemvSegmentsDispatch<ROWS, LANES, WAVES, GROUP, ZEROS, kStaged, KIND0, KIND1,
                       KIND2, KIND3>(segs, x, k, blockX(), staged);
}

} // namespace fd::kernels

#endif
