//===- FuseKvAppend.cpp - the KV append into the attention launch ---------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEKVAPPENDPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

struct FuseKvAppendPass
    : fd::transforms::impl::FuseKvAppendPassBase<FuseKvAppendPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "kv_append") {
          fuse(launches, i);
        }
      }
    }
  }

  /// kv_append: ins [k, v, kNorm, position], outs [kCache, vCache];
  /// attention_decode: ins [q, qNorm, position, kCache, vCache], outs
  /// [partials, done, out].
  void fuse(fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp append = launches[i];
    if (append.getIns().size() != 4 || append.getOuts().size() != 2) {
      return;
    }
    StringRef kCache = fdt::bufferName(append.getOuts()[0]);
    StringRef vCache = fdt::bufferName(append.getOuts()[1]);
    // The first launch after the append that touches its cache must be the
    // attention reading that cache at the append's position.
    size_t j = i + 1;
    while (j < launches.size() &&
           !(launches[j] && (fdt::touches(launches[j], kCache) ||
                             fdt::touches(launches[j], vCache)))) {
      ++j;
    }
    if (j == launches.size()) {
      return;
    }
    fdk::LaunchOp attention = launches[j];
    if (attention.getTemplateName() != "attention_decode" ||
        attention.getIns().size() != 5 || attention.getOuts().size() != 3 ||
        fdt::paramAttr(attention, "APPEND") ||
        fdt::bufferName(attention.getIns()[3]) != kCache ||
        fdt::bufferName(attention.getIns()[4]) != vCache ||
        fdt::bufferName(attention.getIns()[2]) !=
            fdt::bufferName(append.getIns()[3])) {
      return;
    }
    // The attention normalises and rotates the key itself: the same norm,
    // RoPE and cache shape, and the append's inputs unchanged until then.
    for (StringRef s : {"zeroCentered", "eps", "rotary", "theta", "hkv"}) {
      if (!fdt::scalarAttr(append, s) ||
          fdt::scalarAttr(append, s) != fdt::scalarAttr(attention, s)) {
        return;
      }
    }
    if (fdt::intScalar(append, "d") != fdt::intParam(attention, "D") ||
        fdt::inputsWrittenBetween(launches, static_cast<int64_t>(i),
                                  static_cast<int64_t>(j), append)) {
      return;
    }

    MLIRContext *ctx = append.getContext();
    Builder b(ctx);
    SmallVector<Attribute> ins(attention.getIns().begin(),
                               attention.getIns().end());
    ins.append({append.getIns()[0], append.getIns()[1], append.getIns()[2]});
    SmallVector<Attribute> outs(attention.getOuts().begin(),
                                attention.getOuts().end());
    outs.append({append.getOuts()[0], append.getOuts()[1]});
    NamedAttrList params(attention.getParams());
    params.set("APPEND", b.getI64IntegerAttr(1));
    attention.setInsAttr(b.getArrayAttr(ins));
    attention.setOutsAttr(b.getArrayAttr(outs));
    attention.setParamsAttr(params.getDictionary(ctx));
    attention->setLoc(
        FusedLoc::get(ctx, {append.getLoc(), attention.getLoc()}));
    append.erase();
    launches[i] = nullptr;
  }
};

} // namespace
