//===- fd-synth.cpp - write synthetic checkpoints -------------------------===//
//
// fd-synth --preset tiny --quant autoround-int4 --seed 1 -o DIR
//
//===----------------------------------------------------------------------===//

#include "compiler/synth/Synth.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
cl::OptionCategory category("fd-synth options");
cl::opt<std::string> presetName("preset", cl::init("tiny"),
                                cl::desc("Model shape: tiny, tiny-qwen3-moe, "
                                         "qwen3.5-35b-a3b, qwen3-30b-a3b"),
                                cl::cat(category));
cl::opt<std::string>
    quantName("quant", cl::init("autoround-int4"),
              cl::desc("Weights: autoround-int4, gptq-int4, "
                       "gptq-int4-asym, compressed-w4a16, bf16"),
              cl::cat(category));
cl::opt<fd::synth::Layout> layout(
    "layout", cl::init(fd::synth::Layout::Multimodal),
    cl::desc("Checkpoint layout (Qwen3.5 only)"),
    cl::values(
        clEnumValN(fd::synth::Layout::Multimodal, "multimodal",
                   "Qwen3_5MoeForConditionalGeneration: model.language_model. "
                   "prefix, vision tower"),
        clEnumValN(fd::synth::Layout::Causal, "causal",
                   "Qwen3_5MoeForCausalLM: model. prefix, no vision")),
    cl::cat(category));
cl::opt<fd::synth::ExpertLayout> experts(
    "experts", cl::init(fd::synth::ExpertLayout::PerExpert),
    cl::desc("How routed experts are stored"),
    cl::values(
        clEnumValN(fd::synth::ExpertLayout::PerExpert, "per-expert",
                   "experts.{e}.{gate,up,down}_proj (released checkpoints)"),
        clEnumValN(fd::synth::ExpertLayout::Fused, "fused",
                   "experts.gate_up_proj / experts.down_proj (bf16 only)")),
    cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::init(0), cl::desc("Random seed"),
                       cl::cat(category));
cl::opt<bool>
    headerOnly("header-only", cl::init(false),
               cl::desc("Write headers only; data regions are sparse holes"),
               cl::cat(category));
cl::opt<uint64_t> shardBytes("shard-bytes", cl::init(0),
                             cl::desc("Maximum shard size (0: the preset's)"),
                             cl::cat(category));
cl::opt<std::string> outDir("o", cl::Required, cl::desc("Output directory"),
                            cl::value_desc("dir"), cl::cat(category));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Writes a synthetic checkpoint in the exact on-disk "
      "layout of the released Qwen MoE checkpoints.\n");
  auto fail = [](Error e) {
    errs() << "fd-synth: error: " << toString(std::move(e)) << "\n";
    return 1;
  };
  fd::synth::SynthOptions opts;
  Expected<fd::synth::ModelShape> shape = fd::synth::preset(presetName);
  if (!shape) {
    return fail(shape.takeError());
  }
  Expected<fd::synth::QuantKind> quant = fd::synth::parseQuantKind(quantName);
  if (!quant) {
    return fail(quant.takeError());
  }
  opts.shape = *shape;
  if (shardBytes) {
    opts.shape.shardBytes = shardBytes;
  }
  opts.quant = *quant;
  opts.layout = layout;
  opts.experts = experts;
  opts.seed = seed;
  opts.headerOnly = headerOnly;
  if (Error e = fd::synth::writeCheckpoint(opts, outDir)) {
    return fail(std::move(e));
  }
  return 0;
}
