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

#include "fusedecode/engine.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
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
};

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
    std::string msg = fd_error_message(e);
    fd_error_free(e);
    return fail(msg);
  }
  if (!o.quiet) {
    std::fprintf(stderr, "device: %s\n", fd_engine_device_name(engine));
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
  std::FILE *dump = nullptr;
  if (!o.dump.empty() && !(dump = std::fopen(o.dump.c_str(), "wb"))) {
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
    std::fclose(dump);
  }
  fd_engine_close(engine);
  return rc;
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
  CLI::App *runCmd =
      app.add_subcommand("run", "Prefill a prompt and generate greedily");
  auto *modelOpt = runCmd->add_option(
      "--model", o.model,
      "Compiled model: OUT/ or OUT/<model> (default: this executable)");
  if (!embedded) {
    modelOpt->required();
  }
  runCmd->add_option("--prompt-ids", o.prompt, "Prompt token ids: 1,2,3")
      ->required();
  runCmd->add_option("-n,--tokens", o.tokens, "Tokens to generate")
      ->capture_default_str();
  runCmd->add_option("--device", o.device, "auto, gpu or cpu")
      ->check(CLI::IsMember({"auto", "gpu", "cpu"}))
      ->capture_default_str();
  runCmd->add_option("--weights", o.weights,
                     "Weights file (default: weights.fdw beside the model)");
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
  runCmd->add_flag("-q,--quiet", o.quiet, "No device line or timings");
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
  return run(o);
}
