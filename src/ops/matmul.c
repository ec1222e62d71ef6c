/* Y[b] = epilogue(X[b] . W^T + bias): shapes, path choice, dispatch (semantics in ops.h).
 *
 * Two kernels from shaders/matmul.comp:
 *   tiled   shared-memory tiles + register blocking; every GPU.
 *   direct  no shared memory: one subgroup per workgroup, big register tile, rows of X shared with
 *           subgroupBroadcast. Chosen on CPU devices (lavapipe), where it is ~10x faster than the
 *           tiled kernel (bench/ has the figures); needs a subgroup of 4, 8 or 16 lanes with ballot.
 * The environment variable VKVIT_MATMUL=tiled|direct forces one (tests and benchmarks use it);
 * unset or "auto" picks by device type.
 *
 * dtype OP_F16: X, W, bias, R and Y hold fp16 (the -DFP16=1 variants of both kernels); products are
 * accumulated and the epilogue applied in fp32, rounded to fp16 once at the store. Needs ctx->fp16. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "matmul_direct_f16.spv.h"
#include "matmul_direct_f32.spv.h"
#include "matmul_f16.spv.h"
#include "matmul_f32.spv.h"

/* Bindings: 0 X, 1 W, 2 bias, 3 R, 4 Y (shaders/matmul.comp). */
typedef struct matmul_push {
    uint32_t M, N, K;
    uint32_t x_stride, w_stride, y_stride;   /* elements */
} matmul_push;

static const vk_shader tiled_shader = {"matmul", spv_matmul_f32, sizeof spv_matmul_f32, 5,
                                       sizeof(matmul_push)};
static const vk_shader direct_shader = {"matmul_direct", spv_matmul_direct_f32,
                                        sizeof spv_matmul_direct_f32, 5, sizeof(matmul_push)};
static const vk_shader tiled_shader_f16 = {"matmul_f16", spv_matmul_f16, sizeof spv_matmul_f16, 5,
                                           sizeof(matmul_push)};
static const vk_shader direct_shader_f16 = {"matmul_direct_f16", spv_matmul_direct_f16,
                                            sizeof spv_matmul_direct_f16, 5, sizeof(matmul_push)};

/* A kernel with its tile. Block per workgroup: (wg_y * tm) rows x (wg_x * tn) columns. For the
 * direct kernel wg_x is the subgroup size (0 here) and tm a multiple of it. */
typedef struct matmul_config {
    const vk_shader *shader;
    uint32_t wg_x, wg_y, tm, tn, bk;
} matmul_config;

/* Tiled: 256 invocations with a 4x4 tile each (64x64 blocks, 16-deep k stages, 8.3 KB shared);
 * 128 invocations where the device allows no more (the Vulkan minimum). */
static const matmul_config tiled_configs[] = {
    {&tiled_shader, 16, 16, 4, 4, 16},
    {&tiled_shader, 16, 8, 8, 4, 16},
};
/* Direct on lavapipe (8 lanes, 256-bit SIMD): a 16x16 tile per lane, i.e. 16 x 128 blocks, measured
 * best of 8x8 .. 64x4 on the ViT-B shapes: larger tiles spill, smaller ones issue more loads per FMA. */
static const matmul_config direct_config = {&direct_shader, 0, 1, 16, 16, 4};

static bool direct_supported(const vkvit_context *ctx)
{
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT;
    uint32_t sg = ctx->info.subgroup_size;
    return (ctx->info.subgroup_ops & need) == need && (sg == 4 || sg == 8 || sg == 16) &&
           sg <= ctx->max_workgroup_invocations;
}

static vkvit_status pick_config(const vkvit_context *ctx, matmul_config *out)
{
    const char *force = getenv("VKVIT_MATMUL");
    bool want_direct;
    if (force && strcmp(force, "direct") == 0) {
        if (!direct_supported(ctx))
            return fail(VKVIT_ERROR_UNSUPPORTED,
                        "matmul: VKVIT_MATMUL=direct needs subgroups of 4, 8 or 16 lanes with ballot "
                        "(device has %u lanes)", ctx->info.subgroup_size);
        want_direct = true;
    } else if (force && strcmp(force, "tiled") == 0) {
        want_direct = false;
    } else if (!force || !*force || strcmp(force, "auto") == 0) {
        want_direct = ctx->info.type == VKVIT_DEVICE_CPU && direct_supported(ctx);
    } else {
        return fail(VKVIT_ERROR_INVALID_ARGUMENT,
                    "matmul: VKVIT_MATMUL='%s' is not one of auto, tiled, direct", force);
    }
    if (want_direct) {
        *out = direct_config;
        out->wg_x = ctx->info.subgroup_size;
        return VKVIT_OK;
    }
    for (size_t i = 0; i < sizeof tiled_configs / sizeof *tiled_configs; i++) {
        if (tiled_configs[i].wg_x * tiled_configs[i].wg_y <= ctx->max_workgroup_invocations) {
            *out = tiled_configs[i];
            return VKVIT_OK;
        }
    }
    return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: device allows only %u invocations per workgroup",
                ctx->max_workgroup_invocations);
}

/* A span must hold `elems` elements of `esize` bytes, and the shader indexes it with 32-bit element
 * offsets. */
static vkvit_status check_span(const char *what, vk_span s, uint64_t elems, uint64_t esize)
{
    if (elems > UINT32_MAX)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: %s needs %llu elements, more than 32-bit "
                    "indexing allows", what, (unsigned long long)elems);
    if (s.size < elems * esize)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: %s span is %llu bytes, the shape needs %llu",
                    what, (unsigned long long)s.size, (unsigned long long)(elems * esize));
    return VKVIT_OK;
}

/* Shapes, strides and spans; fills the push constants (strides resolved: 0 = packed, W shared). */
static vkvit_status validate(const vkvit_context *ctx, const matmul_args *a, matmul_push *p)
{
    if (a->dtype != OP_F32 && a->dtype != OP_F16)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: unknown dtype %d", (int)a->dtype);
    if (a->dtype == OP_F16 && !ctx->fp16)
        return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: fp16 needs shaderFloat16 and storageBuffer16BitAccess");
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4;   /* bytes per element */
    if (!a->batch || !a->M || !a->N || !a->K)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: zero dimension (batch %u, M %u, N %u, K %u)",
                    a->batch, a->M, a->N, a->K);
    if ((unsigned)a->epilogue > MATMUL_EPI_RESIDUAL)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: unknown epilogue %d", (int)a->epilogue);
    bool residual = a->epilogue == MATMUL_EPI_RESIDUAL;
    if (residual != (a->residual.size > 0))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, residual ? "matmul: residual epilogue without a residual span"
                                                           : "matmul: residual span given but the epilogue is not RESIDUAL");
    uint64_t mk = (uint64_t)a->M * a->K, nk = (uint64_t)a->N * a->K, mn = (uint64_t)a->M * a->N;
    uint64_t xs = a->x_stride ? a->x_stride : mk, ys = a->y_stride ? a->y_stride : mn, ws = a->w_stride;
    if (a->batch > 1 && ys < mn)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: y_stride %u is less than M*N = %llu: batches "
                    "would overlap", a->y_stride, (unsigned long long)mn);
    uint64_t last = a->batch - 1;
    vkvit_status s;
    if ((s = check_span("x", a->x, last * xs + mk, es)) || (s = check_span("w", a->w, last * ws + nk, es)) ||
        (s = check_span("y", a->y, last * ys + mn, es)) ||
        (a->bias.size && (s = check_span("bias", a->bias, a->N, es))) ||
        (residual && (s = check_span("residual", a->residual, last * ys + mn, es))))
        return s;
    *p = (matmul_push){a->M, a->N, a->K, (uint32_t)xs, (uint32_t)ws, (uint32_t)ys};
    return VKVIT_OK;
}

vkvit_status op_matmul(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a)
{
    matmul_push push;
    matmul_config c = {0};
    vkvit_status s;
    if ((s = validate(ctx, a, &push)) || (s = pick_config(ctx, &c)))
        return s;
    if (a->dtype == OP_F16)
        c.shader = c.shader == &direct_shader ? &direct_shader_f16 : &tiled_shader_f16;
    uint32_t groups[3] = {div_up(a->N, c.wg_x * c.tn), div_up(a->M, c.wg_y * c.tm), a->batch};
    for (int i = 0; i < 3; i++)
        if (groups[i] > ctx->max_workgroup_count[i])
            return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: %u workgroups along %c exceed the device limit "
                        "%u (batch %u, M %u, N %u)", groups[i], "xyz"[i], ctx->max_workgroup_count[i],
                        a->batch, a->M, a->N);
    /* vec4 loads need every row and batch start on a multiple of 4 elements, and the bound X and W
     * on a multiple of one vec4 (16 bytes fp32, 8 bytes fp16): the descriptor offset alignment the
     * device asks for may be smaller. */
    const VkDeviceSize vbytes = a->dtype == OP_F16 ? 8 : 16;
    bool vec4 = a->K % 4 == 0 && push.x_stride % 4 == 0 && push.w_stride % 4 == 0 &&
                (a->dtype != OP_F16 || (a->x.offset % vbytes == 0 && a->w.offset % vbytes == 0));
    const uint32_t spec[] = {c.wg_x, c.wg_y, c.tm, c.tn, vec4 ? 4u : 1u, c.bk, (uint32_t)a->epilogue,
                             a->bias.size ? 1u : 0u};
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, c.shader, spec, sizeof spec / sizeof *spec, &pipe)))
        return s;
    /* Absent optional inputs still need a valid binding; the spec constants say not to read them. */
    vk_dispatch d = {
        .pipe = pipe,
        .bufs = {a->x, a->w, a->bias.size ? a->bias : a->x, a->residual.size ? a->residual : a->y, a->y},
        .push = &push,
        .groups = {groups[0], groups[1], groups[2]},
    };
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
