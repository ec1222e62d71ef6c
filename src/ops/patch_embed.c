#include "ops.h"
#include "cost.h"

#include "patchify_f16.spv.h"
#include "patchify_f32.spv.h"
#include "tokens_f16.spv.h"
#include "tokens_f32.spv.h"
#include "widen_f16.spv.h"

/* [dtype] */
static const vk_shader patchify_shaders[2] = {
    {"patchify", spv_patchify_f32, sizeof spv_patchify_f32, 2, 7 * sizeof(uint32_t), false},
    {"patchify_f16", spv_patchify_f16, sizeof spv_patchify_f16, 2, 7 * sizeof(uint32_t), false},
};
static const vk_shader tokens_shaders[2] = {
    {"tokens", spv_tokens_f32, sizeof spv_tokens_f32, 6, 5 * sizeof(uint32_t), false},
    {"tokens_f16", spv_tokens_f16, sizeof spv_tokens_f16, 6, 5 * sizeof(uint32_t), false},
};
static const vk_shader widen_shader = {"widen", spv_widen_f16, sizeof spv_widen_f16, 2, sizeof(uint32_t), false};

enum { WG = 64 };

static bool fits(vk_span s, uint64_t n, uint64_t elem_size) { return s.buf && s.size >= n * elem_size; }

static vkvit_status dispatch_1d(vk_cmd *cmd, vk_dispatch *d, uint64_t n, vk_cost cost)
{
    cost.wg_size = WG;
    d->cost = &cost;
    groups_1d((n + WG - 1) / WG, d->groups);
    vkvit_status s = vk_cmd_dispatch(cmd, d);
    if (s)
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

vkvit_status op_patchify(vk_cmd *cmd, vkvit_context *ctx, const patchify_args *a)
{
    const uint32_t W = a->W ? a->W : a->S;
    if (!a->batch || !a->C || !a->P || !a->S || a->S % a->P || W % a->P)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "patchify: batch %u, channels %u, image %ux%u, patch %u "
                    "(the patch must divide the image)", a->batch, a->C, a->S, W, a->P);
    vkvit_status s = op_check_dtype(ctx, a->dtype, "patchify");
    if (s)
        return s;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4;
    uint64_t n = (uint64_t)a->batch * a->C * a->S * W;
    if (n > UINT32_MAX || !fits(a->image, n, 4) || !fits(a->patches, n, es))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "patchify: spans smaller than %llu elements (or too large)",
                    (unsigned long long)n);
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &patchify_shaders[a->dtype == OP_F16], NULL, 0, &pipe)))
        return s;
    uint32_t push[7] = {a->batch, a->C, a->S, W, a->P, a->S / a->P, W / a->P};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->image, a->patches}, .push = push};
    return dispatch_1d(cmd, &d, n, cost_stream(0, 4.0 * (double)n, (double)(es * n), 0)); /* a permutation */
}

vkvit_status op_tokens(vk_cmd *cmd, vkvit_context *ctx, const tokens_args *a)
{
    if (!a->batch || !a->D || a->prefix > 2 || a->T <= a->prefix + a->regs) /* prefix 0: no class token (SigLIP) */
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "tokens: batch %u, T %u, D %u, prefix %u, registers %u", a->batch,
                    a->T, a->D, a->prefix, a->regs);
    vkvit_status s = op_check_dtype(ctx, a->dtype, "tokens");
    if (s)
        return s;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4;
    uint64_t n = (uint64_t)a->batch * a->T * a->D;
    bool ok = n <= UINT32_MAX && fits(a->x, n, es) && fits(a->pos, (uint64_t)a->T * a->D, es) &&
              (a->prefix == 0 || fits(a->cls, a->D, es)) &&
              fits(a->emb, (uint64_t)a->batch * (a->T - a->prefix - a->regs) * a->D, es) &&
              (a->prefix < 2 || fits(a->dist, a->D, es)) && (!a->regs || fits(a->reg, (uint64_t)a->regs * a->D, es));
    if (!ok)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "tokens: a span is smaller than the shape needs");
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &tokens_shaders[a->dtype == OP_F16], NULL, 0, &pipe)))
        return s;
    uint32_t push[5] = {a->batch, a->T, a->D, a->prefix, a->regs};
    const vk_span cls = a->prefix ? a->cls : a->pos; /* bound, never read, without a class token */
    vk_dispatch d = {.pipe = pipe, .bufs = {a->emb, cls, a->prefix == 2 ? a->dist : cls, a->pos, a->x,
                                            a->regs ? a->reg : cls},
                     .push = push};
    /* One add per element; the position embedding (and class, registers) read once per image. */
    const double e = (double)es, tokens = (double)a->batch * (a->T - a->prefix - a->regs) * a->D;
    return dispatch_1d(cmd, &d, n, cost_stream((double)n, e * (tokens + (double)a->T * a->D), e * (double)n,
                                               e * (double)(a->batch - 1) * a->T * a->D));
}

vkvit_status op_widen(vk_cmd *cmd, vkvit_context *ctx, const widen_args *a)
{
    vkvit_status s = op_check_dtype(ctx, OP_F16, "widen");
    if (s)
        return s;
    if (!a->n || !fits(a->x, a->n, 2) || !fits(a->y, a->n, 4))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "widen: n = %u, or spans smaller than n halves / floats", a->n);
    vk_pipeline *pipe;
    if ((s = vk_pipeline_get(ctx, &widen_shader, NULL, 0, &pipe)))
        return s;
    uint32_t n = a->n;
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->y}, .push = &n};
    return dispatch_1d(cmd, &d, n, cost_stream(0, 2.0 * n, 4.0 * n, 0));
}
