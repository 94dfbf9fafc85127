//===- ApiRequest_test.cpp - OpenAI request bodies ------------------------===//

#include "ApiRequest.h"

#include <gtest/gtest.h>

using fd::runtime::ApiRequest;
using fd::runtime::parseApiRequest;

namespace {

const fd_sampling kDefaults{0.6f, 20, 0.95f, 0.0f, 1.0f, 64, 0};

std::string parseError(const std::string &body,
                       ApiRequest::Kind kind = ApiRequest::Completion) {
  ApiRequest r;
  std::string error;
  EXPECT_FALSE(parseApiRequest(body, kind, kDefaults, true, r, error)) << body;
  return error;
}

ApiRequest parseOk(const std::string &body,
                   ApiRequest::Kind kind = ApiRequest::Completion) {
  ApiRequest r;
  std::string error;
  EXPECT_TRUE(parseApiRequest(body, kind, kDefaults, true, r, error)) << error;
  return r;
}

} // namespace

TEST(ApiRequest, CompletionPromptsAndSampling) {
  ApiRequest r = parseOk(R"({"model": "m", "prompt": "hi", "max_tokens": 5,
    "temperature": 0, "top_k": -1, "stop": "\n", "seed": 7, "user": "x"})");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(r.prompts[0].text, "hi");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.maxTokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_k, 0);           // -1 means off
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.95f); // the default stays
  EXPECT_EQ(r.sampling.seed, 7u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});

  r = parseOk(R"({"prompt": [1, 2, 3]})");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_TRUE(r.prompts[0].isIds);
  EXPECT_EQ(r.prompts[0].ids, (std::vector<int32_t>{1, 2, 3}));
  r = parseOk(R"({"prompt": ["a", [4, 5]], "stop": ["x", "y"]})");
  ASSERT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(r.prompts[1].ids, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(r.stop.size(), 2u);
}

TEST(ApiRequest, ChatMessagesAndThinking) {
  ApiRequest r = parseOk(
      R"({"messages": [{"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "a"},
                                      {"type": "text", "text": "b"}]}],
        "max_completion_tokens": 9,
        "chat_template_kwargs": {"enable_thinking": false}})",
      ApiRequest::Chat);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_STREQ(r.messages[0].role, "system");
  EXPECT_STREQ(r.messages[1].content, "ab");
  EXPECT_FALSE(r.thinking);
  EXPECT_EQ(r.maxTokens, 9);
  EXPECT_TRUE(parseOk(R"({"messages": [{"role": "user", "content": "x"}]})",
                      ApiRequest::Chat)
                  .thinking);
}

TEST(ApiRequest, BadFieldsNameTheField) {
  EXPECT_EQ(parseError("{"), "the body is not valid JSON");
  EXPECT_EQ(parseError("[]"), "the body is not a JSON object");
  EXPECT_EQ(parseError(R"({})"), "'prompt': missing");
  EXPECT_EQ(parseError(R"({"prompt": 3})"),
            "'prompt': expected a string, a list of strings or token ids");
  EXPECT_EQ(parseError(R"({"prompt": ["a", {}]})"),
            "'prompt': each entry must be a string or a list of token ids");
  EXPECT_EQ(parseError(R"({"prompt": [-1]})"),
            "'prompt token': must be in [0, 2147483647]");
  EXPECT_EQ(parseError(R"({"prompt": "a", "max_tokens": 0})"),
            "'max_tokens': must be in [1, 2147483647]");
  EXPECT_EQ(parseError(R"({"prompt": "a", "temperature": -1})"),
            "'temperature': must be in [0.0, 100.0]");
  EXPECT_EQ(parseError(R"({"prompt": "a", "top_p": 0})"),
            "'top_p': must be above 0");
  EXPECT_EQ(parseError(R"({"prompt": "a", "stop": [""]})"),
            "'stop': expected non-empty strings");
  EXPECT_EQ(parseError(R"({"prompt": "a", "stream": "yes"})"),
            "'stream': expected a boolean");
  EXPECT_EQ(parseError(R"({"prompt": ["a", "b"], "stream": true})"),
            "'prompt': streaming takes one prompt");
  EXPECT_EQ(parseError(R"({"prompt": "a", "presence_penalty": 1})"),
            "'presence_penalty': is not supported (use repetition_penalty)");
  EXPECT_EQ(parseError(R"({"prompt": "a", "echo": true})"),
            "'echo': is not supported");
  EXPECT_EQ(parseError(R"({"prompt": "a", "model": 5})"),
            "'model': expected a string");
  EXPECT_EQ(parseError(R"({"messages": []})", ApiRequest::Chat),
            "'messages': expected a non-empty list");
  EXPECT_EQ(parseError(R"({"messages": [{"role": "user", "content":
              [{"type": "image_url"}]}]})",
                       ApiRequest::Chat),
            "'messages[0].content': only text parts ({\"type\": \"text\", "
            "\"text\": ...}) are supported");
  // A value echoed back keeps the message on one line.
  EXPECT_EQ(parseError(R"({"messages": [{"role": "a\nb", "content": "x"}]})",
                       ApiRequest::Chat),
            "'messages[0].role': 'a b' is not supported (system, user, "
            "assistant)");
  EXPECT_EQ(parseError(R"({"messages": [{"content": "x"}]})", ApiRequest::Chat),
            "'messages[0]': expected an object with a string role");
  EXPECT_EQ(parseError(R"({"messages": [{"role": "user", "content": "x"}],
              "chat_template_kwargs": {"enable_thinking": 1}})",
                       ApiRequest::Chat),
            "'chat_template_kwargs.enable_thinking': expected a boolean");
}
