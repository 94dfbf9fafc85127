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

  ~fd_engine() {
    if (cu.handle) {
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

fd_error_t open(fd_engine &e, const std::string &dir) {
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

  // Weights: every weight buffer is the tensor of the same name.
  fd_weights *w = nullptr;
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
  return nullptr;
}

} // namespace

extern "C" fd_error_t fd_engine_open_gpu(const char *outDir, fd_engine **out) {
  *out = nullptr;
  fd_engine *e = new (std::nothrow) fd_engine;
  if (!e) {
    return makeError("out of memory");
  }
  fd_error_t err;
  try {
    err = open(*e, outDir);
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
  CudaDriver &cu = e->cu;
  FD_CU(cu, cuMemcpyHtoD(e->address[e->token], &token, 4));
  FD_CU(cu, cuMemcpyHtoD(e->address[e->position], &position, 4));
  int32_t step = e->stepCounter++;
  FD_CU(cu, cuMemcpyHtoD(e->address[e->step], &step, 4));
  for (fd_engine::Launch &l : e->launches) {
    const PlanLaunch &p = *l.plan;
    FD_CU(cu, cuLaunchKernel(l.fn, p.grid[0], p.grid[1], p.grid[2], p.block[0],
                             p.block[1], p.block[2], 0, nullptr,
                             l.params.data(), nullptr));
  }
  FD_CU(cu, cuCtxSynchronize());
  size_t next = 0;
  if (fd_error_t err = findBuffer(e->plan, "io.next_token", next)) {
    return err;
  }
  FD_CU(cu, cuMemcpyDtoH(nextToken, e->address[next], 4));
  if (logits) {
    FD_CU(cu, cuMemcpyDtoH(logits, e->address[e->logits],
                           static_cast<size_t>(e->vocab) * 4));
  }
  return nullptr;
}
