//===- glu.h - gate/up GEMVs with the SiLU·mul epilogue ---------*- C++ -*-===//
//
// y[n] = bf16(silu(Wg[n] . x) * (Wu[n] . x)): a SwiGLU MLP's gate and up
// projections and the activation between them in one launch (fd-fuse-glu).
// Each lane group computes ROWS rows of the gate and the same ROWS rows of
// the up projection in one K loop, so 2 x ROWS rows' weights are in flight
// per lane; the K order and the reductions are those of the unfused GEMVs
// with the same LANES, and silu(g) * u is silu_mul's expression, so the
// result is bit-identical to gemv + gemv + silu_mul with equal LANES.
// The two matrices keep their own buffers (no interleaved copy), so fused
// and unfused plans read the same weights file.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_GLU_H
#define FUSEDECODE_TEMPLATES_GLU_H

#include "elementwise.h"

namespace fd::kernels {

/// Rows r and ROWS + r of acc are row r's gate and up dot products: the
/// group's first lane stores bf16(silu(gate) * up) for the rows that exist.
template <int ROWS, int LANES>
FD_DEVICE void reduceGluAndStore(float (&acc)[2 * ROWS][1], uint16_t *y, int n,
                                 int row0, int lane) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const float g = waveSum<LANES>(acc[r][0]);
    const float u = waveSum<LANES>(acc[ROWS + r][0]);
    if (lane == 0 && row0 + r < n) {
      y[row0 + r] = floatToBf16(siluF(g) * u);
    }
  }
}

/// Block `block` of a gate/up launch: the ROWS x 32/LANES x WAVES rows of
/// both matrices it owns, y = bf16(silu(Wg x) * (Wu x)). KIND 1 is the w4a16
/// layout (both [N][K], equal GROUP and zero-point packing; gate and up are
/// the packed words), 2 bf16 [N][K] (scales and zeros unused). gemv_*_glu
/// and router_gemv_topk_glu's shared expert run exactly this.
template <int KIND, int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_DEVICE void
gluBlock(const void *__restrict__ gate, const uint16_t *__restrict__ gateScales,
         const uint8_t *__restrict__ gateZeros, const void *__restrict__ up,
         const uint16_t *__restrict__ upScales,
         const uint8_t *__restrict__ upZeros, const uint16_t *__restrict__ x,
         uint16_t *__restrict__ y, int n, int k, int block) {
  static_assert(KIND == kSegmentW4 || KIND == kSegmentBf16,
                "gate/up kind: 1 = w4a16, 2 = bf16");
  const WaveSplit<ROWS, LANES> split(WAVES, block);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  float acc[2 * ROWS][1] = {};
  if constexpr (KIND == kSegmentW4) {
    W4Rows<2 * ROWS> w;
    setW4Rows<0, ROWS, 2 * ROWS, GROUP, ZEROS>(
        w, static_cast<const int32_t *>(gate), gateScales, gateZeros, k, rows);
    setW4Rows<ROWS, ROWS, 2 * ROWS, GROUP, ZEROS>(
        w, static_cast<const int32_t *>(up), upScales, upZeros, k, rows);
    gemvW4Partial<2 * ROWS, LANES, 1, GROUP, ZEROS>(w, x, k, split.lane, acc);
  } else {
    Bf16Rows<2 * ROWS> w;
    setBf16Rows<0, ROWS, 2 * ROWS>(w, static_cast<const uint16_t *>(gate), k,
                                   rows);
    setBf16Rows<ROWS, ROWS, 2 * ROWS>(w, static_cast<const uint16_t *>(up), k,
                                      rows);
    gemvBf16Partial<2 * ROWS, LANES, 1, uint16_t>(w, x, k, split.lane, acc);
  }
  reduceGluAndStore<ROWS, LANES>(acc, y, n, split.row0, split.lane);
}

/// prefetchBlockRows of block `block`'s rows of both matrices.
template <int KIND, int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_DEVICE void gluPrefetch(const void *gate, const uint16_t *gateScales,
                           const uint8_t *gateZeros, const void *up,
                           const uint16_t *upScales, const uint8_t *upZeros,
                           int n, int k, int block) {
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  prefetchBlockRows<KIND, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
      gate, gateScales, gateZeros, n, k, block);
  prefetchBlockRows<KIND, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
      up, upScales, upZeros, n, k, block);
}

/// Gate and up in the w4a16 layout (both [N][K], equal GROUP and zero-point
/// packing), x bf16 [K], y bf16 [N].
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32) gemv_w4a16_glu(
    const int32_t *__restrict__ gateQ, const uint16_t *__restrict__ gateScales,
    const uint8_t *__restrict__ gateZeros, const int32_t *__restrict__ upQ,
    const uint16_t *__restrict__ upScales, const uint8_t *__restrict__ upZeros,
    const uint16_t *__restrict__ x, uint16_t *__restrict__ y, int n, int k) {
  gluPrefetch<kSegmentW4, ROWS, LANES, WAVES, GROUP, ZEROS>(
      gateQ, gateScales, gateZeros, upQ, upScales, upZeros, n, k, blockX());
  waitForPreviousLaunch();
  gluBlock<kSegmentW4, ROWS, LANES, WAVES, GROUP, ZEROS>(
      gateQ, gateScales, gateZeros, upQ, upScales, upZeros, x, y, n, k,
      blockX());
}

/// The routed experts' gate/up: blockY is the top-k slot whose expert id is
/// read from device memory; weights [E, N, ...] in the w4a16 layout; x one
/// row shared by every slot; y bf16 [slots][N] (the down projection's input).
/// LANES 32 with K in {1024, 2048, 4096}, K / 1024 dividing WAVES, takes
/// gemv.h's x-stationary step for both matrices (bit-identical to the
/// per-lane one, which X_STATIONARY false keeps: check-kernels' own kernel).
/// The body after the kernel's wait.
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS,
          bool X_STATIONARY>
FD_DEVICE void gemvW4a16ExpertsGluBlock(
    const int32_t *__restrict__ gateQ, const uint16_t *__restrict__ gateScales,
    const uint8_t *__restrict__ gateZeros, const int32_t *__restrict__ upQ,
    const uint16_t *__restrict__ upScales, const uint8_t *__restrict__ upZeros,
    const int32_t *__restrict__ expertIds, const uint16_t *__restrict__ x,
    uint16_t *__restrict__ y, int n, int k) {
  const int slot = blockY();
  const int64_t e = expertIds[slot];
  const int64_t words = static_cast<int64_t>(n) * (k / 8);
  const int64_t groups = static_cast<int64_t>(n) * (k / GROUP);
  constexpr int kXFloats = kW4XLocalFloats<WAVES, 2 * ROWS * WAVES>;
  if constexpr (X_STATIONARY && LANES == 32 && kXFloats > 0) {
    FD_SHARED float part[kXFloats];
    const int64_t rowWords = k / 8, rowGroups = k / GROUP;
    // Selected, not indexed: a run-time index into a pointer array would
    // put it on the stack.
    auto rowOf = [&](int mat, int row) {
      const int64_t w = e * words + row * rowWords;
      const int64_t g = e * groups + row * rowGroups;
      return W4Row{(mat ? upQ : gateQ) + w, (mat ? upScales : gateScales) + g,
                   ZEROS ? (mat ? upZeros : gateZeros) + g : nullptr};
    };
    uint16_t *ySlot = y + static_cast<int64_t>(slot) * n;
    auto store = [&](int row, const float(&sums)[2]) {
      ySlot[row] = floatToBf16(siluF(sums[0]) * sums[1]);
    };
    if (w4XDispatch<WAVES, 2 * ROWS * WAVES>(k, [&](auto chunks) {
          w4XStationaryBlock<decltype(chunks)::value, ROWS, WAVES, 2, GROUP,
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
  W4Rows<2 * ROWS> w;
  setW4Rows<0, ROWS, 2 * ROWS, GROUP, ZEROS>(
      w, gateQ + e * words, gateScales + e * groups,
      ZEROS ? gateZeros + e * groups : gateZeros, k, rows);
  setW4Rows<ROWS, ROWS, 2 * ROWS, GROUP, ZEROS>(
      w, upQ + e * words, upScales + e * groups,
      ZEROS ? upZeros + e * groups : upZeros, k, rows);
  float acc[2 * ROWS][1] = {};
  gemvW4Partial<2 * ROWS, LANES, 1, GROUP, ZEROS>(w, x, k, split.lane, acc);
  reduceGluAndStore<ROWS, LANES>(acc, y + static_cast<int64_t>(slot) * n, n,
                                 split.row0, split.lane);
}

template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32) gemv_w4a16_experts_glu(
    const int32_t *__restrict__ gateQ, const uint16_t *__restrict__ gateScales,
    const uint8_t *__restrict__ gateZeros, const int32_t *__restrict__ upQ,
    const uint16_t *__restrict__ upScales, const uint8_t *__restrict__ upZeros,
    const int32_t *__restrict__ expertIds, const uint16_t *__restrict__ x,
    uint16_t *__restrict__ y, int n, int k) {
  waitForPreviousLaunch();
  gemvW4a16ExpertsGluBlock<ROWS, LANES, WAVES, GROUP, ZEROS, true>(
      gateQ, gateScales, gateZeros, upQ, upScales, upZeros, expertIds, x, y, n,
      k);
}

/// Gate and up bf16 [N][K] (the shared expert of the released checkpoints).
template <int ROWS, int LANES, int WAVES>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_bf16_glu(const uint16_t *__restrict__ gate,
                  const uint16_t *__restrict__ up,
                  const uint16_t *__restrict__ x, uint16_t *__restrict__ y,
                  int n, int k) {
  gluPrefetch<kSegmentBf16, ROWS, LANES, WAVES, 32, false>(
      gate, nullptr, nullptr, up, nullptr, nullptr, n, k, blockX());
  waitForPreviousLaunch();
  gluBlock<kSegmentBf16, ROWS, LANES, WAVES, 32, false>(
      gate, nullptr, nullptr, up, nullptr, nullptr, x, y, n, k, blockX());
}

} // namespace fd::kernels

#endif
