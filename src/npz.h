/* The NumPy .npz format (np.savez / np.savez_compressed): reading only, no ViT knowledge.
 *
 * An .npz is a zip archive (read with libzip) whose members are .npy files, one array each; the
 * member "Transformer/encoder_norm/scale.npy" holds the array named "Transformer/encoder_norm/scale".
 * A .npy file is
 *     "\x93NUMPY" major minor              magic, version 1.0, 2.0 or 3.0
 *     header length                        2 bytes little-endian (1.0), 4 bytes (2.0, 3.0)
 *     "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 3, 16, 16), }"   a Python literal,
 *                                          padded with spaces and a newline
 *     the data                             C order, exactly dtype size x product(shape) bytes
 *
 * Usage (like safetensors.h; the tensors are st_tensor so that checkpoint.c handles both alike):
 *     npz_file *f = NULL;
 *     vkvit_status s = npz_open("ViT-B_16.npz", &f);
 *     const st_tensor *t = npz_find(f, "cls");
 *     if (t) s = npz_read_f32(f, t, buffer, t->count);   // F32 copied; F16, F64 converted
 *     npz_close(f);
 *
 * Open reads the zip directory and every member's .npy header, not the data: npz_read_f32
 * decompresses one member when asked. An st_tensor from here has data == NULL, offset = the byte
 * of its member where the data starts, and file = the archive's path.
 *
 * What is checked (each failure a fail() detail naming the file, the member and the byte, counted
 * from the start of the member, where one applies):
 *   - the file: a regular, non-empty file                                 else VKVIT_ERROR_IO / FILE_TRUNCATED
 *   - a zip archive libzip opens with its consistency checks; a file that starts like one (a
 *     local file header) but has no end-of-central-directory record was cut off
 *                                                                         VKVIT_ERROR_FILE_TRUNCATED
 *     any other zip that is not one or not consistent                     VKVIT_ERROR_BAD_HEADER
 *   - members: named "<tensor>.npy", unique, not encrypted, stored or deflated, and a deflated
 *     member announcing no more than deflate can expand its bytes to (1032 to 1)
 *                                                                         else VKVIT_ERROR_BAD_HEADER
 *   - each member's .npy header: magic, version 1.0 / 2.0 / 3.0, the header within the member
 *     (else FILE_TRUNCATED) and at most NPY_MAX_HEADER bytes, a dict of exactly 'descr' (a string),
 *     'fortran_order' (False: column-major arrays are refused) and 'shape' (a tuple of at most
 *     ST_MAX_RANK non-negative integers; one element needs its comma, as in Python), nothing but
 *     spaces and newlines after it                                        else VKVIT_ERROR_BAD_HEADER
 *   - descr '<f4', '<f2' or '<f8' (anything else, big-endian included)    else VKVIT_ERROR_UNKNOWN_DTYPE
 *   - the member holds exactly dtype size x product(shape) bytes after its header
 *                                                                         else VKVIT_ERROR_BAD_TENSOR_RANGE
 * and, when a member is read: libzip's CRC and inflate checks, and its length    else VKVIT_ERROR_IO.
 * All size arithmetic is overflow-checked.
 */
#ifndef VKVIT_NPZ_H
#define VKVIT_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

#define NPY_MAX_HEADER 65536u /* bytes; numpy itself refuses more than 10,000 by default         */

/* What a .npy header says. */
typedef struct npy_header {
    st_dtype dtype;              /* ST_F32, ST_F16 or ST_F64                                      */
    uint32_t rank;
    uint64_t shape[ST_MAX_RANK];
    uint64_t count;              /* product of shape                                              */
    uint64_t data_offset;        /* bytes before the data: magic, version, length, header         */
    uint64_t data_size;          /* count x dtype size                                            */
} npy_header;

/* Parses the .npy header at the start of bytes[0 .. n): n may be less than the member (the data need
 * not be there), but must hold the whole header when the member does. member_size is the whole
 * member's size, against which the header length and the data size are checked. `file` and
 * `member` name it in messages. The checks and statuses are those listed above. */
vkvit_status npy_parse_header(const uint8_t *bytes, size_t n, uint64_t member_size, const char *file,
                              const char *member, npy_header *out);

typedef struct npz_file npz_file;

/* Opens the .npz at `path`. Errors: VKVIT_ERROR_IO (missing, unreadable, not a regular file),
 * VKVIT_ERROR_OUT_OF_HOST_MEMORY, and the format errors above. *out is NULL on error. */
vkvit_status npz_open(const char *path, npz_file **out);
/* The same for an .npz held in memory: `data` (not copied) must outlive the npz_file; `name`
 * (copied) stands for the file in messages. */
vkvit_status npz_parse(const void *data, size_t size, const char *name, npz_file **out);
void npz_close(npz_file *f);             /* NULL is fine; every st_tensor pointer becomes invalid */

/* Tensors, sorted by name (strcmp). */
size_t npz_count(const npz_file *f);
const st_tensor *npz_tensor_at(const npz_file *f, size_t i);
const st_tensor *npz_find(const npz_file *f, const char *name);   /* NULL when absent, no error */

/* Reads tensor t (one of f's) into out[0 .. count) as fp32: count must be t->count (else
 * VKVIT_ERROR_INVALID_ARGUMENT). F32 is copied, F16 converted exactly, F64 rounded to nearest.
 * VKVIT_ERROR_IO when libzip cannot read or inflate the member, its CRC is wrong, or it ends early. */
vkvit_status npz_read_f32(const npz_file *f, const st_tensor *t, float *out, size_t count);

#endif
