//===- CudaDriver.cpp - the CUDA driver API, opened at run time -----------===//

#include "GpuDriver.h"

#include "Status.h"

#include <dlfcn.h>

#include <algorithm>
#include <vector>

namespace fd::runtime {

fd_error_t resolveSymbols(void *handle, const char *library,
                          DriverSymbol *symbols, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    void *sym = ::dlsym(handle, symbols[i].name);
    if (!sym) {
      return makeError(std::string(library) + " lacks " + symbols[i].name);
    }
    *static_cast<void **>(symbols[i].slot) = sym;
  }
  return nullptr;
}

fd_error_t driverError(const char *file, int line, const std::string &call,
                       const std::string &message) {
  return makeError(std::string(file) + ":" + std::to_string(line) + ": " +
                   call + ": " + message);
}

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
using CUevent = struct CUevent_st *;

constexpr CUresult kNoDevice = 100;       // CUDA_ERROR_NO_DEVICE
constexpr CUresult kNoBinaryForGpu = 209; // CUDA_ERROR_NO_BINARY_FOR_GPU
constexpr CUresult kInvalidImage = 200;   // CUDA_ERROR_INVALID_IMAGE
constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76;

// cuLaunchKernelEx's configuration (cuda.h, CUDA 12+), with the one launch
// attribute used: CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.
constexpr int kProgrammaticStreamSerialization = 6;
struct CUlaunchAttribute {
  int id;
  char pad[8 - sizeof(int)];
  union {
    char pad[64];
    int programmaticStreamSerializationAllowed;
  } value;
};
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
// cuda.h's sizes on LP64: the driver reads these structs by its own layout.
static_assert(sizeof(CUlaunchAttribute) == 72 && sizeof(CUlaunchConfig) == 56,
              "CUlaunchAttribute / CUlaunchConfig must match cuda.h");

class CudaDriver final : public GpuDriver {
public:
  ~CudaDriver() override {
    if (!handle_) {
      return;
    }
    if (exec_) {
      cuGraphExecDestroy(exec_);
    }
    if (graph_) {
      cuGraphDestroy(graph_);
    }
    for (CUevent e : events_) {
      cuEventDestroy(e);
    }
    if (stream_) {
      cuStreamDestroy(stream_);
    }
    for (CUdeviceptr p : owned_) {
      cuMemFree(p);
    }
    if (module_) {
      cuModuleUnload(module_);
    }
    if (ctx_) {
      cuDevicePrimaryCtxRelease(device_);
    }
    // The library stays loaded: the driver does not support being unloaded
    // and reloaded within one process.
  }

  const char *api() const override { return "CUDA"; }
  bool ownsTarget(const std::string &t) const override {
    return t.rfind("sm_", 0) == 0;
  }

  fd_error_t open(bool &unavailable) override {
    unavailable = true;
    handle_ = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      return makeError(
          std::string("no CUDA driver: cannot load libcuda.so.1 (") +
          ::dlerror() + ")");
    }
    // Versioned names where the driver exports several ABIs.
    DriverSymbol symbols[] = {
        {&cuInit, "cuInit"},
        {&cuDeviceGetCount, "cuDeviceGetCount"},
        {&cuDeviceGet, "cuDeviceGet"},
        {&cuDeviceGetName, "cuDeviceGetName"},
        {&cuDeviceGetAttribute, "cuDeviceGetAttribute"},
        {&cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
        {&cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
        {&cuCtxSetCurrent, "cuCtxSetCurrent"},
        {&cuMemGetInfo, "cuMemGetInfo_v2"},
        {&cuModuleLoadData, "cuModuleLoadData"},
        {&cuModuleUnload, "cuModuleUnload"},
        {&cuModuleGetFunction, "cuModuleGetFunction"},
        {&cuMemAlloc, "cuMemAlloc_v2"},
        {&cuMemFree, "cuMemFree_v2"},
        {&cuMemcpyHtoD, "cuMemcpyHtoD_v2"},
        {&cuMemsetD8, "cuMemsetD8_v2"},
        {&cuLaunchKernel, "cuLaunchKernel"},
        {&cuGetErrorString, "cuGetErrorString"},
        {&cuStreamCreate, "cuStreamCreate"},
        {&cuStreamDestroy, "cuStreamDestroy_v2"},
        {&cuStreamSynchronize, "cuStreamSynchronize"},
        {&cuStreamBeginCapture, "cuStreamBeginCapture_v2"},
        {&cuStreamEndCapture, "cuStreamEndCapture"},
        {&cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"},
        {&cuGraphLaunch, "cuGraphLaunch"},
        {&cuGraphDestroy, "cuGraphDestroy"},
        {&cuGraphExecDestroy, "cuGraphExecDestroy"},
        {&cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"},
        {&cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"},
        {&cuEventCreate, "cuEventCreate"},
        {&cuEventDestroy, "cuEventDestroy_v2"},
        {&cuEventRecordWithFlags, "cuEventRecordWithFlags"},
        {&cuEventElapsedTime, "cuEventElapsedTime"},
    };
    if (fd_error_t e = resolveSymbols(handle_, "libcuda.so.1", symbols,
                                      sizeof symbols / sizeof *symbols)) {
      return e;
    }
    // Optional (drivers before CUDA 12 lack it): overlap launches then run
    // in stream order.
    cuLaunchKernelEx = reinterpret_cast<decltype(cuLaunchKernelEx)>(
        ::dlsym(handle_, "cuLaunchKernelEx"));
    CUresult r = cuInit(0);
    if (r == kNoDevice) {
      return makeError("no CUDA device (cuInit: no CUDA-capable device)");
    }
    if (fd_error_t e = check(r, "cuInit", __FILE__, __LINE__)) {
      return e;
    }
    int count = 0;
    FD_CHECK(cuDeviceGetCount(&count));
    if (count == 0) {
      return makeError("no CUDA device");
    }
    unavailable = false;
    FD_CHECK(cuDeviceGet(&device_, 0));
    char name[256] = {};
    FD_CHECK(cuDeviceGetName(name, sizeof name - 1, device_));
    name_ = name;
    int major = 0, minor = 0;
    FD_CHECK(cuDeviceGetAttribute(&major, kComputeCapabilityMajor, device_));
    FD_CHECK(cuDeviceGetAttribute(&minor, kComputeCapabilityMinor, device_));
    target_ = "sm_" + std::to_string(major * 10 + minor);
    FD_CHECK(cuDevicePrimaryCtxRetain(&ctx_, device_));
    FD_CHECK(cuCtxSetCurrent(ctx_));
    FD_CHECK(cuStreamCreate(&stream_, 0));
    return nullptr;
  }

  fd_error_t bindThread() override {
    FD_CHECK(cuCtxSetCurrent(ctx_));
    return nullptr;
  }

  std::string deviceName() const override { return name_; }
  std::string deviceTarget() const override { return target_; }

  fd_error_t memoryInfo(uint64_t &freeBytes, uint64_t &totalBytes) override {
    size_t f = 0, t = 0;
    FD_CHECK(cuMemGetInfo(&f, &t));
    freeBytes = f;
    totalBytes = t;
    return nullptr;
  }

  fd_error_t loadModule(const std::string &image, bool &wrongTarget) override {
    CUresult r = cuModuleLoadData(&module_, image.data());
    wrongTarget = r == kNoBinaryForGpu || r == kInvalidImage;
    return check(r, "cuModuleLoadData", __FILE__, __LINE__);
  }

  fd_error_t function(const std::string &symbol, void *&fn) override {
    CUfunction f = nullptr;
    FD_CHECK(cuModuleGetFunction(&f, module_, symbol.c_str()));
    fn = f;
    return nullptr;
  }

  fd_error_t alloc(uint64_t &address, size_t bytes) override {
    CUdeviceptr p = 0;
    FD_CHECK(cuMemAlloc(&p, bytes));
    owned_.push_back(p);
    address = p;
    return nullptr;
  }
  fd_error_t release(uint64_t address) override {
    auto it = std::find(owned_.begin(), owned_.end(), address);
    if (it == owned_.end()) {
      return makeError("release of an address this driver did not allocate");
    }
    owned_.erase(it);
    FD_CHECK(cuMemFree(address));
    return nullptr;
  }
  fd_error_t copyToDevice(uint64_t dst, const void *src,
                          size_t bytes) override {
    FD_CHECK(cuMemcpyHtoD(dst, src, bytes));
    return nullptr;
  }
  fd_error_t zero(uint64_t dst, size_t bytes) override {
    FD_CHECK(cuMemsetD8(dst, 0, bytes));
    return nullptr;
  }

  fd_error_t beginCapture() override {
    // The previous graph goes first: nothing may be destroyed mid-capture.
    if (exec_) {
      FD_CHECK(cuGraphExecDestroy(exec_));
      exec_ = nullptr;
    }
    if (graph_) {
      FD_CHECK(cuGraphDestroy(graph_));
      graph_ = nullptr;
    }
    FD_CHECK(cuStreamBeginCapture(stream_, 0)); // CU_STREAM_CAPTURE_MODE_GLOBAL
    capturing_ = true;
    return nullptr;
  }
  fd_error_t launch(void *fn, const unsigned grid[3], const unsigned block[3],
                    void **params, const std::string &what,
                    bool overlap) override {
    CUresult r;
    if (overlap && cuLaunchKernelEx) {
      CUlaunchAttribute attr{};
      attr.id = kProgrammaticStreamSerialization;
      attr.value.programmaticStreamSerializationAllowed = 1;
      CUlaunchConfig config{grid[0],  grid[1], grid[2], block[0], block[1],
                            block[2], 0,       stream_, &attr,    1};
      r = cuLaunchKernelEx(&config, static_cast<CUfunction>(fn), params,
                           nullptr);
    } else {
      r = cuLaunchKernel(static_cast<CUfunction>(fn), grid[0], grid[1], grid[2],
                         block[0], block[1], block[2], 0, stream_, params,
                         nullptr);
    }
    if (r != 0) {
      // Leave capture so the stream stays usable for the error path.
      capturing_ = false;
      CUgraph broken = nullptr;
      cuStreamEndCapture(stream_, &broken);
      if (broken) {
        cuGraphDestroy(broken);
      }
    }
    return check(r,
                 ((overlap && cuLaunchKernelEx ? "cuLaunchKernelEx("
                                               : "cuLaunchKernel(") +
                  what + ")")
                     .c_str(),
                 __FILE__, __LINE__);
  }
  fd_error_t endCapture() override {
    capturing_ = false;
    FD_CHECK(cuStreamEndCapture(stream_, &graph_));
    FD_CHECK(cuGraphInstantiateWithFlags(&exec_, graph_, 0));
    return nullptr;
  }

  fd_error_t copyToDeviceAsync(uint64_t dst, const void *src,
                               size_t bytes) override {
    FD_CHECK(cuMemcpyHtoDAsync(dst, src, bytes, stream_));
    return nullptr;
  }
  fd_error_t replay() override {
    FD_CHECK(cuGraphLaunch(exec_, stream_));
    return nullptr;
  }
  fd_error_t copyToHostAsync(void *dst, uint64_t src, size_t bytes) override {
    FD_CHECK(cuMemcpyDtoHAsync(dst, src, bytes, stream_));
    return nullptr;
  }
  fd_error_t synchronize() override {
    FD_CHECK(cuStreamSynchronize(stream_));
    return nullptr;
  }

  fd_error_t recordEvent(size_t index) override {
    while (events_.size() <= index) {
      CUevent e = nullptr;
      FD_CHECK(cuEventCreate(&e, 0)); // CU_EVENT_DEFAULT: with timing
      events_.push_back(e);
    }
    // CU_EVENT_RECORD_EXTERNAL: inside a capture, a timed event node (the
    // default would only order the capture's streams); invalid outside.
    FD_CHECK(
        cuEventRecordWithFlags(events_[index], stream_, capturing_ ? 1 : 0));
    return nullptr;
  }
  fd_error_t elapsedMs(size_t from, size_t to, float &ms) override {
    if (from >= events_.size() || to >= events_.size()) {
      return makeError("elapsedMs: event never recorded");
    }
    FD_CHECK(cuEventElapsedTime(&ms, events_[from], events_[to]));
    return nullptr;
  }

private:
  fd_error_t check(CUresult r, const char *call, const char *file,
                   int line) const {
    if (r == 0) {
      return nullptr;
    }
    const char *msg = nullptr;
    if (cuGetErrorString) {
      cuGetErrorString(r, &msg);
    }
    return driverError(file, line, call,
                       msg ? msg : "CUDA error " + std::to_string(r));
  }

  void *handle_ = nullptr;
  CUdevice device_ = 0;
  CUcontext ctx_ = nullptr;
  CUmodule module_ = nullptr;
  CUstream stream_ = nullptr;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
  bool capturing_ = false;
  std::vector<CUevent> events_;
  std::vector<CUdeviceptr> owned_;
  std::string name_, target_;

  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuMemGetInfo)(size_t *, size_t *) = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule *, const void *) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **) = nullptr;
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                               void **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuStreamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuStreamBeginCapture)(CUstream, int) = nullptr;
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *) = nullptr;
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long) = nullptr;
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream) = nullptr;
  CUresult (*cuGraphDestroy)(CUgraph) = nullptr;
  CUresult (*cuGraphExecDestroy)(CUgraphExec) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t,
                                CUstream) = nullptr;
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t,
                                CUstream) = nullptr;
  CUresult (*cuEventCreate)(CUevent *, unsigned) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr;
  CUresult (*cuEventRecordWithFlags)(CUevent, CUstream, unsigned) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr;
};

} // namespace

std::unique_ptr<GpuDriver> makeCudaDriver() {
  return std::make_unique<CudaDriver>();
}

} // namespace fd::runtime
