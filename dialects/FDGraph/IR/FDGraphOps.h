//===- FDGraphOps.h - fdgraph operations ------------------------*- C++ -*-===//

#ifndef FUSEDECODE_DIALECTS_FDGRAPH_IR_FDGRAPHOPS_H
#define FUSEDECODE_DIALECTS_FDGRAPH_IR_FDGRAPHOPS_H

#include "dialects/FDGraph/IR/FDGraphDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/FDGraph/IR/FDGraphOps.h.inc"

#endif
