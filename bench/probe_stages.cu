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
// Modes, each timed over 20 steps after 3 (median of per-step event times;
// the profiled one per launch, over 16 after 3):
//   launches          one read kernel per stage, captured in a graph
//   launches+overlap  the same, programmatic dependent launch, each launch's
//                     blocks asking L2 for their part before they wait
//   launches, profiled  the launches launched with an event between launches,
//                     as `bench --profile-steps` times the model: summed
//                     by template, the row-for-row floor of that profile
//   persistent        one cooperative kernel (every block resident, 256
//                     threads), the stages in order with cooperative groups'
//                     grid barrier after each; /sm: one block of 1024
//                     threads per SM; flag: a bare counter barrier instead
//                     (flagBarrier); +pf: each block asking L2 for its part
//                     of the next stage before the barrier; +ahead: each
//                     thread loading the first round of its part of the
//                     next stage into registers before the barrier and
//                     using it after (loads in flight across the barrier,
//                     as a persistent decode kernel would fetch its next
//                     weights while it waits for activations). Each also with
//                     the same number of stages moving nothing: the
//                     barriers' own cost
// and the floor: the step's bytes at the bandwidth of one 4 GiB read.
//
//===----------------------------------------------------------------------===//

#include "probe_timing.h"

#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
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

/// One round of a thread's part of a stage: its four 16-byte words.
__device__ void loadRound(const int4 *base, Stage s, uint64_t first,
                          uint64_t threads, int4 (&v)[4]) {
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    const uint64_t i = first + u * threads;
    v[u] = i < s.words ? __ldcs(base + s.first + i) : int4{0, 0, 0, 0};
  }
}

__device__ int foldRound(const int4 (&v)[4]) {
  int acc = 0;
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  return acc;
}

/// A thread's part of a stage from round `from` on (a round: four words per
/// thread of the grid).
__device__ int readPart(const int4 *base, Stage s, uint64_t thread,
                        uint64_t threads, uint64_t from = 0) {
  int acc = 0;
  for (uint64_t w = thread + from * threads * 4; w < s.words;
       w += threads * 4) {
    int4 v[4];
    loadRound(base, s, w, threads, v);
    acc ^= foldRound(v);
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

/// Every block arrives once per stage on one counter (zeroed before the
/// launch) and its thread 0 spins until all have: the cheapest grid barrier
/// there is, one release-add and acquire loads, where cooperative groups'
/// grid.sync also fences the whole block.
__device__ void flagBarrier(unsigned *counter, unsigned target) {
  __syncthreads();
  if (threadIdx.x == 0) {
    asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(counter)
                 : "memory");
    unsigned seen;
    do {
      asm volatile("ld.acquire.gpu.global.u32 %0, [%1];"
                   : "=r"(seen)
                   : "l"(counter)
                   : "memory");
    } while (seen < target);
  }
  __syncthreads();
}

enum class Barrier { Groups, Flag };

/// AHEAD: the first round of the next stage is loaded into registers before
/// the barrier and used after it, as a persistent decode kernel would load
/// its next weights while it waits for the activations: the loads are in
/// flight across the barrier.
template <int THREADS, Barrier BARRIER, bool PREFETCH, bool AHEAD = false>
__global__ void __launch_bounds__(THREADS)
    persistentKernel(const int4 *base, const Stage *stages, int count,
                     unsigned *counter, int *sink) {
  const uint64_t thread = blockIdx.x * uint64_t(THREADS) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(THREADS);
  int acc = 0;
  int4 ahead[4];
  if (AHEAD) {
    loadRound(base, stages[0], thread, threads, ahead);
  }
  for (int i = 0; i < count; ++i) {
    if (AHEAD) {
      acc ^= foldRound(ahead) ^ readPart(base, stages[i], thread, threads, 1);
      if (i + 1 < count) {
        loadRound(base, stages[i + 1], thread, threads, ahead);
      }
    } else {
      acc ^= readPart(base, stages[i], thread, threads);
    }
    if (PREFETCH && i + 1 < count) {
      prefetchPart(base, stages[i + 1], thread, threads);
    }
    if (BARRIER == Barrier::Groups) {
      cg::this_grid().sync();
    } else {
      flagBarrier(counter, (i + 1) * gridDim.x);
    }
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

/// A step's median time in ms over 20 runs after 3.
template <typename Step> double medianStepMs(cudaStream_t stream, Step step) {
  return medianEventMs(stream, step, 23, 3);
}

/// One persistent configuration: its grid (every block resident, launched
/// cooperatively) and its kernel.
struct Persistent {
  const char *name;
  void (*kernel)(const int4 *, const Stage *, int, unsigned *, int *);
  int threads;
};

int residentBlocks(const Persistent &p, const cudaDeviceProp &prop) {
  int perSm = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, p.kernel,
                                                      p.threads, 0));
  return perSm * prop.multiProcessorCount;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: %s STAGES.txt (one stage a line: bytes [template])\n",
                 argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<Stage> stages;
  std::vector<std::string> names;
  uint64_t bytes = 0, words = 0;
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", argv[1]);
    return 1;
  }
  int lineNo = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    std::istringstream fields(line);
    uint64_t b;
    std::string name = "?", extra;
    // A byte count (no sign: >> would wrap "-1") and at most a template.
    if (line.find('-') != std::string::npos || !(fields >> b) ||
        (fields >> name && fields >> extra)) {
      std::fprintf(stderr, "%s:%d: expected BYTES [TEMPLATE], got '%s'\n",
                   argv[1], lineNo, line.c_str());
      return 1;
    }
    const uint64_t w = std::max<uint64_t>(1, (b + 15) / 16);
    stages.push_back({words, w});
    names.push_back(name);
    words += w;
    bytes += b;
  }
  if (stages.empty()) {
    std::fprintf(stderr, "%s: no stages\n", argv[1]);
    return 1;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  const Persistent groups{"persistent",
                          persistentKernel<kThreads, Barrier::Groups, false>,
                          kThreads};
  const int resident = residentBlocks(groups, prop);

  const uint64_t streamWords = (uint64_t(4) << 30) / 16;
  int4 *base;
  int *sink;
  unsigned *counter;
  Stage *dStages, *dEmpty;
  CHECK(cudaMalloc(&base, std::max(words, streamWords) * 16));
  CHECK(cudaMemset(base, 0x5A, std::max(words, streamWords) * 16));
  CHECK(cudaMalloc(&sink, 4));
  CHECK(cudaMalloc(&counter, 4));
  CHECK(cudaMalloc(&dStages, stages.size() * sizeof(Stage)));
  CHECK(cudaMemcpy(dStages, stages.data(), stages.size() * sizeof(Stage),
                   cudaMemcpyHostToDevice));
  // The same number of stages moving nothing: what the barriers alone cost.
  const std::vector<Stage> empty(stages.size(), Stage{0, 0});
  CHECK(cudaMalloc(&dEmpty, empty.size() * sizeof(Stage)));
  CHECK(cudaMemcpy(dEmpty, empty.data(), empty.size() * sizeof(Stage),
                   cudaMemcpyHostToDevice));
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  const double streamMs = medianStepMs(stream, [&] {
    stageKernel<false>
        <<<resident, kThreads, 0, stream>>>(base, Stage{0, streamWords}, sink);
    CHECK(cudaGetLastError());
  });
  const double bandwidth = streamWords * 16 / (streamMs * 1e-3);

  auto launchStage = [&](const Stage &s, bool overlap) {
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
  };
  auto graphOf = [&](bool overlap) {
    cudaGraph_t graph;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (const Stage &s : stages) {
      launchStage(s, overlap);
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CHECK(cudaGraphDestroy(graph));
    return exec;
  };
  cudaGraphExec_t serial = graphOf(false), overlapped = graphOf(true);
  const double launchesMs =
      medianStepMs(stream, [&] { CHECK(cudaGraphLaunch(serial, stream)); });
  const double overlapMs =
      medianStepMs(stream, [&] { CHECK(cudaGraphLaunch(overlapped, stream)); });

  // Profiled the way `bench --profile-steps` profiles the model: an event
  // before and after every launch, in stream order, so each template's sum
  // compares with the model's profile row for row.
  std::vector<cudaEvent_t> marks(stages.size() + 1);
  for (cudaEvent_t &e : marks) {
    CHECK(cudaEventCreate(&e));
  }
  std::vector<std::vector<float>> stageUs(stages.size());
  for (int step = 0; step < 19; ++step) {
    CHECK(cudaEventRecord(marks[0], stream));
    for (size_t i = 0; i < stages.size(); ++i) {
      launchStage(stages[i], false);
      CHECK(cudaEventRecord(marks[i + 1], stream));
    }
    CHECK(cudaEventSynchronize(marks.back()));
    for (size_t i = 0; step >= 3 && i < stages.size(); ++i) {
      float ms = 0;
      CHECK(cudaEventElapsedTime(&ms, marks[i], marks[i + 1]));
      stageUs[i].push_back(ms * 1e3f);
    }
  }
  std::map<std::string, std::pair<int, double>> byTemplate;
  std::map<std::string, uint64_t> templateBytes;
  double profiledUs = 0;
  for (size_t i = 0; i < stages.size(); ++i) {
    std::sort(stageUs[i].begin(), stageUs[i].end());
    const double us = stageUs[i][stageUs[i].size() / 2];
    byTemplate[names[i]].first += 1;
    byTemplate[names[i]].second += us;
    templateBytes[names[i]] += stages[i].words * 16;
    profiledUs += us;
  }

  const Persistent configs[] = {
      groups,
      {"persistent/sm", persistentKernel<1024, Barrier::Groups, false>, 1024},
      {"flag", persistentKernel<kThreads, Barrier::Flag, false>, kThreads},
      {"flag/sm", persistentKernel<1024, Barrier::Flag, false>, 1024},
      {"flag/sm+pf", persistentKernel<1024, Barrier::Flag, true>, 1024},
      {"persistent/sm+ahead",
       persistentKernel<1024, Barrier::Groups, false, true>, 1024},
      {"flag/sm+ahead", persistentKernel<1024, Barrier::Flag, false, true>,
       1024},
      {"persistent+pf", persistentKernel<kThreads, Barrier::Groups, true>,
       kThreads}};
  int count = static_cast<int>(stages.size());
  const int4 *cbase = base;
  auto persistentMs = [&](const Persistent &p, Stage *which) {
    const int blocks = residentBlocks(p, prop);
    void *args[] = {&cbase, &which, &count, &counter, &sink};
    return medianStepMs(stream, [&] {
      CHECK(cudaMemsetAsync(counter, 0, 4, stream));
      CHECK(cudaLaunchCooperativeKernel(p.kernel, blocks, p.threads, args, 0,
                                        stream));
    });
  };
  std::vector<std::pair<double, double>> persistent;
  for (const Persistent &p : configs) {
    persistent.push_back({persistentMs(p, dStages), persistentMs(p, dEmpty)});
  }
  CHECK(cudaStreamSynchronize(stream));

  const double floorMs = bytes / bandwidth * 1e3;
  std::printf("%s: %zu stages, %.3f GB per step; streaming read %.3f TB/s "
              "(4 GiB, %d resident blocks of %d threads)\n",
              prop.name, stages.size(), bytes / 1e9, bandwidth / 1e12, resident,
              kThreads);
  std::printf("  %-18s %8.3f ms per step\n", "floor", floorMs);
  auto row = [&](const char *name, double ms) {
    std::printf("  %-18s %8.3f ms per step  %5.1f %% of the floor's speed  "
                "%6.2f us per stage\n",
                name, ms, 100.0 * floorMs / ms, ms * 1e3 / stages.size());
  };
  row("launches", launchesMs);
  row("launches+overlap", overlapMs);
  row("launches, profiled", profiledUs / 1e3);
  for (size_t i = 0; i < persistent.size(); ++i) {
    const Persistent &p = configs[i];
    char name[64];
    std::snprintf(name, sizeof name, "%s", p.name);
    row(name, persistent[i].first);
    std::printf("  %-18s %8.3f ms with no bytes: %.2f us per barrier "
                "(%d blocks of %d threads)\n",
                "", persistent[i].second,
                persistent[i].second * 1e3 / stages.size(),
                residentBlocks(p, prop), p.threads);
  }
  std::vector<std::pair<std::string, std::pair<int, double>>> sorted(
      byTemplate.begin(), byTemplate.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
    return a.second.second > b.second.second;
  });
  std::printf("perfect launches, profiled (event between launches), by "
              "template:\n  %-24s %8s %10s %10s\n",
              "template", "launches", "us/step", "MB/step");
  for (const auto &[name, v] : sorted) {
    std::printf("  %-24s %8d %10.1f %10.2f\n", name.c_str(), v.first, v.second,
                templateBytes[name] / 1e6);
  }
  for (cudaEvent_t &e : marks) {
    CHECK(cudaEventDestroy(e));
  }
  CHECK(cudaGraphExecDestroy(serial));
  CHECK(cudaGraphExecDestroy(overlapped));
  return 0;
}
