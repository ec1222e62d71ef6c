#include "ops.h"

#include "gelu_f32.spv.h"

static const vk_shader gelu_shader = {"gelu", spv_gelu_f32, sizeof spv_gelu_f32, 2, sizeof(uint32_t)};

enum { GELU_WG = 64, GELU_PER_INVOCATION = 4 };

vkvit_status op_gelu(vk_cmd *cmd, vkvit_context *ctx, const gelu_args *a)
{
    if (a->dtype != OP_F32)
        return fail(VKVIT_ERROR_UNSUPPORTED, "gelu: only fp32 is implemented");
    if (a->n == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "gelu: n is 0");
    if (a->x.size < (VkDeviceSize)a->n * 4 || a->y.size < (VkDeviceSize)a->n * 4)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "gelu: spans smaller than n = %u floats", a->n);
    const uint32_t spec[] = {GELU_WG, a->tanh_approx ? 1u : 0u};
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, &gelu_shader, spec, 2, &pipe);
    if (s)
        return s;
    uint32_t n = a->n;
    vk_dispatch d = {
        .pipe = pipe,
        .bufs = {a->x, a->y},
        .push = &n,
        .groups = {div_up(div_up(n, GELU_PER_INVOCATION), GELU_WG), 1, 1},
    };
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
