//===- probe_check.h - the probes' CUDA error check -------------*- C++ -*-===//
//
// The bench/probe_*.cu programs stop at the first failing CUDA call, naming
// the file, line and the runtime's message.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_BENCH_PROBE_CHECK_H
#define FUSEDECODE_BENCH_PROBE_CHECK_H

#include <cstdio>
#include <cstdlib>

#define CHECK(call)                                                            \
  do {                                                                         \
    cudaError_t e_ = (call);                                                   \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,                  \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

#endif
