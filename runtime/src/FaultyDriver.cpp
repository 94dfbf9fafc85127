//===- FaultyDriver.cpp - GPU faults on demand (test builds only) ---------===//
//
// A GpuDriver that forwards to the real one and fails where Fault.h's
// armed site says: an allocation, a graph replay (a kernel launch error, as
// the driver reports one: at the next replay or synchronize), or every call
// from some point on (the GPU lost mid-generation). The messages say the
// fault was injected, so a test can tell it from a real one.
//
//===----------------------------------------------------------------------===//

#include "Fault.h"
#include "GpuDriver.h"

namespace fd::runtime {

#ifdef FD_FAULT_INJECTION
namespace {

class FaultyDriver final : public GpuDriver {
public:
  explicit FaultyDriver(std::unique_ptr<GpuDriver> inner)
      : inner_(std::move(inner)) {}

  const char *api() const override { return inner_->api(); }
  bool ownsTarget(const std::string &t) const override {
    return inner_->ownsTarget(t);
  }
  fd_error_t open(bool &unavailable) override {
    return inner_->open(unavailable);
  }
  std::string deviceName() const override { return inner_->deviceName(); }
  std::string deviceTarget() const override { return inner_->deviceTarget(); }
  fd_error_t memoryInfo(uint64_t &f, uint64_t &t) override {
    return lost("memoryInfo") ? lostError("memoryInfo")
                              : inner_->memoryInfo(f, t);
  }
  fd_error_t bindThread() override {
    return lost("bindThread") ? lostError("bindThread") : inner_->bindThread();
  }
  fd_error_t loadModule(const std::string &image, bool &wrong) override {
    return inner_->loadModule(image, wrong);
  }
  fd_error_t function(const std::string &s, void *&fn) override {
    return inner_->function(s, fn);
  }
  fd_error_t alloc(uint64_t &address, size_t bytes) override {
    if (faultHit(FaultSite::DeviceAlloc)) {
      return driverError(__FILE__, __LINE__, "alloc",
                         "out of memory (injected fault) allocating " +
                             std::to_string(bytes) + " bytes");
    }
    return lost("alloc") ? lostError("alloc") : inner_->alloc(address, bytes);
  }
  fd_error_t release(uint64_t address) override {
    return lostNow_ ? lostError("release") : inner_->release(address);
  }
  fd_error_t copyToDevice(uint64_t d, const void *s, size_t n) override {
    return lost("copyToDevice") ? lostError("copyToDevice")
                                : inner_->copyToDevice(d, s, n);
  }
  fd_error_t zero(uint64_t d, size_t n) override {
    return lost("zero") ? lostError("zero") : inner_->zero(d, n);
  }
  fd_error_t beginCapture() override { return inner_->beginCapture(); }
  fd_error_t launch(void *fn, const unsigned g[3], const unsigned b[3],
                    void **params, const std::string &what,
                    bool overlap) override {
    return inner_->launch(fn, g, b, params, what, overlap);
  }
  fd_error_t endCapture() override { return inner_->endCapture(); }
  fd_error_t copyToDeviceAsync(uint64_t d, const void *s, size_t n) override {
    return lost("copyToDeviceAsync") ? lostError("copyToDeviceAsync")
                                     : inner_->copyToDeviceAsync(d, s, n);
  }
  fd_error_t replay() override {
    if (lost("replay")) {
      return lostError("replay");
    }
    if (fd_error_t e = inner_->replay()) {
      return e;
    }
    // A launch error surfaces at the next synchronization, as on CUDA.
    launchFailed_ = launchFailed_ || faultHit(FaultSite::Launch);
    return nullptr;
  }
  fd_error_t recordEvent(size_t index) override {
    return lost("recordEvent") ? lostError("recordEvent")
                               : inner_->recordEvent(index);
  }
  fd_error_t elapsedMs(size_t from, size_t to, float &ms) override {
    return lost("elapsedMs") ? lostError("elapsedMs")
                             : inner_->elapsedMs(from, to, ms);
  }
  fd_error_t copyToHostAsync(void *d, uint64_t s, size_t n) override {
    return lost("copyToHostAsync") ? lostError("copyToHostAsync")
                                   : inner_->copyToHostAsync(d, s, n);
  }
  fd_error_t synchronize() override {
    if (lost("synchronize")) {
      return lostError("synchronize");
    }
    fd_error_t e = inner_->synchronize();
    if (!e && launchFailed_) {
      return driverError(__FILE__, __LINE__, "synchronize",
                         "unspecified launch failure (injected fault)");
    }
    return e;
  }

private:
  /// Once lost, every later call fails too (the step counter is replay's).
  bool lost(const char *call) {
    if (!lostNow_ && std::string(call) == "replay") {
      lostNow_ = faultHit(FaultSite::DeviceLost);
    }
    return lostNow_;
  }
  fd_error_t lostError(const char *call) {
    return driverError(__FILE__, __LINE__, call,
                       "the GPU is no longer available (injected fault: "
                       "device lost)");
  }

  std::unique_ptr<GpuDriver> inner_;
  bool lostNow_ = false, launchFailed_ = false;
};

} // namespace

std::unique_ptr<GpuDriver> withFaults(std::unique_ptr<GpuDriver> d) {
  return std::make_unique<FaultyDriver>(std::move(d));
}
#else
std::unique_ptr<GpuDriver> withFaults(std::unique_ptr<GpuDriver> d) {
  return d;
}
#endif

} // namespace fd::runtime
