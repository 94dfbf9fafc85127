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

/// A graph of `launches` captured from capture(i, stream) on `stream`,
/// replayed `runs` times of which the first `skip` are not counted; the
/// median's µs per launch (per capture call).
template <typename Capture>
double graphMicrosPerLaunch(cudaStream_t stream, int launches, Capture capture,
                            int runs = 9, int skip = 2) {
  cudaGraph_t graph;
  CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < launches; ++i) {
    capture(i, stream);
  }
  CHECK(cudaStreamEndCapture(stream, &graph));
  CHECK(cudaGetLastError());
  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const double ms = medianEventMs(
      stream, [&] { CHECK(cudaGraphLaunch(exec, stream)); }, runs, skip);
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  return ms * 1000.0 / launches;
}

#endif
