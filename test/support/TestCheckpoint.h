//===- TestCheckpoint.h - checkpoints to break, for tests -------*- C++ -*-===//
//
// A synthetic checkpoint held as data (tensor plan, config JSON, shard count)
// so a test can change one thing, write it, and check what the importer says.
// Raw-file helpers corrupt what is on disk afterwards.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEST_SUPPORT_TESTCHECKPOINT_H
#define FUSEDECODE_TEST_SUPPORT_TESTCHECKPOINT_H

#include "compiler/synth/Synth.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace fd::test {

struct TestCheckpoint {
  synth::SynthOptions opts;
  std::vector<synth::TensorPlan> plan;
  nlohmann::ordered_json config;
  /// Shards to split the plan into; 1 writes a single model.safetensors.
  int shards = 3;

  /// The tiny Qwen3.5 preset with `quant`, in the multimodal layout.
  static TestCheckpoint
  tiny(synth::QuantKind quant = synth::QuantKind::AutoRoundInt4,
       const std::string &preset = "tiny");

  /// Finds a planned tensor by name; aborts the test if absent.
  synth::TensorPlan &tensor(const std::string &name);
  void remove(const std::string &name);

  /// Writes config.json, shards and (for shards > 1) the index into `dir`,
  /// which is emptied first. Returns the shard file names.
  std::vector<std::string> write(const std::string &dir) const;
};

/// A fresh empty directory under the test temp dir.
std::string freshDir(const std::string &name);

/// Replaces the header JSON of a safetensors file, keeping its data region.
void rewriteHeader(const std::string &path,
                   const std::function<void(nlohmann::json &)> &edit);
/// Writes `bytes` as the whole file.
void writeFile(const std::string &path, const std::string &bytes);
std::string readFile(const std::string &path);

} // namespace fd::test

#endif
