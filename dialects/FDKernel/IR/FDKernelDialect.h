//===- FDKernelDialect.h - fdkernel dialect ---------------------*- C++ -*-===//

#ifndef FUSEDECODE_DIALECTS_FDKERNEL_IR_FDKERNELDIALECT_H
#define FUSEDECODE_DIALECTS_FDKERNEL_IR_FDKERNELDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/FDKernel/IR/FDKernelDialect.h.inc"
#include "dialects/FDKernel/IR/FDKernelEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/FDKernel/IR/FDKernelAttrs.h.inc"

#endif
