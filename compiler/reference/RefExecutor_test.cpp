//===- RefExecutor_test.cpp - state handling of the reference executor ----===//

#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefExecutor.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

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
