//===- CudaDriver.h - the CUDA driver API, opened at run time --*- C++ -*-===//
//
// libcuda is loaded with dlopen when a GPU engine is created (IREE-HAL
// style), so the runtime builds and links on machines without CUDA and
// reports a missing driver as an error instead of failing to start.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_CUDADRIVER_H
#define FUSEDECODE_RUNTIME_CUDADRIVER_H

#include "fusedecode/status.h"

#include <cstddef>
#include <cstdint>

namespace fd::runtime {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

struct CudaDriver {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);

  /// Opens libcuda.so.1 and resolves every entry point.
  fd_error_t load();
  /// "<file>:<line>: <call>: <driver message>" for a failed call, else null.
  fd_error_t check(CUresult r, const char *call, const char *file,
                   int line) const;
};

} // namespace fd::runtime

/// Every driver call goes through this: the error names file, line and call.
#define FD_CU(drv, call)                                                       \
  do {                                                                         \
    if (fd_error_t fdCuErr_ =                                                  \
            (drv).check((drv).call, #call, __FILE__, __LINE__))                \
      return fdCuErr_;                                                         \
  } while (0)

#endif
