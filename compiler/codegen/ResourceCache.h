//===- ResourceCache.h - compiled resources of kernel instances -*- C++ -*-===//
//
// The cost model weighs every candidate instance by the registers and local
// memory its compiler really gives it. This compiles the instances a module's
// launches name (one device compile per target for all that are missing) and
// keeps the results in a JSON file per target under a cache directory, keyed
// by (instance, target, compiler version, hash of the template sources), so
// a repeated compile does not run the device compiler again.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_RESOURCECACHE_H
#define FUSEDECODE_COMPILER_CODEGEN_RESOURCECACHE_H

#include "compiler/codegen/DeviceCompiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>

namespace fd::codegen {

/// Every template header under `dirs` (relative path and contents), hashed
/// in path order: an edited template invalidates what was compiled or
/// measured from it.
std::string hashTemplates(const std::vector<std::string> &dirs);

class ResourceCache {
public:
  /// `cacheDir` empty: nothing is kept between runs.
  ResourceCache(std::string cacheDir, DeviceCompileOptions options);

  /// The resources of the instance each launch of `module` names, in launch
  /// order; instances not in the cache are compiled for `target` together.
  llvm::Expected<std::vector<KernelResources>> resources(mlir::ModuleOp module,
                                                         GpuTarget target);

  /// Instances answered from the cache / compiled, over this object's life.
  int hits() const { return hits_; }
  int compiled() const { return compiled_; }

  /// $FD_KERNEL_CACHE, else $XDG_CACHE_HOME/fusedecode/kernels, else
  /// ~/.cache/fusedecode/kernels.
  static std::string defaultDirectory();

private:
  llvm::Error load(GpuTarget target);
  llvm::Error save(GpuTarget target);

  std::string dir_;
  DeviceCompileOptions options_;
  std::string templatesHash_;
  std::map<GpuTarget, std::string> versions_;
  std::map<GpuTarget, std::map<std::string, KernelResources>> entries_;
  int hits_ = 0, compiled_ = 0;
};

} // namespace fd::codegen

#endif
