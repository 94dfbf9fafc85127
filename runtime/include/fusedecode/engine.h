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


/*===----------------------------------------------------------------------===*
 * Text, sampling and generation. The engine keeps one sequence: every
 * fd_engine_generate call continues it (no re-prefill of what came before)
 * until fd_engine_reset. The tokenizer is the checkpoint's tokenizer.json
 * and the chat format comes from chat.json, both carried by the compiled
 * model; a model compiled from a checkpoint without tokenizer.json runs on
 * token ids only (the text functions then return an error saying so).
 *===----------------------------------------------------------------------===*/

#include <stddef.h>

/* 1 when the model carries a tokenizer, else 0. */
int fd_engine_has_tokenizer(fd_engine *e);

/* UTF-8 text -> ids (invalid bytes count as U+FFFD). With parse_special,
 * added tokens spelled in the text (<|im_end|>) become their ids; without,
 * the special ones are plain text. Writes at most cap ids; *n_ids receives
 * the full count (call again with a larger buffer when it exceeds cap). */
fd_error_t fd_engine_tokenize(fd_engine *e, const char *text, size_t len,
                              int parse_special, int32_t *ids, size_t cap,
                              size_t *n_ids);

/* ids -> UTF-8 (invalid sequences become U+FFFD). Writes at most cap bytes,
 * NUL-terminated when there is room; *len receives the full length. */
fd_error_t fd_engine_detokenize(fd_engine *e, const int32_t *ids, size_t n,
                                int skip_special, char *buf, size_t cap,
                                size_t *len);

typedef struct fd_sampling {
  float temperature;         /* 0: greedy (argmax) */
  int32_t top_k;             /* 0: off */
  float top_p;               /* 1: off */
  float min_p;               /* 0: off */
  float repetition_penalty;  /* 1: off; HF's rule (divide positive logits) */
  int32_t repetition_window; /* how many recent tokens it looks at */
  uint64_t seed;             /* the same seed gives the same tokens */
} fd_sampling;

/* The model's recommended sampling (its generation_config.json) where the
 * checkpoint had one, else greedy. */
fd_sampling fd_engine_default_sampling(fd_engine *e);

/* Called for each generated token with the text it completes: UTF-8, never
 * half a character (empty while one is still arriving). Return nonzero to
 * stop generating. */
typedef int (*fd_token_fn)(int32_t token, const char *text, size_t len,
                           void *user);

typedef enum fd_finish {
  FD_FINISH_STOP = 0,     /* a stop token (end of turn or of text) */
  FD_FINISH_LENGTH = 1,   /* max_tokens */
  FD_FINISH_CONTEXT = 2,  /* the context the model was compiled for */
  FD_FINISH_CALLBACK = 3, /* on_token returned nonzero */
} fd_finish;

typedef struct fd_generate_options {
  fd_sampling sampling;
  int32_t max_tokens;
  /* 0: do not stop at the model's stop tokens (they are emitted as text). */
  int stop_at_eos;
  fd_token_fn on_token; /* may be NULL */
  void *user;
} fd_generate_options;

typedef struct fd_generate_result {
  int32_t prompt_tokens;    /* fed by this call */
  int32_t generated_tokens; /* stop token included */
  fd_finish finish;
  double prefill_seconds, decode_seconds;
} fd_generate_result;

/* Options with the model's default sampling, max_tokens 256, stopping at
 * the stop tokens, no callback. */
fd_generate_options fd_engine_default_generate_options(fd_engine *e);

/* Feeds prompt (after the sequence so far) and generates. The last
 * generated token is fed at the start of the next call, so a conversation
 * continues exactly where it stopped. result may be NULL. */
fd_error_t fd_engine_generate(fd_engine *e, const int32_t *prompt, size_t n,
                              const fd_generate_options *options,
                              fd_generate_result *result);

/* Starts a new, empty sequence. */
fd_error_t fd_engine_reset(fd_engine *e);

/* Tokens of the current sequence (fed or pending). */
int32_t fd_engine_sequence_length(fd_engine *e);

/* The text to feed for the next user turn in the model's chat format: the
 * end of the previous assistant turn when the sequence is not empty, the
 * system message on an empty sequence (system may be NULL), the user
 * message and the assistant prompt with thinking on or off. Writes at most
 * cap bytes (NUL-terminated when there is room); *len gets the full length.
 * An error when the model has no chat format. */
fd_error_t fd_engine_chat_turn(fd_engine *e, const char *system,
                               const char *user, int thinking, char *buf,
                               size_t cap, size_t *len);

typedef struct fd_chat_message {
  const char *role; /* "system", "user" or "assistant" */
  const char *content;
} fd_chat_message;

/* A whole conversation in the model's chat format, ending with the
 * assistant prompt (thinking on or off): the text to feed to a new
 * sequence. Past assistant messages are rendered as given. Writes at most
 * cap bytes (NUL-terminated when there is room); *len gets the full length.
 */
fd_error_t fd_engine_chat_render(fd_engine *e, const fd_chat_message *messages,
                                 size_t n, int thinking, char *buf, size_t cap,
                                 size_t *len);

#ifdef __cplusplus
}
#endif

#endif
