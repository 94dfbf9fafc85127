//===- FDGraphDialect.h - fdgraph dialect -----------------------*- C++ -*-===//

#ifndef FUSEDECODE_DIALECTS_FDGRAPH_IR_FDGRAPHDIALECT_H
#define FUSEDECODE_DIALECTS_FDGRAPH_IR_FDGRAPHDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/FDGraph/IR/FDGraphDialect.h.inc"
#include "dialects/FDGraph/IR/FDGraphEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/FDGraph/IR/FDGraphAttrs.h.inc"

namespace fd::fdgraph {
/// Name of the module attribute listing the checkpoint's shard files; the
/// `files` of every #fdgraph.tensor index into it.
inline constexpr llvm::StringLiteral kShardsAttrName = "fdgraph.shards";
} // namespace fd::fdgraph

#endif
