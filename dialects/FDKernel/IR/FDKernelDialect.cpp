//===- FDKernelDialect.cpp - fdkernel dialect -----------------------------===//

#include "dialects/FDKernel/IR/FDKernelDialect.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace fd::fdkernel;

#include "dialects/FDKernel/IR/FDKernelDialect.cpp.inc"
#include "dialects/FDKernel/IR/FDKernelEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/FDKernel/IR/FDKernelAttrs.cpp.inc"

void FDKernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/FDKernel/IR/FDKernelOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/FDKernel/IR/FDKernelAttrs.cpp.inc"
      >();
}
