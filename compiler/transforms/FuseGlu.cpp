//===- FuseGlu.cpp - gate/up GEMVs and silu_mul into one launch -----------===//

#include "compiler/transforms/LaunchQueries.h"
#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

namespace fd::transforms {
#define GEN_PASS_DEF_FUSEGLUPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace {

using fd::transforms::boolParam;
using fd::transforms::names;
using fd::transforms::touches;
StringRef ref(Attribute a) { return fd::transforms::bufferName(a); }
Attribute param(fdk::LaunchOp l, StringRef name) {
  return l.getParams().get(name);
}
Attribute scalar(fdk::LaunchOp l, StringRef name) {
  return l.getScalars().get(name);
}

/// How many leading inputs of a GEMV template are its weight buffers.
int weightInputs(StringRef templateName) {
  if (templateName == "gemv_w4a16" || templateName == "gemv_w4a16_experts") {
    return 3; // qweight, scales, zeros
  }
  if (templateName == "gemv_bf16") {
    return 1;
  }
  return 0;
}

/// Whether gate and up are GEMVs that one GLU launch can replace: the same
/// template, activations, shape and packing, one float output each.
bool pairable(fdk::LaunchOp gate, fdk::LaunchOp up) {
  StringRef t = gate.getTemplateName();
  if (weightInputs(t) == 0 || up.getTemplateName() != t ||
      gate.getOuts().size() != 1 || up.getOuts().size() != 1 ||
      boolParam(gate, "OUT_BF16") || boolParam(gate, "ACCUM") ||
      boolParam(up, "OUT_BF16") || boolParam(up, "ACCUM") ||
      boolParam(gate, "X_F32") || boolParam(up, "X_F32")) {
    return false;
  }
  if (auto m = dyn_cast_or_null<IntegerAttr>(param(gate, "M"));
      m && m.getInt() != 1) {
    return false;
  }
  // Everything after the weights (expert ids, x) must be the same buffers.
  const int w = weightInputs(t);
  if (gate.getIns().size() != up.getIns().size()) {
    return false;
  }
  for (size_t i = w; i < gate.getIns().size(); ++i) {
    if (ref(gate.getIns()[i]) != ref(up.getIns()[i])) {
      return false;
    }
  }
  for (StringRef p : {"GROUP", "ZEROS", "M"}) {
    if (param(gate, p) != param(up, p)) {
      return false;
    }
  }
  if (gate.getScalars() != up.getScalars() ||
      gate.getGrid()[1] != up.getGrid()[1]) {
    return false;
  }
  // The experts' gate/up read one x row for every slot.
  if (auto stride = dyn_cast_or_null<IntegerAttr>(scalar(gate, "xSlotStride"));
      stride && stride.getInt() != 0) {
    return false;
  }
  return true;
}

struct FuseGluPass : fd::transforms::impl::FuseGluPassBase<FuseGluPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      SmallVector<fdk::LaunchOp> launches(
          step.getBody().getOps<fdk::LaunchOp>());
      for (size_t i = 0; i < launches.size(); ++i) {
        if (launches[i] && launches[i].getTemplateName() == "silu_mul") {
          fuse(module, launches, i);
        }
      }
    }
  }

  /// The last live launch before `i` that writes `buffer`, or -1.
  static int64_t producer(MutableArrayRef<fdk::LaunchOp> launches, size_t i,
                          StringRef buffer) {
    for (int64_t j = static_cast<int64_t>(i) - 1; j >= 0; --j) {
      if (launches[j] && names(launches[j].getOuts(), buffer)) {
        return j;
      }
    }
    return -1;
  }

  void fuse(ModuleOp module, SmallVectorImpl<fdk::LaunchOp> &launches,
            size_t i) {
    fdk::LaunchOp act = launches[i];
    if (act.getIns().size() != 2 || act.getOuts().size() != 1) {
      return;
    }
    StringRef g = ref(act.getIns()[0]), u = ref(act.getIns()[1]);
    int64_t gi = producer(launches, i, g), ui = producer(launches, i, u);
    if (gi < 0 || ui < 0 || gi == ui) {
      return;
    }
    fdk::LaunchOp gate = launches[gi], up = launches[ui];
    if (!pairable(gate, up) || ref(gate.getOuts()[0]) != g ||
        ref(up.getOuts()[0]) != u) {
      return;
    }
    // silu_mul must cover both outputs exactly.
    auto n = dyn_cast_or_null<IntegerAttr>(scalar(gate, "n"));
    auto actN = dyn_cast_or_null<IntegerAttr>(scalar(act, "n"));
    if (!n || !actN || actN.getInt() != n.getInt() * gate.getGrid()[1]) {
      return;
    }
    // g and u have no other reader or writer; between the first GEMV and
    // silu_mul nothing writes what the GEMVs read (the fused launch reads it
    // at silu_mul's place) or touches silu_mul's output.
    const size_t first = static_cast<size_t>(std::min(gi, ui));
    for (size_t k = 0; k < launches.size(); ++k) {
      fdk::LaunchOp l = launches[k];
      if (!l || k == i || k == static_cast<size_t>(gi) ||
          k == static_cast<size_t>(ui)) {
        continue;
      }
      if (touches(l, g) || touches(l, u)) {
        return;
      }
      if (k > first && k < i) {
        for (Attribute in : gate.getIns()) {
          if (names(l.getOuts(), ref(in))) {
            return;
          }
        }
        for (Attribute in : up.getIns()) {
          if (names(l.getOuts(), ref(in))) {
            return;
          }
        }
        if (touches(l, ref(act.getOuts()[0]))) {
          return;
        }
      }
    }

    OpBuilder b(act);
    StringRef t = gate.getTemplateName();
    const int w = weightInputs(t);
    SmallVector<Attribute> ins(gate.getIns().begin(),
                               gate.getIns().begin() + w);
    ins.append(up.getIns().begin(), up.getIns().end());
    NamedAttrList params;
    for (StringRef p : {"ROWS", "LANES", "WAVES", "GROUP", "ZEROS"}) {
      if (Attribute v = param(gate, p)) {
        params.set(p, v);
      }
    }
    NamedAttrList scalars;
    scalars.set("n", n);
    scalars.set("k", scalar(gate, "k"));
    fdk::LaunchOp::create(
        b, FusedLoc::get(b.getContext(), {gate.getLoc(), up.getLoc()}),
        b.getStringAttr((t + "_glu").str()),
        params.getDictionary(b.getContext()), gate.getTargetAttr(),
        gate.getGridAttr(), gate.getBlockAttr(), b.getArrayAttr(ins),
        act.getOuts(), scalars.getDictionary(b.getContext()),
        b.getArrayAttr(
            {fdk::EpilogueAttr::get(b.getContext(), fdk::Epilogue::silu_mul)}));
    for (int64_t k : {gi, ui, static_cast<int64_t>(i)}) {
      launches[k].erase();
      launches[k] = nullptr;
    }
    for (StringRef buffer : {g, u}) {
      if (auto op = SymbolTable::lookupNearestSymbolFrom<fdk::BufferOp>(
              module, StringAttr::get(module.getContext(), buffer))) {
        if (op.getKind() == fdk::BufferKind::arena) {
          op.erase();
        }
      }
    }
  }
};

} // namespace
