//===- Synth.h - synthetic checkpoints in the real on-disk layout -*- C++
//-*-===//
//
// Writes Hugging Face checkpoints (config.json, sharded safetensors, index)
// with the tensor names, dtypes, shapes, quantization packing and per-layer
// exceptions of the released Qwen3.5-MoE / Qwen3-MoE checkpoints, filled with
// deterministic pseudo-random data. No model hub is reachable here, so every
// test and example checkpoint comes from this writer.
//
// It depends on nothing but the C++ library and nlohmann/json (errors are
// returned as strings, empty on success), so fd-synth also runs on machines
// without LLVM, such as the GPU machine.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_SYNTH_SYNTH_H
#define FUSEDECODE_COMPILER_SYNTH_SYNTH_H

#include "compiler/import/DType.h"
#include "compiler/import/ModelFamily.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fd::synth {

enum class QuantKind {
  AutoRoundInt4,
  GptqInt4,
  GptqInt4Asym,
  CompressedW4A16,
  BF16
};
enum class Layout { Multimodal, Causal };
enum class ExpertLayout { PerExpert, Fused };

struct ModelShape {
  import::Family family = import::Family::Qwen35Moe;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0;
  double partialRotary = 0.25, ropeTheta = 1e7, eps = 1e-6;
  int64_t maxPositions = 0;
  int64_t convKernel = 4, kHeads = 0, vHeads = 0, kHeadDim = 0, vHeadDim = 0;
  int64_t fullAttentionInterval = 4;
  int64_t experts = 0, topK = 0, moeInter = 0, sharedInter = 0;
  int64_t groupSize = 128;
  int64_t mtpLayers = 1;
  int64_t visionDepth = 0, visionHidden = 0, visionInter = 0;
  /// Shards are cut when the next tensor would exceed this many bytes.
  uint64_t shardBytes = 1'500'000'000;
};

/// Presets: "tiny", "qwen3.5-35b-a3b", "qwen3-30b-a3b", "tiny-qwen3-moe".
std::optional<ModelShape> preset(const std::string &name);
std::optional<QuantKind> parseQuantKind(const std::string &name);
/// The names the two functions above accept, for messages.
const char *presetNames();
const char *quantKindNames();

struct SynthOptions {
  ModelShape shape;
  QuantKind quant = QuantKind::AutoRoundInt4;
  Layout layout = Layout::Multimodal;
  ExpertLayout experts = ExpertLayout::PerExpert;
  uint64_t seed = 0;
  /// Write headers only and extend each shard to its full size as a sparse
  /// file: the full-size layout at no disk cost, for import tests.
  bool headerOnly = false;
  /// Shards written at once (each by one thread); 0 = all cores.
  unsigned threads = 0;
};

/// How a tensor's bytes are drawn (see docs/architecture.md, fd-synth).
enum class Fill {
  Linear,      // float, N(0, 1/K) so activations keep their scale
  NormCentred, // float, small values around 0 (used as 1 + w)
  NormOne,     // float, values around 1 (used as w)
  ALog,        // float32, log(uniform(1, 16))
  DtBias,      // float, small values
  Conv,        // float, N(0, 1/kernel)
  PackedInt,   // int32 words of random 4-bit values
  ScalesFor,   // float scales making (q - zero) * s ~ N(0, 1/K)
  ZerosSym,    // int32 words of (8 - 1) per 4-bit field
  ZerosAsym,   // int32 words of random (zero - 1) in [6, 9] - 1
  GIdx,        // int32 i / group
  ShapePair,   // int64 [N, K]
};

struct TensorPlan {
  std::string name;
  import::DType dtype;
  std::vector<int64_t> shape;
  Fill fill;
  /// K of the linear a Linear/ScalesFor tensor belongs to; N, K for ShapePair.
  int64_t k = 0, n = 0, group = 0;
};

/// Every tensor of the checkpoint in file order.
std::vector<TensorPlan> planTensors(const SynthOptions &opts);

/// The config.json text.
std::string makeConfigJson(const SynthOptions &opts);

/// The tokenizer files a checkpoint carries (SynthTokenizer.cpp).
struct TokenizerFiles {
  std::string tokenizerJson, tokenizerConfig, generationConfig;
};
TokenizerFiles makeTokenizerFiles(const SynthOptions &opts);

/// Writes config.json, the tokenizer files, the shards and (for more than one shard) the index
/// into `dir`, creating it; shards are written in parallel, each first to a
/// temporary name. Output is byte-identical for equal options whatever the
/// thread count. Returns an error message, empty on success.
std::string writeCheckpoint(const SynthOptions &opts, const std::string &dir);

/// Writes one safetensors file holding `tensors`' headers and their `fill`
/// data (or a sparse hole when headerOnly). Exposed for tests that need
/// hand-made files. Returns an error message, empty on success.
std::string writeSafetensors(const std::string &path,
                             const std::vector<TensorPlan> &tensors,
                             uint64_t seed, bool headerOnly);

} // namespace fd::synth

#endif
