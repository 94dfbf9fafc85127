//===- Dequant_test.cpp - packed integer layouts, by hand -----------------===//

#include "compiler/import/FloatBits.h"
#include "compiler/reference/Dequant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace fd::reference;

namespace {

/// Packs 4-bit fields, value i at bits 4*i of the word.
int32_t pack4(std::initializer_list<int> v) {
  uint32_t w = 0;
  int i = 0;
  for (int x : v) {
    w |= static_cast<uint32_t>(x & 0xF) << (4 * i++);
  }
  return static_cast<int32_t>(w);
}

TEST(Dequant, GptqPackingAlongK) {
  // N = 8, K = 16, group 8: qweight [2, 8], qzeros [2, 1], scales [2, 8].
  const int64_t n = 8, k = 16;
  std::vector<int32_t> qweight(2 * n);
  for (int64_t c = 0; c < n; ++c) {
    // Column c holds q[k] = (k + c) % 16 for k = 0..15.
    for (int r = 0; r < 2; ++r) {
      uint32_t w = 0;
      for (int i = 0; i < 8; ++i) {
        w |= static_cast<uint32_t>((r * 8 + i + c) % 16) << (4 * i);
      }
      qweight[r * n + c] = static_cast<int32_t>(w);
    }
  }
  // Group 0: zero 8 for every column (stored 7); group 1: zero = column + 1
  // (stored column).
  std::vector<int32_t> qzeros = {pack4({7, 7, 7, 7, 7, 7, 7, 7}),
                                 pack4({0, 1, 2, 3, 4, 5, 6, 7})};
  std::vector<float> scales(2 * n);
  for (int64_t c = 0; c < n; ++c) {
    scales[c] = 0.5f;
    scales[n + c] = 0.25f * static_cast<float>(c + 1);
  }
  std::vector<float> w =
      dequantGptq(qweight.data(), qzeros.data(), scales.data(), n, k, 4, 8);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t kk = 0; kk < k; ++kk) {
      int q = static_cast<int>((kk + c) % 16);
      float want = kk < 8 ? (q - 8) * 0.5f
                          : (q - static_cast<int>(c + 1)) * 0.25f * (c + 1);
      EXPECT_FLOAT_EQ(w[c * k + kk], want) << "n=" << c << " k=" << kk;
    }
  }
}

TEST(Dequant, Gptq8Bit) {
  // N = 4, K = 4, per-channel: one int32 row holds 4 bytes along K.
  std::vector<int32_t> qweight(4);
  for (int c = 0; c < 4; ++c) {
    qweight[c] =
        static_cast<int32_t>(0x01020304u * static_cast<uint32_t>(c + 1));
  }
  std::vector<int32_t> qzeros = {static_cast<int32_t>(0x7f7f7f7fu)}; // zero 128
  std::vector<float> scales = {1, 1, 1, 1};
  std::vector<float> w =
      dequantGptq(qweight.data(), qzeros.data(), scales.data(), 4, 4, 8, -1);
  // Column 0: bytes 04 03 02 01 from the low end.
  EXPECT_FLOAT_EQ(w[0], 4 - 128);
  EXPECT_FLOAT_EQ(w[1], 3 - 128);
  EXPECT_FLOAT_EQ(w[3], 1 - 128);
  EXPECT_FLOAT_EQ(w[4 + 0], 8 - 128);
}

TEST(Dequant, CompressedTensors) {
  // N = 8, K = 8, group 8: weight_packed [8, 1], scale [8, 1].
  const int64_t n = 8, k = 8;
  std::vector<int32_t> packed(n);
  std::vector<float> scales(n);
  for (int64_t r = 0; r < n; ++r) {
    packed[r] = pack4({0, 1, 2, 7, 8, 9, 15, static_cast<int>(r)});
    scales[r] = 0.1f * static_cast<float>(r + 1);
  }
  std::vector<float> w =
      dequantCompressed(packed.data(), nullptr, scales.data(), n, k, 4, 8);
  const int stored[] = {0, 1, 2, 7, 8, 9, 15};
  for (int64_t r = 0; r < n; ++r) {
    for (int i = 0; i < 7; ++i) {
      EXPECT_FLOAT_EQ(w[r * k + i], (stored[i] - 8) * scales[r]);
    }
    EXPECT_FLOAT_EQ(w[r * k + 7], (static_cast<int>(r) - 8) * scales[r]);
  }
  // Asymmetric: zero points [1, 1] packed along N, stored with +8.
  std::vector<int32_t> zp = {pack4({8, 9, 10, 11, 12, 13, 14, 15})};
  std::vector<float> wz =
      dequantCompressed(packed.data(), zp.data(), scales.data(), n, k, 4, 8);
  for (int64_t r = 0; r < n; ++r) {
    EXPECT_FLOAT_EQ(wz[r * k + 4], (8 - 8 - static_cast<int>(r)) * scales[r]);
  }
}

TEST(Dequant, Int8RowsRoundTripWithinHalfAStep) {
  const int64_t n = 3, k = 64, group = 32;
  std::vector<float> w(n * k);
  for (int64_t i = 0; i < n * k; ++i) {
    w[i] = 0.01f * static_cast<float>((i * 37) % 101 - 50);
  }
  w[5] = 0.9f; // an outlier in row 0, group 0
  std::fill(w.begin() + k + 32, w.begin() + 2 * k, 0.0f); // an all-zero group
  Int8Rows q = quantizeInt8Rows(w.data(), n, k, group);
  ASSERT_EQ(q.q.size(), static_cast<size_t>(n * k));
  ASSERT_EQ(q.scales.size(), static_cast<size_t>(n * k / group));
  EXPECT_EQ(q.q[5], 127); // the group's maximum takes the top code
  std::vector<float> back =
      dequantInt8Rows(q.q.data(), q.scales.data(), n, k, group);
  for (int64_t i = 0; i < n * k; ++i) {
    const float scale = fd::import::halfBitsToFloat(
        q.scales[(i / k) * (k / group) + (i % k) / group]);
    EXPECT_LE(std::fabs(back[i] - w[i]), 0.5f * scale + 1e-7f) << i;
  }
  EXPECT_EQ(q.scales[1 * 2 + 1], 0); // the zero group: scale 0, codes 0
  EXPECT_EQ(back[k + 40], 0.0f);
  // Per channel (group = k) is one scale per row.
  EXPECT_EQ(quantizeInt8Rows(w.data(), n, k, k).scales.size(), 3u);
}

} // namespace
