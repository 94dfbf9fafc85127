/*===- status.h - errors of the runtime's C API ---------------------------===*/

#ifndef FUSEDECODE_STATUS_H
#define FUSEDECODE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* NULL means success. An error carries one line: "<file:line>: <message>"
 * for runtime faults, "<path>: <what>: <problem>" for bad input. */
typedef struct fd_error *fd_error_t;

const char *fd_error_message(fd_error_t e);
void fd_error_free(fd_error_t e);

#ifdef __cplusplus
}
#endif

#endif
