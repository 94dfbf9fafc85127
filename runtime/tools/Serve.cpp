//===- Serve.cpp - the OpenAI-compatible server module (fd-serve.so) ------===//
//
// cpp-httplib serves /v1/completions, /v1/chat/completions (JSON or SSE
// streams), /v1/models and /health. One engine runs one sequence at a time:
// requests take turns on a mutex, at most `queue` of them admitted (waiting
// or running); the next gets 503 at once. Every connection has a handler
// thread of its own up to queue + 4, so a full queue is answered quickly
// instead of piling up unread.
//
// The engine keeps its sequence between requests: when a prompt extends the
// previous prompt plus its completion token for token (a conversation's
// next turn), only the new tokens are fed. Anything else starts over.
//
//===----------------------------------------------------------------------===//

#include "Serve.h"

#include "ApiRequest.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <thread>

using fd::runtime::ApiRequest;
using fd::runtime::parseApiRequest;
using json = nlohmann::ordered_json;

namespace {

struct ServerState {
  ServerState(fd_engine *engine, const fd_serve_config &c)
      : engine(engine), config(c), host(c.host), modelName(c.model_name) {}
  fd_engine *engine;
  fd_serve_config config;
  std::string host, modelName;
  std::mutex engineMutex;
  std::atomic<int> admitted{0};
  std::atomic<uint64_t> nextId{1};
  std::vector<int32_t> sequence; // what the engine holds (guarded by mutex)
  int64_t created = std::time(nullptr);
};

void sendError(httplib::Response &res, int status, const std::string &message,
               const char *type = "invalid_request_error") {
  res.status = status;
  json body = {
      {"error", {{"message", message}, {"type", type}, {"code", status}}}};
  res.set_content(body.dump(), "application/json");
}

std::string takeError(fd_error_t e) {
  std::string msg = fd_error_message(e);
  fd_error_free(e);
  return msg;
}

/// Releases an admission slot when it goes out of scope (or is handed on).
struct Admission {
  std::atomic<int> *counter;
  explicit Admission(std::atomic<int> *c) : counter(c) {}
  Admission(const Admission &) = delete;
  ~Admission() {
    if (counter) {
      counter->fetch_sub(1);
    }
  }
};

/// What one prompt produced.
struct Completion {
  std::string text;
  int32_t promptTokens = 0, completionTokens = 0;
  int32_t reused = 0; // prompt tokens the engine already held
  std::string finish = "length";
};

/// Text generation with stop strings: pieces arrive from the engine, text
/// that might begin a stop string is held back until it cannot.
struct StopFilter {
  StopFilter(const std::vector<std::string> &stops,
             std::function<bool(const std::string &)> emit)
      : stops(stops), emit(std::move(emit)) {}
  const std::vector<std::string> &stops;
  std::function<bool(const std::string &)> emit; // false: stop (client gone)
  std::string text;
  size_t emitted = 0;
  bool stopped = false, gone = false;

  size_t holdBack() const {
    size_t longest = 0;
    for (const std::string &s : stops) {
      longest = std::max(longest, s.size());
    }
    return longest ? longest - 1 : 0;
  }

  /// Appends a piece; returns false when generation should end.
  bool push(const std::string &piece) {
    size_t searchFrom =
        text.size() > holdBack() + piece.size() ? text.size() - holdBack() : 0;
    text += piece;
    size_t cut = std::string::npos;
    for (const std::string &s : stops) {
      size_t at = text.find(s, searchFrom);
      cut = std::min(cut, at);
    }
    if (cut != std::string::npos) {
      text.resize(cut);
      stopped = true;
    }
    size_t safe =
        stopped ? text.size()
                : (text.size() > holdBack() ? text.size() - holdBack() : 0);
    // Never split a UTF-8 character when holding back.
    while (safe > emitted && safe < text.size() &&
           (static_cast<unsigned char>(text[safe]) & 0xC0) == 0x80) {
      --safe;
    }
    if (safe > emitted) {
      if (emit && !emit(text.substr(emitted, safe - emitted))) {
        gone = true;
      }
      emitted = safe;
    }
    return !stopped && !gone;
  }

  void finish() {
    if (emitted < text.size() && emit && !gone) {
      emit(text.substr(emitted));
    }
    emitted = text.size();
  }
};

int onToken(int32_t token, const char *text, size_t len, void *user) {
  auto *ctx =
      static_cast<std::pair<StopFilter *, std::vector<int32_t> *> *>(user);
  if (token >= 0) {
    ctx->second->push_back(token);
  }
  return ctx->first->push(std::string(text, len)) ? 0 : 1;
}

/// Runs one tokenized prompt (the engine lock held by the caller).
std::string runPrompt(ServerState &s, const std::vector<int32_t> &ids,
                      const ApiRequest &r, int32_t maxTokens,
                      std::function<bool(const std::string &)> emit,
                      Completion &out) {
  size_t reuse = 0;
  if (!s.sequence.empty() && ids.size() > s.sequence.size() &&
      std::equal(s.sequence.begin(), s.sequence.end(), ids.begin())) {
    reuse = s.sequence.size();
  } else if (fd_engine_sequence_length(s.engine) > 0) {
    s.sequence.clear();
    if (fd_error_t e = fd_engine_reset(s.engine)) {
      return takeError(e);
    }
  }
  StopFilter filter(r.stop, std::move(emit));
  std::vector<int32_t> generated;
  std::pair<StopFilter *, std::vector<int32_t> *> ctx{&filter, &generated};
  fd_generate_options g{};
  g.sampling = r.sampling;
  g.max_tokens = maxTokens;
  g.stop_at_eos = 1;
  g.on_token = onToken;
  g.user = &ctx;
  fd_generate_result result{};
  // The engine feeds its pending last token itself: it is sequence.back().
  const int32_t *feed = ids.data() + reuse;
  size_t nFeed = ids.size() - reuse;
  fd_error_t err = fd_engine_generate(s.engine, feed, nFeed, &g, &result);
  if (err) {
    s.sequence.clear();
    fd_error_free(fd_engine_reset(s.engine));
    return takeError(err);
  }
  filter.finish();
  s.sequence = ids;
  s.sequence.insert(s.sequence.end(), generated.begin(), generated.end());
  out.text = filter.text;
  out.promptTokens = static_cast<int32_t>(ids.size());
  out.reused = static_cast<int32_t>(reuse);
  out.completionTokens = result.generated_tokens;
  out.finish =
      filter.stopped || result.finish == FD_FINISH_STOP ? "stop" : "length";
  return "";
}

std::string chunkLine(const json &chunk) {
  return "data: " + chunk.dump() + "\n\n";
}

void handle(ServerState &s, const httplib::Request &req, httplib::Response &res,
            ApiRequest::Kind kind) {
  auto t0 = std::chrono::steady_clock::now();
  ApiRequest r;
  std::string error;
  if (!parseApiRequest(req.body, kind, s.config.sampling, s.config.thinking, r,
                       error)) {
    return sendError(res, 400, error);
  }
  if (!r.model.empty() && r.model != s.modelName) {
    return sendError(res, 404,
                     "model '" + r.model + "' not found; this server serves '" +
                         s.modelName + "'",
                     "not_found_error");
  }
  // Prompts to token ids (the tokenizer needs no lock).
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> texts;
  if (kind == ApiRequest::Chat) {
    size_t len = 0;
    fd_error_t e =
        fd_engine_chat_render(s.engine, r.messages.data(), r.messages.size(),
                              r.thinking, nullptr, 0, &len);
    if (e) {
      return sendError(res, 400, takeError(e));
    }
    std::string text(len + 1, '\0');
    fd_error_free(fd_engine_chat_render(s.engine, r.messages.data(),
                                        r.messages.size(), r.thinking,
                                        text.data(), text.size(), &len));
    text.resize(len);
    texts.push_back(std::move(text));
  }
  for (const ApiRequest::Prompt &p : r.prompts) {
    if (p.isIds) {
      prompts.push_back(p.ids);
    } else {
      texts.push_back(p.text);
    }
  }
  for (const std::string &text : texts) {
    size_t n = 0;
    if (fd_error_t e =
            fd_engine_tokenize(s.engine, text.data(), text.size(),
                               kind == ApiRequest::Chat, nullptr, 0, &n)) {
      return sendError(res, 400, takeError(e));
    }
    std::vector<int32_t> ids(n);
    fd_error_free(fd_engine_tokenize(s.engine, text.data(), text.size(),
                                     kind == ApiRequest::Chat, ids.data(),
                                     ids.size(), &n));
    prompts.push_back(std::move(ids));
  }
  const int64_t vocab = fd_engine_vocab_size(s.engine);
  for (const auto &ids : prompts) {
    if (ids.empty()) {
      return sendError(res, 400, "the prompt is empty");
    }
    if (static_cast<int64_t>(ids.size()) >= s.config.context) {
      return sendError(res, 400,
                       "the prompt is " + std::to_string(ids.size()) +
                           " tokens; the context is " +
                           std::to_string(s.config.context) +
                           " positions, prompt and completion together");
    }
    for (int32_t id : ids) {
      if (id >= vocab) {
        return sendError(res, 400,
                         "prompt token " + std::to_string(id) +
                             " outside the vocabulary [0, " +
                             std::to_string(vocab) + ")");
      }
    }
  }
  auto maxTokensFor = [&](const std::vector<int32_t> &ids) {
    int64_t room = s.config.context - static_cast<int64_t>(ids.size());
    int64_t want = r.maxTokens > 0 ? r.maxTokens
                   : kind == ApiRequest::Completion
                       ? s.config.default_max_tokens
                       : room;
    return static_cast<int32_t>(std::min(want, room));
  };

  if (s.admitted.fetch_add(1) >= s.config.queue) {
    s.admitted.fetch_sub(1);
    return sendError(res, 503,
                     "the server is busy: " + std::to_string(s.config.queue) +
                         " requests are waiting or running (--queue)",
                     "server_busy");
  }
  const std::string id = (kind == ApiRequest::Chat ? "chatcmpl-" : "cmpl-") +
                         std::to_string(s.nextId.fetch_add(1));
  const char *object =
      kind == ApiRequest::Chat ? "chat.completion" : "text_completion";
  const bool streamed = r.stream;
  auto log = [&s, t0, &req, streamed](int status, const Completion &c) {
    if (!s.config.quiet) {
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      std::fprintf(stderr,
                   "%s %s %d%s: %d prompt (%d reused) + %d generated tokens "
                   "in %.3f s\n",
                   req.method.c_str(), req.path.c_str(), status,
                   streamed ? " (stream)" : "", c.promptTokens, c.reused,
                   c.completionTokens, secs);
    }
  };

  if (!r.stream) {
    Admission slot(&s.admitted);
    json choices = json::array();
    int32_t promptTokens = 0, completionTokens = 0;
    Completion last;
    {
      std::lock_guard<std::mutex> lock(s.engineMutex);
      for (size_t i = 0; i < prompts.size(); ++i) {
        Completion c;
        std::string err =
            runPrompt(s, prompts[i], r, maxTokensFor(prompts[i]), nullptr, c);
        if (!err.empty()) {
          if (!s.config.quiet) {
            std::fprintf(stderr, "%s %s 500: %s\n", req.method.c_str(),
                         req.path.c_str(), err.c_str());
          }
          return sendError(res, 500, err, "server_error");
        }
        promptTokens += c.promptTokens;
        completionTokens += c.completionTokens;
        last.reused += c.reused;
        if (kind == ApiRequest::Chat) {
          choices.push_back(
              {{"index", i},
               {"message", {{"role", "assistant"}, {"content", c.text}}},
               {"finish_reason", c.finish},
               {"logprobs", nullptr}});
        } else {
          choices.push_back({{"index", i},
                             {"text", c.text},
                             {"finish_reason", c.finish},
                             {"logprobs", nullptr}});
        }
      }
    }
    json body = {{"id", id},
                 {"object", object},
                 {"created", std::time(nullptr)},
                 {"model", s.modelName},
                 {"choices", choices},
                 {"usage",
                  {{"prompt_tokens", promptTokens},
                   {"completion_tokens", completionTokens},
                   {"total_tokens", promptTokens + completionTokens}}}};
    res.set_content(body.dump(), "application/json");
    last.promptTokens = promptTokens;
    last.completionTokens = completionTokens;
    log(200, last);
    return;
  }

  // Streaming: the provider runs after this handler returns, on the same
  // connection thread; the admission slot is released by the releaser,
  // which runs whether or not the provider did.
  auto ids = std::make_shared<std::vector<int32_t>>(std::move(prompts[0]));
  auto request = std::make_shared<ApiRequest>(std::move(r));
  const int32_t maxTokens = maxTokensFor(*ids);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [&s, ids, request, maxTokens, id, kind, log](size_t,
                                                   httplib::DataSink &sink) {
        const char *chunkObject = kind == ApiRequest::Chat
                                      ? "chat.completion.chunk"
                                      : "text_completion";
        auto chunk = [&](const std::string &piece, const json &finish,
                         bool first) {
          json choice = {{"index", 0}};
          if (kind == ApiRequest::Chat) {
            json delta = json::object();
            if (first) {
              delta["role"] = "assistant";
            }
            if (!piece.empty() || !finish.is_null()) {
              if (!piece.empty()) {
                delta["content"] = piece;
              }
            }
            choice["delta"] = delta;
          } else {
            choice["text"] = piece;
          }
          choice["logprobs"] = nullptr;
          choice["finish_reason"] = finish;
          return chunkLine({{"id", id},
                            {"object", chunkObject},
                            {"created", std::time(nullptr)},
                            {"model", s.modelName},
                            {"choices", json::array({choice})}});
        };
        auto write = [&sink](const std::string &line) {
          return sink.is_writable() && sink.write(line.data(), line.size());
        };
        Completion c;
        std::string err;
        {
          std::lock_guard<std::mutex> lock(s.engineMutex);
          if (kind == ApiRequest::Chat && !write(chunk("", nullptr, true))) {
            sink.done();
            return true;
          }
          err = runPrompt(
              s, *ids, *request, maxTokens,
              [&](const std::string &piece) {
                return write(chunk(piece, nullptr, false));
              },
              c);
        }
        if (!err.empty()) {
          if (!s.config.quiet) {
            std::fprintf(stderr, "%s %s 500 (stream): %s\n", "POST", "stream",
                         err.c_str());
          }
          write(chunkLine({{"error", {{"message", err}, {"code", 500}}}}));
        } else {
          write(chunk("", c.finish, false));
        }
        write("data: [DONE]\n\n");
        sink.done();
        log(200, c);
        return true;
      },
      [&s](bool) { s.admitted.fetch_sub(1); });
}

} // namespace

extern "C" int fd_serve(fd_engine *engine, const fd_serve_config *c) {
  if (!c || c->abi != FD_SERVE_ABI) {
    std::fprintf(stderr, "fd-run: error: fd-serve.so was built for another "
                         "version of the runtime\n");
    return 1;
  }
  const fd_serve_config &config = *c;
  ServerState s(engine, config);
  // Stop on SIGINT / SIGTERM: block them here (threads inherit the mask)
  // and wait for them on a thread of their own.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  // A client that goes away mid-stream must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);

  httplib::Server svr;
  const int threads = config.queue + 4;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(config.max_body);
  svr.Get("/health", [](const httplib::Request &, httplib::Response &res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  svr.Get("/v1/models", [&s](const httplib::Request &, httplib::Response &res) {
    json body = {
        {"object", "list"},
        {"data", json::array({{{"id", s.modelName},
                               {"object", "model"},
                               {"created", s.created},
                               {"owned_by", "fusedecode"},
                               {"max_model_len", s.config.context}}})}};
    res.set_content(body.dump(), "application/json");
  });
  svr.Post("/v1/completions",
           [&s](const httplib::Request &req, httplib::Response &res) {
             handle(s, req, res, ApiRequest::Completion);
           });
  svr.Post("/v1/chat/completions",
           [&s](const httplib::Request &req, httplib::Response &res) {
             handle(s, req, res, ApiRequest::Chat);
           });
  // httplib answers an oversized body with 413 before any handler; give it
  // the same JSON error shape.
  svr.set_error_handler([](const httplib::Request &, httplib::Response &res) {
    if (res.body.empty()) {
      std::string msg = res.status == 413
                            ? "the request body is too large (--max-body)"
                            : "HTTP " + std::to_string(res.status);
      sendError(res, res.status, msg);
    }
  });

  int port = config.port;
  if (port == 0) {
    port = svr.bind_to_any_port(s.host);
  } else if (!svr.bind_to_port(s.host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "fd-run: error: cannot listen on %s:%d\n",
                 s.host.c_str(), config.port);
    return 1;
  }
  std::fprintf(stderr,
               "listening on http://%s:%d (model '%s', %lld positions)\n",
               s.host.c_str(), port, s.modelName.c_str(),
               static_cast<long long>(config.context));
  std::thread stopper([&svr, stopSignals] {
    int sig = 0;
    sigwait(&stopSignals, &sig);
    svr.stop();
  });
  bool ok = svr.listen_after_bind();
  // listen returned: either a signal stopped it or it failed; wake the
  // stopper if it is still waiting.
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  return ok ? 0 : 1;
}
