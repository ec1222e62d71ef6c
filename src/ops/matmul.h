/* matmul internals shared by matmul.c (the op), matmul_config.c (tile configurations per device
 * class) and matmul_tune.c (the autotuner), and by the tests and vkvit-bench.
 *
 * A configuration is one kernel plus its specialization constants: the workgroup shape, the tile
 * of Y each invocation (or subgroup) owns, and the k depth of a shared-memory stage. Every valid
 * configuration of a kernel computes the same thing (the same shader, other constants); which one
 * is fastest depends on the device and the shape. */
#ifndef VKVIT_OPS_MATMUL_H
#define VKVIT_OPS_MATMUL_H

#include "ops.h"

typedef enum matmul_kernel { MATMUL_TILED, MATMUL_DIRECT, MATMUL_COOPMAT, MATMUL_KERNELS } matmul_kernel;
extern const char *const matmul_kernel_names[MATMUL_KERNELS];   /* "tiled", "direct", "coopmat" */

/* Block of Y per workgroup: (wg_y * tm) rows x (wg_x * tn) columns, for every kernel.
 *   tiled    wg_x x wg_y invocations, each a tm x tn register tile; bk-deep k stages in shared memory
 *   direct   one subgroup: wg_x = the subgroup size, wg_y = 1; each lane tm x tn (tm a multiple of
 *            wg_x); no shared memory, k in steps of 4 (bk is 4 and unused)
 *   coopmat  wg_x x wg_y subgroups (along N, M), each a tm x tn block of cooperative-matrix
 *            fragments (multiples of the fragment shape); bk-deep k stages in shared memory */
typedef struct matmul_config {
    matmul_kernel kernel;
    uint32_t wg_x, wg_y, tm, tn, bk;
} matmul_config;

/* What a configuration's validity and the defaults depend on (matmul_device_of reads the context). */
typedef enum matmul_vendor {
    MATMUL_VENDOR_OTHER,   /* ARM, Qualcomm, Imagination, unknown */
    MATMUL_VENDOR_NVIDIA,
    MATMUL_VENDOR_AMD,
    MATMUL_VENDOR_INTEL,
    MATMUL_VENDOR_APPLE,   /* Apple GPUs through MoltenVK (vendor ID 0x106B) */
    MATMUL_VENDOR_CPU,     /* any VK_PHYSICAL_DEVICE_TYPE_CPU device (lavapipe, SwiftShader) */
} matmul_vendor;

typedef struct matmul_device {
    matmul_vendor vendor;
    uint32_t subgroup_size;
    uint32_t max_shared;        /* maxComputeSharedMemorySize, bytes */
    uint32_t max_invocations;   /* maxComputeWorkGroupInvocations */
    uint32_t coopmat[3];        /* the coopmat fragment M, N, K; zeros = no coopmat kernel */
} matmul_device;

typedef struct matmul_shape {
    uint32_t batch, M, N, K;
} matmul_shape;

matmul_device matmul_device_of(const vkvit_context *ctx);
const char *matmul_vendor_name(matmul_vendor v);
/* NULL when `c` can run on `d`, else why not (a static string). */
const char *matmul_config_invalid(const matmul_device *d, const matmul_config *c);
/* The built-in choice for `kernel` on this device class and shape (always valid on `d`, or
 * wg_x == 0 when no configuration of the kernel is). */
matmul_config matmul_default_config(const matmul_device *d, matmul_kernel kernel, const matmul_shape *s);
/* NULL when some configuration of `kernel` is valid on `d`, else why the smallest is not. */
const char *matmul_kernel_unusable(const matmul_device *d, matmul_kernel kernel);
/* The configurations the autotuner times: the default first, then the others valid on `d`. Writes
 * at most `cap`, returns how many. */
uint32_t matmul_candidates(const matmul_device *d, matmul_kernel kernel, const matmul_shape *s,
                           matmul_config *out, uint32_t cap);
#define MATMUL_MAX_CANDIDATES 16
/* "16x16 x 4x4 bk16 (64x64)": workgroup, tile, stage depth, block. */
void matmul_config_string(const matmul_config *c, char *buf, size_t size);

/* ---- matmul.c --------------------------------------------------------------------------------- */
/* The kernel op_matmul uses for `dtype` (VKVIT_MATMUL included); refusals as op_matmul's. */
vkvit_status matmul_pick_kernel(const vkvit_context *ctx, op_dtype dtype, matmul_kernel *out);
/* What op_matmul checks before choosing a configuration: the arguments (its refusals), the kernel
 * (matmul_pick_kernel) and whether the loads can be vec4. */
vkvit_status matmul_check(const vkvit_context *ctx, const matmul_args *a, matmul_kernel *kernel, bool *vec4);
/* op_matmul with the configuration given instead of chosen. c->kernel must be one the device can
 * run for a->dtype, and c valid on the device (matmul_config_invalid): VKVIT_ERROR_UNSUPPORTED
 * otherwise. scalar_loads: use the guarded scalar loads even where vec4 loads would do. For the
 * autotuner and the tests. */
vkvit_status op_matmul_with(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a, const matmul_config *c,
                            bool scalar_loads);

/* ---- matmul_tune.c: above matmul.c (it times op_matmul_with); op_matmul is here ----------------- */
/* The configuration op_matmul records `a` with, for `kernel`: a winner saved for this device and
 * shape (ctx->tune), else the default; with tuning on (ctx->tune_mode == VKVIT_TUNE_ON) a shape with
 * no saved winner is timed first (matmul_tune.c says how). vec4: whether the op will use vec4
 * loads (part of the key). Never fails because tuning did: it falls back to the default. */
vkvit_status matmul_choose_config(vkvit_context *ctx, const matmul_args *a, matmul_kernel kernel, bool vec4,
                                  matmul_config *out);

#endif
