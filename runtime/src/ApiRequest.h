//===- ApiRequest.h - OpenAI-compatible request bodies ----------*- C++ -*-===//
//
// The bodies of POST /v1/completions and /v1/chat/completions, parsed and
// checked apart from the HTTP server so they can be tested and fuzzed alone.
// Fields clients send that change nothing here (user, stream_options, ...)
// are ignored; a field asking for something not implemented (logprobs,
// n > 1, penalties other than repetition) is an error naming it, never
// silently dropped.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_APIREQUEST_H
#define FUSEDECODE_RUNTIME_APIREQUEST_H

#include "fusedecode/engine.h"

#include <string>
#include <string_view>
#include <vector>

namespace fd::runtime {

struct ApiRequest {
  enum Kind { Completion, Chat };
  Kind kind = Completion;
  std::string model; // empty: not given
  /// Completions: one or more prompts, each text or token ids.
  struct Prompt {
    std::string text;
    std::vector<int32_t> ids;
    bool isIds = false;
  };
  std::vector<Prompt> prompts;
  /// Chat: the conversation.
  std::vector<fd_chat_message> messages;
  std::vector<std::string> messageText; // owns messages' strings
  bool thinking = true;
  bool stream = false;
  int32_t maxTokens = 0; // 0: not given
  fd_sampling sampling{};
  std::vector<std::string> stop;
};

/// Parses `body`; on failure returns false with a one-line message naming
/// the field (the server answers 400 with it).
bool parseApiRequest(std::string_view body, ApiRequest::Kind kind,
                     const fd_sampling &defaults, bool defaultThinking,
                     ApiRequest &out, std::string &error);

} // namespace fd::runtime

#endif
