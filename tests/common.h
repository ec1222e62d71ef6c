/* Test helpers shared by every test: a validated context, random tensors, comparison against the
 * reference, poisoned GPU buffers, the ops' record functions and refusal checks, files, and the
 * pass/fail tally.
 *
 * Every test program:
 *     vkvit_context *ctx = test_context();          // validation layer ON, exits 1 if no device
 *     ... test_check("matmul 197x768x2304", out, ref, n, 1e-5); ...
 *     return test_finish(ctx);                       // fails on any validation message, prints tally
 */
#ifndef VKVIT_TEST_COMMON_H
#define VKVIT_TEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"
#include "vk/vk.h"

#define TOL_F32 1e-5          /* one fp32 op vs the double reference (TESTING.md)          */
#define TOL_F16 3e-3          /* one fp16 op                                                 */
#define TOL_FORWARD 1e-4      /* fp32 whole forward vs PyTorch / the C reference             */
#define TOL_F16_FORWARD 2e-2  /* fp16 whole forward (weights and activations in fp16)        */

/* Context on VKVIT_DEVICE (or the best device) with the Khronos validation layer on and a callback
 * that counts and prints every warning/error message. No device / no layer: prints why, exits 1. */
vkvit_context *test_context(void);
/* Number of validation warnings/errors seen so far. */
int test_validation_messages(void);
/* For tests that provoke validation messages on purpose: between begin and end, messages are
 * collected instead of failing the test; end returns them (one per line, valid until the next begin)
 * and their number. */
void test_capture_begin(void);
const char *test_capture_end(int *count);
/* Destroys ctx (may be NULL), counts any validation message as a failure, prints
 * "N passed, N failed" and returns the process exit code (0 only if nothing failed). */
int test_finish(vkvit_context *ctx);

/* Seeded xorshift; the seed is VKVIT_TEST_SEED if set, else time-based, printed once. */
uint64_t test_seed(void);
float test_uniform(uint64_t *state, float lo, float hi);
void test_fill(float *x, size_t n, uint64_t *state, float lo, float hi);
float *test_alloc(size_t n);   /* malloc or exit; free() it */
uint32_t test_argmax(const float *v, uint32_t n);   /* first index of the largest value */
double test_now(void);   /* seconds on the monotonic clock */

/* ||out - ref|| / ||ref|| (ref == 0 everywhere: ||out||), max |out - ref|, and whether every out is finite. */
typedef struct test_cmp {
    double rel, max_abs;
    bool finite;
} test_cmp;
test_cmp test_compare(const float *out, const float *ref, size_t n);
/* Compares, prints "ok   name rel=... max=..." or "FAIL name ...", tallies, returns pass. A
 * non-finite output never passes. */
bool test_check(const char *name, const float *out, const float *ref, size_t n, double bound);
/* Records a pass/fail of a non-numeric check. */
bool test_expect(bool cond, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Aborts the program with a message when a vkvit status is not OK (setup failures). */
void test_ok(vkvit_status s, const char *what);
/* Records a pass when `got` is `want` and the detail (vkvit_last_error) contains `says`. */
bool test_expect_status(const char *what, vkvit_status got, vkvit_status want, const char *says);

/* Files. test_read_file: the whole file, NUL-terminated, and its size (size may be NULL), or NULL when
 * it cannot be read; free() it. test_write_file: exits when the file cannot be written. test_temp_dir
 * (once per program): a fresh directory $TMPDIR/vkvit-<name>-XXXXXX (/tmp without TMPDIR), removed with
 * everything in it at exit; test_remove_tree removes a directory tree now. test_read_tensor: tensor
 * `name` of a safetensors file as n floats (free() them); exits when the file or the tensor is missing
 * or it does not hold n values. */
char *test_read_file(const char *path, size_t *size);
void test_write_file(const char *path, const void *data, size_t n);
const char *test_temp_dir(const char *name);
void test_remove_tree(const char *dir);
float *test_read_tensor(const char *path, const char *name, size_t n);

/* Device buffer holding `n` floats copied from `data` (data NULL: uninitialised). Exits on error. */
vk_buffer test_upload(vkvit_context *ctx, const float *data, size_t n);
/* Fills the buffer with NaN bit patterns so an element the GPU never writes fails the check. */
void test_poison(vkvit_context *ctx, vk_buffer *b);
void test_download(vkvit_context *ctx, vk_buffer *b, float *out, size_t n);

/* fp16 (IEEE binary16) helpers for the fp16 kernels: round-to-nearest-even conversion, buffers of
 * halves made from / read back into floats, and rounding a float array to fp16 precision in place
 * (so a reference can start from exactly the values the GPU sees). */
uint16_t test_f32_to_f16(float f);
float test_f16_to_f32(uint16_t h);
void test_round_f16(float *x, size_t n);
vk_buffer test_upload_f16(vkvit_context *ctx, const float *data, size_t n);   /* data NULL: uninitialised */
void test_download_f16(vkvit_context *ctx, vk_buffer *b, float *out, size_t n);
/* test_poison for buffers of halves: both halves of every word an fp16 quiet NaN (0x7e00). */
void test_poison_f16(vkvit_context *ctx, vk_buffer *b);
/* The above for an op's element type (dtype OP_F32 or OP_F16), for tests that run both variants. */
vk_buffer test_upload_as(vkvit_context *ctx, op_dtype t, const float *data, size_t n);
void test_poison_as(vkvit_context *ctx, op_dtype t, vk_buffer *b);
void test_download_as(vkvit_context *ctx, op_dtype t, vk_buffer *b, float *out, size_t n);

/* Whether the context runs fp16 kernels. When it does not, prints why and records a check that
 * the device really lacks shaderFloat16 or storageBuffer16BitAccess: a device with both whose
 * context left them off would silently hide the fp16 path, so that fails. */
bool test_fp16(vkvit_context *ctx);

/* Where the environment says the cooperative-matrix kernel must run (VKVIT_EXPECT_COOPMAT=khr, nv, or
 * any other non-empty value but 0 for either: the Debian 13 CI stage sets khr), records a check that
 * it did: `used` says whether the test's fp16 work ran on it, and the context must have the named
 * extension's kernel on. Does nothing when the variable is unset. */
void test_expect_coopmat(const vkvit_context *ctx, bool used);
/* The same for an fp16 plan: its linear layers must run the cooperative-matrix kernel
 * (vkvit_plan_info.matmul_kernel, printed either way). */
void test_expect_plan_coopmat(vkvit_context *ctx, const vkvit_plan *plan);


/* Records `record(cmd, ctx, arg)` into a fresh command buffer, submits, waits. Exits on error. */
typedef vkvit_status (*test_record_fn)(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
void test_run(vkvit_context *ctx, test_record_fn record, const void *arg);
/* The ops as test_record_fn: `arg` is the op's own argument struct (matmul_args for test_record_matmul...). */
vkvit_status test_record_matmul(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_attention(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_layernorm(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_gelu(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_patchify(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_tokens(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_widen(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_preprocess(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_softmax(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_conv2d(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_group_norm(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_max_pool(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
vkvit_status test_record_token_mean(vk_cmd *cmd, vkvit_context *ctx, const void *arg);
/* A buffer of n elements of type t, poisoned (test_poison_as): an op's output. */
vk_buffer test_poisoned(vkvit_context *ctx, op_dtype t, size_t n);

/* Refusals. test_record_status records `record(cmd, ctx, arg)` into a fresh command buffer that is never
 * submitted (a refused op records nothing) and returns the op's status. test_refuses checks that the
 * op refuses `arg` with INVALID_ARGUMENT and a detail (vkvit_last_error) that starts with `says` (NULL:
 * any detail), printed as "<op> refuses <what> (STATUS: detail)". test_refuses_fp16 checks that the op
 * refuses `arg` (dtype OP_F16) with UNSUPPORTED naming both missing features on a context without
 * ctx->fp16 (turned off for the call where the device has it). */
vkvit_status test_record_status(vkvit_context *ctx, test_record_fn record, const void *arg);
bool test_refuses(vkvit_context *ctx, const char *op, test_record_fn record, const void *arg, const char *what,
                  const char *says);
bool test_refuses_fp16(vkvit_context *ctx, const char *op, test_record_fn record, const void *arg);

#endif
