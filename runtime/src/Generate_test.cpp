//===- Generate_test.cpp - the text and generation C API on the CPU
//--------===//
//
// A tiny model compiled once per run (compile-model on the bundled example)
// and opened with the CPU backend: generation must equal stepping by hand,
// continue a sequence without re-feeding it, and report misuse as statuses.
//
//===----------------------------------------------------------------------===//

#include "fusedecode/engine.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

class GenerateTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() /
            ("fd-generate-test-" + std::to_string(::getpid())))
               .string();
    std::string cmd = std::string(FD_COMPILE_MODEL) + " " + FD_EXAMPLE +
                      " --target=gfx1151 --max-context=48 -o " + dir_ +
                      " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  void SetUp() override {
    fd_engine_options o{};
    o.device = FD_DEVICE_CPU;
    ASSERT_EQ(check(fd_engine_open(dir_.c_str(), &o, &e_)), "");
  }
  void TearDown() override { fd_engine_close(e_); }

  /// "" for success, else the message (the error freed).
  static std::string check(fd_error_t err) {
    std::string msg = err ? fd_error_message(err) : "";
    fd_error_free(err);
    return msg;
  }

  std::vector<int32_t> tokenize(const std::string &text) {
    size_t n = 0;
    EXPECT_EQ(check(fd_engine_tokenize(e_, text.data(), text.size(), 1, nullptr,
                                       0, &n)),
              "");
    std::vector<int32_t> ids(n);
    EXPECT_EQ(check(fd_engine_tokenize(e_, text.data(), text.size(), 1,
                                       ids.data(), ids.size(), &n)),
              "");
    return ids;
  }

  static int collect(int32_t token, const char *text, size_t len, void *user) {
    auto *self = static_cast<GenerateTest *>(user);
    if (token >= 0) {
      self->tokens_.push_back(token);
    }
    self->text_.append(text, len);
    return self->stopAfter_ > 0 &&
           static_cast<int>(self->tokens_.size()) >= self->stopAfter_;
  }

  fd_generate_options greedy(int maxTokens) {
    fd_generate_options g = fd_engine_default_generate_options(e_);
    g.sampling.temperature = 0;
    g.sampling.repetition_penalty = 1;
    g.max_tokens = maxTokens;
    g.stop_at_eos = 0;
    g.on_token = collect;
    g.user = this;
    return g;
  }

  static std::string dir_;
  fd_engine *e_ = nullptr;
  std::vector<int32_t> tokens_;
  std::string text_;
  int stopAfter_ = 0;
};

std::string GenerateTest::dir_;

TEST_F(GenerateTest, GreedyGenerationEqualsSteppingByHand) {
  std::vector<int32_t> prompt = tokenize("The compiler reads");
  fd_generate_options g = greedy(8);
  fd_generate_result r{};
  ASSERT_EQ(check(fd_engine_generate(e_, prompt.data(), prompt.size(), &g, &r)),
            "");
  EXPECT_EQ(r.prompt_tokens, static_cast<int32_t>(prompt.size()));
  EXPECT_EQ(r.generated_tokens, 8);
  EXPECT_EQ(r.finish, FD_FINISH_LENGTH);
  EXPECT_EQ(fd_engine_sequence_length(e_),
            static_cast<int32_t>(prompt.size()) + 8);

  std::vector<int32_t> byHand;
  int32_t next = -1, pos = 0;
  for (int32_t t : prompt) {
    ASSERT_EQ(check(fd_engine_step(e_, t, pos++, nullptr, &next)), "");
  }
  for (int i = 0; i < 8; ++i) {
    byHand.push_back(next);
    ASSERT_EQ(check(fd_engine_step(e_, next, pos++, nullptr, &next)), "");
  }
  EXPECT_EQ(tokens_, byHand);
  // The streamed pieces add up to the decoded tokens.
  size_t len = 0;
  ASSERT_EQ(check(fd_engine_detokenize(e_, byHand.data(), byHand.size(), 0,
                                       nullptr, 0, &len)),
            "");
  std::string text(len + 1, '\0');
  ASSERT_EQ(check(fd_engine_detokenize(e_, byHand.data(), byHand.size(), 0,
                                       text.data(), text.size(), &len)),
            "");
  text.resize(len);
  EXPECT_EQ(text_, text);
}

TEST_F(GenerateTest, ASecondCallContinuesTheSequence) {
  std::vector<int32_t> prompt = tokenize("hello there");
  fd_generate_options g = greedy(4);
  ASSERT_EQ(
      check(fd_engine_generate(e_, prompt.data(), prompt.size(), &g, nullptr)),
      "");
  // An empty prompt feeds the last generated token and goes on: the same
  // tokens as one call of 8.
  ASSERT_EQ(check(fd_engine_generate(e_, nullptr, 0, &g, nullptr)), "");
  std::vector<int32_t> twoCalls = tokens_;
  tokens_.clear();
  ASSERT_EQ(check(fd_engine_reset(e_)), "");
  EXPECT_EQ(fd_engine_sequence_length(e_), 0);
  g.max_tokens = 8;
  ASSERT_EQ(
      check(fd_engine_generate(e_, prompt.data(), prompt.size(), &g, nullptr)),
      "");
  EXPECT_EQ(tokens_, twoCalls);
}

TEST_F(GenerateTest, CallbackStopsAndContextEnds) {
  stopAfter_ = 3;
  std::vector<int32_t> prompt = tokenize("hello");
  fd_generate_options g = greedy(20);
  fd_generate_result r{};
  ASSERT_EQ(check(fd_engine_generate(e_, prompt.data(), prompt.size(), &g, &r)),
            "");
  EXPECT_EQ(r.finish, FD_FINISH_CALLBACK);
  EXPECT_EQ(r.generated_tokens, 3);
  stopAfter_ = 0;
  g.max_tokens = 1000;
  ASSERT_EQ(check(fd_engine_generate(e_, nullptr, 0, &g, &r)), "");
  EXPECT_EQ(r.finish, FD_FINISH_CONTEXT);
  // 48 positions fed and the last token generated, which cannot be fed.
  EXPECT_EQ(fd_engine_sequence_length(e_), 49);
  EXPECT_EQ(check(fd_engine_generate(e_, nullptr, 0, &g, &r)),
            "the prompt (0 tokens) does not fit: the sequence already holds 48 "
            "of the 48 positions the model was compiled for (--max-context)");
}

TEST_F(GenerateTest, MisuseIsAStatus) {
  fd_generate_options g = greedy(0);
  std::vector<int32_t> prompt = tokenize("hello");
  EXPECT_EQ(
      check(fd_engine_generate(e_, prompt.data(), prompt.size(), &g, nullptr)),
      "max_tokens must be at least 1 (got 0)");
  g.max_tokens = 4;
  EXPECT_EQ(check(fd_engine_generate(e_, nullptr, 0, &g, nullptr)),
            "nothing to generate from: the prompt is empty and the sequence "
            "has no last token");
  std::vector<int32_t> bad{1, 99999};
  EXPECT_EQ(check(fd_engine_generate(e_, bad.data(), bad.size(), &g, nullptr)),
            "prompt token 99999 outside the vocabulary [0, 512)");
  std::vector<int32_t> tooLong(49, 1);
  EXPECT_EQ(check(fd_engine_generate(e_, tooLong.data(), tooLong.size(), &g,
                                     nullptr)),
            "the prompt (49 tokens) does not fit: the sequence already holds "
            "0 of the 48 positions the model was compiled for "
            "(--max-context)");
  // A buffer too small: the full size is reported, nothing overflows.
  int32_t two[2] = {-1, -1};
  size_t n = 0;
  const char *text = "The compiler reads the checkpoint";
  ASSERT_EQ(
      check(fd_engine_tokenize(e_, text, std::strlen(text), 1, two, 2, &n)),
      "");
  EXPECT_GT(n, 2u);
  EXPECT_EQ(two[0], tokenize(text)[0]);
}

TEST_F(GenerateTest, ChatTurnsCloseThePreviousTurn) {
  size_t len = 0;
  char buf[512];
  ASSERT_EQ(
      check(fd_engine_chat_turn(e_, "sys", "hi", 0, buf, sizeof buf, &len)),
      "");
  EXPECT_STREQ(buf, "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi"
                    "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>"
                    "\n\n");
  std::vector<int32_t> ids = tokenize(buf);
  fd_generate_options g = greedy(2);
  ASSERT_EQ(check(fd_engine_generate(e_, ids.data(), ids.size(), &g, nullptr)),
            "");
  ASSERT_EQ(check(fd_engine_chat_turn(e_, "ignored", "again", 1, buf,
                                      sizeof buf, &len)),
            "");
  // The last token was not a stop token: the whole end marker comes first;
  // the system message only starts a conversation.
  EXPECT_STREQ(buf, "<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n"
                    "<|im_start|>assistant\n<think>\n");
}

TEST_F(GenerateTest, DefaultsComeFromGenerationConfig) {
  fd_sampling s = fd_engine_default_sampling(e_);
  EXPECT_FLOAT_EQ(s.temperature, 0.6f);
  EXPECT_EQ(s.top_k, 20);
  EXPECT_FLOAT_EQ(s.top_p, 0.95f);
  EXPECT_EQ(fd_engine_has_tokenizer(e_), 1);
}

} // namespace
