//===- HipDriver.cpp - the HIP module API, opened at run time -------------===//
//
// The AMD path (gfx1151 Strix Halo, gfx1100): libamdhip64 opened with
// dlopen, code objects from compile-model --target gfx1151 loaded with
// hipModuleLoadData, the step captured into a hipGraph. HIP does not report
// a device's gfx name through a stable C ABI (hipDeviceProp_t changes
// layout between ROCm releases), so the backend offers each AMD code object
// of the bundle in turn; the runtime refuses the ones built for another
// chip. No AMD GPU is reachable from the project's machines: this file is
// compiled and its "no driver" path tested, the rest has not run.
//
//===----------------------------------------------------------------------===//

#include "GpuDriver.h"

#include "Status.h"

#include <dlfcn.h>

#include <algorithm>
#include <vector>

namespace fd::runtime {

namespace {

using hipError_t = int;
using hipDevice_t = int;
using hipDeviceptr_t = void *;
using hipModule_t = struct ihipModule_t *;
using hipFunction_t = struct ihipModuleSymbol_t *;
using hipStream_t = struct ihipStream_t *;
using hipGraph_t = struct ihipGraph *;
using hipGraphExec_t = struct hipGraphExec *;
using hipEvent_t = struct ihipEvent_t *;

constexpr hipError_t kNoDevice = 100;       // hipErrorNoDevice
constexpr hipError_t kInvalidImage = 200;   // hipErrorInvalidImage
constexpr hipError_t kNoBinaryForGpu = 209; // hipErrorNoBinaryForGpu

void *toPtr(uint64_t a) { return reinterpret_cast<void *>(a); }

class HipDriver final : public GpuDriver {
public:
  ~HipDriver() override {
    if (!handle_) {
      return;
    }
    if (exec_) {
      hipGraphExecDestroy(exec_);
    }
    if (graph_) {
      hipGraphDestroy(graph_);
    }
    for (hipEvent_t e : events_) {
      hipEventDestroy(e);
    }
    if (stream_) {
      hipStreamDestroy(stream_);
    }
    for (void *p : owned_) {
      hipFree(p);
    }
    if (module_) {
      hipModuleUnload(module_);
    }
  }

  const char *api() const override { return "HIP"; }
  bool ownsTarget(const std::string &t) const override {
    return t.rfind("gfx", 0) == 0;
  }

  fd_error_t open(bool &unavailable) override {
    unavailable = true;
    std::string firstError;
    for (const char *lib :
         {"libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6"}) {
      if ((handle_ = ::dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
        break;
      }
      if (firstError.empty()) {
        firstError = ::dlerror();
      }
    }
    if (!handle_) {
      return makeError("no HIP runtime: cannot load libamdhip64.so (" +
                       firstError + "; nor .so.7, .so.6)");
    }
    DriverSymbol symbols[] = {
        {&hipInit, "hipInit"},
        {&hipGetDeviceCount, "hipGetDeviceCount"},
        {&hipSetDevice, "hipSetDevice"},
        {&hipDeviceGet, "hipDeviceGet"},
        {&hipDeviceGetName, "hipDeviceGetName"},
        {&hipMemGetInfo, "hipMemGetInfo"},
        {&hipModuleLoadData, "hipModuleLoadData"},
        {&hipModuleUnload, "hipModuleUnload"},
        {&hipModuleGetFunction, "hipModuleGetFunction"},
        {&hipMalloc, "hipMalloc"},
        {&hipFree, "hipFree"},
        {&hipMemcpyHtoD, "hipMemcpyHtoD"},
        {&hipMemsetD8, "hipMemsetD8"},
        {&hipModuleLaunchKernel, "hipModuleLaunchKernel"},
        {&hipGetErrorString, "hipGetErrorString"},
        {&hipStreamCreate, "hipStreamCreate"},
        {&hipStreamDestroy, "hipStreamDestroy"},
        {&hipStreamSynchronize, "hipStreamSynchronize"},
        {&hipStreamBeginCapture, "hipStreamBeginCapture"},
        {&hipStreamEndCapture, "hipStreamEndCapture"},
        {&hipGraphInstantiateWithFlags, "hipGraphInstantiateWithFlags"},
        {&hipGraphLaunch, "hipGraphLaunch"},
        {&hipGraphDestroy, "hipGraphDestroy"},
        {&hipGraphExecDestroy, "hipGraphExecDestroy"},
        {&hipMemcpyHtoDAsync, "hipMemcpyHtoDAsync"},
        {&hipMemcpyDtoHAsync, "hipMemcpyDtoHAsync"},
        {&hipEventCreate, "hipEventCreate"},
        {&hipEventDestroy, "hipEventDestroy"},
        {&hipEventRecordWithFlags, "hipEventRecordWithFlags"},
        {&hipEventElapsedTime, "hipEventElapsedTime"},
    };
    if (fd_error_t e = resolveSymbols(handle_, "libamdhip64.so", symbols,
                                      sizeof symbols / sizeof *symbols)) {
      return e;
    }
    hipError_t r = hipInit(0);
    if (r == kNoDevice) {
      return makeError("no HIP device (hipInit: no ROCm-capable device)");
    }
    if (fd_error_t e = check(r, "hipInit", __FILE__, __LINE__)) {
      return e;
    }
    int count = 0;
    FD_CHECK(hipGetDeviceCount(&count));
    if (count == 0) {
      return makeError("no HIP device");
    }
    unavailable = false;
    FD_CHECK(hipSetDevice(0));
    hipDevice_t device = 0;
    FD_CHECK(hipDeviceGet(&device, 0));
    char name[256] = {};
    FD_CHECK(hipDeviceGetName(name, sizeof name - 1, device));
    name_ = name;
    FD_CHECK(hipStreamCreate(&stream_));
    return nullptr;
  }

  fd_error_t bindThread() override {
    FD_CHECK(hipSetDevice(0));
    return nullptr;
  }

  std::string deviceName() const override { return name_; }
  std::string deviceTarget() const override { return ""; }

  fd_error_t memoryInfo(uint64_t &freeBytes, uint64_t &totalBytes) override {
    size_t f = 0, t = 0;
    FD_CHECK(hipMemGetInfo(&f, &t));
    freeBytes = f;
    totalBytes = t;
    return nullptr;
  }

  fd_error_t loadModule(const std::string &image, bool &wrongTarget) override {
    hipError_t r = hipModuleLoadData(&module_, image.data());
    wrongTarget = r == kNoBinaryForGpu || r == kInvalidImage;
    return check(r, "hipModuleLoadData", __FILE__, __LINE__);
  }

  fd_error_t function(const std::string &symbol, void *&fn) override {
    hipFunction_t f = nullptr;
    FD_CHECK(hipModuleGetFunction(&f, module_, symbol.c_str()));
    fn = f;
    return nullptr;
  }

  fd_error_t alloc(uint64_t &address, size_t bytes) override {
    void *p = nullptr;
    FD_CHECK(hipMalloc(&p, bytes));
    owned_.push_back(p);
    address = reinterpret_cast<uint64_t>(p);
    return nullptr;
  }
  fd_error_t release(uint64_t address) override {
    auto it = std::find(owned_.begin(), owned_.end(), toPtr(address));
    if (it == owned_.end()) {
      return makeError("release of an address this driver did not allocate");
    }
    owned_.erase(it);
    FD_CHECK(hipFree(toPtr(address)));
    return nullptr;
  }
  fd_error_t copyToDevice(uint64_t dst, const void *src,
                          size_t bytes) override {
    FD_CHECK(hipMemcpyHtoD(toPtr(dst), const_cast<void *>(src), bytes));
    return nullptr;
  }
  fd_error_t zero(uint64_t dst, size_t bytes) override {
    FD_CHECK(hipMemsetD8(toPtr(dst), 0, bytes));
    return nullptr;
  }

  fd_error_t beginCapture() override {
    // The previous graph goes first: nothing may be destroyed mid-capture.
    if (exec_) {
      FD_CHECK(hipGraphExecDestroy(exec_));
      exec_ = nullptr;
    }
    if (graph_) {
      FD_CHECK(hipGraphDestroy(graph_));
      graph_ = nullptr;
    }
    FD_CHECK(hipStreamBeginCapture(stream_, 0)); // hipStreamCaptureModeGlobal
    capturing_ = true;
    return nullptr;
  }
  // HIP has no programmatic dependent launch: `overlap` launches in stream
  // order (the kernels' wait is empty on AMD).
  fd_error_t launch(void *fn, const unsigned grid[3], const unsigned block[3],
                    void **params, const std::string &what,
                    bool /*overlap*/) override {
    hipError_t r = hipModuleLaunchKernel(
        static_cast<hipFunction_t>(fn), grid[0], grid[1], grid[2], block[0],
        block[1], block[2], 0, stream_, params, nullptr);
    if (r != 0) {
      capturing_ = false;
      hipGraph_t broken = nullptr;
      hipStreamEndCapture(stream_, &broken);
      if (broken) {
        hipGraphDestroy(broken);
      }
    }
    return check(r, ("hipModuleLaunchKernel(" + what + ")").c_str(), __FILE__,
                 __LINE__);
  }
  fd_error_t endCapture() override {
    capturing_ = false;
    FD_CHECK(hipStreamEndCapture(stream_, &graph_));
    FD_CHECK(hipGraphInstantiateWithFlags(&exec_, graph_, 0));
    return nullptr;
  }

  fd_error_t copyToDeviceAsync(uint64_t dst, const void *src,
                               size_t bytes) override {
    FD_CHECK(hipMemcpyHtoDAsync(toPtr(dst), const_cast<void *>(src), bytes,
                                stream_));
    return nullptr;
  }
  fd_error_t replay() override {
    FD_CHECK(hipGraphLaunch(exec_, stream_));
    return nullptr;
  }
  fd_error_t copyToHostAsync(void *dst, uint64_t src, size_t bytes) override {
    FD_CHECK(hipMemcpyDtoHAsync(dst, toPtr(src), bytes, stream_));
    return nullptr;
  }
  fd_error_t synchronize() override {
    FD_CHECK(hipStreamSynchronize(stream_));
    return nullptr;
  }

  fd_error_t recordEvent(size_t index) override {
    while (events_.size() <= index) {
      hipEvent_t e = nullptr;
      FD_CHECK(hipEventCreate(&e));
      events_.push_back(e);
    }
    // hipEventRecordExternal inside a capture: a timed event node.
    FD_CHECK(
        hipEventRecordWithFlags(events_[index], stream_, capturing_ ? 1 : 0));
    return nullptr;
  }
  fd_error_t elapsedMs(size_t from, size_t to, float &ms) override {
    if (from >= events_.size() || to >= events_.size()) {
      return makeError("elapsedMs: event never recorded");
    }
    FD_CHECK(hipEventElapsedTime(&ms, events_[from], events_[to]));
    return nullptr;
  }

private:
  fd_error_t check(hipError_t r, const char *call, const char *file,
                   int line) const {
    if (r == 0) {
      return nullptr;
    }
    const char *msg = hipGetErrorString ? hipGetErrorString(r) : nullptr;
    return driverError(file, line, call,
                       msg ? msg : "HIP error " + std::to_string(r));
  }

  void *handle_ = nullptr;
  hipModule_t module_ = nullptr;
  hipStream_t stream_ = nullptr;
  hipGraph_t graph_ = nullptr;
  hipGraphExec_t exec_ = nullptr;
  bool capturing_ = false;
  std::vector<hipEvent_t> events_;
  std::vector<void *> owned_;
  std::string name_;

  hipError_t (*hipInit)(unsigned) = nullptr;
  hipError_t (*hipGetDeviceCount)(int *) = nullptr;
  hipError_t (*hipSetDevice)(int) = nullptr;
  hipError_t (*hipDeviceGet)(hipDevice_t *, int) = nullptr;
  hipError_t (*hipDeviceGetName)(char *, int, hipDevice_t) = nullptr;
  hipError_t (*hipMemGetInfo)(size_t *, size_t *) = nullptr;
  hipError_t (*hipModuleLoadData)(hipModule_t *, const void *) = nullptr;
  hipError_t (*hipModuleUnload)(hipModule_t) = nullptr;
  hipError_t (*hipModuleGetFunction)(hipFunction_t *, hipModule_t,
                                     const char *) = nullptr;
  hipError_t (*hipMalloc)(void **, size_t) = nullptr;
  hipError_t (*hipFree)(void *) = nullptr;
  hipError_t (*hipMemcpyHtoD)(hipDeviceptr_t, void *, size_t) = nullptr;
  hipError_t (*hipMemsetD8)(hipDeviceptr_t, unsigned char, size_t) = nullptr;
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t, unsigned, unsigned,
                                      unsigned, unsigned, unsigned, unsigned,
                                      unsigned, hipStream_t, void **,
                                      void **) = nullptr;
  const char *(*hipGetErrorString)(hipError_t) = nullptr;
  hipError_t (*hipStreamCreate)(hipStream_t *) = nullptr;
  hipError_t (*hipStreamDestroy)(hipStream_t) = nullptr;
  hipError_t (*hipStreamSynchronize)(hipStream_t) = nullptr;
  hipError_t (*hipStreamBeginCapture)(hipStream_t, int) = nullptr;
  hipError_t (*hipStreamEndCapture)(hipStream_t, hipGraph_t *) = nullptr;
  hipError_t (*hipGraphInstantiateWithFlags)(hipGraphExec_t *, hipGraph_t,
                                             unsigned long long) = nullptr;
  hipError_t (*hipGraphLaunch)(hipGraphExec_t, hipStream_t) = nullptr;
  hipError_t (*hipGraphDestroy)(hipGraph_t) = nullptr;
  hipError_t (*hipGraphExecDestroy)(hipGraphExec_t) = nullptr;
  hipError_t (*hipMemcpyHtoDAsync)(hipDeviceptr_t, void *, size_t,
                                   hipStream_t) = nullptr;
  hipError_t (*hipMemcpyDtoHAsync)(void *, hipDeviceptr_t, size_t,
                                   hipStream_t) = nullptr;
  hipError_t (*hipEventCreate)(hipEvent_t *) = nullptr;
  hipError_t (*hipEventDestroy)(hipEvent_t) = nullptr;
  hipError_t (*hipEventRecordWithFlags)(hipEvent_t, hipStream_t,
                                        unsigned) = nullptr;
  hipError_t (*hipEventElapsedTime)(float *, hipEvent_t, hipEvent_t) = nullptr;
};

} // namespace

std::unique_ptr<GpuDriver> makeHipDriver() {
  return std::make_unique<HipDriver>();
}

} // namespace fd::runtime
