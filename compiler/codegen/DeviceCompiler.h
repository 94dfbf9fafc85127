//===- DeviceCompiler.h - kernel source -> code object + resources -*- C++
//-*-===//
//
// Compiles a HIP-subset kernel source for one target with the real device
// compiler and reads back what each kernel costs in registers:
//   gfx1151 / gfx1100: clang-22 device-only compile through our platform
//     layer (no HIP headers), linked into a code object (ELF, .hsaco);
//     resources from -Rpass-analysis=kernel-resource-usage.
//   sm_90: nvcc -cubin; resources from -Xptxas -v.
// The cost model (issue 5) and the report (report.json) read these numbers;
// they are measured, never estimated.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_DEVICECOMPILER_H
#define FUSEDECODE_COMPILER_CODEGEN_DEVICECOMPILER_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fd::codegen {

enum class GpuTarget { Gfx1151, Gfx1100, Sm90 };

const char *targetName(GpuTarget t);
/// "gfx1151", "gfx1100" or "sm_90".
std::optional<GpuTarget> parseTarget(const std::string &name);
bool isAmd(GpuTarget t);

/// What one compiled kernel uses. -1 = not reported for this vendor.
struct KernelResources {
  std::string name;                    // mangled symbol
  int vgprs = -1, sgprs = -1;          // AMD
  int occupancyWavesPerSimd = -1;      // AMD, as the compiler computes it
  int scratchBytesPerLane = 0;         // AMD
  int ldsBytes = 0;                    // AMD
  int registers = -1;                  // NVIDIA, per thread
  int stackBytes = 0;                  // NVIDIA
  int sharedBytes = 0;                 // NVIDIA static shared memory
  int spillStores = 0, spillLoads = 0; // NVIDIA bytes; AMD spill counts
};

struct DeviceBinary {
  GpuTarget target;
  std::vector<uint8_t> image; // code object (AMD ELF) or cubin
  std::vector<KernelResources> kernels;
  std::string compilerVersion; // first line of `--version`
};

struct DeviceCompileOptions {
  std::vector<std::string> includeDirs;
  std::string clang = "clang++-22";
  std::string nvcc = "nvcc";
  /// Where temporary files go; a fresh directory is made inside.
  std::string workDir;
};

/// Compiles `source` (the text of a .hip file) for `target`. Errors are one
/// line: the first compiler diagnostic, or why the compiler could not run.
llvm::Expected<DeviceBinary>
compileForTarget(const std::string &source, GpuTarget target,
                 const DeviceCompileOptions &options);

/// The compiler's identity for `target`: clang's first `--version` line or
/// nvcc's build line (part of the resource cache's key).
llvm::Expected<std::string>
compilerVersion(GpuTarget target, const DeviceCompileOptions &options);

/// Parsers of the compilers' reports, exposed for tests.
std::vector<KernelResources> parseAmdRemarks(const std::string &text);
std::vector<KernelResources> parsePtxasInfo(const std::string &text);

} // namespace fd::codegen

#endif
