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

#include "compiler/reference/Dequant.h"
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

cl::opt<std::string> lmHeadQuant(
    "lm-head-quant",
    cl::desc("Run with the lm_head quantized as compile-model "
             "--lm-head-quant does: none, int8, int8:g32, int8:g64, "
             "int8:g128"),
    cl::init("none"), cl::cat(category));

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
  if (lmHeadQuant != "none") {
    StringRef m = lmHeadQuant;
    int64_t group = 0;
    if (m != "int8" &&
        (!m.consume_front("int8:g") || m.getAsInteger(10, group) ||
         group <= 0 || group % 16)) {
      return fail("--lm-head-quant '" + lmHeadQuant +
                  "': expected none, int8, int8:g32, int8:g64 or int8:g128");
    }
    // The weight the quantized kernels see: the same quantizer as weight
    // packing, dequantized back to float.
    for (fd::reference::Step &step : program->steps) {
      auto *head = std::get_if<fd::reference::LMHeadStep>(&step.kind);
      if (!head) {
        continue;
      }
      const fd::reference::Weight &w = *head->weight;
      const int64_t n = w.shape.front(), k = w.shape.back();
      const int64_t g = group ? group : k;
      if (k % g) {
        return fail("--lm-head-quant: K=" + Twine(k) +
                    " is not a multiple of the group " + Twine(g));
      }
      fd::reference::Int8Rows q =
          fd::reference::quantizeInt8Rows(w.data.data(), n, k, g);
      auto dq = std::make_shared<fd::reference::Weight>();
      dq->name = w.name;
      dq->shape = w.shape;
      dq->data =
          fd::reference::dequantInt8Rows(q.q.data(), q.scales.data(), n, k, g);
      head->weight = std::move(dq);
    }
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
