//===- FuseRouter.cpp - router GEMV, softmax and top-k in one launch ------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEROUTERPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

/// The most experts the fused template takes (kMaxFusedExperts in
/// codegen-templates/moe.h: its top-k keeps the logits in registers).
constexpr int64_t kMaxFusedExperts = 512;

struct FuseRouterPass
    : fd::transforms::impl::FuseRouterPassBase<FuseRouterPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "router_topk") {
          fuse(module, step, launches, i);
        }
      }
    }
  }

  void fuse(ModuleOp module, fdk::StepOp step, fdt::LaunchList &launches,
            size_t i) {
    fdk::LaunchOp topk = launches[i];
    if (topk.getIns().size() != 1 || topk.getOuts().size() != 2) {
      return;
    }
    StringRef logits = fdt::bufferName(topk.getIns()[0]);
    int64_t j = fdt::lastWriter(launches, i, logits);
    if (j < 0) {
      return;
    }
    fdk::LaunchOp gemv = launches[j];
    const int64_t e = fdt::intScalar(topk, "e");
    if (!fdt::isPlainGemv(gemv) ||
        fdt::bufferName(gemv.getOuts()[0]) != logits ||
        fdt::intScalar(gemv, "n") != e || e > kMaxFusedExperts ||
        !fdt::onlyUsedBy(launches, logits, {j, static_cast<int64_t>(i)})) {
      return;
    }
    // The fused launch runs at router_topk's place: nothing in between may
    // write what the GEMV reads or touch the ids and weights.
    if (fdt::inputsWrittenBetween(launches, j, i, gemv)) {
      return;
    }
    for (int64_t k = j + 1; k < static_cast<int64_t>(i); ++k) {
      for (Attribute out : topk.getOuts()) {
        if (launches[k] && fdt::touches(launches[k], fdt::bufferName(out))) {
          return;
        }
      }
    }

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    // The count of finished blocks lives across launches (the last block
    // resets it), so it is state: zero at the start and at every reset.
    std::string doneName =
        ("s." + fdt::bufferName(topk.getOuts()[0]) + ".done").str();
    b.setInsertionPoint(step);
    fdk::BufferOp::create(
        b, topk.getLoc(), b.getStringAttr(doneName),
        fdk::BufferKindAttr::get(ctx, fdk::BufferKind::state),
        b.getI64IntegerAttr(4), b.getI64IntegerAttr(0), FlatSymbolRefAttr(),
        StringAttr());
    // x, then the router's weights as a segment.
    SmallVector<Attribute> ins = {gemv.getIns()[gemv.getIns().size() - 1]};
    NamedAttrList params;
    fdt::asSegment(gemv, b, ins, params);
    SmallVector<Attribute> outs = {gemv.getOuts()[0], topk.getOuts()[0],
                                   topk.getOuts()[1],
                                   FlatSymbolRefAttr::get(ctx, doneName)};
    NamedAttrList scalars;
    scalars.set("k", fdt::scalarAttr(gemv, "k"));
    scalars.set("e", fdt::scalarAttr(topk, "e"));
    scalars.set("topk", fdt::scalarAttr(topk, "k"));
    scalars.set("renormalize", fdt::scalarAttr(topk, "renormalize"));
    b.setInsertionPoint(topk);
    fdk::LaunchOp::create(
        b, FusedLoc::get(ctx, {gemv.getLoc(), topk.getLoc()}),
        b.getStringAttr("router_gemv_topk"), params.getDictionary(ctx),
        gemv.getTargetAttr(), gemv.getGridAttr(), gemv.getBlockAttr(),
        b.getArrayAttr(ins), b.getArrayAttr(outs), scalars.getDictionary(ctx),
        b.getArrayAttr(
            {fdk::EpilogueAttr::get(ctx, fdk::Epilogue::softmax_topk)}));
    for (int64_t k : {j, static_cast<int64_t>(i)}) {
      launches[k].erase();
      launches[k] = nullptr;
    }
  }
};

} // namespace
