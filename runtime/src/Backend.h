//===- Backend.h - what an engine runs on -----------------------*- C++ -*-===//

#ifndef FUSEDECODE_RUNTIME_BACKEND_H
#define FUSEDECODE_RUNTIME_BACKEND_H

#include "fusedecode/engine.h"

#include "Bundle.h"
#include "Plan.h"

#include <memory>
#include <string>
#include <vector>

namespace fd::runtime {

class Backend {
public:
  virtual ~Backend() = default;
  /// One token at `position` (checked by the engine: in range, following
  /// the previous one, 0 after reset()).
  virtual fd_error_t step(int32_t token, int32_t position, float *logits,
                          int32_t *nextToken) = 0;
  /// Clears the recurrent state and KV cache.
  virtual fd_error_t reset() = 0;
  virtual std::string description() const = 0;

  // Measurements for `bench` (Bench.cpp); only the GPU backend has them.

  /// Streaming-read bandwidth of the device (fd_stream_read over rotating
  /// buffers of `bytes` in all, filled with random data): the median of
  /// `trials` timed passes, in bytes per second.
  virtual fd_error_t readBandwidth(uint64_t bytes, int trials,
                                   double &bytesPerSecond);
  /// Recaptures the step with an event between launches (on) or without.
  virtual fd_error_t setProfiling(bool on);
  /// Microseconds each plan launch took in the last step (profiling on).
  virtual fd_error_t launchTimes(std::vector<float> &us);
  /// Device memory the engine took (free memory before opening minus now)
  /// and the device's total.
  virtual fd_error_t deviceMemory(uint64_t &used, uint64_t &total);
};

/// What both backends are opened with.
struct BackendInput {
  const Bundle &bundle;
  const Plan &plan;
  std::string weightsPath;
  const fd_engine_options &options;
  int64_t vocab; // from the plan's sampler
};

/// `unavailable` is set when the error means "no usable GPU here".
fd_error_t openGpuBackend(const BackendInput &in, bool &unavailable,
                          std::unique_ptr<Backend> &out);
fd_error_t openCpuBackend(const BackendInput &in,
                          std::unique_ptr<Backend> &out);

/// Reports weight loading through the options' callback.
struct Progress {
  const fd_engine_options &options;
  uint64_t total = 0, done = 0;
  void advance(uint64_t bytes) {
    done += bytes;
    if (options.progress) {
      options.progress(done, total, options.progress_user);
    }
  }
};

} // namespace fd::runtime

#endif
