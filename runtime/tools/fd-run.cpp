//===- fd-run.cpp - run a compiled model ----------------------------------===//
//
// The runtime's generic program. compile-model copies it to OUT/<model> and
// appends the compiled model (plan, reference program, code objects), so
//
//   OUT/<model> run --prompt-ids 1,2,3 -n 128 [--dump-logits F]
//
// runs on its own, with weights.fdw found beside it. Without a model
// appended it needs --model (OUT/ or another OUT/<model>).
//
// The prompt is fed token by token from position 0 (prefill), then n - 1
// more greedy steps; stdout gets the n generated ids on one line (streamed),
// stderr the device and the prefill / decode timings. --dump-logits writes
// the n rows of logits that chose them (float32). --repeat N does it all N
// times in one process (one line each; timings and dump of the last run).
//
//===----------------------------------------------------------------------===//

#include "Bench.h"
#include "Serve.h"

#include "fusedecode/engine.h"

#include <CLI/CLI.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

int fail(const std::string &msg) {
  std::fprintf(stderr, "fd-run: error: %s\n", msg.c_str());
  return 1;
}

/// The executable's own path (where an appended model lives).
std::string selfPath(const char *argv0) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = 0;
    return buf;
  }
  return argv0;
}

bool parseIds(const std::string &text, std::vector<int32_t> &out) {
  size_t at = 0;
  while (at < text.size()) {
    size_t comma = text.find(',', at);
    std::string part = text.substr(
        at, comma == std::string::npos ? std::string::npos : comma - at);
    char *end = nullptr;
    long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != 0 || v < 0 || v > INT32_MAX) {
      return false;
    }
    out.push_back(static_cast<int32_t>(v));
    if (comma == std::string::npos) {
      break;
    }
    at = comma + 1;
  }
  return !out.empty();
}

void showProgress(uint64_t done, uint64_t total, void *) {
  static int last = -1;
  int pct = total ? static_cast<int>(100 * done / total) : 100;
  if (pct == last) {
    return;
  }
  last = pct;
  std::fprintf(stderr, "\rloading weights [%-40s] %3d%% %.2f GiB",
               std::string(static_cast<size_t>(pct * 40 / 100), '#').c_str(),
               pct, done / 1073741824.0);
  if (done >= total) {
    std::fprintf(stderr, "\n");
  }
}

struct RunOptions {
  std::string model, weights, device = "auto", prompt, forced, dump;
  int tokens = 16, repeat = 1;
  uint64_t randomSeed = 0;
  bool random = false, quiet = false;
  // Text generation (run -p, chat).
  std::string text, system;
  int maxTokens = 256, ctxSize = 0;
  bool verbose = false, noThink = false;
  // Sampling flags: each overrides the model's default when given.
  double temperature = 0, topP = 1, minP = 0, repeatPenalty = 1;
  int topK = 0, repeatLastN = 64;
  uint64_t seed = 0;
  const CLI::App *textCmd = nullptr; // the subcommand given (run or chat)
};

std::string takeError(fd_error_t e) {
  std::string msg = fd_error_message(e);
  fd_error_free(e);
  return msg;
}

/// Opens the engine with the device / weights flags; prints the device line.
fd_engine *openEngine(const RunOptions &o) {
  fd_engine_options options{};
  options.device = o.device == "gpu"   ? FD_DEVICE_GPU
                   : o.device == "cpu" ? FD_DEVICE_CPU
                                       : FD_DEVICE_AUTO;
  options.weights_path = o.weights.empty() ? nullptr : o.weights.c_str();
  options.random_weights = o.random;
  options.seed = o.randomSeed;
  if (!o.quiet && ::isatty(2)) {
    options.progress = showProgress;
  }
  fd_engine *engine = nullptr;
  if (fd_error_t e = fd_engine_open(o.model.c_str(), &options, &engine)) {
    fail(takeError(e));
    return nullptr;
  }
  if (!o.quiet) {
    std::fprintf(stderr, "device: %s\n", fd_engine_device_name(engine));
  }
  return engine;
}

fd_sampling samplingFor(fd_engine *engine, const RunOptions &o) {
  fd_sampling s = fd_engine_default_sampling(engine);
  auto given = [&](const char *flag) { return o.textCmd->count(flag) > 0; };
  if (given("--temperature")) {
    s.temperature = static_cast<float>(o.temperature);
  }
  if (given("--top-k")) {
    s.top_k = o.topK;
  }
  if (given("--top-p")) {
    s.top_p = static_cast<float>(o.topP);
  }
  if (given("--min-p")) {
    s.min_p = static_cast<float>(o.minP);
  }
  if (given("--repeat-penalty")) {
    s.repetition_penalty = static_cast<float>(o.repeatPenalty);
  }
  s.repetition_window = o.repeatLastN;
  s.seed = o.seed;
  return s;
}

int printText(int32_t, const char *text, size_t len, void *) {
  std::fwrite(text, 1, len, stdout);
  std::fflush(stdout); // streamed: each piece as soon as it exists
  return 0;
}

/// Tokenizes `text`, generates into stdout; false (after a message) on error.
bool generateText(fd_engine *engine, const RunOptions &o,
                  const std::string &text) {
  size_t n = 0;
  if (fd_error_t e = fd_engine_tokenize(engine, text.data(), text.size(), 1,
                                        nullptr, 0, &n)) {
    fail(takeError(e));
    return false;
  }
  std::vector<int32_t> ids(n);
  fd_error_free(fd_engine_tokenize(engine, text.data(), text.size(), 1,
                                   ids.data(), ids.size(), &n));
  const int64_t ctx = o.ctxSize > 0 ? o.ctxSize : fd_engine_max_context(engine);
  const int64_t used = fd_engine_sequence_length(engine);
  if (used + static_cast<int64_t>(n) >= ctx) {
    fail("the prompt (" + std::to_string(n) +
         " tokens) does not fit: " + std::to_string(used) + " of the " +
         std::to_string(ctx) + " context positions are used");
    return false;
  }
  fd_generate_options g = fd_engine_default_generate_options(engine);
  g.sampling = samplingFor(engine, o);
  g.max_tokens = static_cast<int32_t>(
      std::min<int64_t>(o.maxTokens, ctx - used - static_cast<int64_t>(n)));
  g.on_token = printText;
  fd_generate_result r{};
  if (fd_error_t e =
          fd_engine_generate(engine, ids.data(), ids.size(), &g, &r)) {
    std::printf("\n");
    fail(takeError(e));
    return false;
  }
  std::printf("\n");
  std::fflush(stdout);
  if (o.verbose) {
    static const char *reasons[] = {"stop token", "max tokens", "context full",
                                    "stopped"};
    std::fprintf(stderr,
                 "prefill: %d tokens, %.1f tok/s; decode: %d tokens, %.1f "
                 "tok/s; finished: %s\n",
                 r.prompt_tokens, r.prompt_tokens / r.prefill_seconds,
                 r.generated_tokens,
                 r.decode_seconds > 0 ? r.generated_tokens / r.decode_seconds
                                      : 0.0,
                 reasons[r.finish]);
  }
  return true;
}

int checkContext(fd_engine *engine, const RunOptions &o) {
  if (o.ctxSize > fd_engine_max_context(engine)) {
    return fail("--ctx-size " + std::to_string(o.ctxSize) +
                " exceeds the context the model was compiled for (" +
                std::to_string(fd_engine_max_context(engine)) +
                "; compile-model --max-context)");
  }
  return 0;
}

int runText(const RunOptions &o) {
  fd_engine *engine = openEngine(o);
  if (!engine) {
    return 1;
  }
  int rc = checkContext(engine, o);
  if (rc == 0 && !generateText(engine, o, o.text)) {
    rc = 1;
  }
  fd_engine_close(engine);
  return rc;
}

/// Interactive chat: one user message per stdin line; the model state is
/// kept between turns, so each turn feeds only its own tokens. "/reset"
/// starts a new conversation.
int chat(const RunOptions &o) {
  fd_engine *engine = openEngine(o);
  if (!engine) {
    return 1;
  }
  int rc = checkContext(engine, o);
  const bool tty = ::isatty(0);
  std::string line;
  bool first = true;
  while (rc == 0) {
    if (tty) {
      std::fprintf(stderr, "> ");
    }
    if (!std::getline(std::cin, line)) {
      break;
    }
    if (line == "/reset") {
      fd_error_free(fd_engine_reset(engine));
      first = true;
      continue;
    }
    size_t len = 0;
    const char *system =
        first && !o.system.empty() ? o.system.c_str() : nullptr;
    if (fd_error_t e = fd_engine_chat_turn(engine, system, line.c_str(),
                                           !o.noThink, nullptr, 0, &len)) {
      rc = fail(takeError(e));
      break;
    }
    std::string turn(len + 1, '\0');
    fd_error_free(fd_engine_chat_turn(engine, system, line.c_str(), !o.noThink,
                                      turn.data(), turn.size(), &len));
    turn.resize(len);
    first = false;
    if (!generateText(engine, o, turn)) {
      rc = 1;
    }
  }
  fd_engine_close(engine);
  return rc;
}

struct ServeOptions {
  std::string host = "127.0.0.1", name;
  int port = 8080, queue = 8;
  size_t maxBody = 1 << 20;
};

int runServer(const RunOptions &o, const ServeOptions &so,
              const std::string &self, bool maxTokensGiven) {
  // The server module beside the executable (or $FD_SERVE_MODULE).
  std::string dir = self.substr(0, self.find_last_of('/') + 1);
  const char *env = std::getenv("FD_SERVE_MODULE");
  std::string modulePath = env && *env ? env : dir + "fd-serve.so";
  void *module = ::dlopen(modulePath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    return fail("serve: cannot load " + modulePath + " (" + ::dlerror() +
                "); the server module needs cpp-httplib (Debian: apt install "
                "libcpp-httplib0.11)");
  }
  auto serveFn = reinterpret_cast<fd_serve_fn>(::dlsym(module, "fd_serve"));
  if (!serveFn) {
    return fail("serve: " + modulePath + " has no fd_serve");
  }
  fd_engine *engine = openEngine(o);
  if (!engine) {
    return 1;
  }
  int rc = checkContext(engine, o);
  if (rc == 0 && !fd_engine_has_tokenizer(engine)) {
    size_t n = 0;
    rc = fail(takeError(fd_engine_tokenize(engine, "", 0, 0, nullptr, 0, &n)));
  }
  if (rc == 0) {
    std::string name = so.name;
    if (name.empty()) {
      std::string path = o.model;
      while (path.size() > 1 && path.back() == '/') {
        path.pop_back();
      }
      name = path.substr(path.find_last_of('/') + 1);
    }
    fd_serve_config config{};
    config.abi = FD_SERVE_ABI;
    config.host = so.host.c_str();
    config.port = so.port;
    config.model_name = name.c_str();
    config.queue = so.queue;
    config.max_body = so.maxBody;
    config.context = o.ctxSize > 0 ? o.ctxSize : fd_engine_max_context(engine);
    // OpenAI's completions default is 16 tokens; --max-tokens changes it.
    config.default_max_tokens = maxTokensGiven ? o.maxTokens : 16;
    config.thinking = !o.noThink;
    config.sampling = samplingFor(engine, o);
    config.quiet = o.quiet;
    rc = serveFn(engine, &config);
  }
  fd_engine_close(engine);
  return rc;
}

int run(const RunOptions &o) {
  std::vector<int32_t> prompt, forced;
  if (!parseIds(o.prompt, prompt)) {
    return fail("--prompt-ids: expected comma-separated token ids, got '" +
                o.prompt + "'");
  }
  if (!o.forced.empty() && !parseIds(o.forced, forced)) {
    return fail("--forced-ids: expected comma-separated token ids, got '" +
                o.forced + "'");
  }
  if (o.tokens < 1) {
    return fail("-n must be at least 1");
  }
  if (!forced.empty() && static_cast<int>(forced.size()) < o.tokens - 1) {
    return fail("--forced-ids gives " + std::to_string(forced.size()) +
                " ids for " + std::to_string(o.tokens - 1) + " fed tokens");
  }
  fd_engine *engine = openEngine(o);
  if (!engine) {
    return 1;
  }
  const int64_t context = fd_engine_max_context(engine);
  if (static_cast<int64_t>(prompt.size()) + o.tokens - 1 > context) {
    fd_engine_close(engine);
    return fail("prompt (" + std::to_string(prompt.size()) + ") + " +
                std::to_string(o.tokens) +
                " tokens exceed the compiled context (--max-context " +
                std::to_string(context) + ")");
  }
  std::vector<float> logits(static_cast<size_t>(fd_engine_vocab_size(engine)));
  // The dump is written under a temporary name and renamed when complete:
  // a run that fails leaves no partial file.
  std::FILE *dump = nullptr;
  const std::string dumpPartial = o.dump + ".partial";
  if (!o.dump.empty() && !(dump = std::fopen(dumpPartial.c_str(), "wb"))) {
    fd_engine_close(engine);
    return fail(o.dump + ": cannot write");
  }
  using Clock = std::chrono::steady_clock;
  int rc = 0;
  int32_t position = 0, next = 0;
  for (int pass = 0; pass < o.repeat && rc == 0; ++pass) {
    position = 0; // a new sequence: the engine clears the state
    const bool last = pass + 1 == o.repeat;
    auto step = [&](int32_t token, bool record) {
      if (fd_error_t e =
              fd_engine_step(engine, token, position++,
                             record ? logits.data() : nullptr, &next)) {
        rc = fail(fd_error_message(e));
        fd_error_free(e);
        return false;
      }
      if (record && dump &&
          std::fwrite(logits.data(), 4, logits.size(), dump) != logits.size()) {
        rc = fail(o.dump + ": write failed");
        return false;
      }
      return true;
    };
    const bool record = dump != nullptr && last;
    auto start = Clock::now();
    bool ok = true;
    for (size_t i = 0; ok && i < prompt.size(); ++i) {
      ok = step(prompt[i], record && i + 1 == prompt.size());
    }
    auto prefilled = Clock::now();
    if (ok) {
      std::printf("%d", next);
      std::fflush(stdout);
    }
    for (int t = 1; ok && t < o.tokens; ++t) {
      ok = step(forced.empty() ? next : forced[static_cast<size_t>(t - 1)],
                record);
      if (ok) {
        // Streamed: each id as soon as it exists.
        std::printf(" %d", next);
        std::fflush(stdout);
      }
    }
    auto done = Clock::now();
    std::printf("\n");
    std::fflush(stdout);
    if (ok && !o.quiet && last) {
      double p = std::chrono::duration<double>(prefilled - start).count();
      double d = std::chrono::duration<double>(done - prefilled).count();
      std::fprintf(
          stderr,
          "prefill: %zu tokens in %.1f ms (%.1f tok/s, token by token)\n",
          prompt.size(), 1e3 * p, prompt.size() / p);
      if (o.tokens > 1) {
        std::fprintf(
            stderr, "decode: %d tokens in %.1f ms, %.3f ms/token, %.1f tok/s\n",
            o.tokens - 1, 1e3 * d, 1e3 * d / (o.tokens - 1),
            (o.tokens - 1) / d);
      }
    }
  }
  if (dump) {
    bool closed = std::fclose(dump) == 0;
    if (rc == 0 && !closed) {
      rc = fail(o.dump + ": write failed");
    }
    if (rc == 0 && std::rename(dumpPartial.c_str(), o.dump.c_str()) != 0) {
      rc = fail(o.dump + ": cannot write");
    }
    if (rc != 0) {
      std::remove(dumpPartial.c_str());
    }
  }
  fd_engine_close(engine);
  return rc;
}

/// `bench`: the engine opened (timed: the load path), the benchmark run,
/// the table printed and the JSON written whole or not at all.
int bench(const RunOptions &o, fd::runtime::BenchOptions b,
          const std::string &jsonPath) {
  auto t0 = std::chrono::steady_clock::now();
  fd_engine *engine = openEngine(o);
  if (!engine) {
    return 1;
  }
  b.loadSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  b.randomWeights = o.random;
  std::string text, json;
  fd_error_t err = fd::runtime::runBench(engine, b, text, json);
  fd_engine_close(engine);
  if (err) {
    return fail(takeError(err));
  }
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  if (!jsonPath.empty()) {
    const std::string partial = jsonPath + ".partial";
    FILE *f = std::fopen(partial.c_str(), "wb");
    bool ok = f && std::fwrite(json.data(), 1, json.size(), f) == json.size();
    ok = f && std::fclose(f) == 0 && ok;
    if (!ok || std::rename(partial.c_str(), jsonPath.c_str()) != 0) {
      std::remove(partial.c_str());
      return fail(jsonPath + ": cannot write");
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  const std::string self = selfPath(argv[0]);
  const bool embedded = fd_model_embedded(self.c_str());
  CLI::App app{embedded ? "A fusedecode compiled model: fused batch-1 decode "
                          "on the GPU (CUDA sm_90 / HIP gfx1151), or the "
                          "float32 reference on the CPU."
                        : "fd-run: runs a model compiled by compile-model "
                          "(its output directory or executable)."};
  app.require_subcommand(1);
  RunOptions o;
  o.model = embedded ? self : "";
  // Options every subcommand takes: where the model is and what runs it.
  auto addCommon = [&](CLI::App *cmd) {
    auto *modelOpt = cmd->add_option(
        "--model", o.model,
        "Compiled model: OUT/ or OUT/<model> (default: this executable)");
    if (!embedded) {
      modelOpt->required();
    }
    cmd->add_option("--device", o.device, "auto, gpu or cpu")
        ->check(CLI::IsMember({"auto", "gpu", "cpu"}))
        ->capture_default_str();
    cmd->add_option("--weights", o.weights,
                    "Weights file (default: weights.fdw beside the model)");
    cmd->add_flag("-q,--quiet", o.quiet, "No device line or timings");
  };
  // Text generation: sampling (defaults: the model's generation_config),
  // length and context.
  auto addText = [&](CLI::App *cmd) {
    cmd->add_option("--temperature", o.temperature, "0: greedy")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-k", o.topK, "0: off")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-p", o.topP, "1: off")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--min-p", o.minP, "0: off")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--repeat-penalty", o.repeatPenalty, "1: off")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--repeat-last-n", o.repeatLastN,
                    "Tokens the repetition penalty looks back at")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--seed", o.seed, "Sampling seed")->capture_default_str();
    cmd->add_option("--max-tokens", o.maxTokens, "Tokens to generate at most")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--ctx-size", o.ctxSize,
                    "Context positions to use (default: all compiled)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("-v,--verbose", o.verbose,
                  "A timing line per generation (prefill and decode tok/s)");
  };

  CLI::App *runCmd = app.add_subcommand(
      "run", "Generate from a text prompt (-p, streamed) or from token ids "
             "(--prompt-ids, greedy, ids out)");
  addCommon(runCmd);
  addText(runCmd);
  auto *textOpt = runCmd->add_option("-p,--prompt", o.text,
                                     "Prompt text (raw, no chat "
                                     "format)");
  auto *idsOpt =
      runCmd->add_option("--prompt-ids", o.prompt, "Prompt token ids: 1,2,3");
  textOpt->excludes(idsOpt);
  runCmd
      ->add_option("-n,--tokens", o.tokens,
                   "With --prompt-ids: tokens to generate")
      ->capture_default_str();
  runCmd->add_option("--forced-ids", o.forced,
                     "Teacher forcing: feed these ids instead of the "
                     "generated ones");
  runCmd->add_option("--dump-logits", o.dump,
                     "Write the logits of every generated token (float32)");
  runCmd
      ->add_option("--random-weights", o.randomSeed,
                   "GPU: random weights from this seed instead of a "
                   "weights file (timing without a checkpoint)")
      ->each([&o](const std::string &) { o.random = true; });
  runCmd
      ->add_option("--repeat", o.repeat,
                   "Run prompt and generation this many times in one "
                   "process, each from position 0 (the timings are the "
                   "last run's: warm)")
      ->check(CLI::PositiveNumber);

  CLI::App *chatCmd = app.add_subcommand(
      "chat", "Interactive multi-turn chat: one message per line on stdin, "
              "the model state kept between turns; /reset starts over");
  addCommon(chatCmd);
  addText(chatCmd);
  chatCmd->add_option("--system", o.system, "System message");
  chatCmd->add_flag("--no-think", o.noThink,
                    "Thinking off (an empty think block in each prompt)");

  ServeOptions sc;
  CLI::App *benchCmd = app.add_subcommand(
      "bench", "Decode speed (TPOT, TTFT) on random prompts, against the "
               "device's measured bandwidth and the plan's bytes per token");
  addCommon(benchCmd);
  fd::runtime::BenchOptions bo;
  std::string benchJson;
  benchCmd->add_option("--input-len", bo.inputLen, "Prompt tokens")
      ->capture_default_str();
  benchCmd->add_option("--output-len", bo.outputLen, "Generated tokens")
      ->capture_default_str();
  benchCmd->add_option("--num-prompts", bo.numPrompts, "Prompts measured")
      ->capture_default_str();
  benchCmd->add_option("--warmup", bo.warmup, "Prompts run first, not measured")
      ->capture_default_str();
  benchCmd->add_option("--seed", bo.seed, "Seed of the random prompts")
      ->capture_default_str();
  benchCmd
      ->add_option("--random-weights", o.randomSeed,
                   "GPU: random weights from this seed instead of the "
                   "weights file")
      ->each([&o](const std::string &) { o.random = true; });
  benchCmd->add_option("--profile-steps", bo.profileSteps,
                       "Time every launch of N decode steps (after the "
                       "workload, on one more prompt)");
  benchCmd
      ->add_option("--skip-steps", bo.skipSteps,
                   "Decode steps before the profiled ones")
      ->capture_default_str();
  benchCmd
      ->add_option("--bandwidth-gib", bo.bandwidthBytes,
                   "Bytes the bandwidth kernel reads per pass, in GiB")
      ->transform([](std::string v) {
        char *end = nullptr;
        double g = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !(g > 0) || g > 1024) {
          throw CLI::ValidationError("--bandwidth-gib",
                                     "must be a size in GiB, above 0");
        }
        return std::to_string(static_cast<uint64_t>(g * 1073741824.0));
      })
      ->default_str("4");
  benchCmd->add_option("--json", benchJson, "Also write the report as JSON");

  CLI::App *serveCmd = app.add_subcommand(
      "serve", "OpenAI-compatible HTTP server: /v1/completions, "
               "/v1/chat/completions (SSE streaming or not), /v1/models, "
               "/health; one sequence at a time");
  addCommon(serveCmd);
  addText(serveCmd);
  serveCmd->add_option("--host", sc.host, "Address to listen on")
      ->capture_default_str();
  serveCmd->add_option("--port", sc.port, "Port (0: any free one, printed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serveCmd->add_option("--name", sc.name,
                       "Model id requests name (default: the model's file "
                       "name)");
  serveCmd
      ->add_option("--queue", sc.queue,
                   "Requests waiting or running at most; more get 503")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serveCmd
      ->add_option("--max-body", sc.maxBody,
                   "Largest request body in bytes; larger get 413")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serveCmd->add_flag("--no-think", o.noThink,
                     "Chat requests default to thinking off");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    // One line, like every other error.
    return fail(e.what());
  }
  o.textCmd = chatCmd->parsed()    ? chatCmd
              : serveCmd->parsed() ? serveCmd
                                   : runCmd;
  if (benchCmd->parsed()) {
    return bench(o, bo, benchJson);
  }
  if (serveCmd->parsed()) {
    return runServer(o, sc, self, serveCmd->count("--max-tokens") > 0);
  }
  if (chatCmd->parsed()) {
    return chat(o);
  }
  if (textOpt->count()) {
    return runText(o);
  }
  if (!idsOpt->count()) {
    return fail("run: give a prompt: -p TEXT or --prompt-ids 1,2,3");
  }
  return run(o);
}
