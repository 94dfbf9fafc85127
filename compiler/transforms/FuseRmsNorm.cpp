//===- FuseRmsNorm.cpp - RMSNorm into the prologue of its first consumer --===//

#include "compiler/codegen/KernelRegistry.h"
#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"

#include <algorithm>
#include <string>

namespace fd::transforms {
#define GEN_PASS_DEF_FUSERMSNORMPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

/// The position among `l`'s ins of the template's argument `arg`, or -1.
int64_t inputIndex(const fd::codegen::TemplateInfo &info,
                   const std::string &arg) {
  int64_t index = 0;
  for (const fd::codegen::KernelArg &a : info.args) {
    if (a.kind != fd::codegen::KernelArg::In) {
      continue;
    }
    if (a.name == arg) {
      return index;
    }
    ++index;
  }
  return -1;
}

/// The output rows a GEMV-like launch computes: n, e (the router) or the
/// segments' n0 + n1 + ...
int64_t readerRows(fdk::LaunchOp l) {
  int64_t rows = std::max<int64_t>(0, fdt::intScalar(l, "n", 0)) +
                 std::max<int64_t>(0, fdt::intScalar(l, "e", 0));
  for (int i = 0; i < 4; ++i) {
    rows += std::max<int64_t>(0, fdt::intScalar(l, "n" + std::to_string(i), 0));
  }
  return rows;
}

struct FuseRmsNormPass
    : fd::transforms::impl::FuseRmsNormPassBase<FuseRmsNormPass> {
  using FuseRmsNormPassBase::FuseRmsNormPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "rms_norm") {
          fuse(module, launches, i);
        }
      }
    }
  }

  void fuse(ModuleOp module, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp norm = launches[i];
    // One row of the float residual stream into bf16 GEMV activations.
    const int64_t d = fdt::intScalar(norm, "d");
    if (!fdt::boolParam(norm, "IN_F32") || fdt::boolParam(norm, "OUT_F32") ||
        norm.getGrid()[0] != 1 || norm.getIns().size() != 2 ||
        norm.getOuts().size() != 1 || d <= 0 || d % 8 != 0) {
      return;
    }
    Attribute h = norm.getIns()[0], w = norm.getIns()[1];
    Attribute y = norm.getOuts()[0];
    StringRef yName = fdt::bufferName(y);
    // The first launch after the norm that touches its output.
    size_t c = i + 1;
    while (c < launches.size() &&
           !(launches[c] && fdt::touches(launches[c], yName))) {
      ++c;
    }
    if (c == launches.size()) {
      return;
    }
    fdk::LaunchOp consumer = launches[c];
    const fd::codegen::TemplateInfo *info =
        fd::codegen::lookupTemplate(consumer.getTemplateName().str());
    if (!info || info->normInput.empty() || fdt::paramAttr(consumer, "NORM") ||
        fdt::names(consumer.getOuts(), yName) ||
        fdt::intParam(consumer, "M", 1) != 1 ||
        fdt::boolParam(consumer, "X_F32") ||
        fdt::intScalar(consumer, "k") != d) {
      return;
    }
    if (maxRows > 0 && readerRows(consumer) > maxRows) {
      return;
    }
    // The norm's output is the template's activations and nothing else.
    const int64_t x = inputIndex(*info, info->normInput);
    ArrayAttr ins = consumer.getIns();
    if (x < 0 || x >= static_cast<int64_t>(ins.size()) || ins[x] != y ||
        llvm::count(ins, y) != 1) {
      return;
    }
    // The consumer recomputes the norm where it runs: nothing in between
    // may write the residual row or the weight, nor may the consumer itself
    // (the prologue of one block would read another's output).
    if (fdt::inputsWrittenBetween(launches, static_cast<int64_t>(i),
                                  static_cast<int64_t>(c), norm) ||
        fdt::names(consumer.getOuts(), fdt::bufferName(h))) {
      return;
    }
    // Other readers keep the buffer: the consumer's block (0, 0) publishes
    // the normalised row into it.
    const bool othersRead = !fdt::onlyUsedBy(
        launches, yName, {static_cast<int64_t>(i), static_cast<int64_t>(c)});
    Builder b(module.getContext());
    Attribute null = FlatSymbolRefAttr::get(b.getContext(), "__null");
    SmallVector<Attribute> newIns(ins.begin(), ins.end());
    newIns[x] = null;
    newIns.append({h, w});
    SmallVector<Attribute> newOuts(consumer.getOuts().begin(),
                                   consumer.getOuts().end());
    newOuts.push_back(othersRead ? y : null);
    NamedAttrList params(consumer.getParams());
    params.set("NORM", b.getI64IntegerAttr(
                           fdt::boolParam(norm, "ZERO_CENTERED") ? 1 : 2));
    params.set("NORM_K", b.getI64IntegerAttr(d));
    NamedAttrList scalars(consumer.getScalars());
    scalars.set("normEps", fdt::scalarAttr(norm, "eps"));
    consumer.setInsAttr(b.getArrayAttr(newIns));
    consumer.setOutsAttr(b.getArrayAttr(newOuts));
    consumer.setParamsAttr(params.getDictionary(b.getContext()));
    consumer.setScalarsAttr(scalars.getDictionary(b.getContext()));
    norm.erase();
    launches[i] = nullptr;
    if (!othersRead) {
      fdt::eraseArenaBuffer(module, yName);
    }
  }
};

} // namespace
