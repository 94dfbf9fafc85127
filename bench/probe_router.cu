//===- probe_router.cu - what the router launch's time is made of ---------===//
//
// At the 35B-A3B router's shape (E = 256 bf16 logits over K = 2048, the
// shared expert's bf16 gate/up n = 512, the plan's (1, 32, 4) blocks) times
// router_gemv_topk_glu against kernels built from the same pieces that each
// drop part of its work:
//   gemv    the logits only (no count, no top-k);
//   count   the logits, each block counted, the last resets the count;
//   argmax  + the last block's softmax and k rounds of wave argmax (moe.h's
//           tail);
// each with and without the RMSNorm prologue and with and without the shared
// expert's 128 blocks. 200 launches captured back to back in a graph, each
// over its own copy of the weights (copies enough for 4x the L2), with and
// without programmatic dependent launch (the plan's overlapped launches),
// the median of 7 replays after 2; µs per launch. The probe's ids and weights
// are checked against the template's (bit for bit) on 4 random copies.
//   nvcc -std=c++17 -O3 -arch=sm_90 -Icodegen-templates bench/probe_router.cu
//     -o probe && ./probe
//
//===----------------------------------------------------------------------===//

#include "moe.h"
#include "probe_timing.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace fd::kernels;

constexpr int kLaunches = 200, kE = 256, kK = 2048, kN = 512, kTopk = 8;
constexpr int kRows = 1, kLanes = 32, kWaves = 4, kThreads = kWaves * 32;
constexpr int kRowsPerBlock = kRows * (32 / kLanes) * kWaves;
constexpr int kRouterBlocks = kE / kRowsPerBlock, kGluBlocks = kN / kRowsPerBlock;

enum Mode { kGemv, kCount, kArgmax };

template <int MODE, int NORM, bool GLU>
__global__ void __launch_bounds__(kThreads)
    routerProbe(const uint16_t *x, const uint16_t *w, const uint16_t *gate,
                const uint16_t *up, uint16_t *y, float *logits, int32_t *ids,
                float *weights, uint32_t *done, const float *h,
                const uint16_t *normW) {
  const int block = blockX();
  if (block < kRouterBlocks) {
    prefetchBlockRows<kSegmentBf16, kRowsPerBlock, kThreads, 32, false>(
        w, nullptr, nullptr, kE, kK, block);
  } else {
    gluPrefetch<kSegmentBf16, kRows, kLanes, kWaves, 32, false>(
        gate, nullptr, nullptr, up, nullptr, nullptr, kN, kK,
        block - kRouterBlocks);
  }
  waitForPreviousLaunch();
  x = gemvInput<NORM, kK, kThreads>(x, h, normW, nullptr, 1e-6f);
  if (GLU && block >= kRouterBlocks) {
    gluBlock<kSegmentBf16, kRows, kLanes, kWaves, 32, false>(
        gate, nullptr, nullptr, up, nullptr, nullptr, x, y, kN, kK,
        block - kRouterBlocks);
    return;
  }
  const GemvSegment seg{w, nullptr, nullptr, logits, kE};
  gemvSegmentBlock<kSegmentBf16, kRows, kLanes, kWaves, 32, false>(seg, x, kK,
                                                                    block);
  if (MODE == kGemv) {
    return;
  }
  FD_SHARED int last;
  fenceDevice();
  barrier();
  if (threadX() == 0) {
    last = atomicAddDevice(done, 1u) == kRouterBlocks - 1;
  }
  barrier();
  if (!last) {
    return;
  }
  fenceDevice();
  if (MODE != kCount && threadX() < kWaveSize) {
    softmaxTopkWave(logits, kE, kTopk, 1, ids, weights);
  }
  if (threadX() == 0) {
    *done = 0;
  }
}

struct Weights {
  std::vector<uint16_t *> w, gate, up;
};

/// Random bf16 of magnitude ~0.03 (copy 0) and a pattern (the rest).
uint16_t *deviceBf16(size_t count, bool random, std::mt19937 &rng) {
  std::vector<uint16_t> host(count);
  for (auto &v : host) {
    v = random ? static_cast<uint16_t>(0x3C00 + rng() % 0x200) ^
                     static_cast<uint16_t>((rng() & 1) << 15)
               : 0x3C80;
  }
  uint16_t *d;
  CHECK(cudaMalloc(&d, count * 2));
  CHECK(cudaMemcpy(d, host.data(), count * 2, cudaMemcpyHostToDevice));
  return d;
}

template <typename Launch> double usPerLaunch(bool overlap, Launch launch) {
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const double us = graphMicrosPerLaunch(
      stream, kLaunches, [&](int i, cudaStream_t s) {
        cudaLaunchAttribute attr{};
        attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr.val.programmaticStreamSerializationAllowed = 1;
        cudaLaunchConfig_t config{};
        config.stream = s;
        config.attrs = &attr;
        config.numAttrs = overlap ? 1 : 0;
        config.blockDim = dim3(kThreads);
        launch(config, i);
      });
  CHECK(cudaStreamDestroy(stream));
  return us;
}

struct Buffers {
  uint16_t *x, *y, *normW;
  float *h, *logits, *weights;
  int32_t *ids;
  uint32_t *done;
};

template <int MODE, int NORM, bool GLU>
double time(const Weights &wts, const Buffers &b, bool overlap) {
  return usPerLaunch(overlap, [&](cudaLaunchConfig_t c, int i) {
    const size_t copy = i % wts.w.size();
    c.gridDim = dim3(kRouterBlocks + (GLU ? kGluBlocks : 0));
    CHECK(cudaLaunchKernelEx(&c, routerProbe<MODE, NORM, GLU>, b.x, wts.w[copy],
                             wts.gate[copy], wts.up[copy], b.y, b.logits, b.ids,
                             b.weights, b.done, b.h, b.normW));
  });
}

/// router_gemv_topk_glu over copy `copy` with `c`'s stream and attributes.
void launchTemplate(const Weights &wts, const Buffers &b, size_t copy,
                    cudaLaunchConfig_t c) {
  c.gridDim = dim3(kRouterBlocks + kGluBlocks);
  c.blockDim = dim3(kThreads);
  CHECK(cudaLaunchKernelEx(
      &c,
      router_gemv_topk_glu<kRows, kLanes, kWaves, 32, false, kSegmentBf16,
                           kSegmentBf16, kNormZeroCentered, kK>,
      static_cast<const uint16_t *>(nullptr), kK,
      static_cast<const void *>(wts.w[copy]),
      static_cast<const uint16_t *>(nullptr),
      static_cast<const uint8_t *>(nullptr), b.logits, kE, kTopk, 1, b.ids,
      b.weights, b.done, static_cast<const void *>(wts.gate[copy]),
      static_cast<const uint16_t *>(nullptr),
      static_cast<const uint8_t *>(nullptr),
      static_cast<const void *>(wts.up[copy]),
      static_cast<const uint16_t *>(nullptr),
      static_cast<const uint8_t *>(nullptr), b.y, kN,
      static_cast<const float *>(b.h), static_cast<const uint16_t *>(b.normW),
      static_cast<uint16_t *>(nullptr), 1e-6f));
}

/// The template itself, as the plan launches it.
double timeTemplate(const Weights &wts, const Buffers &b, bool overlap) {
  return usPerLaunch(overlap, [&](cudaLaunchConfig_t c, int i) {
    launchTemplate(wts, b, i % wts.w.size(), c);
  });
}

/// The probe's argmax tail against the template's ids and weights over copy
/// `copy`, bit for bit (the probe times the template's pieces, so they must
/// compute what it computes).
bool sameTopk(const Weights &wts, const Buffers &b, size_t copy) {
  std::vector<int32_t> ids[2];
  std::vector<float> weights[2];
  for (int probe = 0; probe < 2; ++probe) {
    CHECK(cudaMemset(b.ids, 0xFF, kTopk * 4));
    CHECK(cudaMemset(b.weights, 0xFF, kTopk * 4));
    if (probe) {
      routerProbe<kArgmax, kNormZeroCentered, false>
          <<<kRouterBlocks, kThreads>>>(b.x, wts.w[copy], wts.gate[copy],
                                        wts.up[copy], b.y, b.logits, b.ids,
                                        b.weights, b.done, b.h, b.normW);
      CHECK(cudaGetLastError());
    } else {
      cudaLaunchConfig_t c{};
      launchTemplate(wts, b, copy, c);
    }
    CHECK(cudaDeviceSynchronize());
    ids[probe].resize(kTopk);
    weights[probe].resize(kTopk);
    CHECK(cudaMemcpy(ids[probe].data(), b.ids, kTopk * 4,
                     cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(weights[probe].data(), b.weights, kTopk * 4,
                     cudaMemcpyDeviceToHost));
  }
  return ids[0] == ids[1] &&
         std::memcmp(weights[0].data(), weights[1].data(), kTopk * 4) == 0;
}

} // namespace

int main() {
  std::mt19937 rng(11);
  int l2 = 0;
  CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
  const size_t perCopy = size_t(kE + 2 * kN) * kK * 2;
  const size_t copies = 4 * size_t(l2) / perCopy + 1;
  Weights wts;
  for (size_t i = 0; i < copies; ++i) {
    // Random copies for the check, the pattern for the rest of the timing.
    const bool random = i < 4;
    wts.w.push_back(deviceBf16(size_t(kE) * kK, random, rng));
    wts.gate.push_back(deviceBf16(size_t(kN) * kK, random, rng));
    wts.up.push_back(deviceBf16(size_t(kN) * kK, random, rng));
  }
  Buffers b{};
  b.x = deviceBf16(kK, true, rng);
  b.normW = deviceBf16(kK, true, rng);
  std::vector<float> h(kK);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto &v : h) {
    v = normal(rng);
  }
  CHECK(cudaMalloc(&b.h, kK * 4));
  CHECK(cudaMemcpy(b.h, h.data(), kK * 4, cudaMemcpyHostToDevice));
  CHECK(cudaMalloc(&b.y, kN * 2));
  CHECK(cudaMalloc(&b.logits, kE * 4));
  CHECK(cudaMalloc(&b.weights, kTopk * 4));
  CHECK(cudaMalloc(&b.ids, kTopk * 4));
  CHECK(cudaMalloc(&b.done, 4));
  CHECK(cudaMemset(b.done, 0, 4));

  bool same = true;
  for (size_t i = 0; i < 4; ++i) {
    same = same && sameTopk(wts, b, i);
  }
  std::printf("probe argmax tail vs the template (4 random copies): %s\n",
              same ? "identical" : "DIFFERENT");
  std::printf("%zu weight copies of %.1f MB; us per launch\n", copies,
              perCopy / 1e6);
  std::printf("%-34s %8s %8s\n", "kernel", "serial", "overlap");
  auto row = [&](const char *name, auto fn) {
    std::printf("%-34s %8.2f %8.2f\n", name, fn(false), fn(true));
  };
  row("router_gemv_topk_glu (template)",
      [&](bool o) { return timeTemplate(wts, b, o); });
  row("glu+norm  argmax",
      [&](bool o) { return time<kArgmax, kNormZeroCentered, true>(wts, b, o); });
  row("glu+norm  count",
      [&](bool o) { return time<kCount, kNormZeroCentered, true>(wts, b, o); });
  row("glu+norm  gemv",
      [&](bool o) { return time<kGemv, kNormZeroCentered, true>(wts, b, o); });
  row("glu       argmax",
      [&](bool o) { return time<kArgmax, kNormNone, true>(wts, b, o); });
  row("glu       gemv",
      [&](bool o) { return time<kGemv, kNormNone, true>(wts, b, o); });
  row("router+norm argmax",
      [&](bool o) { return time<kArgmax, kNormZeroCentered, false>(wts, b, o); });
  row("router+norm count",
      [&](bool o) { return time<kCount, kNormZeroCentered, false>(wts, b, o); });
  row("router+norm gemv",
      [&](bool o) { return time<kGemv, kNormZeroCentered, false>(wts, b, o); });
  row("router    gemv",
      [&](bool o) { return time<kGemv, kNormNone, false>(wts, b, o); });
  return same ? 0 : 1;
}
