//===- FuseResidual.cpp - residual add into the producer's epilogue -------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSERESIDUALPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace {

using fd::transforms::boolParam;
using fd::transforms::names;
using fd::transforms::touches;

/// Whether `p` can take h += y as its epilogue.
bool fusableProducer(fdk::LaunchOp p, StringRef y, StringRef h) {
  if (p.getOuts().size() != 1 ||
      cast<FlatSymbolRefAttr>(p.getOuts()[0]).getValue() != y ||
      names(p.getIns(), h)) {
    return false;
  }
  StringRef t = p.getTemplateName();
  if (t == "gemv_w4a16" || t == "gemv_bf16") {
    auto m = p.getParams().getAs<IntegerAttr>("M");
    return !boolParam(p, "OUT_BF16") && !boolParam(p, "ACCUM") && m &&
           m.getInt() == 1;
  }
  if (t == "moe_combine") {
    return cast<FlatSymbolRefAttr>(p.getIns()[0]).getValue() == "__null";
  }
  return false;
}

struct FuseResidualPass
    : fd::transforms::impl::FuseResidualPassBase<FuseResidualPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(module.getContext());
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      std::vector<fdk::LaunchOp> launches(
          step.getBody().getOps<fdk::LaunchOp>().begin(),
          step.getBody().getOps<fdk::LaunchOp>().end());
      std::vector<bool> erased(launches.size(), false);
      for (size_t i = 0; i < launches.size(); ++i) {
        fdk::LaunchOp add = launches[i];
        if (add.getTemplateName() != "add_residual") {
          continue;
        }
        StringRef y = cast<FlatSymbolRefAttr>(add.getIns()[0]).getValue();
        auto h = cast<FlatSymbolRefAttr>(add.getOuts()[0]);
        // The producer: the last launch before that writes y; nothing in
        // between may touch y or h.
        size_t j = i;
        bool blocked = false;
        while (j-- > 0) {
          if (erased[j]) {
            continue;
          }
          if (names(launches[j].getOuts(), y)) {
            break;
          }
          if (touches(launches[j], y) || touches(launches[j], h.getValue())) {
            blocked = true;
            break;
          }
        }
        if (blocked || j == static_cast<size_t>(-1) ||
            !fusableProducer(launches[j], y, h.getValue())) {
          continue;
        }
        // y must have no reader but the add.
        bool otherUse = false;
        for (size_t k = 0; k < launches.size(); ++k) {
          if (k != i && k != j && !erased[k] && touches(launches[k], y)) {
            otherUse = true;
          }
        }
        if (otherUse) {
          continue;
        }
        fdk::LaunchOp p = launches[j];
        if (p.getTemplateName() == "moe_combine") {
          SmallVector<Attribute> ins(p.getIns().begin(), p.getIns().end());
          ins[0] = h;
          p.setInsAttr(b.getArrayAttr(ins));
        } else {
          NamedAttrList params(p.getParams());
          params.set("ACCUM", b.getBoolAttr(true));
          p.setParamsAttr(params.getDictionary(b.getContext()));
        }
        p.setOutsAttr(b.getArrayAttr({h}));
        SmallVector<Attribute> epilogues(p.getEpilogues().begin(),
                                         p.getEpilogues().end());
        epilogues.push_back(fdk::EpilogueAttr::get(
            b.getContext(), fdk::Epilogue::residual_add));
        p.setEpiloguesAttr(b.getArrayAttr(epilogues));
        add.erase();
        erased[i] = true;
        if (auto buffer = SymbolTable::lookupNearestSymbolFrom<fdk::BufferOp>(
                module, b.getStringAttr(y))) {
          if (buffer.getKind() == fdk::BufferKind::arena) {
            buffer.erase();
          }
        }
      }
    }
  }
};

} // namespace
