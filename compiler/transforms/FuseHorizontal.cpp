//===- FuseHorizontal.cpp - GEMVs over the same activations in one launch -===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEHORIZONTALPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace {

constexpr size_t kMaxSegments = 4; // gemv_segments2..4
constexpr int64_t kKindW4 = 1, kKindBf16 = 2;

using fd::transforms::boolParam;
using fd::transforms::intParam;
using fd::transforms::names;
using fd::transforms::touches;
StringRef ref(Attribute a) { return fd::transforms::bufferName(a); }

/// The segment kind of a GEMV that can join a horizontal launch (one token,
/// bf16 x, plain float output), or 0.
int64_t segmentKind(fdk::LaunchOp l) {
  if (!l || l.getOuts().size() != 1 || intParam(l, "M") != 1 ||
      boolParam(l, "ACCUM") || boolParam(l, "OUT_BF16")) {
    return 0;
  }
  if (l.getTemplateName() == "gemv_w4a16") {
    return kKindW4;
  }
  if (l.getTemplateName() == "gemv_bf16" && !boolParam(l, "X_F32")) {
    return kKindBf16;
  }
  return 0;
}
StringRef activations(fdk::LaunchOp l) {
  return ref(l.getIns()[l.getIns().size() - 1]);
}

struct FuseHorizontalPass
    : fd::transforms::impl::FuseHorizontalPassBase<FuseHorizontalPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      SmallVector<fdk::LaunchOp> launches(
          step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (segmentKind(launches[i])) {
          fuseFrom(launches, i);
        }
      }
    }
  }

  /// Gathers the GEMVs after launches[i] that read its activations and can
  /// move up to i; fuses them with it when there is at least one.
  void fuseFrom(SmallVectorImpl<fdk::LaunchOp> &launches, size_t i) {
    fdk::LaunchOp first = launches[i];
    const StringRef x = activations(first);
    const Attribute k = first.getScalars().get("k");
    SmallVector<size_t> members = {i};
    Attribute group, zeros; // shared by the w4 segments
    auto takeW4Packing = [&](fdk::LaunchOp l) {
      if (segmentKind(l) != kKindW4) {
        return true;
      }
      if (!group) {
        group = l.getParams().get("GROUP");
        zeros = l.getParams().get("ZEROS");
        return true;
      }
      return group == l.getParams().get("GROUP") &&
             zeros == l.getParams().get("ZEROS");
    };
    takeW4Packing(first);
    SmallVector<fdk::LaunchOp> between; // launches a member would move above
    for (size_t j = i + 1; j < launches.size() && members.size() < kMaxSegments;
         ++j) {
      fdk::LaunchOp l = launches[j];
      if (!l) {
        continue;
      }
      const bool candidate = segmentKind(l) && activations(l) == x &&
                             l.getScalars().get("k") == k &&
                             ref(l.getOuts()[0]) != x;
      // Moving l up to i is safe when nothing it passes touches its output.
      const bool movable =
          candidate && llvm::none_of(between, [&](fdk::LaunchOp b) {
            return touches(b, ref(l.getOuts()[0]));
          });
      if (movable && takeW4Packing(l)) {
        members.push_back(j);
        continue;
      }
      if (names(l.getOuts(), x)) {
        break; // later GEMVs read another x
      }
      between.push_back(l);
    }
    if (members.size() < 2) {
      return;
    }

    OpBuilder b(first);
    MLIRContext *ctx = b.getContext();
    auto null = FlatSymbolRefAttr::get(ctx, "__null");
    const int64_t rows = intParam(first, "ROWS"),
                  lanes = intParam(first, "LANES"),
                  waves = intParam(first, "WAVES");
    const int64_t rowsPerBlock = rows * (32 / lanes) * waves;
    NamedAttrList params;
    params.set("ROWS", first.getParams().get("ROWS"));
    params.set("LANES", first.getParams().get("LANES"));
    params.set("WAVES", first.getParams().get("WAVES"));
    params.set("GROUP", group ? group : b.getI64IntegerAttr(32));
    params.set("ZEROS", zeros ? zeros : b.getBoolAttr(false));
    SmallVector<Attribute> ins = {first.getIns()[first.getIns().size() - 1]},
                           outs;
    SmallVector<Location> locs;
    NamedAttrList scalars;
    scalars.set("k", k);
    int64_t blocks = 0;
    for (auto [s, index] : llvm::enumerate(members)) {
      fdk::LaunchOp m = launches[index];
      const std::string n = std::to_string(s);
      const int64_t kind = segmentKind(m);
      params.set("KIND" + n, b.getI64IntegerAttr(kind));
      if (kind == kKindW4) {
        ins.append(m.getIns().begin(), m.getIns().begin() + 3);
      } else {
        ins.append({m.getIns()[0], null, null});
      }
      outs.push_back(m.getOuts()[0]);
      Attribute rowsN = m.getScalars().get("n");
      scalars.set("n" + n, rowsN);
      blocks +=
          (cast<IntegerAttr>(rowsN).getInt() + rowsPerBlock - 1) / rowsPerBlock;
      locs.push_back(m.getLoc());
    }
    fdk::LaunchOp::create(
        b, FusedLoc::get(ctx, locs),
        b.getStringAttr("gemv_segments" + std::to_string(members.size())),
        params.getDictionary(ctx), first.getTargetAttr(),
        b.getDenseI64ArrayAttr({blocks, 1, 1}), first.getBlockAttr(),
        b.getArrayAttr(ins), b.getArrayAttr(outs), scalars.getDictionary(ctx),
        b.getArrayAttr({}));
    for (size_t index : members) {
      launches[index].erase();
      launches[index] = nullptr;
    }
  }
};

} // namespace
