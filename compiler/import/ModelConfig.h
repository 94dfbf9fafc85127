//===- ModelConfig.h - config.json and quantization_config ------*- C++ -*-===//
//
// Reads a Hugging Face config.json into the hyperparameters the importer
// needs. Nothing about a particular model size is assumed: every number comes
// from the file, and a missing or ill-typed field is an error naming it.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_IMPORT_MODELCONFIG_H
#define FUSEDECODE_COMPILER_IMPORT_MODELCONFIG_H

#include "compiler/import/ModelFamily.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fd::import {

enum class LayerKind { LinearAttention, FullAttention };

enum class QuantMethod { None, AutoRound, GPTQ, CompressedTensors };

/// Quantization of one linear as the config describes it.
struct LinearQuant {
  unsigned bits = 16;
  int64_t groupSize = -1;
  bool symmetric = true;
  bool quantized() const { return bits < 16; }
};

/// A per-layer rule of quantization_config: an exact module name or a regular
/// expression over module names, with what it says about that module.
struct QuantOverride {
  std::string pattern;
  bool isRegex = false;
  /// nullopt: the module is excluded from quantization (ignore list).
  std::optional<LinearQuant> quant;
  /// Where the rule came from, for error messages ("extra_config", "ignore").
  std::string source;
};

struct QuantConfig {
  QuantMethod method = QuantMethod::None;
  LinearQuant defaults;
  std::vector<QuantOverride> overrides;

  /// What the config says about `module`: an override if one matches, else
  /// the defaults. `explicitRule` tells whether a rule named the module.
  LinearQuant lookup(const std::string &module, bool &explicitRule,
                     std::string &ruleSource) const;
};

struct ModelConfig {
  std::string configPath;
  std::string architecture;
  Family family = Family::Qwen35Moe;
  /// Where the text hyperparameters live ("text_config." or ""), for messages.
  std::string fieldPrefix;
  /// Prefix of the text model's tensors ("model.language_model." or "model.").
  std::string weightPrefix;

  int64_t vocabSize = 0, hiddenSize = 0, numLayers = 0;
  int64_t numHeads = 0, numKvHeads = 0, headDim = 0, rotaryDim = 0;
  int64_t maxPositionEmbeddings = 0;
  double rmsNormEps = 0, ropeTheta = 0, partialRotaryFactor = 1.0;
  bool attnOutputGate = false;
  bool tieWordEmbeddings = false;
  /// Qwen3.5 stores norm weights centred on zero and applies (1 + w).
  bool zeroCenteredNorms = false;

  // Gated DeltaNet.
  int64_t linearConvKernel = 0, linearKeyHeadDim = 0, linearValueHeadDim = 0;
  int64_t linearNumKeyHeads = 0, linearNumValueHeads = 0;

  // Mixture of experts.
  int64_t numExperts = 0, topK = 0, moeIntermediate = 0;
  int64_t sharedIntermediate = 0; // 0: no shared expert
  bool normTopkProb = true;

  std::vector<LayerKind> layerTypes;
  QuantConfig quant;
};

/// Parses `<dir>/config.json`. Errors read "<path>: <field>: <problem>".
llvm::Expected<ModelConfig> parseModelConfig(const std::string &dir);


} // namespace fd::import

#endif
