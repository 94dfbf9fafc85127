//===- RefBuilder.cpp - fdgraph module -> RefProgram ----------------------===//

#include "compiler/reference/RefBuilder.h"

#include "compiler/import/Errors.h"
#include "compiler/import/FloatBits.h"
#include "compiler/import/Safetensors.h"
#include "compiler/reference/Dequant.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <cstring>

using namespace mlir;
namespace fdg = fd::fdgraph;

namespace fd::reference {

namespace {

class Builder {
public:
  Builder(ModuleOp module, std::optional<import::Checkpoint> ckpt,
          std::string dir)
      : module_(module), ckpt_(std::move(ckpt)), dir_(std::move(dir)) {}

  llvm::Expected<RefProgram> run();

private:
  /// Bytes of one stored tensor with its dtype and shape.
  llvm::Expected<std::vector<char>> readBytes(const std::string &name,
                                              import::DType &dtype,
                                              std::vector<int64_t> &shape) {
    llvm::Expected<std::vector<char>> bytes = ckpt_->read(name);
    if (bytes) {
      const import::TensorInfo *info = ckpt_->find(name)->info;
      dtype = info->dtype;
      shape = info->shape;
    }
    return bytes;
  }

  llvm::Expected<std::vector<float>> readFloats(const std::string &name) {
    import::DType dtype;
    std::vector<int64_t> shape;
    auto bytes = readBytes(name, dtype, shape);
    if (!bytes) {
      return bytes.takeError();
    }
    size_t n = bytes->size() / import::dtypeSize(dtype);
    std::vector<float> out(n);
    const char *p = bytes->data();
    for (size_t i = 0; i < n; ++i) {
      std::optional<float> v =
          import::loadFloatElement(dtype, p + i * import::dtypeSize(dtype));
      if (!v) {
        return import::makeError(dir_, "tensor '" + name + "'",
                                 std::string("expected a float tensor, got ") +
                                     import::dtypeName(dtype));
      }
      out[i] = *v;
    }
    return out;
  }

  llvm::Expected<std::vector<int32_t>> readInts(const std::string &name) {
    import::DType dtype;
    std::vector<int64_t> shape;
    auto bytes = readBytes(name, dtype, shape);
    if (!bytes) {
      return bytes.takeError();
    }
    if (dtype != import::DType::I32) {
      return import::makeError(dir_, "tensor '" + name + "'",
                               "expected I32 packed data");
    }
    std::vector<int32_t> out(bytes->size() / 4);
    std::memcpy(out.data(), bytes->data(), bytes->size());
    return out;
  }

  static std::string expertName(llvm::StringRef pattern, int64_t e) {
    size_t at = pattern.find("{e}");
    if (at == llvm::StringRef::npos) {
      return pattern.str();
    }
    return (pattern.substr(0, at) + std::to_string(e) + pattern.substr(at + 3))
        .str();
  }

  llvm::Expected<WeightPtr> weight(FlatSymbolRefAttr sym);

  ModuleOp module_;
  std::optional<import::Checkpoint> ckpt_; // none: names and shapes only
  std::string dir_;
  llvm::StringMap<WeightPtr> weights_;
};

llvm::Expected<WeightPtr> Builder::weight(FlatSymbolRefAttr sym) {
  auto it = weights_.find(sym.getValue());
  if (it != weights_.end()) {
    return it->second;
  }
  auto op = SymbolTable::lookupNearestSymbolFrom<fdg::WeightOp>(module_, sym);
  if (!op) {
    return import::makeError(dir_, sym.getValue().str(),
                             "not an fdgraph.weight");
  }
  auto w = std::make_shared<Weight>();
  w->name = sym.getValue().str();
  llvm::append_range(w->shape, op.getTensorType().getShape());
  DictionaryAttr storage = op.getStorage();
  bool perExpert = false;
  for (NamedAttribute e : storage) {
    perExpert |= llvm::cast<fdg::TensorRefAttr>(e.getValue()).isPerExpert();
  }
  int64_t experts = perExpert ? w->shape[0] : 1;
  auto name = [&](StringRef key, int64_t e) {
    return expertName(storage.getAs<fdg::TensorRefAttr>(key).getName(), e);
  };
  std::optional<fdg::QuantAttr> quant = op.getQuant();
  int64_t n = w->shape.size() >= 2 ? w->shape[w->shape.size() - 2] : 0;
  int64_t k = w->shape.back();
  for (int64_t e = 0; ckpt_ && e < experts; ++e) {
    std::vector<float> part;
    if (!quant) {
      auto data = readFloats(name("weight", e));
      if (!data) {
        return data.takeError();
      }
      part = std::move(*data);
    } else if (quant->getScheme() == fdg::QuantScheme::compressed_tensors) {
      auto packed = readInts(name("weight_packed", e));
      if (!packed) {
        return packed.takeError();
      }
      auto scales = readFloats(name("weight_scale", e));
      if (!scales) {
        return scales.takeError();
      }
      std::vector<int32_t> zeros;
      if (quant->getZeroPoints()) {
        auto z = readInts(name("weight_zero_point", e));
        if (!z) {
          return z.takeError();
        }
        zeros = std::move(*z);
      }
      part = dequantCompressed(
          packed->data(), zeros.empty() ? nullptr : zeros.data(),
          scales->data(), n, k, quant->getBits(), quant->getGroupSize());
    } else {
      auto qweight = readInts(name("qweight", e));
      if (!qweight) {
        return qweight.takeError();
      }
      auto qzeros = readInts(name("qzeros", e));
      if (!qzeros) {
        return qzeros.takeError();
      }
      auto scales = readFloats(name("scales", e));
      if (!scales) {
        return scales.takeError();
      }
      part = dequantGptq(qweight->data(), qzeros->data(), scales->data(), n, k,
                         quant->getBits(), quant->getGroupSize());
    }
    w->data.insert(w->data.end(), part.begin(), part.end());
  }
  WeightPtr ptr = std::move(w);
  weights_[sym.getValue()] = ptr;
  return ptr;
}

llvm::Expected<RefProgram> Builder::run() {
  auto fn = module_.lookupSymbol<func::FuncOp>("forward");
  if (!fn) {
    return import::makeError(dir_, "forward",
                             "the module has no forward function");
  }
  RefProgram prog;
  if (auto model = module_->getAttrOfType<DictionaryAttr>("fdgraph.model")) {
    if (auto v = model.getAs<IntegerAttr>("vocab_size")) {
      prog.vocabSize = v.getInt();
    }
    if (auto v = model.getAs<IntegerAttr>("hidden_size")) {
      prog.hiddenSize = v.getInt();
    }
    if (auto v = model.getAs<IntegerAttr>("num_layers")) {
      prog.numLayers = v.getInt();
    }
  }
  llvm::DenseMap<Value, int> ids;
  ids[fn.getArgument(0)] = 0;
  int next = 1;
  for (Operation &op : fn.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      prog.result = ids.lookup(ret.getOperand(0));
      break;
    }
    Step step;
    for (Value v : op.getOperands()) {
      step.inputs.push_back(ids.lookup(v));
    }
    step.output = next;
    ids[op.getResult(0)] = next++;
    auto w = [&](FlatSymbolRefAttr s, WeightPtr &dst) -> llvm::Error {
      auto r = weight(s);
      if (!r) {
        return r.takeError();
      }
      dst = *r;
      return llvm::Error::success();
    };
    // Optional weights: a null symbol leaves `dst` empty.
    auto ow = [&](FlatSymbolRefAttr s, WeightPtr &dst) -> llvm::Error {
      return s ? w(s, dst) : llvm::Error::success();
    };
    llvm::Error err = llvm::Error::success();
    if (auto e = dyn_cast<fdg::EmbedOp>(op)) {
      EmbedStep s;
      err = w(e.getWeightAttr(), s.table);
      step.kind = s;
    } else if (auto n = dyn_cast<fdg::RMSNormOp>(op)) {
      RMSNormStep s{nullptr, n.getEps().convertToDouble(), n.getZeroCentered()};
      err = w(n.getWeightAttr(), s.weight);
      step.kind = s;
    } else if (isa<fdg::AddOp>(op)) {
      step.kind = AddStep{};
    } else if (auto l = dyn_cast<fdg::LinearOp>(op)) {
      LinearStep s;
      err = w(l.getWeightAttr(), s.weight);
      step.kind = s;
    } else if (auto g = dyn_cast<fdg::GatedDeltaNetOp>(op)) {
      GatedDeltaNetStep s;
      s.layer = static_cast<int64_t>(g.getLayer());
      s.kHeads = static_cast<int64_t>(g.getNumKHeads());
      s.vHeads = static_cast<int64_t>(g.getNumVHeads());
      s.kDim = static_cast<int64_t>(g.getHeadKDim());
      s.vDim = static_cast<int64_t>(g.getHeadVDim());
      s.convKernel = static_cast<int64_t>(g.getConvKernelSize());
      s.normEps = g.getNormEps().convertToDouble();
      err =
          llvm::joinErrors(llvm::joinErrors(w(g.getConvWeightAttr(), s.conv),
                                            w(g.getALogAttr(), s.aLog)),
                           llvm::joinErrors(w(g.getDtBiasAttr(), s.dtBias),
                                            w(g.getNormWeightAttr(), s.norm)));
      step.kind = s;
    } else if (auto a = dyn_cast<fdg::GatedAttentionOp>(op)) {
      AttentionStep s;
      s.layer = static_cast<int64_t>(a.getLayer());
      s.heads = static_cast<int64_t>(a.getNumHeads());
      s.kvHeads = static_cast<int64_t>(a.getNumKvHeads());
      s.headDim = static_cast<int64_t>(a.getHeadDim());
      s.rotaryDim = static_cast<int64_t>(a.getRotaryDim());
      s.ropeTheta = a.getRopeTheta().convertToDouble();
      s.normEps = a.getNormEps().convertToDouble();
      s.outputGate = a.getOutputGate();
      s.normZeroCentered = a.getQkNormZeroCentered();
      err = llvm::joinErrors(w(a.getQNormAttr(), s.qNorm),
                             w(a.getKNormAttr(), s.kNorm));
      step.kind = s;
    } else if (auto m = dyn_cast<fdg::MoEOp>(op)) {
      MoEStep s;
      s.experts = static_cast<int64_t>(m.getNumExperts());
      s.topK = static_cast<int64_t>(m.getTopK());
      s.normTopkProb = m.getNormTopkProb();
      err = llvm::joinErrors(w(m.getRouterAttr(), s.router),
                             w(m.getExpertsDownAttr(), s.down));
      err =
          llvm::joinErrors(std::move(err), ow(m.getExpertsGateAttr(), s.gate));
      err = llvm::joinErrors(std::move(err), ow(m.getExpertsUpAttr(), s.up));
      err = llvm::joinErrors(std::move(err),
                             ow(m.getExpertsGateUpAttr(), s.gateUp));
      err = llvm::joinErrors(std::move(err),
                             ow(m.getSharedGateAttr(), s.sharedGate));
      err =
          llvm::joinErrors(std::move(err), ow(m.getSharedUpAttr(), s.sharedUp));
      err = llvm::joinErrors(std::move(err),
                             ow(m.getSharedDownAttr(), s.sharedDown));
      err = llvm::joinErrors(
          std::move(err), ow(m.getSharedExpertGateAttr(), s.sharedExpertGate));
      step.kind = s;
    } else if (auto h = dyn_cast<fdg::LMHeadOp>(op)) {
      LMHeadStep s;
      err = w(h.getWeightAttr(), s.weight);
      step.kind = s;
    } else if (isa<fdg::SampleOp>(op)) {
      step.kind = SampleStep{};
    } else {
      return import::makeError(dir_, op.getName().getStringRef().str(),
                               "op not supported by the reference executor");
    }
    if (err) {
      return std::move(err);
    }
    prog.steps.push_back(std::move(step));
  }
  prog.numValues = next;
  return prog;
}

} // namespace

llvm::Expected<RefProgram> buildRefProgram(ModuleOp module,
                                           const std::string &checkpointDir,
                                           bool loadData) {
  std::optional<import::Checkpoint> opened;
  if (loadData) {
    auto ckpt = import::Checkpoint::open(checkpointDir);
    if (!ckpt) {
      return ckpt.takeError();
    }
    opened = std::move(*ckpt);
  }
  try {
    return Builder(module, std::move(opened), checkpointDir).run();
  } catch (const std::exception &e) {
    return import::makeError(checkpointDir, "",
                             std::string("cannot load weights: ") + e.what());
  }
}

} // namespace fd::reference
