/* The safetensors file format: reading only, no ViT knowledge.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON, then the data section:
 *     { "__metadata__": {"key": "string", ...},                          (optional)
 *       "<tensor name>": {"dtype": "F32", "shape": [768, 3, 16, 16], "data_offsets": [begin, end]},
 *       ... }
 * data_offsets are byte offsets into the data section, end exclusive.
 *
 * Usage:
 *     st_file *f = NULL;
 *     vkvit_status s = st_open("models/deit", &f);    // a directory, a .safetensors file or an index
 *     const st_tensor *w = st_find(f, "blocks.0.attn.qkv.weight");
 *     if (w) s = st_read_f32(w, buffer, w->count);  // F32/F16/BF16 -> fp32
 *     st_close(f);                                   // unmaps every file; tensors become invalid
 *
 * What is checked at open (every failure is a fail() detail naming the file, the tensor and the
 * byte offset where one applies):
 *   - header length: at least 2 and at most ST_MAX_HEADER bytes            else VKVIT_ERROR_BAD_HEADER
 *                    within the file                                       else VKVIT_ERROR_FILE_TRUNCATED
 *   - the header is a JSON object (trailing spaces allowed), "__metadata__" a map of strings, every
 *     other value an object with dtype (string), shape (list of at most ST_MAX_RANK non-negative
 *     integers), data_offsets (two non-negative integers)                  else VKVIT_ERROR_BAD_HEADER
 *   - dtype one of the spec's                                              else VKVIT_ERROR_UNKNOWN_DTYPE
 *   - begin <= end, end - begin == dtype size x product(shape), no two tensors sharing a byte,
 *     end <= size of the data section                                      else VKVIT_ERROR_BAD_TENSOR_RANGE
 *     ... except when the tensors tile [0, max end) exactly and only the file is too short: then the
 *     file was cut off                                                     VKVIT_ERROR_FILE_TRUNCATED
 *   - tensor names unique (within a file and across shards)                else VKVIT_ERROR_BAD_HEADER
 * Gaps between tensors and bytes after the last one are tolerated.
 *
 * All arithmetic on offsets and sizes is overflow-checked. A file changed or truncated by another
 * process while mapped raises SIGBUS on access, as with any mmap reader.
 */
#ifndef VKVIT_SAFETENSORS_H
#define VKVIT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vkvit.h"

#define ST_MAX_HEADER 100000000u /* bytes; the reference implementation's cap                  */
#define ST_MAX_RANK 8
#define ST_MAX_SHARDS 4096

/* The spec's dtypes. */
typedef enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32, ST_F32, ST_F64,
    ST_I64, ST_U64, ST_F8_E4M3, ST_F8_E5M2,
    ST_DTYPE_COUNT
} st_dtype;

typedef struct st_tensor {
    const char *name;              /* owned by the st_file                                       */
    const char *file;              /* path (or memory name) of the file it is in, for messages  */
    st_dtype dtype;
    uint32_t rank;                 /* 0 = a scalar                                               */
    uint64_t shape[ST_MAX_RANK];   /* outermost first, as PyTorch                                */
    uint64_t count;                /* product of shape: number of elements                       */
    uint64_t size;                 /* bytes: count x st_dtype_size(dtype)                        */
    uint64_t offset;               /* absolute byte offset of the first byte in its file         */
    const void *data;              /* size bytes inside the mapping; not aligned in general      */
} st_tensor;

/* One safetensors file, or the union of the shards of a sharded checkpoint. Opaque. */
typedef struct st_file st_file;

/* Opens `path`:
 *   - a directory: its model.safetensors, else its model.safetensors.index.json;
 *   - a file whose name ends in ".index.json": a sharded checkpoint (see st_open_index);
 *   - any other file: a single safetensors file, mapped read-only.
 * Errors: VKVIT_ERROR_IO (missing, unreadable, not a regular file, a directory holding neither
 * file), VKVIT_ERROR_OUT_OF_HOST_MEMORY, and the format errors listed above. *out is NULL on error. */
vkvit_status st_open(const char *path, st_file **out);

/* A sharded checkpoint: `index_path` holds {"weight_map": {"<tensor>": "<shard file>", ...}, ...}.
 * Every shard named there (a plain file name in the index's directory) is opened and the tensor
 * tables merged. Errors, in addition to st_open's: VKVIT_ERROR_BAD_HEADER (index not JSON or over
 * ST_MAX_HEADER bytes, no or an empty weight_map, a shard name that is not a plain file name, a
 * tensor in two shards); a shard's own error gets " (shard named by <index>)" appended;
 * VKVIT_ERROR_IO (a shard that cannot be opened); VKVIT_ERROR_MISSING_TENSOR (a mapped tensor
 * absent from its shard). Tensors present in a shard but not in the map are kept. */
vkvit_status st_open_index(const char *index_path, st_file **out);

/* Parses a safetensors image held in memory. The bytes are not copied: `data` must outlive the
 * st_file. `name` (copied) stands for the file in messages. */
vkvit_status st_parse(const void *data, size_t size, const char *name, st_file **out);

/* Unmaps every file and frees everything; every st_tensor pointer becomes invalid. NULL is fine. */
void st_close(st_file *f);

/* Tensors, sorted by name (strcmp). */
size_t st_count(const st_file *f);
const st_tensor *st_tensor_at(const st_file *f, size_t i);
/* NULL when absent (no error is recorded: the caller knows what a missing tensor means). */
const st_tensor *st_find(const st_file *f, const char *name);
/* A "__metadata__" string; NULL when absent. For shards, the first shard that has the key. */
const char *st_metadata(const st_file *f, const char *key);

/* Converts the tensor to fp32 into out[0 .. count). count must equal t->count
 * (else VKVIT_ERROR_INVALID_ARGUMENT). F32 is copied, F16 converted exactly (subnormals, inf and
 * NaN included), BF16 widened exactly; any other dtype: VKVIT_ERROR_UNKNOWN_DTYPE. */
vkvit_status st_read_f32(const st_tensor *t, float *out, size_t count);

/* "F32", "BF16", ...; and bytes per element. */
const char *st_dtype_name(st_dtype dtype);
size_t st_dtype_size(st_dtype dtype);

/* IEEE binary16 and bfloat16 bit patterns to float. */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);
/* float to binary16, rounding to nearest even; beyond +-65504 gives +-inf, NaN stays NaN. */
uint16_t st_f32_to_f16(float f);

#endif
