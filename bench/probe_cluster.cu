//===- probe_cluster.cu - a per-head dependency: launches vs a cluster ----===//
//
// What one Gated DeltaNet layer's two launches (in_proj, then gdn_decode)
// would cost as perfect streaming kernels, and what the same bytes cost in
// one launch of thread-block clusters, one cluster per key head, whose
// blocks meet in distributed shared memory instead of at a launch boundary:
// the measurement the cluster fusion (docs/performance.md, issue 6, step 11)
// is decided on before a line of it is written.
//
// A layer is stage A, every block reading its part of the in_proj bytes
// and producing one value, then stage B, every block reading the values of
// the 8 blocks of its group (a key head's rows) and reading and writing its
// part of the recurrent state. The layers lie one after another in one
// buffer, so a step of them never fits in L2.
//
//   nvcc -std=c++17 -O3 -arch=sm_90 bench/probe_cluster.cu -o probe
//   ./probe [LAYERS]           (default 30, the GDN layers of a token)
//
// Modes, each the median of 20 steps after 3, in µs per layer:
//   launches          A and B as two kernels per layer in a graph, B
//                     reading its group's values from global memory
//   launches+overlap  the same with programmatic dependent launch: each
//                     kernel's blocks ask L2 for their bytes, then wait
//   cluster           one kernel per layer, clusters of 8 blocks: A, the
//                     value into shared memory, cluster barrier, the
//                     group's values read from the cluster's shared memory,
//                     then B
//   cluster+ahead     the same with B's first state round loaded into
//                     registers before the barrier (the state does not
//                     depend on A), as the fused kernel would
//   cluster+overlap   cluster+ahead with programmatic dependent launch
// and each also moving no bytes (the synchronisation alone), and the floor:
// the layer's bytes at the bandwidth of one 4 GiB read.
//
//===----------------------------------------------------------------------===//

#include "probe_timing.h"

#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace cg = cooperative_groups;

namespace {

constexpr int kThreads = 256;
constexpr int kGroup = 8;    // blocks of one key head: the cluster
constexpr int kBlocks = 128; // 16 key heads x 8
// Qwen3.5-35B-A3B's GDN layer: in_proj's int4 rows and scales (12352 rows
// of 2048), and the fp32 state of 32 value heads (128 x 128), read and
// written.
constexpr uint64_t kInProjBytes = 13'200'000;
constexpr uint64_t kStateBytes = 32ull * 128 * 128 * 4;

struct Layer {
  const int4 *weights; // stage A: kInProjBytes (or 0 words)
  int4 *state;         // stage B: read and written
  uint64_t aWords, bWords;
};

__device__ void prefetchWords(const int4 *p, uint64_t words, uint64_t first,
                              uint64_t stride) {
  for (uint64_t w = first * 8; w < words; w += stride * 8) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p + w));
  }
}

/// A thread's part of a stream: four 16-byte words in flight per round.
__device__ int readWords(const int4 *p, uint64_t words, uint64_t thread,
                         uint64_t threads, uint64_t from = 0) {
  int acc = 0;
  for (uint64_t w = thread + from * threads * 4; w < words;
       w += threads * 4) {
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const uint64_t i = w + u * threads;
      if (i < words) {
        const int4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
      }
    }
  }
  return acc;
}

/// Stage B's first round (the thread's first word), loaded ahead.
__device__ int4 firstStateWord(const Layer &l, uint64_t thread) {
  return thread < l.bWords ? __ldcs(l.state + thread) : int4{0, 0, 0, 0};
}

/// Stage B: the state read, mixed with the group's values, written back.
/// `ahead` holds the first word (thread < bWords) when loaded early.
__device__ void updateState(const Layer &l, uint64_t thread, uint64_t threads,
                            int mix, const int4 *ahead) {
  for (uint64_t w = thread; w < l.bWords; w += threads) {
    int4 v = (ahead && w == thread) ? *ahead : __ldcs(l.state + w);
    v.x ^= mix;
    __stcs(l.state + w, v);
  }
}

/// The block's xor of every thread's `acc` (stage A's one value); thread 0
/// gets it.
__device__ int blockXor(int acc) {
  __shared__ int red[kThreads / 32];
  for (int o = 16; o > 0; o /= 2) {
    acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
  }
  if (threadIdx.x % 32 == 0) {
    red[threadIdx.x / 32] = acc;
  }
  __syncthreads();
  int v = 0;
  if (threadIdx.x == 0) {
    for (int i = 0; i < kThreads / 32; ++i) {
      v ^= red[i];
    }
  }
  return v;
}

__device__ void waitForPrevious() {
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" :::);
}

template <bool OVERLAP>
__global__ void __launch_bounds__(kThreads)
    stageA(Layer l, int *values) {
  const uint64_t thread = blockIdx.x * uint64_t(kThreads) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(kThreads);
  if (OVERLAP) {
    prefetchWords(l.weights, l.aWords, thread, threads);
    waitForPrevious();
  }
  const int v = blockXor(readWords(l.weights, l.aWords, thread, threads));
  if (threadIdx.x == 0) {
    values[blockIdx.x] = v;
  }
}

template <bool OVERLAP>
__global__ void __launch_bounds__(kThreads)
    stageB(Layer l, const int *values) {
  const uint64_t thread = blockIdx.x * uint64_t(kThreads) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(kThreads);
  if (OVERLAP) {
    prefetchWords(l.state, l.bWords, thread, threads);
    waitForPrevious();
  }
  const int group = blockIdx.x / kGroup;
  int mix = 0;
  for (int i = 0; i < kGroup; ++i) {
    mix ^= values[group * kGroup + i];
  }
  updateState(l, thread, threads, mix, nullptr);
}

/// A and B in one launch of clusters of kGroup blocks.
template <bool AHEAD, bool OVERLAP>
__global__ void __cluster_dims__(kGroup, 1, 1) __launch_bounds__(kThreads)
    clusterLayer(Layer l) {
  const uint64_t thread = blockIdx.x * uint64_t(kThreads) + threadIdx.x;
  const uint64_t threads = gridDim.x * uint64_t(kThreads);
  cg::cluster_group cluster = cg::this_cluster();
  __shared__ int value;
  if (OVERLAP) {
    prefetchWords(l.weights, l.aWords, thread, threads);
    waitForPrevious();
  }
  int4 first;
  if (AHEAD) {
    first = firstStateWord(l, thread);
  }
  const int v = blockXor(readWords(l.weights, l.aWords, thread, threads));
  if (threadIdx.x == 0) {
    value = v;
  }
  cluster.sync(); // every block's value written
  int mix = 0;
  for (unsigned r = 0; r < cluster.num_blocks(); ++r) {
    mix ^= *cluster.map_shared_rank(&value, r);
  }
  cluster.sync(); // no block leaves while another reads its value
  updateState(l, thread, threads, mix, AHEAD ? &first : nullptr);
}

void launch(const void *kernel, void **args, bool overlap, cudaStream_t s,
            unsigned blocks = kBlocks) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(kThreads);
  config.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attr;
  config.numAttrs = overlap ? 1 : 0;
  CHECK(cudaLaunchKernelExC(&config, kernel, args));
}

} // namespace

int main(int argc, char **argv) {
  const int layers = argc > 1 ? std::atoi(argv[1]) : 30;
  if (argc > 2 || layers < 1 || layers > 200) {
    std::fprintf(stderr, "usage: %s [LAYERS (1 to 200, default 30)]\n",
                 argv[0]);
    return 2;
  }
  const uint64_t aWords = kInProjBytes / 16, bWords = kStateBytes / 16;
  const uint64_t perLayer = aWords + bWords;
  // At least 4 GiB in all, so that a step's bytes come from DRAM.
  const uint64_t streamWords = (uint64_t(4) << 30) / 16;
  const uint64_t words = std::max(perLayer * layers, streamWords);
  // Stage A's values: one per block (the bandwidth read's grid included).
  constexpr unsigned kMaxBlocks = 4096;
  int4 *base;
  int *values;
  CHECK(cudaMalloc(&base, words * 16));
  CHECK(cudaMemset(base, 0x5A, words * 16));
  CHECK(cudaMalloc(&values, kMaxBlocks * sizeof(int)));
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs; %d layers of %.1f MB (A) + %.1f MB state "
              "(B, read and written), %d blocks of %d in groups of %d\n",
              prop.name, prop.multiProcessorCount, layers,
              kInProjBytes / 1e6, kStateBytes / 1e6, kBlocks, kThreads,
              kGroup);

  // The floor: one 4 GiB read at this GPU's streaming bandwidth, with 8
  // blocks per SM (enough loads in flight; the layers' 128 blocks are what
  // the fused kernel would launch).
  const unsigned readBlocks =
      std::min<unsigned>(kMaxBlocks, 8 * prop.multiProcessorCount);
  Layer whole{base, nullptr, streamWords, 0};
  const double readMs = medianEventMs(
      stream,
      [&] {
        void *args[] = {&whole, &values};
        launch(reinterpret_cast<const void *>(stageA<false>), args, false,
               stream, readBlocks);
      },
      8, 2);
  const double bandwidth = streamWords * 16 / (readMs * 1e-3);
  // Stage B reads and writes its state: twice its bytes.
  const double floorUs =
      (kInProjBytes + 2.0 * kStateBytes) / bandwidth * 1e6;
  std::printf("bandwidth %.3f TB/s (4 GiB read, %u blocks of %d); floor "
              "%.2f us per layer\n",
              bandwidth / 1e12, readBlocks, kThreads, floorUs);

  for (bool empty : {false, true}) {
    auto layerAt = [&](int i) {
      Layer l{base + i * perLayer, base + i * perLayer + aWords,
              empty ? 0 : aWords, empty ? 0 : bWords};
      return l;
    };
    auto time = [&](const char *name, auto capture) {
      // A step of `layers` layers in one graph, 20 replays after 3.
      const double us = graphMicrosPerLaunch(
          stream, layers,
          [&](int i, cudaStream_t) { capture(layerAt(i)); }, 23, 3);
      char share[48] = "";
      if (!empty) {
        std::snprintf(share, sizeof share, " (%.1f %% of the floor)",
                      floorUs / us * 100.0);
      }
      std::printf("%-18s %-9s %8.2f us per layer%s\n", name,
                  empty ? "no bytes" : "bytes", us, share);
    };
    for (bool overlap : {false, true}) {
      time(overlap ? "launches+overlap" : "launches", [&](Layer l) {
        void *args[] = {&l, &values};
        launch(overlap ? reinterpret_cast<const void *>(stageA<true>)
                       : reinterpret_cast<const void *>(stageA<false>),
               args, overlap, stream);
        launch(overlap ? reinterpret_cast<const void *>(stageB<true>)
                       : reinterpret_cast<const void *>(stageB<false>),
               args, overlap, stream);
      });
    }
    time("cluster", [&](Layer l) {
      void *args[] = {&l};
      launch(reinterpret_cast<const void *>(clusterLayer<false, false>), args,
             false, stream);
    });
    time("cluster+ahead", [&](Layer l) {
      void *args[] = {&l};
      launch(reinterpret_cast<const void *>(clusterLayer<true, false>), args,
             false, stream);
    });
    time("cluster+overlap", [&](Layer l) {
      void *args[] = {&l};
      launch(reinterpret_cast<const void *>(clusterLayer<true, true>), args,
             true, stream);
    });
  }
  CHECK(cudaFree(base));
  CHECK(cudaFree(values));
  return 0;
}
