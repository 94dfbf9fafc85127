//===- compile-model.cpp - the fusedecode compiler driver -----------------===//
//
// compile-model CHECKPOINT --emit=fdgraph [-o FILE]
//
// Imports a Hugging Face checkpoint directory and prints the stage the user
// asks for. Errors are one line on stderr and exit status 1.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/transforms/Passes.h"
#include "dialects/FDKernel/IR/FDKernelDialect.h"

#include "mlir/Pass/PassManager.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
enum class EmitKind { FDGraph, FDKernel };

cl::OptionCategory category("compile-model options");

cl::opt<std::string> checkpointDir(cl::Positional, cl::Required,
                                   cl::desc("<checkpoint directory>"),
                                   cl::cat(category));
cl::opt<EmitKind> emit(
    "emit", cl::desc("Stage to print"), cl::init(EmitKind::FDGraph),
    cl::values(clEnumValN(EmitKind::FDGraph, "fdgraph",
                          "the imported model graph (fdgraph dialect)"),
               clEnumValN(EmitKind::FDKernel, "fdkernel",
                          "the decode step as kernel launches with planned "
                          "buffers (fdkernel dialect)")),
    cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("GPU target for --emit=fdkernel: sm_90, "
                                     "gfx1151 or gfx1100"),
                            cl::init("sm_90"), cl::cat(category));
cl::opt<int64_t>
    maxContext("max-context",
               cl::desc("Positions the KV cache holds (--emit=fdkernel)"),
               cl::init(4096), cl::cat(category));
cl::opt<bool> printLocations(
    "print-locations",
    cl::desc(
        "Print each op's location: the config field or tensor it came from"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));

int fail(const Twine &msg) {
  errs() << "compile-model: error: " << msg << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "fusedecode model compiler\n\n"
      "Imports a Hugging Face checkpoint directory (config.json, "
      "*.safetensors,\n"
      "optional model.safetensors.index.json) of Qwen3.5-MoE or Qwen3-MoE and\n"
      "prints the requested stage. Reads safetensors headers only.\n");

  mlir::DialectRegistry registry;
  fd::import::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  // Errors are reported once, as one line, by this driver.
  context.printOpOnDiagnostic(false);

  auto module = fd::import::importCheckpoint(context, checkpointDir);
  if (!module) {
    return fail(toString(module.takeError()));
  }

  if (emit == EmitKind::FDKernel) {
    context.loadDialect<fd::fdkernel::FDKernelDialect>();
    mlir::PassManager pm(&context);
    fd::transforms::LowerToKernelsPassOptions lowerOptions;
    lowerOptions.target = target;
    lowerOptions.maxContext = maxContext;
    pm.addPass(fd::transforms::createLowerToKernelsPass(lowerOptions));
    pm.addPass(fd::transforms::createPlanMemoryPass());
    std::string firstError;
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      if (firstError.empty()) {
        llvm::raw_string_ostream os(firstError);
        os << d.getLocation() << ": " << d.str();
      }
      return mlir::success();
    });
    if (mlir::failed(pm.run(**module))) {
      return fail(firstError);
    }
  }

  std::error_code ec;
  ToolOutputFile out(outputFile, ec, sys::fs::OF_None);
  if (ec) {
    return fail(outputFile + ": " + ec.message());
  }
  switch (emit) {
  case EmitKind::FDGraph:
  case EmitKind::FDKernel:
    (*module)->print(out.os(),
                     mlir::OpPrintingFlags()
                         .enableDebugInfo(printLocations, /*prettyForm=*/false)
                         .useLocalScope(printLocations));
    out.os() << "\n";
    break;
  }
  out.keep();
  return 0;
}
