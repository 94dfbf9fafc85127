//===- LowerToKernels.cpp - fdgraph forward -> fdkernel decode step -------===//

#include "compiler/transforms/Passes.h"

#include "dialects/FDGraph/IR/FDGraphOps.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>

namespace fd::transforms {
#define GEN_PASS_DEF_LOWERTOKERNELSPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdg = fd::fdgraph;
namespace fdk = fd::fdkernel;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// A value of the forward function as it lives on the device.
struct ActBuffer {
  FlatSymbolRefAttr sym;
  bool isFloat = true; // float32, else bf16
  int64_t elements = 0;
};

/// The packed buffers of one weight in the w4 GEMV layout.
struct W4Buffers {
  FlatSymbolRefAttr qweight, scales, zeros; // zeros: @__null when symmetric
  int64_t group = 0;
  bool hasZeros = false;
};

class Lowering {
public:
  Lowering(ModuleOp module, fdk::Target target, int64_t maxContext,
           int64_t gdnMaxSplit, int64_t attentionMinChunk)
      : module_(module), b_(module.getContext()), target_(target),
        maxContext_(maxContext), gdnMaxSplit_(gdnMaxSplit),
        attentionMinChunk_(attentionMinChunk) {}

  LogicalResult run();

private:
  MLIRContext *ctx() { return module_.getContext(); }

  FlatSymbolRefAttr buffer(const std::string &name, fdk::BufferKind kind,
                           int64_t bytes, FlatSymbolRefAttr weight = {},
                           StringRef layout = {}) {
    auto it = buffers_.find(name);
    if (it != buffers_.end()) {
      return it->second;
    }
    OpBuilder::InsertionGuard g(b_);
    b_.setInsertionPoint(step_);
    fdk::BufferOp::create(
        b_, loc_, b_.getStringAttr(name), fdk::BufferKindAttr::get(ctx(), kind),
        b_.getI64IntegerAttr(roundUp(std::max<int64_t>(bytes, 1), 4)),
        b_.getI64IntegerAttr(0), weight,
        layout.empty() ? StringAttr() : b_.getStringAttr(layout));
    auto ref = FlatSymbolRefAttr::get(ctx(), name);
    buffers_[name] = ref;
    return ref;
  }

  ActBuffer act(StringRef what, int64_t elements, bool isFloat) {
    std::string name = "a" + std::to_string(counter_++) + "." + what.str();
    return ActBuffer{
        buffer(name, fdk::BufferKind::arena, elements * (isFloat ? 4 : 2)),
        isFloat, elements};
  }

  FlatSymbolRefAttr null() { return FlatSymbolRefAttr::get(ctx(), "__null"); }

  void launch(StringRef name, ArrayRef<NamedAttribute> params, int64_t gridX,
              int64_t gridY, int64_t block, ArrayRef<Attribute> ins,
              ArrayRef<Attribute> outs, ArrayRef<NamedAttribute> scalars) {
    fdk::LaunchOp::create(b_, loc_, b_.getStringAttr(name),
                          b_.getDictionaryAttr(params),
                          fdk::TargetAttr::get(ctx(), target_),
                          b_.getDenseI64ArrayAttr({gridX, gridY, 1}),
                          b_.getDenseI64ArrayAttr({block, 1, 1}),
                          b_.getArrayAttr(ins), b_.getArrayAttr(outs),
                          b_.getDictionaryAttr(scalars), b_.getArrayAttr({}));
  }
  NamedAttribute p(StringRef n, int64_t v) {
    return b_.getNamedAttr(n, b_.getI64IntegerAttr(v));
  }
  NamedAttribute pb(StringRef n, bool v) {
    return b_.getNamedAttr(n, b_.getBoolAttr(v));
  }
  NamedAttribute si(StringRef n, int64_t v) {
    return b_.getNamedAttr(n, b_.getI32IntegerAttr(static_cast<int32_t>(v)));
  }
  NamedAttribute sf(StringRef n, double v) {
    return b_.getNamedAttr(n, b_.getF32FloatAttr(static_cast<float>(v)));
  }

  fdg::WeightOp weightOp(FlatSymbolRefAttr sym) {
    return SymbolTable::lookupNearestSymbolFrom<fdg::WeightOp>(module_, sym);
  }
  int64_t numElements(fdg::WeightOp w) {
    return w.getTensorType().getNumElements();
  }

  /// A plain weight packed as bf16 or float32.
  FlatSymbolRefAttr plain(FlatSymbolRefAttr sym, bool asFloat) {
    fdg::WeightOp w = weightOp(sym);
    std::string name = "w." + sym.getValue().str() + (asFloat ? ".f32" : "");
    return buffer(name, fdk::BufferKind::weight,
                  numElements(w) * (asFloat ? 4 : 2), sym,
                  asFloat ? "f32" : "bf16");
  }

  FailureOr<W4Buffers> w4(FlatSymbolRefAttr sym, Operation *user) {
    fdg::WeightOp w = weightOp(sym);
    fdg::QuantAttr q = *w.getQuant();
    if (q.getBits() != 4) {
      return user->emitOpError() << "lowering supports 4-bit weights, " << sym
                                 << " has " << q.getBits() << " bits";
    }
    ArrayRef<int64_t> shape = w.getTensorType().getShape();
    int64_t k = shape.back();
    int64_t rows = numElements(w) / k; // N, or E*N for experts
    W4Buffers r;
    r.group = q.getGroupSize() == -1 ? k : q.getGroupSize();
    if (r.group % 32 != 0) {
      return user->emitOpError()
             << "lowering needs a group size multiple of 32, " << sym << " has "
             << r.group;
    }
    // Symmetric weights lose their zero points in the repack (all 8).
    r.hasZeros = !q.getSymmetric();
    std::string base = "w." + sym.getValue().str();
    r.qweight = buffer(base + ".qweight", fdk::BufferKind::weight, rows * k / 2,
                       sym, "w4.qweight");
    r.scales = buffer(base + ".scales", fdk::BufferKind::weight,
                      rows * (k / r.group) * 2, sym, "w4.scales");
    r.zeros = r.hasZeros ? buffer(base + ".zeros", fdk::BufferKind::weight,
                                  rows * (k / r.group), sym, "w4.zeros")
                         : null();
    return r;
  }

  /// y = x Wᵀ for one token; x bf16, or float for a bf16 weight.
  FailureOr<ActBuffer> gemv(Operation *op, FlatSymbolRefAttr weight,
                            const ActBuffer &x, StringRef what) {
    fdg::WeightOp w = weightOp(weight);
    if (x.isFloat && w.getQuant()) {
      return op->emitOpError("lowering expects a bf16 input for a 4-bit GEMV");
    }
    ArrayRef<int64_t> shape = w.getTensorType().getShape();
    int64_t n = shape[0], k = shape[1];
    ActBuffer y = act(what, n, /*isFloat=*/true);
    constexpr int64_t rows = 2, waves = 4;
    if (w.getQuant()) {
      FailureOr<W4Buffers> wb = w4(weight, op);
      if (failed(wb)) {
        return failure();
      }
      launch("gemv_w4a16",
             {p("ROWS", rows), p("LANES", 32), p("M", 1), p("WAVES", waves),
              p("GROUP", wb->group), pb("ZEROS", wb->hasZeros),
              pb("OUT_BF16", false), pb("ACCUM", false)},
             ceilDiv(n, rows * waves), 1, waves * 32,
             {wb->qweight, wb->scales, wb->zeros, x.sym}, {y.sym},
             {si("n", n), si("k", k)});
    } else {
      launch("gemv_bf16",
             {p("ROWS", rows), p("LANES", 32), p("M", 1), p("WAVES", waves),
              pb("OUT_BF16", false), pb("ACCUM", false),
              pb("X_F32", x.isFloat)},
             ceilDiv(n, rows * waves), 1, waves * 32,
             {plain(weight, false), x.sym}, {y.sym}, {si("n", n), si("k", k)});
    }
    return y;
  }

  LogicalResult lower(Operation &op);

  ModuleOp module_;
  OpBuilder b_;
  fdk::Target target_;
  int64_t maxContext_;
  int64_t gdnMaxSplit_;
  int64_t attentionMinChunk_;
  Location loc_ = UnknownLoc::get(module_.getContext());
  fdk::StepOp step_;
  llvm::StringMap<FlatSymbolRefAttr> buffers_;
  llvm::DenseMap<Value, ActBuffer> values_;
  FlatSymbolRefAttr token_, position_, step_counter_, nextToken_;
  int counter_ = 0;
};

LogicalResult Lowering::lower(Operation &op) {
  loc_ = op.getLoc();
  auto in = [&](unsigned i) { return values_.lookup(op.getOperand(i)); };
  if (auto e = dyn_cast<fdg::EmbedOp>(op)) {
    int64_t h = weightOp(e.getWeightAttr()).getTensorType().getDimSize(1);
    ActBuffer out = act("h", h, true);
    launch("embed", {p("THREADS", 256), pb("OUT_F32", true)}, 1, 1, 256,
           {plain(e.getWeightAttr(), false), token_}, {out.sym}, {si("h", h)});
    values_[e.getResult()] = out;
    return success();
  }
  if (auto n = dyn_cast<fdg::RMSNormOp>(op)) {
    ActBuffer x = in(0);
    // rms_norm's chunk sums: 8 values each, at most kRmsNormMaxD
    // (codegen-templates/elementwise.h) in local memory.
    constexpr int64_t kRmsNormMaxD = 16384;
    if (x.elements % 8 != 0 || x.elements > kRmsNormMaxD) {
      return op.emitOpError()
             << "lowering expects a normalised row of a multiple of 8 and at "
                "most "
             << kRmsNormMaxD << " values, got " << x.elements;
    }
    ActBuffer out = act("x", x.elements, false);
    launch("rms_norm",
           {p("THREADS", 256), pb("ZERO_CENTERED", n.getZeroCentered()),
            pb("IN_F32", x.isFloat), pb("OUT_F32", false)},
           1, 1, 256, {x.sym, plain(n.getWeightAttr(), false)}, {out.sym},
           {si("d", x.elements), sf("eps", n.getEps().convertToDouble())});
    values_[n.getResult()] = out;
    return success();
  }
  if (auto a = dyn_cast<fdg::AddOp>(op)) {
    // The residual stream is updated in place: the old value has no later use.
    ActBuffer h = in(0), y = in(1);
    if (!h.isFloat || !y.isFloat) {
      return op.emitOpError("lowering expects a float residual stream");
    }
    launch("add_residual", {p("THREADS", 256)}, ceilDiv(h.elements, 256), 1,
           256, {y.sym}, {h.sym}, {si("n", h.elements)});
    values_[a.getResult()] = h;
    return success();
  }
  if (auto l = dyn_cast<fdg::LinearOp>(op)) {
    FailureOr<ActBuffer> y = gemv(&op, l.getWeightAttr(), in(0), "y");
    if (failed(y)) {
      return failure();
    }
    values_[l.getResult()] = *y;
    return success();
  }
  if (auto g = dyn_cast<fdg::GatedDeltaNetOp>(op)) {
    int64_t layer = static_cast<int64_t>(g.getLayer());
    int64_t hk = static_cast<int64_t>(g.getNumKHeads()),
            hv = static_cast<int64_t>(g.getNumVHeads());
    int64_t dk = static_cast<int64_t>(g.getHeadKDim()),
            dv = static_cast<int64_t>(g.getHeadVDim());
    int64_t kernel = static_cast<int64_t>(g.getConvKernelSize());
    ActBuffer qkv = in(0);
    int64_t c = qkv.elements;
    std::string s = "s." + std::to_string(layer);
    FlatSymbolRefAttr conv =
        buffer(s + ".conv", fdk::BufferKind::state, (kernel - 1) * c * 4);
    FlatSymbolRefAttr rec =
        buffer(s + ".recurrent", fdk::BufferKind::state, hv * dk * dv * 4);
    ActBuffer mixed = act("mixed", c, true);
    launch("gdn_conv", {p("THREADS", 256)}, ceilDiv(c, 256), 1, 256,
           {qkv.sym, plain(g.getConvWeightAttr(), false)}, {conv, mixed.sym},
           {si("channels", c), si("kernelSize", kernel)});
    ActBuffer out = act("gdn", hv * dv, false);
    // gdn_decode: a thread per (column, row group), each holding its
    // ceil(dk / groups) state values in registers. With gdn-max-split > 1 a
    // head splits over up to that many blocks of whole waves of columns
    // (32 heads of 128 columns become 128 blocks, one per SM). On the H200
    // that made the kernel faster alone (stream order) but the step slower
    // with overlapped launches: the next launch's blocks found no free SM
    // to prefetch on (docs/performance.md), so the default is a block per
    // head. Split blocks take 8 row groups (16 rows each at dk = 128), whole
    // heads up to 4 within 512 threads (1024 would cap a thread at 64
    // registers and spill on sm_90).
    int64_t split = 1;
    for (int64_t s2 : {4, 2}) {
      if (s2 <= gdnMaxSplit_ && dv % (32 * s2) == 0) {
        split = s2;
        break;
      }
    }
    const int64_t cols = roundUp(dv / split, 32);
    if (cols > 512) {
      return op.emitOpError()
             << "lowering supports head_v_dim <= 512 in gdn_decode, got " << dv;
    }
    const int64_t rowGroups = std::min<int64_t>(split > 1 ? 8 : 4, 512 / cols);
    if (ceilDiv(dk, rowGroups) > 64) {
      return op.emitOpError()
             << "lowering supports ceil(head_k_dim / " << rowGroups
             << ") <= 64 state rows per thread in gdn_decode, got head_k_dim "
             << dk;
    }
    const int64_t threads = cols * rowGroups;
    // A split head's o columns and sums of squares for its last block, and
    // the finished blocks per head, state like attention's counts (zero at
    // the start, reset by each head's last block).
    FlatSymbolRefAttr partials = null(), done = null();
    if (split > 1) {
      partials = buffer("a.gdn.partials." + std::to_string(hv) + "x" +
                            std::to_string(dv) + "x" + std::to_string(split),
                        fdk::BufferKind::arena, hv * (dv + split) * 4);
      done = buffer("s.gdn.done." + std::to_string(hv), fdk::BufferKind::state,
                    hv * 4);
    }
    launch("gdn_decode",
           {p("THREADS", threads), p("MAX_DK", dk), p("RG", rowGroups),
            p("SPLIT", split)},
           hv * split, 1, threads,
           {mixed.sym, in(1).sym, in(2).sym, in(3).sym,
            plain(g.getALogAttr(), true), plain(g.getDtBiasAttr(), true),
            plain(g.getNormWeightAttr(), true)},
           {rec, out.sym, partials, done},
           {si("hk", hk), si("hv", hv), si("dk", dk), si("dv", dv),
            sf("eps", g.getNormEps().convertToDouble())});
    values_[g.getResult()] = out;
    return success();
  }
  if (auto a = dyn_cast<fdg::GatedAttentionOp>(op)) {
    int64_t layer = static_cast<int64_t>(a.getLayer());
    int64_t hq = static_cast<int64_t>(a.getNumHeads()),
            hkv = static_cast<int64_t>(a.getNumKvHeads());
    int64_t d = static_cast<int64_t>(a.getHeadDim());
    std::string s = "kv." + std::to_string(layer);
    FlatSymbolRefAttr kc =
        buffer(s + ".k", fdk::BufferKind::kv_cache, maxContext_ * hkv * d * 4);
    FlatSymbolRefAttr vc =
        buffer(s + ".v", fdk::BufferKind::kv_cache, maxContext_ * hkv * d * 4);
    // attention_decode keeps the q and o rows of GROUP query heads in
    // registers, ceil(d / 32) values per lane each: GROUP is the largest
    // divisor of the query heads per KV head with at most 32 such values
    // (about 128 registers with the K and V rows).
    const int64_t qPerKv = hq / hkv, perLane = ceilDiv(d, 32);
    if (perLane > 32) {
      return op.emitOpError()
             << "lowering supports head_dim <= 1024 in attention_decode, got "
             << d;
    }
    int64_t group = 1;
    for (int64_t g = 1; g <= qPerKv; ++g) {
      if (qPerKv % g == 0 && g * perLane <= 32) {
        group = g;
      }
    }
    // Splits over positions: enough blocks to stream a long context with
    // the whole device, chunks a multiple of the 8 waves (a position per
    // wave), at most 64 partials per head for the last block to merge.
    constexpr int64_t kAttnThreads = 256, kWaves = kAttnThreads / 32;
    const int64_t splits =
        std::clamp<int64_t>(ceilDiv(maxContext_, kWaves), 1, 64);
    const int64_t groups = hq / group;
    FlatSymbolRefAttr partials =
        buffer("a.attn.partials." + std::to_string(hq) + "x" +
                   std::to_string(splits) + "x" + std::to_string(d),
               fdk::BufferKind::arena, hq * splits * (d + 2) * 4);
    // Finished blocks per head group live across launches (the last block
    // resets them), so they are state: zero at the start and at every reset.
    FlatSymbolRefAttr done = buffer("s.attn.done." + std::to_string(groups),
                                    fdk::BufferKind::state, groups * 4);
    int64_t rotary = static_cast<int64_t>(a.getRotaryDim());
    double theta = a.getRopeTheta().convertToDouble(),
           eps = a.getNormEps().convertToDouble();
    bool zc = a.getQkNormZeroCentered();
    const int64_t appendWaves = std::min<int64_t>(hkv, 4);
    launch("kv_append", {p("THREADS", 32 * appendWaves), p("MAX_D", d)},
           ceilDiv(hkv, appendWaves), 1, 32 * appendWaves,
           {in(1).sym, in(2).sym, plain(a.getKNormAttr(), false), position_},
           {kc, vc},
           {si("zeroCentered", zc), sf("eps", eps), si("rotary", rotary),
            sf("theta", theta), si("hkv", hkv), si("d", d)});
    ActBuffer out = act("attn", hq * d, false);
    launch("attention_decode",
           {p("THREADS", kAttnThreads), p("D", d), p("GROUP", group),
            p("SPLITS", splits)},
           groups, splits, kAttnThreads,
           {in(0).sym, plain(a.getQNormAttr(), false), position_, kc, vc},
           {partials, done, out.sym},
           {si("zeroCentered", zc), sf("eps", eps), si("rotary", rotary),
            sf("theta", theta), si("hkv", hkv), si("qPerKv", qPerKv),
            si("outputGate", a.getOutputGate()),
            si("minChunk", attentionMinChunk_)});
    values_[a.getResult()] = out;
    return success();
  }
  if (auto m = dyn_cast<fdg::MoEOp>(op)) {
    ActBuffer x = in(0);
    if (x.isFloat) {
      return op.emitOpError("lowering expects a bf16 MoE input");
    }
    int64_t e = static_cast<int64_t>(m.getNumExperts()),
            topk = static_cast<int64_t>(m.getTopK());
    int64_t h = x.elements;
    if (m.getExpertsGateUpAttr() ||
        !weightOp(m.getExpertsGateAttr()).getQuant()) {
      return op.emitOpError(
          "lowering supports 4-bit per-expert weights only (bf16 or fused "
          "routed experts need an expert GEMV template that does not exist "
          "yet)");
    }
    FailureOr<ActBuffer> logits = gemv(&op, m.getRouterAttr(), x, "router");
    if (failed(logits)) {
      return failure();
    }
    FlatSymbolRefAttr ids = buffer("a" + std::to_string(counter_++) + ".ids",
                                   fdk::BufferKind::arena, topk * 4);
    FlatSymbolRefAttr wts =
        buffer("a" + std::to_string(counter_++) + ".weights",
               fdk::BufferKind::arena, topk * 4);
    launch("router_topk", {p("THREADS", 256)}, 1, 1, 256, {logits->sym},
           {ids, wts},
           {si("e", e), si("k", topk), si("renormalize", m.getNormTopkProb())});
    int64_t inter =
        weightOp(m.getExpertsDownAttr()).getTensorType().getDimSize(2);
    auto experts = [&](FlatSymbolRefAttr w, const ActBuffer &xin,
                       int64_t xStride, int64_t n, int64_t k,
                       StringRef what) -> FailureOr<ActBuffer> {
      FailureOr<W4Buffers> wb = w4(w, &op);
      if (failed(wb)) {
        return failure();
      }
      ActBuffer y = act(what, topk * n, true);
      launch("gemv_w4a16_experts",
             {p("ROWS", 2), p("LANES", 32), p("WAVES", 4),
              p("GROUP", wb->group), pb("ZEROS", wb->hasZeros),
              pb("OUT_BF16", false)},
             ceilDiv(n, 8), topk, 128,
             {wb->qweight, wb->scales, wb->zeros, ids, xin.sym}, {y.sym},
             {si("xSlotStride", xStride), si("n", n), si("k", k)});
      return y;
    };
    FailureOr<ActBuffer> gate =
        experts(m.getExpertsGateAttr(), x, 0, inter, h, "eg");
    FailureOr<ActBuffer> up =
        experts(m.getExpertsUpAttr(), x, 0, inter, h, "eu");
    if (failed(gate) || failed(up)) {
      return failure();
    }
    ActBuffer actv = act("eact", topk * inter, false);
    launch("silu_mul", {p("THREADS", 256)}, ceilDiv(topk * inter, 256), 1, 256,
           {gate->sym, up->sym}, {actv.sym}, {si("n", topk * inter)});
    FailureOr<ActBuffer> down =
        experts(m.getExpertsDownAttr(), actv, inter, h, inter, "ed");
    if (failed(down)) {
      return failure();
    }
    FlatSymbolRefAttr shared = null(), sharedGate = null();
    if (m.getSharedDownAttr()) {
      FailureOr<ActBuffer> sg = gemv(&op, m.getSharedGateAttr(), x, "sg");
      FailureOr<ActBuffer> su = gemv(&op, m.getSharedUpAttr(), x, "su");
      if (failed(sg) || failed(su)) {
        return failure();
      }
      ActBuffer sact = act("sact", sg->elements, false);
      launch("silu_mul", {p("THREADS", 256)}, ceilDiv(sg->elements, 256), 1,
             256, {sg->sym, su->sym}, {sact.sym}, {si("n", sg->elements)});
      FailureOr<ActBuffer> sd = gemv(&op, m.getSharedDownAttr(), sact, "sd");
      if (failed(sd)) {
        return failure();
      }
      shared = sd->sym;
      if (m.getSharedExpertGateAttr()) {
        FailureOr<ActBuffer> g =
            gemv(&op, m.getSharedExpertGateAttr(), x, "seg");
        if (failed(g)) {
          return failure();
        }
        sharedGate = g->sym;
      }
    }
    ActBuffer out = act("moe", h, true);
    launch("moe_combine", {p("THREADS", 256)}, ceilDiv(h, 256), 1, 256,
           {null(), down->sym, wts, shared, sharedGate}, {out.sym},
           {si("slots", topk), si("d", h)});
    values_[m.getResult()] = out;
    return success();
  }
  if (auto l = dyn_cast<fdg::LMHeadOp>(op)) {
    FailureOr<ActBuffer> y = gemv(&op, l.getWeightAttr(), in(0), "logits");
    if (failed(y)) {
      return failure();
    }
    values_[l.getResult()] = *y;
    return success();
  }
  if (auto s = dyn_cast<fdg::SampleOp>(op)) {
    ActBuffer logits = in(0);
    // Sampling parameters are scalars of the plan; the runtime patches them
    // (and re-captures) when a request changes them.
    launch("sample_token", {p("THREADS", 1024)}, 1, 1, 1024,
           {logits.sym, step_counter_}, {nextToken_},
           {si("n", logits.elements), sf("temperature", 0.0), si("topK", 0),
            sf("topP", 1.0), b_.getNamedAttr("seed", b_.getI64IntegerAttr(0))});
    return success();
  }
  if (isa<func::ReturnOp>(op)) {
    return success();
  }
  return op.emitOpError("has no kernel lowering");
}

LogicalResult Lowering::run() {
  auto fn = module_.lookupSymbol<func::FuncOp>("forward");
  if (!fn) {
    return module_.emitError("expects a func.func @forward to lower");
  }
  if (!module_.getOps<fdk::StepOp>().empty()) {
    return module_.emitError(
        "already lowered: the module has an fdkernel.step");
  }
  // The runtime refuses positions past what the KV cache holds.
  module_->setAttr("fdkernel.max_context", b_.getI64IntegerAttr(maxContext_));
  b_.setInsertionPointToEnd(module_.getBody());
  step_ = fdk::StepOp::create(b_, fn.getLoc(), b_.getStringAttr("decode"));
  Block *body = new Block();
  step_.getBody().push_back(body);
  token_ = buffer("io.token", fdk::BufferKind::io, 4);
  position_ = buffer("io.position", fdk::BufferKind::io, 4);
  step_counter_ = buffer("io.step", fdk::BufferKind::io, 4);
  nextToken_ = buffer("io.next_token", fdk::BufferKind::io, 4);
  b_.setInsertionPointToEnd(body);
  for (Operation &op : fn.getBody().front()) {
    if (failed(lower(op))) {
      return failure();
    }
  }
  return success();
}

struct LowerToKernelsPass
    : fd::transforms::impl::LowerToKernelsPassBase<LowerToKernelsPass> {
  using LowerToKernelsPassBase::LowerToKernelsPassBase;
  void runOnOperation() override {
    std::optional<fdk::Target> t = fdk::symbolizeTarget(target);
    if (!t) {
      getOperation().emitError() << "unknown target '" << target
                                 << "' (known: gfx1151, gfx1100, sm_90)";
      return signalPassFailure();
    }
    if (maxContext <= 0) {
      getOperation().emitError("max-context must be positive");
      return signalPassFailure();
    }
    if (gdnMaxSplit != 1 && gdnMaxSplit != 2 && gdnMaxSplit != 4) {
      getOperation().emitError() << "gdn-max-split must be 1, 2 or 4, got "
                                 << static_cast<int64_t>(gdnMaxSplit);
      return signalPassFailure();
    }
    if (attentionMinChunk < 1 || attentionMinChunk > maxContext) {
      getOperation().emitError()
          << "attention-min-chunk must be in [1, max-context], got "
          << static_cast<int64_t>(attentionMinChunk);
      return signalPassFailure();
    }
    if (failed(Lowering(getOperation(), *t, maxContext, gdnMaxSplit,
                        attentionMinChunk)
                   .run())) {
      signalPassFailure();
    }
  }
};

} // namespace
