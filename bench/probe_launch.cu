//===- probe_launch.cu - the cost of a launch in a replayed graph ---------===//
//
// What one launch costs inside a captured graph on this GPU, with and
// without programmatic dependent launch (the kernels' griddepcontrol wait,
// the launch attribute): chains of 1000 launches of
//   empty   one block that only waits for its predecessor,
//   norm    one block of 256 threads reading 8 KB and reducing it (the
//           shape of rms_norm),
//   read    264 blocks of 128 threads streaming 4 MiB of a 1 GiB buffer
//           (a GEMV's weight traffic: the out_proj's 4.3 MB), each launch
//           its own slice so L2 never holds it, with and without each
//           block's L2 prefetch of its slice before the wait.
// µs per launch = graph replay time / 1000, median of 5 replays. Run on the
// GPU machine: nvcc -O3 -arch=sm_90 bench/probe_launch.cu -o probe && ./probe
//
//===----------------------------------------------------------------------===//

#include "probe_timing.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

constexpr int kLaunches = 1000;
constexpr size_t kSlice = size_t(4) << 20, kBuffer = size_t(1) << 30;
constexpr int kReadBlocks = 264, kReadThreads = 128;

__device__ void waitPrevious() {
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" :::);
}

__global__ void emptyKernel(float *sink) {
  waitPrevious();
  if (threadIdx.x == 0 && sink[0] == 12345.0f) {
    sink[1] = 1.0f;
  }
}

__global__ void normKernel(const float *x, float *y) {
  waitPrevious();
  __shared__ float red[8];
  float s = 0.0f;
  for (int i = threadIdx.x; i < 2048; i += 256) {
    s += x[i] * x[i];
  }
  for (int m = 16; m > 0; m >>= 1) {
    s += __shfl_xor_sync(0xffffffffu, s, m);
  }
  if (threadIdx.x % 32 == 0) {
    red[threadIdx.x / 32] = s;
  }
  __syncthreads();
  float t = 0.0f;
  for (int w = 0; w < 8; ++w) {
    t += red[w];
  }
  for (int i = threadIdx.x; i < 2048; i += 256) {
    y[i] = x[i] * rsqrtf(t / 2048.0f + 1e-6f);
  }
}

template <bool PREFETCH>
__global__ void readKernel(const int4 *base, size_t sliceWords, float *sink) {
  const size_t perBlock = sliceWords / gridDim.x;
  const int4 *p = base + blockIdx.x * perBlock;
  if (PREFETCH) {
    for (size_t i = threadIdx.x * 8; i < perBlock; i += kReadThreads * 8) {
      asm volatile("prefetch.global.L2 [%0];" ::"l"(p + i));
    }
  }
  waitPrevious();
  int acc = 0;
  for (size_t i = threadIdx.x; i < perBlock; i += kReadThreads * 4) {
    int4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      v[u] = i + u * kReadThreads < perBlock ? __ldcs(p + i + u * kReadThreads)
                                             : int4{0, 0, 0, 0};
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
  }
  if (acc == 0x7f123456) {
    sink[0] = 1.0f;
  }
}

template <typename Launch>
double perLaunchMicros(cudaStream_t stream, bool overlap, Launch launch) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < kLaunches; ++i) {
    cudaLaunchAttribute attr{};
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config{};
    config.stream = stream;
    config.attrs = &attr;
    config.numAttrs = overlap ? 1 : 0;
    launch(config, i);
  }
  CHECK(cudaStreamEndCapture(stream, &graph));
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  // One warm-up replay, the median of 5.
  const double ms = medianEventMs(
      stream, [&] { CHECK(cudaGraphLaunch(exec, stream)); }, 6, 1);
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  return ms * 1000.0 / kLaunches;
}

int main() {
  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  float *sink, *x, *y;
  int4 *buffer;
  CHECK(cudaMalloc(&sink, 64));
  CHECK(cudaMemset(sink, 0, 64));
  CHECK(cudaMalloc(&x, 2048 * 4));
  CHECK(cudaMemset(x, 0, 2048 * 4));
  CHECK(cudaMalloc(&y, 2048 * 4));
  CHECK(cudaMalloc(&buffer, kBuffer));
  CHECK(cudaMemset(buffer, 1, kBuffer));
  const size_t slices = kBuffer / kSlice, sliceWords = kSlice / 16;

  for (int overlap = 0; overlap < 2; ++overlap) {
    const char *mode = overlap ? "overlap" : "serial ";
    double us =
        perLaunchMicros(stream, overlap, [&](cudaLaunchConfig_t c, int) {
          c.gridDim = dim3(1);
          c.blockDim = dim3(32);
          CHECK(cudaLaunchKernelEx(&c, emptyKernel, sink));
        });
    std::printf("%s empty          %6.2f us per launch\n", mode, us);
    us = perLaunchMicros(stream, overlap, [&](cudaLaunchConfig_t c, int i) {
      c.gridDim = dim3(1);
      c.blockDim = dim3(256);
      CHECK(cudaLaunchKernelEx(&c, normKernel, i % 2 ? y : x, i % 2 ? x : y));
    });
    std::printf("%s norm 8 KB      %6.2f us per launch\n", mode, us);
    for (int prefetch = 0; prefetch < 2; ++prefetch) {
      us = perLaunchMicros(stream, overlap, [&](cudaLaunchConfig_t c, int i) {
        c.gridDim = dim3(kReadBlocks);
        c.blockDim = dim3(kReadThreads);
        const int4 *slice = buffer + (i % slices) * sliceWords;
        if (prefetch) {
          CHECK(cudaLaunchKernelEx(&c, readKernel<true>, slice, sliceWords,
                                   sink));
        } else {
          CHECK(cudaLaunchKernelEx(&c, readKernel<false>, slice, sliceWords,
                                   sink));
        }
      });
      std::printf("%s read 4 MiB%s %6.2f us per launch (%.2f TB/s)\n", mode,
                  prefetch ? " +pf" : "    ", us, kSlice / us / 1e6);
    }
  }
  return 0;
}
