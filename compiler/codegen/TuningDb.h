//===- TuningDb.h - measured GEMV times from --autotune ---------*- C++ -*-===//
//
// fd-tune (runtime/tools) times every candidate instance of every GEMV shape
// on a GPU and writes them to <dir>/<target>.json; fd-select-kernels reads
// that file back and lets the measurements, not the model, choose. An entry
// is keyed by the same string that groups launches into one decision
// (template, fixed parameters, shape). The file records the template-source
// hash and device compiler the candidates were built with: measurements of
// other kernels are stale and are not used.
//
// Format (version 1):
//   {"format": "fusedecode-tuning", "version": 1, "target": "sm_90",
//    "device": "NVIDIA H100 80GB HBM3", "templates_hash": "…",
//    "compiler": "…", "entries": [
//      {"key": "…", "template": "gemv_w4a16", "shape": "N=… K=…",
//       "measured": [{"ROWS": 2, "LANES": 32, "WAVES": 4, "us": 11.2,
//                     "se_pct": 0.1, "replays": 12, "launches": 640}]}]}
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_TUNINGDB_H
#define FUSEDECODE_COMPILER_CODEGEN_TUNINGDB_H

#include "llvm/Support/Error.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fd::codegen {

struct TunedConfig {
  int rows = 0, lanes = 0, waves = 0;
  double micros = 0; // per launch, back to back in a replayed graph
  double sePct = 0;  // standard error of the mean, % of it
  int64_t replays = 0, launches = 0;
};

struct TuningEntry {
  std::string templateName, shape;
  std::vector<TunedConfig> measured;
  /// The measurement of (rows, lanes, waves), or null.
  const TunedConfig *find(int rows, int lanes, int waves) const;
};

struct TuningDb {
  std::string path, target, device, templatesHash, compiler;
  std::map<std::string, TuningEntry> entries; // by key
};

/// <dir>/<target>.json.
std::string tuningDbFile(const std::string &dir, const std::string &target);

/// Reads <dir>/<target>.json; std::nullopt when there is no such file. A
/// file that is not a well-formed version-1 database for `target` is an
/// error naming the file and the field.
llvm::Expected<std::optional<TuningDb>> loadTuningDb(const std::string &dir,
                                                     const std::string &target);

} // namespace fd::codegen

#endif
