//===- FDGraphOps.cpp - fdgraph operation verifiers -----------------------===//

#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace fd::fdgraph;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d)) {
      os << "?";
    } else {
      os << d;
    }
  });
  os << "]";
  return s;
}

/// Dimensions agree when equal or when either is dynamic.
bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

int64_t features(Value v) {
  return cast<RankedTensorType>(v.getType()).getDimSize(1);
}
int64_t rows(Value v) {
  return cast<RankedTensorType>(v.getType()).getDimSize(0);
}

LogicalResult expectShape(Operation *op, const Twine &what,
                          ArrayRef<int64_t> got, ArrayRef<int64_t> want) {
  if (got.size() == want.size() &&
      llvm::all_of(llvm::zip(got, want), [](auto p) {
        return dimsAgree(std::get<0>(p), std::get<1>(p));
      })) {
    return success();
  }
  return op->emitOpError() << "expects " << what << " of shape "
                           << shapeStr(want) << ", got " << shapeStr(got);
}

LogicalResult expectFeatures(Operation *op, StringRef what, Value v,
                             int64_t want) {
  if (features(v) == want) {
    return success();
  }
  return op->emitOpError() << "expects " << what << " to have " << want
                           << " features, got " << features(v);
}

LogicalResult expectSameRows(Operation *op, ValueRange values) {
  int64_t r = ShapedType::kDynamic;
  for (Value v : values) {
    if (ShapedType::isDynamic(rows(v))) {
      continue;
    }
    if (!ShapedType::isDynamic(r) && r != rows(v)) {
      return op->emitOpError()
             << "expects all operands and results to have the same number of "
                "tokens";
    }
    r = rows(v);
  }
  return success();
}

/// Resolves `ref` to an fdgraph.weight, or reports which role it plays.
FailureOr<WeightOp> lookupWeight(Operation *op, SymbolTableCollection &tables,
                                 FlatSymbolRefAttr ref, StringRef role) {
  auto weight = tables.lookupNearestSymbolFrom<WeightOp>(op, ref);
  if (!weight) {
    return op->emitOpError()
           << "expects " << role << " " << ref << " to name an fdgraph.weight";
  }
  return weight;
}

LogicalResult expectWeightShape(Operation *op, SymbolTableCollection &tables,
                                FlatSymbolRefAttr ref, StringRef role,
                                ArrayRef<int64_t> want) {
  FailureOr<WeightOp> w = lookupWeight(op, tables, ref, role);
  if (failed(w)) {
    return failure();
  }
  return expectShape(op, Twine(role) + " weight", w->getTensorType().getShape(),
                     want);
}

} // namespace

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

namespace {

/// Checks one packed tensor of a quantized weight: present, of an allowed
/// element type, with the expected shape (expert dims prepended).
LogicalResult checkStored(WeightOp op, DictionaryAttr storage, StringRef key,
                          ArrayRef<int64_t> prefix, ArrayRef<int64_t> want,
                          function_ref<bool(Type)> elemOk, StringRef elemDesc) {
  auto ref = storage.getAs<TensorRefAttr>(key);
  if (!ref) {
    return op.emitOpError() << "expects storage entry '" << key << "'";
  }
  if (!elemOk(ref.getType().getElementType())) {
    return op.emitOpError() << "expects '" << key << "' to be " << elemDesc
                            << ", got " << ref.getType().getElementType();
  }
  SmallVector<int64_t> full(prefix);
  llvm::append_range(full, want);
  return expectShape(op, Twine("stored '") + key + "'", ref.getEffectiveShape(),
                     full);
}

bool isI32(Type t) { return t.isInteger(32); }
bool isFloat(Type t) { return isa<FloatType>(t); }

} // namespace

LogicalResult WeightOp::verify() {
  RankedTensorType type = getTensorType();
  if (!type.hasStaticShape()) {
    return emitOpError("expects a static weight type");
  }
  DictionaryAttr storage = getStorage();
  if (storage.empty()) {
    return emitOpError("expects at least one storage entry");
  }

  int64_t experts = -1;
  for (NamedAttribute entry : storage) {
    auto ref = dyn_cast<TensorRefAttr>(entry.getValue());
    if (!ref) {
      return emitOpError() << "expects storage entry '"
                           << entry.getName().getValue()
                           << "' to be a #fdgraph.tensor";
    }
    if (!ref.isPerExpert()) {
      continue;
    }
    int64_t n = static_cast<int64_t>(ref.getFiles().size());
    if (experts != -1 && experts != n) {
      return emitOpError("expects every per-expert tensor to list the same "
                         "number of experts");
    }
    experts = n;
  }
  if (experts != -1 && (type.getRank() != 3 || type.getDimSize(0) != experts)) {
    return emitOpError() << "expects a per-expert weight to have type ["
                         << experts << ", N, K], got "
                         << shapeStr(type.getShape());
  }

  std::optional<QuantAttr> quant = getQuant();
  if (!quant) {
    if (storage.size() != 1 || !storage.get("weight")) {
      return emitOpError("expects an unquantized weight to store exactly "
                         "'weight'");
    }
    auto ref = storage.getAs<TensorRefAttr>("weight");
    if (ref.getType().getElementType() != type.getElementType()) {
      return emitOpError() << "expects stored 'weight' of element type "
                           << type.getElementType() << ", got "
                           << ref.getType().getElementType();
    }
    return expectShape(*this, "stored 'weight'", ref.getEffectiveShape(),
                       type.getShape());
  }

  if (type.getRank() != 2 && type.getRank() != 3) {
    return emitOpError(
        "expects a quantized weight of type [N, K] or [E, N, K]");
  }
  ArrayRef<int64_t> prefix = type.getShape().drop_back(2);
  int64_t n = type.getDimSize(type.getRank() - 2);
  int64_t k = type.getDimSize(type.getRank() - 1);
  int64_t pack = 32 / quant->getBits();
  int64_t group = quant->getGroupSize() == -1 ? k : quant->getGroupSize();
  if (k % group != 0) {
    return emitOpError() << "expects K (" << k << ") divisible by group size ("
                         << group << ")";
  }
  if (k % pack != 0) {
    return emitOpError() << "expects K (" << k << ") divisible by the " << pack
                         << " values packed per int32";
  }
  if (quant->getZeroPoints() && n % pack != 0) {
    return emitOpError() << "expects N (" << n << ") divisible by the " << pack
                         << " zero points packed per int32";
  }

  auto floatDesc = "a float";
  auto i32Desc = "i32";
  SmallVector<StringRef> allowed;
  if (quant->getScheme() == QuantScheme::compressed_tensors) {
    allowed = {"weight_packed", "weight_scale", "weight_zero_point",
               "weight_shape"};
    if (failed(checkStored(*this, storage, "weight_packed", prefix,
                           {n, k / pack}, isI32, i32Desc)) ||
        failed(checkStored(*this, storage, "weight_scale", prefix,
                           {n, k / group}, isFloat, floatDesc))) {
      return failure();
    }
    if (quant->getZeroPoints() &&
        failed(checkStored(*this, storage, "weight_zero_point", prefix,
                           {n / pack, k / group}, isI32, i32Desc))) {
      return failure();
    }
    if (!quant->getZeroPoints() && storage.get("weight_zero_point")) {
      return emitOpError("expects no 'weight_zero_point' without zero points");
    }
  } else {
    allowed = {"qweight", "scales", "qzeros"};
    if (failed(checkStored(*this, storage, "qweight", prefix, {k / pack, n},
                           isI32, i32Desc)) ||
        failed(checkStored(*this, storage, "scales", prefix, {k / group, n},
                           isFloat, floatDesc)) ||
        failed(checkStored(*this, storage, "qzeros", prefix,
                           {k / group, n / pack}, isI32, i32Desc))) {
      return failure();
    }
  }
  for (NamedAttribute entry : storage) {
    if (!llvm::is_contained(allowed, entry.getName().getValue())) {
      return emitOpError() << "expects no storage entry '"
                           << entry.getName().getValue() << "' for scheme "
                           << stringifyQuantScheme(quant->getScheme());
    }
  }

  StringRef scaleKey = quant->getScheme() == QuantScheme::compressed_tensors
                           ? "weight_scale"
                           : "scales";
  Type scaleType =
      storage.getAs<TensorRefAttr>(scaleKey).getType().getElementType();
  if (scaleType != type.getElementType()) {
    return emitOpError() << "expects the weight's element type to be the "
                            "scales' type "
                         << scaleType << ", got " << type.getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Dense ops
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verifySymbolUses(SymbolTableCollection &tables) {
  FailureOr<WeightOp> w =
      lookupWeight(*this, tables, getWeightAttr(), "weight");
  if (failed(w)) {
    return failure();
  }
  RankedTensorType wt = w->getTensorType();
  if (wt.getRank() != 2 || w->getQuant()) {
    return emitOpError("expects an unquantized [vocab, hidden] weight");
  }
  if (features(getResult()) != wt.getDimSize(1)) {
    return emitOpError() << "expects result features to equal the embedding "
                            "width "
                         << wt.getDimSize(1) << ", got "
                         << features(getResult());
  }
  if (!dimsAgree(getIds().getType().getDimSize(0), rows(getResult()))) {
    return emitOpError("expects one result row per token id");
  }
  return success();
}

LogicalResult RMSNormOp::verify() {
  if (getEps().convertToDouble() <= 0.0) {
    return emitOpError("expects a positive eps");
  }
  return success();
}

LogicalResult RMSNormOp::verifySymbolUses(SymbolTableCollection &tables) {
  return expectWeightShape(*this, tables, getWeightAttr(), "norm",
                           {features(getInput())});
}

/// linear and lm_head: a [N, K] weight, [T, K] in, [T, N] out, and the op's
/// quant equal to the weight's.
static LogicalResult verifyProjection(Operation *op,
                                      SymbolTableCollection &tables,
                                      FlatSymbolRefAttr weight, Value input,
                                      Value result, QuantAttr quant) {
  FailureOr<WeightOp> w = lookupWeight(op, tables, weight, "weight");
  if (failed(w)) {
    return failure();
  }
  RankedTensorType wt = w->getTensorType();
  if (wt.getRank() != 2) {
    return op->emitOpError()
           << "expects a 2-D [N, K] weight, got " << shapeStr(wt.getShape());
  }
  if (failed(expectFeatures(op, "input", input, wt.getDimSize(1))) ||
      failed(expectFeatures(op, "result", result, wt.getDimSize(0))) ||
      failed(expectSameRows(op, {input, result}))) {
    return failure();
  }
  if (quant != w->getQuantAttr()) {
    return op->emitOpError("expects quant to match the weight's quantization");
  }
  return success();
}

LogicalResult LinearOp::verifySymbolUses(SymbolTableCollection &tables) {
  return verifyProjection(*this, tables, getWeightAttr(), getInput(),
                          getResult(), getQuantAttr());
}

LogicalResult LMHeadOp::verifySymbolUses(SymbolTableCollection &tables) {
  return verifyProjection(*this, tables, getWeightAttr(), getInput(),
                          getResult(), getQuantAttr());
}

//===----------------------------------------------------------------------===//
// GatedDeltaNetOp
//===----------------------------------------------------------------------===//

LogicalResult GatedDeltaNetOp::verify() {
  int64_t hk = static_cast<int64_t>(getNumKHeads()),
          hv = static_cast<int64_t>(getNumVHeads()),
          dk = static_cast<int64_t>(getHeadKDim()),
          dv = static_cast<int64_t>(getHeadVDim());
  if (hk <= 0 || hv <= 0 || dk <= 0 || dv <= 0 ||
      static_cast<int64_t>(getConvKernelSize()) <= 0) {
    return emitOpError("expects positive head counts, head dims and conv "
                       "kernel size");
  }
  if (static_cast<int64_t>(getLayer()) < 0) {
    return emitOpError("expects a non-negative layer index");
  }
  if (hv % hk != 0) {
    return emitOpError() << "expects num_v_heads (" << hv
                         << ") to be a multiple of num_k_heads (" << hk << ")";
  }
  if (getNormEps().convertToDouble() <= 0.0) {
    return emitOpError("expects a positive norm_eps");
  }
  if (failed(expectFeatures(*this, "qkv", getQkv(), 2 * hk * dk + hv * dv)) ||
      failed(expectFeatures(*this, "z", getZ(), hv * dv)) ||
      failed(expectFeatures(*this, "b", getB(), hv)) ||
      failed(expectFeatures(*this, "a", getA(), hv)) ||
      failed(expectFeatures(*this, "result", getResult(), hv * dv))) {
    return failure();
  }
  return expectSameRows(*this, {getQkv(), getZ(), getB(), getA(), getResult()});
}

LogicalResult GatedDeltaNetOp::verifySymbolUses(SymbolTableCollection &tables) {
  int64_t hv = static_cast<int64_t>(getNumVHeads());
  int64_t channels = features(getQkv());
  FailureOr<WeightOp> conv =
      lookupWeight(*this, tables, getConvWeightAttr(), "conv_weight");
  if (failed(conv)) {
    return failure();
  }
  ArrayRef<int64_t> cs = conv->getTensorType().getShape();
  // Hugging Face stores the depthwise conv as [C, 1, K]; accept [C, K] too.
  SmallVector<int64_t> want = {channels, 1,
                               static_cast<int64_t>(getConvKernelSize())};
  if (cs.size() == 2) {
    want = {channels, static_cast<int64_t>(getConvKernelSize())};
  }
  if (failed(expectShape(*this, "conv_weight weight", cs, want))) {
    return failure();
  }
  if (failed(expectWeightShape(*this, tables, getALogAttr(), "a_log", {hv})) ||
      failed(
          expectWeightShape(*this, tables, getDtBiasAttr(), "dt_bias", {hv})) ||
      failed(expectWeightShape(*this, tables, getNormWeightAttr(),
                               "norm_weight",
                               {static_cast<int64_t>(getHeadVDim())}))) {
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GatedAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult GatedAttentionOp::verify() {
  int64_t hq = static_cast<int64_t>(getNumHeads()),
          hkv = static_cast<int64_t>(getNumKvHeads()),
          d = static_cast<int64_t>(getHeadDim());
  if (hq <= 0 || hkv <= 0 || d <= 0) {
    return emitOpError("expects positive head counts and head dim");
  }
  if (static_cast<int64_t>(getLayer()) < 0) {
    return emitOpError("expects a non-negative layer index");
  }
  if (hq % hkv != 0) {
    return emitOpError() << "expects num_heads (" << hq
                         << ") to be a multiple of num_kv_heads (" << hkv
                         << ")";
  }
  int64_t rot = static_cast<int64_t>(getRotaryDim());
  if (rot <= 0 || rot > d || rot % 2 != 0) {
    return emitOpError() << "expects an even rotary_dim in (0, head_dim], got "
                         << rot;
  }
  if (getRopeTheta().convertToDouble() <= 0.0) {
    return emitOpError("expects a positive rope_theta");
  }
  if (getNormEps().convertToDouble() <= 0.0) {
    return emitOpError("expects a positive norm_eps");
  }
  int64_t qWidth = hq * d * (getOutputGate() ? 2 : 1);
  if (failed(expectFeatures(*this, "q", getQ(), qWidth)) ||
      failed(expectFeatures(*this, "k", getK(), hkv * d)) ||
      failed(expectFeatures(*this, "v", getV(), hkv * d)) ||
      failed(expectFeatures(*this, "result", getResult(), hq * d))) {
    return failure();
  }
  return expectSameRows(*this, {getQ(), getK(), getV(), getResult()});
}

LogicalResult
GatedAttentionOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (failed(expectWeightShape(*this, tables, getQNormAttr(), "q_norm",
                               {static_cast<int64_t>(getHeadDim())})) ||
      failed(expectWeightShape(*this, tables, getKNormAttr(), "k_norm",
                               {static_cast<int64_t>(getHeadDim())}))) {
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  int64_t e = static_cast<int64_t>(getNumExperts()),
          k = static_cast<int64_t>(getTopK());
  if (e <= 0) {
    return emitOpError("expects a positive num_experts");
  }
  if (k <= 0 || k > e) {
    return emitOpError() << "expects top_k in [1, num_experts], got " << k;
  }
  bool split = getExpertsGate().has_value() || getExpertsUp().has_value();
  bool fused = getExpertsGateUp().has_value();
  if (split == fused || (split && !(getExpertsGate().has_value() &&
                                    getExpertsUp().has_value()))) {
    return emitOpError("expects either experts_gate and experts_up or "
                       "experts_gate_up");
  }
  int shared = getSharedGate().has_value() + getSharedUp().has_value() +
               getSharedDown().has_value();
  if (shared != 0 && shared != 3) {
    return emitOpError("expects shared_gate, shared_up and shared_down "
                       "together");
  }
  if (getSharedExpertGate() && shared == 0) {
    return emitOpError("expects a shared expert with shared_expert_gate");
  }
  return success();
}

LogicalResult MoEOp::verifySymbolUses(SymbolTableCollection &tables) {
  int64_t e = static_cast<int64_t>(getNumExperts());
  int64_t h = features(getInput());
  if (failed(expectWeightShape(*this, tables, getRouterAttr(), "router",
                               {e, h}))) {
    return failure();
  }
  FailureOr<WeightOp> down =
      lookupWeight(*this, tables, getExpertsDownAttr(), "experts_down");
  if (failed(down)) {
    return failure();
  }
  ArrayRef<int64_t> ds = down->getTensorType().getShape();
  if (ds.size() != 3) {
    return emitOpError() << "expects experts_down weight of shape [" << e
                         << ", " << h << ", I], got " << shapeStr(ds);
  }
  int64_t inter = ds[2];
  if (failed(expectShape(*this, "experts_down weight", ds, {e, h, inter}))) {
    return failure();
  }
  if (getExpertsGateUpAttr()) {
    if (failed(expectWeightShape(*this, tables, getExpertsGateUpAttr(),
                                 "experts_gate_up", {e, 2 * inter, h}))) {
      return failure();
    }
  } else if (failed(expectWeightShape(*this, tables, getExpertsGateAttr(),
                                      "experts_gate", {e, inter, h})) ||
             failed(expectWeightShape(*this, tables, getExpertsUpAttr(),
                                      "experts_up", {e, inter, h}))) {
    return failure();
  }
  if (getSharedDownAttr()) {
    FailureOr<WeightOp> sdown =
        lookupWeight(*this, tables, getSharedDownAttr(), "shared_down");
    if (failed(sdown)) {
      return failure();
    }
    ArrayRef<int64_t> ss = sdown->getTensorType().getShape();
    int64_t sInter = ss.size() == 2 ? ss[1] : -1;
    if (failed(expectShape(*this, "shared_down weight", ss, {h, sInter})) ||
        failed(expectWeightShape(*this, tables, getSharedGateAttr(),
                                 "shared_gate", {sInter, h})) ||
        failed(expectWeightShape(*this, tables, getSharedUpAttr(), "shared_up",
                                 {sInter, h}))) {
      return failure();
    }
  }
  if (getSharedExpertGateAttr() &&
      failed(expectWeightShape(*this, tables, getSharedExpertGateAttr(),
                               "shared_expert_gate", {1, h}))) {
    return failure();
  }
  return success();
}

#define GET_OP_CLASSES
#include "dialects/FDGraph/IR/FDGraphOps.cpp.inc"
