/*===- weights.h - reading a packed weights file (C API) ------------------===*
 *
 * Part of the runtime's C API. Every function returns NULL on success or an
 * fd_error_t the caller frees with fd_error_free; no exception crosses this
 * boundary.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FUSEDECODE_WEIGHTS_H
#define FUSEDECODE_WEIGHTS_H

#include "fusedecode/fdw_format.h"
#include "fusedecode/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fd_weights fd_weights;

/* Opens and validates a weights file: magic, version, sizes against the file
 * size, the table checksum, every entry (NUL-terminated name, alignment, in
 * bounds, no overlap) and, when expected_plan_hash is not 0, the plan hash. */
fd_error_t fd_weights_open(const char *path, uint64_t expected_plan_hash,
                           fd_weights **out);
void fd_weights_close(fd_weights *w);

uint64_t fd_weights_count(const fd_weights *w);
const FdwEntry *fd_weights_entry(const fd_weights *w, uint64_t index);
/* Index of the tensor named `name`, or -1. */
int64_t fd_weights_find(const fd_weights *w, const char *name);

/* Reads tensor `index` into dst (entry->bytes bytes) and verifies its
 * checksum; a short read or a mismatch is an error naming the tensor. */
fd_error_t fd_weights_read(const fd_weights *w, uint64_t index, void *dst);

#ifdef __cplusplus
}
#endif

#endif
