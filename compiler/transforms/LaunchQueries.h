//===- LaunchQueries.h - what a launch reads, writes and is set to -*- C++
//-*-===//
//
// Small queries the fusion passes share: which buffers a launch names and
// the values of its template parameters.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_TRANSFORMS_LAUNCHQUERIES_H
#define FUSEDECODE_COMPILER_TRANSFORMS_LAUNCHQUERIES_H

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "llvm/ADT/STLExtras.h"

namespace fd::transforms {

/// The buffer a symbol reference of `ins` / `outs` names.
inline llvm::StringRef bufferName(mlir::Attribute a) {
  return llvm::cast<mlir::FlatSymbolRefAttr>(a).getValue();
}
/// Whether `refs` names `buffer`.
inline bool names(mlir::ArrayAttr refs, llvm::StringRef buffer) {
  return llvm::any_of(
      refs, [&](mlir::Attribute r) { return bufferName(r) == buffer; });
}
/// Whether the launch reads or writes `buffer`.
inline bool touches(fdkernel::LaunchOp l, llvm::StringRef buffer) {
  return names(l.getIns(), buffer) || names(l.getOuts(), buffer);
}
/// A bool template parameter; absent is false.
inline bool boolParam(fdkernel::LaunchOp l, llvm::StringRef name) {
  auto v = l.getParams().getAs<mlir::BoolAttr>(name);
  return v && v.getValue();
}
/// An integer template parameter, or `dflt` when absent.
inline int64_t intParam(fdkernel::LaunchOp l, llvm::StringRef name,
                        int64_t dflt = -1) {
  auto v = l.getParams().getAs<mlir::IntegerAttr>(name);
  return v ? v.getInt() : dflt;
}

} // namespace fd::transforms

#endif
