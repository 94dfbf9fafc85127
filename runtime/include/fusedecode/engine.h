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

/* Opens OUT for the GPU: sm_90 today (the CUDA driver is loaded at run
 * time; no driver or no GPU is an error, not a crash). */
fd_error_t fd_engine_open_gpu(const char *out_dir, fd_engine **out);
void fd_engine_close(fd_engine *e);

int64_t fd_engine_vocab_size(const fd_engine *e);

/* Feeds `token` at `position` (0-based; positions must follow each other
 * from 0) and returns the sampled next token; when logits is not NULL it
 * receives the vocab_size logits of this step. */
fd_error_t fd_engine_step(fd_engine *e, int32_t token, int32_t position, float *logits,
                          int32_t *next_token);

#ifdef __cplusplus
}
#endif

#endif
