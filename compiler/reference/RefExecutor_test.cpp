//===- RefExecutor_test.cpp - state handling of the reference executor ----===//

#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefExecutor.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace fd;

namespace {

reference::RefProgram load(const std::string &preset) {
  test::TestCheckpoint c =
      test::TestCheckpoint::tiny(synth::QuantKind::AutoRoundInt4, preset);
  std::string dir = test::freshDir(preset);
  c.write(dir);
  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = llvm::cantFail(import::importCheckpoint(ctx, dir));
  return llvm::cantFail(reference::buildRefProgram(*module, dir));
}

double maxDiff(const std::vector<float> &a, const std::vector<float> &b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return d;
}

class Executor : public testing::TestWithParam<const char *> {};

// A prompt fed at once and fed token by token must leave the same state: the
// KV cache, the conv window and the recurrent state are all per token.
TEST_P(Executor, PrefillEqualsTokenByToken) {
  reference::RefProgram program = load(GetParam());
  std::vector<int32_t> prompt = {5, 60, 7, 300, 12, 9, 500};
  reference::RefExecutor whole(program), steps(program);
  std::vector<float> a = whole.forward(prompt);
  std::vector<float> b;
  for (int32_t t : prompt) {
    b = steps.forward({t});
  }
  EXPECT_EQ(whole.position(), 7);
  EXPECT_LE(maxDiff(a, b), 1e-5);
  // And they keep agreeing afterwards.
  EXPECT_LE(maxDiff(whole.forward({42}), steps.forward({42})), 1e-5);
}

TEST_P(Executor, TeacherForcingWithOwnTokensIsGreedy) {
  reference::RefProgram program = load(GetParam());
  reference::RefExecutor exec(program);
  auto greedy = exec.generate({1, 2, 3}, 6);
  exec.reset();
  std::vector<int32_t> forced(greedy.tokens.begin(), greedy.tokens.end() - 1);
  auto teacher = exec.generate({1, 2, 3}, 6, &forced);
  EXPECT_EQ(greedy.tokens, teacher.tokens);
  for (size_t i = 0; i < greedy.logits.size(); ++i) {
    EXPECT_EQ(greedy.logits[i], teacher.logits[i]);
  }
  // Forcing other tokens changes what follows.
  exec.reset();
  std::vector<int32_t> other(6, 11);
  auto changed = exec.generate({1, 2, 3}, 6, &other);
  EXPECT_EQ(changed.logits[0], greedy.logits[0]);
  EXPECT_GT(maxDiff(changed.logits[3], greedy.logits[3]), 1e-3);
}

TEST_P(Executor, ResetForgetsTheState) {
  reference::RefProgram program = load(GetParam());
  reference::RefExecutor exec(program);
  std::vector<float> first = exec.forward({3, 4});
  std::vector<float> second = exec.forward({3, 4});
  EXPECT_GT(maxDiff(first, second), 1e-3) << "state must carry over";
  exec.reset();
  EXPECT_EQ(exec.forward({3, 4}), first);
}

INSTANTIATE_TEST_SUITE_P(Reference, Executor,
                         testing::Values("tiny", "tiny-qwen3-moe"),
                         [](const testing::TestParamInfo<const char *> &i) {
                           return std::string(i.param) == "tiny" ? "Qwen35Moe"
                                                                 : "Qwen3Moe";
                         });

} // namespace

namespace {

// fd-synth's weight scheme must keep activations in a realistic range over
// many layers (docs/architecture.md): the residual stream of a 40-layer tiny
// model (the real model's depth and 3:1 pattern) neither explodes nor
// vanishes, and the logits keep a useful spread.
TEST(Executor, ActivationsStayInRangeOverFortyLayers) {
  synth::SynthOptions o;
  o.shape = *synth::preset("tiny");
  o.shape.layers = 40;
  o.quant = synth::QuantKind::AutoRoundInt4;
  o.seed = 11;
  std::string dir = test::freshDir("deep");
  ASSERT_EQ(synth::writeCheckpoint(o, dir), "");
  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = llvm::cantFail(import::importCheckpoint(ctx, dir));
  reference::RefExecutor exec(
      llvm::cantFail(reference::buildRefProgram(*module, dir)));
  std::vector<double> residualRms;
  exec.setObserver([&](size_t, const reference::Step &step, int64_t rows,
                       int64_t cols, const float *data) {
    if (!std::holds_alternative<reference::AddStep>(step.kind)) {
      return;
    }
    const float *last = data + (rows - 1) * cols;
    double ss = 0;
    for (int64_t i = 0; i < cols; ++i) {
      ss += static_cast<double>(last[i]) * last[i];
    }
    residualRms.push_back(std::sqrt(ss / static_cast<double>(cols)));
  });
  auto gen = exec.generate({1, 17, 42, 99, 256, 300, 7, 511}, 8);
  ASSERT_EQ(residualRms.size(), 2u * 40 * 9); // two adds per layer, 9 forwards
  double lo = *std::min_element(residualRms.begin(), residualRms.end());
  double hi = *std::max_element(residualRms.begin(), residualRms.end());
  std::cout << "[ scale    ] residual RMS over 40 layers: " << lo << " .. "
            << hi << "\n";
  EXPECT_GT(lo, 0.1);
  EXPECT_LT(hi, 100.0);
  for (const std::vector<float> &row : gen.logits) {
    double mean = 0, var = 0;
    for (float v : row) {
      mean += v;
    }
    mean /= static_cast<double>(row.size());
    for (float v : row) {
      var += (v - mean) * (v - mean);
    }
    double std = std::sqrt(var / static_cast<double>(row.size()));
    EXPECT_GT(std, 0.3);
    EXPECT_LT(std, 30.0);
  }
}

} // namespace
