//===- TuningJob.cpp - what fd-tune measures on the GPU -------------------===//

#include "compiler/transforms/TuningJob.h"

#include "compiler/codegen/KernelRegistry.h"
#include "compiler/codegen/KernelSource.h"
#include "compiler/codegen/ResourceCache.h"
#include "compiler/costmodel/TargetInfo.h"
#include "compiler/transforms/SelectKernels.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace json = llvm::json;

namespace fd::transforms {

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// How fd-tune fills a buffer so the kernel sees data of the real kind:
/// weights by their packed layout, other buffers by the argument's C type.
std::string fillOf(fdk::BufferOp b, const codegen::KernelArg &arg,
                   fdk::LaunchOp l) {
  if (b.getKind() == fdk::BufferKind::weight && b.getLayout()) {
    return b.getLayout()->str();
  }
  if (arg.name == "expertIds") {
    return "ids";
  }
  if (arg.name == "done") { // router_gemv_topk's block count starts at 0
    return "zero";
  }
  StringRef ctype = arg.ctype;
  if (ctype.contains("X_F32")) {
    auto f = l.getParams().getAs<BoolAttr>("X_F32");
    return f && f.getValue() ? "f32" : "bf16";
  }
  return ctype.contains("float") ? "f32" : "bf16";
}

} // namespace

llvm::Expected<TuningJobSummary>
writeTuningJob(ModuleOp module, codegen::GpuTarget target,
               const std::string &dir,
               const codegen::DeviceCompileOptions &options) {
  const std::string tname = codegen::targetName(target);
  const costmodel::TargetInfo *info = costmodel::lookupTarget(tname);
  if (!info) {
    return error("no target description for " + tname);
  }
  OwningOpRef<ModuleOp> copy(module.clone());
  copy->walk([&](fdk::LaunchOp l) {
    l.setTargetAttr(fdk::TargetAttr::get(module.getContext(),
                                         *fdk::symbolizeTarget(tname)));
  });
  std::vector<GemvGroup> groups = collectGemvGroups(*copy);
  if (groups.empty()) {
    return error("the plan has no GEMV launches to tune");
  }
  OwningOpRef<ModuleOp> scratch = buildCandidateModule(copy->getLoc(), groups);
  llvm::Expected<codegen::KernelSource> source =
      codegen::generateKernelSource(*scratch);
  if (!source) {
    return source.takeError();
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    return error(dir + ": " + ec.message());
  }
  codegen::DeviceCompileOptions compile = options;
  llvm::SmallString<256> work(dir);
  llvm::sys::path::append(work, "build");
  compile.workDir = std::string(work);
  llvm::Expected<codegen::DeviceBinary> bin =
      codegen::compileForTarget(source->text, target, compile);
  if (!bin) {
    return bin.takeError();
  }
  if (llvm::Error e = codegen::bindSymbols(*source, bin->kernels)) {
    return std::move(e);
  }
  llvm::sys::fs::remove_directories(work);
  const std::string objectName = std::string("candidates.") + tname +
                                 (codegen::isAmd(target) ? ".hsaco" : ".cubin");
  llvm::SmallString<256> objectPath(dir);
  llvm::sys::path::append(objectPath, objectName);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec);
    if (ec) {
      return error(objectPath + ": " + ec.message());
    }
    os.write(reinterpret_cast<const char *>(bin->image.data()),
             bin->image.size());
  }

  std::map<std::string, fdk::BufferOp> buffersByName;
  module.walk(
      [&](fdk::BufferOp b) { buffersByName[b.getSymName().str()] = b; });
  struct JobBuffer {
    std::string name, fill;
    int64_t size = 0, idsBelow = 0, copies = 1;
  };
  std::vector<JobBuffer> buffers;
  std::map<std::string, size_t> bufferIndex;
  std::map<std::string, const codegen::KernelResources *> bySymbol;
  for (const codegen::KernelResources &k : bin->kernels) {
    bySymbol[k.name] = &k;
  }
  // Rotation: enough copies of a shape's inputs that one pass over them
  // is four times the last-level cache (at most 64 copies); expert ids get
  // 64 draws each, so the experts read change even where the expert
  // weights are too large to copy.
  const int64_t rotateBytes = 4 * info->lastLevelCacheBytes;
  constexpr int64_t kMaxCopies = 64;

  TuningJobSummary summary;
  json::Array shapes;
  std::vector<fdk::LaunchOp> candidates;
  for (auto step : scratch->getOps<fdk::StepOp>()) {
    for (auto l : step.getBody().getOps<fdk::LaunchOp>()) {
      candidates.push_back(l);
    }
  }
  size_t at = 0;
  for (const GemvGroup &g : groups) {
    fdk::LaunchOp first = g.launches.front();
    const codegen::TemplateInfo *tinfo =
        codegen::lookupTemplate(first.getTemplateName().str());
    if (!tinfo) {
      return error("no registry entry for template " + first.getTemplateName());
    }
    // The shape's buffers (shared by all its candidates) and their bytes.
    std::vector<size_t> used;
    int64_t shapeBytes = 0;
    json::Array args;
    size_t in = 0, out = 0;
    for (const codegen::KernelArg &a : tinfo->args) {
      if (a.kind == codegen::KernelArg::Scalar) {
        Attribute v = first.getScalars().get(a.name);
        if (!v && a.optional) { // an optional argument's 0
          args.push_back(a.ctype == "float" ? json::Object{{"f32", 0.0}}
                                            : json::Object{{"i32", 0}});
          continue;
        }
        if (!v) {
          return error("launch of " + first.getTemplateName() +
                       " lacks scalar '" + a.name + "'");
        }
        if (a.ctype == "float") {
          args.push_back(
              json::Object{{"f32", cast<FloatAttr>(v).getValueAsDouble()}});
        } else if (a.ctype == "uint64_t") {
          args.push_back(json::Object{{"u64", cast<IntegerAttr>(v).getInt()}});
        } else {
          args.push_back(json::Object{{"i32", cast<IntegerAttr>(v).getInt()}});
        }
        continue;
      }
      ArrayAttr refs =
          a.kind == codegen::KernelArg::In ? first.getIns() : first.getOuts();
      size_t &pos = a.kind == codegen::KernelArg::In ? in : out;
      if (a.optional && pos >= refs.size()) {
        args.push_back(json::Object{{"null", true}});
        continue;
      }
      auto ref = cast<FlatSymbolRefAttr>(refs[pos++]);
      if (ref.getValue() == "__null") {
        args.push_back(json::Object{{"null", true}});
        continue;
      }
      auto it = buffersByName.find(ref.getValue().str());
      if (it == buffersByName.end()) {
        return error("launch names unknown buffer @" + ref.getValue());
      }
      auto [bi, inserted] = bufferIndex.try_emplace(it->first, buffers.size());
      if (inserted) {
        JobBuffer jb;
        jb.name = it->first;
        jb.size = static_cast<int64_t>(it->second.getSize());
        jb.fill = fillOf(it->second, a, first);
        buffers.push_back(jb);
      } else if (fillOf(it->second, a, first) == "ids") {
        // The fused router writes the ids that the experts' launches read:
        // whichever names the buffer first, the readers need valid ids.
        buffers[bi->second].fill = "ids";
      }
      if (std::find(used.begin(), used.end(), bi->second) == used.end()) {
        used.push_back(bi->second);
        shapeBytes += buffers[bi->second].size;
      }
      args.push_back(
          json::Object{{"buffer", static_cast<int64_t>(bi->second)}});
    }
    // Expert ids index the experts' packed rows: E = qweight bytes over one
    // expert's (n x k/2 bytes).
    const int64_t copies = std::clamp<int64_t>(
        (rotateBytes + shapeBytes - 1) / std::max<int64_t>(shapeBytes, 1), 1,
        kMaxCopies);
    for (size_t bi : used) {
      JobBuffer &jb = buffers[bi];
      if (jb.fill == "ids") {
        jb.copies = kMaxCopies;
        const int64_t perExpert = g.shape.n * g.shape.k / 2;
        // The largest w4 matrix is the experts' (a w4 shared expert of
        // moe_down_combine is one matrix).
        for (size_t other : used) {
          if (buffers[other].fill == "w4.qweight" && perExpert > 0) {
            jb.idsBelow =
                std::max(jb.idsBelow, buffers[other].size / perExpert);
          }
        }
        if (jb.idsBelow <= 0) {
          return error("cannot tell the expert count of " + jb.name);
        }
      } else {
        jb.copies = std::max(jb.copies, copies);
      }
    }
    json::Array cands;
    for (size_t c = 0; c < g.configs.size(); ++c, ++at) {
      fdk::LaunchOp l = candidates[at];
      const codegen::KernelInstance &inst =
          source->instances[source->launchInstance[at]];
      auto r = bySymbol.find(inst.symbol);
      if (r != bySymbol.end() &&
          r->second->spillStores + r->second->spillLoads +
                  r->second->scratchBytesPerLane + r->second->stackBytes >
              0) {
        ++summary.skippedSpilling;
        continue;
      }
      cands.push_back(json::Object{
          {"ROWS", g.configs[c].rows},
          {"LANES", g.configs[c].lanes},
          {"WAVES", g.configs[c].waves},
          {"symbol", inst.symbol},
          {"grid", json::Array{l.getGrid()[0], l.getGrid()[1], l.getGrid()[2]}},
          {"block",
           json::Array{l.getBlock()[0], l.getBlock()[1], l.getBlock()[2]}},
          {"args", json::Array(args)}});
      ++summary.candidates;
    }
    shapes.push_back(
        json::Object{{"key", g.key},
                     {"template", first.getTemplateName().str()},
                     {"shape", describeShape(g.shape)},
                     {"launches", static_cast<int64_t>(g.launches.size())},
                     {"candidates", std::move(cands)}});
    ++summary.shapes;
  }
  json::Array jsonBuffers;
  for (const JobBuffer &b : buffers) {
    json::Object o{{"name", b.name},
                   {"size", b.size},
                   {"fill", b.fill},
                   {"copies", b.copies}};
    if (b.fill == "ids") {
      o["ids_below"] = b.idsBelow;
    }
    jsonBuffers.push_back(std::move(o));
  }
  json::Object job{
      {"format", "fusedecode-tuning-job"},
      {"version", 1},
      {"target", tname},
      {"templates_hash", codegen::hashTemplates(options.includeDirs)},
      {"compiler", bin->compilerVersion},
      {"code_object", objectName},
      {"buffers", std::move(jsonBuffers)},
      {"shapes", std::move(shapes)}};
  llvm::SmallString<256> jobPath(dir);
  llvm::sys::path::append(jobPath, "job.json");
  std::error_code ec;
  llvm::raw_fd_ostream os(jobPath, ec);
  if (ec) {
    return error(jobPath + ": " + ec.message());
  }
  os << llvm::formatv("{0:1}", json::Value(std::move(job))) << "\n";
  summary.jobFile = std::string(jobPath);
  return summary;
}

} // namespace fd::transforms
