//===- FuseTopkExperts.cpp - the router's top-k in the experts' launch ----===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSETOPKEXPERTSPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

/// The most top-k slots the experts' launch takes its own ids for
/// (kMaxRouteSlots in codegen-templates/moe.h: shared-memory slots).
constexpr int64_t kMaxRouteSlots = 32;
/// The most logits its top-k takes (kMaxFusedExperts, moe.h).
constexpr int64_t kMaxFusedExperts = 512;
/// router_gemv_topk(_glu)'s outs: logits, ids, weights, done, ...
constexpr size_t kLogits = 0, kIds = 1, kWeights = 2, kDone = 3;
/// gemv_w4a16_experts_glu's ins: gate and up (w, scales, zeros), ids, x.
constexpr size_t kExpertIds = 6, kExpertIns = 8;

struct FuseTopkExpertsPass
    : fd::transforms::impl::FuseTopkExpertsPassBase<FuseTopkExpertsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        StringRef t = launches[i].getTemplateName();
        if ((t == "router_gemv_topk" || t == "router_gemv_topk_glu") &&
            fdt::intParam(launches[i], "LOGITS_ONLY", 0) == 0) {
          fuse(module, launches, i);
        }
      }
    }
  }

  /// The first launch after `i` that touches the router's ids, or -1.
  static int64_t firstUser(fdt::LaunchList &launches, size_t i,
                           StringRef ids) {
    for (size_t j = i + 1; j < launches.size(); ++j) {
      if (launches[j] && fdt::touches(launches[j], ids)) {
        return static_cast<int64_t>(j);
      }
    }
    return -1;
  }

  void fuse(ModuleOp module, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp router = launches[i];
    ArrayAttr outs = router.getOuts();
    if (outs.size() <= kDone || fdt::isNullRef(outs[kIds]) ||
        fdt::isNullRef(outs[kWeights])) {
      return;
    }
    StringRef logits = fdt::bufferName(outs[kLogits]),
              ids = fdt::bufferName(outs[kIds]),
              weights = fdt::bufferName(outs[kWeights]),
              done = fdt::bufferName(outs[kDone]);
    const int64_t topk = fdt::intScalar(router, "topk");
    const int64_t j = firstUser(launches, i, ids);
    if (j < 0 || topk < 1 || topk > kMaxRouteSlots ||
        fdt::intScalar(router, "e") < 1 ||
        fdt::intScalar(router, "e") > kMaxFusedExperts) {
      return;
    }
    fdk::LaunchOp experts = launches[j];
    ArrayAttr ins = experts.getIns();
    if (experts.getTemplateName() != "gemv_w4a16_experts_glu" ||
        ins.size() != kExpertIns || fdt::bufferName(ins[kExpertIds]) != ids ||
        fdt::names(experts.getOuts(), ids) ||
        fdt::intParam(experts, "ROUTE", 0) != 0 ||
        experts.getGrid()[1] != topk) {
      return;
    }
    // The ids and weights are now written at the experts' place and the
    // logits read there: nothing in between may read the weights or write
    // the logits, and the experts' launch itself must leave the logits
    // alone.
    for (int64_t k = static_cast<int64_t>(i) + 1; k < j; ++k) {
      fdk::LaunchOp l = launches[k];
      if (l && (fdt::touches(l, weights) || fdt::names(l.getOuts(), logits))) {
        return;
      }
    }
    if (fdt::touches(experts, weights) ||
        fdt::names(experts.getOuts(), logits)) {
      return;
    }

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    Attribute null = FlatSymbolRefAttr::get(ctx, "__null");
    // The router: the logits alone.
    SmallVector<Attribute> routerOuts(outs.begin(), outs.end());
    routerOuts[kIds] = routerOuts[kWeights] = routerOuts[kDone] = null;
    NamedAttrList routerParams(router.getParams());
    routerParams.set("LOGITS_ONLY", b.getI64IntegerAttr(1));
    SmallVector<Attribute> routerEpilogues, expertEpilogues;
    for (Attribute e : router.getEpilogues()) {
      auto epi = cast<fdk::EpilogueAttr>(e);
      (epi.getValue() == fdk::Epilogue::softmax_topk ? expertEpilogues
                                                     : routerEpilogues)
          .push_back(e);
    }
    router.setParamsAttr(routerParams.getDictionary(ctx));
    router.setOutsAttr(b.getArrayAttr(routerOuts));
    router.setEpiloguesAttr(b.getArrayAttr(routerEpilogues));
    // The experts: the top-k from the logits, the ids and weights out.
    SmallVector<Attribute> expertIns(ins.begin(), ins.end());
    expertIns[kExpertIds] = null;
    expertIns.push_back(outs[kLogits]);
    SmallVector<Attribute> expertOuts(experts.getOuts().begin(),
                                      experts.getOuts().end());
    expertOuts.append({outs[kIds], outs[kWeights]});
    NamedAttrList expertParams(experts.getParams());
    // The logits each lane of the top-k's wave holds.
    const int64_t e = fdt::intScalar(router, "e");
    expertParams.set("ROUTE", b.getI64IntegerAttr((e + 31) / 32));
    NamedAttrList scalars(experts.getScalars());
    scalars.set("e", fdt::scalarAttr(router, "e"));
    scalars.set("topk", fdt::scalarAttr(router, "topk"));
    scalars.set("renormalize", fdt::scalarAttr(router, "renormalize"));
    expertEpilogues.append(experts.getEpilogues().begin(),
                           experts.getEpilogues().end());
    experts.setParamsAttr(expertParams.getDictionary(ctx));
    experts.setInsAttr(b.getArrayAttr(expertIns));
    experts.setOutsAttr(b.getArrayAttr(expertOuts));
    experts.setScalarsAttr(scalars.getDictionary(ctx));
    experts.setEpiloguesAttr(b.getArrayAttr(expertEpilogues));
    experts->setLoc(FusedLoc::get(ctx, {experts.getLoc(), router.getLoc()}));
    // The block count has no user left.
    if (!fdt::isNullRef(outs[kDone]) &&
        fdt::onlyUsedBy(launches, done, {})) {
      if (auto op = SymbolTable::lookupNearestSymbolFrom<fdk::BufferOp>(
              module, StringAttr::get(ctx, done))) {
        op.erase();
      }
    }
  }
};

} // namespace
