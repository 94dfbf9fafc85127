/*===- engine.h - running a compiled model (C API) ------------------------===*
 *
 * A compiled model is the directory compile-model wrote (OUT/) or the
 * executable OUT/<model> that carries the same plan and code objects. An
 * engine loads it with one of two backends behind this one interface:
 *
 *   - GPU: the launch plan over the CUDA driver (sm_90) or HIP (gfx1151,
 *     gfx1100), the driver library opened at run time; weights, recurrent
 *     state and KV cache in device memory; the whole decode step captured
 *     once into a graph and replayed for every token (the token, position
 *     and step counter it reads live in device memory).
 *   - CPU: the float32 reference executor (fd-ref's), weights read from the
 *     same weights.fdw, so everything above the engine runs and is tested
 *     on machines without a GPU. Slow, and float32 weights need 4 bytes a
 *     parameter: for tests and small models.
 *
 * Every function returning fd_error_t returns NULL on success; errors are
 * one line (see status.h) and the caller frees them.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FUSEDECODE_ENGINE_H
#define FUSEDECODE_ENGINE_H

#include "fusedecode/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fd_engine fd_engine;

typedef enum fd_device {
  FD_DEVICE_AUTO = 0, /* the GPU when a driver and a device are present */
  FD_DEVICE_GPU = 1,
  FD_DEVICE_CPU = 2,
} fd_device;

/* Called while weights load: bytes done of total. */
typedef void (*fd_progress_fn)(uint64_t done, uint64_t total, void *user);

typedef struct fd_engine_options {
  fd_device device;
  /* NULL: weights.fdw beside the model (in OUT/). */
  const char *weights_path;
  /* GPU only: fill the weights with random values of the right shape and
   * range instead of reading a weights file (timing without a checkpoint). */
  int random_weights;
  uint64_t seed;
  fd_progress_fn progress; /* may be NULL */
  void *progress_user;
} fd_engine_options;

/* Opens `model` (OUT/ or OUT/<model>). options may be NULL (auto device,
 * weights beside the model). Missing driver or device with FD_DEVICE_GPU,
 * too little memory (needed vs free), a weights file that does not belong
 * to the plan: errors, never a crash. */
fd_error_t fd_engine_open(const char *model, const fd_engine_options *options,
                          fd_engine **out);
void fd_engine_close(fd_engine *e);

/* 1 when `path` is an executable with a compiled model appended (what
 * compile-model writes as OUT/<model>), else 0. */
int fd_model_embedded(const char *path);

/* "gpu: NVIDIA H100 80GB HBM3 (sm_90, CUDA)" or "cpu: reference executor
 * (...)", with the reason when auto fell back to the CPU. */
const char *fd_engine_device_name(const fd_engine *e);
int64_t fd_engine_vocab_size(const fd_engine *e);
int64_t fd_engine_max_context(const fd_engine *e);

/* Feeds `token` at `position` and returns the greedy next token; when
 * logits is not NULL it receives the vocab_size logits of this step.
 * Positions follow each other from 0 up to max_context - 1; position 0
 * starts a new sequence (the recurrent state and KV cache are cleared). */
fd_error_t fd_engine_step(fd_engine *e, int32_t token, int32_t position,
                          float *logits, int32_t *next_token);

#ifdef __cplusplus
}
#endif

#endif
