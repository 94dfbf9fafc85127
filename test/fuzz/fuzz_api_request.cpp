//===- fuzz_api_request.cpp - the server's request bodies -----------------===//

#include "FuzzSupport.h"

#include "ApiRequest.h"

using fd::runtime::ApiRequest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the endpoint; the rest is the body.
  ApiRequest::Kind kind =
      data[0] & 1 ? ApiRequest::Chat : ApiRequest::Completion;
  std::string_view body(reinterpret_cast<const char *>(data) + 1, size - 1);
  const fd_sampling defaults{0.6f, 20, 0.95f, 0.0f, 1.0f, 64, 0};
  ApiRequest r;
  std::string error;
  if (!fd::runtime::parseApiRequest(body, kind, defaults, true, r, error)) {
    fd::fuzz::require(!error.empty() && error.find('\n') == std::string::npos,
                      "a rejection is one non-empty line");
    return 0;
  }
  if (kind == ApiRequest::Chat) {
    fd::fuzz::require(!r.messages.empty(), "chat has messages");
    for (const fd_chat_message &m : r.messages) {
      fd::fuzz::require(m.role && m.content, "messages point at their text");
    }
  } else {
    fd::fuzz::require(!r.prompts.empty(), "completions have a prompt");
  }
  fd::fuzz::require(r.sampling.temperature >= 0 && r.sampling.top_p > 0 &&
                        r.sampling.top_p <= 1,
                    "sampling in range");
  return 0;
}
