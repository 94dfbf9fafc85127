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
  waitForPreviousLaunch();
  const int c = blockX() * THREADS + threadX();
  if (c >= channels) {
    return;
  }
  const uint16_t *w = weight + static_cast<int64_t>(c) * kernelSize;
  // The taps as stated fmas (convRing repeats them bit for bit).
  float acc = bf16ToFloat(w[kernelSize - 1]) * x[c];
  for (int j = 0; j < kernelSize - 1; ++j) {
    acc = fmaF(bf16ToFloat(w[j]), state[static_cast<int64_t>(j) * channels + c],
               acc);
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

/// gdn_conv's output for channel c of this token with the causal window in
/// a ring of K slots ([K][channels]; slot t % K holds position t's input):
/// w[K-1] x_t + w[0] x_{t-K+1} + ... + w[K-2] x_{t-1}, gdn_conv's order and
/// fmas, then SiLU. `store` writes x_t into slot t % K: a position reads only
/// the other slots, so blocks that share a channel never race.
template <int K>
FD_DEVICE float convRing(const float *__restrict__ x,
                         const uint16_t *__restrict__ weight, float *ring,
                         int channels, int c, int pos, bool store) {
  const float xc = x[c];
  const uint16_t *w = weight + static_cast<int64_t>(c) * K;
  float acc = bf16ToFloat(w[K - 1]) * xc;
#pragma unroll
  for (int j = 0; j < K - 1; ++j) {
    acc =
        fmaF(bf16ToFloat(w[j]),
             ring[static_cast<int64_t>((pos + 1 + j) % K) * channels + c], acc);
  }
  if (store) {
    ring[static_cast<int64_t>(pos % K) * channels + c] = xc;
  }
  return siluF(acc);
}

/// Sum over the RG row groups of column j's parts, every thread of the block
/// taking part; the barrier before the write lets a second call reuse
/// `parts` once every thread has read the first sums.
template <int RG, int COLS>
FD_DEVICE float columnSum(float (*parts)[COLS], int r, int j, float part) {
  barrier();
  parts[r][j] = part;
  barrier();
  float sum = 0.0f;
#pragma unroll
  for (int g = 0; g < RG; ++g) {
    sum += parts[g][j];
  }
  return sum;
}

/// The gated delta rule for one token over the fp32 state S [dk][dv] of
/// each value head h (key head h / (hv / hk)). Column j of S depends on the
/// others only through the output norm, so a head is split over SPLIT
/// blocks of dv / SPLIT columns each (dv % SPLIT == 0): with 32 heads one
/// block per head would leave most of the GPU idle while the state, the
/// launch's bytes, streams through 32 SMs. Thread (r, j) of a block owns
/// column j of its part on rows r, r + RG, ... (THREADS / RG columns, RG
/// row groups), so the state is read once into registers — coalesced along
/// the columns — updated and written once; the column sums over rows (k·S
/// and q·S) meet in shared memory.
/// mixed = [q (hk*dk) | k (hk*dk) | v (hv*dv)] after the conv. Writes the
/// gated-normed output rmsnorm(o) * w * silu(z) as bf16 (out_proj's input).
/// With SPLIT > 1 each block leaves its o columns and their sum of squares
/// in `partials` ([hv][dv] then [hv][SPLIT], fp32) and the last of a head's
/// blocks — counted in done[h], which it resets to 0 for the next launch —
/// normalises the head; done must be 0 before the first launch.
/// CONV = K > 0 (fd-fuse-gdn-conv): `mixed` is the conv's input (in_proj's
/// qkv row) and each block computes gdn_conv's output for the channels it
/// reads (convRing: weights convWeight [channels][K], the window in the ring
/// convState [K][channels] at *position); the first block of a key head's
/// first value head stores its q and k inputs, each column's owner its v.
template <int THREADS, int MAX_DK, int RG, int SPLIT = 1, int CONV = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    gdn_decode(const float *__restrict__ mixed, const float *__restrict__ z,
               const float *__restrict__ b, const float *__restrict__ a,
               const float *__restrict__ aLog, const float *__restrict__ dtBias,
               const float *__restrict__ normWeight, float *__restrict__ state,
               uint16_t *__restrict__ out, float *__restrict__ partials,
               uint32_t *__restrict__ done, int hk, int hv, int dk, int dv,
               float eps, const uint16_t *__restrict__ convWeight = nullptr,
               const int32_t *__restrict__ position = nullptr,
               float *__restrict__ convState = nullptr) {
  waitForPreviousLaunch();
  constexpr int kCols = THREADS / RG;
  constexpr int kRows = (MAX_DK + RG - 1) / RG; // rows per thread
  static_assert(THREADS % RG == 0 && kCols % kWaveSize == 0,
                "whole waves per row group");
  FD_SHARED float q[MAX_DK];
  FD_SHARED float k[MAX_DK];
  FD_SHARED float colPart[RG][kCols];
  FD_SHARED float red[THREADS / 32];
  const int h = blockX() / SPLIT, part = blockX() % SPLIT;
  const int cols = dv / SPLIT; // this block's columns, <= kCols
  const int kh = h / (hv / hk);
  const int t = threadX();
  const int j = t % kCols, r = t / kCols;
  const int col = part * cols + j; // the column of the head
  const bool mine = j < cols;
  const float *qIn = mixed + static_cast<int64_t>(kh) * dk;
  const float *kIn =
      mixed + static_cast<int64_t>(hk) * dk + static_cast<int64_t>(kh) * dk;
  const float *vIn =
      mixed + 2 * static_cast<int64_t>(hk) * dk + static_cast<int64_t>(h) * dv;
  float *S = state + static_cast<int64_t>(h) * dk * dv + col;
  float s[kRows];
  float qq = 0.0f, kk = 0.0f;
  float vCol = 0.0f; // v[col] after the conv (CONV)
  // The state's loads in flight while q and k are normalised (with the
  // conv: after its loads are issued, which keeps whole heads within 128
  // registers on sm_90).
  auto loadState = [&] {
#pragma unroll
    for (int n = 0; n < kRows; ++n) {
      const int i = r + n * RG;
      s[n] = (mine && i < dk) ? S[static_cast<int64_t>(i) * dv] : 0.0f;
    }
  };
  if constexpr (CONV == 0) {
    loadState();
  }
  if constexpr (CONV > 0) {
    const int pos = *position;
    const int channels = 2 * hk * dk + hv * dv;
    const int64_t vBase =
        2 * static_cast<int64_t>(hk) * dk + static_cast<int64_t>(h) * dv;
    if (mine) {
      vCol = convRing<CONV>(mixed, convWeight, convState, channels,
                            static_cast<int>(vBase + col), pos, r == 0);
    }
    // q's and k's channels over twice the threads (one conv each: whole
    // heads hold 32 state values per thread), then the sums as below.
    const bool storeQk = h % (hv / hk) == 0 && part == 0;
    const int qBase = kh * dk, kBase = hk * dk + kh * dk;
    for (int i = t; i < 2 * dk; i += THREADS) {
      if (i < dk) {
        q[i] = convRing<CONV>(mixed, convWeight, convState, channels, qBase + i,
                              pos, storeQk);
      } else {
        k[i - dk] = convRing<CONV>(mixed, convWeight, convState, channels,
                                   kBase + i - dk, pos, storeQk);
      }
    }
    loadState();
    barrier();
    for (int i = t; i < dk; i += THREADS) {
      qq += q[i] * q[i];
      kk += k[i] * k[i];
    }
  } else {
    for (int i = t; i < dk; i += THREADS) {
      q[i] = qIn[i];
      k[i] = kIn[i];
      qq += q[i] * q[i];
      kk += k[i] * k[i];
    }
  }
  // transformers' l2norm: x * rsqrt(sum(x^2) + 1e-6); q also / sqrt(dk).
  const float qScale = 1.0f / (sqrtF(blockSum<THREADS>(qq, red) + 1e-6f) *
                               sqrtF(static_cast<float>(dk)));
  const float kScale = 1.0f / sqrtF(blockSum<THREADS>(kk, red) + 1e-6f);
  const float beta = sigmoidF(b[h]);
  const float x = a[h] + dtBias[h];
  const float softplus = x > 20.0f ? x : log1pF(expF(x));
  const float decay = expF(-expF(aLog[h]) * softplus);
  float kv = 0.0f;
#pragma unroll
  for (int n = 0; n < kRows; ++n) {
    const int i = r + n * RG;
    if (i < dk) {
      kv += s[n] * decay * (k[i] * kScale);
    }
  }
  kv = columnSum<RG, kCols>(colPart, r, j, kv);
  if constexpr (CONV == 0) {
    vCol = mine ? vIn[col] : 0.0f;
  }
  const float delta = mine ? (vCol - kv) * beta : 0.0f;
  float o = 0.0f;
#pragma unroll
  for (int n = 0; n < kRows; ++n) {
    const int i = r + n * RG;
    if (mine && i < dk) {
      const float v = s[n] * decay + (k[i] * kScale) * delta;
      S[static_cast<int64_t>(i) * dv] = v;
      o += v * (q[i] * qScale);
    }
  }
  o = columnSum<RG, kCols>(colPart, r, j, o);
  const bool owner = r == 0 && mine;
  const float ss = blockSum<THREADS>(owner ? o * o : 0.0f, red);
  const int64_t row = static_cast<int64_t>(h) * dv;
  if (SPLIT == 1) {
    if (owner) {
      const float inv = 1.0f / sqrtF(ss / dv + eps);
      out[row + col] =
          floatToBf16(o * inv * normWeight[col] * siluF(z[row + col]));
    }
    return;
  }
  float *sums = partials + static_cast<int64_t>(hv) * dv;
  if (owner) {
    partials[row + col] = o;
  }
  if (t == 0) {
    sums[h * SPLIT + part] = ss;
  }
  // Release this block's columns, then count it among the head's.
  fenceDevice();
  barrier();
  FD_SHARED int last;
  if (t == 0) {
    last = atomicAddDevice(done + h, 1u) == SPLIT - 1;
  }
  barrier();
  if (!last) {
    return;
  }
  fenceDevice(); // acquire the other blocks' columns
  float total = 0.0f;
#pragma unroll
  for (int p = 0; p < SPLIT; ++p) {
    total += loadCoherent(sums + h * SPLIT + p);
  }
  const float inv = 1.0f / sqrtF(total / dv + eps);
  for (int c = t; c < dv; c += THREADS) {
    const float oc = loadCoherent(partials + row + c);
    out[row + c] = floatToBf16(oc * inv * normWeight[c] * siluF(z[row + c]));
  }
  if (t == 0) {
    done[h] = 0;
  }
}

/// RMSNorm (per head, fp32) then rotate-half RoPE on the first `rotary` dims
/// of x[0..d) held in shared memory, by the calling wave alone; inverse
/// frequencies formed in float32 like transformers.
FD_DEVICE void normRopeWave(float *x, const uint16_t *normWeight,
                            int zeroCentered, float eps, int d, int rotary,
                            float theta, int pos) {
  const int lane = laneId();
  float ss = 0.0f;
  for (int i = lane; i < d; i += kWaveSize) {
    ss += x[i] * x[i];
  }
  const float inv = 1.0f / sqrtF(waveSum<kWaveSize>(ss) / d + eps);
  for (int i = lane; i < d; i += kWaveSize) {
    const float w = bf16ToFloat(normWeight[i]);
    x[i] = x[i] * inv * (zeroCentered ? 1.0f + w : w);
  }
  waveBarrier();
  const int half = rotary / 2;
  for (int i = lane; i < half; i += kWaveSize) {
    const float invFreq = 1.0f / powF(theta, static_cast<float>(2 * i) /
                                                 static_cast<float>(rotary));
    const float angle = static_cast<float>(pos) * invFreq;
    const float c = cosF(angle), s = sinF(angle);
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * c - x2 * s;
    x[i + half] = x2 * c + x1 * s;
  }
  waveBarrier();
}

/// Normalises and rotates this token's keys and appends keys and values to
/// the layer's cache ([ctx][hkv][d], fp32) at *position. One wave per KV
/// head, THREADS / wave size heads per block.
template <int THREADS, int MAX_D>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    kv_append(const float *__restrict__ kIn, const float *__restrict__ vIn,
              const uint16_t *__restrict__ kNorm, int zeroCentered, float eps,
              int rotary, float theta, const int32_t *__restrict__ position,
              float *__restrict__ kCache, float *__restrict__ vCache, int hkv,
              int d) {
  waitForPreviousLaunch();
  constexpr int kWaves = THREADS / kWaveSize;
  FD_SHARED float kx[kWaves][MAX_D];
  const int wave = threadX() / kWaveSize, lane = laneId();
  const int h = blockX() * kWaves + wave;
  if (h >= hkv) {
    return;
  }
  const int pos = *position;
  for (int i = lane; i < d; i += kWaveSize) {
    kx[wave][i] = kIn[static_cast<int64_t>(h) * d + i];
  }
  waveBarrier();
  normRopeWave(kx[wave], kNorm, zeroCentered, eps, d, rotary, theta, pos);
  const int64_t base = (static_cast<int64_t>(pos) * hkv + h) * d;
  for (int i = lane; i < d; i += kWaveSize) {
    kCache[base + i] = kx[wave][i];
    vCache[base + i] = vIn[static_cast<int64_t>(h) * d + i];
  }
}

/// softmax(q kᵀ / sqrt(D)) v over positions 0..*position, split over
/// positions (flash decoding). Block (head group, split) takes one chunk of
/// the positions for GROUP query heads sharing a KV head (qPerKv query
/// heads per KV head, GROUP of them per block so that their q and o rows
/// stay in registers): a wave per position, D / wave-size values per lane
/// (coalesced rows), an online softmax per wave, the waves merged in shared
/// memory into one partial (max, sum, unnormalised o) per head in
/// `partials`. The last block of a head group to finish — counted in
/// done[head group], which it resets to 0 for the next launch — merges the
/// partials and writes o (times sigmoid(gate) when the q row holds
/// [query D | gate D] per head) as bf16. Chunks hold at least `minChunk`
/// positions and are a multiple of the waves, so a short context uses fewer
/// splits (fewer blocks paying the q row's norm and RoPE, fewer partials to
/// merge). `partials`: hq * SPLITS * (D + 2) floats.
/// APPEND = 1 (fd-fuse-kv-append) does kv_append's work here: the blocks
/// of the last chunk, the one ending at *position, normalise and rotate
/// the token's key (kIn, kNorm: kv_append's normRopeWave, so the same bits)
/// into shared memory and attend to it and to vIn from there, and the
/// first head group of each KV head writes both rows to the cache
/// (kCacheOut / vCacheOut, the arrays kCache / vCache read: no block reads
/// the position it writes). A wave still takes its positions in ascending
/// order, the newest last, so the output is the two launches' bit for bit.
template <int THREADS, int D, int GROUP, int SPLITS, int APPEND = 0>
FD_GLOBAL void FD_LAUNCH_BOUNDS(THREADS)
    attention_decode(const float *__restrict__ qIn,
                     const uint16_t *__restrict__ qNorm, int zeroCentered,
                     float eps, int rotary, float theta,
                     const int32_t *__restrict__ position,
                     const float *__restrict__ kCache,
                     const float *__restrict__ vCache, float *partials,
                     uint32_t *done, uint16_t *__restrict__ out, int hkv,
                     int qPerKv, int outputGate, int minChunk,
                     const float *__restrict__ kIn = nullptr,
                     const float *__restrict__ vIn = nullptr,
                     const uint16_t *__restrict__ kNorm = nullptr,
                     float *kCacheOut = nullptr, float *vCacheOut = nullptr) {
  waitForPreviousLaunch();
  constexpr int kWaves = THREADS / kWaveSize;
  constexpr int kPer = (D + kWaveSize - 1) / kWaveSize; // values per lane
  FD_SHARED float q[GROUP][D];
  FD_SHARED float stage[kWaves][D];
  FD_SHARED float waveMax[kWaves][GROUP], waveSumExp[kWaves][GROUP];
  FD_SHARED float splitMax[SPLITS][GROUP], splitSum[SPLITS][GROUP];
  FD_SHARED float headMax[GROUP], headInvSum[GROUP];
  FD_SHARED float kNew[APPEND ? D : 1], vNew[APPEND ? D : 1];
  FD_SHARED int last;
  const int hg = blockX(), split = blockY();
  const int head0 = hg * GROUP, kvh = head0 / qPerKv;
  const int groups = hkv * qPerKv / GROUP;
  const int wave = threadX() / kWaveSize, lane = laneId();
  const int pos = *position, len = pos + 1;
  int chunk = (len + SPLITS - 1) / SPLITS;
  chunk = chunk > minChunk ? chunk : minChunk;
  chunk = (chunk + kWaves - 1) / kWaves * kWaves;
  const int active = (len + chunk - 1) / chunk;
  if (split >= active) {
    return;
  }
  const int begin = split * chunk;
  const int end = begin + chunk < len ? begin + chunk : len;
  const int qStride = outputGate ? 2 * D : D;
  for (int g = wave; g < GROUP; g += kWaves) {
    const float *row = qIn + static_cast<int64_t>(head0 + g) * qStride;
    for (int i = lane; i < D; i += kWaveSize) {
      q[g][i] = row[i];
    }
    waveBarrier();
    normRopeWave(q[g], qNorm, zeroCentered, eps, D, rotary, theta, pos);
  }
  // APPEND: this chunk ends at the token's own position, whose key and
  // value come from kIn / vIn (the last wave: idle above when GROUP < 8).
  const bool newest = APPEND && end == len;
  if (APPEND && newest && wave == kWaves - 1) {
    const int64_t src = static_cast<int64_t>(kvh) * D;
    for (int i = lane; i < D; i += kWaveSize) {
      kNew[i] = kIn[src + i];
      vNew[i] = vIn[src + i];
    }
    waveBarrier();
    normRopeWave(kNew, kNorm, zeroCentered, eps, D, rotary, theta, pos);
    if (head0 % qPerKv == 0) { // one writer per KV head
      const int64_t dst = (static_cast<int64_t>(pos) * hkv + kvh) * D;
      for (int i = lane; i < D; i += kWaveSize) {
        kCacheOut[dst + i] = kNew[i];
        vCacheOut[dst + i] = vNew[i];
      }
    }
  }
  barrier();
  const float scale = 1.0f / sqrtF(static_cast<float>(D));
  float qr[GROUP][kPer], acc[GROUP][kPer], m[GROUP], l[GROUP];
#pragma unroll
  for (int g = 0; g < GROUP; ++g) {
#pragma unroll
    for (int e = 0; e < kPer; ++e) {
      const int j = e * kWaveSize + lane;
      qr[g][e] = j < D ? q[g][j] * scale : 0.0f;
      acc[g][e] = 0.0f;
    }
    m[g] = negInf();
    l[g] = 0.0f;
  }
  // One position's key and value rows (kPer values a lane) into the
  // wave's online softmax of each of its GROUP heads.
  auto attend = [&](const float(&kx)[kPer], const float(&vx)[kPer]) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      float s = 0.0f;
#pragma unroll
      for (int e = 0; e < kPer; ++e) {
        s += qr[g][e] * kx[e];
      }
      s = waveSum<kWaveSize>(s);
      const float mNew = s > m[g] ? s : m[g];
      const float correction = expFast(m[g] - mNew), w = expFast(s - mNew);
      l[g] = l[g] * correction + w;
#pragma unroll
      for (int e = 0; e < kPer; ++e) {
        acc[g][e] = acc[g][e] * correction + w * vx[e];
      }
      m[g] = mNew;
    }
  };
  const int cacheEnd = newest ? pos : end; // APPEND: pos from kNew / vNew
#pragma unroll 2
  for (int p = begin + wave; p < cacheEnd; p += kWaves) {
    const int64_t row = (static_cast<int64_t>(p) * hkv + kvh) * D;
    float kx[kPer], vx[kPer];
#pragma unroll
    for (int e = 0; e < kPer; ++e) {
      const int j = e * kWaveSize + lane;
      kx[e] = j < D ? kCache[row + j] : 0.0f;
      vx[e] = j < D ? vCache[row + j] : 0.0f;
    }
    attend(kx, vx);
  }
  if (APPEND && newest && (pos - begin) % kWaves == wave) {
    float kx[kPer], vx[kPer];
#pragma unroll
    for (int e = 0; e < kPer; ++e) {
      const int j = e * kWaveSize + lane;
      kx[e] = j < D ? kNew[j] : 0.0f;
      vx[e] = j < D ? vNew[j] : 0.0f;
    }
    attend(kx, vx);
  }
  // Merge the waves (a wave without positions has max -inf and adds 0).
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < GROUP; ++g) {
      waveMax[wave][g] = m[g];
      waveSumExp[wave][g] = l[g];
    }
  }
  barrier();
  const int64_t oBase = static_cast<int64_t>(hg) * SPLITS * GROUP * D;
  const int64_t mlBase = static_cast<int64_t>(groups) * SPLITS * GROUP * D +
                         static_cast<int64_t>(hg) * SPLITS * GROUP * 2;
#pragma unroll
  for (int g = 0; g < GROUP; ++g) {
    float blockMaxG = waveMax[0][g];
    for (int w = 1; w < kWaves; ++w) {
      blockMaxG = waveMax[w][g] > blockMaxG ? waveMax[w][g] : blockMaxG;
    }
    const float c = expFast(m[g] - blockMaxG);
#pragma unroll
    for (int e = 0; e < kPer; ++e) {
      const int j = e * kWaveSize + lane;
      if (j < D) {
        stage[wave][j] = acc[g][e] * c;
      }
    }
    // One chunk holds every position (active == 1): every thread takes the
    // sum and the block's merge of its waves is written straight out — no
    // partials, no count — with the merge's arithmetic below for one
    // split, o * (1 / sum). Otherwise thread 0 leaves it with the partial.
    const bool alone = active == 1;
    float sumExp = 0.0f;
    if (alone || threadX() == 0) {
      for (int w = 0; w < kWaves; ++w) {
        sumExp += waveSumExp[w][g] * expFast(waveMax[w][g] - blockMaxG);
      }
    }
    barrier();
    float *o = partials + oBase + (static_cast<int64_t>(split) * GROUP + g) * D;
    const float inv = 1.0f / sumExp;
    const int h = head0 + g;
    for (int j = threadX(); j < D; j += THREADS) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWaves; ++w) {
        sum += stage[w][j];
      }
      if (alone) {
        float v = inv * sum;
        if (outputGate) {
          v *= sigmoidF(qIn[static_cast<int64_t>(h) * qStride + D + j]);
        }
        out[static_cast<int64_t>(h) * D + j] = floatToBf16(v);
      } else {
        o[j] = sum;
      }
    }
    if (!alone && threadX() == 0) {
      float *ml =
          partials + mlBase + (static_cast<int64_t>(split) * GROUP + g) * 2;
      ml[0] = blockMaxG;
      ml[1] = sumExp;
    }
    barrier();
  }
  if (active == 1) {
    return;
  }
  // Release this block's partial, then count the block.
  fenceDevice();
  barrier();
  if (threadX() == 0) {
    last = atomicAddDevice(done + hg, 1u) == static_cast<uint32_t>(active - 1);
  }
  barrier();
  if (!last) {
    return;
  }
  fenceDevice(); // acquire every other block's partial
  for (int i = threadX(); i < active * GROUP; i += THREADS) {
    splitMax[i / GROUP][i % GROUP] =
        loadCoherent(partials + mlBase + static_cast<int64_t>(i) * 2);
    splitSum[i / GROUP][i % GROUP] =
        loadCoherent(partials + mlBase + static_cast<int64_t>(i) * 2 + 1);
  }
  barrier();
  for (int g = threadX(); g < GROUP; g += THREADS) {
    float mx = negInf();
    for (int s = 0; s < active; ++s) {
      mx = splitMax[s][g] > mx ? splitMax[s][g] : mx;
    }
    float sumExp = 0.0f;
    for (int s = 0; s < active; ++s) {
      sumExp += splitSum[s][g] * expFast(splitMax[s][g] - mx);
    }
    headMax[g] = mx;
    headInvSum[g] = 1.0f / sumExp;
  }
  barrier();
  for (int i = threadX(); i < active * GROUP; i += THREADS) {
    const int g = i % GROUP;
    splitMax[i / GROUP][g] =
        expFast(splitMax[i / GROUP][g] - headMax[g]) * headInvSum[g];
  }
  barrier();
  // A thread's kOuts outputs together, the splits outer: each split's
  // loads are independent, so they are in flight at once (one output at a
  // time waited for its loads once per output). Each output still sums the
  // splits in ascending order.
  constexpr int kOuts = (GROUP * D + THREADS - 1) / THREADS;
  float sum[kOuts], gate[kOuts];
#pragma unroll
  for (int n = 0; n < kOuts; ++n) {
    const int i = threadX() + n * THREADS;
    sum[n] = 0.0f;
    gate[n] = 1.0f;
    if (outputGate && i < GROUP * D) {
      gate[n] = sigmoidF(
          qIn[static_cast<int64_t>(head0 + i / D) * qStride + D + i % D]);
    }
  }
  const float *o = partials + oBase;
#pragma unroll 2
  for (int s = 0; s < active; ++s) {
#pragma unroll
    for (int n = 0; n < kOuts; ++n) {
      const int i = threadX() + n * THREADS;
      if (i < GROUP * D) {
        sum[n] += splitMax[s][i / D] *
                  loadCoherent(o + static_cast<int64_t>(s) * GROUP * D + i);
      }
    }
  }
#pragma unroll
  for (int n = 0; n < kOuts; ++n) {
    const int i = threadX() + n * THREADS;
    if (i < GROUP * D) {
      const float v = outputGate ? sum[n] * gate[n] : sum[n];
      out[static_cast<int64_t>(head0 + i / D) * D + i % D] = floatToBf16(v);
    }
  }
  if (threadX() == 0) {
    done[hg] = 0;
  }
}

} // namespace fd::kernels

#endif
