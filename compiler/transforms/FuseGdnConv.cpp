//===- FuseGdnConv.cpp - GDN's causal conv into its decode launch ---------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEGDNCONVPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace fdt = fd::transforms;

namespace {

/// The conv kernel sizes gdn_decode is instantiated for (CONV): Qwen3.5's
/// is 4; each size is its own template instance.
constexpr int64_t kMaxConvKernel = 8;

struct FuseGdnConvPass
    : fd::transforms::impl::FuseGdnConvPassBase<FuseGdnConvPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      fdt::LaunchList launches(step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "gdn_conv") {
          fuse(module, launches, i);
        }
      }
    }
  }

  /// gdn_conv: ins [x, weight], outs [state, mixed]; gdn_decode: ins
  /// [mixed, z, b, a, aLog, dtBias, normWeight], outs [state, out, partials,
  /// done].
  void fuse(ModuleOp module, fdt::LaunchList &launches, size_t i) {
    fdk::LaunchOp conv = launches[i];
    if (conv.getIns().size() != 2 || conv.getOuts().size() != 2) {
      return;
    }
    const int64_t kernel = fdt::intScalar(conv, "kernelSize");
    const int64_t channels = fdt::intScalar(conv, "channels");
    if (kernel < 1 || kernel > kMaxConvKernel || channels < 1) {
      return;
    }
    StringRef state = fdt::bufferName(conv.getOuts()[0]);
    StringRef mixed = fdt::bufferName(conv.getOuts()[1]);
    // The first launch after the conv that touches its output must be the
    // decode reading it as its q|k|v row.
    size_t j = i + 1;
    while (j < launches.size() &&
           !(launches[j] && fdt::touches(launches[j], mixed))) {
      ++j;
    }
    if (j == launches.size()) {
      return;
    }
    fdk::LaunchOp decode = launches[j];
    if (decode.getTemplateName() != "gdn_decode" ||
        decode.getIns().size() != 7 || decode.getOuts().size() != 4 ||
        fdt::bufferName(decode.getIns()[0]) != mixed ||
        fdt::paramAttr(decode, "CONV") ||
        !fdt::onlyUsedBy(launches, mixed,
                         {static_cast<int64_t>(i), static_cast<int64_t>(j)})) {
      return;
    }
    // The decode computes the conv where it runs: nothing in between may
    // write the conv's input or weight, or touch its state.
    if (fdt::inputsWrittenBetween(launches, static_cast<int64_t>(i),
                                  static_cast<int64_t>(j), conv)) {
      return;
    }
    for (size_t k = i + 1; k < j; ++k) {
      if (launches[k] && fdt::touches(launches[k], state)) {
        return;
      }
    }
    // The ring's slot is the token's position.
    MLIRContext *ctx = module.getContext();
    auto position = SymbolTable::lookupNearestSymbolFrom<fdk::BufferOp>(
        module, StringAttr::get(ctx, "io.position"));
    auto stateBuffer = SymbolTable::lookupNearestSymbolFrom<fdk::BufferOp>(
        module, StringAttr::get(ctx, state));
    if (!position || !stateBuffer ||
        stateBuffer.getKind() != fdk::BufferKind::state) {
      return;
    }

    Builder b(ctx);
    SmallVector<Attribute> ins(decode.getIns().begin(), decode.getIns().end());
    ins[0] = conv.getIns()[0];
    ins.append({conv.getIns()[1], FlatSymbolRefAttr::get(ctx, "io.position")});
    SmallVector<Attribute> outs(decode.getOuts().begin(),
                                decode.getOuts().end());
    outs.push_back(conv.getOuts()[0]);
    NamedAttrList params(decode.getParams());
    params.set("CONV", b.getI64IntegerAttr(kernel));
    decode.setInsAttr(b.getArrayAttr(ins));
    decode.setOutsAttr(b.getArrayAttr(outs));
    decode.setParamsAttr(params.getDictionary(ctx));
    decode->setLoc(FusedLoc::get(ctx, {conv.getLoc(), decode.getLoc()}));
    // The window becomes a ring of `kernel` slots (slot t % kernel holds
    // position t's input) instead of a shift register of kernel - 1.
    stateBuffer.setSizeAttr(b.getI64IntegerAttr(kernel * channels * 4));
    conv.erase();
    launches[i] = nullptr;
    fdt::eraseArenaBuffer(module, mixed);
  }
};

} // namespace
