//===- RandomFill.cpp - device buffers of valid random data ---------------===//

#include "RandomFill.h"

#include "Status.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <numeric>
#include <thread>
#include <vector>

#include <xxhash.h>

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
  /// Two uniform floats in [0, 1) from one draw (24 bits each).
  void units(float &a, float &b) {
    const uint64_t v = next();
    a = static_cast<float>(v >> 40) / 16777216.0f;
    b = static_cast<float>((v >> 8) & 0xFFFFFFu) / 16777216.0f;
  }
};

/// The fp16 bits of a positive normal float within fp16's range, truncated:
/// a conversion through _Float16 is a library call on x86 without F16C and
/// made the scales the slowest part of a fill (0.09 GB/s on one core).
uint16_t halfBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t exponent = ((b >> 23) & 0xFFu) - 127u + 15u;
  return static_cast<uint16_t>(exponent << 10 | (b >> 13 & 0x3FFu));
}

/// The bf16 bits of a float, truncated.
uint16_t bf16Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>(b >> 16);
}

/// Positive fp16 values in [0.8, 1.2) x `scale`, two per draw.
void fillHalves(SplitMix &rng, uint8_t *out, size_t n, float scale) {
  for (size_t i = 0; i + 2 <= n; i += 4) {
    float a, b;
    rng.units(a, b);
    const uint16_t h[2] = {halfBits((0.8f + 0.4f * a) * scale),
                           halfBits((0.8f + 0.4f * b) * scale)};
    std::memcpy(out + i, h, i + 4 <= n ? 4 : 2);
  }
}

/// Bytes [0, n) of chunk `chunk` of a `layout` buffer: each chunk draws
/// from its own stream, so chunks can be made in any order, on any thread.
std::vector<uint8_t> makeChunk(const std::string &layout, size_t n,
                               uint64_t seed, uint64_t chunk) {
  SplitMix rng{seed ^ (0xD1B54A32D192ED03ull * (chunk + 1))};
  std::vector<uint8_t> host(n, 0);
  if (layout == "w4.qweight") {
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
    // max|w| of a bf16 head row ~0.04 over 127 codes.
    fillHalves(rng, host.data(), n, 3e-4f);
  } else if (layout == "w4.zeros") {
    std::memset(host.data(), 8, n);
  } else if (layout == "w4.scales") {
    fillHalves(rng, host.data(), n, 0.0048f);
  } else if (layout == "f32") {
    for (size_t i = 0; i + 4 <= n; i += 4) {
      float f = 0.5f + rng.unit();
      std::memcpy(&host[i], &f, 4);
    }
  } else { // bf16 ~ U(-0.04, 0.04), two per draw
    for (size_t i = 0; i + 2 <= n; i += 4) {
      float a, b;
      rng.units(a, b);
      const uint16_t h[2] = {bf16Bits(0.08f * (a - 0.5f)),
                             bf16Bits(0.08f * (b - 0.5f))};
      std::memcpy(&host[i], h, i + 4 <= n ? 4 : 2);
    }
  }
  return host;
}

unsigned defaultWorkers(unsigned workers) {
  return workers ? workers
                 : std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
}

/// Makes the chunks of a `bytes`-long buffer, up to `workers` ahead of the
/// oldest, and hands each to `take(chunk, data)` in order on this thread.
template <typename Take>
fd_error_t forEachChunk(const std::string &layout, uint64_t bytes,
                        uint64_t seed, unsigned workers, Take take) {
  const uint64_t chunks = (bytes + kFillChunkBytes - 1) / kFillChunkBytes;
  auto size = [&](uint64_t c) {
    return static_cast<size_t>(
        std::min<uint64_t>(kFillChunkBytes, bytes - c * kFillChunkBytes));
  };
  return guarded("random weights", [&]() -> fd_error_t {
    std::deque<std::future<std::vector<uint8_t>>> ahead;
    uint64_t next = 0;
    for (uint64_t c = 0; c < chunks; ++c) {
      for (; next < chunks && ahead.size() < defaultWorkers(workers); ++next) {
        ahead.push_back(std::async(std::launch::async, makeChunk,
                                   std::cref(layout), size(next), seed, next));
      }
      const std::vector<uint8_t> host = ahead.front().get();
      ahead.pop_front();
      if (fd_error_t err = take(c, host)) {
        return err; // ~ahead waits for the chunks still being made
      }
    }
    return nullptr;
  });
}

} // namespace

fd_error_t fillRandom(GpuDriver &gpu, const std::string &layout,
                      uint64_t address, uint64_t bytes, uint64_t seed,
                      unsigned workers) {
  if (layout == "zero") { // counters that must start at 0
    return bytes ? gpu.zero(address, bytes) : nullptr;
  }
  // The copies run on this thread (the driver's context is bound to it)
  // while the next chunks are made: the generator, not the copy, was the
  // bottleneck (a single thread filled ~1 GB/s).
  return forEachChunk(layout, bytes, seed, workers,
                      [&](uint64_t c, const std::vector<uint8_t> &host) {
                        return gpu.copyToDevice(address + c * kFillChunkBytes,
                                                host.data(), host.size());
                      });
}

fd_error_t fillRandomHost(const std::string &layout, uint8_t *out,
                          uint64_t bytes, uint64_t seed, unsigned workers) {
  if (layout == "zero") {
    std::memset(out, 0, bytes);
    return nullptr;
  }
  return forEachChunk(layout, bytes, seed, workers,
                      [&](uint64_t c, const std::vector<uint8_t> &host) {
                        std::memcpy(out + c * kFillChunkBytes, host.data(),
                                    host.size());
                        return fd_error_t{nullptr};
                      });
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

uint64_t weightSeed(uint64_t seed, std::string_view name) {
  return seed ^
         (0x9E3779B97F4A7C15ull * (XXH3_64bits(name.data(), name.size()) | 1));
}

} // namespace fd::runtime
