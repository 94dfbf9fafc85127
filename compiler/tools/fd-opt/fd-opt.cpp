//===- fd-opt.cpp - MLIR optimizer driver for fusedecode dialects ---------===//
//
// Parses, verifies, transforms and prints fdgraph / fdkernel IR; the driver
// of the project's lit tests.
//
//===----------------------------------------------------------------------===//

#include "compiler/transforms/Passes.h"
#include "dialects/FDGraph/IR/FDGraphDialect.h"
#include "dialects/FDKernel/IR/FDKernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  fd::transforms::registerFDTransformsPasses();

  mlir::DialectRegistry registry;
  registry.insert<fd::fdgraph::FDGraphDialect, fd::fdkernel::FDKernelDialect,
                  mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "fusedecode optimizer driver\n", registry));
}
