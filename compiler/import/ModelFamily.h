//===- ModelFamily.h - supported model families -----------------*- C++ -*-===//

#ifndef FUSEDECODE_COMPILER_IMPORT_MODELFAMILY_H
#define FUSEDECODE_COMPILER_IMPORT_MODELFAMILY_H

namespace fd::import {

enum class Family {
  /// Qwen3.5 MoE: hybrid Gated DeltaNet / gated attention, shared expert.
  Qwen35Moe,
  /// Qwen3 MoE: plain attention with q/k norm, no shared expert.
  Qwen3Moe,
};

inline const char *familyName(Family f) {
  return f == Family::Qwen35Moe ? "qwen3.5-moe" : "qwen3-moe";
}

} // namespace fd::import

#endif
