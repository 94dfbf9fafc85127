//===- GpuEngine.cpp - running plan.json on a CUDA GPU --------------------===//
//
// Loads OUT/plan.json, OUT/kernels.sm_90.cubin and OUT/weights.fdw; one
// device allocation for the arena, one per weight, state and KV buffer;
// every launch's argument block prepared once, so a step is: write token,
// position and step counter, launch the plan in order, read the token (and
// optionally the logits). Graph capture comes next; positions are already
// read from device memory so a captured step can replay.
//
//===----------------------------------------------------------------------===//

#include "fusedecode/engine.h"
#include "fusedecode/weights.h"

#include "CudaDriver.h"
#include "Plan.h"
#include "Status.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

using namespace fd::runtime;

struct fd_engine {
  CudaDriver cu{};
  CUdevice device = 0;
  CUcontext ctx = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  Plan plan;
  std::vector<CUdeviceptr> owned;   // allocations to free
  std::vector<CUdeviceptr> address; // per plan buffer
  struct Launch {
    CUfunction fn;
    const PlanLaunch *plan;
    std::deque<uint64_t> storage; // stable addresses for the argument values
    std::vector<void *> params;
  };
  std::vector<Launch> launches;
  size_t token = 0, position = 0, step = 0, logits = 0;
  int64_t vocab = 0;
  int32_t stepCounter = 0;
  // Host copies of what the step reads from device memory (the async copies
  // read them after the call returns to the driver).
  int32_t hostToken = 0, hostPosition = 0, hostStep = 0;

  ~fd_engine() {
    if (cu.handle) {
      if (exec) {
        cu.cuGraphExecDestroy(exec);
      }
      if (graph) {
        cu.cuGraphDestroy(graph);
      }
      if (stream) {
        cu.cuStreamDestroy(stream);
      }
      for (CUdeviceptr p : owned) {
        cu.cuMemFree(p);
      }
      if (module) {
        cu.cuModuleUnload(module);
      }
      if (ctx) {
        cu.cuDevicePrimaryCtxRelease(device);
      }
    }
  }
};

namespace {

fd_error_t findBuffer(const Plan &plan, const std::string &name,
                      size_t &index) {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    if (plan.buffers[i].name == name) {
      index = i;
      return nullptr;
    }
  }
  return makeError("plan.json: no buffer '" + name + "'");
}

/// Weights of the right range for timing without a checkpoint: 4-bit codes
/// uniform, scales ~ 1/(4.6 sqrt(2048)) so (q - 8) s has the 1/sqrt(K) of a
/// trained layer, bf16 values ~ U(-0.04, 0.04), float parameters in [0.5, 1.5].
fd_error_t fillRandom(fd_engine &e, size_t index, uint64_t seed) {
  const PlanBuffer &b = e.plan.buffers[index];
  uint64_t s = seed ^ (0x9E3779B97F4A7C15ull * (index + 1));
  auto next = [&s] {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto unit = [&next] {
    return static_cast<float>(next() >> 40) / 16777216.0f;
  };
  constexpr size_t kChunk = size_t(64) << 20;
  std::vector<uint8_t> host;
  for (size_t done = 0; done < b.size; done += kChunk) {
    size_t n = std::min(kChunk, static_cast<size_t>(b.size - done));
    host.resize(n);
    if (b.layout == "w4.qweight") {
      for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = next();
        std::memcpy(&host[i], &v, 8);
      }
    } else if (b.layout == "w4.zeros") {
      std::memset(host.data(), 8, n);
    } else if (b.layout == "w4.scales") {
      for (size_t i = 0; i + 2 <= n; i += 2) {
        _Float16 h = static_cast<_Float16>((0.8f + 0.4f * unit()) * 0.0048f);
        std::memcpy(&host[i], &h, 2);
      }
    } else if (b.layout == "f32") {
      for (size_t i = 0; i + 4 <= n; i += 4) {
        float f = 0.5f + unit();
        std::memcpy(&host[i], &f, 4);
      }
    } else { // bf16
      for (size_t i = 0; i + 2 <= n; i += 2) {
        float f = 0.08f * (unit() - 0.5f);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        uint16_t h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(&host[i], &h, 2);
      }
    }
    FD_CU(e.cu, cuMemcpyHtoD(e.address[index] + done, host.data(), n));
  }
  return nullptr;
}

fd_error_t open(fd_engine &e, const std::string &dir,
                const fd_engine_options &options) {
  if (fd_error_t err = parsePlan(dir + "/plan.json", e.plan)) {
    return err;
  }
  if (fd_error_t err = e.cu.load()) {
    return err;
  }
  FD_CU(e.cu, cuInit(0));
  int count = 0;
  FD_CU(e.cu, cuDeviceGetCount(&count));
  if (count == 0) {
    return makeError("no CUDA device");
  }
  FD_CU(e.cu, cuDeviceGet(&e.device, 0));
  FD_CU(e.cu, cuDevicePrimaryCtxRetain(&e.ctx, e.device));
  FD_CU(e.cu, cuCtxSetCurrent(e.ctx));

  std::ifstream in(dir + "/kernels.sm_90.cubin", std::ios::binary);
  if (!in) {
    return makeError(
        dir +
        "/kernels.sm_90.cubin: cannot open (compiled without --target sm_90?)");
  }
  std::stringstream image;
  image << in.rdbuf();
  std::string bytes = image.str();
  FD_CU(e.cu, cuModuleLoadData(&e.module, bytes.data()));

  // Buffers: the arena in one allocation, everything else on its own.
  CUdeviceptr arena = 0;
  if (e.plan.arenaBytes) {
    FD_CU(e.cu, cuMemAlloc(&arena, e.plan.arenaBytes));
    e.owned.push_back(arena);
  }
  for (const PlanBuffer &b : e.plan.buffers) {
    if (b.kind == "arena") {
      e.address.push_back(arena + b.offset);
      continue;
    }
    CUdeviceptr p = 0;
    FD_CU(e.cu, cuMemAlloc(&p, b.size));
    e.owned.push_back(p);
    e.address.push_back(p);
    // State and KV start at zero (the empty history).
    FD_CU(e.cu, cuMemsetD8(p, 0, b.size));
  }

  if (options.random_weights) {
    for (size_t i = 0; i < e.plan.buffers.size(); ++i) {
      if (e.plan.buffers[i].kind == "weight") {
        if (fd_error_t err = fillRandom(e, i, options.seed)) {
          return err;
        }
      }
    }
  }
  // Weights: every weight buffer is the tensor of the same name.
  fd_weights *w = nullptr;
  if (!options.random_weights) {
    if (fd_error_t err =
            fd_weights_open((dir + "/weights.fdw").c_str(), e.plan.hash, &w)) {
      return err;
    }
    std::vector<char> host;
    fd_error_t err = nullptr;
    for (size_t i = 0; i < e.plan.buffers.size() && !err; ++i) {
      const PlanBuffer &b = e.plan.buffers[i];
      if (b.kind != "weight") {
        continue;
      }
      int64_t t = fd_weights_find(w, b.name.c_str());
      if (t < 0 || fd_weights_entry(w, t)->bytes != b.size) {
        err = makeError(dir + "/weights.fdw: tensor '" + b.name +
                        "' missing or of the wrong size");
        break;
      }
      host.resize(b.size);
      err = fd_weights_read(w, t, host.data());
      if (!err) {
        err = e.cu.check(e.cu.cuMemcpyHtoD(e.address[i], host.data(), b.size),
                         "cuMemcpyHtoD", __FILE__, __LINE__);
      }
    }
    fd_weights_close(w);
    if (err) {
      return err;
    }
  }

  for (const char *io : {"io.token", "io.position", "io.step"}) {
    size_t idx;
    if (fd_error_t err2 = findBuffer(e.plan, io, idx)) {
      return err2;
    }
    (io[3] == 't' ? e.token : io[3] == 'p' ? e.position : e.step) = idx;
  }
  // The logits: what the sampler reads.
  for (const PlanLaunch &l : e.plan.decode) {
    if (l.templateName == "sample_token" && !l.args.empty() &&
        l.args[0].kind == PlanArg::Buffer) {
      e.logits = l.args[0].buffer;
      e.vocab = static_cast<int64_t>(l.args[1].i32);
    }
  }
  if (e.vocab == 0) {
    return makeError("plan.json: the decode step does not sample a token");
  }

  // Reserved up front: each launch's params point into its own storage, so
  // launches must never be copied by a reallocation.
  e.launches.reserve(e.plan.decode.size());
  for (const PlanLaunch &pl : e.plan.decode) {
    auto it = pl.kernel.find("sm_90");
    if (it == pl.kernel.end()) {
      return makeError("plan.json: launch of " + pl.templateName +
                       " has no sm_90 kernel");
    }
    fd_engine::Launch &l = e.launches.emplace_back();
    l.plan = &pl;
    FD_CU(e.cu, cuModuleGetFunction(&l.fn, e.module, it->second.c_str()));
    for (const PlanArg &a : pl.args) {
      uint64_t &slot = l.storage.emplace_back(0);
      switch (a.kind) {
      case PlanArg::Buffer:
        slot = e.address[a.buffer];
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
  FD_CU(e.cu, cuStreamCreate(&e.stream, 0));
  FD_CU(e.cu, cuStreamBeginCapture(e.stream, 0));
  for (fd_engine::Launch &l : e.launches) {
    const PlanLaunch &p = *l.plan;
    CUresult r = e.cu.cuLaunchKernel(l.fn, p.grid[0], p.grid[1], p.grid[2],
                                     p.block[0], p.block[1], p.block[2], 0,
                                     e.stream, l.params.data(), nullptr);
    if (r != 0) {
      CUgraph broken = nullptr;
      e.cu.cuStreamEndCapture(e.stream, &broken);
      if (broken) {
        e.cu.cuGraphDestroy(broken);
      }
      return e.cu.check(r, ("cuLaunchKernel(" + p.templateName + ")").c_str(),
                        __FILE__, __LINE__);
    }
  }
  FD_CU(e.cu, cuStreamEndCapture(e.stream, &e.graph));
  FD_CU(e.cu, cuGraphInstantiateWithFlags(&e.exec, e.graph, 0));
  return nullptr;
}

} // namespace

extern "C" fd_error_t fd_engine_open_gpu(const char *outDir,
                                         const fd_engine_options *options,
                                         fd_engine **out) {
  fd_engine_options defaults{0, 0};
  *out = nullptr;
  fd_engine *e = new (std::nothrow) fd_engine;
  if (!e) {
    return makeError("out of memory");
  }
  fd_error_t err;
  try {
    err = open(*e, outDir, options ? *options : defaults);
  } catch (const std::exception &ex) {
    err = makeError(std::string(outDir) + ": " + ex.what());
  }
  if (err) {
    delete e;
    return err;
  }
  *out = e;
  return nullptr;
}

extern "C" void fd_engine_close(fd_engine *e) { delete e; }

extern "C" int64_t fd_engine_vocab_size(const fd_engine *e) { return e->vocab; }

extern "C" fd_error_t fd_engine_step(fd_engine *e, int32_t token,
                                     int32_t position, float *logits,
                                     int32_t *nextToken) {
  if (token < 0 || token >= e->vocab) {
    return makeError("token " + std::to_string(token) +
                     " outside the vocabulary [0, " + std::to_string(e->vocab) +
                     ")");
  }
  if (position < 0 || position >= e->plan.maxContext) {
    return makeError(
        "position " + std::to_string(position) +
        " outside the context the model was compiled for (--max-context " +
        std::to_string(e->plan.maxContext) + ")");
  }
  CudaDriver &cu = e->cu;
  e->hostToken = token;
  e->hostPosition = position;
  e->hostStep = e->stepCounter++;
  FD_CU(cu,
        cuMemcpyHtoDAsync(e->address[e->token], &e->hostToken, 4, e->stream));
  FD_CU(cu, cuMemcpyHtoDAsync(e->address[e->position], &e->hostPosition, 4,
                              e->stream));
  FD_CU(cu, cuMemcpyHtoDAsync(e->address[e->step], &e->hostStep, 4, e->stream));
  FD_CU(cu, cuGraphLaunch(e->exec, e->stream));
  size_t next = 0;
  if (fd_error_t err = findBuffer(e->plan, "io.next_token", next)) {
    return err;
  }
  FD_CU(cu, cuMemcpyDtoHAsync(nextToken, e->address[next], 4, e->stream));
  if (logits) {
    FD_CU(cu, cuMemcpyDtoHAsync(logits, e->address[e->logits],
                                static_cast<size_t>(e->vocab) * 4, e->stream));
  }
  FD_CU(cu, cuStreamSynchronize(e->stream));
  return nullptr;
}
