//===- fd-run.cpp - run a compiled model on the GPU -----------------------===//
//
// fd-run OUT --prompt-ids 1,2,3 --steps N [--forced-ids ...] [--dump-logits F]
//
// Feeds the prompt token by token through the decode step (positions 0..),
// then N greedy steps; prints the token chosen after each fed token from the
// last prompt token on (N + 1 ids, like fd-ref) and optionally writes those
// steps' logits as float32 rows.
//
//===----------------------------------------------------------------------===//

#include "fusedecode/engine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static int fail(const std::string &msg) {
  std::fprintf(stderr, "fd-run: error: %s\n", msg.c_str());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    return fail("usage: fd-run OUT --prompt-ids 1,2,3 [--steps N] "
                "[--dump-logits FILE]");
  }
  std::string dir = argv[1], dump;
  std::vector<int32_t> prompt, forced;
  int steps = 16, bench = 0;
  fd_engine_options options{0, 0};
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--prompt-ids") {
      for (char *tok = std::strtok(argv[i + 1], ","); tok;
           tok = std::strtok(nullptr, ",")) {
        prompt.push_back(static_cast<int32_t>(std::atoi(tok)));
      }
    } else if (flag == "--forced-ids") {
      // Teacher forcing: feed these ids instead of the chosen ones.
      for (char *tok = std::strtok(argv[i + 1], ","); tok;
           tok = std::strtok(nullptr, ",")) {
        forced.push_back(static_cast<int32_t>(std::atoi(tok)));
      }
    } else if (flag == "--random-weights") {
      // Seed: fill the weights randomly instead of reading weights.fdw.
      options.random_weights = 1;
      options.seed = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--bench") {
      bench = std::atoi(argv[i + 1]);
    } else if (flag == "--steps") {
      steps = std::atoi(argv[i + 1]);
    } else if (flag == "--dump-logits") {
      dump = argv[i + 1];
    } else {
      return fail("unknown option " + flag);
    }
  }
  if (prompt.empty() || steps < 0) {
    return fail("--prompt-ids must name at least one token and --steps be "
                "non-negative");
  }
  if (!forced.empty() && static_cast<int>(forced.size()) < steps) {
    return fail("--forced-ids gives " + std::to_string(forced.size()) +
                " ids for " + std::to_string(steps) + " steps");
  }
  fd_engine *engine = nullptr;
  if (fd_error_t e = fd_engine_open_gpu(dir.c_str(), &options, &engine)) {
    std::string msg = fd_error_message(e);
    fd_error_free(e);
    return fail(msg);
  }
  std::vector<float> logits(static_cast<size_t>(fd_engine_vocab_size(engine)));
  std::FILE *out = dump.empty() ? nullptr : std::fopen(dump.c_str(), "wb");
  int32_t position = 0, next = 0;
  std::vector<int32_t> fed(prompt);
  int rc = 0;
  for (size_t i = 0; i < fed.size() && rc == 0; ++i) {
    bool record = i + 1 >= prompt.size();
    if (fd_error_t e =
            fd_engine_step(engine, fed[i], position++,
                           record ? logits.data() : nullptr, &next)) {
      rc = fail(fd_error_message(e));
      fd_error_free(e);
      break;
    }
    if (record) {
      std::printf("%s%d", i + 1 == prompt.size() ? "" : " ", next);
      if (out) {
        std::fwrite(logits.data(), 4, logits.size(), out);
      }
      const int generated = static_cast<int>(fed.size() - prompt.size());
      if (generated < steps) {
        fed.push_back(forced.empty() ? next
                                     : forced[static_cast<size_t>(generated)]);
      }
    }
  }
  std::printf("\n");
  if (out) {
    std::fclose(out);
  }
  if (rc == 0 && bench > 0) {
    // Decode timing: `bench` more greedy steps after the ones above, each a
    // graph replay plus the token's round trip, timed end to end.
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < bench && rc == 0; ++i) {
      if (fd_error_t e =
              fd_engine_step(engine, next, position++, nullptr, &next)) {
        rc = fail(fd_error_message(e));
        fd_error_free(e);
      }
    }
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (rc == 0) {
      std::printf("decode: %d steps, %.3f ms/token, %.1f tok/s\n", bench,
                  1e3 * s / bench, bench / s);
    }
  }
  fd_engine_close(engine);
  return rc;
}
