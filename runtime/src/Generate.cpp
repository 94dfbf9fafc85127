//===- Generate.cpp - text, sampling, generation and chat (C API) ---------===//

#include "EngineState.h"
#include "Sampler.h"
#include "Status.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>

using namespace fd::runtime;

namespace {

/// Loads the tokenizer and chat format once; sets e.textError when the
/// model has none.
fd_error_t loadText(fd_engine &e) {
  if (e.textLoaded) {
    return nullptr;
  }
  e.textLoaded = true;
  e.defaultSampling = fd_sampling{0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0};
  const std::string *tokJson = e.bundle.find("tokenizer.json");
  if (!tokJson) {
    e.textError = e.bundle.origin +
                  ": the model has no tokenizer (its checkpoint had no "
                  "tokenizer.json); give token ids instead";
    return nullptr;
  }
  auto tok = std::make_unique<Tokenizer>();
  if (fd_error_t err = Tokenizer::load(
          *tokJson, e.bundle.origin + ": tokenizer.json", *tok)) {
    e.textError = fd_error_message(err);
    return err;
  }
  e.tokenizer = std::move(tok);
  const std::string *chatJson = e.bundle.find("chat.json");
  if (!chatJson) {
    return nullptr;
  }
  const std::string where = e.bundle.origin + ": chat.json";
  nlohmann::json c = nlohmann::json::parse(*chatJson, nullptr, false);
  if (c.is_discarded() || !c.is_object()) {
    return makeError(where + ": not a JSON object");
  }
  std::string field;
  try {
    field = "stop_ids";
    for (const auto &id : c.value("stop_ids", nlohmann::json::array())) {
      if (!id.is_number_integer()) {
        return makeError(where + ": stop_ids: expected integers");
      }
      e.stopIds.push_back(id.get<int32_t>());
    }
    field = "stop";
    for (const auto &s : c.value("stop", nlohmann::json::array())) {
      int32_t id = e.tokenizer->find(s.get<std::string>());
      if (id >= 0) {
        e.stopIds.push_back(id);
      }
    }
    field = "sampling";
    const auto sampling = c.value("sampling", nlohmann::json::object());
    fd_sampling &d = e.defaultSampling;
    d.temperature = sampling.value("temperature", d.temperature);
    d.top_k = sampling.value("top_k", d.top_k);
    d.top_p = sampling.value("top_p", d.top_p);
    d.min_p = sampling.value("min_p", d.min_p);
    d.repetition_penalty =
        sampling.value("repetition_penalty", d.repetition_penalty);
    field = "format";
    if (c.value("format", nlohmann::json()).is_string()) {
      auto &chat = e.chat;
      chat.present = true;
      for (auto [name, out] :
           {std::pair{"turn_start", &chat.turnStart},
            std::pair{"turn_end", &chat.turnEnd},
            std::pair{"generation_prompt", &chat.generationPrompt},
            std::pair{"thinking_on", &chat.thinkingOn},
            std::pair{"thinking_off", &chat.thinkingOff}}) {
        field = name;
        *out = c.at(name).get<std::string>();
      }
    }
  } catch (const nlohmann::json::exception &ex) {
    return makeError(where + ": " + field + ": " + ex.what());
  }
  return nullptr;
}

fd_error_t needTokenizer(fd_engine &e) {
  if (fd_error_t err = loadText(e)) {
    return err;
  }
  if (!e.tokenizer) {
    return makeError(e.textError);
  }
  return nullptr;
}

/// Copies `n` items into a caller's buffer of `cap`.
template <typename T> void copyOut(const T *src, size_t n, T *dst, size_t cap) {
  if (dst && cap) {
    std::memcpy(dst, src, std::min(n, cap) * sizeof(T));
  }
}

fd_error_t feed(fd_engine &e, int32_t token, float *logits, int32_t &next) {
  return fd_engine_step(&e, token, e.nextPosition, logits, &next);
}

bool needsLogits(const fd_sampling &s) {
  return s.temperature > 0.0f || s.repetition_penalty != 1.0f;
}

} // namespace

extern "C" int fd_engine_has_tokenizer(fd_engine *e) {
  fd_error_free(
      guarded("fd_engine_has_tokenizer", [&] { return loadText(*e); }));
  return e->tokenizer ? 1 : 0;
}

extern "C" fd_error_t fd_engine_tokenize(fd_engine *e, const char *text,
                                         size_t len, int parseSpecial,
                                         int32_t *ids, size_t cap,
                                         size_t *nIds) {
  return guarded("fd_engine_tokenize", [&]() -> fd_error_t {
    if (fd_error_t err = needTokenizer(*e)) {
      return err;
    }
    try {
      std::vector<int32_t> out = e->tokenizer->encode(
          std::string_view(text ? text : "", text ? len : 0),
          parseSpecial != 0);
      copyOut(out.data(), out.size(), ids, cap);
      *nIds = out.size();
    } catch (const std::exception &ex) {
      return makeError(std::string("tokenize: ") + ex.what());
    }
    return nullptr;
  });
}

extern "C" fd_error_t fd_engine_detokenize(fd_engine *e, const int32_t *ids,
                                           size_t n, int skipSpecial, char *buf,
                                           size_t cap, size_t *len) {
  return guarded("fd_engine_detokenize", [&]() -> fd_error_t {
    if (fd_error_t err = needTokenizer(*e)) {
      return err;
    }
    try {
      std::string text = e->tokenizer->decode(
          std::vector<int32_t>(ids, ids + (ids ? n : 0)), skipSpecial != 0);
      copyOut(text.data(), text.size(), buf, cap);
      if (buf && text.size() < cap) {
        buf[text.size()] = 0;
      }
      *len = text.size();
    } catch (const std::exception &ex) {
      return makeError(std::string("detokenize: ") + ex.what());
    }
    return nullptr;
  });
}

extern "C" fd_sampling fd_engine_default_sampling(fd_engine *e) {
  fd_error_free(
      guarded("fd_engine_default_sampling", [&] { return loadText(*e); }));
  return e->defaultSampling;
}

extern "C" fd_generate_options
fd_engine_default_generate_options(fd_engine *e) {
  fd_generate_options o{};
  o.sampling = fd_engine_default_sampling(e);
  o.max_tokens = 256;
  o.stop_at_eos = 1;
  return o;
}

extern "C" fd_error_t fd_engine_reset(fd_engine *e) {
  return guarded("fd_engine_reset", [&]() -> fd_error_t {
    e->history.clear();
    e->pending = -1;
    if (e->nextPosition != 0) {
      try {
        if (fd_error_t err = e->backend->reset()) {
          return err;
        }
      } catch (const std::exception &ex) {
        return makeError(std::string("reset: ") + ex.what());
      }
    }
    e->nextPosition = 0;
    return nullptr;
  });
}

extern "C" int32_t fd_engine_sequence_length(fd_engine *e) {
  return static_cast<int32_t>(e->history.size()) + (e->pending >= 0 ? 1 : 0);
}

extern "C" fd_error_t fd_engine_generate(fd_engine *e, const int32_t *prompt,
                                         size_t n,
                                         const fd_generate_options *options,
                                         fd_generate_result *result) {
  return guarded("fd_engine_generate", [&]() -> fd_error_t {
    using Clock = std::chrono::steady_clock;
    fd_generate_options o =
        options ? *options : fd_engine_default_generate_options(e);
    fd_generate_result r{};
    if (fd_error_t err = loadText(*e)) {
      return err;
    }
    if (o.max_tokens < 1) {
      return makeError("max_tokens must be at least 1 (got " +
                       std::to_string(o.max_tokens) + ")");
    }
    std::vector<int32_t> toFeed;
    if (e->pending >= 0) {
      toFeed.push_back(e->pending);
    }
    toFeed.insert(toFeed.end(), prompt, prompt + (prompt ? n : 0));
    if (toFeed.empty()) {
      return makeError("nothing to generate from: the prompt is empty and the "
                       "sequence has no last token");
    }
    for (int32_t t : toFeed) {
      if (t < 0 || t >= e->vocab) {
        return makeError("prompt token " + std::to_string(t) +
                         " outside the vocabulary [0, " +
                         std::to_string(e->vocab) + ")");
      }
    }
    const int64_t limit = e->plan.maxContext;
    if (static_cast<int64_t>(e->history.size() + toFeed.size()) > limit) {
      return makeError("the prompt (" + std::to_string(n) +
                       " tokens) does not fit: the sequence already holds " +
                       std::to_string(e->history.size()) + " of the " +
                       std::to_string(limit) +
                       " positions the model was compiled for (--max-context)");
    }
    const bool withLogits = needsLogits(o.sampling);
    e->logits.resize(withLogits ? static_cast<size_t>(e->vocab) : 0);
    float *logits = withLogits ? e->logits.data() : nullptr;
    Sampler sampler(o.sampling, static_cast<uint64_t>(e->history.size()));

    auto t0 = Clock::now();
    int32_t next = -1;
    e->pending = -1;
    for (size_t i = 0; i < toFeed.size(); ++i) {
      bool last = i + 1 == toFeed.size();
      if (fd_error_t err = feed(*e, toFeed[i], last ? logits : nullptr, next)) {
        return err;
      }
    }
    r.prompt_tokens = static_cast<int32_t>(n);
    auto t1 = Clock::now();
    StreamDecoder stream;
    for (;;) {
      int32_t token =
          withLogits ? sampler.sample(logits, e->vocab, e->history) : next;
      ++r.generated_tokens;
      e->pending = token;
      bool stop = o.stop_at_eos &&
                  std::find(e->stopIds.begin(), e->stopIds.end(), token) !=
                      e->stopIds.end();
      if (o.on_token) {
        std::string text;
        if (!stop && e->tokenizer) {
          text = stream.push(e->tokenizer->tokenBytes(token));
        }
        if (o.on_token(token, text.data(), text.size(), o.user)) {
          r.finish = FD_FINISH_CALLBACK;
          break;
        }
      }
      if (stop) {
        r.finish = FD_FINISH_STOP;
        break;
      }
      if (r.generated_tokens >= o.max_tokens) {
        r.finish = FD_FINISH_LENGTH;
        break;
      }
      if (e->nextPosition >= limit) {
        r.finish = FD_FINISH_CONTEXT;
        break;
      }
      e->pending = -1;
      if (fd_error_t err = feed(*e, token, logits, next)) {
        return err;
      }
    }
    if (o.on_token) {
      // A character cut off at the end: its bytes as U+FFFD, token -1.
      std::string rest = stream.finish();
      if (!rest.empty()) {
        o.on_token(-1, rest.data(), rest.size(), o.user);
      }
    }
    auto t2 = Clock::now();
    r.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    r.decode_seconds = std::chrono::duration<double>(t2 - t1).count();
    if (result) {
      *result = r;
    }
    return nullptr;
  });
}

namespace {
fd_error_t needChat(fd_engine &e) {
  if (fd_error_t err = needTokenizer(e)) {
    return err;
  }
  if (!e.chat.present) {
    return makeError(
        e.bundle.origin +
        ": the model has no chat format (its tokenizer_config.json "
        "has no ChatML chat_template); use plain prompts");
  }
  return nullptr;
}

void copyText(const std::string &text, char *buf, size_t cap, size_t *len) {
  copyOut(text.data(), text.size(), buf, cap);
  if (buf && text.size() < cap) {
    buf[text.size()] = 0;
  }
  *len = text.size();
}
} // namespace

extern "C" fd_error_t fd_engine_chat_render(fd_engine *e,
                                            const fd_chat_message *messages,
                                            size_t n, int thinking, char *buf,
                                            size_t cap, size_t *len) {
  return guarded("fd_engine_chat_render", [&]() -> fd_error_t {
    if (fd_error_t err = needChat(*e)) {
      return err;
    }
    const auto &c = e->chat;
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      const char *role = messages[i].role ? messages[i].role : "";
      if (std::strcmp(role, "system") && std::strcmp(role, "user") &&
          std::strcmp(role, "assistant")) {
        return makeError(std::string("chat message ") + std::to_string(i) +
                         ": role '" + role +
                         "' is not one of system, user, assistant");
      }
      text += c.turnStart + role + "\n" +
              (messages[i].content ? messages[i].content : "") + c.turnEnd;
    }
    text += c.generationPrompt + (thinking ? c.thinkingOn : c.thinkingOff);
    copyText(text, buf, cap, len);
    return nullptr;
  });
}

extern "C" fd_error_t fd_engine_chat_turn(fd_engine *e, const char *system,
                                          const char *user, int thinking,
                                          char *buf, size_t cap, size_t *len) {
  return guarded("fd_engine_chat_turn", [&]() -> fd_error_t {
    if (fd_error_t err = needTokenizer(*e)) {
      return err;
    }
    const auto &c = e->chat;
    if (!c.present) {
      return makeError(
          e->bundle.origin +
          ": the model has no chat format (its tokenizer_config.json "
          "has no ChatML chat_template); use plain prompts");
    }
    std::string text;
    if (fd_engine_sequence_length(e) > 0) {
      // Close the previous assistant turn; a stop token generated last is
      // already its first part.
      const std::string &last = e->tokenizer->tokenBytes(
          e->pending >= 0 ? e->pending
                          : (e->history.empty() ? -1 : e->history.back()));
      if (!last.empty() && c.turnEnd.compare(0, last.size(), last) == 0) {
        text = c.turnEnd.substr(last.size());
      } else {
        text = c.turnEnd;
      }
    } else if (system && *system) {
      text = c.turnStart + "system\n" + system + c.turnEnd;
    }
    text += c.turnStart + "user\n" + (user ? user : "") + c.turnEnd +
            c.generationPrompt + (thinking ? c.thinkingOn : c.thinkingOff);
    copyText(text, buf, cap, len);
    return nullptr;
  });
}
