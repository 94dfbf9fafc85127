//===- CpuBackend.cpp - the compiled model on the CPU, through fd-ref -----===//
//
// Runs the float32 reference executor (compiler/reference, no LLVM) over
// the program compile-model stored as reference.json. Weights come from the
// same weights.fdw the GPU reads, decoded from the kernels' layouts back to
// float32 [N, K] (dequantization is exact, so this equals fd-ref on the
// checkpoint). Greedy decoding, like the plan's sampler.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "Status.h"

#include "compiler/import/FloatBits.h"
#include "compiler/reference/Dequant.h"
#include "compiler/reference/RefExecutor.h"
#include "compiler/reference/RefProgramJson.h"
#include "fusedecode/weights.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

namespace fd::runtime {

namespace {

namespace ref = fd::reference;

/// MemAvailable from /proc/meminfo (bytes), 0 when unknown.
uint64_t availableMemory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      return kib * 1024;
    }
  }
  return 0;
}

class CpuBackend final : public Backend {
public:
  // The weights file stays open only during open(); closed here too when
  // open() ends by an exception (a failed allocation).
  ~CpuBackend() override { fd_weights_close(file_); }

  fd_error_t open(const BackendInput &in);

  fd_error_t step(int32_t token, int32_t position, float *logits,
                  int32_t *nextToken) override {
    (void)position; // the engine checked it follows the executor's
    std::vector<float> out = executor_->forward({token});
    if (logits) {
      std::memcpy(logits, out.data(), out.size() * sizeof(float));
    }
    *nextToken = ref::RefExecutor::argmax(out);
    return nullptr;
  }
  fd_error_t reset() override {
    executor_->reset();
    return nullptr;
  }
  std::string description() const override {
    return "cpu: reference executor (float32, " +
           std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
           " threads)";
  }

private:
  /// Reads one weight from the file and decodes it by its layout.
  ref::WeightPtr load(const std::string &name,
                      const std::vector<int64_t> &shape, std::string &error);
  std::vector<char> read(const std::string &tensor, std::string &error);

  const Plan *plan_ = nullptr;
  std::string path_;
  fd_weights *file_ = nullptr;
  Progress *progress_ = nullptr;
  std::map<std::string, const PlanBuffer *> byWeight_;
  std::unique_ptr<ref::RefExecutor> executor_;
};

std::vector<char> CpuBackend::read(const std::string &tensor,
                                   std::string &error) {
  int64_t i = fd_weights_find(file_, tensor.c_str());
  if (i < 0) {
    error = path_ + ": tensor '" + tensor + "' missing";
    return {};
  }
  std::vector<char> bytes(fd_weights_entry(file_, i)->bytes);
  if (fd_error_t e = fd_weights_read(file_, i, bytes.data())) {
    error = fd_error_message(e);
    fd_error_free(e);
    return {};
  }
  progress_->advance(bytes.size());
  return bytes;
}

ref::WeightPtr CpuBackend::load(const std::string &name,
                                const std::vector<int64_t> &shape,
                                std::string &error) {
  auto it = byWeight_.find(name);
  if (it == byWeight_.end()) {
    error = "plan.json: no buffer holds weight '" + name + "'";
    return nullptr;
  }
  const PlanBuffer &b = *it->second;
  auto w = std::make_shared<ref::Weight>();
  w->name = name;
  w->shape = shape;
  int64_t elements = 1;
  for (int64_t d : shape) {
    elements *= d;
  }
  const int64_t k = shape.back(), rows = elements / k;
  auto wrongSize = [&](const std::string &tensor) {
    error = path_ + ": tensor '" + tensor + "' does not hold weight '" + name +
            "' of " + std::to_string(elements) + " elements";
    return nullptr;
  };
  std::vector<char> bytes = read(b.name, error);
  if (!error.empty()) {
    return nullptr;
  }
  if (b.layout == "w4.qweight") {
    const std::string base = b.name.substr(0, b.name.size() - 8); // .qweight
    std::vector<char> scales = read(base + ".scales", error);
    if (!error.empty()) {
      return nullptr;
    }
    std::vector<char> zeros;
    if (fd_weights_find(file_, (base + ".zeros").c_str()) >= 0) {
      zeros = read(base + ".zeros", error);
      if (!error.empty()) {
        return nullptr;
      }
    }
    const int64_t groups = static_cast<int64_t>(scales.size() / 2) / rows;
    if (k % 8 || static_cast<int64_t>(bytes.size()) != rows * k / 2 ||
        groups <= 0 || k % groups ||
        static_cast<int64_t>(scales.size()) != rows * groups * 2 ||
        (!zeros.empty() &&
         static_cast<int64_t>(zeros.size()) < rows * groups)) {
      return wrongSize(b.name);
    }
    w->data = ref::dequantW4RowMajor(
        reinterpret_cast<const int32_t *>(bytes.data()),
        reinterpret_cast<const uint16_t *>(scales.data()),
        zeros.empty() ? nullptr
                      : reinterpret_cast<const uint8_t *>(zeros.data()),
        rows, k, k / groups);
  } else if (b.layout == "w8.qweight") {
    // The int8 lm_head: its scales buffer names the group in its layout.
    const PlanBuffer *scales = nullptr;
    for (const PlanBuffer &o : plan_->buffers) {
      if (o.weight == b.weight && o.layout.rfind("w8.scales.g", 0) == 0) {
        scales = &o;
      }
    }
    char *end = nullptr;
    const long group =
        scales ? std::strtol(scales->layout.c_str() + 11, &end, 10) : 0;
    if (!scales || group <= 0 || *end != 0 || k % group) {
      error = "plan.json: int8 weight '" + name +
              "' has no scales buffer with a valid group";
      return nullptr;
    }
    std::vector<char> s = read(scales->name, error);
    if (!error.empty()) {
      return nullptr;
    }
    if (static_cast<int64_t>(bytes.size()) < elements ||
        static_cast<int64_t>(s.size()) < rows * (k / group) * 2) {
      return wrongSize(b.name);
    }
    w->data = ref::dequantInt8Rows(
        reinterpret_cast<const int8_t *>(bytes.data()),
        reinterpret_cast<const uint16_t *>(s.data()), rows, k, group);
  } else if (b.layout == "bf16" || b.layout == "f32") {
    const size_t width = b.layout == "f32" ? 4 : 2;
    if (bytes.size() != static_cast<size_t>(elements) * width) {
      return wrongSize(b.name);
    }
    w->data.resize(static_cast<size_t>(elements));
    for (size_t i = 0; i < w->data.size(); ++i) {
      if (width == 4) {
        std::memcpy(&w->data[i], bytes.data() + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        w->data[i] = import::bf16BitsToFloat(h);
      }
    }
  } else {
    error = "plan.json: buffer '" + b.name + "' has layout '" + b.layout +
            "', which the CPU backend does not read";
    return nullptr;
  }
  return w;
}

fd_error_t CpuBackend::open(const BackendInput &in) {
  if (in.options.random_weights) {
    return makeError("--random-weights needs the GPU backend");
  }
  const std::string *text = in.bundle.find("reference.json");
  if (!text) {
    return makeError(in.bundle.origin +
                     ": no reference.json (compiled by an older "
                     "compile-model?)");
  }
  plan_ = &in.plan;
  path_ = in.weightsPath;
  // Float32 needs twice the bytes of a bf16 buffer and eight times those
  // of 4-bit codes; refuse before reading rather than be killed midway.
  uint64_t needed = 0, fileBytes = 0;
  for (const PlanBuffer &b : in.plan.buffers) {
    if (b.kind != "weight") {
      continue;
    }
    fileBytes += b.size;
    byWeight_.emplace(b.weight, &b);
    needed += b.layout == "w4.qweight"   ? b.size * 8
              : b.layout == "w8.qweight" ? b.size * 4
              : b.layout == "bf16"       ? b.size * 2
              : b.layout == "f32"        ? b.size
                                         : 0;
  }
  if (uint64_t avail = availableMemory(); avail && needed > avail) {
    return makeError(in.bundle.origin + ": the CPU backend needs " +
                     formatGiB(needed) + " for float32 weights, " +
                     formatGiB(avail) + " of memory is available");
  }
  if (fd_error_t e = fd_weights_open(path_.c_str(), in.plan.hash, &file_)) {
    return e;
  }
  Progress progress{in.options, fileBytes};
  progress_ = &progress;
  ref::RefProgram program;
  std::string error = ref::refProgramFromJson(
      *text,
      [this](const std::string &name, const std::vector<int64_t> &shape,
             std::string &err) { return load(name, shape, err); },
      program);
  fd_weights_close(file_);
  file_ = nullptr;
  progress_ = nullptr;
  if (!error.empty()) {
    // Weight errors name their file already; program errors name the JSON.
    return makeError(error.find(": ") != std::string::npos
                         ? error
                         : in.bundle.origin + ": reference.json: " + error);
  }
  if (program.vocabSize != in.vocab) {
    return makeError(in.bundle.origin +
                     ": reference.json and plan.json disagree on the "
                     "vocabulary size");
  }
  executor_ = std::make_unique<ref::RefExecutor>(std::move(program));
  return nullptr;
}

} // namespace

fd_error_t openCpuBackend(const BackendInput &in,
                          std::unique_ptr<Backend> &out) {
  auto backend = std::make_unique<CpuBackend>();
  if (fd_error_t e = backend->open(in)) {
    return e;
  }
  out = std::move(backend);
  return nullptr;
}

} // namespace fd::runtime
