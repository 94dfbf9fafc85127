//===- FDKernelOps.h - fdkernel operations ----------------------*- C++ -*-===//

#ifndef FUSEDECODE_DIALECTS_FDKERNEL_IR_FDKERNELOPS_H
#define FUSEDECODE_DIALECTS_FDKERNEL_IR_FDKERNELOPS_H

#include "dialects/FDKernel/IR/FDKernelDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"

#define GET_OP_CLASSES
#include "dialects/FDKernel/IR/FDKernelOps.h.inc"

#endif
