//===- CudaDriver.cpp - the CUDA driver API, opened at run time -----------===//

#include "CudaDriver.h"

#include "Status.h"

#include <dlfcn.h>
#include <string>

namespace fd::runtime {

fd_error_t CudaDriver::load() {
  handle = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    return makeError(std::string("no CUDA driver: cannot load libcuda.so.1 (") +
                     ::dlerror() + ")");
  }
  // Versioned names where the driver exports several ABIs.
  struct Entry {
    void *slot;
    const char *name;
  } entries[] = {
      {&cuInit, "cuInit"},
      {&cuDeviceGetCount, "cuDeviceGetCount"},
      {&cuDeviceGet, "cuDeviceGet"},
      {&cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
      {&cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
      {&cuCtxSetCurrent, "cuCtxSetCurrent"},
      {&cuCtxSynchronize, "cuCtxSynchronize"},
      {&cuModuleLoadData, "cuModuleLoadData"},
      {&cuModuleUnload, "cuModuleUnload"},
      {&cuModuleGetFunction, "cuModuleGetFunction"},
      {&cuMemAlloc, "cuMemAlloc_v2"},
      {&cuMemFree, "cuMemFree_v2"},
      {&cuMemcpyHtoD, "cuMemcpyHtoD_v2"},
      {&cuMemcpyDtoH, "cuMemcpyDtoH_v2"},
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
  };
  for (Entry &e : entries) {
    void *sym = ::dlsym(handle, e.name);
    if (!sym) {
      return makeError(std::string("CUDA driver lacks ") + e.name);
    }
    *static_cast<void **>(e.slot) = sym;
  }
  return nullptr;
}

fd_error_t CudaDriver::check(CUresult r, const char *call, const char *file,
                             int line) const {
  if (r == 0) {
    return nullptr;
  }
  const char *msg = nullptr;
  if (cuGetErrorString) {
    cuGetErrorString(r, &msg);
  }
  return makeError(std::string(file) + ":" + std::to_string(line) + ": " +
                   call + ": " +
                   (msg ? msg : "CUDA error " + std::to_string(r)));
}

} // namespace fd::runtime
