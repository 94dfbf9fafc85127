/*===- fdw_format.h - the packed weights file (OUT/weights.fdw) -----------===*
 *
 * The on-disk layout, shared by the compiler (which writes it) and the
 * runtime (which reads it); a plain C header so both can include it without
 * linking each other.
 *
 *   [FdwHeader, 128 bytes][FdwEntry x count][padding][data, 4096-aligned]
 *
 * Each tensor's bytes start at data_offset + entry.offset, a multiple of
 * FDW_TENSOR_ALIGN, so the file can be mmapped and uploaded tensor by tensor
 * with aligned copies. Checksums are XXH3-64 (libxxhash): of the entry table
 * (in the header) and of every tensor's bytes (in its entry). plan_hash ties
 * the file to the launch plan it was packed for.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FUSEDECODE_FDW_FORMAT_H
#define FUSEDECODE_FDW_FORMAT_H

#include <stdint.h>
#include <string.h>

#define FDW_MAGIC "FDWEIGHT"
#define FDW_VERSION 1u
#define FDW_DATA_ALIGN 4096u
#define FDW_TENSOR_ALIGN 256u
#define FDW_NAME_BYTES 96u
#define FDW_MAX_RANK 4u

typedef struct FdwHeader {
  char magic[8];          /* FDW_MAGIC, not NUL-terminated */
  uint32_t version;       /* FDW_VERSION */
  uint32_t entry_bytes;   /* sizeof(FdwEntry), for forward compatibility */
  uint64_t count;         /* number of tensors */
  uint64_t data_offset;   /* start of the data region, FDW_DATA_ALIGN-aligned */
  uint64_t data_bytes;    /* size of the data region */
  uint64_t plan_hash;     /* the plan these weights were packed for */
  uint64_t table_hash;    /* XXH3-64 of the entry table */
  uint8_t reserved[72];
} FdwHeader;

typedef struct FdwEntry {
  char name[FDW_NAME_BYTES]; /* NUL-terminated */
  uint64_t offset;           /* from data_offset, FDW_TENSOR_ALIGN-aligned */
  uint64_t bytes;
  uint64_t checksum;         /* XXH3-64 of the bytes */
  uint32_t dtype;            /* FdwDType */
  uint32_t rank;
  int64_t shape[FDW_MAX_RANK];
} FdwEntry;

typedef enum FdwDType {
  FDW_U8 = 1,
  FDW_I32 = 2,
  FDW_F16 = 3,
  FDW_BF16 = 4,
  FDW_F32 = 5,
  FDW_I8 = 6, /* symmetric int8 codes (w8.qweight) */
} FdwDType;

/* The dtype of a plan buffer's tensor by its layout (plan.json "layout"):
 * what compile-model packs and fd-random-weights writes. */
static inline FdwDType fdw_dtype_for_layout(const char *layout) {
  if (strcmp(layout, "w4.qweight") == 0) {
    return FDW_I32;
  }
  if (strcmp(layout, "w4.zeros") == 0) {
    return FDW_U8;
  }
  if (strcmp(layout, "f32") == 0) {
    return FDW_F32;
  }
  if (strcmp(layout, "w4.scales") == 0 ||
      strncmp(layout, "w8.scales.g", 11) == 0) {
    return FDW_F16;
  }
  if (strcmp(layout, "w8.qweight") == 0) {
    return FDW_I8;
  }
  return FDW_BF16;
}

#ifdef __cplusplus
static_assert(sizeof(FdwHeader) == 128, "header layout");
static_assert(sizeof(FdwEntry) == 160, "entry layout");
#endif

#endif
