//===- fd-tune.cpp - time GEMV candidates on this machine's GPU -----------===//
//
//   fd-tune OUT/tuning-job/sm_90/job.json --db ~/.cache/fusedecode/tuning
//
// Runs the job compile-model wrote (--autotune or --emit-tuning-job): for
// every GEMV shape, every candidate instance is timed the way the seed's
// benchmark does it, and the times are merged into DB/<target>.json, which
// later compiles read (compiler/codegen/TuningDb.h has the format).
//
// Method, per candidate: its buffers filled with valid random data (never
// zeros; expert ids distinct and in range) in as many copies as the job asks
// so the last-level cache does not serve the weights; launches captured back
// to back into one graph, launch i using copy i mod copies; the graph sized
// so one replay takes about --replay-ms; after a warm-up replay, replays are
// timed (host clock around replay + synchronize) until the standard error
// of the mean is under --se-pct of it, --max-replays were done or
// --max-seconds passed. The time per launch is the mean replay over the
// launches in it: what the launch costs inside the decode step's graph.
//
// Needs no compiler: the job carries the code object. Plain C++ on the
// runtime's driver layer (CUDA or HIP, opened at run time).
//
//===----------------------------------------------------------------------===//

#include "GpuDriver.h"
#include "Plan.h"
#include "RandomFill.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
using fd::runtime::GpuDriver;

/// One-line error, exit status 1.
struct Failure {
  std::string message;
};

[[noreturn]] void fail(const std::string &msg) { throw Failure{msg}; }

void check(fd_error_t e, const std::string &context) {
  if (e) {
    std::string msg = context + ": " + fd_error_message(e);
    fd_error_free(e);
    fail(msg);
  }
}

struct JobBuffer {
  std::string name, fill;
  uint64_t size = 0;
  int64_t idsBelow = 0, copies = 1;
};

/// A candidate's kernel argument: plan.json's argument kinds.
using JobArg = fd::runtime::PlanArg;

struct JobCandidate {
  int rows = 0, lanes = 0, waves = 0;
  std::string symbol;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  std::vector<JobArg> args;
};

struct JobShape {
  std::string key, templateName, shape;
  std::vector<JobCandidate> candidates;
};

struct Job {
  std::string target, templatesHash, compiler, codeObject;
  std::vector<JobBuffer> buffers;
  std::vector<JobShape> shapes;
};

/// The field `key` of `o`, of the right JSON type, or a one-line error
/// naming the file and where.
const json &field(const json &o, const char *key, const std::string &where,
                  const std::string &path, json::value_t type) {
  auto it = o.find(key);
  bool ok = it != o.end();
  if (ok) {
    switch (type) {
    case json::value_t::number_unsigned:
      ok = it->is_number_integer() && it->get<int64_t>() >= 0;
      break;
    case json::value_t::number_integer:
      ok = it->is_number_integer();
      break;
    case json::value_t::number_float:
      ok = it->is_number();
      break;
    default:
      ok = it->type() == type;
    }
  }
  if (!ok) {
    fail(path + ": " + where + "field \"" + key + "\" missing or of the " +
         "wrong type");
  }
  return *it;
}

Job readJob(const std::string &path) {
  std::ifstream in(path);
  if (!in) {
    fail(path + ": cannot open");
  }
  json root = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    fail(path + ": not JSON");
  }
  if (!root.is_object() ||
      root.value("format", "") != "fusedecode-tuning-job") {
    fail(path + ": not a tuning job (\"format\" is not "
                "\"fusedecode-tuning-job\")");
  }
  if (root.value("version", 0) != 1) {
    fail(path + ": field \"version\": expected 1");
  }
  using T = json::value_t;
  Job job;
  job.target = field(root, "target", "", path, T::string);
  job.templatesHash = field(root, "templates_hash", "", path, T::string);
  job.compiler = field(root, "compiler", "", path, T::string);
  job.codeObject = field(root, "code_object", "", path, T::string);
  const json &buffers = field(root, "buffers", "", path, T::array);
  for (size_t i = 0; i < buffers.size(); ++i) {
    const std::string at = "buffers[" + std::to_string(i) + "]: ";
    const json &b = buffers[i];
    if (!b.is_object()) {
      fail(path + ": " + at + "not an object");
    }
    JobBuffer jb;
    jb.name = field(b, "name", at, path, T::string);
    jb.size = field(b, "size", at, path, T::number_unsigned);
    jb.fill = field(b, "fill", at, path, T::string);
    jb.copies = field(b, "copies", at, path, T::number_unsigned);
    if (jb.size == 0 || jb.copies < 1 || jb.copies > 1024) {
      fail(path + ": " + at + "size must be positive and copies in 1..1024");
    }
    if (jb.fill == "ids") {
      jb.idsBelow = field(b, "ids_below", at, path, T::number_unsigned);
      if (jb.idsBelow < 1) {
        fail(path + ": " + at + "field \"ids_below\" must be positive");
      }
    }
    job.buffers.push_back(jb);
  }
  const json &shapes = field(root, "shapes", "", path, T::array);
  for (size_t s = 0; s < shapes.size(); ++s) {
    const std::string at = "shapes[" + std::to_string(s) + "]: ";
    const json &sh = shapes[s];
    if (!sh.is_object()) {
      fail(path + ": " + at + "not an object");
    }
    JobShape js;
    js.key = field(sh, "key", at, path, T::string);
    js.templateName = field(sh, "template", at, path, T::string);
    js.shape = field(sh, "shape", at, path, T::string);
    const json &cands = field(sh, "candidates", at, path, T::array);
    for (size_t c = 0; c < cands.size(); ++c) {
      const std::string cat = at + "candidates[" + std::to_string(c) + "]: ";
      const json &cj = cands[c];
      if (!cj.is_object()) {
        fail(path + ": " + cat + "not an object");
      }
      JobCandidate jc;
      jc.rows = field(cj, "ROWS", cat, path, T::number_unsigned);
      jc.lanes = field(cj, "LANES", cat, path, T::number_unsigned);
      jc.waves = field(cj, "WAVES", cat, path, T::number_unsigned);
      jc.symbol = field(cj, "symbol", cat, path, T::string);
      for (const char *dims : {"grid", "block"}) {
        const json &d = field(cj, dims, cat, path, T::array);
        if (d.size() != 3) {
          fail(path + ": " + cat + "field \"" + dims + "\" needs 3 values");
        }
        for (int i = 0; i < 3; ++i) {
          if (!d[i].is_number_integer() || d[i].get<int64_t>() < 1 ||
              d[i].get<int64_t>() > (int64_t(1) << 31) - 1) {
            fail(path + ": " + cat + "field \"" + dims +
                 "\": values must be positive 32-bit integers");
          }
          (dims[0] == 'g' ? jc.grid : jc.block)[i] =
              static_cast<unsigned>(d[i].get<int64_t>());
        }
      }
      const json &args = field(cj, "args", cat, path, T::array);
      for (size_t a = 0; a < args.size(); ++a) {
        const json &aj = args[a];
        const std::string aat = cat + "args[" + std::to_string(a) + "]: ";
        JobArg arg;
        if (!aj.is_object()) {
          fail(path + ": " + aat + "not an object");
        } else if (aj.contains("buffer")) {
          arg.kind = JobArg::Buffer;
          arg.buffer =
              field(aj, "buffer", aat, path, T::number_unsigned).get<size_t>();
          if (arg.buffer >= job.buffers.size()) {
            fail(path + ": " + aat + "buffer index out of range");
          }
        } else if (aj.contains("null")) {
          arg.kind = JobArg::Null;
        } else if (aj.contains("i32")) {
          arg.kind = JobArg::I32;
          arg.i32 =
              field(aj, "i32", aat, path, T::number_integer).get<int32_t>();
        } else if (aj.contains("f32")) {
          arg.kind = JobArg::F32;
          arg.f32 = field(aj, "f32", aat, path, T::number_float).get<float>();
        } else if (aj.contains("u64")) {
          arg.kind = JobArg::U64;
          arg.u64 =
              field(aj, "u64", aat, path, T::number_unsigned).get<uint64_t>();
        } else {
          fail(path + ": " + aat +
               "needs one of \"buffer\", \"null\", \"i32\", \"f32\", \"u64\"");
        }
        jc.args.push_back(arg);
      }
      js.candidates.push_back(std::move(jc));
    }
    job.shapes.push_back(std::move(js));
  }
  return job;
}

struct Settings {
  double replayMs = 5, sePct = 0.2, maxSeconds = 1;
  int minReplays = 5, maxReplays = 40;
  uint64_t seed = 1;
  bool quiet = false;
};

struct Measurement {
  double micros = 0, sePct = 0;
  int64_t replays = 0, launches = 0;
};

/// Buffers of one shape in their copies, allocated and filled.
class ShapeBuffers {
public:
  ShapeBuffers(GpuDriver &gpu, const Job &job, const JobShape &shape,
               uint64_t seed)
      : gpu_(gpu) {
    for (const JobCandidate &c : shape.candidates) {
      for (const JobArg &a : c.args) {
        if (a.kind != JobArg::Buffer || copies_.count(a.buffer)) {
          continue;
        }
        const JobBuffer &b = job.buffers[a.buffer];
        std::vector<uint64_t> &addresses = copies_[a.buffer];
        for (int64_t k = 0; k < b.copies; ++k) {
          uint64_t address = 0;
          check(gpu.alloc(address, b.size), "allocating " + b.name);
          addresses.push_back(address);
          const uint64_t s = seed ^ (0x9E3779B97F4A7C15ull *
                                     (a.buffer * 1031 + uint64_t(k) + 1));
          check(b.fill == "ids"
                    ? fd::runtime::fillExpertIds(gpu, address, b.size,
                                                 b.idsBelow, s)
                    : fd::runtime::fillRandom(gpu, b.fill, address, b.size, s),
                "filling " + b.name);
        }
      }
    }
  }
  ~ShapeBuffers() {
    for (auto &[index, addresses] : copies_) {
      for (uint64_t a : addresses) {
        if (fd_error_t e = gpu_.release(a)) {
          fd_error_free(e); // freed with the driver at exit anyway
        }
      }
    }
  }
  /// The address launch `i` uses for job buffer `index`.
  uint64_t address(size_t index, int64_t i) const {
    const std::vector<uint64_t> &a = copies_.at(index);
    return a[static_cast<size_t>(i % static_cast<int64_t>(a.size()))];
  }
  int64_t maxCopies() const {
    int64_t m = 1;
    for (const auto &[index, a] : copies_) {
      m = std::max<int64_t>(m, static_cast<int64_t>(a.size()));
    }
    return m;
  }

private:
  GpuDriver &gpu_;
  std::map<size_t, std::vector<uint64_t>> copies_;
};

/// Captures `launches` launches of `c` into the driver's graph.
void capture(GpuDriver &gpu, void *fn, const JobCandidate &c,
             const ShapeBuffers &buffers, int64_t launches) {
  check(gpu.beginCapture(), "capture");
  std::vector<uint64_t> values(c.args.size());
  std::vector<void *> params(c.args.size());
  for (int64_t i = 0; i < launches; ++i) {
    for (size_t a = 0; a < c.args.size(); ++a) {
      const JobArg &arg = c.args[a];
      uint64_t &v = values[a];
      v = 0;
      switch (arg.kind) {
      case JobArg::Buffer:
        v = buffers.address(arg.buffer, i);
        break;
      case JobArg::Null:
        break;
      case JobArg::I32:
        std::memcpy(&v, &arg.i32, 4);
        break;
      case JobArg::F32:
        std::memcpy(&v, &arg.f32, 4);
        break;
      case JobArg::U64:
        v = arg.u64;
        break;
      }
      params[a] = &v;
    }
    check(gpu.launch(fn, c.grid, c.block, params.data(), c.symbol, false),
          "launch");
  }
  check(gpu.endCapture(), "capture");
}

double replaySeconds(GpuDriver &gpu) {
  auto t0 = std::chrono::steady_clock::now();
  check(gpu.replay(), "replay");
  check(gpu.synchronize(), "replay");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

Measurement timeCandidate(GpuDriver &gpu, void *fn, const JobCandidate &c,
                          const ShapeBuffers &buffers, const Settings &s) {
  // Calibrate on one pass over the copies (at least 64 launches).
  const int64_t base = std::max<int64_t>(64, buffers.maxCopies());
  capture(gpu, fn, c, buffers, base);
  replaySeconds(gpu); // warm-up: first use of the graph and the data
  std::vector<double> probe;
  for (int i = 0; i < 3; ++i) {
    probe.push_back(replaySeconds(gpu));
  }
  std::sort(probe.begin(), probe.end());
  const double perLaunch = probe[1] / static_cast<double>(base);
  // Whole passes over the copies, about replayMs per replay.
  int64_t launches =
      static_cast<int64_t>(std::ceil(s.replayMs * 1e-3 / perLaunch / base)) *
      base;
  launches = std::clamp<int64_t>(launches, base, 16384);
  capture(gpu, fn, c, buffers, launches);
  replaySeconds(gpu);
  std::vector<double> times;
  double total = 0, mean = 0, se = 0;
  while (static_cast<int>(times.size()) < s.maxReplays) {
    times.push_back(replaySeconds(gpu));
    total += times.back();
    const double n = static_cast<double>(times.size());
    mean = total / n;
    double var = 0;
    for (double t : times) {
      var += (t - mean) * (t - mean);
    }
    se = times.size() > 1 ? std::sqrt(var / (n - 1) / n) : mean;
    if (static_cast<int>(times.size()) >= s.minReplays &&
        (se / mean * 100 < s.sePct || total > s.maxSeconds)) {
      break;
    }
  }
  Measurement m;
  m.micros = mean / static_cast<double>(launches) * 1e6;
  m.sePct = se / mean * 100;
  m.replays = static_cast<int64_t>(times.size());
  m.launches = launches;
  return m;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path + ": cannot open");
  }
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// DB/<target>.json after merging `measured` into what is there: entries of
/// other shapes survive when they were measured with the same templates and
/// compiler; a database of other templates is replaced.
void writeDb(const std::string &dbDir, const Job &job,
             const std::string &device, const json &measured) {
  std::filesystem::create_directories(dbDir);
  const std::string path = dbDir + "/" + job.target + ".json";
  json entries = json::array();
  std::ifstream old(path);
  if (old) {
    json prev = json::parse(old, nullptr, false);
    if (prev.is_object() && prev.value("format", "") == "fusedecode-tuning" &&
        prev.value("version", 0) == 1 &&
        prev.value("templates_hash", "") == job.templatesHash &&
        prev.value("compiler", "") == job.compiler &&
        prev.contains("entries") && prev["entries"].is_array()) {
      for (const json &e : prev["entries"]) {
        bool replaced = false;
        for (const json &m : measured) {
          replaced |= e.value("key", "") == m.value("key", "");
        }
        if (!replaced) {
          entries.push_back(e);
        }
      }
    } else {
      std::fprintf(stderr,
                   "fd-tune: %s holds other templates' or compiler's times "
                   "(or is damaged); replacing it\n",
                   path.c_str());
    }
  }
  for (const json &m : measured) {
    entries.push_back(m);
  }
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  json db{{"format", "fusedecode-tuning"},
          {"version", 1},
          {"target", job.target},
          {"device", device},
          {"date", date},
          {"templates_hash", job.templatesHash},
          {"compiler", job.compiler},
          {"entries", entries}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << db.dump(1) << "\n";
    if (!out) {
      fail(tmp + ": cannot write");
    }
  }
  std::filesystem::rename(tmp, path);
}

int run(int argc, char **argv) {
  CLI::App app{"Times every GEMV candidate of a tuning job on this "
               "machine's GPU and merges the times into DB/<target>.json"};
  std::string jobPath, dbDir;
  Settings s;
  app.add_option("job", jobPath,
                 "job.json from compile-model --autotune or "
                 "--emit-tuning-job")
      ->required();
  app.add_option("--db", dbDir, "Tuning database directory")->required();
  app.add_option("--replay-ms", s.replayMs,
                 "Launches per graph sized for about this many ms")
      ->check(CLI::Range(0.1, 1000.0));
  app.add_option("--se-pct", s.sePct,
                 "Stop once the standard error is under this % of the mean")
      ->check(CLI::Range(0.01, 50.0));
  app.add_option("--max-replays", s.maxReplays, "Timed replays at most")
      ->check(CLI::Range(5, 10000));
  app.add_option("--max-seconds", s.maxSeconds,
                 "Timed replays stop after this long per candidate")
      ->check(CLI::Range(0.01, 600.0));
  app.add_option("--seed", s.seed, "Random data seed");
  app.add_flag("-q,--quiet", s.quiet, "Only errors");
  CLI11_PARSE(app, argc, argv);

  const Job job = readJob(jobPath);
  const std::filesystem::path objectPath =
      std::filesystem::path(jobPath).parent_path() / job.codeObject;
  const std::string image = readFile(objectPath.string());

  std::unique_ptr<GpuDriver> gpu;
  for (auto make : {fd::runtime::makeCudaDriver, fd::runtime::makeHipDriver}) {
    std::unique_ptr<GpuDriver> d = make();
    if (d->ownsTarget(job.target)) {
      gpu = std::move(d);
    }
  }
  if (!gpu) {
    fail(jobPath + ": no driver for target " + job.target);
  }
  bool unavailable = false;
  check(gpu->open(unavailable),
        std::string(gpu->api()) + " (the job is for " + job.target + ")");
  const std::string device = gpu->deviceName();
  if (!gpu->deviceTarget().empty() && gpu->deviceTarget() != job.target) {
    fail("this GPU (" + device + ") is " + gpu->deviceTarget() +
         "; the job is for " + job.target);
  }
  bool wrongTarget = false;
  check(gpu->loadModule(image, wrongTarget), objectPath.string());

  json measured = json::array();
  for (const JobShape &shape : job.shapes) {
    if (shape.candidates.empty()) {
      continue;
    }
    ShapeBuffers buffers(*gpu, job, shape, s.seed);
    json list = json::array();
    const JobCandidate *best = nullptr;
    double bestUs = 0;
    for (const JobCandidate &c : shape.candidates) {
      void *fn = nullptr;
      check(gpu->function(c.symbol, fn), objectPath.string());
      Measurement m = timeCandidate(*gpu, fn, c, buffers, s);
      list.push_back({{"ROWS", c.rows},
                      {"LANES", c.lanes},
                      {"WAVES", c.waves},
                      {"us", m.micros},
                      {"se_pct", m.sePct},
                      {"replays", m.replays},
                      {"launches", m.launches}});
      if (!best || m.micros < bestUs) {
        best = &c;
        bestUs = m.micros;
      }
    }
    measured.push_back({{"key", shape.key},
                        {"template", shape.templateName},
                        {"shape", shape.shape},
                        {"measured", list}});
    if (!s.quiet) {
      std::fprintf(stderr,
                   "fd-tune: %s %s %s: fastest ROWS=%d LANES=%d WAVES=%d "
                   "%.2f us (%zu candidates)\n",
                   job.target.c_str(), shape.templateName.c_str(),
                   shape.shape.c_str(), best->rows, best->lanes, best->waves,
                   bestUs, shape.candidates.size());
    }
  }
  writeDb(dbDir, job, device, measured);
  if (!s.quiet) {
    std::fprintf(stderr, "fd-tune: %zu shapes measured on %s into %s/%s.json\n",
                 job.shapes.size(), device.c_str(), dbDir.c_str(),
                 job.target.c_str());
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const Failure &f) {
    std::fprintf(stderr, "fd-tune: error: %s\n", f.message.c_str());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fd-tune: error: %s\n", e.what());
    return 1;
  }
}
