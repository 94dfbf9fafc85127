//===- ApiRequest.cpp - OpenAI-compatible request bodies ------------------===//

#include "ApiRequest.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace fd::runtime {

namespace {

using json = nlohmann::json;

struct Bad {
  std::string message;
};

[[noreturn]] void bad(const std::string &field, const std::string &problem) {
  throw Bad{"'" + field + "': " + problem};
}

double number(const json &v, const std::string &field, double lo, double hi) {
  if (!v.is_number()) {
    bad(field, "expected a number");
  }
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    bad(field, "must be in [" + json(lo).dump() + ", " + json(hi).dump() + "]");
  }
  return d;
}

int64_t integer(const json &v, const std::string &field, int64_t lo,
                int64_t hi) {
  if (!v.is_number_integer()) {
    bad(field, "expected an integer");
  }
  int64_t i =
      v.is_number_unsigned()
          ? static_cast<int64_t>(std::min<uint64_t>(
                v.get<uint64_t>(),
                static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
          : v.get<int64_t>();
  if (i < lo || i > hi) {
    bad(field,
        "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return i;
}

std::vector<int32_t> idList(const json &v, const std::string &field) {
  std::vector<int32_t> ids;
  for (const json &x : v) {
    ids.push_back(static_cast<int32_t>(
        integer(x, field + " token", 0, std::numeric_limits<int32_t>::max())));
  }
  return ids;
}

bool allIntegers(const json &v) {
  for (const json &x : v) {
    if (!x.is_number_integer()) {
      return false;
    }
  }
  return true;
}

/// Chat content: a string, or text parts [{"type": "text", "text": ...}].
std::string content(const json &v, const std::string &field) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return "";
  }
  if (!v.is_array()) {
    bad(field, "expected a string or a list of text parts");
  }
  std::string text;
  for (const json &part : v) {
    if (!part.is_object() || part.value("type", "") != "text" ||
        !part.contains("text") || !part["text"].is_string()) {
      bad(field, "only text parts ({\"type\": \"text\", \"text\": ...}) are "
                 "supported");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

void parse(const json &doc, ApiRequest &r, bool defaultThinking) {
  if (!doc.is_object()) {
    throw Bad{"the body is not a JSON object"};
  }
  if (doc.contains("model") && !doc["model"].is_null()) {
    if (!doc["model"].is_string()) {
      bad("model", "expected a string");
    }
    r.model = doc["model"].get<std::string>();
  }
  if (r.kind == ApiRequest::Completion) {
    if (!doc.contains("prompt")) {
      bad("prompt", "missing");
    }
    const json &p = doc["prompt"];
    auto addText = [&](const json &s) {
      ApiRequest::Prompt prompt;
      prompt.text = s.get<std::string>();
      r.prompts.push_back(std::move(prompt));
    };
    if (p.is_string()) {
      addText(p);
    } else if (p.is_array() && !p.empty() && allIntegers(p)) {
      ApiRequest::Prompt prompt;
      prompt.ids = idList(p, "prompt");
      prompt.isIds = true;
      r.prompts.push_back(std::move(prompt));
    } else if (p.is_array() && !p.empty()) {
      for (const json &one : p) {
        if (one.is_string()) {
          addText(one);
        } else if (one.is_array() && !one.empty() && allIntegers(one)) {
          ApiRequest::Prompt prompt;
          prompt.ids = idList(one, "prompt");
          prompt.isIds = true;
          r.prompts.push_back(std::move(prompt));
        } else {
          bad("prompt", "each entry must be a string or a list of token ids");
        }
      }
    } else {
      bad("prompt", "expected a string, a list of strings or token ids");
    }
    if (doc.contains("echo") && doc["echo"] == true) {
      bad("echo", "is not supported");
    }
    if (doc.contains("suffix") && !doc["suffix"].is_null()) {
      bad("suffix", "is not supported");
    }
  } else {
    if (!doc.contains("messages") || !doc["messages"].is_array() ||
        doc["messages"].empty()) {
      bad("messages", "expected a non-empty list");
    }
    const json &msgs = doc["messages"];
    for (size_t i = 0; i < msgs.size(); ++i) {
      const std::string field = "messages[" + std::to_string(i) + "]";
      const json &m = msgs[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
        bad(field, "expected an object with a string role");
      }
      std::string role = m["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant") {
        bad(field + ".role", "'" + role +
                                 "' is not supported (system, user, "
                                 "assistant)");
      }
      r.messageText.push_back(role);
      r.messageText.push_back(
          content(m.value("content", json()), field + ".content"));
    }
    for (size_t i = 0; i < r.messageText.size(); i += 2) {
      r.messages.push_back(
          {r.messageText[i].c_str(), r.messageText[i + 1].c_str()});
    }
    r.thinking = defaultThinking;
    if (doc.contains("chat_template_kwargs")) {
      const json &k = doc["chat_template_kwargs"];
      if (!k.is_object()) {
        bad("chat_template_kwargs", "expected an object");
      }
      if (k.contains("enable_thinking")) {
        if (!k["enable_thinking"].is_boolean()) {
          bad("chat_template_kwargs.enable_thinking", "expected a boolean");
        }
        r.thinking = k["enable_thinking"].get<bool>();
      }
    }
  }

  for (const char *f : {"max_tokens", "max_completion_tokens"}) {
    if (doc.contains(f) && !doc[f].is_null()) {
      r.maxTokens = static_cast<int32_t>(
          integer(doc[f], f, 1, std::numeric_limits<int32_t>::max()));
    }
  }
  if (doc.contains("stream") && !doc["stream"].is_null()) {
    if (!doc["stream"].is_boolean()) {
      bad("stream", "expected a boolean");
    }
    r.stream = doc["stream"].get<bool>();
  }
  if (doc.contains("n") && !doc["n"].is_null() &&
      integer(doc["n"], "n", 1, 1) != 1) {
    bad("n", "only 1 is supported");
  }
  for (const char *f : {"logprobs", "top_logprobs", "best_of"}) {
    if (doc.contains(f) && !doc[f].is_null() && doc[f] != false &&
        !(std::string(f) == "best_of" && doc[f] == 1)) {
      bad(f, "is not supported");
    }
  }
  for (const char *f : {"frequency_penalty", "presence_penalty"}) {
    if (doc.contains(f) && !doc[f].is_null() &&
        number(doc[f], f, -2.0, 2.0) != 0.0) {
      bad(f, "is not supported (use repetition_penalty)");
    }
  }
  fd_sampling &s = r.sampling;
  if (doc.contains("temperature") && !doc["temperature"].is_null()) {
    s.temperature =
        static_cast<float>(number(doc["temperature"], "temperature", 0, 100));
  }
  if (doc.contains("top_p") && !doc["top_p"].is_null()) {
    s.top_p = static_cast<float>(number(doc["top_p"], "top_p", 0, 1));
    if (s.top_p <= 0) {
      bad("top_p", "must be above 0");
    }
  }
  if (doc.contains("top_k") && !doc["top_k"].is_null()) {
    int64_t k =
        integer(doc["top_k"], "top_k", -1, std::numeric_limits<int32_t>::max());
    s.top_k = k < 0 ? 0 : static_cast<int32_t>(k); // -1: off (vLLM)
  }
  if (doc.contains("min_p") && !doc["min_p"].is_null()) {
    s.min_p = static_cast<float>(number(doc["min_p"], "min_p", 0, 1));
  }
  if (doc.contains("repetition_penalty") &&
      !doc["repetition_penalty"].is_null()) {
    s.repetition_penalty = static_cast<float>(
        number(doc["repetition_penalty"], "repetition_penalty", 0.01, 100));
  }
  if (doc.contains("seed") && !doc["seed"].is_null()) {
    s.seed = static_cast<uint64_t>(
        integer(doc["seed"], "seed", std::numeric_limits<int64_t>::min(),
                std::numeric_limits<int64_t>::max()));
  }
  if (doc.contains("stop") && !doc["stop"].is_null()) {
    const json &st = doc["stop"];
    auto add = [&](const json &v) {
      if (!v.is_string() || v.get<std::string>().empty()) {
        bad("stop", "expected non-empty strings");
      }
      r.stop.push_back(v.get<std::string>());
    };
    if (st.is_array()) {
      for (const json &v : st) {
        add(v);
      }
    } else {
      add(st);
    }
  }
  if (r.stream && r.prompts.size() > 1) {
    bad("prompt", "streaming takes one prompt");
  }
}

} // namespace

bool parseApiRequest(std::string_view body, ApiRequest::Kind kind,
                     const fd_sampling &defaults, bool defaultThinking,
                     ApiRequest &out, std::string &error) {
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) {
    error = "the body is not valid JSON";
    return false;
  }
  ApiRequest r;
  r.kind = kind;
  r.sampling = defaults;
  try {
    parse(doc, r, defaultThinking);
  } catch (const Bad &b) {
    error = b.message;
    // One line: a value echoed from the request may hold line breaks.
    for (char &c : error) {
      c = c == '\n' || c == '\r' ? ' ' : c;
    }
    return false;
  } catch (const json::exception &ex) {
    error = std::string("invalid request: ") + ex.what();
    return false;
  }
  out = std::move(r);
  // The messages point into messageText, which moved with it (a vector's
  // move keeps its buffer); re-point them to be safe.
  for (size_t i = 0; i < out.messages.size(); ++i) {
    out.messages[i] = {out.messageText[2 * i].c_str(),
                       out.messageText[2 * i + 1].c_str()};
  }
  return true;
}

} // namespace fd::runtime
