//===- FDKernelOps.cpp - fdkernel operation verifiers ---------------------===//

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace fd::fdkernel;

/// Both gfx11 (wave32 mode) and NVIDIA run 32-lane waves; blocks are whole
/// waves so that wave-level reductions need no partial-wave masking.
static constexpr int64_t kWaveSize = 32;
static constexpr int64_t kMaxBlockThreads = 1024;
/// Passes a null pointer for an optional kernel input or output (one the
/// kernel then does not write).
static constexpr llvm::StringLiteral kNullBuffer = "__null";

LogicalResult BufferOp::verify() {
  // I64Attr getters are unsigned; read them signed so negatives are caught.
  if (static_cast<int64_t>(getSize()) <= 0) {
    return emitOpError("expects a positive size");
  }
  if (static_cast<int64_t>(getOffset()) < 0) {
    return emitOpError("expects a non-negative offset");
  }
  if (getKind() != BufferKind::arena && getOffset() != 0) {
    return emitOpError("expects offset 0 outside the arena");
  }
  if (getWeight().has_value() != (getKind() == BufferKind::weight)) {
    return emitOpError("expects a weight source exactly on weight buffers");
  }
  return success();
}

LogicalResult LaunchOp::verify() {
  StringRef name = getTemplateName();
  if (name.empty() ||
      !llvm::all_of(name,
                    [](char c) { return llvm::isAlnum(c) || c == '_'; }) ||
      llvm::isDigit(name.front())) {
    return emitOpError() << "expects the template name to be a C identifier, "
                            "got '"
                         << name << "'";
  }
  for (NamedAttribute p : getParams()) {
    if (!isa<IntegerAttr, BoolAttr>(p.getValue())) {
      return emitOpError() << "expects template parameter '"
                           << p.getName().getValue()
                           << "' to be an integer or bool";
    }
  }
  for (NamedAttribute sc : getScalars()) {
    if (!isa<IntegerAttr, FloatAttr>(sc.getValue())) {
      return emitOpError() << "expects scalar '" << sc.getName().getValue()
                           << "' to be an integer or float";
    }
  }
  if (getGrid().size() != 3 || getBlock().size() != 3) {
    return emitOpError("expects 3-D grid and block");
  }
  for (int64_t d : llvm::concat<const int64_t>(getGrid(), getBlock())) {
    if (d <= 0) {
      return emitOpError("expects positive grid and block dimensions");
    }
  }
  int64_t threads = getBlock()[0] * getBlock()[1] * getBlock()[2];
  if (threads % kWaveSize != 0 || threads > kMaxBlockThreads) {
    return emitOpError() << "expects a block of whole waves of " << kWaveSize
                         << " and at most " << kMaxBlockThreads
                         << " threads, got " << threads;
  }
  if (llvm::all_of(
          getOuts().getAsRange<FlatSymbolRefAttr>(),
          [](FlatSymbolRefAttr r) { return r.getValue() == kNullBuffer; })) {
    return emitOpError("expects at least one output buffer");
  }
  llvm::SmallDenseSet<Attribute> seen;
  for (Attribute out : getOuts()) {
    if (llvm::cast<FlatSymbolRefAttr>(out).getValue() != kNullBuffer &&
        !seen.insert(out).second) {
      return emitOpError() << "expects each output once, got " << out
                           << " twice";
    }
  }
  llvm::SmallDenseSet<Attribute> epilogues;
  for (Attribute e : getEpilogues()) {
    if (!epilogues.insert(e).second) {
      return emitOpError() << "expects each epilogue once, got " << e
                           << " twice";
    }
  }
  return success();
}

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto check = [&](ArrayAttr refs, bool isOutput) -> LogicalResult {
    for (auto ref : refs.getAsRange<FlatSymbolRefAttr>()) {
      if (ref.getValue() == kNullBuffer) {
        continue;
      }
      auto buffer = tables.lookupNearestSymbolFrom<BufferOp>(*this, ref);
      if (!buffer) {
        return emitOpError()
               << "expects " << ref << " to name an fdkernel.buffer";
      }
      if (isOutput && buffer.getKind() == BufferKind::weight) {
        return emitOpError() << "expects no write to weight buffer " << ref;
      }
    }
    return success();
  };
  if (failed(check(getIns(), false)) || failed(check(getOuts(), true))) {
    return failure();
  }
  return success();
}

#define GET_OP_CLASSES
#include "dialects/FDKernel/IR/FDKernelOps.cpp.inc"
