//===- FuseRouterShared.cpp - the shared expert's gate/up in the router ---===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEROUTERSHAREDPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

/// router_gemv_topk's inputs: x, then the router's w, scales, zeros.
constexpr size_t kRouterIns = 4;

struct FuseRouterSharedPass
    : fd::transforms::impl::FuseRouterSharedPassBase<FuseRouterSharedPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] &&
            launches[i].getTemplateName() == "router_gemv_topk") {
          fuse(module.getContext(), launches, i);
        }
      }
    }
  }

  /// The gate/up launch after the router at `i` that reads the router's x
  /// with the same K, or -1. Only the first reader of x is a candidate: a
  /// later one could depend on launches in between.
  static int64_t sharedGlu(fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp router = launches[i];
    StringRef x = fdt::bufferName(router.getIns()[0]);
    for (size_t j = i + 1; j < launches.size(); ++j) {
      fdk::LaunchOp l = launches[j];
      if (!l || !fdt::names(l.getIns(), x)) {
        continue;
      }
      StringRef t = l.getTemplateName();
      if ((t != "gemv_bf16_glu" && t != "gemv_w4a16_glu") ||
          l.getIns().empty() ||
          fdt::bufferName(l.getIns()[l.getIns().size() - 1]) != x) {
        continue; // another reader of x (the routed experts' gate/up)
      }
      return static_cast<int64_t>(j);
    }
    return -1;
  }

  void fuse(MLIRContext *ctx, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp router = launches[i];
    if (router.getIns().size() != kRouterIns ||
        fdt::isNullRef(router.getIns()[0])) {
      return; // the norm prologue's form: this pass runs before
              // fd-fuse-rms-norm
    }
    const int64_t j = sharedGlu(launches, i);
    if (j < 0) {
      return;
    }
    fdk::LaunchOp glu = launches[j];
    const bool w4 = glu.getTemplateName() == "gemv_w4a16_glu";
    const int64_t routerKind = fdt::intParam(router, "KIND", 0);
    if (fdt::intScalar(glu, "k") != fdt::intScalar(router, "k") ||
        glu.getOuts().size() != 1 || glu.getGrid()[1] != 1) {
      return;
    }
    // One GROUP and ZEROS for the launch: two w4 matrices must agree.
    if (w4 && routerKind == 1 &&
        (fdt::paramAttr(glu, "GROUP") != fdt::paramAttr(router, "GROUP") ||
         fdt::paramAttr(glu, "ZEROS") != fdt::paramAttr(router, "ZEROS"))) {
      return;
    }
    // The fused launch runs at the router's place: nothing in between may
    // write what the gate/up reads, nor read or write its output.
    StringRef y = fdt::bufferName(glu.getOuts()[0]);
    if (fdt::inputsWrittenBetween(launches, static_cast<int64_t>(i), j, glu) ||
        fdt::touches(router, y)) {
      return;
    }
    for (int64_t k = static_cast<int64_t>(i) + 1; k < j; ++k) {
      if (launches[k] && fdt::touches(launches[k], y)) {
        return;
      }
    }

    OpBuilder b(ctx);
    Attribute null = FlatSymbolRefAttr::get(ctx, "__null");
    SmallVector<Attribute> ins(router.getIns().begin(), router.getIns().end());
    ArrayAttr gi = glu.getIns();
    if (w4) { // gateQ, gateScales, gateZeros, upQ, upScales, upZeros, x
      ins.append(gi.begin(), gi.begin() + 6);
    } else { // gate, up, x
      ins.append({gi[0], null, null, gi[1], null, null});
    }
    SmallVector<Attribute> outs(router.getOuts().begin(),
                                router.getOuts().end());
    outs.push_back(glu.getOuts()[0]);
    NamedAttrList params(router.getParams());
    params.set("SHARED", b.getI64IntegerAttr(w4 ? 1 : 2));
    if (w4 && routerKind != 1) {
      params.set("GROUP", fdt::paramAttr(glu, "GROUP"));
      params.set("ZEROS", fdt::paramAttr(glu, "ZEROS"));
    }
    NamedAttrList scalars(router.getScalars());
    scalars.set("n", fdt::scalarAttr(glu, "n"));
    SmallVector<Attribute> epilogues(router.getEpilogues().begin(),
                                     router.getEpilogues().end());
    epilogues.append(glu.getEpilogues().begin(), glu.getEpilogues().end());
    // The router's blocks, then the gate/up's at the router's block shape
    // (fd-select-kernels sets both again with its choice).
    const int64_t rowsPerBlock = fdt::intParam(router, "ROWS", 1) *
                                 (32 / fdt::intParam(router, "LANES", 32)) *
                                 fdt::intParam(router, "WAVES", 1);
    auto blocksFor = [&](int64_t rows) {
      return (rows + rowsPerBlock - 1) / rowsPerBlock;
    };
    const int64_t gridX = blocksFor(fdt::intScalar(router, "e")) +
                          blocksFor(fdt::intScalar(glu, "n"));
    b.setInsertionPoint(router);
    fdk::LaunchOp fused = fdk::LaunchOp::create(
        b, FusedLoc::get(ctx, {router.getLoc(), glu.getLoc()}),
        b.getStringAttr("router_gemv_topk_glu"), params.getDictionary(ctx),
        router.getTargetAttr(), b.getDenseI64ArrayAttr({gridX, 1, 1}),
        router.getBlockAttr(), b.getArrayAttr(ins), b.getArrayAttr(outs),
        scalars.getDictionary(ctx), b.getArrayAttr(epilogues));
    router.erase();
    glu.erase();
    launches[i] = fused;
    launches[j] = nullptr;
  }
};

} // namespace
