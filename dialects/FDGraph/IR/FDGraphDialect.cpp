//===- FDGraphDialect.cpp - fdgraph dialect and attributes ----------------===//

#include "dialects/FDGraph/IR/FDGraphDialect.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace fd::fdgraph;

#include "dialects/FDGraph/IR/FDGraphDialect.cpp.inc"
#include "dialects/FDGraph/IR/FDGraphEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/FDGraph/IR/FDGraphAttrs.cpp.inc"

void FDGraphDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/FDGraph/IR/FDGraphOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/FDGraph/IR/FDGraphAttrs.cpp.inc"
      >();
}

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                QuantScheme scheme, unsigned bits,
                                int64_t groupSize, bool symmetric,
                                bool zeroPoints) {
  if (bits != 2 && bits != 4 && bits != 8) {
    return emitError() << "expects bits to be 2, 4 or 8, got " << bits;
  }
  if (groupSize != -1 && groupSize <= 0) {
    return emitError() << "expects group_size to be positive or -1, got "
                       << groupSize;
  }
  if (!symmetric && !zeroPoints) {
    return emitError() << "expects zero points for asymmetric quantization";
  }
  if (scheme != QuantScheme::compressed_tensors && !zeroPoints) {
    return emitError() << "expects zero points with the GPTQ packing";
  }
  return success();
}

LogicalResult
TensorRefAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StringRef name, RankedTensorType type,
                      ArrayRef<int32_t> files) {
  if (name.empty()) {
    return emitError() << "expects a non-empty tensor name";
  }
  if (!type.hasStaticShape()) {
    return emitError() << "expects a static shape for '" << name << "'";
  }
  if (files.empty()) {
    return emitError() << "expects at least one shard index for '" << name
                       << "'";
  }
  if (!name.contains("{e}") && files.size() != 1) {
    return emitError() << "expects one shard index for '" << name
                       << "' (only per-expert names hold several)";
  }
  for (int32_t f : files) {
    if (f < 0) {
      return emitError() << "expects non-negative shard indices for '" << name
                         << "'";
    }
  }
  return success();
}

SmallVector<int64_t> TensorRefAttr::getEffectiveShape() const {
  SmallVector<int64_t> shape;
  if (isPerExpert()) {
    shape.push_back(static_cast<int64_t>(getFiles().size()));
  }
  llvm::append_range(shape, getType().getShape());
  return shape;
}
