//===- Dequant.cpp - integer weight packings to float ---------------------===//

#include "compiler/reference/Dequant.h"

#include "compiler/import/FloatBits.h"

#include <algorithm>
#include <cmath>

namespace fd::reference {

namespace {
/// The `index`-th `bits`-wide unsigned field of a stream of int32 words.
inline int32_t field(const int32_t *words, int64_t index, unsigned bits) {
  int64_t perWord = 32 / bits;
  uint32_t word = static_cast<uint32_t>(words[index / perWord]);
  uint32_t mask = (1u << bits) - 1u;
  return static_cast<int32_t>((word >> ((index % perWord) * bits)) & mask);
}
} // namespace

std::vector<float> dequantGptq(const int32_t *qweight, const int32_t *qzeros,
                               const float *scales, int64_t n, int64_t k,
                               unsigned bits, int64_t groupSize) {
  int64_t group = groupSize == -1 ? k : groupSize;
  int64_t perWord = 32 / bits;
  int64_t zeroRowWords = n / perWord;
  std::vector<float> w(static_cast<size_t>(n * k));
  for (int64_t kk = 0; kk < k; ++kk) {
    int64_t g = kk / group;
    // Row kk/perWord of qweight holds K-values kk..kk+perWord-1 for all N.
    const int32_t *row = qweight + (kk / perWord) * n;
    unsigned shift = static_cast<unsigned>((kk % perWord) * bits);
    for (int64_t nn = 0; nn < n; ++nn) {
      int32_t q = static_cast<int32_t>(
          (static_cast<uint32_t>(row[nn]) >> shift) & ((1u << bits) - 1u));
      int32_t zero = field(qzeros + g * zeroRowWords, nn, bits) + 1;
      w[nn * k + kk] = static_cast<float>(q - zero) * scales[g * n + nn];
    }
  }
  return w;
}

std::vector<float> dequantCompressed(const int32_t *packed,
                                     const int32_t *zeroPoints,
                                     const float *scales, int64_t n, int64_t k,
                                     unsigned bits, int64_t groupSize) {
  int64_t group = groupSize == -1 ? k : groupSize;
  int64_t groups = k / group;
  int64_t rowWords = k * bits / 32;
  int32_t offset = 1 << (bits - 1);
  std::vector<float> w(static_cast<size_t>(n * k));
  for (int64_t nn = 0; nn < n; ++nn) {
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t g = kk / group;
      int32_t q = field(packed + nn * rowWords, kk, bits) - offset;
      int32_t zp = 0;
      if (zeroPoints) {
        // [N*bits/32, K/G]: column g, packed along N.
        int64_t perWord = 32 / bits;
        uint32_t word =
            static_cast<uint32_t>(zeroPoints[(nn / perWord) * groups + g]);
        zp = static_cast<int32_t>((word >> ((nn % perWord) * bits)) &
                                  ((1u << bits) - 1u)) -
             offset;
      }
      w[nn * k + kk] = static_cast<float>(q - zp) * scales[nn * groups + g];
    }
  }
  return w;
}

std::vector<float> dequantW4RowMajor(const int32_t *qweight,
                                     const uint16_t *scales,
                                     const uint8_t *zeros, int64_t n, int64_t k,
                                     int64_t groupSize) {
  const int64_t words = k / 8, groups = k / groupSize;
  std::vector<float> out(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t kk = 0; kk < k; ++kk) {
      uint32_t word = static_cast<uint32_t>(qweight[r * words + kk / 8]);
      int q = static_cast<int>((word >> (4 * (kk % 8))) & 0xFu);
      int64_t g = kk / groupSize;
      int z = zeros ? zeros[r * groups + g] : 8;
      out[r * k + kk] = static_cast<float>(q - z) *
                        import::halfBitsToFloat(scales[r * groups + g]);
    }
  }
  return out;
}

Int8Rows quantizeInt8Rows(const float *w, int64_t n, int64_t k, int64_t group) {
  Int8Rows out;
  const int64_t groups = k / group;
  out.q.resize(static_cast<size_t>(n * k));
  out.scales.resize(static_cast<size_t>(n * groups));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float *src = w + r * k + g * group;
      float amax = 0;
      for (int64_t i = 0; i < group; ++i) {
        amax = std::max(amax, std::fabs(src[i]));
      }
      // The kernel multiplies by the stored fp16 scale: quantize with it.
      const uint16_t bits = import::floatToHalfBits(amax / 127.0f);
      const float scale = import::halfBitsToFloat(bits);
      out.scales[static_cast<size_t>(r * groups + g)] = bits;
      int8_t *dst = out.q.data() + r * k + g * group;
      for (int64_t i = 0; i < group; ++i) {
        const float v = scale > 0 ? std::nearbyint(src[i] / scale) : 0.0f;
        dst[i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
      }
    }
  }
  return out;
}

std::vector<float> dequantInt8Rows(const int8_t *q, const uint16_t *scales,
                                   int64_t n, int64_t k, int64_t group) {
  std::vector<float> w(static_cast<size_t>(n * k));
  const int64_t groups = k / group;
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < k; ++i) {
      w[static_cast<size_t>(r * k + i)] =
          static_cast<float>(q[r * k + i]) *
          import::halfBitsToFloat(scales[r * groups + i / group]);
    }
  }
  return w;
}

} // namespace fd::reference
