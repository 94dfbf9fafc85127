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

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>

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

/// A template parameter or scalar by name (null when absent).
inline mlir::Attribute paramAttr(fdkernel::LaunchOp l, llvm::StringRef name) {
  return l.getParams().get(name);
}
inline mlir::Attribute scalarAttr(fdkernel::LaunchOp l, llvm::StringRef name) {
  return l.getScalars().get(name);
}
/// An integer scalar, or `dflt` when absent.
inline int64_t intScalar(fdkernel::LaunchOp l, llvm::StringRef name,
                         int64_t dflt = -1) {
  auto v = l.getScalars().getAs<mlir::IntegerAttr>(name);
  return v ? v.getInt() : dflt;
}
/// Whether the reference names no buffer (`@__null`, an absent pointer).
inline bool isNullRef(mlir::Attribute a) { return bufferName(a) == "__null"; }

/// A one-token GEMV with one float output and no epilogue of its own:
/// gemv_w4a16 or gemv_bf16 (bf16 activations), the form the MoE fusions
/// take apart. Its inputs are its weight buffers (3 for w4, 1 for bf16),
/// then x.
inline bool isPlainGemv(fdkernel::LaunchOp l) {
  llvm::StringRef t = l.getTemplateName();
  return (t == "gemv_w4a16" || t == "gemv_bf16") && l.getOuts().size() == 1 &&
         intParam(l, "M", 1) == 1 && !boolParam(l, "OUT_BF16") &&
         !boolParam(l, "ACCUM") && !boolParam(l, "X_F32") &&
         l.getEpilogues().empty();
}

/// A plain GEMV (isPlainGemv) as a segment of the fused MoE templates:
/// its weight inputs as (w, scales, zeros) with nulls for bf16, and the
/// parameters ROWS, LANES, WAVES, GROUP, ZEROS, KIND (1 w4, 2 bf16).
inline void asSegment(fdkernel::LaunchOp gemv, mlir::Builder &b,
                      llvm::SmallVectorImpl<mlir::Attribute> &weights,
                      mlir::NamedAttrList &params) {
  const bool w4 = gemv.getTemplateName() == "gemv_w4a16";
  mlir::ArrayAttr in = gemv.getIns();
  mlir::Attribute null = mlir::FlatSymbolRefAttr::get(b.getContext(), "__null");
  if (w4) {
    weights.append({in[0], in[1], in[2]});
  } else {
    weights.append({in[0], null, null});
  }
  for (llvm::StringRef p : {"ROWS", "LANES", "WAVES"}) {
    params.set(p, gemv.getParams().get(p));
  }
  params.set("GROUP", w4 ? gemv.getParams().get("GROUP")
                         : mlir::Attribute(b.getI64IntegerAttr(32)));
  params.set("ZEROS", w4 ? gemv.getParams().get("ZEROS")
                         : mlir::Attribute(b.getBoolAttr(false)));
  params.set("KIND", b.getI64IntegerAttr(w4 ? 1 : 2));
}

/// The launches of a step in order; fusion passes null out erased ones.
using LaunchList = llvm::SmallVector<fdkernel::LaunchOp>;

/// The last live launch before `before` that writes `buffer`, or -1.
inline int64_t lastWriter(llvm::ArrayRef<fdkernel::LaunchOp> launches,
                          size_t before, llvm::StringRef buffer) {
  for (int64_t j = static_cast<int64_t>(before) - 1; j >= 0; --j) {
    fdkernel::LaunchOp l = launches[j];
    if (l && names(l.getOuts(), buffer)) {
      return j;
    }
  }
  return -1;
}
/// Whether no live launch other than those at `allowed` reads or writes
/// `buffer`.
inline bool onlyUsedBy(llvm::ArrayRef<fdkernel::LaunchOp> launches,
                       llvm::StringRef buffer,
                       llvm::ArrayRef<int64_t> allowed) {
  for (size_t k = 0; k < launches.size(); ++k) {
    if (launches[k] && !llvm::is_contained(allowed, static_cast<int64_t>(k)) &&
        touches(launches[k], buffer)) {
      return false;
    }
  }
  return true;
}
/// Whether a live launch strictly between `from` and `to` (either order)
/// writes what `l` reads: moving `l` anywhere in that range is then unsafe.
inline bool inputsWrittenBetween(llvm::ArrayRef<fdkernel::LaunchOp> launches,
                                 int64_t from, int64_t to,
                                 fdkernel::LaunchOp l) {
  const int64_t lo = std::min(from, to), hi = std::max(from, to);
  for (int64_t k = lo + 1; k < hi; ++k) {
    fdkernel::LaunchOp other = launches[k];
    if (!other) {
      continue;
    }
    for (mlir::Attribute in : l.getIns()) {
      if (!isNullRef(in) && names(other.getOuts(), bufferName(in))) {
        return true;
      }
    }
  }
  return false;
}
/// Removes the arena buffer `name` (an intermediate a fusion made
/// unnecessary); weights and state stay.
inline void eraseArenaBuffer(mlir::ModuleOp module, llvm::StringRef name) {
  if (auto op = mlir::SymbolTable::lookupNearestSymbolFrom<fdkernel::BufferOp>(
          module, mlir::StringAttr::get(module.getContext(), name))) {
    if (op.getKind() == fdkernel::BufferKind::arena) {
      op.erase();
    }
  }
}

} // namespace fd::transforms

#endif
