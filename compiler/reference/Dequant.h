//===- Dequant.h - integer weight packings to float -------------*- C++ -*-===//
//
// Dequantizes the packed integer layouts the importer accepts into a dense
// row-major float [N, K] matrix (out features x in features, as a Hugging Face
// Linear weight).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_REFERENCE_DEQUANT_H
#define FUSEDECODE_COMPILER_REFERENCE_DEQUANT_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fd::reference {

/// GPTQ v1 packing (also AutoRound `auto_round:auto_gptq`): qweight int32
/// [K*bits/32, N] with value k at bits (k % (32/bits)) * bits of row
/// k / (32/bits); qzeros int32 [K/G, N*bits/32] packed the same way along N,
/// storing zero - 1; scales [K/G, N]. w[n][k] = (q - zero) * scale.
std::vector<float> dequantGptq(const int32_t *qweight, const int32_t *qzeros,
                               const float *scales, int64_t n, int64_t k,
                               unsigned bits, int64_t groupSize);

/// compressed-tensors `pack_quantized`: weight_packed int32 [N, K*bits/32]
/// packed along K with values offset by 2^(bits-1) to be unsigned;
/// weight_scale [N, K/G]; optional weight_zero_point int32 [N*bits/32, K/G]
/// packed along N with the same offset. w = (q - zp) * scale, zp = 0 when
/// absent.
std::vector<float> dequantCompressed(const int32_t *packed,
                                     const int32_t *zeroPoints,
                                     const float *scales, int64_t n, int64_t k,
                                     unsigned bits, int64_t groupSize);

/// The w4a16 GEMV kernels' layout (compiler/codegen/Repack.h, weights.fdw
/// `w4.*`): qweight int32 [N][K/8] with k at bits 4*(k % 8) of word k/8,
/// scales fp16 bits [N][K/G], zeros uint8 [N][K/G] (the zero point code;
/// null means 8 everywhere). The runtime's CPU backend reads weights.fdw
/// through this.
std::vector<float> dequantW4RowMajor(const int32_t *qweight,
                                     const uint16_t *scales,
                                     const uint8_t *zeros, int64_t n, int64_t k,
                                     int64_t groupSize);

/// Symmetric int8 of a float matrix [n][k] with one fp16 scale per `group`
/// values along K (group == k: per output channel): scale = max|w| / 127
/// rounded to fp16 first, q = round(w / scale) clamped to [-127, 127]. The
/// compile-time quantization of the lm_head (--lm-head-quant), shared by
/// weight packing, the CPU backend and fd-ref so all three compute the same.
struct Int8Rows {
  std::vector<int8_t> q;        // [n][k]
  std::vector<uint16_t> scales; // fp16 bits [n][k / group]
};
Int8Rows quantizeInt8Rows(const float *w, int64_t n, int64_t k, int64_t group);

/// w[i][j] = q[i][j] * scale[i][j / group].
std::vector<float> dequantInt8Rows(const int8_t *q, const uint16_t *scales,
                                   int64_t n, int64_t k, int64_t group);

} // namespace fd::reference

#endif
