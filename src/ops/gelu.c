#include "ops.h"
#include "cost.h"

#include "gelu_f16.spv.h"
#include "gelu_f32.spv.h"

/* [dtype]: fp32, fp16 storage (the activation itself is evaluated in fp32 either way). */
static const vk_shader gelu_shaders[2] = {
    {"gelu", spv_gelu_f32, sizeof spv_gelu_f32, 2, sizeof(uint32_t), false},
    {"gelu_f16", spv_gelu_f16, sizeof spv_gelu_f16, 2, sizeof(uint32_t), false},
};

enum { GELU_WG = 64, GELU_PER_INVOCATION = 4 };

vkvit_status op_gelu(vk_cmd *cmd, vkvit_context *ctx, const gelu_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "gelu: NULL argument");
    vkvit_status s = op_check_dtype(ctx, a->dtype, "gelu");
    if (s)
        return s;
    const bool f16 = a->dtype == OP_F16;
    const VkDeviceSize es = f16 ? 2 : 4;
    if (a->n == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "gelu: n is 0");
    if (a->x.buf == VK_NULL_HANDLE || a->y.buf == VK_NULL_HANDLE || a->x.size < (VkDeviceSize)a->n * es ||
        a->y.size < (VkDeviceSize)a->n * es)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "gelu: spans smaller than n = %u %s", a->n,
                    f16 ? "halves" : "floats");
    const uint32_t spec[] = {GELU_WG, a->quick ? 2u : a->tanh_approx ? 1u : 0u}; /* gelu.comp's FORM */
    vk_pipeline *pipe;
    s = vk_pipeline_get(ctx, &gelu_shaders[f16], spec, 2, &pipe);
    if (s)
        return s;
    uint32_t n = a->n;
    vk_dispatch d = {
        .pipe = pipe,
        .bufs = {a->x, a->y},
        .push = &n,
        .groups = {div_up(div_up(n, GELU_PER_INVOCATION), GELU_WG), 1, 1},
    };
    vk_cost cost = cost_stream(10.0 * n, (double)(es * n), (double)(es * n), 0); /* ~10 FLOPs: erf / tanh form */
    cost.wg_size = GELU_WG;
    d.cost = &cost;
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
