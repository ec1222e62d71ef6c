/* GroupNorm over NHWC activations, with the ResNet unit's optional residual add and ReLU
 * (shaders/group_norm.comp; semantics in ops.h): one workgroup per (batch, group). Its size and
 * reduction follow the context, as op_layernorm's: one subgroup with subgroupAdd (no barrier) on
 * CPU devices, 256 invocations on GPUs; the shared-memory tree without subgroup arithmetic. */
#include "ops.h"
#include "cost.h"

#include <math.h>

#include "group_norm_f16.spv.h"
#include "group_norm_f32.spv.h"
#include "group_norm_sg_f16.spv.h"
#include "group_norm_sg_f32.spv.h"

/* Push constants, as `Push` in group_norm.comp. */
typedef struct group_norm_push {
    uint32_t groups_total, HW, C, G, cg;
    float eps;
} group_norm_push;

#define SHADER(name, spv) {name, spv, sizeof spv, 5, sizeof(group_norm_push), false}
/* [dtype][subgroup reduction] */
static const vk_shader group_norm_shaders[2][2] = {
    {SHADER("group_norm", spv_group_norm_f32), SHADER("group_norm_sg", spv_group_norm_sg_f32)},
    {SHADER("group_norm_f16", spv_group_norm_f16), SHADER("group_norm_sg_f16", spv_group_norm_sg_f16)},
};
#undef SHADER

static vkvit_status validate(const vkvit_context *ctx, const group_norm_args *a)
{
    vkvit_status s = op_check_dtype(ctx, a->dtype, "group_norm");
    if (s)
        return s;
    if (!a->batch || !a->HW || !a->C || !a->groups)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "group_norm: zero dimension (batch %u, HW %u, C %u, groups %u)",
                    a->batch, a->HW, a->C, a->groups);
    if (a->C % a->groups)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "group_norm: %u groups do not divide %u channels", a->groups,
                    a->C);
    if (!isfinite(a->eps) || a->eps < 0.0f)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "group_norm: eps %g is not a finite value >= 0", (double)a->eps);
    const uint64_t n = (uint64_t)a->batch * a->HW * a->C, es = a->dtype == OP_F16 ? 2 : 4;
    const char *op = "group_norm";
    if ((s = op_check_span(op, "x", a->x, n, es)) || (s = op_check_span(op, "gamma", a->gamma, a->C, es)) ||
        (s = op_check_span(op, "beta", a->beta, a->C, es)) || (s = op_check_span(op, "y", a->y, n, es)) ||
        (a->residual.size && (s = op_check_span(op, "residual", a->residual, n, es))))
        return s;
    return VKVIT_OK;
}

static uint32_t pow2_floor(uint32_t v)
{
    uint32_t p = 1;
    while (p <= v / 2)
        p *= 2;
    return p;
}

vkvit_status op_group_norm(vk_cmd *cmd, vkvit_context *ctx, const group_norm_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "group_norm: NULL argument");
    vkvit_status s = validate(ctx, a);
    if (s)
        return s;
    const bool f16 = a->dtype == OP_F16, res = a->residual.size > 0;
    const uint32_t cg = a->C / a->groups;
    const VkDeviceSize al = f16 ? 8 : 16;
    const bool vec4 = a->C % 4 == 0 && cg % 4 == 0 && a->x.offset % al == 0 && a->gamma.offset % al == 0 &&
                      a->beta.offset % al == 0 && a->y.offset % al == 0 && (!res || a->residual.offset % al == 0);
    /* lavapipe: a barrier is a coroutine switch and B*G workgroups (32 per image) already keep its
     * threads busy, so one subgroup each; GPUs: 256 invocations over a group's pixels. */
    const uint32_t sg = ctx->info.subgroup_size ? pow2_floor(ctx->info.subgroup_size) : 32;
    const uint32_t gpu = pow2_floor(ctx->max_workgroup_invocations < 256 ? ctx->max_workgroup_invocations : 256);
    const uint32_t spec[4] = {ctx->info.type == VKVIT_DEVICE_CPU ? sg : gpu, vec4, res, a->relu};
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &group_norm_shaders[f16][ctx->subgroup_arith], spec, 4, &pipe)))
        return s;
    const group_norm_push push = {a->batch * a->groups, a->HW, a->C, a->groups, cg, a->eps};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->gamma, a->beta, res ? a->residual : a->x, a->y}, .push = &push};
    groups_1d((uint64_t)a->batch * a->groups, d.groups);
    /* As a LayerNorm over each group's pixels (8 FLOPs an element), the residual read and ReLU besides;
     * a workgroup reads its group twice (statistics, then the normalisation). */
    const double es = f16 ? 2 : 4, n = (double)a->batch * a->HW * a->C;
    vk_cost cost = cost_stream(8.0 * n, es * (n * (res ? 2 : 1) + 2.0 * a->C), es * n, es * n);
    cost.wg_size = spec[0];
    d.cost = &cost;
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
