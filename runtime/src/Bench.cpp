//===- Bench.cpp - decode speed against the device's own roofline ---------===//

#include "Bench.h"

#include "EngineState.h"
#include "Status.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <map>
#include <random>

namespace fd::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

/// Bytes a launch moves at `context` positions.
double launchBytes(const PlanLaunch &l, double context) {
  double bytes = 0;
  for (const PlanTraffic &t : l.traffic) {
    bytes += static_cast<double>(t.bytes) +
             static_cast<double>(t.perPosition) * context;
  }
  return bytes;
}

/// One prompt: prefill (timed to its first output token), then greedy
/// decode steps, each timed.
struct PromptTiming {
  double ttft = 0;                 // seconds to the first output token
  std::vector<double> decodeSteps; // seconds per later token
};

fd_error_t runPrompt(fd_engine *e, const std::vector<int32_t> &prompt,
                     int decodeSteps, PromptTiming &out,
                     const std::function<fd_error_t(int)> &beforeStep = {}) {
  int32_t next = 0;
  Clock::time_point t0 = Clock::now();
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (fd_error_t err = fd_engine_step(e, prompt[i], static_cast<int32_t>(i),
                                        nullptr, &next)) {
      return err;
    }
  }
  out.ttft = secondsSince(t0);
  for (int s = 0; s < decodeSteps; ++s) {
    if (beforeStep) {
      if (fd_error_t err = beforeStep(s)) {
        return err;
      }
    }
    Clock::time_point t = Clock::now();
    if (fd_error_t err = fd_engine_step(
            e, next, static_cast<int32_t>(prompt.size()) + s, nullptr, &next)) {
      return err;
    }
    out.decodeSteps.push_back(secondsSince(t));
  }
  return nullptr;
}

std::vector<int32_t> randomPrompt(uint64_t seed, int length, int64_t vocab) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> p(static_cast<size_t>(length));
  for (int32_t &t : p) {
    t = id(rng);
  }
  return p;
}

fd_error_t bench(fd_engine *e, const BenchOptions &o, std::string &text,
                 std::string &jsonText) {
  const int64_t maxContext = e->plan.maxContext;
  if (o.inputLen < 1) {
    return makeError("--input-len must be at least 1");
  }
  if (o.outputLen < 2) {
    return makeError("--output-len must be at least 2 (TPOT is measured over "
                     "the tokens after the first)");
  }
  if (o.numPrompts < 1 || o.warmup < 0) {
    return makeError(
        "--num-prompts must be at least 1 and --warmup at least 0");
  }
  // The last token generated is never fed: positions 0 .. in + out - 2.
  if (o.inputLen + o.outputLen - 1 > maxContext) {
    return makeError("--input-len " + std::to_string(o.inputLen) +
                     " + --output-len " + std::to_string(o.outputLen) +
                     " exceed the model's context of " +
                     std::to_string(maxContext) +
                     " positions (compile-model --max-context)");
  }
  if (o.profileSteps < 0 || o.skipSteps < 0) {
    return makeError("--profile-steps and --skip-steps must be at least 0");
  }
  if (o.profileSteps > 0 &&
      o.inputLen + o.skipSteps + o.profileSteps > maxContext) {
    return makeError("--input-len + --skip-steps + --profile-steps exceed the "
                     "model's context of " +
                     std::to_string(maxContext) + " positions");
  }
  const bool onGpu = e->device.rfind("gpu", 0) == 0;
  nlohmann::json j;
  j["device"] = e->device;
  j["model"] = e->bundle.origin;
  j["weights"] = o.randomWeights ? "random" : "weights file";
  j["load_seconds"] = o.loadSeconds;
  j["workload"] = {{"input_len", o.inputLen},
                   {"output_len", o.outputLen},
                   {"num_prompts", o.numPrompts},
                   {"warmup", o.warmup},
                   {"seed", o.seed},
                   {"sampling", "greedy"}};

  // The workload: warm-up prompts first, not recorded.
  std::vector<double> tokPerSec, tpotMs, ttftMs;
  for (int p = 0; p < o.warmup + o.numPrompts; ++p) {
    PromptTiming t;
    if (fd_error_t err =
            runPrompt(e,
                      randomPrompt(o.seed + static_cast<uint64_t>(p),
                                   o.inputLen, e->vocab),
                      o.outputLen - 1, t)) {
      return err;
    }
    if (p < o.warmup) {
      continue;
    }
    double sum = 0;
    for (double s : t.decodeSteps) {
      sum += s;
    }
    const double tpot = sum / static_cast<double>(t.decodeSteps.size());
    tpotMs.push_back(tpot * 1e3);
    tokPerSec.push_back(1.0 / tpot);
    ttftMs.push_back(t.ttft * 1e3);
  }
  // The prompts' first tokens are the same at every position in the
  // stream, so one slow prompt shows in min, not in the median.
  const double medTok = median(tokPerSec);
  const double minTok = *std::min_element(tokPerSec.begin(), tokPerSec.end());
  const double maxTok = *std::max_element(tokPerSec.begin(), tokPerSec.end());
  j["decode_tok_s"] = {{"median", medTok}, {"min", minTok}, {"max", maxTok}};
  j["tpot_ms"] = {{"median", median(tpotMs)}};
  j["ttft_ms"] = {{"median", median(ttftMs)},
                  {"min", *std::min_element(ttftMs.begin(), ttftMs.end())},
                  {"max", *std::max_element(ttftMs.begin(), ttftMs.end())}};

  // Bytes per token at the decode steps' mean context.
  const double meanContext = o.inputLen + o.outputLen / 2.0;
  std::map<std::string, double> byCategory;
  bool hasTraffic = false;
  for (const PlanLaunch &l : e->plan.decode) {
    for (const PlanTraffic &t : l.traffic) {
      hasTraffic = true;
      byCategory[t.category] +=
          static_cast<double>(t.bytes) +
          static_cast<double>(t.perPosition) * meanContext;
    }
  }
  double bytesPerToken = 0;
  for (const auto &[c, b] : byCategory) {
    bytesPerToken += b;
  }

  double bandwidth = 0;
  std::string bandwidthNote;
  if (fd_error_t err = e->backend->readBandwidth(
          o.bandwidthBytes, std::max(1, o.bandwidthTrials), bandwidth)) {
    if (onGpu) {
      return err;
    }
    bandwidthNote = fd_error_message(err);
    fd_error_free(err);
    bandwidth = 0;
  }

  // Memory: what the engine holds against what the plan needs.
  std::map<std::string, uint64_t> planned;
  for (const PlanBuffer &b : e->plan.buffers) {
    if (b.kind != "arena") {
      planned[b.kind] += b.size;
    }
  }
  planned["arena"] = e->plan.arenaBytes;
  const double essential = static_cast<double>(
      planned["weight"] + planned["kv_cache"] + planned["state"]);
  uint64_t used = 0, total = 0;
  bool hasMemory = false;
  if (onGpu) {
    if (fd_error_t err = e->backend->deviceMemory(used, total)) {
      return err;
    }
    hasMemory = true;
  }

  // --- the report
  std::string &s = text;
  s += "bench: " + e->device + "\n";
  s += format("model: %s (%s; loaded in %.2f s)\n", e->bundle.origin.c_str(),
              o.randomWeights ? "random weights" : "weights file",
              o.loadSeconds);
  s += format("workload: %d prompts x (%d in, %d out) after %d warm-up, "
              "greedy, random ids (seed %llu)\n",
              o.numPrompts, o.inputLen, o.outputLen, o.warmup,
              static_cast<unsigned long long>(o.seed));
  s += format("decode: %.1f tok/s median (min %.1f, max %.1f), TPOT %.3f ms\n",
              medTok, minTok, maxTok, median(tpotMs));
  s +=
      format("TTFT: %.1f ms median (prefill token by token)\n", median(ttftMs));
  if (!hasTraffic) {
    s += "bytes per token: unknown (plan.json has no traffic: compiled before "
         "bench existed)\n";
  } else {
    s += format("bytes per token at the mean decode context (%.0f): %.4f GB\n",
                meanContext, bytesPerToken / 1e9);
    std::vector<std::pair<std::string, double>> cats(byCategory.begin(),
                                                     byCategory.end());
    std::sort(cats.begin(), cats.end(),
              [](auto &a, auto &b) { return a.second > b.second; });
    nlohmann::json jc = nlohmann::json::object();
    for (const auto &[c, b] : cats) {
      s += format("  %-14s %10.2f MB  %5.1f %%\n", c.c_str(), b / 1e6,
                  100.0 * b / bytesPerToken);
      jc[c] = b;
    }
    j["bytes_per_token"] = {{"total", bytesPerToken},
                            {"mean_context", meanContext},
                            {"by_category", jc}};
  }
  if (bandwidth > 0) {
    s += format("bandwidth: %.3f TB/s streaming read (fd_stream_read, median "
                "of %d passes over 4 rotating buffers, %.2f GiB)\n",
                bandwidth / 1e12, std::max(1, o.bandwidthTrials),
                static_cast<double>(o.bandwidthBytes) / (1ull << 30));
    j["bandwidth_bytes_s"] = bandwidth;
    if (hasTraffic) {
      const double roofline = bandwidth / bytesPerToken;
      s += format("roofline: %.1f tok/s; reached %.1f %%\n", roofline,
                  100.0 * medTok / roofline);
      j["roofline_tok_s"] = roofline;
      j["roofline_fraction"] = medTok / roofline;
    }
  } else {
    s += "bandwidth: n/a (" + bandwidthNote + ")\n";
    j["bandwidth_bytes_s"] = nullptr;
  }
  if (hasMemory) {
    s += format("memory: the engine holds %.2f GiB of %.2f GiB; the plan's "
                "weights %.2f GiB + KV %.2f GiB + state %.3f GiB = %.2f GiB "
                "(+%.1f %%; activations %.1f MiB)\n",
                used / 1073741824.0, total / 1073741824.0,
                planned["weight"] / 1073741824.0,
                planned["kv_cache"] / 1073741824.0,
                planned["state"] / 1073741824.0, essential / 1073741824.0,
                100.0 * (static_cast<double>(used) - essential) / essential,
                planned["arena"] / 1048576.0);
    j["memory"] = {
        {"engine_bytes", used},         {"device_bytes", total},
        {"weights", planned["weight"]}, {"kv_cache", planned["kv_cache"]},
        {"state", planned["state"]},    {"arena", planned["arena"]}};
  }

  if (o.profileSteps > 0) {
    Backend &b = *e->backend;
    const size_t n = e->plan.decode.size();
    std::vector<std::vector<float>> times; // per profiled step
    PromptTiming t;
    std::vector<float> us;
    auto before = [&](int step) -> fd_error_t {
      if (step > o.skipSteps) { // the previous step was profiled
        if (fd_error_t err = b.launchTimes(us)) {
          return err;
        }
        times.push_back(us);
      }
      return step == o.skipSteps ? b.setProfiling(true) : nullptr;
    };
    fd_error_t err =
        runPrompt(e, randomPrompt(o.seed + 1000003, o.inputLen, e->vocab),
                  o.skipSteps + o.profileSteps, t, before);
    if (!err) {
      err = b.launchTimes(us);
      times.push_back(us);
    }
    // The plain graph again, whatever happened.
    if (fd_error_t off = b.setProfiling(false)) {
      if (!err) {
        err = off;
      } else {
        fd_error_free(off);
      }
    }
    if (err) {
      return err;
    }
    std::vector<double> stepSeconds(t.decodeSteps.begin() + o.skipSteps,
                                    t.decodeSteps.end());
    const double context =
        o.inputLen + o.skipSteps + (o.profileSteps + 1) / 2.0;
    struct Row {
      std::string name;
      int launches = 0;
      double us = 0, bytes = 0;
    };
    std::map<std::string, Row> byTemplate;
    nlohmann::json jl = nlohmann::json::array();
    double kernelUs = 0;
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> v;
      for (const auto &step : times) {
        v.push_back(step[i]);
      }
      const PlanLaunch &l = e->plan.decode[i];
      const double med = median(v), bytes = launchBytes(l, context);
      Row &r = byTemplate[l.templateName];
      r.name = l.templateName;
      ++r.launches;
      r.us += med;
      r.bytes += bytes;
      kernelUs += med;
      jl.push_back({{"index", i},
                    {"template", l.templateName},
                    {"us", med},
                    {"bytes", bytes},
                    {"floor_us", bandwidth > 0 ? bytes / bandwidth * 1e6 : 0}});
    }
    std::vector<Row> rows;
    for (auto &[name, r] : byTemplate) {
      rows.push_back(r);
    }
    auto lost = [&](const Row &r) {
      return r.us - (bandwidth > 0 ? r.bytes / bandwidth * 1e6 : 0);
    };
    std::sort(rows.begin(), rows.end(),
              [&](const Row &a, const Row &c) { return lost(a) > lost(c); });
    s += format("\nprofile: %d steps after %d (context %d..%d), %zu launches "
                "per step; medians per launch\n",
                o.profileSteps, o.skipSteps, o.inputLen + o.skipSteps + 1,
                o.inputLen + o.skipSteps + o.profileSteps, n);
    s += format("  launches sum to %.1f us per step; the profiled step took "
                "%.1f us (event nodes between launches included), the plain "
                "one %.1f us (TPOT)\n",
                kernelUs, median(stepSeconds) * 1e6, median(tpotMs) * 1e3);
    s += format("  %-26s %8s %10s %7s %10s %9s %10s\n", "template", "launches",
                "us/step", "share", "MB/step", "% of bw", "lost us");
    nlohmann::json jt = nlohmann::json::array();
    for (const Row &r : rows) {
      const double pct = bandwidth > 0 && r.us > 0
                             ? 100.0 * (r.bytes / (r.us * 1e-6)) / bandwidth
                             : 0;
      s += format("  %-26s %8d %10.1f %6.1f%% %10.2f %8.1f%% %10.1f\n",
                  r.name.c_str(), r.launches, r.us, 100.0 * r.us / kernelUs,
                  r.bytes / 1e6, pct, lost(r));
      jt.push_back({{"template", r.name},
                    {"launches", r.launches},
                    {"us", r.us},
                    {"bytes", r.bytes},
                    {"bandwidth_fraction", pct / 100.0},
                    {"lost_us", lost(r)}});
    }
    j["profile"] = {{"steps", o.profileSteps},
                    {"skip_steps", o.skipSteps},
                    {"context", context},
                    {"kernel_us", kernelUs},
                    {"profiled_step_us", median(stepSeconds) * 1e6},
                    {"by_template", jt},
                    {"launches", jl}};
  }
  jsonText = j.dump(1) + "\n";
  return nullptr;
}

} // namespace

fd_error_t runBench(fd_engine *engine, const BenchOptions &options,
                    std::string &text, std::string &json) {
  return guarded("bench", [&] { return bench(engine, options, text, json); });
}

} // namespace fd::runtime
