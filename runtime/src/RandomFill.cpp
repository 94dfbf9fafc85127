//===- RandomFill.cpp - device buffers of valid random data ---------------===//

#include "RandomFill.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

namespace fd::runtime {

namespace {

/// splitmix64: fast, and the same stream on every machine.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float unit() { return static_cast<float>(next() >> 40) / 16777216.0f; }
};

} // namespace

fd_error_t fillRandom(GpuDriver &gpu, const std::string &layout,
                      uint64_t address, uint64_t bytes, uint64_t seed) {
  SplitMix rng{seed};
  constexpr size_t kChunk = size_t(64) << 20;
  std::vector<uint8_t> host;
  for (uint64_t done = 0; done < bytes; done += kChunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - done));
    host.assign(n, 0);
    if (layout == "zero") {
      // host is already zero: counters that must start at 0
    } else if (layout == "w4.qweight") {
      for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = rng.next();
        std::memcpy(&host[i], &v, 8);
      }
    } else if (layout == "w8.qweight") {
      // Codes in [-127, 127], roughly what a max-scaled group holds.
      for (size_t i = 0; i < n; ++i) {
        host[i] = static_cast<uint8_t>(
            static_cast<int8_t>(static_cast<int>(rng.next() % 255) - 127));
      }
    } else if (layout.rfind("w8.scales", 0) == 0) {
      for (size_t i = 0; i + 2 <= n; i += 2) {
        // max|w| of a bf16 head row ~0.04 over 127 codes.
        _Float16 h = static_cast<_Float16>((0.8f + 0.4f * rng.unit()) * 3e-4f);
        std::memcpy(&host[i], &h, 2);
      }
    } else if (layout == "w4.zeros") {
      std::memset(host.data(), 8, n);
    } else if (layout == "w4.scales") {
      for (size_t i = 0; i + 2 <= n; i += 2) {
        _Float16 h =
            static_cast<_Float16>((0.8f + 0.4f * rng.unit()) * 0.0048f);
        std::memcpy(&host[i], &h, 2);
      }
    } else if (layout == "f32") {
      for (size_t i = 0; i + 4 <= n; i += 4) {
        float f = 0.5f + rng.unit();
        std::memcpy(&host[i], &f, 4);
      }
    } else { // bf16
      for (size_t i = 0; i + 2 <= n; i += 2) {
        float f = 0.08f * (rng.unit() - 0.5f);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        uint16_t h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(&host[i], &h, 2);
      }
    }
    if (fd_error_t err = gpu.copyToDevice(address + done, host.data(), n)) {
      return err;
    }
  }
  return nullptr;
}

fd_error_t fillExpertIds(GpuDriver &gpu, uint64_t address, uint64_t bytes,
                         int64_t below, uint64_t seed) {
  SplitMix rng{seed};
  std::vector<int32_t> ids(static_cast<size_t>(bytes / 4));
  std::vector<int32_t> all(static_cast<size_t>(std::max<int64_t>(below, 1)));
  std::iota(all.begin(), all.end(), 0);
  for (size_t i = 0; i < ids.size(); ++i) {
    // Partial Fisher-Yates: draw without replacement, restarting once every
    // expert was drawn.
    size_t left = all.size() - i % all.size();
    size_t j = static_cast<size_t>(rng.next() % left);
    std::swap(all[j], all[left - 1]);
    ids[i] = all[left - 1];
  }
  return gpu.copyToDevice(address, ids.data(), ids.size() * 4);
}

} // namespace fd::runtime
