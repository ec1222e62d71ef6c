/* Softmax over rows (vkvit_record's probabilities output): shaders/softmax.comp. */
#include "ops.h"
#include "cost.h"

#include "softmax_f32.spv.h"

typedef struct softmax_push {
    uint32_t rows, K;
} softmax_push;

static const vk_shader softmax_shader = {"softmax", spv_softmax_f32, sizeof spv_softmax_f32, 2, sizeof(softmax_push), false};

vkvit_status op_softmax(vk_cmd *cmd, vkvit_context *ctx, const softmax_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "softmax: NULL argument");
    const VkDeviceSize bytes = (VkDeviceSize)a->rows * a->K * 4;
    if (a->rows == 0 || a->K == 0 || a->x.size < bytes || a->y.size < bytes)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "softmax: %u rows of %u, spans of %llu and %llu bytes", a->rows,
                    a->K, (unsigned long long)a->x.size, (unsigned long long)a->y.size);
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, &softmax_shader, NULL, 0, &pipe);
    if (s)
        return s;
    softmax_push push = {a->rows, a->K};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->y}, .push = &push};
    groups_1d(a->rows, d.groups); /* a workgroup per row */
    const double n = (double)a->rows * a->K;   /* max, exp, sum, scale: ~4 FLOPs an element, x read twice */
    vk_cost cost = cost_stream(4.0 * n, 4.0 * n, 4.0 * n, 4.0 * n);
    cost.wg_size = 64;
    d.cost = &cost;
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
