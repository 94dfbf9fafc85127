//===- probe_memory.cu - loaded DRAM latency by pointer chase -------------===//
//
// The cost model's memory latency for sm_90 (compiler/costmodel/TargetInfo)
// comes from here: one thread follows a random cycle through a 1 GiB buffer
// (one hop per 4 KiB page region, so neither L2 nor the TLB reach helps much)
// and the time per hop is the latency a dependent load sees. Run on the GPU
// machine: nvcc -O3 -arch=sm_90 bench/probe_memory.cu -o probe && ./probe
//
//===----------------------------------------------------------------------===//

#include "probe_check.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>


__global__ void chase(const unsigned *next, unsigned start, int hops,
                      unsigned *out) {
  unsigned i = start;
  for (int h = 0; h < hops; ++h) {
    i = next[i];
  }
  *out = i; // keeps the chain alive
}

int main() {
  const size_t bytes = size_t(1) << 30;
  const size_t slots = bytes / sizeof(unsigned);
  const size_t stride =
      4096 / sizeof(unsigned) + 16; // a new page region each hop
  const size_t nodes = slots / stride;
  std::vector<unsigned> order(nodes);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  std::vector<unsigned> next(slots, 0);
  for (size_t i = 0; i < nodes; ++i) {
    next[order[i] * stride] =
        static_cast<unsigned>(order[(i + 1) % nodes] * stride);
  }
  unsigned *dNext = nullptr, *dOut = nullptr;
  CHECK(cudaMalloc(&dNext, bytes));
  CHECK(cudaMalloc(&dOut, sizeof(unsigned)));
  CHECK(cudaMemcpy(dNext, next.data(), bytes, cudaMemcpyHostToDevice));
  const int hops = 200000;
  chase<<<1, 1>>>(dNext, order[0] * stride, 1000, dOut); // warm-up
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  CHECK(cudaEventRecord(a));
  chase<<<1, 1>>>(dNext, order[1] * stride, hops, dOut);
  CHECK(cudaGetLastError());
  CHECK(cudaEventRecord(b));
  CHECK(cudaEventSynchronize(b));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, a, b));
  std::printf("dependent-load latency over 1 GiB: %.1f ns per hop (%d hops)\n",
              ms * 1e6 / hops, hops);
  return 0;
}
