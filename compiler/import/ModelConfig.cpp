//===- ModelConfig.cpp - config.json and quantization_config --------------===//

#include "compiler/import/ModelConfig.h"

#include "compiler/import/Errors.h"

#include "llvm/Support/Regex.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using json = nlohmann::json;

namespace fd::import {

namespace {

constexpr int64_t kMaxDimension = int64_t(1) << 24;

/// Thrown inside this file only; parseModelConfig turns it into llvm::Error.
struct ConfigError {
  std::string field;
  std::string problem;
};

/// Typed access to one JSON object whose fields are reported as
/// "<prefix><key>".
class Fields {
public:
  Fields(const json &obj, std::string prefix)
      : obj_(&obj), prefix_(std::move(prefix)) {}

  std::string name(const std::string &key) const { return prefix_ + key; }
  bool has(const std::string &key) const {
    auto it = obj_->find(key);
    return it != obj_->end() && !it->is_null();
  }
  const json &raw(const std::string &key) const {
    if (!has(key)) {
      throw ConfigError{name(key), "missing field"};
    }
    return obj_->at(key);
  }
  int64_t i64(const std::string &key) const {
    const json &v = raw(key);
    if (!v.is_number_integer()) {
      throw ConfigError{name(key), "expected an integer, got " + v.dump()};
    }
    return v.get<int64_t>();
  }
  int64_t positive(const std::string &key) const {
    int64_t v = i64(key);
    if (v <= 0) {
      throw ConfigError{name(key), "expected a positive integer, got " +
                                       std::to_string(v)};
    }
    // Every size is a tensor dimension or a layer count; bounding them keeps
    // products of two of them inside int64 and a hostile config from asking
    // for absurd allocations.
    if (v > kMaxDimension) {
      throw ConfigError{name(key),
                        "implausibly large value " + std::to_string(v)};
    }
    return v;
  }
  double f64(const std::string &key) const {
    const json &v = raw(key);
    if (!v.is_number()) {
      throw ConfigError{name(key), "expected a number, got " + v.dump()};
    }
    return v.get<double>();
  }
  double positiveF64(const std::string &key) const {
    double v = f64(key);
    if (!(v > 0)) {
      throw ConfigError{name(key), "expected a positive number"};
    }
    return v;
  }
  bool boolean(const std::string &key) const {
    const json &v = raw(key);
    if (!v.is_boolean()) {
      throw ConfigError{name(key), "expected true or false, got " + v.dump()};
    }
    return v.get<bool>();
  }
  bool booleanOr(const std::string &key, bool dflt) const {
    return has(key) ? boolean(key) : dflt;
  }
  std::string str(const std::string &key) const {
    const json &v = raw(key);
    if (!v.is_string()) {
      throw ConfigError{name(key), "expected a string, got " + v.dump()};
    }
    return v.get<std::string>();
  }
  Fields object(const std::string &key) const {
    const json &v = raw(key);
    if (!v.is_object()) {
      throw ConfigError{name(key), "expected an object"};
    }
    return Fields(v, name(key) + ".");
  }
  const json &json_() const { return *obj_; }

private:
  const json *obj_;
  std::string prefix_;
};

bool looksLikeRegex(const std::string &s) {
  return s.find_first_of("*^$[]()\\+?|") != std::string::npos;
}

void checkBits(const Fields &f, const std::string &key, unsigned bits) {
  if (bits != 4 && bits != 8 && bits < 16) {
    throw ConfigError{f.name(key), "unsupported bits " + std::to_string(bits) +
                                       " (supported: 4, 8; 16 = unquantized)"};
  }
}

void checkGroupSize(const Fields &f, const std::string &key, int64_t g) {
  if (g != -1 && g != 32 && g != 64 && g != 128) {
    throw ConfigError{f.name(key), "unsupported group size " +
                                       std::to_string(g) +
                                       " (supported: 32, 64, 128, -1)"};
  }
}

LinearQuant readBitsGroupSym(const Fields &f, const LinearQuant &dflt,
                             bool required) {
  LinearQuant q = dflt;
  if (required || f.has("bits")) {
    q.bits = static_cast<unsigned>(f.positive("bits"));
  }
  if (f.has("data_type")) {
    std::string dt = f.str("data_type");
    if (dt.rfind("float", 0) == 0 || dt.rfind("fp", 0) == 0 ||
        dt.rfind("bf", 0) == 0) {
      q.bits = 16;
    } else if (dt != "int") {
      throw ConfigError{f.name("data_type"),
                        "unsupported data type '" + dt + "'"};
    }
  }
  if (q.bits >= 16) {
    return q;
  }
  checkBits(f, "bits", q.bits);
  if (required || f.has("group_size")) {
    q.groupSize = f.i64("group_size");
    checkGroupSize(f, "group_size", q.groupSize);
  }
  if (required || f.has("sym")) {
    q.symmetric = f.boolean("sym");
  }
  return q;
}

QuantConfig parseAutoRoundOrGptq(const Fields &q, QuantMethod method) {
  QuantConfig qc;
  qc.method = method;
  if (method == QuantMethod::AutoRound && q.has("packing_format")) {
    std::string pf = q.str("packing_format");
    if (pf != "auto_round:auto_gptq" && pf != "auto_gptq" &&
        pf != "auto_round:gptq") {
      throw ConfigError{q.name("packing_format"),
                        "unsupported packing '" + pf +
                            "' (supported: auto_round:auto_gptq)"};
    }
  }
  if (method == QuantMethod::GPTQ) {
    if (q.booleanOr("desc_act", false)) {
      throw ConfigError{
          q.name("desc_act"),
          "act-order (desc_act true) checkpoints are not supported"};
    }
    if (q.has("checkpoint_format") && q.str("checkpoint_format") != "gptq") {
      throw ConfigError{q.name("checkpoint_format"),
                        "unsupported format '" + q.str("checkpoint_format") +
                            "' (supported: gptq)"};
    }
    if (q.has("dynamic") && !q.raw("dynamic").empty()) {
      throw ConfigError{q.name("dynamic"), "per-module dynamic rules are not "
                                           "supported"};
    }
  }
  qc.defaults = readBitsGroupSym(q, LinearQuant{}, /*required=*/true);
  if (!qc.defaults.quantized()) {
    throw ConfigError{q.name("bits"), "the default bits must be 4 or 8"};
  }
  if (q.has("extra_config")) {
    Fields extra = q.object("extra_config");
    for (auto it = extra.json_().begin(); it != extra.json_().end(); ++it) {
      if (!it.value().is_object()) {
        throw ConfigError{extra.name(it.key()), "expected an object"};
      }
      Fields rule(it.value(), extra.name(it.key()) + ".");
      QuantOverride o;
      o.pattern = it.key();
      o.isRegex = looksLikeRegex(it.key());
      o.quant = readBitsGroupSym(rule, qc.defaults, /*required=*/false);
      o.source = "quantization_config.extra_config";
      qc.overrides.push_back(std::move(o));
    }
  }
  return qc;
}

QuantConfig parseCompressedTensors(const Fields &q) {
  QuantConfig qc;
  qc.method = QuantMethod::CompressedTensors;
  Fields groups = q.object("config_groups");
  if (groups.json_().size() != 1) {
    throw ConfigError{groups.name(""),
                      "expected exactly one config group, got " +
                          std::to_string(groups.json_().size())};
  }
  auto it = groups.json_().begin();
  if (!it.value().is_object()) {
    throw ConfigError{groups.name(it.key()), "expected an object"};
  }
  Fields group(it.value(), groups.name(it.key()) + ".");
  std::string format = group.has("format") ? group.str("format")
                       : q.has("format")   ? q.str("format")
                                           : "";
  if (format != "pack_quantized") {
    throw ConfigError{q.name("format"), "unsupported format '" + format +
                                            "' (supported: pack_quantized)"};
  }
  if (group.has("input_activations")) {
    throw ConfigError{group.name("input_activations"),
                      "activation quantization is not supported (w4a16/w8a16 "
                      "only)"};
  }
  Fields w = group.object("weights");
  if (w.str("type") != "int") {
    throw ConfigError{w.name("type"),
                      "unsupported type '" + w.str("type") + "'"};
  }
  qc.defaults.bits = static_cast<unsigned>(w.positive("num_bits"));
  checkBits(w, "num_bits", qc.defaults.bits);
  if (qc.defaults.bits >= 16) {
    throw ConfigError{w.name("num_bits"), "expected 4 or 8"};
  }
  qc.defaults.symmetric = w.boolean("symmetric");
  std::string strategy = w.str("strategy");
  if (strategy == "group") {
    qc.defaults.groupSize = w.positive("group_size");
    checkGroupSize(w, "group_size", qc.defaults.groupSize);
  } else if (strategy == "channel") {
    qc.defaults.groupSize = -1;
  } else {
    throw ConfigError{w.name("strategy"), "unsupported strategy '" + strategy +
                                              "' (supported: group, channel)"};
  }
  if (q.has("ignore")) {
    const json &ignore = q.raw("ignore");
    if (!ignore.is_array()) {
      throw ConfigError{q.name("ignore"), "expected a list"};
    }
    for (const json &e : ignore) {
      if (!e.is_string()) {
        throw ConfigError{q.name("ignore"),
                          "expected strings, got " + e.dump()};
      }
      std::string s = e.get<std::string>();
      QuantOverride o;
      o.source = "quantization_config.ignore";
      if (s.rfind("re:", 0) == 0) {
        o.pattern = s.substr(3);
        o.isRegex = true;
      } else {
        o.pattern = s;
      }
      qc.overrides.push_back(std::move(o));
    }
  }
  return qc;
}

QuantConfig parseQuantConfig(const Fields &root) {
  if (!root.has("quantization_config")) {
    return QuantConfig{};
  }
  Fields q = root.object("quantization_config");
  std::string method = q.str("quant_method");
  if (method == "auto-round" || method == "intel/auto-round" ||
      method == "auto_round") {
    return parseAutoRoundOrGptq(q, QuantMethod::AutoRound);
  }
  if (method == "gptq") {
    return parseAutoRoundOrGptq(q, QuantMethod::GPTQ);
  }
  if (method == "compressed-tensors") {
    return parseCompressedTensors(q);
  }
  throw ConfigError{q.name("quant_method"),
                    "unsupported quantization method '" + method +
                        "' (supported: auto-round, gptq, compressed-tensors)"};
}

/// rope_theta / partial_rotary_factor live in `rope_parameters` in
/// transformers 5 configs and at the top level in older ones.
void readRope(const Fields &text, ModelConfig &cfg, bool partialRequired) {
  if (text.has("rope_scaling")) {
    throw ConfigError{text.name("rope_scaling"),
                      "RoPE scaling is not supported"};
  }
  std::optional<Fields> rp;
  if (text.has("rope_parameters")) {
    rp = text.object("rope_parameters");
  }
  if (rp && rp->has("rope_type") && rp->str("rope_type") != "default") {
    throw ConfigError{rp->name("rope_type"),
                      "unsupported RoPE type '" + rp->str("rope_type") + "'"};
  }
  const Fields &thetaSrc = rp && rp->has("rope_theta") ? *rp : text;
  cfg.ropeTheta = thetaSrc.positiveF64("rope_theta");
  const Fields *prfSrc = rp && rp->has("partial_rotary_factor") ? &*rp : &text;
  if (prfSrc->has("partial_rotary_factor") || partialRequired) {
    cfg.partialRotaryFactor = prfSrc->positiveF64("partial_rotary_factor");
    if (cfg.partialRotaryFactor > 1.0) {
      throw ConfigError{prfSrc->name("partial_rotary_factor"),
                        "expected a factor in (0, 1]"};
    }
  }
  double rot = static_cast<double>(cfg.headDim) * cfg.partialRotaryFactor;
  cfg.rotaryDim = static_cast<int64_t>(rot);
  if (static_cast<double>(cfg.rotaryDim) != rot || cfg.rotaryDim % 2 != 0) {
    throw ConfigError{prfSrc->name("partial_rotary_factor"),
                      "head_dim x factor must be an even integer"};
  }
}

void readCommon(const Fields &text, ModelConfig &cfg) {
  cfg.vocabSize = text.positive("vocab_size");
  cfg.hiddenSize = text.positive("hidden_size");
  cfg.numLayers = text.positive("num_hidden_layers");
  cfg.numHeads = text.positive("num_attention_heads");
  cfg.numKvHeads = text.positive("num_key_value_heads");
  if (cfg.numHeads % cfg.numKvHeads != 0) {
    throw ConfigError{text.name("num_key_value_heads"),
                      "num_attention_heads must be a multiple of it"};
  }
  cfg.rmsNormEps = text.positiveF64("rms_norm_eps");
  cfg.maxPositionEmbeddings = text.positive("max_position_embeddings");
  if (text.has("hidden_act") && text.str("hidden_act") != "silu") {
    throw ConfigError{text.name("hidden_act"), "unsupported activation '" +
                                                   text.str("hidden_act") +
                                                   "' (supported: silu)"};
  }
  if (text.booleanOr("attention_bias", false)) {
    throw ConfigError{text.name("attention_bias"),
                      "attention biases are not supported"};
  }
  cfg.numExperts = text.positive("num_experts");
  cfg.topK = text.positive("num_experts_per_tok");
  if (cfg.topK > cfg.numExperts) {
    throw ConfigError{text.name("num_experts_per_tok"),
                      "exceeds num_experts (" + std::to_string(cfg.numExperts) +
                          ")"};
  }
  cfg.moeIntermediate = text.positive("moe_intermediate_size");
}

void readQwen35(const Fields &text, ModelConfig &cfg) {
  readCommon(text, cfg);
  cfg.headDim = text.positive("head_dim");
  readRope(text, cfg, /*partialRequired=*/true);
  cfg.linearConvKernel = text.positive("linear_conv_kernel_dim");
  cfg.linearKeyHeadDim = text.positive("linear_key_head_dim");
  cfg.linearValueHeadDim = text.positive("linear_value_head_dim");
  cfg.linearNumKeyHeads = text.positive("linear_num_key_heads");
  cfg.linearNumValueHeads = text.positive("linear_num_value_heads");
  if (cfg.linearNumValueHeads % cfg.linearNumKeyHeads != 0) {
    throw ConfigError{text.name("linear_num_value_heads"),
                      "must be a multiple of linear_num_key_heads"};
  }
  cfg.sharedIntermediate = text.positive("shared_expert_intermediate_size");
  // Structural in the Qwen3.5 modelling code; honour an explicit setting.
  cfg.attnOutputGate = text.booleanOr("attn_output_gate", true);
  cfg.normTopkProb = text.booleanOr("norm_topk_prob", true);
  cfg.zeroCenteredNorms = true;

  if (text.has("layer_types")) {
    const json &lt = text.raw("layer_types");
    if (!lt.is_array()) {
      throw ConfigError{text.name("layer_types"), "expected a list"};
    }
    if (static_cast<int64_t>(lt.size()) != cfg.numLayers) {
      throw ConfigError{text.name("layer_types"),
                        "has " + std::to_string(lt.size()) +
                            " entries but num_hidden_layers is " +
                            std::to_string(cfg.numLayers)};
    }
    for (size_t i = 0; i < lt.size(); ++i) {
      std::string field =
          text.name("layer_types") + "[" + std::to_string(i) + "]";
      if (!lt[i].is_string()) {
        throw ConfigError{field, "expected a string"};
      }
      std::string t = lt[i].get<std::string>();
      if (t == "linear_attention") {
        cfg.layerTypes.push_back(LayerKind::LinearAttention);
      } else if (t == "full_attention") {
        cfg.layerTypes.push_back(LayerKind::FullAttention);
      } else {
        throw ConfigError{field, "unknown layer type '" + t + "'"};
      }
    }
  } else {
    // transformers derives the pattern from the interval when the list is
    // absent.
    int64_t interval = text.positive("full_attention_interval");
    for (int64_t i = 0; i < cfg.numLayers; ++i) {
      cfg.layerTypes.push_back((i + 1) % interval ? LayerKind::LinearAttention
                                                  : LayerKind::FullAttention);
    }
  }
}

void readQwen3(const Fields &text, ModelConfig &cfg) {
  readCommon(text, cfg);
  // transformers' rule when head_dim is absent.
  cfg.headDim = text.has("head_dim") ? text.positive("head_dim")
                                     : cfg.hiddenSize / cfg.numHeads;
  readRope(text, cfg, /*partialRequired=*/false);
  if (text.booleanOr("use_sliding_window", false)) {
    throw ConfigError{text.name("use_sliding_window"),
                      "sliding-window attention is not supported"};
  }
  cfg.normTopkProb = text.boolean("norm_topk_prob");
  if (text.has("decoder_sparse_step") && text.i64("decoder_sparse_step") != 1) {
    throw ConfigError{text.name("decoder_sparse_step"),
                      "dense MLP layers are not supported (expected 1)"};
  }
  if (text.has("mlp_only_layers") && !text.raw("mlp_only_layers").empty()) {
    throw ConfigError{text.name("mlp_only_layers"),
                      "dense MLP layers are not supported (expected [])"};
  }
  cfg.attnOutputGate = false;
  cfg.zeroCenteredNorms = false;
  cfg.sharedIntermediate = 0;
  cfg.layerTypes.assign(static_cast<size_t>(cfg.numLayers),
                        LayerKind::FullAttention);
}

} // namespace

LinearQuant QuantConfig::lookup(const std::string &module, bool &explicitRule,
                                std::string &ruleSource) const {
  explicitRule = false;
  for (const QuantOverride &o : overrides) {
    bool match = false;
    if (o.isRegex) {
      llvm::Regex re("^(" + o.pattern + ")$");
      match = re.isValid() && re.match(module);
    } else {
      match = o.pattern == module;
    }
    if (!match) {
      continue;
    }
    explicitRule = true;
    ruleSource = o.source + " '" + o.pattern + "'";
    return o.quant ? *o.quant : LinearQuant{};
  }
  return method == QuantMethod::None ? LinearQuant{} : defaults;
}

llvm::Expected<ModelConfig> parseModelConfig(const std::string &dir) {
  ModelConfig cfg;
  cfg.configPath = (std::filesystem::path(dir) / "config.json").string();
  std::ifstream in(cfg.configPath, std::ios::binary);
  if (!in) {
    return makeError(cfg.configPath, "",
                     "cannot open (is this a checkpoint directory?)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json root = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return makeError(cfg.configPath, "", "malformed JSON");
  }
  if (!root.is_object()) {
    return makeError(cfg.configPath, "", "expected a JSON object");
  }

  try {
    Fields top(root, "");
    std::string arch;
    if (top.has("architectures")) {
      const json &a = top.raw("architectures");
      if (!a.is_array() || a.empty() || !a[0].is_string()) {
        throw ConfigError{"architectures",
                          "expected a non-empty list of names"};
      }
      arch = a[0].get<std::string>();
    }
    std::string modelType = top.has("model_type") ? top.str("model_type") : "";
    struct Known {
      const char *arch, *modelType;
      Family family;
      bool nested;
      const char *weightPrefix;
    };
    static const Known known[] = {
        {"Qwen3_5MoeForConditionalGeneration", "qwen3_5_moe", Family::Qwen35Moe,
         true, "model.language_model."},
        {"Qwen3_5MoeForCausalLM", "qwen3_5_moe_text", Family::Qwen35Moe, false,
         "model."},
        {"Qwen3MoeForCausalLM", "qwen3_moe", Family::Qwen3Moe, false, "model."},
    };
    const Known *k = nullptr;
    for (const Known &c : known) {
      if (arch.empty() ? modelType == c.modelType : arch == c.arch) {
        k = &c;
      }
    }
    if (!k) {
      if (arch.empty() && modelType.empty()) {
        throw ConfigError{"architectures", "missing field (and no model_type)"};
      }
      throw ConfigError{arch.empty() ? "model_type" : "architectures",
                        "unsupported model '" +
                            (arch.empty() ? modelType : arch) +
                            "' (supported: Qwen3_5MoeForConditionalGeneration, "
                            "Qwen3_5MoeForCausalLM, Qwen3MoeForCausalLM)"};
    }
    if (!modelType.empty() && modelType != k->modelType) {
      throw ConfigError{"model_type", "'" + modelType + "' does not match " +
                                          k->arch + " (expected '" +
                                          k->modelType + "')"};
    }
    cfg.architecture = k->arch;
    cfg.family = k->family;
    cfg.weightPrefix = k->weightPrefix;
    cfg.fieldPrefix = k->nested ? "text_config." : "";
    std::optional<Fields> nested;
    if (k->nested) {
      nested = top.object("text_config");
    }
    const Fields &text = nested ? *nested : top;
    if (cfg.family == Family::Qwen35Moe) {
      readQwen35(text, cfg);
    } else {
      readQwen3(text, cfg);
    }
    cfg.tieWordEmbeddings = top.has("tie_word_embeddings")
                                ? top.boolean("tie_word_embeddings")
                                : text.booleanOr("tie_word_embeddings", false);
    // The multimodal checkpoints keep quantization_config at the top level.
    cfg.quant = parseQuantConfig(top.has("quantization_config") ? top : text);
  } catch (const ConfigError &e) {
    return makeError(cfg.configPath, e.field, e.problem);
  } catch (const std::exception &e) {
    return makeError(cfg.configPath, "", e.what());
  }
  return cfg;
}

} // namespace fd::import
