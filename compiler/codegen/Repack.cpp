//===- Repack.cpp - checkpoint packings -> kernel weight layouts ----------===//

#include "compiler/codegen/Repack.h"
#include "compiler/reference/Dequant.h"

#include <cstring>

namespace fd::codegen {

namespace {
bool allEight(const std::vector<uint8_t> &z) {
  for (uint8_t v : z) {
    if (v != 8) {
      return false;
    }
  }
  return true;
}
} // namespace

W4RowMajor repackGptq4(const int32_t *qweight, const int32_t *qzeros,
                       const uint16_t *scales, int64_t n, int64_t k,
                       int64_t groupSize) {
  W4RowMajor w;
  w.n = n;
  w.k = k;
  w.group = groupSize == -1 ? k : groupSize;
  const int64_t words = k / 8, groups = k / w.group;
  // GPTQ's word (kr, n) already holds k = 8kr..8kr+7 of column n in the
  // kernel's nibble order: the repack is a transpose of int32 words.
  w.qweight.resize(static_cast<size_t>(n * words));
  for (int64_t kr = 0; kr < words; ++kr) {
    for (int64_t c = 0; c < n; ++c) {
      w.qweight[c * words + kr] = qweight[kr * n + c];
    }
  }
  w.scales.resize(static_cast<size_t>(n * groups));
  w.zeros.resize(static_cast<size_t>(n * groups));
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t c = 0; c < n; ++c) {
      w.scales[c * groups + g] = scales[g * n + c];
      uint32_t word = static_cast<uint32_t>(qzeros[g * (n / 8) + c / 8]);
      w.zeros[c * groups + g] =
          static_cast<uint8_t>(((word >> (4 * (c % 8))) & 0xFu) + 1);
    }
  }
  if (allEight(w.zeros)) {
    w.zeros.clear();
  }
  return w;
}

W4RowMajor repackCompressed4(const int32_t *packed, const int32_t *zeroPoints,
                             const uint16_t *scales, int64_t n, int64_t k,
                             int64_t groupSize) {
  W4RowMajor w;
  w.n = n;
  w.k = k;
  w.group = groupSize == -1 ? k : groupSize;
  const int64_t groups = k / w.group;
  // Values are stored + 8, i.e. as unsigned codes with zero point 8: the
  // same codes the kernel reads.
  w.qweight.assign(packed, packed + n * (k / 8));
  w.scales.assign(scales, scales + n * groups);
  if (zeroPoints) {
    w.zeros.resize(static_cast<size_t>(n * groups));
    for (int64_t c = 0; c < n; ++c) {
      for (int64_t g = 0; g < groups; ++g) {
        uint32_t word = static_cast<uint32_t>(zeroPoints[(c / 8) * groups + g]);
        // Stored zp + 8; the weight is (q+8) - (zp+8) = q - zp: the code of
        // the zero point is the stored field itself.
        w.zeros[c * groups + g] =
            static_cast<uint8_t>((word >> (4 * (c % 8))) & 0xFu);
      }
    }
    if (allEight(w.zeros)) {
      w.zeros.clear();
    }
  }
  return w;
}

std::vector<float> dequantRowMajor(const W4RowMajor &w) {
  return reference::dequantW4RowMajor(
      w.qweight.data(), w.scales.data(),
      w.zeros.empty() ? nullptr : w.zeros.data(), w.n, w.k, w.group);
}

} // namespace fd::codegen
