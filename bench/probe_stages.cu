//===- probe_stages.cu - a decode step's bytes: launches vs one kernel ----===//
//
// What the decode step would cost if every launch were a perfect streaming
// read of its own bytes, and what a persistent kernel walking the same
// stages with grid-wide barriers would cost: the measurement the persistent
// decode design (docs/performance.md, issue 6) is decided on. The stages
// are the plan's launches, one line of bytes each (bench/plan_stages.py
// writes them from plan.json), laid out one after another in one buffer, so
// a step reads each byte once and a step's 2.6 GB never fits in L2.
//
//   python3 bench/plan_stages.py OUT/plan.json > stages.txt
//   nvcc -O3 -arch=sm_90 bench/probe_stages.cu -o probe && ./probe stages.txt
//
// Modes, each timed over 20 steps after 3 (median of per-step event times):
//   launches          one read kernel per stage, captured in a graph
//   launches+overlap  the same, programmatic dependent launch, each launch's
//                     blocks asking L2 for their part before they wait
//   persistent        one cooperative kernel (every block resident), the
//                     stages in order with a grid barrier after each
//   persistent+pf     the same, each block asking L2 for its part of the
//                     next stage before the barrier
// and the floor: the step's bytes at the bandwidth of one 4 GiB read.
//
//===----------------------------------------------------------------------===//

#include "probe_check.h"

#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

namespace cg = cooperative_groups;

namespace {

constexpr int kThreads = 256;

struct Stage {
  uint64_t first; // 16-byte words from the buffer's start
  uint64_t words;
};

__device__ void prefetchPart(const int4 *base, Stage s, uint64_t thread,
                             uint64_t threads) {
  // One 128-byte line (8 words) per request.
  for (uint64_t w = thread * 8; w < s.words; w += threads * 8) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(base + s.first + w));
  }
}

__device__ int readPart(const int4 *base, Stage s, uint64_t thread,
                        uint64_t threads) {
  int acc = 0;
  for (uint64_t w = thread; w < s.words; w += threads * 4) {
    int4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const uint64_t i = w + u * threads;
      v[u] = i < s.words ? __ldcs(base + s.first + i) : int4{0, 0, 0, 0};
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
  }
  return acc;
}

template <bool OVERLAP>
__global__ void __launch_bounds__(kThreads)
    stageKernel(const int4 *base, Stage s, int *sink) {
  const uint64_t thread = blockIdx.x * uint64_t(kThreads) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(kThreads);
  if (OVERLAP) {
    prefetchPart(base, s, thread, threads);
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" :::);
  }
  if (readPart(base, s, thread, threads) == 0x7f123456) {
    *sink = 1;
  }
}

template <bool PREFETCH>
__global__ void __launch_bounds__(kThreads)
    persistentKernel(const int4 *base, const Stage *stages, int count,
                     int *sink) {
  cg::grid_group grid = cg::this_grid();
  const uint64_t thread = blockIdx.x * uint64_t(kThreads) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(kThreads);
  int acc = 0;
  for (int i = 0; i < count; ++i) {
    acc ^= readPart(base, stages[i], thread, threads);
    if (PREFETCH && i + 1 < count) {
      prefetchPart(base, stages[i + 1], thread, threads);
    }
    grid.sync();
  }
  if (acc == 0x7f123456) {
    *sink = 1;
  }
}

unsigned blocksFor(uint64_t words, int maxBlocks) {
  // Four 16-byte loads in flight per thread per round.
  const uint64_t want = (words + kThreads * 4 - 1) / (kThreads * 4);
  return static_cast<unsigned>(std::clamp<uint64_t>(want, 1, maxBlocks));
}

template <typename Step>
double medianStepMs(cudaStream_t stream, Step step) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int r = 0; r < 23; ++r) {
    CHECK(cudaEventRecord(a, stream));
    step();
    CHECK(cudaEventRecord(b, stream));
    CHECK(cudaEventSynchronize(b));
    float t = 0;
    CHECK(cudaEventElapsedTime(&t, a, b));
    if (r >= 3) {
      ms.push_back(t);
    }
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STAGES.txt (bytes per stage, one a line)\n",
                 argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<Stage> stages;
  uint64_t bytes = 0, words = 0;
  for (uint64_t b; in >> b;) {
    const uint64_t w = std::max<uint64_t>(1, (b + 15) / 16);
    stages.push_back({words, w});
    words += w;
    bytes += b;
  }
  if (stages.empty()) {
    std::fprintf(stderr, "%s: no stages\n", argv[1]);
    return 1;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int perSm = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &perSm, persistentKernel<true>, kThreads, 0));
  const int resident = perSm * prop.multiProcessorCount;

  const uint64_t streamWords = (uint64_t(4) << 30) / 16;
  int4 *base;
  int *sink;
  Stage *dStages;
  CHECK(cudaMalloc(&base, std::max(words, streamWords) * 16));
  CHECK(cudaMemset(base, 0x5A, std::max(words, streamWords) * 16));
  CHECK(cudaMalloc(&sink, 4));
  CHECK(cudaMalloc(&dStages, stages.size() * sizeof(Stage)));
  CHECK(cudaMemcpy(dStages, stages.data(), stages.size() * sizeof(Stage),
                   cudaMemcpyHostToDevice));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  const double streamMs = medianStepMs(stream, [&] {
    stageKernel<false><<<resident, kThreads, 0, stream>>>(
        base, Stage{0, streamWords}, sink);
    CHECK(cudaGetLastError());
  });
  const double bandwidth = streamWords * 16 / (streamMs * 1e-3);

  auto graphOf = [&](bool overlap) {
    cudaGraph_t graph;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (const Stage &s : stages) {
      cudaLaunchAttribute attr{};
      attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
      attr.val.programmaticStreamSerializationAllowed = 1;
      cudaLaunchConfig_t c{};
      c.gridDim = dim3(blocksFor(s.words, resident));
      c.blockDim = dim3(kThreads);
      c.stream = stream;
      c.attrs = &attr;
      c.numAttrs = overlap ? 1 : 0;
      if (overlap) {
        CHECK(cudaLaunchKernelEx(&c, stageKernel<true>,
                                 static_cast<const int4 *>(base), s, sink));
      } else {
        CHECK(cudaLaunchKernelEx(&c, stageKernel<false>,
                                 static_cast<const int4 *>(base), s, sink));
      }
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CHECK(cudaGraphDestroy(graph));
    return exec;
  };
  cudaGraphExec_t serial = graphOf(false), overlapped = graphOf(true);
  const double launchesMs = medianStepMs(
      stream, [&] { CHECK(cudaGraphLaunch(serial, stream)); });
  const double overlapMs = medianStepMs(
      stream, [&] { CHECK(cudaGraphLaunch(overlapped, stream)); });
  int count = static_cast<int>(stages.size());
  const int4 *cbase = base;
  void *args[] = {&cbase, &dStages, &count, &sink};
  const double persistentMs = medianStepMs(stream, [&] {
    CHECK(cudaLaunchCooperativeKernel(persistentKernel<false>, resident,
                                      kThreads, args, 0, stream));
  });
  const double prefetchMs = medianStepMs(stream, [&] {
    CHECK(cudaLaunchCooperativeKernel(persistentKernel<true>, resident,
                                      kThreads, args, 0, stream));
  });
  CHECK(cudaStreamSynchronize(stream));

  const double floorMs = bytes / bandwidth * 1e3;
  std::printf("%s: %zu stages, %.3f GB per step; streaming read %.3f TB/s "
              "(4 GiB, %d resident blocks of %d threads)\n",
              prop.name, stages.size(), bytes / 1e9, bandwidth / 1e12, resident,
              kThreads);
  std::printf("  %-18s %8.3f ms per step\n", "floor", floorMs);
  const std::pair<const char *, double> rows[] = {
      {"launches", launchesMs},
      {"launches+overlap", overlapMs},
      {"persistent", persistentMs},
      {"persistent+pf", prefetchMs}};
  for (const auto &[name, ms] : rows) {
    std::printf("  %-18s %8.3f ms per step  %5.1f %% of the floor's speed  "
                "%6.2f us per stage\n",
                name, ms, 100.0 * floorMs / ms, ms * 1e3 / stages.size());
  }
  CHECK(cudaGraphExecDestroy(serial));
  CHECK(cudaGraphExecDestroy(overlapped));
  return 0;
}
