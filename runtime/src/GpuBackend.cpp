//===- GpuBackend.cpp - running plan.json on a GPU ------------------------===//
//
// The plan's code object for this device is loaded, the arena gets one
// allocation and every weight, state and KV buffer its own; each launch's
// argument block is prepared once and the whole decode step captured into
// one graph. A step writes token, position and step counter to device
// memory, replays the graph and reads the token (and optionally the
// logits) back. The driver (CUDA or HIP) is behind GpuDriver.h.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "GpuDriver.h"
#include "RandomFill.h"
#include "Status.h"

#include "fusedecode/weights.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>

namespace fd::runtime {

namespace {

class GpuBackend final : public Backend {
public:
  GpuBackend(const Plan &plan, std::unique_ptr<GpuDriver> gpu)
      : plan_(plan), gpu_(std::move(gpu)) {}

  fd_error_t open(const BackendInput &in, bool &unavailable);

  fd_error_t step(int32_t token, int32_t position, float *logits,
                  int32_t *nextToken) override {
    GpuDriver &g = *gpu_;
    if (fd_error_t e = g.bindThread()) {
      return e;
    }
    hostToken_ = token;
    hostPosition_ = position;
    hostStep_ = stepCounter_++;
    if (fd_error_t e = g.copyToDeviceAsync(address_[token_], &hostToken_, 4)) {
      return e;
    }
    if (fd_error_t e =
            g.copyToDeviceAsync(address_[position_], &hostPosition_, 4)) {
      return e;
    }
    if (fd_error_t e = g.copyToDeviceAsync(address_[step_], &hostStep_, 4)) {
      return e;
    }
    if (fd_error_t e = g.replay()) {
      return e;
    }
    if (fd_error_t e = g.copyToHostAsync(nextToken, address_[next_], 4)) {
      return e;
    }
    if (logits) {
      if (fd_error_t e = g.copyToHostAsync(logits, address_[logits_],
                                           static_cast<size_t>(vocab_) * 4)) {
        return e;
      }
    }
    return g.synchronize();
  }

  fd_error_t reset() override {
    if (fd_error_t e = gpu_->bindThread()) {
      return e;
    }
    for (size_t i = 0; i < plan_.buffers.size(); ++i) {
      const PlanBuffer &b = plan_.buffers[i];
      if (b.kind == "state" || b.kind == "kv_cache") {
        if (fd_error_t e = gpu_->zero(address_[i], b.size)) {
          return e;
        }
      }
    }
    return nullptr;
  }

  fd_error_t readBandwidth(uint64_t bytes, int trials,
                           double &bytesPerSecond) override;
  fd_error_t setProfiling(bool on) override {
    if (fd_error_t e = gpu_->bindThread()) {
      return e;
    }
    profiling_ = on;
    return capture();
  }
  fd_error_t launchTimes(std::vector<float> &us) override {
    if (!profiling_) {
      return makeError("launchTimes: profiling is off");
    }
    us.assign(launches_.size(), 0.0f);
    for (size_t i = 0; i < launches_.size(); ++i) {
      float ms = 0;
      if (fd_error_t e = gpu_->elapsedMs(i, i + 1, ms)) {
        return e;
      }
      us[i] = ms * 1000.0f;
    }
    return nullptr;
  }
  fd_error_t deviceMemory(uint64_t &used, uint64_t &total) override {
    uint64_t freeNow = 0;
    if (fd_error_t e = gpu_->memoryInfo(freeNow, total)) {
      return e;
    }
    used = freeAtOpen_ > freeNow ? freeAtOpen_ - freeNow : 0;
    return nullptr;
  }

  std::string description() const override {
    return "gpu: " + gpu_->deviceName() + " (" + target_ + ", " + gpu_->api() +
           ", " + std::to_string(launches_.size()) + " launches in one graph)";
  }

private:
  fd_error_t loadCode(const Bundle &bundle, bool &unavailable);
  /// The step's launches into one graph; with profiling, event i before
  /// launch i and event n after the last.
  fd_error_t capture();
  fd_error_t uploadWeights(const BackendInput &in);

  const Plan &plan_;
  std::unique_ptr<GpuDriver> gpu_;
  std::string target_;
  std::vector<uint64_t> address_; // per plan buffer
  struct Launch {
    void *fn = nullptr;
    const PlanLaunch *plan = nullptr;
    const PlanKernel *kernel = nullptr; // this device's target
    std::deque<uint64_t> storage;       // stable addresses for argument values
    std::vector<void *> params;
  };
  std::deque<Launch> launches_;
  size_t token_ = 0, position_ = 0, step_ = 0, next_ = 0, logits_ = 0;
  int64_t vocab_ = 0;
  int32_t stepCounter_ = 0;
  bool profiling_ = false;
  uint64_t freeAtOpen_ = 0; // device memory free before the engine took any
  // Host copies the asynchronous copies read after the calls return.
  int32_t hostToken_ = 0, hostPosition_ = 0, hostStep_ = 0;
};

fd_error_t GpuBackend::loadCode(const Bundle &bundle, bool &unavailable) {
  // The device's own target first (CUDA names it); HIP tries each AMD code
  // object until the runtime accepts one.
  std::vector<std::string> candidates;
  std::string compiled;
  for (const auto &[name, bytes] : bundle.files) {
    if (name.rfind("kernels.", 0) != 0) {
      continue;
    }
    std::string target = name.substr(8, name.find('.', 8) - 8);
    compiled += (compiled.empty() ? "" : ", ") + target;
    if (gpu_->ownsTarget(target) &&
        (gpu_->deviceTarget().empty() || gpu_->deviceTarget() == target)) {
      candidates.push_back(target);
    }
  }
  for (const std::string &target : candidates) {
    const std::string &image =
        *bundle.find("kernels." + target +
                     (target.rfind("gfx", 0) == 0 ? ".hsaco" : ".cubin"));
    bool wrongTarget = false;
    fd_error_t err = gpu_->loadModule(image, wrongTarget);
    if (!err) {
      target_ = target;
      return nullptr;
    }
    if (!wrongTarget) {
      return err;
    }
    fd_error_free(err);
  }
  unavailable = true;
  std::string device =
      gpu_->deviceTarget().empty() ? gpu_->deviceName() : gpu_->deviceTarget();
  return makeError(bundle.origin + ": no kernels for this " + gpu_->api() +
                   " device (" + device + "); compiled for: " +
                   (compiled.empty() ? "no GPU target" : compiled));
}

fd_error_t GpuBackend::uploadWeights(const BackendInput &in) {
  Progress progress{in.options};
  for (const PlanBuffer &b : plan_.buffers) {
    progress.total += b.kind == "weight" ? b.size : 0;
  }
  if (in.options.random_weights) {
    for (size_t i = 0; i < plan_.buffers.size(); ++i) {
      const PlanBuffer &b = plan_.buffers[i];
      if (b.kind == "weight") {
        if (fd_error_t e = fillRandom(*gpu_, b.layout, address_[i], b.size,
                                      weightSeed(in.options.seed, b.name))) {
          return e;
        }
        progress.advance(b.size);
      }
    }
    return nullptr;
  }
  fd_weights *opened = nullptr;
  if (fd_error_t e =
          fd_weights_open(in.weightsPath.c_str(), plan_.hash, &opened)) {
    return e;
  }
  // Closed however this returns (a failed allocation below throws).
  std::unique_ptr<fd_weights, void (*)(fd_weights *)> file(opened,
                                                           fd_weights_close);
  fd_weights *w = file.get();
  std::vector<char> host;
  fd_error_t err = nullptr;
  for (size_t i = 0; i < plan_.buffers.size() && !err; ++i) {
    const PlanBuffer &b = plan_.buffers[i];
    if (b.kind != "weight") {
      continue;
    }
    // Every weight buffer is the tensor of the same name.
    int64_t t = fd_weights_find(w, b.name.c_str());
    if (t < 0 || fd_weights_entry(w, t)->bytes != b.size) {
      err = makeError(in.weightsPath + ": tensor '" + b.name +
                      "' missing or of the wrong size");
      break;
    }
    host.resize(b.size);
    err = fd_weights_read(w, t, host.data());
    if (!err) {
      err = gpu_->copyToDevice(address_[i], host.data(), b.size);
    }
    progress.advance(b.size);
  }
  return err;
}

fd_error_t GpuBackend::open(const BackendInput &in, bool &unavailable) {
  if (fd_error_t e = gpu_->open(unavailable)) {
    return e;
  }
  if (fd_error_t e = loadCode(in.bundle, unavailable)) {
    return e;
  }
  // Refuse early, with numbers, rather than fail in the middle of uploads.
  uint64_t needed = plan_.arenaBytes, freeBytes = 0, totalBytes = 0;
  for (const PlanBuffer &b : plan_.buffers) {
    needed += b.kind == "arena" ? 0 : b.size;
  }
  if (fd_error_t e = gpu_->memoryInfo(freeBytes, totalBytes)) {
    return e;
  }
  freeAtOpen_ = freeBytes;
  if (needed > freeBytes) {
    return makeError(in.bundle.origin + ": the model needs " +
                     formatGiB(needed) + " of GPU memory, " +
                     formatGiB(freeBytes) + " of " + formatGiB(totalBytes) +
                     " is free on " + gpu_->deviceName());
  }
  uint64_t arena = 0;
  if (plan_.arenaBytes) {
    if (fd_error_t e = gpu_->alloc(arena, plan_.arenaBytes)) {
      return e;
    }
  }
  for (const PlanBuffer &b : plan_.buffers) {
    if (b.kind == "arena") {
      address_.push_back(arena + b.offset);
      continue;
    }
    uint64_t p = 0;
    if (fd_error_t e = gpu_->alloc(p, b.size)) {
      return e;
    }
    address_.push_back(p);
    // State and KV start at zero (the empty history).
    if (fd_error_t e = gpu_->zero(p, b.size)) {
      return e;
    }
  }
  if (fd_error_t e = uploadWeights(in)) {
    return e;
  }
  vocab_ = in.vocab;
  for (const PlanLaunch &l : plan_.decode) {
    if (l.templateName == "sample_token" && l.args[0].kind == PlanArg::Buffer) {
      logits_ = l.args[0].buffer;
    }
  }
  std::pair<const char *, size_t *> io[] = {{"io.token", &token_},
                                            {"io.position", &position_},
                                            {"io.step", &step_},
                                            {"io.next_token", &next_}};
  for (auto &[name, slot] : io) {
    if (fd_error_t e = findBuffer(plan_, name, *slot)) {
      return e;
    }
  }

  for (const PlanLaunch &pl : plan_.decode) {
    auto it = pl.kernel.find(target_);
    if (it == pl.kernel.end()) {
      return makeError("plan.json: launch of " + pl.templateName + " has no " +
                       target_ + " kernel");
    }
    Launch &l = launches_.emplace_back();
    l.plan = &pl;
    l.kernel = &it->second;
    if (fd_error_t e = gpu_->function(it->second.symbol, l.fn)) {
      return e;
    }
    for (const PlanArg &a : pl.args) {
      uint64_t &slot = l.storage.emplace_back(0);
      switch (a.kind) {
      case PlanArg::Buffer:
        slot = address_[a.buffer];
        break;
      case PlanArg::Null:
        slot = 0;
        break;
      case PlanArg::I32:
        std::memcpy(&slot, &a.i32, 4);
        break;
      case PlanArg::F32:
        std::memcpy(&slot, &a.f32, 4);
        break;
      case PlanArg::U64:
        slot = a.u64;
        break;
      }
      l.params.push_back(&slot);
    }
  }

  // Capture the whole step once; every token replays it.
  return capture();
}

fd_error_t GpuBackend::capture() {
  if (fd_error_t e = gpu_->beginCapture()) {
    return e;
  }
  if (profiling_) {
    if (fd_error_t e = gpu_->recordEvent(0)) {
      return e;
    }
  }
  for (size_t i = 0; i < launches_.size(); ++i) {
    Launch &l = launches_[i];
    // Profiling puts an event node between launches: no overlap to keep.
    if (fd_error_t e = gpu_->launch(l.fn, l.kernel->grid, l.kernel->block,
                                    l.params.data(), l.plan->templateName,
                                    l.kernel->overlap && !profiling_)) {
      return e;
    }
    if (profiling_) {
      if (fd_error_t e = gpu_->recordEvent(i + 1)) {
        return e;
      }
    }
  }
  return gpu_->endCapture();
}

fd_error_t GpuBackend::readBandwidth(uint64_t bytes, int trials,
                                     double &bytesPerSecond) {
  GpuDriver &g = *gpu_;
  if (fd_error_t e = g.bindThread()) {
    return e;
  }
  void *fn = nullptr;
  if (fd_error_t e = g.function("fd_stream_read", fn)) {
    fd_error_free(e);
    return makeError("the model's code object has no fd_stream_read kernel "
                     "(compiled before bench existed): compile it again");
  }
  // Four buffers, read in turn, so that no pass finds the previous one's
  // data in the last-level cache; half the free memory at most.
  uint64_t freeBytes = 0, totalBytes = 0;
  if (fd_error_t e = g.memoryInfo(freeBytes, totalBytes)) {
    return e;
  }
  constexpr int kBuffers = 4;
  uint64_t each = std::min(bytes, freeBytes / 2) / kBuffers / 4096 * 4096;
  if (each < (64ull << 20)) {
    return makeError("measuring bandwidth: " + formatGiB(freeBytes) +
                     " of device memory free, too little for its buffers");
  }
  std::vector<uint64_t> buffers;
  uint64_t sink = 0;
  auto releaseAll = [&] {
    for (uint64_t b : buffers) {
      if (fd_error_t e = g.release(b)) {
        fd_error_free(e);
      }
    }
    if (sink) {
      if (fd_error_t e = g.release(sink)) {
        fd_error_free(e);
      }
    }
  };
  fd_error_t err = g.alloc(sink, 4);
  for (int i = 0; i < kBuffers && !err; ++i) {
    uint64_t b = 0;
    err = g.alloc(b, each);
    if (!err) {
      buffers.push_back(b);
      // Random data: never time reads of zeros.
      err = fillRandom(g, "bf16", b, each, 0x5EED0000u + i);
    }
  }
  uint64_t count = each / 16;
  unsigned grid[3] = {static_cast<unsigned>((count + 2047) / 2048), 1, 1};
  unsigned block[3] = {256, 1, 1};
  std::vector<double> rates;
  // Trial 0 warms up (module, clocks) and is not counted.
  for (int t = 0; t <= trials && !err; ++t) {
    err = g.recordEvent(0);
    for (int pass = 0; pass < 2 && !err; ++pass) {
      for (int i = 0; i < kBuffers && !err; ++i) {
        void *params[] = {&buffers[i], &count, &sink};
        err = g.launch(fn, grid, block, params, "fd_stream_read", false);
      }
    }
    if (!err) {
      err = g.recordEvent(1);
    }
    if (!err) {
      err = g.synchronize();
    }
    float ms = 0;
    if (!err) {
      err = g.elapsedMs(0, 1, ms);
    }
    if (!err && t > 0) {
      rates.push_back(2.0 * kBuffers * static_cast<double>(each) / (ms * 1e-3));
    }
  }
  releaseAll();
  if (err) {
    return err;
  }
  std::sort(rates.begin(), rates.end());
  bytesPerSecond = rates[rates.size() / 2];
  return nullptr;
}

} // namespace

fd_error_t openGpuBackend(const BackendInput &in, bool &unavailable,
                          std::unique_ptr<Backend> &out) {
  // The vendor whose code objects the bundle carries; CUDA first when both.
  std::string why;
  for (auto make : {makeCudaDriver, makeHipDriver}) {
    std::unique_ptr<GpuDriver> driver = withFaults(make());
    bool has = false;
    for (const auto &[name, bytes] : in.bundle.files) {
      if (name.rfind("kernels.", 0) == 0 &&
          driver->ownsTarget(name.substr(8))) {
        has = true;
      }
    }
    if (!has) {
      continue;
    }
    auto backend = std::make_unique<GpuBackend>(in.plan, std::move(driver));
    bool none = false;
    fd_error_t err = backend->open(in, none);
    if (!err) {
      out = std::move(backend);
      unavailable = false;
      return nullptr;
    }
    if (!none) {
      unavailable = false;
      return err;
    }
    why += (why.empty() ? "" : "; ") + std::string(fd_error_message(err));
    fd_error_free(err);
  }
  unavailable = true;
  return makeError(why.empty() ? in.bundle.origin +
                                     ": compiled for no GPU target (--target)"
                               : why);
}

} // namespace fd::runtime
