//===- Repack_test.cpp - kernel layouts hold the checkpoint's weights -----===//

#include "compiler/codegen/Repack.h"
#include "compiler/import/FloatBits.h"
#include "compiler/reference/Dequant.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace fd;

namespace {

struct Shape {
  int64_t n, k, group;
  bool asym;
};

class Repack : public testing::TestWithParam<Shape> {};

TEST_P(Repack, GptqRoundTrip) {
  auto [n, k, group, asym] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(n * 31 + k + group));
  int64_t g = group == -1 ? k : group;
  std::vector<int32_t> qweight(static_cast<size_t>(k / 8 * n)),
      qzeros(static_cast<size_t>(k / g * n / 8));
  std::vector<uint16_t> scales(static_cast<size_t>(k / g * n));
  for (auto &w : qweight) {
    w = static_cast<int32_t>(rng());
  }
  for (auto &z : qzeros) {
    z = asym ? static_cast<int32_t>(rng()) : 0x77777777;
  }
  std::vector<float> scalesF(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = import::floatToHalfBits(0.001f + static_cast<float>(rng() % 1000) * 1e-5f);
    scalesF[i] = import::halfBitsToFloat(scales[i]);
  }
  codegen::W4RowMajor w = codegen::repackGptq4(qweight.data(), qzeros.data(),
                                               scales.data(), n, k, group);
  EXPECT_EQ(w.zeros.empty(), !asym);
  std::vector<float> want = reference::dequantGptq(
      qweight.data(), qzeros.data(), scalesF.data(), n, k, 4, group);
  EXPECT_EQ(codegen::dequantRowMajor(w), want);
}

TEST_P(Repack, CompressedRoundTrip) {
  auto [n, k, group, asym] = GetParam();
  std::mt19937 rng(static_cast<unsigned>(n + k * 7 + group));
  int64_t g = group == -1 ? k : group;
  std::vector<int32_t> packed(static_cast<size_t>(n * k / 8)),
      zp(static_cast<size_t>(n / 8 * (k / g)));
  std::vector<uint16_t> scales(static_cast<size_t>(n * (k / g)));
  for (auto &w : packed) {
    w = static_cast<int32_t>(rng());
  }
  for (auto &z : zp) {
    z = static_cast<int32_t>(rng());
  }
  std::vector<float> scalesF(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = import::floatToHalfBits(0.001f + static_cast<float>(rng() % 1000) * 1e-5f);
    scalesF[i] = import::halfBitsToFloat(scales[i]);
  }
  const int32_t *zeros = asym ? zp.data() : nullptr;
  codegen::W4RowMajor w = codegen::repackCompressed4(
      packed.data(), zeros, scales.data(), n, k, group);
  std::vector<float> want = reference::dequantCompressed(
      packed.data(), zeros, scalesF.data(), n, k, 4, group);
  EXPECT_EQ(codegen::dequantRowMajor(w), want);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Repack,
                         testing::Values(Shape{64, 128, 32, false},
                                         Shape{64, 128, 32, true},
                                         Shape{40, 256, 128, true},
                                         Shape{512, 256, 64, false},
                                         Shape{16, 64, -1, true}));

} // namespace
