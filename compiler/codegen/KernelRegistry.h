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
  /// Optional parameters come last; a launch without them gets 0 / false
  /// (the template's defaults).
  bool optional = false;
};

struct KernelArg {
  enum Kind { In, Out, Scalar } kind;
  std::string name;
  std::string ctype; // as in the template's signature
  /// Optional arguments come last in the signature (so last among the ins,
  /// the outs and the scalars): a launch gives all of them or none; without
  /// them, pointers are null and scalars 0.
  bool optional = false;
};

struct TemplateInfo {
  std::string name;
  std::string header; // under codegen-templates/
  std::vector<TemplateParam> params;
  std::vector<KernelArg> args;
  /// The argument whose activations the RMSNorm prologue can compute
  /// (fd-fuse-rms-norm; the optional NORM / NORM_K parameters and normH,
  /// normW, normOut, normEps arguments), or empty.
  std::string normInput = {};
  /// Asks L2 for (part of) its read-only weights before
  /// waitForPreviousLaunch (platform layer): the launches that gain from
  /// starting while the previous one finishes. Set in the registry from the
  /// templates' code; the others only wait there.
  bool prefetchesWeights = false;
};

/// The counts of a template's arguments of one kind: all, and without the
/// optional ones (a launch must give one of the two).
struct ArgCounts {
  size_t all = 0, required = 0;
};
ArgCounts countArgs(const TemplateInfo &t, KernelArg::Kind kind);

/// The entry for `name`, or null.
const TemplateInfo *lookupTemplate(const std::string &name);
const std::vector<TemplateInfo> &allTemplates();

} // namespace fd::codegen

#endif
