//===- Importer.cpp - checkpoint directory -> fdgraph module --------------===//

#include "compiler/import/Importer.h"

#include "compiler/import/Errors.h"
#include "compiler/import/ModelConfig.h"
#include "compiler/import/Safetensors.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"

#include <filesystem>

using namespace mlir;
namespace fdg = fd::fdgraph;

namespace fd::import {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<fdg::FDGraphDialect, func::FuncDialect>();
}

namespace {

/// Thrown inside this file only; importCheckpoint turns it into llvm::Error.
struct ImportError {
  std::string file, what, problem;
};

/// A weight symbol and the quantization an op using it must carry.
struct WeightRef {
  FlatSymbolRefAttr sym;
  fdg::QuantAttr quant;
};

class Importer {
public:
  Importer(MLIRContext &ctx, ModelConfig cfg, Checkpoint ckpt)
      : ctx_(ctx), b_(&ctx), cfg_(std::move(cfg)), ckpt_(std::move(ckpt)) {}

  OwningOpRef<ModuleOp> run();

private:
  // Tensor lookup ----------------------------------------------------------
  std::string missingFile() const {
    namespace fs = std::filesystem;
    fs::path index = fs::path(ckpt_.dir()) / "model.safetensors.index.json";
    return ckpt_.shards().size() == 1 && !fs::exists(index)
               ? ckpt_.shards().front().path
               : index.string();
  }
  bool has(const std::string &name) const {
    return ckpt_.find(name).has_value();
  }
  Checkpoint::Ref get(const std::string &name) {
    std::optional<Checkpoint::Ref> r = ckpt_.find(name);
    if (!r) {
      throw ImportError{missingFile(), "tensor '" + name + "'",
                        "missing from the checkpoint"};
    }
    consumed_.insert(name);
    return *r;
  }
  [[noreturn]] void tensorError(const Checkpoint::Ref &r,
                                const std::string &msg) {
    throw ImportError{ckpt_.shards()[r.shard].path,
                      "tensor '" + r.info->name + "'", msg};
  }
  Type elementType(const Checkpoint::Ref &r) {
    switch (r.info->dtype) {
    case DType::BF16:
      return b_.getBF16Type();
    case DType::F16:
      return b_.getF16Type();
    case DType::F32:
      return b_.getF32Type();
    case DType::I32:
      return b_.getIntegerType(32);
    default:
      tensorError(r, std::string("unsupported dtype ") +
                         dtypeName(r.info->dtype) +
                         " here (expected BF16, F16, F32 or I32)");
    }
  }

  /// Looks up `names` (one per expert, or one), checks each has `shape` and an
  /// element type accepted by `isFloat`, and returns the storage reference
  /// under the display name `refName`.
  fdg::TensorRefAttr storage(const std::vector<std::string> &names,
                             const std::string &refName,
                             llvm::ArrayRef<int64_t> shape, bool wantFloat,
                             const std::string &why) {
    Type elem;
    llvm::SmallVector<int32_t> files;
    for (const std::string &n : names) {
      Checkpoint::Ref r = get(n);
      Type t = elementType(r);
      if (wantFloat != isa<FloatType>(t)) {
        tensorError(r, std::string("dtype ") + dtypeName(r.info->dtype) +
                           (wantFloat ? " is not a float type"
                                      : " is not I32 (packed int4/int8)"));
      }
      if (llvm::ArrayRef<int64_t>(r.info->shape) != shape) {
        tensorError(r, "expected shape " + formatShape(shape) + why + ", got " +
                           formatShape(r.info->shape));
      }
      if (elem && t != elem) {
        tensorError(r, "dtype differs from the other experts'");
      }
      elem = t;
      files.push_back(static_cast<int32_t>(r.shard));
    }
    return fdg::TensorRefAttr::get(&ctx_, refName,
                                   RankedTensorType::get(shape, elem), files);
  }

  Location tensorLoc(const std::string &name) {
    std::optional<Checkpoint::Ref> r = ckpt_.find(name);
    StringRef file =
        r ? StringRef(ckpt_.shards()[r->shard].file) : "checkpoint";
    return NameLoc::get(b_.getStringAttr(name),
                        FileLineColLoc::get(&ctx_, file, 0, 0));
  }
  Location fieldLoc(const std::string &field) {
    return NameLoc::get(b_.getStringAttr(cfg_.fieldPrefix + field),
                        FileLineColLoc::get(&ctx_, "config.json", 0, 0));
  }

  // Weights ----------------------------------------------------------------
  std::string full(const std::string &rel) const {
    return cfg_.weightPrefix + rel;
  }

  FlatSymbolRefAttr plainWeight(const std::string &sym, const std::string &name,
                                llvm::ArrayRef<int64_t> shape) {
    fdg::TensorRefAttr ref = storage({name}, name, shape, true, "");
    OpBuilder::InsertionGuard g(b_);
    b_.setInsertionPoint(forward_);
    fdg::WeightOp::create(
        b_, tensorLoc(name), sym,
        RankedTensorType::get(shape, ref.getType().getElementType()),
        fdg::QuantAttr(), b_.getDictionaryAttr(b_.getNamedAttr("weight", ref)));
    return FlatSymbolRefAttr::get(&ctx_, sym);
  }

  /// A linear layer (modules.size() == 1) or the same projection of every
  /// routed expert (`modules` one per expert, `pattern` holding "{e}").
  WeightRef linearWeight(const std::string &sym,
                         const std::vector<std::string> &modules,
                         const std::string &pattern, int64_t n, int64_t k);

  /// The routed experts' projection `proj` of layer `layer`: per-expert
  /// tensors, or transformers 5's fused [E, ...] parameter.
  WeightRef expertWeight(int64_t layer, const std::string &proj, int64_t n,
                         int64_t k);

  // Graph ------------------------------------------------------------------
  RankedTensorType act(int64_t features) {
    return RankedTensorType::get({ShapedType::kDynamic, features},
                                 b_.getF32Type());
  }
  Value linear(Location loc, Value x, const WeightRef &w, int64_t n) {
    return fdg::LinearOp::create(b_, loc, act(n), x, w.sym, w.quant);
  }
  Value rmsNorm(Value x, const std::string &tensor, const std::string &sym) {
    FlatSymbolRefAttr w = plainWeight(sym, tensor, {cfg_.hiddenSize});
    return fdg::RMSNormOp::create(b_, tensorLoc(tensor), x.getType(), x, w,
                                  b_.getF64FloatAttr(cfg_.rmsNormEps),
                                  b_.getBoolAttr(cfg_.zeroCenteredNorms));
  }
  Value gatedDeltaNet(int64_t layer, Value x);
  Value attention(int64_t layer, Value x);
  Value moe(int64_t layer, Value x);

  MLIRContext &ctx_;
  OpBuilder b_;
  ModelConfig cfg_;
  Checkpoint ckpt_;
  OwningOpRef<ModuleOp> module_;
  llvm::StringSet<> consumed_;
  bool fusedExperts_ = false;
  /// Weights are inserted before the function so the module reads top-down.
  Operation *forward_ = nullptr;
};

WeightRef Importer::linearWeight(const std::string &sym,
                                 const std::vector<std::string> &modules,
                                 const std::string &pattern, int64_t n,
                                 int64_t k) {
  const std::string &first = modules.front();
  bool gptqPacked = has(first + ".qweight");
  bool ctPacked = has(first + ".weight_packed");
  bool plain = has(first + ".weight");
  bool quantized = gptqPacked || ctPacked;
  // The rule for the module (the first expert's name for experts: rules in
  // real configs name modules one by one, and experts share their fate).
  bool explicitRule = false;
  std::string rule;
  LinearQuant lq = cfg_.quant.lookup(first, explicitRule, rule);
  if (explicitRule && quantized && !lq.quantized()) {
    throw ImportError{cfg_.configPath, rule,
                      "says '" + first +
                          "' is unquantized but the checkpoint "
                          "stores '" +
                          first + (gptqPacked ? ".qweight" : ".weight_packed") +
                          "'"};
  }
  if (explicitRule && plain && !quantized && lq.quantized()) {
    throw ImportError{cfg_.configPath, rule,
                      "says '" + first + "' is quantized to " +
                          std::to_string(lq.bits) +
                          " bits but the checkpoint "
                          "stores a plain '" +
                          first + ".weight'"};
  }

  llvm::SmallVector<int64_t> prefix;
  if (modules.size() > 1 || pattern.find("{e}") != std::string::npos) {
    prefix.push_back(static_cast<int64_t>(modules.size()));
  }
  auto names = [&](const std::string &suffix) {
    std::vector<std::string> out;
    out.reserve(modules.size());
    for (const std::string &m : modules) {
      out.push_back(m + "." + suffix);
    }
    return out;
  };
  auto emit = [&](Type elem, fdg::QuantAttr quant, DictionaryAttr store) {
    llvm::SmallVector<int64_t> shape(prefix);
    shape.push_back(n);
    shape.push_back(k);
    OpBuilder::InsertionGuard g(b_);
    b_.setInsertionPoint(forward_);
    fdg::WeightOp::create(b_,
                          tensorLoc(first + (gptqPacked ? ".qweight"
                                             : ctPacked ? ".weight_packed"
                                                        : ".weight")),
                          sym, RankedTensorType::get(shape, elem), quant,
                          store);
    return WeightRef{FlatSymbolRefAttr::get(&ctx_, sym), quant};
  };

  if (!quantized) {
    if (!plain) {
      get(first + ".weight"); // reports the missing tensor
    }
    fdg::TensorRefAttr w = storage(names("weight"), pattern + ".weight", {n, k},
                                   true, " ([N, K])");
    return emit(w.getType().getElementType(), fdg::QuantAttr(),
                b_.getDictionaryAttr(b_.getNamedAttr("weight", w)));
  }

  QuantMethod want =
      gptqPacked ? QuantMethod::GPTQ : QuantMethod::CompressedTensors;
  bool methodOk = gptqPacked ? (cfg_.quant.method == QuantMethod::GPTQ ||
                                cfg_.quant.method == QuantMethod::AutoRound)
                             : cfg_.quant.method == want;
  if (!methodOk) {
    throw ImportError{cfg_.configPath, "quantization_config",
                      std::string(cfg_.quant.method == QuantMethod::None
                                      ? "absent"
                                      : "names another method") +
                          " but '" + first + "' is stored packed (" +
                          (gptqPacked ? "qweight" : "weight_packed") + ")"};
  }
  if (!lq.quantized()) { // unlisted module that the defaults exclude
    lq = cfg_.quant.defaults;
  }
  int64_t pack = 32 / lq.bits;
  int64_t group = lq.groupSize == -1 ? k : lq.groupSize;
  std::string dims = " (N=" + std::to_string(n) + ", K=" + std::to_string(k) +
                     ", bits " + std::to_string(lq.bits) + ", group size " +
                     std::to_string(group) + ")";
  if (k % group != 0 || k % pack != 0 || n % pack != 0) {
    throw ImportError{missingFile(), "tensor '" + first + "'",
                      "K or N not divisible by the packing or group size" +
                          dims};
  }
  fdg::QuantScheme scheme = cfg_.quant.method == QuantMethod::AutoRound
                                ? fdg::QuantScheme::autoround
                            : cfg_.quant.method == QuantMethod::GPTQ
                                ? fdg::QuantScheme::gptq
                                : fdg::QuantScheme::compressed_tensors;
  llvm::SmallVector<NamedAttribute> entries;
  Type scaleType;
  bool zeroPoints;
  if (gptqPacked) {
    auto qw = storage(names("qweight"), pattern + ".qweight", {k / pack, n},
                      false, dims);
    auto sc = storage(names("scales"), pattern + ".scales", {k / group, n},
                      true, dims);
    auto qz = storage(names("qzeros"), pattern + ".qzeros",
                      {k / group, n / pack}, false, dims);
    entries = {b_.getNamedAttr("qweight", qw), b_.getNamedAttr("scales", sc),
               b_.getNamedAttr("qzeros", qz)};
    scaleType = sc.getType().getElementType();
    zeroPoints = true;
    // GPTQ stores g_idx even without act-order; it must be the identity
    // grouping, which the shape check cannot see, so only its shape is checked.
    if (has(first + ".g_idx")) {
      for (const std::string &m : modules) {
        Checkpoint::Ref r = get(m + ".g_idx");
        if (r.info->shape != std::vector<int64_t>{k}) {
          tensorError(r, "expected shape [" + std::to_string(k) + "]");
        }
      }
    }
  } else {
    auto wp = storage(names("weight_packed"), pattern + ".weight_packed",
                      {n, k / pack}, false, dims);
    auto ws = storage(names("weight_scale"), pattern + ".weight_scale",
                      {n, k / group}, true, dims);
    entries = {b_.getNamedAttr("weight_packed", wp),
               b_.getNamedAttr("weight_scale", ws)};
    scaleType = ws.getType().getElementType();
    zeroPoints = !lq.symmetric;
    if (zeroPoints) {
      entries.push_back(b_.getNamedAttr(
          "weight_zero_point",
          storage(names("weight_zero_point"), pattern + ".weight_zero_point",
                  {n / pack, k / group}, false, dims)));
    }
    if (has(first + ".weight_shape")) {
      for (const std::string &m : modules) {
        Checkpoint::Ref r = get(m + ".weight_shape");
        if (r.info->shape != std::vector<int64_t>{2}) {
          tensorError(r, "expected shape [2]");
        }
      }
    }
  }
  auto quant = fdg::QuantAttr::get(&ctx_, scheme, lq.bits, lq.groupSize,
                                   lq.symmetric, zeroPoints);
  return emit(scaleType, quant, b_.getDictionaryAttr(entries));
}

WeightRef Importer::expertWeight(int64_t layer, const std::string &proj,
                                 int64_t n, int64_t k) {
  std::string base = full("layers." + std::to_string(layer) + ".mlp.experts.");
  std::string sym = "layers." + std::to_string(layer) + ".mlp.experts." + proj;
  if (!fusedExperts_) {
    std::vector<std::string> modules;
    for (int64_t e = 0; e < cfg_.numExperts; ++e) {
      modules.push_back(base + std::to_string(e) + "." + proj);
    }
    return linearWeight(sym, modules, base + "{e}." + proj, n, k);
  }
  // transformers 5 keeps [E, N, K] parameters without a ".weight" suffix.
  std::string name = base + proj;
  FlatSymbolRefAttr w = plainWeight(sym, name, {cfg_.numExperts, n, k});
  return WeightRef{w, fdg::QuantAttr()};
}

Value Importer::gatedDeltaNet(int64_t layer, Value x) {
  std::string p = "layers." + std::to_string(layer) + ".linear_attn.";
  int64_t hk = cfg_.linearNumKeyHeads, hv = cfg_.linearNumValueHeads;
  int64_t dk = cfg_.linearKeyHeadDim, dv = cfg_.linearValueHeadDim;
  int64_t h = cfg_.hiddenSize;
  int64_t qkvDim = 2 * hk * dk + hv * dv;
  auto lin = [&](const std::string &name, int64_t n, int64_t kdim) {
    return linearWeight(p + name, {full(p + name)}, full(p + name), n, kdim);
  };
  WeightRef wqkv = lin("in_proj_qkv", qkvDim, h);
  WeightRef wz = lin("in_proj_z", hv * dv, h);
  WeightRef wb = lin("in_proj_b", hv, h);
  WeightRef wa = lin("in_proj_a", hv, h);
  Value qkv = linear(tensorLoc(full(p + "in_proj_qkv")), x, wqkv, qkvDim);
  Value z = linear(tensorLoc(full(p + "in_proj_z")), x, wz, hv * dv);
  Value bv = linear(tensorLoc(full(p + "in_proj_b")), x, wb, hv);
  Value av = linear(tensorLoc(full(p + "in_proj_a")), x, wa, hv);
  FlatSymbolRefAttr conv = plainWeight(p + "conv1d", full(p + "conv1d.weight"),
                                       {qkvDim, 1, cfg_.linearConvKernel});
  FlatSymbolRefAttr alog = plainWeight(p + "A_log", full(p + "A_log"), {hv});
  FlatSymbolRefAttr dt = plainWeight(p + "dt_bias", full(p + "dt_bias"), {hv});
  FlatSymbolRefAttr norm =
      plainWeight(p + "norm", full(p + "norm.weight"), {dv});
  Value o = fdg::GatedDeltaNetOp::create(
      b_, fieldLoc("layer_types[" + std::to_string(layer) + "]"), act(hv * dv),
      qkv, z, bv, av, conv, alog, dt, norm, b_.getI64IntegerAttr(layer),
      b_.getI64IntegerAttr(hk), b_.getI64IntegerAttr(hv),
      b_.getI64IntegerAttr(dk), b_.getI64IntegerAttr(dv),
      b_.getI64IntegerAttr(cfg_.linearConvKernel),
      b_.getF64FloatAttr(cfg_.rmsNormEps));
  WeightRef wout = lin("out_proj", h, hv * dv);
  return linear(tensorLoc(full(p + "out_proj")), o, wout, h);
}

Value Importer::attention(int64_t layer, Value x) {
  std::string p = "layers." + std::to_string(layer) + ".self_attn.";
  int64_t hq = cfg_.numHeads, hkv = cfg_.numKvHeads, d = cfg_.headDim;
  int64_t h = cfg_.hiddenSize;
  int64_t qDim = hq * d * (cfg_.attnOutputGate ? 2 : 1);
  auto lin = [&](const std::string &name, int64_t n, int64_t kdim) {
    return linearWeight(p + name, {full(p + name)}, full(p + name), n, kdim);
  };
  WeightRef wq = lin("q_proj", qDim, h);
  WeightRef wk = lin("k_proj", hkv * d, h);
  WeightRef wv = lin("v_proj", hkv * d, h);
  Value q = linear(tensorLoc(full(p + "q_proj")), x, wq, qDim);
  Value k = linear(tensorLoc(full(p + "k_proj")), x, wk, hkv * d);
  Value v = linear(tensorLoc(full(p + "v_proj")), x, wv, hkv * d);
  FlatSymbolRefAttr qn =
      plainWeight(p + "q_norm", full(p + "q_norm.weight"), {d});
  FlatSymbolRefAttr kn =
      plainWeight(p + "k_norm", full(p + "k_norm.weight"), {d});
  Value o = fdg::GatedAttentionOp::create(
      b_, fieldLoc("layer_types[" + std::to_string(layer) + "]"), act(hq * d),
      q, k, v, qn, kn, b_.getI64IntegerAttr(layer), b_.getI64IntegerAttr(hq),
      b_.getI64IntegerAttr(hkv), b_.getI64IntegerAttr(d),
      b_.getI64IntegerAttr(cfg_.rotaryDim), b_.getF64FloatAttr(cfg_.ropeTheta),
      b_.getBoolAttr(cfg_.attnOutputGate), b_.getF64FloatAttr(cfg_.rmsNormEps),
      b_.getBoolAttr(cfg_.zeroCenteredNorms));
  WeightRef wo = lin("o_proj", h, hq * d);
  return linear(tensorLoc(full(p + "o_proj")), o, wo, h);
}

Value Importer::moe(int64_t layer, Value x) {
  std::string p = "layers." + std::to_string(layer) + ".mlp.";
  int64_t h = cfg_.hiddenSize, e = cfg_.numExperts,
          inter = cfg_.moeIntermediate;
  WeightRef router =
      linearWeight(p + "gate", {full(p + "gate")}, full(p + "gate"), e, h);
  std::string probe = full(p + "experts.0.gate_proj");
  fusedExperts_ = !has(probe + ".weight") && !has(probe + ".qweight") &&
                  !has(probe + ".weight_packed") &&
                  has(full(p + "experts.gate_up_proj"));
  NamedAttrList attrs;
  attrs.set("router", router.sym);
  if (fusedExperts_) {
    attrs.set("experts_gate_up",
              expertWeight(layer, "gate_up_proj", 2 * inter, h).sym);
  } else {
    attrs.set("experts_gate", expertWeight(layer, "gate_proj", inter, h).sym);
    attrs.set("experts_up", expertWeight(layer, "up_proj", inter, h).sym);
  }
  attrs.set("experts_down", expertWeight(layer, "down_proj", h, inter).sym);
  if (cfg_.sharedIntermediate > 0) {
    int64_t si = cfg_.sharedIntermediate;
    auto lin = [&](const std::string &name, int64_t n, int64_t kdim) {
      return linearWeight(p + name, {full(p + name)}, full(p + name), n, kdim)
          .sym;
    };
    attrs.set("shared_gate", lin("shared_expert.gate_proj", si, h));
    attrs.set("shared_up", lin("shared_expert.up_proj", si, h));
    attrs.set("shared_down", lin("shared_expert.down_proj", h, si));
    attrs.set("shared_expert_gate", lin("shared_expert_gate", 1, h));
  }
  attrs.set("num_experts", b_.getI64IntegerAttr(e));
  attrs.set("top_k", b_.getI64IntegerAttr(cfg_.topK));
  attrs.set("norm_topk_prob", b_.getBoolAttr(cfg_.normTopkProb));
  return fdg::MoEOp::create(b_, tensorLoc(full(p + "gate.weight")),
                            TypeRange{x.getType()}, ValueRange{x},
                            attrs.getAttrs());
}

OwningOpRef<ModuleOp> Importer::run() {
  module_ = ModuleOp::create(FileLineColLoc::get(&ctx_, cfg_.configPath, 0, 0));
  llvm::SmallVector<Attribute> shardNames;
  for (const Shard &s : ckpt_.shards()) {
    shardNames.push_back(b_.getStringAttr(s.file));
  }
  module_->getOperation()->setAttr(fdg::kShardsAttrName,
                                   b_.getArrayAttr(shardNames));

  int64_t h = cfg_.hiddenSize, vocab = cfg_.vocabSize;
  auto i32 = b_.getIntegerType(32);
  auto fnType =
      b_.getFunctionType({RankedTensorType::get({ShapedType::kDynamic}, i32)},
                         {RankedTensorType::get({}, i32)});
  b_.setInsertionPointToEnd(module_->getBody());
  auto fn =
      func::FuncOp::create(b_, fieldLoc("architectures"), "forward", fnType);
  forward_ = fn;
  Block *body = fn.addEntryBlock();
  b_.setInsertionPointToStart(body);

  std::string embedName = full("embed_tokens.weight");
  FlatSymbolRefAttr embed = plainWeight("embed_tokens", embedName, {vocab, h});
  Value hidden = fdg::EmbedOp::create(b_, tensorLoc(embedName), act(h),
                                      body->getArgument(0), embed);
  for (int64_t l = 0; l < cfg_.numLayers; ++l) {
    std::string p = "layers." + std::to_string(l) + ".";
    Value x = rmsNorm(hidden, full(p + "input_layernorm.weight"),
                      p + "input_layernorm");
    Value y = cfg_.layerTypes[l] == LayerKind::LinearAttention
                  ? gatedDeltaNet(l, x)
                  : attention(l, x);
    hidden = fdg::AddOp::create(b_, y.getLoc(), hidden, y);
    Value x2 = rmsNorm(hidden, full(p + "post_attention_layernorm.weight"),
                       p + "post_attention_layernorm");
    Value m = moe(l, x2);
    hidden = fdg::AddOp::create(b_, m.getLoc(), hidden, m);
  }
  hidden = rmsNorm(hidden, full("norm.weight"), "norm");
  WeightRef head;
  if (has("lm_head.weight") || has("lm_head.qweight") ||
      has("lm_head.weight_packed") || !cfg_.tieWordEmbeddings) {
    head = linearWeight("lm_head", {"lm_head"}, "lm_head", vocab, h);
  } else {
    head = WeightRef{embed, fdg::QuantAttr()};
  }
  Value logits =
      fdg::LMHeadOp::create(b_, tensorLoc("lm_head.weight"), act(vocab), hidden,
                            head.sym, head.quant);
  Value token = fdg::SampleOp::create(b_, logits.getLoc(),
                                      RankedTensorType::get({}, i32), logits);
  func::ReturnOp::create(b_, token.getLoc(), token);

  // Everything in the checkpoint must be accounted for: an unknown tensor
  // (a bias, a renamed projection) would otherwise be silently dropped.
  int64_t mtp = 0, vision = 0;
  std::vector<llvm::StringRef> names = ckpt_.tensorNames();
  std::sort(names.begin(), names.end());
  for (llvm::StringRef n : names) {
    if (consumed_.contains(n)) {
      continue;
    }
    if (n.starts_with("mtp.") || n.starts_with("model.mtp.")) {
      ++mtp;
      continue;
    }
    if (n.starts_with("model.visual.") || n.starts_with("visual.")) {
      ++vision;
      continue;
    }
    std::optional<Checkpoint::Ref> r = ckpt_.find(n);
    throw ImportError{ckpt_.shards()[r->shard].path, "tensor '" + n.str() + "'",
                      std::string("unexpected tensor: not part of the ") +
                          familyName(cfg_.family) +
                          " text model this config describes"};
  }
  module_->getOperation()->setAttr(
      "fdgraph.model",
      b_.getDictionaryAttr({
          b_.getNamedAttr("architecture", b_.getStringAttr(cfg_.architecture)),
          b_.getNamedAttr("family", b_.getStringAttr(familyName(cfg_.family))),
          b_.getNamedAttr("hidden_size", b_.getI64IntegerAttr(h)),
          b_.getNamedAttr("vocab_size", b_.getI64IntegerAttr(vocab)),
          b_.getNamedAttr("num_layers", b_.getI64IntegerAttr(cfg_.numLayers)),
          b_.getNamedAttr("max_position_embeddings",
                          b_.getI64IntegerAttr(cfg_.maxPositionEmbeddings)),
          b_.getNamedAttr("tie_word_embeddings",
                          b_.getBoolAttr(cfg_.tieWordEmbeddings)),
          b_.getNamedAttr("skipped_mtp_tensors", b_.getI64IntegerAttr(mtp)),
          b_.getNamedAttr("skipped_vision_tensors",
                          b_.getI64IntegerAttr(vision)),
      }));
  return std::move(module_);
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>> importCheckpoint(MLIRContext &context,
                                                       const std::string &dir) {
  context.loadDialect<fdg::FDGraphDialect, func::FuncDialect>();
  llvm::Expected<ModelConfig> cfg = parseModelConfig(dir);
  if (!cfg) {
    return cfg.takeError();
  }
  llvm::Expected<Checkpoint> ckpt = Checkpoint::open(dir);
  if (!ckpt) {
    return ckpt.takeError();
  }
  std::string configPath = cfg->configPath;
  OwningOpRef<ModuleOp> module;
  try {
    Importer importer(context, std::move(*cfg), std::move(*ckpt));
    module = importer.run();
  } catch (const ImportError &e) {
    return makeError(e.file, e.what, e.problem);
  } catch (const std::exception &e) {
    return makeError(configPath, "", std::string("import failed: ") + e.what());
  }
  // The verifier re-checks every shape the importer derived; a failure here
  // is an importer bug, reported with the offending op's location.
  std::string firstError;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && firstError.empty()) {
      llvm::raw_string_ostream os(firstError);
      os << d.getLocation() << ": " << d.str();
    }
    return success();
  });
  if (failed(verify(*module))) {
    return makeError(configPath, "",
                     "imported graph fails verification: " + firstError);
  }
  return std::move(module);
}

} // namespace fd::import
