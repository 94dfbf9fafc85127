//===- KernelRegistry.h - the kernel templates' signatures ------*- C++ -*-===//
//
// What codegen and the runtime must know about each template of
// codegen-templates/: its template parameters in order (how an fdkernel
// launch's `params` become template arguments) and its kernel arguments in
// order (how `ins`, `outs` and `scalars` become the argument list).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_KERNELREGISTRY_H
#define FUSEDECODE_COMPILER_CODEGEN_KERNELREGISTRY_H

#include <string>
#include <vector>

namespace fd::codegen {

struct TemplateParam {
  enum Kind { Int, Bool, FloatOrBf16 } kind;
  std::string name; // FloatOrBf16: true -> float, false -> uint16_t (bf16)
};

struct KernelArg {
  enum Kind { In, Out, Scalar } kind;
  std::string name;
  std::string ctype; // as in the template's signature
};

struct TemplateInfo {
  std::string name;
  std::string header; // under codegen-templates/
  std::vector<TemplateParam> params;
  std::vector<KernelArg> args;
};

/// The entry for `name`, or null.
const TemplateInfo *lookupTemplate(const std::string &name);
const std::vector<TemplateInfo> &allTemplates();

} // namespace fd::codegen

#endif
