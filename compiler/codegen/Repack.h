//===- Repack.h - checkpoint packings -> kernel weight layouts --*- C++ -*-===//
//
// The GEMV templates (codegen-templates/gemv.h) read each output row's K
// values contiguously, so a lane streams 16 bytes of one row at a time. The
// checkpoints pack along K but store rows as columns (GPTQ [K/8, N]); this
// file moves them into the kernels' row-major layout. Pure C++, no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_REPACK_H
#define FUSEDECODE_COMPILER_CODEGEN_REPACK_H

#include <cstdint>
#include <vector>

namespace fd::codegen {

/// 4-bit weights in the w4a16 GEMV layout: qweight int32 [N][K/8] (word j of
/// row n holds k = 8j..8j+7 at bits 4*(k % 8)), scales fp16 bits [N][K/G],
/// zeros uint8 [N][K/G] holding the zero point itself (empty when every zero
/// is 8, the symmetric case).
struct W4RowMajor {
  int64_t n = 0, k = 0, group = 0;
  std::vector<int32_t> qweight;
  std::vector<uint16_t> scales;
  std::vector<uint8_t> zeros;
};

/// From GPTQ v1 / AutoRound `auto_round:auto_gptq` 4-bit packing: qweight
/// int32 [K/8, N], qzeros int32 [K/G, N/8] storing zero - 1, scales fp16
/// [K/G, N]. groupSize -1 means one group per row.
W4RowMajor repackGptq4(const int32_t *qweight, const int32_t *qzeros,
                       const uint16_t *scales, int64_t n, int64_t k,
                       int64_t groupSize);

/// From compressed-tensors `pack_quantized` 4-bit: weight_packed int32
/// [N, K/8] of values + 8, weight_scale fp16 bits [N, K/G], optional
/// weight_zero_point int32 [N/8, K/G] (values + 8, packed along N).
W4RowMajor repackCompressed4(const int32_t *packed, const int32_t *zeroPoints,
                             const uint16_t *scales, int64_t n, int64_t k,
                             int64_t groupSize);

/// Dequantizes the kernel layout to float [N][K] (for tests and the host
/// reference of the GPU checks).
std::vector<float> dequantRowMajor(const W4RowMajor &w);

} // namespace fd::codegen

#endif
