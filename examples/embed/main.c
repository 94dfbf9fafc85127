/*===- main.c - embedding fusedecode: generate text through the C API -----===*
 *
 *   embed MODEL "question" [max_tokens]
 *
 * MODEL is a compiled model (compile-model's OUT/ or OUT/<model>). Opens it
 * on the GPU when there is one (else the CPU backend), formats the question
 * as a chat turn with thinking off, streams the answer to stdout with the
 * model's recommended sampling, and prints the token counts to stderr.
 * Every call returns a status; the program frees each error it gets.
 *
 *===----------------------------------------------------------------------===*/

#include "fusedecode/engine.h"

#include <stdio.h>
#include <stdlib.h>

static int print_piece(int32_t token, const char *text, size_t len,
                       void *user) {
  (void)token;
  (void)user;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 0; /* nonzero would stop generating */
}

static int fail(fd_error_t err) {
  fprintf(stderr, "embed: error: %s\n", fd_error_message(err));
  fd_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL \"question\" [max_tokens]\n", argv[0]);
    return 2;
  }
  fd_engine *engine = NULL;
  fd_error_t err = fd_engine_open(argv[1], NULL, &engine);
  if (err) {
    return fail(err);
  }
  fprintf(stderr, "device: %s\n", fd_engine_device_name(engine));

  /* The chat turn's text: ask for its length, then fill a buffer. */
  size_t len = 0;
  err = fd_engine_chat_turn(engine, NULL, argv[2], /*thinking=*/0, NULL, 0,
                            &len);
  char *turn = err ? NULL : malloc(len + 1);
  if (!err && turn) {
    err = fd_engine_chat_turn(engine, NULL, argv[2], 0, turn, len + 1, &len);
  }
  size_t n = 0;
  int32_t *ids = NULL;
  if (!err && turn) {
    err = fd_engine_tokenize(engine, turn, len, 1, NULL, 0, &n);
  }
  if (!err && turn && (ids = malloc(n * sizeof *ids))) {
    err = fd_engine_tokenize(engine, turn, len, 1, ids, n, &n);
  }
  fd_generate_result result;
  if (!err && ids) {
    fd_generate_options options = fd_engine_default_generate_options(engine);
    options.max_tokens = argc > 3 ? atoi(argv[3]) : 128;
    options.on_token = print_piece;
    err = fd_engine_generate(engine, ids, n, &options, &result);
  }
  free(ids);
  free(turn);
  if (err) {
    fd_engine_close(engine);
    return fail(err);
  }
  printf("\n");
  fprintf(stderr, "%d prompt tokens, %d generated (%s)\n",
          result.prompt_tokens, result.generated_tokens,
          result.finish == FD_FINISH_STOP ? "end of turn" : "limit");
  fd_engine_close(engine);
  return 0;
}
