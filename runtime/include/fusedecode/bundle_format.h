/*===- bundle_format.h - a model appended to the runtime executable -------===*
 *
 * compile-model writes OUT/<model> as a copy of the runtime's generic
 * program (fd-run) with the compiled model appended:
 *
 *   [fd-run ELF][file data, FDB_ALIGN-aligned each][FdbEntry x count]
 *   [FdbTrailer, 64 bytes, at the very end]
 *
 * The ELF loader ignores bytes past the program's segments, so the
 * executable runs unchanged; at start it reads its own file back and finds
 * the trailer. Files: plan.json, reference.json and one code object per
 * target (kernels.sm_90.cubin, kernels.gfx1151.hsaco, ...). Checksums are
 * XXH3-64 (libxxhash) of each file and of the entry table. Shared by the
 * compiler (writer) and the runtime (reader), like fdw_format.h.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FUSEDECODE_BUNDLE_FORMAT_H
#define FUSEDECODE_BUNDLE_FORMAT_H

#include <stdint.h>

#define FDB_MAGIC "FDBUNDLE"
#define FDB_VERSION 1u
#define FDB_ALIGN 64u
#define FDB_NAME_BYTES 48u

typedef struct FdbEntry {
  char name[FDB_NAME_BYTES]; /* NUL-terminated */
  uint64_t offset;           /* from the start of the executable */
  uint64_t bytes;
  uint64_t checksum;         /* XXH3-64 of the bytes */
  uint64_t reserved;
} FdbEntry;

typedef struct FdbTrailer {
  uint64_t table_offset; /* from the start of the executable */
  uint64_t count;
  uint64_t table_hash; /* XXH3-64 of the entry table */
  uint64_t program_bytes; /* size of the fd-run program the bundle follows */
  uint32_t version;       /* FDB_VERSION */
  uint32_t entry_bytes;   /* sizeof(FdbEntry) */
  uint8_t reserved[16];
  char magic[8]; /* FDB_MAGIC, not NUL-terminated, the file's last bytes */
} FdbTrailer;

#ifdef __cplusplus
static_assert(sizeof(FdbEntry) == 80, "entry layout");
static_assert(sizeof(FdbTrailer) == 64, "trailer layout");
#endif

#endif
