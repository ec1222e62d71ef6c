/* Mean over a run of tokens (shaders/token_mean.comp): the patch-token pooling of Hugging Face's DINOv2 classifier. */
#include "ops.h"
#include "cost.h"

#include "token_mean_f16.spv.h"
#include "token_mean_f32.spv.h"

typedef struct token_mean_push {
    uint32_t batch, T, D, first, count, y_stride, y_first;
} token_mean_push;

/* [dtype] */
static const vk_shader token_mean_shaders[2] = {
    {"token_mean", spv_token_mean_f32, sizeof spv_token_mean_f32, 2, sizeof(token_mean_push), false},
    {"token_mean_f16", spv_token_mean_f16, sizeof spv_token_mean_f16, 2, sizeof(token_mean_push), false},
};

vkvit_status op_token_mean(vk_cmd *cmd, vkvit_context *ctx, const token_mean_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "token_mean: NULL argument");
    if (!a->batch || !a->D || !a->count || (uint64_t)a->first + a->count > a->T || a->y_first + a->D > a->y_stride)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "token_mean: batch %u, T %u, D %u, tokens %u..+%u, output columns "
                    "%u..+%u of %u", a->batch, a->T, a->D, a->first, a->count, a->y_first, a->D, a->y_stride);
    vkvit_status s = op_check_dtype(ctx, a->dtype, "token_mean");
    if (s)
        return s;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4, n = (uint64_t)a->batch * a->D;
    if (n > UINT32_MAX || a->x.size < (uint64_t)a->batch * a->T * a->D * es ||
        a->y.size < (uint64_t)a->batch * a->y_stride * es)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "token_mean: a span is smaller than the shape needs");
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &token_mean_shaders[a->dtype == OP_F16], NULL, 0, &pipe)))
        return s;
    token_mean_push push = {a->batch, a->T, a->D, a->first, a->count, a->y_stride, a->y_first};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->y}, .push = &push};
    groups_1d((n + 63) / 64, d.groups);
    vk_cost cost = cost_stream((double)a->count * n, (double)(es * a->count * n), (double)(es * n), 0);
    cost.wg_size = 64;
    d.cost = &cost;
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
