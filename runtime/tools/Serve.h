//===- Serve.h - the OpenAI-compatible server module ------------*- C++ -*-===//
//
// The server lives in its own loadable module, fd-serve.so, because
// Debian's cpp-httplib is a shared library (with OpenSSL, zlib and brotli
// behind it): the model executable stays self-contained for run and chat,
// and loads the module beside itself only for `serve`. The module calls
// back into the executable through the public C API (fd-run exports the
// fd_* symbols) and gets its settings as this C struct.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_TOOLS_SERVE_H
#define FUSEDECODE_RUNTIME_TOOLS_SERVE_H

#include "fusedecode/engine.h"

#include <stddef.h>

#define FD_SERVE_ABI 1

extern "C" {

typedef struct fd_serve_config {
  int abi; /* FD_SERVE_ABI */
  const char *host;
  int port;                   /* 0: any free port (printed at start) */
  const char *model_name;     /* the id /v1/models lists and requests name */
  int queue;                  /* requests waiting or running at most */
  size_t max_body;            /* bytes; larger bodies get 413 */
  int64_t context;            /* positions a request may use */
  int32_t default_max_tokens; /* completions without max_tokens */
  int thinking;               /* chat default (chat_template_kwargs wins) */
  fd_sampling sampling;       /* defaults for fields a request leaves out */
  int quiet;
} fd_serve_config;

/* Serves until SIGINT / SIGTERM; returns the exit status. */
typedef int (*fd_serve_fn)(fd_engine *engine, const fd_serve_config *config);
int fd_serve(fd_engine *engine, const fd_serve_config *config);
}

#endif
