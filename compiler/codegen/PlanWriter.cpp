//===- PlanWriter.cpp - the launch plan the runtime executes --------------===//

#include "compiler/codegen/PlanWriter.h"

#include "compiler/codegen/KernelRegistry.h"
#include "compiler/codegen/Traffic.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
namespace fdk = fd::fdkernel;
namespace json = llvm::json;

namespace fd::codegen {

bool launchOverlaps(OverlapLaunches mode, const TemplateInfo *info) {
  return mode == OverlapLaunches::All ||
         (mode == OverlapLaunches::Prefetching && info &&
          info->prefetchesWeights);
}

llvm::Expected<std::string>
writePlanJson(ModuleOp module, const std::vector<TargetPlan> &targets,
              uint64_t planHash) {
  auto launchesOf = [](ModuleOp m) {
    std::vector<fdk::LaunchOp> out;
    for (fdk::StepOp step : m.getOps<fdk::StepOp>()) {
      for (fdk::LaunchOp l : step.getBody().getOps<fdk::LaunchOp>()) {
        out.push_back(l);
      }
    }
    return out;
  };
  std::vector<std::vector<fdk::LaunchOp>> perTarget;
  for (const TargetPlan &t : targets) {
    perTarget.push_back(launchesOf(t.module));
  }
  json::Array buffers;
  std::map<std::string, int64_t> index;
  module.walk([&](fdk::BufferOp b) {
    json::Object o{{"name", b.getSymName().str()},
                   {"kind", fdk::stringifyBufferKind(b.getKind()).str()},
                   {"size", static_cast<int64_t>(b.getSize())},
                   {"offset", static_cast<int64_t>(b.getOffset())}};
    if (b.getKind() == fdk::BufferKind::weight) {
      // The weights-file tensor has the buffer's name.
      o["layout"] = b.getLayout()->str();
      // The fdgraph weight it holds: the CPU backend's reference program
      // names weights by it.
      o["weight"] = b.getWeight()->str();
    }
    index[b.getSymName().str()] = static_cast<int64_t>(buffers.size());
    buffers.push_back(std::move(o));
  });
  json::Array launches;
  size_t i = 0;
  for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
    for (fdk::LaunchOp l : step.getBody().getOps<fdk::LaunchOp>()) {
      const TemplateInfo *info = lookupTemplate(l.getTemplateName().str());
      json::Object kernel;
      for (size_t t = 0; t < targets.size(); ++t) {
        if (i >= perTarget[t].size() ||
            i >= targets[t].source->launchInstance.size() ||
            perTarget[t][i].getTemplateName() != l.getTemplateName()) {
          return llvm::createStringError(
              llvm::inconvertibleErrorCode(),
              "the " + targets[t].target +
                  " plan does not match the base plan's launches");
        }
        fdk::LaunchOp tl = perTarget[t][i];
        const KernelInstance &inst =
            targets[t].source->instances[targets[t].source->launchInstance[i]];
        json::Object k{{"symbol", inst.symbol},
                       {"grid", json::Array{tl.getGrid()[0], tl.getGrid()[1],
                                            tl.getGrid()[2]}},
                       {"block", json::Array{tl.getBlock()[0], tl.getBlock()[1],
                                             tl.getBlock()[2]}}};
        if (launchOverlaps(targets[t].overlap, info)) {
          k["overlap"] = true;
        }
        kernel[targets[t].target] = std::move(k);
      }
      ++i;
      json::Array args;
      size_t in = 0, out = 0;
      for (const KernelArg &a : info->args) {
        if (a.kind == KernelArg::Scalar) {
          Attribute v = l.getScalars().get(a.name);
          json::Object arg{{"name", a.name}};
          if (!v && a.optional) { // an optional argument's 0
            arg[a.ctype == "float" ? "f32" : "i32"] = 0;
            args.push_back(std::move(arg));
            continue;
          }
          if (a.ctype == "float") {
            arg["f32"] = cast<FloatAttr>(v).getValueAsDouble();
          } else if (a.ctype == "uint64_t") {
            arg["u64"] = cast<IntegerAttr>(v).getInt();
          } else {
            arg["i32"] = cast<IntegerAttr>(v).getInt();
          }
          args.push_back(std::move(arg));
          continue;
        }
        ArrayAttr refs = a.kind == KernelArg::In ? l.getIns() : l.getOuts();
        size_t &pos = a.kind == KernelArg::In ? in : out;
        if (a.optional && pos >= refs.size()) {
          args.push_back(json::Object{{"name", a.name}, {"null", true}});
          continue;
        }
        auto ref = cast<FlatSymbolRefAttr>(refs[pos++]);
        if (ref.getValue() == "__null") {
          args.push_back(json::Object{{"name", a.name}, {"null", true}});
          continue;
        }
        auto it = index.find(ref.getValue().str());
        if (it == index.end()) {
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "launch names unknown buffer @" +
                                             ref.getValue());
        }
        args.push_back(json::Object{{"name", a.name}, {"buffer", it->second}});
      }
      // Bytes per token against which `bench` measures the launch.
      json::Array traffic;
      for (const TrafficItem &t : launchTraffic(module, l)) {
        json::Object o{{"category", t.category}, {"bytes", t.bytes}};
        if (t.perPosition) {
          o["per_position"] = t.perPosition;
        }
        traffic.push_back(std::move(o));
      }
      launches.push_back(json::Object{{"kernel", std::move(kernel)},
                                      {"template", l.getTemplateName().str()},
                                      {"args", std::move(args)},
                                      {"traffic", std::move(traffic)}});
    }
  }
  int64_t arena = 0;
  if (auto a = module->getAttrOfType<IntegerAttr>("fdkernel.arena_size")) {
    arena = a.getInt();
  }
  int64_t maxContext = 0;
  if (auto a = module->getAttrOfType<IntegerAttr>("fdkernel.max_context")) {
    maxContext = a.getInt();
  }
  json::Object plan{{"format", "fusedecode-plan"},
                    {"max_context", maxContext},
                    {"version", 2},
                    {"plan_hash", llvm::formatv("{0:x16}", planHash).str()},
                    {"arena_bytes", arena},
                    {"buffers", std::move(buffers)},
                    {"decode", std::move(launches)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:1}", json::Value(std::move(plan))) << "\n";
  return text;
}

} // namespace fd::codegen
