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

/// Gate and up in the w4a16 layout (both [N][K], equal GROUP and zero-point
/// packing), x bf16 [K], y bf16 [N].
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32) gemv_w4a16_glu(
    const int32_t *__restrict__ gateQ, const uint16_t *__restrict__ gateScales,
    const uint8_t *__restrict__ gateZeros, const int32_t *__restrict__ upQ,
    const uint16_t *__restrict__ upScales, const uint8_t *__restrict__ upZeros,
    const uint16_t *__restrict__ x, uint16_t *__restrict__ y, int n, int k) {
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  prefetchBlockRows<kSegmentW4, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
      gateQ, gateScales, gateZeros, n, k, blockX());
  prefetchBlockRows<kSegmentW4, kRowsPerBlock, WAVES * 32, GROUP, ZEROS>(
      upQ, upScales, upZeros, n, k, blockX());
  waitForPreviousLaunch();
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  W4Rows<2 * ROWS> w;
  setW4Rows<0, ROWS, 2 * ROWS, GROUP, ZEROS>(w, gateQ, gateScales, gateZeros, k,
                                             rows);
  setW4Rows<ROWS, ROWS, 2 * ROWS, GROUP, ZEROS>(w, upQ, upScales, upZeros, k,
                                                rows);
  float acc[2 * ROWS][1] = {};
  gemvW4Partial<2 * ROWS, LANES, 1, GROUP, ZEROS>(w, x, k, split.lane, acc);
  reduceGluAndStore<ROWS, LANES>(acc, y, n, split.row0, split.lane);
}

/// The routed experts' gate/up: blockY is the top-k slot whose expert id is
/// read from device memory; weights [E, N, ...] in the w4a16 layout; x one
/// row shared by every slot; y bf16 [slots][N] (the down projection's input).
template <int ROWS, int LANES, int WAVES, int GROUP, bool ZEROS>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32) gemv_w4a16_experts_glu(
    const int32_t *__restrict__ gateQ, const uint16_t *__restrict__ gateScales,
    const uint8_t *__restrict__ gateZeros, const int32_t *__restrict__ upQ,
    const uint16_t *__restrict__ upScales, const uint8_t *__restrict__ upZeros,
    const int32_t *__restrict__ expertIds, const uint16_t *__restrict__ x,
    uint16_t *__restrict__ y, int n, int k) {
  waitForPreviousLaunch();
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  const int slot = blockY();
  const int64_t e = expertIds[slot];
  const int64_t words = static_cast<int64_t>(n) * (k / 8);
  const int64_t groups = static_cast<int64_t>(n) * (k / GROUP);
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

/// Gate and up bf16 [N][K] (the shared expert of the released checkpoints).
template <int ROWS, int LANES, int WAVES>
FD_GLOBAL void FD_LAUNCH_BOUNDS(WAVES * 32)
    gemv_bf16_glu(const uint16_t *__restrict__ gate,
                  const uint16_t *__restrict__ up,
                  const uint16_t *__restrict__ x, uint16_t *__restrict__ y,
                  int n, int k) {
  constexpr int kRowsPerBlock = ROWS * (32 / LANES) * WAVES;
  prefetchBlockRows<kSegmentBf16, kRowsPerBlock, WAVES * 32, 32, false>(
      gate, nullptr, nullptr, n, k, blockX());
  prefetchBlockRows<kSegmentBf16, kRowsPerBlock, WAVES * 32, 32, false>(
      up, nullptr, nullptr, n, k, blockX());
  waitForPreviousLaunch();
  const WaveSplit<ROWS, LANES> split(WAVES);
  if (split.waveRow0 >= n) {
    return;
  }
  int rows[ROWS];
  clampRows<ROWS>(split.row0, n, rows);
  Bf16Rows<2 * ROWS> w;
  setBf16Rows<0, ROWS, 2 * ROWS>(w, gate, k, rows);
  setBf16Rows<ROWS, ROWS, 2 * ROWS>(w, up, k, rows);
  float acc[2 * ROWS][1] = {};
  gemvBf16Partial<2 * ROWS, LANES, 1, uint16_t>(w, x, k, split.lane, acc);
  reduceGluAndStore<ROWS, LANES>(acc, y, n, split.row0, split.lane);
}

} // namespace fd::kernels

#endif
