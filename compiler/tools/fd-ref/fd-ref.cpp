//===- fd-ref.cpp - the CPU reference executor's driver -------------------===//
//
// fd-ref CHECKPOINT --prompt-ids 1,2,3 --steps N [--forced-ids ...]
//        [--dump-logits FILE]
//
// Prefills the prompt, runs N decode steps and prints the argmax token of
// each of the N+1 logit rows. --dump-logits writes those rows as
// little-endian float32, (N+1) x vocab, row-major.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefExecutor.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>

using namespace llvm;

namespace {
cl::OptionCategory category("fd-ref options");
cl::opt<std::string> checkpointDir(cl::Positional, cl::Required,
                                   cl::desc("<checkpoint directory>"),
                                   cl::cat(category));
cl::list<int32_t> promptIds("prompt-ids", cl::CommaSeparated, cl::OneOrMore,
                            cl::desc("Prompt token ids, comma separated"),
                            cl::cat(category));
cl::opt<int> steps("steps", cl::init(16),
                   cl::desc("Decode steps after the prompt"),
                   cl::cat(category));
cl::list<int32_t> forcedIds("forced-ids", cl::CommaSeparated,
                            cl::desc("Teacher forcing: feed these ids instead "
                                     "of the argmax (at least --steps)"),
                            cl::cat(category));
cl::opt<std::string> dumpLogits("dump-logits",
                                cl::desc("Write the logits rows (float32)"),
                                cl::value_desc("file"), cl::cat(category));

int fail(const Twine &msg) {
  errs() << "fd-ref: error: " << msg << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "fusedecode CPU reference executor (float32)\n");
  if (steps < 0) {
    return fail("--steps must be non-negative");
  }
  if (!forcedIds.empty() && static_cast<int>(forcedIds.size()) < steps) {
    return fail("--forced-ids gives " + Twine(forcedIds.size()) + " ids for " +
                Twine(steps) + " steps");
  }
  mlir::DialectRegistry registry;
  fd::import::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  auto module = fd::import::importCheckpoint(context, checkpointDir);
  if (!module) {
    return fail(toString(module.takeError()));
  }
  auto program = fd::reference::buildRefProgram(**module, checkpointDir);
  if (!program) {
    return fail(toString(program.takeError()));
  }
  int64_t vocab = program->vocabSize;
  std::vector<int32_t> prompt(promptIds.begin(), promptIds.end());
  std::vector<int32_t> forced(forcedIds.begin(), forcedIds.end());
  for (int32_t id : llvm::concat<int32_t>(prompt, forced)) {
    if (id < 0 || id >= vocab) {
      return fail("token id " + Twine(id) + " is outside the vocabulary [0, " +
                  Twine(vocab) + ")");
    }
  }
  fd::reference::RefExecutor exec(std::move(*program));
  auto gen = exec.generate(prompt, steps, forced.empty() ? nullptr : &forced);
  for (size_t i = 0; i < gen.tokens.size(); ++i) {
    outs() << (i ? " " : "") << gen.tokens[i];
  }
  outs() << "\n";
  if (!dumpLogits.empty()) {
    std::ofstream out(dumpLogits, std::ios::binary);
    for (const std::vector<float> &row : gen.logits) {
      out.write(reinterpret_cast<const char *>(row.data()),
                static_cast<std::streamsize>(row.size() * sizeof(float)));
    }
    if (!out) {
      return fail(dumpLogits + ": cannot write");
    }
  }
  return 0;
}
