/* Max pooling over NHWC activations, padded positions skipped (shaders/max_pool.comp; semantics in
 * ops.h): an invocation per output pixel and 4 channels (vec4) or 1. */
#include "ops.h"
#include "cost.h"

#include "max_pool_f16.spv.h"
#include "max_pool_f32.spv.h"

/* Push constants, as `Push` in max_pool.comp. */
typedef struct max_pool_push {
    uint32_t pixels, C, H, W, Ho, Wo;
    uint32_t k, stride, pad_top, pad_left;
} max_pool_push;

/* [dtype] */
static const vk_shader max_pool_shaders[2] = {
    {"max_pool", spv_max_pool_f32, sizeof spv_max_pool_f32, 2, sizeof(max_pool_push), false},
    {"max_pool_f16", spv_max_pool_f16, sizeof spv_max_pool_f16, 2, sizeof(max_pool_push), false},
};

enum { MAX_POOL_WG = 64 };

vkvit_status op_max_pool(vk_cmd *cmd, vkvit_context *ctx, const max_pool_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "max_pool: NULL argument");
    vkvit_status s = op_check_dtype(ctx, a->dtype, "max_pool");
    if (s)
        return s;
    if (!a->batch || !a->C || !a->H || !a->W || !a->k)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "max_pool: zero dimension (batch %u, C %u, H %u, W %u, k %u)",
                    a->batch, a->C, a->H, a->W, a->k);
    if (!a->stride)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "max_pool: stride 0");
    /* A pad of k or more would leave windows of padding only, whose max does not exist. */
    if (a->pad_top >= a->k || a->pad_bottom >= a->k || a->pad_left >= a->k || a->pad_right >= a->k)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "max_pool: padding (top %u, left %u, bottom %u, right %u) not "
                    "below the window %u", a->pad_top, a->pad_left, a->pad_bottom, a->pad_right, a->k);
    if ((uint64_t)a->H + a->pad_top + a->pad_bottom < a->k || (uint64_t)a->W + a->pad_left + a->pad_right < a->k)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "max_pool: the window %u is larger than the padded %ux%u input",
                    a->k, a->H + a->pad_top + a->pad_bottom, a->W + a->pad_left + a->pad_right);
    const uint32_t Ho = (a->H + a->pad_top + a->pad_bottom - a->k) / a->stride + 1,
                   Wo = (a->W + a->pad_left + a->pad_right - a->k) / a->stride + 1;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4, pixels = (uint64_t)a->batch * Ho * Wo;
    if ((s = op_check_span("max_pool", "x", a->x, (uint64_t)a->batch * a->H * a->W * a->C, es)) ||
        (s = op_check_span("max_pool", "y", a->y, pixels * a->C, es)))
        return s;

    const VkDeviceSize al = 4 * es;
    const uint32_t vec4 = a->C % 4 == 0 && a->x.offset % al == 0 && a->y.offset % al == 0;
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &max_pool_shaders[a->dtype == OP_F16], &vec4, 1, &pipe)))
        return s;
    const max_pool_push push = {(uint32_t)pixels, a->C, a->H, a->W, Ho, Wo, a->k, a->stride, a->pad_top, a->pad_left};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->y}, .push = &push};
    groups_1d((pixels * (vec4 ? a->C / 4 : a->C) + MAX_POOL_WG - 1) / MAX_POOL_WG, d.groups);
    /* k x k comparisons per output; the windows overlap, so inputs are read up to (k / stride)^2 times. */
    const double out = (double)pixels * a->C, in = (double)a->batch * a->H * a->W * a->C, win = (double)a->k * a->k;
    vk_cost cost = cost_stream(win * out, (double)es * in, (double)es * out, (double)es * (win * out - in));
    cost.wg_size = MAX_POOL_WG;
    d.cost = &cost;
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
