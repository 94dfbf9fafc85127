//===- QuantizeLmHead.cpp - int8 lm_head chosen at compile time -----------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDGraph/IR/FDGraphOps.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"

namespace fd::transforms {
#define GEN_PASS_DEF_QUANTIZELMHEADPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdg = fd::fdgraph;

namespace {

using fd::transforms::boolParam;
using fd::transforms::bufferName;
using fd::transforms::intParam;
using fd::transforms::names;

struct QuantizeLmHeadPass
    : fd::transforms::impl::QuantizeLmHeadPassBase<QuantizeLmHeadPass> {
  using QuantizeLmHeadPassBase::QuantizeLmHeadPassBase;
  void runOnOperation() override;
};

void QuantizeLmHeadPass::runOnOperation() {
  ModuleOp module = getOperation();
  StringRef m = mode;
  if (m == "none") {
    return;
  }
  // "int8" is one scale per output row (the group is all of K).
  int64_t group = 0;
  if (m != "int8" && (!m.consume_front("int8:g") || m.getAsInteger(10, group) ||
                      group <= 0 || group % 16)) {
    module.emitError() << "--lm-head-quant '" << mode
                       << "': expected none, int8, int8:g32, int8:g64 or "
                          "int8:g128 (a group that is a multiple of 16)";
    return signalPassFailure();
  }
  llvm::StringSet<> heads;
  module.walk([&](fdg::LMHeadOp op) { heads.insert(op.getWeight()); });
  llvm::StringMap<fdk::BufferOp> buffers;
  module.walk([&](fdk::BufferOp b) { buffers[b.getSymName()] = b; });

  OpBuilder b(module.getContext());
  std::vector<fdk::LaunchOp> launches;
  module.walk([&](fdk::LaunchOp l) { launches.push_back(l); });
  int quantized = 0;
  for (fdk::LaunchOp l : launches) {
    if (l.getTemplateName() != "gemv_bf16" || l.getIns().empty()) {
      continue;
    }
    auto wb = buffers.find(bufferName(l.getIns()[0]));
    if (wb == buffers.end() || !wb->second.getWeight() ||
        !heads.contains(*wb->second.getWeight())) {
      continue;
    }
    fdk::BufferOp w = wb->second;
    if (boolParam(l, "X_F32") || boolParam(l, "ACCUM")) {
      l.emitError() << "fd-quantize-lm-head: the lm_head GEMV reads float "
                       "activations or accumulates; gemv_w8a16 does neither";
      return signalPassFailure();
    }
    auto nAttr = l.getScalars().getAs<IntegerAttr>("n");
    auto kAttr = l.getScalars().getAs<IntegerAttr>("k");
    if (!nAttr || !kAttr) {
      l.emitError() << "fd-quantize-lm-head: the lm_head GEMV lacks n or k";
      return signalPassFailure();
    }
    const int64_t n = nAttr.getInt(), k = kAttr.getInt();
    const int64_t g = group ? group : k;
    if (k % 16 || k % g) {
      l.emitError() << "fd-quantize-lm-head: K=" << k
                    << " is not a multiple of 16 and of the group " << g;
      return signalPassFailure();
    }
    // The int8 codes and the scales, both packed from the same bf16 weight.
    b.setInsertionPoint(w);
    auto makeBuffer = [&](StringRef suffix, int64_t bytes, StringRef layout) {
      std::string name = (w.getSymName() + suffix).str();
      fdk::BufferOp::create(
          b, w.getLoc(), b.getStringAttr(name), w.getKindAttr(),
          b.getI64IntegerAttr((bytes + 3) / 4 * 4), b.getI64IntegerAttr(0),
          w.getWeightAttr(), b.getStringAttr(layout));
      return FlatSymbolRefAttr::get(b.getContext(), name);
    };
    FlatSymbolRefAttr q = makeBuffer(".q8", n * k, "w8.qweight");
    // The group is in the layout: packing and the CPU backend read it there.
    FlatSymbolRefAttr s = makeBuffer(".q8scales", n * (k / g) * 2,
                                     ("w8.scales.g" + Twine(g)).str());

    NamedAttrList params;
    params.set("ROWS", b.getI64IntegerAttr(intParam(l, "ROWS", 2)));
    params.set("LANES", b.getI64IntegerAttr(intParam(l, "LANES", 32)));
    params.set("M", b.getI64IntegerAttr(intParam(l, "M", 1)));
    params.set("WAVES", b.getI64IntegerAttr(intParam(l, "WAVES", 4)));
    params.set("GROUP", b.getI64IntegerAttr(g));
    params.set("OUT_BF16", b.getBoolAttr(boolParam(l, "OUT_BF16")));
    b.setInsertionPoint(l);
    SmallVector<Attribute> ins{q, s};
    ins.append(l.getIns().begin() + 1, l.getIns().end());
    fdk::LaunchOp::create(b, l.getLoc(), b.getStringAttr("gemv_w8a16"),
                          params.getDictionary(b.getContext()),
                          l.getTargetAttr(), l.getGridAttr(), l.getBlockAttr(),
                          b.getArrayAttr(ins), l.getOuts(), l.getScalars(),
                          l.getEpilogues());
    l.erase();
    ++quantized;
    // A tied embedding still reads the bf16 buffer; the CPU backend finds
    // weights by name, so one weight in two layouts would be ambiguous.
    bool used = false;
    module.walk([&](fdk::LaunchOp other) {
      used |= names(other.getIns(), w.getSymName()) ||
              names(other.getOuts(), w.getSymName());
    });
    if (used) {
      module.emitError() << "fd-quantize-lm-head: the lm_head weight @"
                         << *w.getWeight()
                         << " is also read by another launch (tied "
                            "embeddings); --lm-head-quant needs an untied "
                            "lm_head";
      return signalPassFailure();
    }
    w.erase();
  }
  if (!quantized) {
    module.emitError() << "fd-quantize-lm-head: no bf16 lm_head GEMV to "
                          "quantize (is the lm_head already quantized?)";
    return signalPassFailure();
  }
}

} // namespace
