//===- FuseMoeCombine.cpp - expert down projections and their sum in one --===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEMOECOMBINEPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

struct FuseMoeCombinePass
    : fd::transforms::impl::FuseMoeCombinePassBase<FuseMoeCombinePass> {
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

  /// Whether `l` computes the shared expert's down projection in a form
  /// the fused template takes: a plain GEMV, or gemv_gated (its gate
  /// moves along).
  static bool sharedForm(fdk::LaunchOp l) {
    return fdt::isPlainGemv(l) || l.getTemplateName() == "gemv_gated";
  }

  /// moe_combine's inputs: base, experts, weights, shared, sharedGate.
  void fuse(ModuleOp module, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp combine = launches[i];
    ArrayAttr ci = combine.getIns();
    if (ci.size() != 5 || combine.getOuts().size() != 1) {
      return;
    }
    const int64_t self = static_cast<int64_t>(i);
    const int64_t d = fdt::intScalar(combine, "d"),
                  slots = fdt::intScalar(combine, "slots");
    StringRef experts = fdt::bufferName(ci[1]);
    int64_t pe = fdt::lastWriter(launches, i, experts);
    if (pe < 0) {
      return;
    }
    fdk::LaunchOp down = launches[pe];
    // The routed experts' down projection: one x row per slot, every slot
    // of the combine, float rows of d.
    if (down.getTemplateName() != "gemv_w4a16_experts" ||
        down.getOuts().size() != 1 || fdt::boolParam(down, "OUT_BF16") ||
        fdt::bufferName(down.getOuts()[0]) != experts ||
        fdt::intScalar(down, "xSlotStride") != fdt::intScalar(down, "k") ||
        down.getGrid()[1] != slots || fdt::intScalar(down, "n") != d ||
        !fdt::onlyUsedBy(launches, experts, {pe, self}) ||
        fdt::inputsWrittenBetween(launches, pe, self, down)) {
      return;
    }
    int64_t ps = -1;
    fdk::LaunchOp shared;
    if (!fdt::isNullRef(ci[3])) {
      ps = fdt::lastWriter(launches, i, fdt::bufferName(ci[3]));
      if (ps < 0) {
        return;
      }
      shared = launches[ps];
      const bool w4 = shared.getTemplateName() == "gemv_w4a16" ||
                      fdt::intParam(shared, "KIND") == 1;
      if (!sharedForm(shared) ||
          fdt::bufferName(shared.getOuts()[0]) != fdt::bufferName(ci[3]) ||
          fdt::intScalar(shared, "n") != d ||
          !fdt::onlyUsedBy(launches, fdt::bufferName(ci[3]), {ps, self}) ||
          fdt::inputsWrittenBetween(launches, ps, self, shared)) {
        return;
      }
      // A w4 shared expert shares the routed experts' packing parameters.
      if (w4 && (fdt::paramAttr(shared, "GROUP") !=
                     fdt::paramAttr(down, "GROUP") ||
                 fdt::paramAttr(shared, "ZEROS") !=
                     fdt::paramAttr(down, "ZEROS"))) {
        return;
      }
    }

    MLIRContext *ctx = module.getContext();
    OpBuilder b(combine);
    Attribute null = FlatSymbolRefAttr::get(ctx, "__null");
    ArrayAttr di = down.getIns(); // qweight, scales, zeros, ids, x
    SmallVector<Attribute> ins = {ci[0], di[0], di[1], di[2], di[3], ci[2],
                                  di[4]};
    int64_t sharedKind = 0, sharedK = 0, gateK = 0;
    Attribute gateLogit = ci[4], gateW = null, gateX = null;
    SmallVector<Attribute> epilogues = {
        fdk::EpilogueAttr::get(ctx, fdk::Epilogue::expert_weighted_sum)};
    if (shared) {
      ArrayAttr si = shared.getIns();
      sharedK = fdt::intScalar(shared, "k");
      if (shared.getTemplateName() == "gemv_gated") {
        // x, w, scales, zeros, gateW, gateX
        sharedKind = fdt::intParam(shared, "KIND");
        ins.append({si[1], si[2], si[3], si[0]});
        gateW = si[4];
        gateX = si[5];
        gateK = fdt::intScalar(shared, "gk");
        epilogues.push_back(
            fdk::EpilogueAttr::get(ctx, fdk::Epilogue::sigmoid_gate_mul));
      } else if (shared.getTemplateName() == "gemv_w4a16") {
        sharedKind = 1;
        ins.append({si[0], si[1], si[2], si[3]});
      } else {
        sharedKind = 2;
        ins.append({si[0], null, null, si[1]});
      }
    } else {
      ins.append({null, null, null, null});
    }
    ins.append({gateLogit, gateW, gateX});
    epilogues.append(combine.getEpilogues().begin(),
                     combine.getEpilogues().end());

    NamedAttrList params;
    for (StringRef p : {"ROWS", "LANES", "WAVES", "GROUP", "ZEROS"}) {
      params.set(p, fdt::paramAttr(down, p));
    }
    params.set("SHARED", b.getI64IntegerAttr(sharedKind));
    // A block's waves split the experts over the same rows.
    const int64_t rowsPerBlock =
        fdt::intParam(down, "ROWS", 1) * (32 / fdt::intParam(down, "LANES", 32));
    NamedAttrList scalars;
    scalars.set("slots", b.getI32IntegerAttr(static_cast<int32_t>(slots)));
    scalars.set("k", fdt::scalarAttr(down, "k"));
    scalars.set("sharedK", b.getI32IntegerAttr(static_cast<int32_t>(sharedK)));
    scalars.set("gateK", b.getI32IntegerAttr(static_cast<int32_t>(gateK)));
    scalars.set("n", fdt::scalarAttr(down, "n"));
    SmallVector<Location> locs = {down.getLoc(), combine.getLoc()};
    if (shared) {
      locs.push_back(shared.getLoc());
    }
    fdk::LaunchOp::create(
        b, FusedLoc::get(ctx, locs), b.getStringAttr("moe_down_combine"),
        params.getDictionary(ctx), down.getTargetAttr(),
        b.getDenseI64ArrayAttr({(d + rowsPerBlock - 1) / rowsPerBlock, 1, 1}),
        down.getBlockAttr(),
        b.getArrayAttr(ins), combine.getOuts(), scalars.getDictionary(ctx),
        b.getArrayAttr(epilogues));
    SmallVector<StringRef> gone = {experts};
    if (shared) {
      gone.push_back(fdt::bufferName(ci[3]));
    }
    for (int64_t k : {pe, ps, self}) {
      if (k >= 0) {
        launches[k].erase();
        launches[k] = nullptr;
      }
    }
    for (StringRef buffer : gone) {
      fdt::eraseArenaBuffer(module, buffer);
    }
  }
};

} // namespace
