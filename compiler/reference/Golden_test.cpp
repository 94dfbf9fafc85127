//===- Golden_test.cpp - fd-ref against HF transformers goldens ----------===//
//
// For every case of test/goldens/cases.txt: regenerate the checkpoint with
// fd-synth's library (deterministic), import it, run the reference executor
// on the recorded prompt and compare each step's logits with the ones
// transformers 5.17 produced (test/goldens/hf_goldens.py):
//   max |logit - golden| / std(golden row) <= 1e-3 and identical argmax.
// docs/reference.md explains the tolerance.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefExecutor.h"
#include "compiler/synth/Synth.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace fd;
namespace fs = std::filesystem;

namespace {

struct GoldenCase {
  std::string name, preset, quant, layout;
  uint64_t seed = 0;
};

std::vector<GoldenCase> readCases() {
  std::vector<GoldenCase> cases;
  std::ifstream in(std::string(FD_GOLDENS_DIR) + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream ss(line);
    GoldenCase c;
    ss >> c.name >> c.preset >> c.quant >> c.layout >> c.seed;
    cases.push_back(c);
  }
  return cases;
}

/// Relative tolerance of the comparison (docs/reference.md).
constexpr double kTolerance = 1e-3;

class Golden : public testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, ReferenceMatchesTransformers) {
  const GoldenCase &c = GetParam();
  std::string base = std::string(FD_GOLDENS_DIR) + "/" + c.name;
  nlohmann::json meta = nlohmann::json::parse(test::readFile(base + ".json"));
  int64_t vocab = meta["vocab_size"];
  int steps = meta["steps"];
  std::string raw = test::readFile(base + ".logits.f32");
  ASSERT_EQ(raw.size(), static_cast<size_t>((steps + 1) * vocab) * 4);
  std::vector<float> golden(raw.size() / 4);
  std::memcpy(golden.data(), raw.data(), raw.size());

  synth::SynthOptions o;
  o.shape = llvm::cantFail(synth::preset(c.preset));
  o.quant = llvm::cantFail(synth::parseQuantKind(c.quant));
  o.layout =
      c.layout == "causal" ? synth::Layout::Causal : synth::Layout::Multimodal;
  o.seed = c.seed;
  std::string dir = test::freshDir("ckpt");
  ASSERT_FALSE(static_cast<bool>(synth::writeCheckpoint(o, dir)));

  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = import::importCheckpoint(ctx, dir);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto program = reference::buildRefProgram(**module, dir);
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  ASSERT_EQ(program->vocabSize, vocab);

  reference::RefExecutor exec(std::move(*program));
  std::vector<int32_t> prompt = meta["prompt_ids"].get<std::vector<int32_t>>();
  auto gen = exec.generate(prompt, steps);
  std::vector<int32_t> tokens = meta["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(gen.tokens, tokens);
  double worst = 0;
  for (int r = 0; r <= steps; ++r) {
    const float *g = golden.data() + r * vocab;
    double mean = 0, var = 0, maxDiff = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      mean += g[i];
    }
    mean /= static_cast<double>(vocab);
    for (int64_t i = 0; i < vocab; ++i) {
      var += (g[i] - mean) * (g[i] - mean);
      maxDiff = std::max(
          maxDiff, std::abs(static_cast<double>(gen.logits[r][i]) - g[i]));
    }
    double rel = maxDiff / std::sqrt(var / static_cast<double>(vocab));
    worst = std::max(worst, rel);
    EXPECT_LE(rel, kTolerance) << "step " << r;
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::cout << "[ golden   ] " << c.name
            << ": worst max|dlogit|/std = " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(HF, Golden, testing::ValuesIn(readCases()),
                         [](const testing::TestParamInfo<GoldenCase> &i) {
                           std::string n = i.param.name;
                           for (char &ch : n) {
                             if (!std::isalnum(
                                     static_cast<unsigned char>(ch))) {
                               ch = '_';
                             }
                           }
                           return n;
                         });

} // namespace
