//===- Bench.h - decode speed against the device's own roofline -*- C++ -*-===//
//
// `OUT/<model> bench`: the seed's TPOT benchmark (random prompts of
// --input-len tokens, --output-len greedy tokens each, --num-prompts of
// them after --warmup unrecorded ones; decode tok/s = 1000 / TPOT, median
// with min and max over prompts; TTFT) and, in the same run, what it is
// worth: the device's streaming-read bandwidth (fd_stream_read, several GB,
// rotating buffers), the plan's bytes per token by category (the compiler's
// traffic per launch, at the workload's mean context) and the share of the
// roofline reached. --profile-steps N times every launch of N steady-state
// steps after --skip-steps M, against each launch's own byte floor.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_BENCH_H
#define FUSEDECODE_RUNTIME_BENCH_H

#include "fusedecode/engine.h"

#include <cstdint>
#include <string>

namespace fd::runtime {

struct BenchOptions {
  int inputLen = 128, outputLen = 128, numPrompts = 10, warmup = 1;
  uint64_t seed = 0;
  int profileSteps = 0, skipSteps = 8;
  uint64_t bandwidthBytes = 4ull << 30;
  int bandwidthTrials = 10;
  double loadSeconds = 0; // engine open, measured by the caller
  bool randomWeights = false;
};

/// Runs the benchmark on an open engine: the report as text (a table for a
/// terminal) and as JSON (`--json`). Errors are one line.
fd_error_t runBench(fd_engine *engine, const BenchOptions &options,
                    std::string &text, std::string &json);

} // namespace fd::runtime

#endif
