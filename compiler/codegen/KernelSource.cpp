//===- KernelSource.cpp - kernels.hip from an fdkernel decode step --------===//

#include "compiler/codegen/KernelSource.h"

#include "compiler/codegen/KernelRegistry.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "llvm/Demangle/Demangle.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <set>

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace fd::codegen {

namespace {
llvm::Error launchError(fdk::LaunchOp l, const llvm::Twine &msg) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  l.getLoc().print(os);
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "launch of '" + l.getTemplateName() + "' at " +
                                     loc + ": " + msg.str());
}
} // namespace

llvm::Expected<KernelSource> generateKernelSource(ModuleOp module) {
  KernelSource out;
  std::map<std::string, size_t> byKey;
  std::set<std::string> headers;
  std::string decls;
  for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
    for (fdk::LaunchOp l : step.getBody().getOps<fdk::LaunchOp>()) {
      const TemplateInfo *info = lookupTemplate(l.getTemplateName().str());
      if (!info) {
        return launchError(l, "no such kernel template");
      }
      std::string spelled = "fd::kernels::" + info->name + "<";
      std::string demangled = spelled;
      std::map<std::string, std::string> typeOf; // type parameter -> C++ type
      for (size_t i = 0; i < info->params.size(); ++i) {
        const TemplateParam &p = info->params[i];
        Attribute a = l.getParams().get(p.name);
        if (!a && p.optional) { // the template's default, spelled out
          const bool type = p.kind == TemplateParam::FloatOrBf16;
          spelled +=
              std::string(i ? ", " : "") + (p.kind == TemplateParam::Int ? "0"
                                            : type ? "uint16_t"
                                                   : "false");
          demangled +=
              std::string(i ? ", " : "") + (p.kind == TemplateParam::Int ? "0"
                                            : type ? "unsigned short"
                                                   : "false");
          if (type) {
            typeOf[p.name] = "uint16_t";
          }
          continue;
        }
        if (!a) {
          return launchError(l, "missing template parameter '" + p.name + "'");
        }
        std::string s, d;
        if (p.kind == TemplateParam::Int) {
          auto v = dyn_cast<IntegerAttr>(a);
          if (!v) {
            return launchError(l, "template parameter '" + p.name +
                                      "' must be an integer");
          }
          s = d = std::to_string(v.getInt());
        } else {
          auto v = dyn_cast<BoolAttr>(a);
          if (!v) {
            return launchError(l, "template parameter '" + p.name +
                                      "' must be a bool");
          }
          if (p.kind == TemplateParam::Bool) {
            s = d = v.getValue() ? "true" : "false";
          } else {
            s = v.getValue() ? "float" : "uint16_t";
            d = v.getValue() ? "float" : "unsigned short";
            typeOf[p.name] = s;
          }
        }
        spelled += (i ? ", " : "") + s;
        demangled += (i ? ", " : "") + d;
      }
      size_t namedParams = 0;
      for (const TemplateParam &p : info->params) {
        namedParams += l.getParams().get(p.name) ? 1 : 0;
      }
      if (l.getParams().size() != namedParams) {
        return launchError(l, "has " + std::to_string(l.getParams().size()) +
                                  " template parameters, the template takes " +
                                  std::to_string(info->params.size()));
      }
      spelled += ">";
      demangled += ">(";
      std::string signature;
      for (const KernelArg &arg : info->args) {
        std::string type = arg.ctype;
        for (auto &[param, ctype] : typeOf) {
          size_t at = type.find(param);
          if (at != std::string::npos) {
            type.replace(at, param.size(), ctype);
          }
        }
        signature += (signature.empty() ? "" : ", ") + type;
        if (arg.kind == KernelArg::Scalar && !arg.optional &&
            !l.getScalars().get(arg.name)) {
          return launchError(l, "missing scalar '" + arg.name + "'");
        }
      }
      // The optional arguments: all of them or none.
      const ArgCounts in = countArgs(*info, KernelArg::In),
                      outc = countArgs(*info, KernelArg::Out),
                      sc = countArgs(*info, KernelArg::Scalar);
      const bool optional = in.all != in.required
                                ? l.getIns().size() == in.all
                                : l.getOuts().size() == outc.all;
      bool optionalScalars = true;
      for (const KernelArg &arg : info->args) {
        if (arg.kind == KernelArg::Scalar && arg.optional) {
          optionalScalars &= l.getScalars().get(arg.name) != nullptr;
        }
      }
      const size_t wantIns = optional ? in.all : in.required,
                   wantOuts = optional ? outc.all : outc.required,
                   wantScalars = optional ? sc.all : sc.required;
      if (l.getIns().size() != wantIns || l.getOuts().size() != wantOuts ||
          l.getScalars().size() != wantScalars ||
          (optional && !optionalScalars)) {
        return launchError(
            l,
            "expects " + std::to_string(in.required) + " inputs, " +
                std::to_string(outc.required) + " outputs and " +
                std::to_string(sc.required) + " scalars" +
                (in.all != in.required || outc.all != outc.required
                     ? " (or " + std::to_string(in.all) + ", " +
                           std::to_string(outc.all) + " and " +
                           std::to_string(sc.all) + " with the optional ones)"
                     : std::string()));
      }
      auto [it, inserted] = byKey.try_emplace(spelled, out.instances.size());
      if (inserted) {
        out.instances.push_back(
            KernelInstance{info->name, spelled, demangled, ""});
        headers.insert(info->header);
        decls += "template __global__ void " + spelled.substr(13) + "(" +
                 signature + ");\n";
      }
      out.launchInstance.push_back(it->second);
    }
  }
  if (out.launchInstance.empty()) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the module has no fdkernel launches (lower it first)");
  }
  out.text = "// Generated by compile-model: one instance per kernel "
             "configuration the\n"
             "// decode plan launches. Compiles for every target through the "
             "platform\n"
             "// layer in codegen-templates/platform/.\n\n";
  // The bandwidth kernel `bench` measures the roofline with (extern "C").
  headers.insert("bench.h");
  for (const std::string &h : headers) {
    out.text += "#include \"" + h + "\"\n";
  }
  out.text += "\nnamespace fd::kernels {\n\n" + decls +
              "\n} // namespace fd::kernels\n";
  return out;
}

llvm::Error bindSymbols(KernelSource &source,
                        const std::vector<KernelResources> &kernels) {
  for (KernelInstance &inst : source.instances) {
    inst.symbol.clear();
    for (const KernelResources &k : kernels) {
      std::string d = llvm::demangle(k.name);
      if (d.find(inst.demangledPrefix) != std::string::npos) {
        inst.symbol = k.name;
        break;
      }
    }
    if (inst.symbol.empty()) {
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "the device compile produced no kernel for " + inst.spelled);
    }
  }
  return llvm::Error::success();
}

} // namespace fd::codegen
