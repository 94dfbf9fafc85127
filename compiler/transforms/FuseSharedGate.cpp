//===- FuseSharedGate.cpp - the shared expert's gate into its epilogue ----===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSESHAREDGATEPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

struct FuseSharedGatePass
    : fd::transforms::impl::FuseSharedGatePassBase<FuseSharedGatePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "moe_combine") {
          fuse(module, launches, i);
        }
      }
    }
  }

  /// moe_combine's inputs: base, experts, weights, shared, sharedGate.
  void fuse(ModuleOp module, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp combine = launches[i];
    ArrayAttr ci = combine.getIns();
    if (ci.size() != 5 || fdt::isNullRef(ci[3]) || fdt::isNullRef(ci[4])) {
      return;
    }
    StringRef shared = fdt::bufferName(ci[3]), gate = fdt::bufferName(ci[4]);
    int64_t ps = fdt::lastWriter(launches, i, shared),
            pg = fdt::lastWriter(launches, i, gate);
    if (ps < 0 || pg < 0) {
      return;
    }
    fdk::LaunchOp down = launches[ps], gateDot = launches[pg];
    // The gate: a bf16 GEMV of one row (the M = N = 1 dot product).
    if (!fdt::isPlainGemv(down) || !fdt::isPlainGemv(gateDot) ||
        gateDot.getTemplateName() != "gemv_bf16" ||
        fdt::intScalar(gateDot, "n") != 1 ||
        fdt::intScalar(gateDot, "k") % 8 != 0 ||
        fdt::bufferName(down.getOuts()[0]) != shared ||
        fdt::bufferName(gateDot.getOuts()[0]) != gate) {
      return;
    }
    const int64_t self = static_cast<int64_t>(i);
    if (!fdt::onlyUsedBy(launches, shared, {ps, self}) ||
        !fdt::onlyUsedBy(launches, gate, {pg, self})) {
      return;
    }
    // The gate's dot moves to the down projection's place.
    if (fdt::inputsWrittenBetween(launches, pg, ps, gateDot)) {
      return;
    }

    MLIRContext *ctx = module.getContext();
    OpBuilder b(down);
    ArrayAttr gi = gateDot.getIns();
    Attribute null = FlatSymbolRefAttr::get(ctx, "__null");
    // x, the down projection's weights as a segment, the gate's w and x.
    SmallVector<Attribute> ins = {down.getIns()[down.getIns().size() - 1]};
    NamedAttrList params;
    fdt::asSegment(down, b, ins, params);
    ins.append({gi[0], gi[1]});
    NamedAttrList scalars;
    scalars.set("k", fdt::scalarAttr(down, "k"));
    scalars.set("n", fdt::scalarAttr(down, "n"));
    scalars.set("gk", fdt::scalarAttr(gateDot, "k"));
    fdk::LaunchOp::create(
        b, FusedLoc::get(ctx, {down.getLoc(), gateDot.getLoc()}),
        b.getStringAttr("gemv_gated"), params.getDictionary(ctx),
        down.getTargetAttr(), down.getGridAttr(), down.getBlockAttr(),
        b.getArrayAttr(ins), down.getOuts(), scalars.getDictionary(ctx),
        b.getArrayAttr(
            {fdk::EpilogueAttr::get(ctx, fdk::Epilogue::sigmoid_gate_mul)}));
    SmallVector<Attribute> newIns(ci.begin(), ci.end());
    newIns[4] = null; // the shared output arrives gated
    combine.setInsAttr(b.getArrayAttr(newIns));
    for (int64_t k : {ps, pg}) {
      launches[k].erase();
      launches[k] = nullptr;
    }
    fdt::eraseArenaBuffer(module, gate);
  }
};

} // namespace
