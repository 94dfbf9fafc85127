//===- Synth.cpp - synthetic checkpoints in the real on-disk layout -------===//

#include "compiler/synth/Synth.h"
#include "compiler/import/FloatBits.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

using json = nlohmann::ordered_json;
using fd::import::DType;
using fd::import::Family;

namespace fd::synth {

namespace {

/// splitmix64: tiny, fast, and good enough for weights; seeded per tensor so
/// that a tensor's bytes do not depend on which shard or order it lands in.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) {
      u1 = 1e-300;
    }
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

uint64_t fnv1a(const std::string &s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h = (h ^ c) * 0x100000001b3ull;
  }
  return h;
}

void storeFloat(DType t, double v, unsigned char *out) {
  // Only float tensors get a float fill; the plan never pairs others with one.
  import::storeFloatElement(t, static_cast<float>(v), out);
}

/// Produces the bytes of one tensor, element by element, in chunks.
class TensorFiller {
public:
  TensorFiller(const TensorPlan &t, uint64_t seed)
      : t_(t), rng_{fnv1a(t.name) ^ (seed * 0x9E3779B97F4A7C15ull)},
        elemSize_(import::dtypeSize(t.dtype)) {}

  void fill(unsigned char *out, int64_t first, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      element(first + i, out + i * elemSize_);
    }
  }

private:
  void element(int64_t index, unsigned char *out) {
    double k = static_cast<double>(t_.k > 0 ? t_.k : 1);
    switch (t_.fill) {
    case Fill::Linear:
      return storeFloat(t_.dtype, rng_.normal() / std::sqrt(k), out);
    case Fill::NormCentred:
      return storeFloat(t_.dtype, 0.05 * rng_.normal(), out);
    case Fill::NormOne:
      return storeFloat(t_.dtype, 1.0 + 0.05 * rng_.normal(), out);
    case Fill::ALog:
      return storeFloat(t_.dtype, std::log(1.0 + 15.0 * rng_.uniform()), out);
    case Fill::DtBias:
      return storeFloat(t_.dtype, 0.1 * rng_.normal(), out);
    case Fill::Conv:
      return storeFloat(t_.dtype, rng_.normal() / std::sqrt(k), out);
    case Fill::ScalesFor:
      // Uniform 4-bit codes around their zero have std ~4.6; scale so the
      // dequantized weight has std 1/sqrt(K), with +-20% spread per group.
      return storeFloat(
          t_.dtype, (0.8 + 0.4 * rng_.uniform()) / (4.6 * std::sqrt(k)), out);
    case Fill::PackedInt: {
      uint32_t w = static_cast<uint32_t>(rng_.next());
      std::memcpy(out, &w, 4);
      return;
    }
    case Fill::ZerosSym: {
      uint32_t w = 0x77777777u;
      std::memcpy(out, &w, 4);
      return;
    }
    case Fill::ZerosAsym: {
      uint32_t w = 0;
      for (int i = 0; i < 8; ++i) {
        w |= static_cast<uint32_t>(5 + rng_.next() % 4) << (4 * i);
      }
      std::memcpy(out, &w, 4);
      return;
    }
    case Fill::GIdx: {
      int32_t g = static_cast<int32_t>(index / t_.group);
      std::memcpy(out, &g, 4);
      return;
    }
    case Fill::ShapePair: {
      int64_t v = index == 0 ? t_.n : t_.k;
      std::memcpy(out, &v, 8);
      return;
    }
    }
  }

  const TensorPlan &t_;
  Rng rng_;
  unsigned elemSize_;
};

uint64_t tensorBytes(const TensorPlan &t) {
  uint64_t n = import::dtypeSize(t.dtype);
  for (int64_t d : t.shape) {
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

/// Builds the plan of one checkpoint.
class Planner {
public:
  explicit Planner(const SynthOptions &o) : o_(o), s_(o.shape) {
    text_ = o.layout == Layout::Multimodal && s_.family == Family::Qwen35Moe
                ? "model.language_model."
                : "model.";
  }

  std::vector<TensorPlan> run() {
    plain(text_ + "embed_tokens.weight", {s_.vocab, s_.hidden}, Fill::Linear,
          1);
    for (int64_t l = 0; l < s_.layers; ++l) {
      layer(text_ + "layers." + std::to_string(l) + ".", l, /*quantize=*/true);
    }
    plain(text_ + "norm.weight", {s_.hidden}, normFill());
    plain("lm_head.weight", {s_.vocab, s_.hidden}, Fill::Linear, s_.hidden);
    if (s_.family == Family::Qwen35Moe) {
      for (int64_t m = 0; m < s_.mtpLayers; ++m) {
        if (m == 0) {
          plain("mtp.fc.weight", {s_.hidden, 2 * s_.hidden}, Fill::Linear,
                2 * s_.hidden);
          plain("mtp.pre_fc_norm_embedding.weight", {s_.hidden}, normFill());
          plain("mtp.pre_fc_norm_hidden.weight", {s_.hidden}, normFill());
          plain("mtp.norm.weight", {s_.hidden}, normFill());
        }
        // The MTP layer is a full-attention decoder layer, kept in bf16.
        layer("mtp.layers." + std::to_string(m) + ".",
              s_.fullAttentionInterval - 1,
              /*quantize=*/false);
      }
      if (o_.layout == Layout::Multimodal) {
        vision();
      }
    }
    return std::move(out_);
  }

private:
  Fill normFill() const {
    return s_.family == Family::Qwen35Moe ? Fill::NormCentred : Fill::NormOne;
  }
  bool quantized() const { return o_.quant != QuantKind::BF16; }

  void plain(const std::string &name, std::vector<int64_t> shape, Fill fill,
             int64_t k = 1, DType dtype = DType::BF16) {
    TensorPlan t{name, dtype, std::move(shape), fill};
    t.k = k;
    out_.push_back(std::move(t));
  }

  void linear(const std::string &module, int64_t n, int64_t k, bool quantize) {
    if (!quantize || !quantized()) {
      return plain(module + ".weight", {n, k}, Fill::Linear, k);
    }
    int64_t g = s_.groupSize;
    auto add = [&](const std::string &suffix, DType dt,
                   std::vector<int64_t> shape, Fill fill) {
      TensorPlan t{module + "." + suffix, dt, std::move(shape), fill};
      t.k = k;
      t.n = n;
      t.group = g;
      out_.push_back(std::move(t));
    };
    switch (o_.quant) {
    case QuantKind::AutoRoundInt4:
    case QuantKind::GptqInt4:
    case QuantKind::GptqInt4Asym:
      add("qweight", DType::I32, {k / 8, n}, Fill::PackedInt);
      add("qzeros", DType::I32, {k / g, n / 8},
          o_.quant == QuantKind::GptqInt4Asym ? Fill::ZerosAsym
                                              : Fill::ZerosSym);
      add("scales", DType::F16, {k / g, n}, Fill::ScalesFor);
      if (o_.quant != QuantKind::AutoRoundInt4) {
        add("g_idx", DType::I32, {k}, Fill::GIdx);
      }
      break;
    case QuantKind::CompressedW4A16:
      add("weight_packed", DType::I32, {n, k / 8}, Fill::PackedInt);
      add("weight_scale", DType::BF16, {n, k / g}, Fill::ScalesFor);
      add("weight_shape", DType::I64, {2}, Fill::ShapePair);
      break;
    case QuantKind::BF16:
      break;
    }
  }

  void layer(const std::string &p, int64_t index, bool quantize) {
    int64_t h = s_.hidden;
    plain(p + "input_layernorm.weight", {h}, normFill());
    bool linearAttention = s_.family == Family::Qwen35Moe &&
                           (index + 1) % s_.fullAttentionInterval != 0;
    if (linearAttention) {
      int64_t qkv = 2 * s_.kHeads * s_.kHeadDim + s_.vHeads * s_.vHeadDim;
      int64_t vdim = s_.vHeads * s_.vHeadDim;
      std::string a = p + "linear_attn.";
      linear(a + "in_proj_qkv", qkv, h, quantize);
      linear(a + "in_proj_z", vdim, h, quantize);
      linear(a + "in_proj_b", s_.vHeads, h, false);
      linear(a + "in_proj_a", s_.vHeads, h, false);
      plain(a + "conv1d.weight", {qkv, 1, s_.convKernel}, Fill::Conv,
            s_.convKernel);
      plain(a + "A_log", {s_.vHeads}, Fill::ALog, 1, DType::F32);
      plain(a + "dt_bias", {s_.vHeads}, Fill::DtBias);
      plain(a + "norm.weight", {s_.vHeadDim}, Fill::NormOne);
      linear(a + "out_proj", h, vdim, quantize);
    } else {
      std::string a = p + "self_attn.";
      int64_t gate = s_.family == Family::Qwen35Moe ? 2 : 1;
      linear(a + "q_proj", s_.heads * s_.headDim * gate, h, quantize);
      linear(a + "k_proj", s_.kvHeads * s_.headDim, h, quantize);
      linear(a + "v_proj", s_.kvHeads * s_.headDim, h, quantize);
      linear(a + "o_proj", h, s_.heads * s_.headDim, quantize);
      plain(a + "q_norm.weight", {s_.headDim}, normFill());
      plain(a + "k_norm.weight", {s_.headDim}, normFill());
    }
    plain(p + "post_attention_layernorm.weight", {h}, normFill());
    std::string m = p + "mlp.";
    linear(m + "gate", s_.experts, h, false);
    if (o_.experts == ExpertLayout::Fused) {
      plain(m + "experts.gate_up_proj", {s_.experts, 2 * s_.moeInter, h},
            Fill::Linear, h);
      plain(m + "experts.down_proj", {s_.experts, h, s_.moeInter}, Fill::Linear,
            s_.moeInter);
    } else {
      for (int64_t e = 0; e < s_.experts; ++e) {
        std::string x = m + "experts." + std::to_string(e) + ".";
        linear(x + "gate_proj", s_.moeInter, h, quantize);
        linear(x + "up_proj", s_.moeInter, h, quantize);
        linear(x + "down_proj", h, s_.moeInter, quantize);
      }
    }
    if (s_.sharedInter > 0) {
      linear(m + "shared_expert.gate_proj", s_.sharedInter, h, false);
      linear(m + "shared_expert.up_proj", s_.sharedInter, h, false);
      linear(m + "shared_expert.down_proj", h, s_.sharedInter, false);
      linear(m + "shared_expert_gate", 1, h, false);
    }
  }

  void vision() {
    int64_t vh = s_.visionHidden, vi = s_.visionInter;
    std::string v = "model.visual.";
    plain(v + "patch_embed.proj.weight", {vh, 3, 2, 16, 16}, Fill::Linear,
          3 * 2 * 16 * 16);
    plain(v + "patch_embed.proj.bias", {vh}, Fill::DtBias);
    plain(v + "pos_embed.weight", {2304, vh}, Fill::Linear, vh);
    for (int64_t b = 0; b < s_.visionDepth; ++b) {
      std::string p = v + "blocks." + std::to_string(b) + ".";
      for (const char *n : {"norm1", "norm2"}) {
        plain(p + n + ".weight", {vh}, Fill::NormOne);
        plain(p + n + ".bias", {vh}, Fill::DtBias);
      }
      plain(p + "attn.qkv.weight", {3 * vh, vh}, Fill::Linear, vh);
      plain(p + "attn.qkv.bias", {3 * vh}, Fill::DtBias);
      plain(p + "attn.proj.weight", {vh, vh}, Fill::Linear, vh);
      plain(p + "attn.proj.bias", {vh}, Fill::DtBias);
      plain(p + "mlp.linear_fc1.weight", {vi, vh}, Fill::Linear, vh);
      plain(p + "mlp.linear_fc1.bias", {vi}, Fill::DtBias);
      plain(p + "mlp.linear_fc2.weight", {vh, vi}, Fill::Linear, vi);
      plain(p + "mlp.linear_fc2.bias", {vh}, Fill::DtBias);
    }
    plain(v + "merger.norm.weight", {vh}, Fill::NormOne);
    plain(v + "merger.norm.bias", {vh}, Fill::DtBias);
    plain(v + "merger.linear_fc1.weight", {4 * vh, 4 * vh}, Fill::Linear,
          4 * vh);
    plain(v + "merger.linear_fc1.bias", {4 * vh}, Fill::DtBias);
    plain(v + "merger.linear_fc2.weight", {s_.hidden, 4 * vh}, Fill::Linear,
          4 * vh);
    plain(v + "merger.linear_fc2.bias", {s_.hidden}, Fill::DtBias);
  }

  const SynthOptions &o_;
  const ModelShape &s_;
  std::string text_;
  std::vector<TensorPlan> out_;
};

json quantizationConfig(const SynthOptions &o, const std::string &textPrefix) {
  const ModelShape &s = o.shape;
  json q;
  switch (o.quant) {
  case QuantKind::BF16:
    return json();
  case QuantKind::AutoRoundInt4: {
    q["autoround_version"] = "0.9.1";
    q["bits"] = 4;
    q["data_type"] = "int";
    q["group_size"] = s.groupSize;
    q["iters"] = 0;
    q["packing_format"] = "auto_round:auto_gptq";
    q["quant_method"] = "auto-round";
    q["sym"] = true;
    // The released checkpoint lists the bf16 GDN b/a projections; the router,
    // shared expert and its gate stay bf16 without being listed.
    json extra = json::object();
    for (int64_t l = 0; l < s.layers; ++l) {
      if (s.family != Family::Qwen35Moe ||
          (l + 1) % s.fullAttentionInterval == 0) {
        continue;
      }
      for (const char *p : {"in_proj_a", "in_proj_b"}) {
        extra[textPrefix + "layers." + std::to_string(l) + ".linear_attn." +
              p] = {{"bits", 16}, {"data_type", "float"}};
      }
    }
    q["extra_config"] = extra;
    q["block_name_to_quantize"] = textPrefix + "layers";
    return q;
  }
  case QuantKind::GptqInt4:
  case QuantKind::GptqInt4Asym:
    q["bits"] = 4;
    q["checkpoint_format"] = "gptq";
    q["desc_act"] = false;
    q["group_size"] = s.groupSize;
    q["quant_method"] = "gptq";
    q["sym"] = o.quant == QuantKind::GptqInt4;
    return q;
  case QuantKind::CompressedW4A16: {
    q["quant_method"] = "compressed-tensors";
    q["format"] = "pack_quantized";
    q["config_groups"] = {{"group_0",
                           {{"targets", {"Linear"}},
                            {"weights",
                             {{"num_bits", 4},
                              {"type", "int"},
                              {"symmetric", true},
                              {"strategy", "group"},
                              {"group_size", s.groupSize}}},
                            {"input_activations", nullptr},
                            {"output_activations", nullptr}}}};
    q["ignore"] = {"lm_head",
                   "re:.*mlp\\.gate$",
                   "re:.*shared_expert.*",
                   "re:.*in_proj_[ab]$",
                   "re:mtp\\..*",
                   "re:model\\.visual\\..*"};
    return q;
  }
  }
  return json();
}

json textConfig(const SynthOptions &o) {
  const ModelShape &s = o.shape;
  json t;
  int64_t rot = static_cast<int64_t>(s.headDim * s.partialRotary);
  int64_t half = rot / 2, sec = (half + 2) / 3;
  t["model_type"] = "qwen3_5_moe_text";
  t["vocab_size"] = s.vocab;
  t["hidden_size"] = s.hidden;
  t["num_hidden_layers"] = s.layers;
  t["num_attention_heads"] = s.heads;
  t["num_key_value_heads"] = s.kvHeads;
  t["head_dim"] = s.headDim;
  t["hidden_act"] = "silu";
  t["max_position_embeddings"] = s.maxPositions;
  t["rms_norm_eps"] = s.eps;
  t["tie_word_embeddings"] = false;
  t["rope_parameters"] = {{"rope_type", "default"},
                          {"rope_theta", s.ropeTheta},
                          {"partial_rotary_factor", s.partialRotary},
                          {"mrope_section", {sec, sec, half - 2 * sec}},
                          {"mrope_interleaved", true}};
  t["attention_bias"] = false;
  t["attention_dropout"] = 0.0;
  t["linear_conv_kernel_dim"] = s.convKernel;
  t["linear_key_head_dim"] = s.kHeadDim;
  t["linear_value_head_dim"] = s.vHeadDim;
  t["linear_num_key_heads"] = s.kHeads;
  t["linear_num_value_heads"] = s.vHeads;
  t["moe_intermediate_size"] = s.moeInter;
  t["shared_expert_intermediate_size"] = s.sharedInter;
  t["num_experts_per_tok"] = s.topK;
  t["num_experts"] = s.experts;
  t["router_aux_loss_coef"] = 0.001;
  t["output_router_logits"] = false;
  json types = json::array();
  for (int64_t l = 0; l < s.layers; ++l) {
    types.push_back((l + 1) % s.fullAttentionInterval ? "linear_attention"
                                                      : "full_attention");
  }
  t["layer_types"] = types;
  t["full_attention_interval"] = s.fullAttentionInterval;
  t["mtp_num_hidden_layers"] = s.mtpLayers;
  t["dtype"] = "bfloat16";
  return t;
}

} // namespace

const char *presetNames() {
  return "tiny, tiny-qwen3-moe, qwen3.5-35b-a3b, qwen3-30b-a3b";
}

const char *quantKindNames() {
  return "autoround-int4, gptq-int4, gptq-int4-asym, compressed-w4a16, bf16";
}

std::optional<ModelShape> preset(const std::string &name) {
  ModelShape s;
  if (name == "tiny") {
    s.vocab = 512;
    s.hidden = 64;
    s.layers = 4;
    s.heads = 4;
    s.kvHeads = 2;
    s.headDim = 32;
    s.partialRotary = 0.25;
    s.ropeTheta = 1e7;
    s.maxPositions = 4096;
    s.kHeads = 2;
    s.vHeads = 4;
    s.kHeadDim = 16;
    s.vHeadDim = 16;
    s.experts = 8;
    s.topK = 2;
    s.moeInter = 32;
    s.sharedInter = 32;
    s.groupSize = 32;
    s.visionDepth = 2;
    s.visionHidden = 32;
    s.visionInter = 64;
    s.shardBytes = 160 * 1024;
    return s;
  }
  if (name == "qwen3.5-35b-a3b") {
    s.vocab = 248320;
    s.hidden = 2048;
    s.layers = 40;
    s.heads = 16;
    s.kvHeads = 2;
    s.headDim = 256;
    s.partialRotary = 0.25;
    s.ropeTheta = 1e7;
    s.maxPositions = 262144;
    s.kHeads = 16;
    s.vHeads = 32;
    s.kHeadDim = 128;
    s.vHeadDim = 128;
    s.experts = 256;
    s.topK = 8;
    s.moeInter = 512;
    s.sharedInter = 512;
    s.groupSize = 128;
    s.visionDepth = 27;
    s.visionHidden = 1152;
    s.visionInter = 4304;
    s.shardBytes = 1'750'000'000; // 14 shards, as released
    return s;
  }
  s.family = Family::Qwen3Moe;
  s.mtpLayers = 0;
  s.partialRotary = 1.0;
  s.ropeTheta = 1e6;
  if (name == "qwen3-30b-a3b") {
    s.vocab = 151936;
    s.hidden = 2048;
    s.layers = 48;
    s.heads = 32;
    s.kvHeads = 4;
    s.headDim = 128;
    s.maxPositions = 40960;
    s.experts = 128;
    s.topK = 8;
    s.moeInter = 768;
    s.groupSize = 128;
    return s;
  }
  if (name == "tiny-qwen3-moe") {
    s.vocab = 512;
    s.hidden = 64;
    s.layers = 2;
    s.heads = 4;
    s.kvHeads = 2;
    s.headDim = 16;
    s.maxPositions = 4096;
    s.experts = 8;
    s.topK = 2;
    s.moeInter = 32;
    s.groupSize = 32;
    s.shardBytes = 160 * 1024;
    return s;
  }
  return std::nullopt;
}

std::optional<QuantKind> parseQuantKind(const std::string &name) {
  if (name == "autoround-int4") {
    return QuantKind::AutoRoundInt4;
  }
  if (name == "gptq-int4") {
    return QuantKind::GptqInt4;
  }
  if (name == "gptq-int4-asym") {
    return QuantKind::GptqInt4Asym;
  }
  if (name == "compressed-w4a16") {
    return QuantKind::CompressedW4A16;
  }
  if (name == "bf16") {
    return QuantKind::BF16;
  }
  return std::nullopt;
}

std::vector<TensorPlan> planTensors(const SynthOptions &opts) {
  return Planner(opts).run();
}

std::string makeConfigJson(const SynthOptions &o) {
  const ModelShape &s = o.shape;
  json root;
  if (s.family == Family::Qwen3Moe) {
    root["architectures"] = {"Qwen3MoeForCausalLM"};
    root["model_type"] = "qwen3_moe";
    root["vocab_size"] = s.vocab;
    root["hidden_size"] = s.hidden;
    root["intermediate_size"] = 3 * s.hidden;
    root["num_hidden_layers"] = s.layers;
    root["num_attention_heads"] = s.heads;
    root["num_key_value_heads"] = s.kvHeads;
    root["head_dim"] = s.headDim;
    root["hidden_act"] = "silu";
    root["max_position_embeddings"] = s.maxPositions;
    root["rms_norm_eps"] = s.eps;
    root["rope_theta"] = s.ropeTheta;
    root["rope_scaling"] = nullptr;
    root["attention_bias"] = false;
    root["use_sliding_window"] = false;
    root["decoder_sparse_step"] = 1;
    root["mlp_only_layers"] = json::array();
    root["moe_intermediate_size"] = s.moeInter;
    root["num_experts"] = s.experts;
    root["num_experts_per_tok"] = s.topK;
    root["norm_topk_prob"] = true;
    root["tie_word_embeddings"] = false;
    root["dtype"] = "bfloat16";
    json q = quantizationConfig(o, "model.");
    if (!q.is_null()) {
      root["quantization_config"] = q;
    }
    return root.dump(2) + "\n";
  }
  if (o.layout == Layout::Causal) {
    root["architectures"] = {"Qwen3_5MoeForCausalLM"};
    json t = textConfig(o);
    for (auto it = t.begin(); it != t.end(); ++it) {
      root[it.key()] = it.value();
    }
    json q = quantizationConfig(o, "model.");
    if (!q.is_null()) {
      root["quantization_config"] = q;
    }
    return root.dump(2) + "\n";
  }
  root["architectures"] = {"Qwen3_5MoeForConditionalGeneration"};
  root["model_type"] = "qwen3_5_moe";
  root["text_config"] = textConfig(o);
  root["vision_config"] = {
      {"model_type", "qwen3_5_moe"},   {"depth", s.visionDepth},
      {"hidden_size", s.visionHidden}, {"intermediate_size", s.visionInter},
      {"out_hidden_size", s.hidden},   {"patch_size", 16},
      {"temporal_patch_size", 2},      {"spatial_merge_size", 2}};
  root["tie_word_embeddings"] = false;
  root["image_token_id"] = 248056;
  root["video_token_id"] = 248057;
  json q = quantizationConfig(o, "model.language_model.");
  if (!q.is_null()) {
    root["quantization_config"] = q;
  }
  return root.dump(2) + "\n";
}

std::string writeSafetensors(const std::string &path,
                             const std::vector<TensorPlan> &tensors,
                             uint64_t seed, bool headerOnly) {
  // Sorted keys (std::map): ordered_json's linear lookups are quadratic on
  // the 94k-tensor layout.
  nlohmann::json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const TensorPlan &t : tensors) {
    uint64_t bytes = tensorBytes(t);
    header[t.name] = {{"dtype", import::dtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces to keep the data region 8-byte aligned, as the
  // reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    return path + ": cannot create: " + std::strerror(errno);
  }
  unsigned char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) {
    len[i] = static_cast<unsigned char>(n >> (8 * i));
  }
  bool ok = std::fwrite(len, 1, 8, f) == 8 &&
            std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (ok && !headerOnly) {
    std::vector<unsigned char> buf;
    for (const TensorPlan &t : tensors) {
      TensorFiller filler(t, seed);
      int64_t total = 1;
      for (int64_t d : t.shape) {
        total *= d;
      }
      unsigned es = import::dtypeSize(t.dtype);
      constexpr int64_t kChunk = 1 << 20;
      for (int64_t first = 0; ok && first < total; first += kChunk) {
        int64_t count = std::min(kChunk, total - first);
        buf.resize(static_cast<size_t>(count) * es);
        filler.fill(buf.data(), first, count);
        ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
      }
    }
  }
  if (ok && headerOnly) {
    ok = std::fflush(f) == 0 &&
         ::ftruncate(fileno(f), static_cast<off_t>(8 + text.size() + offset)) ==
             0;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    return path + ": write failed: " + std::strerror(errno);
  }
  return {};
}

std::string writeCheckpoint(const SynthOptions &opts, const std::string &dir) {
  namespace fs = std::filesystem;
  if (opts.experts == ExpertLayout::Fused && opts.quant != QuantKind::BF16) {
    return "fused expert tensors exist only unquantized (use --quant bf16)";
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return dir + ": cannot create: " + ec.message();
  }
  std::vector<TensorPlan> plan = planTensors(opts);

  std::vector<std::vector<TensorPlan>> shards(1);
  uint64_t bytes = 0;
  for (TensorPlan &t : plan) {
    uint64_t b = tensorBytes(t);
    if (bytes > 0 && bytes + b > opts.shape.shardBytes) {
      shards.emplace_back();
      bytes = 0;
    }
    bytes += b;
    shards.back().push_back(std::move(t));
  }
  auto shardName = [&](size_t i) {
    if (shards.size() == 1) {
      return std::string("model.safetensors");
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1,
                  shards.size());
    return std::string(buf);
  };

  // Shards are independent: each thread takes the next unwritten one. A
  // shard appears under its name only once complete.
  unsigned threads = opts.threads
                         ? opts.threads
                         : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, static_cast<unsigned>(shards.size()));
  std::atomic<size_t> next{0};
  std::vector<std::string> errors(shards.size());
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < shards.size();) {
      fs::path final = fs::path(dir) / shardName(i);
      fs::path partial = final;
      partial += ".partial";
      errors[i] = writeSafetensors(partial.string(), shards[i], opts.seed,
                                   opts.headerOnly);
      std::error_code renameError;
      if (errors[i].empty()) {
        fs::rename(partial, final, renameError);
      }
      if (renameError) {
        errors[i] =
            final.string() + ": cannot rename: " + renameError.message();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (std::thread &t : pool) {
    t.join();
  }
  for (const std::string &e : errors) {
    if (!e.empty()) {
      return e;
    }
  }

  nlohmann::json weightMap = nlohmann::json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    for (const TensorPlan &t : shards[i]) {
      weightMap[t.name] = shardName(i);
      total += tensorBytes(t);
    }
  }
  if (shards.size() > 1) {
    nlohmann::json index;
    index["metadata"] = {{"total_size", total}};
    index["weight_map"] = weightMap;
    std::ofstream out(fs::path(dir) / "model.safetensors.index.json");
    out << index.dump(2) << "\n";
    if (!out) {
      return dir + ": cannot write model.safetensors.index.json";
    }
  }
  TokenizerFiles tok = makeTokenizerFiles(opts);
  const std::pair<const char *, std::string> files[] = {
      {"config.json", makeConfigJson(opts)},
      {"tokenizer.json", std::move(tok.tokenizerJson)},
      {"tokenizer_config.json", std::move(tok.tokenizerConfig)},
      {"generation_config.json", std::move(tok.generationConfig)}};
  for (const auto &[name, text] : files) {
    std::ofstream out(fs::path(dir) / name);
    out << text;
    if (!out) {
      return dir + ": cannot write " + name;
    }
  }
  return {};
}

} // namespace fd::synth
