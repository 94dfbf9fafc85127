//===- fd-random-weights.cpp - a weights file of random values ------------===//
//
//   fd-random-weights OUT/<model> --seed 1 -o /tmp/weights.fdw
//
// Writes the packed weights file of a compiled model (the executable or its
// directory) holding exactly the bytes `--random-weights SEED` puts on the
// GPU, every buffer of the plan in its layout, checksummed and tied to the
// plan's hash. For benchmarking the real load path (read, checksum, upload)
// of a model compiled --skip-weights, where no checkpoint is at hand (the
// GPU machine has no compiler): `bench --weights F` then loads it, and its
// tokens must equal those of `--random-weights SEED`.
//
// Needs no compiler libraries: plan.json through the runtime, the file
// through compiler/codegen's plain C++ writer (the one compile-model uses).
//
//===----------------------------------------------------------------------===//

#include "Bundle.h"
#include "Plan.h"
#include "RandomFill.h"

#include "compiler/codegen/WeightFile.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

/// The message of `e` (freed), for a one-line error.
std::string take(fd_error_t e) {
  std::string m = fd_error_message(e);
  fd_error_free(e);
  return m;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Write a compiled model's weights file with the random values "
               "of --random-weights SEED (no checkpoint needed)",
               "fd-random-weights"};
  std::string model, output;
  uint64_t seed = 1;
  unsigned threads = 0;
  bool quiet = false;
  app.add_option("model", model,
                 "The compiled model: OUT/<model> or the OUT directory")
      ->required();
  app.add_option("-o,--output", output, "The weights file to write")
      ->required();
  app.add_option("--seed", seed, "The --random-weights seed to reproduce");
  app.add_option("--threads", threads,
                 "Threads making the values (default: one per core, at most "
                 "16); the bytes do not depend on it");
  app.add_flag("-q,--quiet", quiet, "No summary on stderr");
  CLI11_PARSE(app, argc, argv);

  fd::runtime::Bundle bundle;
  if (fd_error_t e = fd::runtime::openBundle(model, bundle)) {
    std::fprintf(stderr, "fd-random-weights: error: %s\n", take(e).c_str());
    return 1;
  }
  const std::string *planText = bundle.find("plan.json");
  if (!planText) {
    std::fprintf(stderr, "fd-random-weights: error: %s: no plan.json\n",
                 bundle.origin.c_str());
    return 1;
  }
  fd::runtime::Plan plan;
  if (fd_error_t e = fd::runtime::parsePlan(
          *planText, bundle.origin + ": plan.json", plan)) {
    std::fprintf(stderr, "fd-random-weights: error: %s\n", take(e).c_str());
    return 1;
  }

  std::vector<size_t> index; // plan buffer of each tensor
  std::vector<fd::codegen::PackedTensor> tensors;
  uint64_t total = 0;
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const fd::runtime::PlanBuffer &b = plan.buffers[i];
    if (b.kind != "weight") {
      continue;
    }
    index.push_back(i);
    tensors.push_back(fd::codegen::PackedTensor{
        b.name, fdw_dtype_for_layout(b.layout.c_str()), {}, b.size});
    total += b.size;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string err = fd::codegen::writeWeightFile(
      output, plan.hash, tensors,
      [&](size_t t, std::vector<uint8_t> &out) -> std::string {
        const fd::runtime::PlanBuffer &b = plan.buffers[index[t]];
        if (fd_error_t e = fd::runtime::fillRandomHost(
                b.layout, out.data(), out.size(),
                fd::runtime::weightSeed(seed, b.name), threads)) {
          return b.name + ": " + take(e);
        }
        return {};
      });
  if (!err.empty()) {
    std::fprintf(stderr, "fd-random-weights: error: %s\n", err.c_str());
    return 1;
  }
  if (!quiet) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::fprintf(stderr,
                 "fd-random-weights: %zu tensors, %.3f GB (seed %llu) in "
                 "%.1f s: %s\n",
                 tensors.size(), static_cast<double>(total) / 1e9,
                 static_cast<unsigned long long>(seed), s, output.c_str());
  }
  return 0;
}
