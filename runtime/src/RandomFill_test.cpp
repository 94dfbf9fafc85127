//===- RandomFill_test.cpp - random weights on a recording driver ---------===//

#include "RandomFill.h"
#include "Status.h"

#include "fusedecode/status.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

using namespace fd::runtime;

namespace {

/// A GpuDriver whose device memory is one host array: copyToDevice and zero
/// write into it and count each byte written. The rest is never called.
class RecordingDriver final : public GpuDriver {
public:
  explicit RecordingDriver(size_t bytes) : memory(bytes, 0xAB), writes(bytes) {}
  std::vector<uint8_t> memory;
  std::vector<int> writes;
  size_t failAfterCopies = SIZE_MAX;
  size_t copies = 0;

  const char *api() const override { return "test"; }
  bool ownsTarget(const std::string &) const override { return false; }
  fd_error_t open(bool &) override { return nullptr; }
  std::string deviceName() const override { return "recording"; }
  std::string deviceTarget() const override { return ""; }
  fd_error_t memoryInfo(uint64_t &, uint64_t &) override { return nullptr; }
  fd_error_t bindThread() override { return nullptr; }
  fd_error_t loadModule(const std::string &, bool &) override {
    return nullptr;
  }
  fd_error_t function(const std::string &, void *&) override { return nullptr; }
  fd_error_t alloc(uint64_t &, size_t) override { return nullptr; }
  fd_error_t release(uint64_t) override { return nullptr; }
  fd_error_t copyToDevice(uint64_t dst, const void *src,
                          size_t bytes) override {
    if (copies++ == failAfterCopies) {
      return makeError("copy refused");
    }
    EXPECT_LE(dst + bytes, memory.size());
    std::memcpy(memory.data() + dst, src, bytes);
    for (size_t i = 0; i < bytes; ++i) {
      ++writes[dst + i];
    }
    return nullptr;
  }
  fd_error_t zero(uint64_t dst, size_t bytes) override {
    std::memset(memory.data() + dst, 0, bytes);
    for (size_t i = 0; i < bytes; ++i) {
      ++writes[dst + i];
    }
    return nullptr;
  }
  fd_error_t beginCapture() override { return nullptr; }
  fd_error_t launch(void *, const unsigned[3], const unsigned[3], void **,
                    const std::string &, bool) override {
    return nullptr;
  }
  fd_error_t endCapture() override { return nullptr; }
  fd_error_t copyToDeviceAsync(uint64_t, const void *, size_t) override {
    return nullptr;
  }
  fd_error_t replay() override { return nullptr; }
  fd_error_t copyToHostAsync(void *, uint64_t, size_t) override {
    return nullptr;
  }
  fd_error_t synchronize() override { return nullptr; }
  fd_error_t recordEvent(size_t) override { return nullptr; }
  fd_error_t elapsedMs(size_t, size_t, float &) override { return nullptr; }
};

/// Fills `bytes` at offset 16 of a recording driver; every byte of the
/// range must be written exactly once and nothing outside it.
std::vector<uint8_t> fill(const std::string &layout, size_t bytes,
                          uint64_t seed, unsigned workers) {
  RecordingDriver d(bytes + 32);
  fd_error_t e = fillRandom(d, layout, 16, bytes, seed, workers);
  EXPECT_EQ(e, nullptr) << (e ? fd_error_message(e) : "");
  for (size_t i = 0; i < d.writes.size(); ++i) {
    const bool inside = i >= 16 && i < 16 + bytes;
    if (d.writes[i] != (inside ? 1 : 0)) {
      ADD_FAILURE() << layout << ": byte " << i << " written " << d.writes[i]
                    << " times";
      break;
    }
  }
  return {d.memory.begin() + 16, d.memory.begin() + 16 + bytes};
}

// Three chunks and a ragged tail.
const size_t kBytes = 2 * kFillChunkBytes + 12346;

TEST(RandomFill, SameBytesWhateverTheNumberOfWorkers) {
  for (const char *layout : {"w4.qweight", "bf16", "f32", "w4.scales"}) {
    SCOPED_TRACE(layout);
    const std::vector<uint8_t> one = fill(layout, kBytes, 7, 1);
    EXPECT_EQ(one, fill(layout, kBytes, 7, 5));
    EXPECT_NE(one, fill(layout, kBytes, 8, 3)); // the seed picks the data
    // Chunks draw from distinct streams: no two chunks repeat each other.
    EXPECT_NE(0, std::memcmp(one.data(), one.data() + kFillChunkBytes,
                             kFillChunkBytes));
  }
}

TEST(RandomFill, ValuesOfEachLayoutAreValid) {
  const size_t n = kFillChunkBytes + 4096;
  {
    const std::vector<uint8_t> z = fill("w4.zeros", n, 1, 2);
    for (uint8_t b : z) {
      ASSERT_EQ(b, 8);
    }
    for (uint8_t b : fill("zero", n, 1, 2)) {
      ASSERT_EQ(b, 0);
    }
  }
  {
    const std::vector<uint8_t> q = fill("w8.qweight", n, 2, 2);
    size_t negative = 0;
    for (uint8_t b : q) {
      ASSERT_NE(static_cast<int8_t>(b), -128);
      negative += static_cast<int8_t>(b) < 0;
    }
    EXPECT_GT(negative, n / 3);
  }
  auto halves = [](const std::vector<uint8_t> &v) {
    std::vector<float> out(v.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      _Float16 h;
      std::memcpy(&h, &v[2 * i], 2);
      out[i] = static_cast<float>(h);
    }
    return out;
  };
  for (float s : halves(fill("w4.scales", n, 3, 2))) {
    ASSERT_TRUE(s >= 0.8f * 0.0048f * 0.998f && s <= 1.2f * 0.0048f * 1.001f)
        << s;
  }
  for (float s : halves(fill("w8.scales.g32", n, 3, 2))) {
    ASSERT_TRUE(s >= 0.8f * 3e-4f * 0.998f && s <= 1.2f * 3e-4f * 1.001f) << s;
  }
  {
    const std::vector<uint8_t> f = fill("f32", n, 4, 2);
    for (size_t i = 0; i + 4 <= f.size(); i += 4) {
      float v;
      std::memcpy(&v, &f[i], 4);
      ASSERT_TRUE(v >= 0.5f && v <= 1.5f) << v;
    }
  }
  {
    const std::vector<uint8_t> b = fill("bf16", n, 5, 2);
    size_t zeros = 0;
    for (size_t i = 0; i + 2 <= b.size(); i += 2) {
      const uint32_t bits = (static_cast<uint32_t>(b[i + 1]) << 24) |
                            (static_cast<uint32_t>(b[i]) << 16);
      float v;
      std::memcpy(&v, &bits, 4);
      ASSERT_TRUE(std::isfinite(v) && std::fabs(v) <= 0.04f) << v;
      zeros += v == 0.0f;
    }
    EXPECT_LT(zeros, b.size() / 2 / 1000); // never a buffer of zeros
  }
}

TEST(RandomFill, HostBytesEqualTheDevicesFill) {
  for (const char *layout : {"w4.qweight", "w4.scales", "bf16", "zero"}) {
    SCOPED_TRACE(layout);
    std::vector<uint8_t> host(kBytes, 0xCD);
    ASSERT_EQ(fillRandomHost(layout, host.data(), kBytes, 9, 3), nullptr);
    EXPECT_EQ(host, fill(layout, kBytes, 9, 2));
  }
  // Each weight draws from its own seed, a function of its name and the run's
  // seed only (not of where the plan lists it).
  EXPECT_NE(weightSeed(1, "w.a"), weightSeed(1, "w.b"));
  EXPECT_NE(weightSeed(1, "w.a"), weightSeed(2, "w.a"));
  EXPECT_EQ(weightSeed(1, std::string("w.a")), weightSeed(1, "w.a"));
}

TEST(RandomFill, CopyFailureIsReturned) {
  RecordingDriver d(kBytes);
  d.failAfterCopies = 1;
  fd_error_t e = fillRandom(d, "bf16", 0, kBytes, 1, 4);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(fd_error_message(e), "copy refused");
  fd_error_free(e);
  EXPECT_EQ(d.copies, 2u); // nothing copied after the failure
}

} // namespace
