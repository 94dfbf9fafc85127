//===- fd-synth.cpp - write synthetic checkpoints -------------------------===//
//
// fd-synth --preset tiny --quant autoround-int4 --seed 1 -o DIR
//
//===----------------------------------------------------------------------===//

#include "compiler/synth/Synth.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <map>

int main(int argc, char **argv) {
  CLI::App app("Writes a synthetic checkpoint in the exact on-disk layout of the "
               "released Qwen MoE checkpoints.",
               "fd-synth");
  std::string presetName = "tiny", quantName = "autoround-int4", outDir;
  fd::synth::Layout layout = fd::synth::Layout::Multimodal;
  fd::synth::ExpertLayout experts = fd::synth::ExpertLayout::PerExpert;
  uint64_t seed = 0, shardBytes = 0;
  unsigned threads = 0;
  bool headerOnly = false, timing = false;
  app.add_option("--preset", presetName,
                 std::string("Model shape: ") + fd::synth::presetNames())
      ->capture_default_str();
  app.add_option("--quant", quantName,
                 std::string("Weights: ") + fd::synth::quantKindNames())
      ->capture_default_str();
  app.add_option("--layout", layout,
                 "multimodal: Qwen3_5MoeForConditionalGeneration, model.language_model. "
                 "prefix, vision tower; causal: Qwen3_5MoeForCausalLM, model. prefix "
                 "(Qwen3.5 only)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, fd::synth::Layout>{
              {"multimodal", fd::synth::Layout::Multimodal},
              {"causal", fd::synth::Layout::Causal}},
          CLI::ignore_case));
  app.add_option("--experts", experts,
                 "per-expert: experts.{e}.{gate,up,down}_proj (released checkpoints); "
                 "fused: experts.gate_up_proj / experts.down_proj (bf16 only)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, fd::synth::ExpertLayout>{
              {"per-expert", fd::synth::ExpertLayout::PerExpert},
              {"fused", fd::synth::ExpertLayout::Fused}},
          CLI::ignore_case));
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  app.add_flag("--header-only", headerOnly,
               "Write headers only; data regions are sparse holes");
  app.add_option("--shard-bytes", shardBytes, "Maximum shard size (0: the preset's)");
  app.add_option("--threads", threads, "Shards written at once (0: all cores)");
  app.add_flag("--time", timing, "Print the wall time of the write");
  app.add_option("-o", outDir, "Output directory")->required();
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const std::string &msg) {
    std::cerr << "fd-synth: error: " << msg << "\n";
    return 1;
  };
  std::optional<fd::synth::ModelShape> shape = fd::synth::preset(presetName);
  if (!shape) {
    return fail("unknown preset '" + presetName + "' (known: " +
                fd::synth::presetNames() + ")");
  }
  std::optional<fd::synth::QuantKind> quant = fd::synth::parseQuantKind(quantName);
  if (!quant) {
    return fail("unknown quantization '" + quantName + "' (known: " +
                fd::synth::quantKindNames() + ")");
  }
  fd::synth::SynthOptions opts;
  opts.shape = *shape;
  if (shardBytes) {
    opts.shape.shardBytes = shardBytes;
  }
  opts.quant = *quant;
  opts.layout = layout;
  opts.experts = experts;
  opts.seed = seed;
  opts.headerOnly = headerOnly;
  opts.threads = threads;
  auto start = std::chrono::steady_clock::now();
  std::string error = fd::synth::writeCheckpoint(opts, outDir);
  if (!error.empty()) {
    return fail(error);
  }
  if (timing) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "fd-synth: wrote " << outDir << " in " << s << " s\n";
  }
  return 0;
}
