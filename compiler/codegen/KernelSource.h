//===- KernelSource.h - kernels.hip from an fdkernel decode step -*- C++
//-*-===//
//
// One explicit instantiation per distinct (template, parameters) the plan
// launches; the same source compiles for every target. After the device
// compile, each instance is bound to its mangled symbol by demangling the
// names the compiler reported.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_KERNELSOURCE_H
#define FUSEDECODE_COMPILER_CODEGEN_KERNELSOURCE_H

#include "compiler/codegen/DeviceCompiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace fd::codegen {

struct KernelInstance {
  std::string templateName;
  /// "fd::kernels::gemv_w4a16<2, 1, 4, 32, false, false>" as the source spells
  /// it.
  std::string spelled;
  /// The same as llvm::demangle prints it (uint16_t -> unsigned short).
  std::string demangledPrefix;
  /// Filled by bindSymbols for one target.
  std::string symbol;
};

struct KernelSource {
  std::string text;
  std::vector<KernelInstance> instances;
  /// For each fdkernel.launch in order, its index into `instances`.
  std::vector<size_t> launchInstance;
};

/// Checks every launch of the module's decode step against the template
/// registry (parameters, inputs, outputs and scalars by name and count) and
/// writes the source. Errors name the launch.
llvm::Expected<KernelSource> generateKernelSource(mlir::ModuleOp module);

/// Sets each instance's symbol from the kernels a device compile reported.
llvm::Error bindSymbols(KernelSource &source,
                        const std::vector<KernelResources> &kernels);

} // namespace fd::codegen

#endif
