//===- SelectKernels.cpp - cost-model choice of GEMV parameters -----------===//

#include "compiler/transforms/SelectKernels.h"

#include "compiler/codegen/ResourceCache.h"
#include "compiler/codegen/TuningDb.h"
#include "compiler/costmodel/TargetInfo.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <set>

namespace fd::transforms {
#define GEN_PASS_DEF_SELECTKERNELSPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace cm = fd::costmodel;

namespace fd::transforms {

std::string describeShape(const cm::GemvShape &s) {
  const std::string norm = s.normK > 0 ? " after rms_norm" : "";
  if (!s.segments.empty()) {
    std::string out = llvm::formatv("K={0} segments", s.k).str();
    for (const cm::GemvShape::Segment &seg : s.segments) {
      out += seg.kind == cm::GemvShape::Bf16
                 ? llvm::formatv(" | bf16 N={0}", seg.n).str()
                 : llvm::formatv(" | w4 g{0}{1} N={2}", s.group,
                                 s.zeros ? " zp" : "", seg.n)
                       .str();
      if (seg.glu) {
        out += " silu(gate)*up";
      }
    }
    return out + norm;
  }
  std::string out = llvm::formatv("N={0} K={1}", s.n, s.k).str();
  if (s.kind == cm::GemvShape::Bf16) {
    out += s.xFloat ? " bf16 (x f32)" : " bf16";
  } else if (s.kind == cm::GemvShape::W8) {
    out += s.group == s.k ? " int8 per row"
                          : llvm::formatv(" int8 g{0}", s.group).str();
  } else {
    out += llvm::formatv(" w4 g{0}{1}", s.group, s.zeros ? " zp" : "").str();
  }
  if (s.m > 1) {
    out += llvm::formatv(" M={0}", s.m).str();
  }
  if (s.kind == cm::GemvShape::W4Experts) {
    out += llvm::formatv(" x{0} slots", s.slots).str();
  }
  if (s.sumSlots) {
    out += " summed";
    if (s.sharedK > 0) {
      out += llvm::formatv(" + shared {0} K={1}",
                           s.sharedKind == cm::GemvShape::Bf16 ? "bf16" : "w4",
                           s.sharedK)
                 .str();
    }
  }
  if (s.accumulate) {
    out += " +=";
  }
  if (s.glu) {
    out += " silu(gate)*up";
  }
  return out + norm;
}

namespace {

bool isTunedGemv(StringRef name) {
  return name == "gemv_w4a16" || name == "gemv_w4a16_experts" ||
         name == "gemv_w8a16" || name == "gemv_bf16" ||
         name == "gemv_w4a16_glu" || name == "gemv_w4a16_experts_glu" ||
         name == "gemv_bf16_glu" || name.starts_with("gemv_segments") ||
         name == "router_gemv_topk" || name == "router_gemv_topk_glu" ||
         name == "gemv_gated" || name == "moe_down_combine";
}

int64_t intParam(fdk::LaunchOp l, StringRef name, int64_t dflt = 0) {
  if (auto v = l.getParams().getAs<IntegerAttr>(name)) {
    return v.getInt();
  }
  return dflt;
}
bool boolParam(fdk::LaunchOp l, StringRef name) {
  auto v = l.getParams().getAs<BoolAttr>(name);
  return v && v.getValue();
}
int64_t intScalar(fdk::LaunchOp l, StringRef name) {
  auto v = l.getScalars().getAs<IntegerAttr>(name);
  return v ? v.getInt() : 0;
}

cm::GemvShape shapeOf(fdk::LaunchOp l) {
  cm::GemvShape s;
  StringRef name = l.getTemplateName();
  const bool routerGlu = name == "router_gemv_topk_glu";
  s.glu = name.ends_with("_glu");
  name.consume_back("_glu");
  s.kind = name == "gemv_bf16"            ? cm::GemvShape::Bf16
           : name == "gemv_w4a16_experts" ? cm::GemvShape::W4Experts
           : name == "gemv_w8a16"         ? cm::GemvShape::W8
                                          : cm::GemvShape::W4;
  s.n = intScalar(l, "n");
  s.k = intScalar(l, "k");
  s.m = intParam(l, "M", 1);
  s.slots = s.kind == cm::GemvShape::W4Experts ? l.getGrid()[1] : 1;
  s.group = intParam(l, "GROUP");
  s.zeros = boolParam(l, "ZEROS");
  s.xFloat = boolParam(l, "X_F32");
  s.outBf16 = s.glu || boolParam(l, "OUT_BF16");
  s.accumulate = boolParam(l, "ACCUM");
  s.normK = intParam(l, "NORM") != 0 ? intParam(l, "NORM_K") : 0;
  s.xStationaryForm = l.getTemplateName() == "gemv_w4a16" ||
                      l.getTemplateName() == "gemv_w4a16_experts_glu";
  // The fused MoE forms: one segment-like matrix (KIND 1 w4, 2 bf16), or
  // the routed experts summed with the shared one.
  if ((name == "router_gemv_topk" && !routerGlu) || name == "gemv_gated") {
    s.kind = intParam(l, "KIND") == 2 ? cm::GemvShape::Bf16 : cm::GemvShape::W4;
    s.n = intScalar(l, name == "router_gemv_topk" ? "e" : "n");
  }
  if (routerGlu) { // ("_glu" was taken off `name` above)
    // The router's rows, then the shared expert's gate/up rows.
    cm::GemvShape::Segment router, shared;
    router.kind =
        intParam(l, "KIND") == 2 ? cm::GemvShape::Bf16 : cm::GemvShape::W4;
    router.n = intScalar(l, "e");
    shared.kind =
        intParam(l, "SHARED") == 2 ? cm::GemvShape::Bf16 : cm::GemvShape::W4;
    shared.n = intScalar(l, "n");
    shared.glu = true;
    s.segments = {router, shared};
    s.kind = router.kind;
    s.n = router.n + shared.n;
    s.glu = false;
    s.outBf16 = false;
  }
  if (name == "moe_down_combine") {
    s.kind = cm::GemvShape::W4Experts;
    s.sumSlots = true;
    s.slots = intScalar(l, "slots");
    s.sharedK = intParam(l, "SHARED") ? intScalar(l, "sharedK") : 0;
    s.sharedKind =
        intParam(l, "SHARED") == 1 ? cm::GemvShape::W4 : cm::GemvShape::Bf16;
    s.accumulate = llvm::cast<FlatSymbolRefAttr>(l.getIns()[0]).getValue() !=
                   "__null";
  }
  if (name.starts_with("gemv_segments")) {
    s.n = 0;
    for (int i = 0;; ++i) {
      auto kind = l.getParams().getAs<IntegerAttr>("KIND" + std::to_string(i));
      if (!kind) {
        break;
      }
      cm::GemvShape::Segment seg;
      seg.kind = kind.getInt() == 2 ? cm::GemvShape::Bf16 : cm::GemvShape::W4;
      seg.n = intScalar(l, "n" + std::to_string(i));
      s.segments.push_back(seg);
      s.n += seg.n;
    }
    if (!s.segments.empty()) {
      s.kind = s.segments.front().kind;
    }
  }
  return s;
}

/// Launches with equal template, fixed parameters and shape share a choice.
std::string shapeKey(fdk::LaunchOp l) {
  std::string key = l.getTemplateName().str();
  for (NamedAttribute p : l.getParams()) {
    StringRef n = p.getName().getValue();
    if (n == "ROWS" || n == "LANES" || n == "WAVES") {
      continue;
    }
    std::string v;
    llvm::raw_string_ostream os(v);
    p.getValue().print(os);
    key += "|" + n.str() + "=" + v;
  }
  cm::GemvShape s = shapeOf(l);
  for (const cm::GemvShape::Segment &seg : s.segments) {
    key += llvm::formatv("|n{0}", seg.n).str();
  }
  if (s.sumSlots) {
    key += llvm::formatv("|shared{0}", s.sharedK).str();
  }
  return key + llvm::formatv("|{0}x{1}x{2}", s.n, s.k, s.slots).str();
}

DictionaryAttr withConfig(Builder &b, DictionaryAttr params,
                          const cm::GemvConfig &c) {
  NamedAttrList list(params);
  list.set("ROWS", b.getI64IntegerAttr(c.rows));
  list.set("LANES", b.getI64IntegerAttr(c.lanes));
  list.set("WAVES", b.getI64IntegerAttr(c.waves));
  return list.getDictionary(b.getContext());
}

/// With measurements for this shape: the fastest measured candidate that
/// does not spill, when every such candidate was measured; otherwise the
/// model's pick stands and the reason says why.
void chooseByMeasurement(KernelChoice &choice, size_t modelPick) {
  size_t best = choice.candidates.size();
  int unmeasured = 0;
  for (size_t i = 0; i < choice.candidates.size(); ++i) {
    if (choice.candidates[i].spills) {
      continue;
    }
    if (choice.measured[i] <= 0) {
      ++unmeasured;
      continue;
    }
    if (best == choice.candidates.size() ||
        choice.measured[i] < choice.measured[best]) {
      best = i;
    }
  }
  if (unmeasured || best == choice.candidates.size()) {
    choice.reason += llvm::formatv(" (tuning database lacks {0} of this "
                                   "shape's candidates; the model decides)",
                                   unmeasured)
                         .str();
    return;
  }
  choice.byMeasurement = true;
  choice.chosen = best;
  const double modelPickUs = choice.measured[modelPick];
  choice.reason =
      best == modelPick
          ? llvm::formatv("measured fastest, {0:f2} us (the model's pick too; "
                          "predicted {1:f2} us)",
                          choice.measured[best],
                          choice.candidates[best].prediction.micros)
                .str()
          : llvm::formatv("measured fastest, {0:f2} us (predicted {1:f2} us); "
                          "the model's pick measured {2:f2} us",
                          choice.measured[best],
                          choice.candidates[best].prediction.micros,
                          modelPickUs)
                .str();
}

struct SelectKernelsPass : impl::SelectKernelsPassBase<SelectKernelsPass> {
  using SelectKernelsPassBase::SelectKernelsPassBase;
  SelectKernelsPass(const SelectKernelsPassOptions &options,
                    std::vector<KernelChoice> *sink)
      : SelectKernelsPassBase(options), sink_(sink) {}

  void runOnOperation() override;

  std::vector<KernelChoice> *sink_ = nullptr;
};

void SelectKernelsPass::runOnOperation() {
  ModuleOp module = getOperation();
  std::optional<fdk::Target> t = fdk::symbolizeTarget(target);
  std::optional<codegen::GpuTarget> gpu = codegen::parseTarget(target);
  const cm::TargetInfo *info = cm::lookupTarget(target);
  if (!t || !gpu || !info) {
    module.emitError() << "unknown target '" << target
                       << "' (known: gfx1151, gfx1100, sm_90)";
    return signalPassFailure();
  }
  OpBuilder b(module.getContext());
  module.walk([&](fdk::LaunchOp l) {
    l.setTargetAttr(fdk::TargetAttr::get(module.getContext(), *t));
  });
  std::vector<GemvGroup> groups = collectGemvGroups(module);
  if (groups.empty()) {
    return;
  }

  // One scratch step holding every candidate of every distinct shape: one
  // device compile (or cache lookup) answers them all.
  OwningOpRef<ModuleOp> scratch = buildCandidateModule(module.getLoc(), groups);
  codegen::DeviceCompileOptions options;
  options.includeDirs = {templates.empty() ? std::string(FD_TEMPLATES_DIR)
                                           : std::string(templates)};
  codegen::ResourceCache cache(cacheDir.empty()
                                   ? codegen::ResourceCache::defaultDirectory()
                                   : std::string(cacheDir),
                               options);
  llvm::Expected<std::vector<codegen::KernelResources>> resources =
      cache.resources(*scratch, *gpu);
  if (!resources) {
    module.emitError() << "fd-select-kernels: "
                       << llvm::toString(resources.takeError());
    return signalPassFailure();
  }

  // Measured times, when a tuning database for this target exists and was
  // measured with these templates and this device compiler.
  std::optional<codegen::TuningDb> db;
  if (!tuningDb.empty()) {
    llvm::Expected<std::optional<codegen::TuningDb>> loaded =
        codegen::loadTuningDb(tuningDb, target);
    if (!loaded) {
      module.emitError() << "fd-select-kernels: "
                         << llvm::toString(loaded.takeError());
      return signalPassFailure();
    }
    if (*loaded) {
      llvm::Expected<std::string> version =
          codegen::compilerVersion(*gpu, options);
      if (!version) {
        module.emitError() << "fd-select-kernels: "
                           << llvm::toString(version.takeError());
        return signalPassFailure();
      }
      const std::string hash = codegen::hashTemplates(options.includeDirs);
      if ((*loaded)->templatesHash != hash || (*loaded)->compiler != *version) {
        module.emitWarning()
            << (*loaded)->path << " was measured with other "
            << ((*loaded)->templatesHash != hash ? "kernel templates"
                                                 : "device compiler")
            << "; its times are not used (run compile-model --autotune "
               "again)";
      } else {
        db = std::move(**loaded);
      }
    }
  }

  // --force: TEMPLATE=ROWS,LANES,WAVES.
  std::map<std::string, cm::GemvConfig> forced;
  for (const std::string &f : force) {
    StringRef name, setting;
    std::tie(name, setting) = StringRef(f).split('=');
    SmallVector<StringRef, 3> parts;
    setting.split(parts, ',');
    cm::GemvConfig c;
    if (name.empty() || parts.size() != 3 ||
        parts[0].trim().getAsInteger(10, c.rows) ||
        parts[1].trim().getAsInteger(10, c.lanes) ||
        parts[2].trim().getAsInteger(10, c.waves)) {
      module.emitError() << "fd-select-kernels: force '" << f
                         << "': expected TEMPLATE=ROWS,LANES,WAVES";
      return signalPassFailure();
    }
    forced[name.str()] = c;
  }

  std::set<std::string> usedForce;
  size_t first = 0;
  for (GemvGroup &g : groups) {
    KernelChoice choice;
    choice.target = target;
    choice.key = g.key;
    choice.templateName = g.launches.front().getTemplateName().str();
    choice.shape = g.shape;
    choice.launches = static_cast<int>(g.launches.size());
    llvm::raw_string_ostream locOs(choice.firstOp);
    g.launches.front().getLoc().print(locOs);
    const codegen::TuningEntry *entry = nullptr;
    if (db) {
      auto it = db->entries.find(g.key);
      entry = it == db->entries.end() ? nullptr : &it->second;
    }
    for (size_t i = 0; i < g.configs.size(); ++i) {
      const codegen::KernelResources &r = (*resources)[first + i];
      cm::Candidate c;
      c.config = g.configs[i];
      c.registers = info->amd ? r.vgprs : r.registers;
      c.localBytes = info->amd ? r.ldsBytes : r.sharedBytes;
      c.spills =
          r.spillStores + r.spillLoads + r.scratchBytesPerLane + r.stackBytes;
      c.prediction =
          cm::predictGemv(*info, g.shape, c.config, c.registers, c.localBytes);
      choice.candidates.push_back(c);
      choice.compilerWaves.push_back(info->amd ? r.occupancyWavesPerSimd : -1);
      const codegen::TunedConfig *m =
          entry ? entry->find(c.config.rows, c.config.lanes, c.config.waves)
                : nullptr;
      choice.measured.push_back(m ? m->micros : 0.0);
    }
    first += g.configs.size();
    cm::Choice pick = cm::choose(choice.candidates);
    choice.chosen = pick.index;
    choice.modelChoice = pick.index;
    choice.reason = pick.reason;
    if (entry) {
      choice.tuningDbFile = db->path;
      chooseByMeasurement(choice, pick.index);
    }
    if (auto it = forced.find(choice.templateName); it != forced.end()) {
      usedForce.insert(it->first);
      const cm::GemvConfig want = it->second;
      auto c = llvm::find_if(choice.candidates, [&](const cm::Candidate &k) {
        return k.config == want && k.spills == 0;
      });
      if (c == choice.candidates.end()) {
        module.emitError() << "fd-select-kernels: force " << it->first << "="
                           << want.rows << "," << want.lanes << ","
                           << want.waves
                           << ": not a candidate without spills for N="
                           << g.shape.n << " K=" << g.shape.k;
        return signalPassFailure();
      }
      choice.chosen = static_cast<size_t>(c - choice.candidates.begin());
      choice.byMeasurement = false;
      choice.reason = llvm::formatv("forced (--force-config; predicted {0:f2} us, "
                                    "the model's pick {1:f2} us)",
                                    c->prediction.micros,
                                    choice.candidates[pick.index]
                                        .prediction.micros)
                          .str();
    }
    const cm::Candidate &best = choice.candidates[choice.chosen];
    const int64_t gridX = cm::gemvGridX(g.shape, best.config);
    NamedAttrList cost;
    cost.set("predicted_us", b.getF64FloatAttr(best.prediction.micros));
    if (choice.measured[choice.chosen] > 0) {
      cost.set("measured_us",
               b.getF64FloatAttr(choice.measured[choice.chosen]));
    }
    cost.set("occupancy",
             b.getF64FloatAttr(best.prediction.occupancy.fraction));
    cost.set("registers", b.getI64IntegerAttr(best.registers));
    cost.set("candidates",
             b.getI64IntegerAttr(static_cast<int64_t>(g.configs.size())));
    cost.set("bound", b.getStringAttr(best.prediction.boundBy));
    cost.set("reason", b.getStringAttr(choice.reason));
    DictionaryAttr costAttr = cost.getDictionary(b.getContext());
    for (fdk::LaunchOp l : g.launches) {
      l.setParamsAttr(withConfig(b, l.getParams(), best.config));
      l.setGridAttr(
          b.getDenseI64ArrayAttr({gridX, l.getGrid()[1], l.getGrid()[2]}));
      l.setBlockAttr(
          b.getDenseI64ArrayAttr({best.config.blockThreads(), 1, 1}));
      l->setAttr("fdkernel.cost", costAttr);
    }
    if (sink_) {
      sink_->push_back(std::move(choice));
    }
  }
  // A force naming no GEMV template of this plan would do nothing: a typo.
  for (const auto &[name, c] : forced) {
    if (!usedForce.count(name)) {
      module.emitError() << "fd-select-kernels: force " << name
                         << ": no GEMV launch of the plan uses this template";
      return signalPassFailure();
    }
  }
}

} // namespace

std::vector<GemvGroup> collectGemvGroups(ModuleOp module) {
  std::vector<GemvGroup> groups;
  std::map<std::string, size_t> index;
  module.walk([&](fdk::LaunchOp l) {
    if (!isTunedGemv(l.getTemplateName())) {
      return;
    }
    std::string key = shapeKey(l);
    auto [it, inserted] = index.try_emplace(key, groups.size());
    if (inserted) {
      GemvGroup g;
      g.key = key;
      g.shape = shapeOf(l);
      g.configs = cm::gemvCandidates(g.shape);
      groups.push_back(std::move(g));
    }
    groups[it->second].launches.push_back(l);
  });
  return groups;
}

OwningOpRef<ModuleOp>
buildCandidateModule(Location loc, const std::vector<GemvGroup> &groups) {
  OwningOpRef<ModuleOp> scratch = ModuleOp::create(loc);
  OpBuilder b(loc.getContext());
  b.setInsertionPointToEnd(scratch->getBody());
  auto step = fdk::StepOp::create(b, loc, b.getStringAttr("tune"));
  Block *body = new Block();
  step.getBody().push_back(body);
  b.setInsertionPointToEnd(body);
  for (const GemvGroup &g : groups) {
    fdk::LaunchOp l = g.launches.front();
    for (const cm::GemvConfig &c : g.configs) {
      auto clone = cast<fdk::LaunchOp>(b.clone(*l));
      clone.setParamsAttr(withConfig(b, clone.getParams(), c));
      clone.setGridAttr(b.getDenseI64ArrayAttr(
          {cm::gemvGridX(g.shape, c), l.getGrid()[1], l.getGrid()[2]}));
      clone.setBlockAttr(b.getDenseI64ArrayAttr({c.blockThreads(), 1, 1}));
    }
  }
  return scratch;
}

std::unique_ptr<Pass>
createSelectKernelsPass(const SelectKernelsPassOptions &options,
                        std::vector<KernelChoice> *sink) {
  return std::make_unique<SelectKernelsPass>(options, sink);
}

} // namespace fd::transforms
