//===- GpuDriver.h - the GPU driver API, opened at run time -----*- C++ -*-===//
//
// The GPU backend talks to the driver through this interface; CUDA
// (libcuda.so.1) and HIP (libamdhip64.so) implement it over their driver /
// module APIs, loaded with dlopen when an engine opens (IREE-HAL style), so
// the runtime builds and links on machines without either and reports a
// missing driver as an error. Every call is checked: a failure is an
// fd_error_t "<file>:<line>: <driver call>: <driver message>".
// Device addresses are plain integers here (CUdeviceptr / hipDeviceptr_t).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_GPUDRIVER_H
#define FUSEDECODE_RUNTIME_GPUDRIVER_H

#include "fusedecode/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace fd::runtime {

class GpuDriver {
public:
  virtual ~GpuDriver() = default;

  /// "CUDA" or "HIP".
  virtual const char *api() const = 0;
  /// Whether `target` (plan.json's key: sm_90, gfx1151, ...) is this
  /// vendor's.
  virtual bool ownsTarget(const std::string &target) const = 0;

  /// Loads the driver library and makes device 0 current. `unavailable` is
  /// set when the failure means "no such GPU here" (no library, no device)
  /// rather than a fault, so --device auto can fall back to the CPU.
  virtual fd_error_t open(bool &unavailable) = 0;
  /// Device name, and its target when the driver can tell (sm_90); empty
  /// for HIP, which finds it by loading each code object in turn.
  virtual std::string deviceName() const = 0;
  virtual std::string deviceTarget() const = 0;
  virtual fd_error_t memoryInfo(uint64_t &freeBytes, uint64_t &totalBytes) = 0;
  /// Makes the device current on the calling thread (CUDA contexts and the
  /// HIP device are per thread; the server steps on its connection threads).
  virtual fd_error_t bindThread() = 0;

  /// Loads a code object (cubin / hsaco). `wrongTarget` is set when the
  /// driver refuses it as built for another device.
  virtual fd_error_t loadModule(const std::string &image,
                                bool &wrongTarget) = 0;
  virtual fd_error_t function(const std::string &symbol, void *&fn) = 0;

  virtual fd_error_t alloc(uint64_t &address, size_t bytes) = 0;
  /// Frees what alloc returned (the rest is freed with the driver).
  virtual fd_error_t release(uint64_t address) = 0;
  virtual fd_error_t copyToDevice(uint64_t dst, const void *src,
                                  size_t bytes) = 0;
  virtual fd_error_t zero(uint64_t dst, size_t bytes) = 0;

  /// Stream capture of the launches between begin and end into one graph;
  /// a new capture replaces the previous graph.
  virtual fd_error_t beginCapture() = 0;
  /// `overlap`: the kernel may start while the previous launch in the stream
  /// finishes (it waits for it itself, waitForPreviousLaunch in the
  /// platform layer): CUDA's programmatic dependent launch. Drivers without
  /// it launch in stream order, which is always correct.
  virtual fd_error_t launch(void *fn, const unsigned grid[3],
                            const unsigned block[3], void **params,
                            const std::string &what, bool overlap) = 0;
  virtual fd_error_t endCapture() = 0;

  /// Asynchronous on the engine's stream, in order: copies in, the graph,
  /// copies out, then synchronize.
  virtual fd_error_t copyToDeviceAsync(uint64_t dst, const void *src,
                                       size_t bytes) = 0;
  virtual fd_error_t replay() = 0;
  virtual fd_error_t copyToHostAsync(void *dst, uint64_t src, size_t bytes) = 0;
  virtual fd_error_t synchronize() = 0;

  /// Timing (bench): event `index` (created on first use) recorded on the
  /// engine's stream, or inside a capture as a graph node, so a replayed
  /// graph can be timed launch by launch.
  virtual fd_error_t recordEvent(size_t index) = 0;
  /// Milliseconds between two recorded events, once both completed (after
  /// synchronize).
  virtual fd_error_t elapsedMs(size_t from, size_t to, float &ms) = 0;
};

std::unique_ptr<GpuDriver> makeCudaDriver();
std::unique_ptr<GpuDriver> makeHipDriver();
/// The driver itself, or in fault-injection builds (Fault.h) wrapped to
/// fail where a test asks (FaultyDriver.cpp).
std::unique_ptr<GpuDriver> withFaults(std::unique_ptr<GpuDriver> driver);

/// Resolves `names` (null-terminated pairs of slot, symbol) from `handle`;
/// the first one missing is an error naming the library and symbol.
struct DriverSymbol {
  void *slot;
  const char *name;
};
fd_error_t resolveSymbols(void *handle, const char *library,
                          DriverSymbol *symbols, size_t count);

/// "<file>:<line>: <call>: <message>".
fd_error_t driverError(const char *file, int line, const std::string &call,
                       const std::string &message);

} // namespace fd::runtime

/// Inside a driver implementation: run a driver call and return its error,
/// naming file, line and call, through the class's `check`.
#define FD_CHECK(call)                                                         \
  do {                                                                         \
    if (fd_error_t fdCheckErr_ = check((call), #call, __FILE__, __LINE__))     \
      return fdCheckErr_;                                                      \
  } while (0)

#endif
