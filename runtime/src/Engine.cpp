//===- Engine.cpp - the engine C API over the GPU and CPU backends --------===//

#include "EngineState.h"
#include "Fault.h"
#include "Status.h"

#include <new>

using namespace fd::runtime;

namespace {

fd_error_t open(fd_engine &e, const std::string &model,
                const fd_engine_options &options) {
  if (fd_error_t err = openBundle(model, e.bundle)) {
    return err;
  }
  if (fd_error_t err = parsePlan(*e.bundle.find("plan.json"),
                                 e.bundle.origin + ": plan.json", e.plan)) {
    return err;
  }
  for (const PlanLaunch &l : e.plan.decode) {
    if (l.templateName == "sample_token" && l.args.size() > 1 &&
        l.args[0].kind == PlanArg::Buffer && l.args[1].kind == PlanArg::I32) {
      e.vocab = l.args[1].i32;
    }
  }
  if (e.vocab <= 0) {
    return makeError(e.bundle.origin +
                     ": plan.json: the decode step does not sample a token");
  }
  BackendInput in{e.bundle, e.plan,
                  options.weights_path ? options.weights_path
                                       : e.bundle.defaultWeights,
                  options, e.vocab};
  std::string fallback;
  if (options.device != FD_DEVICE_CPU) {
    bool unavailable = false;
    fd_error_t err = openGpuBackend(in, unavailable, e.backend);
    if (!err) {
      e.device = e.backend->description();
      return nullptr;
    }
    if (options.device == FD_DEVICE_GPU || !unavailable) {
      return err;
    }
    // auto: no usable GPU here; say why next to the device name.
    fallback = std::string(" (no GPU: ") + fd_error_message(err) + ")";
    fd_error_free(err);
  }
  if (fd_error_t err = openCpuBackend(in, e.backend)) {
    return err;
  }
  e.device = e.backend->description() + fallback;
  return nullptr;
}

} // namespace

extern "C" fd_error_t fd_engine_open(const char *model,
                                     const fd_engine_options *options,
                                     fd_engine **out) {
  fd_engine_options defaults{};
  *out = nullptr;
  if (!model) {
    return makeError("fd_engine_open: no model path");
  }
  fd_engine *e = new (std::nothrow) fd_engine;
  if (!e) {
    return makeError("out of memory");
  }
  fd_error_t err = guarded(
      model, [&] { return open(*e, model, options ? *options : defaults); });
  if (err) {
    delete e;
    return err;
  }
  *out = e;
  return nullptr;
}

extern "C" void fd_engine_close(fd_engine *e) { delete e; }

extern "C" int fd_model_embedded(const char *path) {
  return path && hasBundle(path) ? 1 : 0;
}

extern "C" const char *fd_engine_device_name(const fd_engine *e) {
  return e->device.c_str();
}

extern "C" int64_t fd_engine_vocab_size(const fd_engine *e) { return e->vocab; }

extern "C" int64_t fd_engine_max_context(const fd_engine *e) {
  return e->plan.maxContext;
}

extern "C" fd_error_t fd_engine_step(fd_engine *e, int32_t token,
                                     int32_t position, float *logits,
                                     int32_t *nextToken) {
  return guarded("fd_engine_step", [&]() -> fd_error_t {
    if (token < 0 || token >= e->vocab) {
      return makeError("token " + std::to_string(token) +
                       " outside the vocabulary [0, " +
                       std::to_string(e->vocab) + ")");
    }
    if (position < 0 || position >= e->plan.maxContext) {
      return makeError(
          "position " + std::to_string(position) +
          " outside the context the model was compiled for (--max-context " +
          std::to_string(e->plan.maxContext) + ")");
    }
    if (position != e->nextPosition && position != 0) {
      return makeError("position " + std::to_string(position) +
                       " does not follow the previous one (expected " +
                       std::to_string(e->nextPosition) +
                       ", or 0 to start over)");
    }
    try {
      if (position == 0 && e->nextPosition != 0) {
        if (fd_error_t err = e->backend->reset()) {
          return err;
        }
      }
      if (faultHit(FaultSite::Step)) {
        return makeError("position " + std::to_string(position) +
                         ": the decode step failed (injected fault)");
      }
      if (fd_error_t err =
              e->backend->step(token, position, logits, nextToken)) {
        return err;
      }
    } catch (const std::exception &ex) {
      return makeError(std::string("step: ") + ex.what());
    }
    if (position == 0) {
      e->history.clear();
      e->pending = -1;
    }
    e->history.push_back(token);
    e->nextPosition = position + 1;
    return nullptr;
  });
}
