//===- probe_timing.h - the probes' event timing -----------------*- C++
//-*-===//
//
// How the bench/probe_*.cu programs time a step on the GPU: events recorded
// around it on one stream, the first runs dropped (clocks and caches settle),
// the median of the rest.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_BENCH_PROBE_TIMING_H
#define FUSEDECODE_BENCH_PROBE_TIMING_H

#include "probe_check.h"

#include <algorithm>
#include <vector>

/// The median time of step() in ms over runs - skip runs, after `skip` that
/// are not counted.
template <typename Step>
double medianEventMs(cudaStream_t stream, Step step, int runs, int skip) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int r = 0; r < runs; ++r) {
    CHECK(cudaEventRecord(a, stream));
    step();
    CHECK(cudaEventRecord(b, stream));
    CHECK(cudaEventSynchronize(b));
    float t = 0;
    CHECK(cudaEventElapsedTime(&t, a, b));
    if (r >= skip) {
      ms.push_back(t);
    }
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

#endif
