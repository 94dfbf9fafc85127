/*===- engine.h - running a compiled model (C API) ------------------------===*
 *
 * A compiled model directory (compile-model -o OUT) holds plan.json, the
 * code object of each target and weights.fdw. An engine loads them, owns
 * the device buffers (arena, weights, recurrent state, KV cache) and runs
 * one decode step per call. Every function returns NULL on success or an
 * fd_error_t (see status.h).
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

typedef struct fd_engine_options {
  /* Fill the weights with random values of the right shape and range
   * instead of reading weights.fdw (for timing without a checkpoint). */
  int random_weights;
  uint64_t seed;
} fd_engine_options;

/* Opens OUT for the GPU: sm_90 today (the CUDA driver is loaded at run
 * time; no driver or no GPU is an error, not a crash). The decode step is
 * captured once into a CUDA graph and replayed for every token: the token,
 * position and step counter it reads live in device memory. options may be
 * NULL. */
fd_error_t fd_engine_open_gpu(const char *out_dir,
                              const fd_engine_options *options,
                              fd_engine **out);
void fd_engine_close(fd_engine *e);

int64_t fd_engine_vocab_size(const fd_engine *e);

/* Feeds `token` at `position` (0-based; positions must follow each other
 * from 0 and stay below the compiled --max-context) and returns the sampled next token; when logits is not NULL it
 * receives the vocab_size logits of this step. */
fd_error_t fd_engine_step(fd_engine *e, int32_t token, int32_t position,
                          float *logits, int32_t *next_token);

#ifdef __cplusplus
}
#endif

#endif
