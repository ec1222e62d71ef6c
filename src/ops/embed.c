#include "ops.h"

#include "patchify_f32.spv.h"
#include "tokens_f32.spv.h"

static const vk_shader patchify_shader = {"patchify", spv_patchify_f32, sizeof spv_patchify_f32, 2,
                                          5 * sizeof(uint32_t)};
static const vk_shader tokens_shader = {"tokens", spv_tokens_f32, sizeof spv_tokens_f32, 5, 4 * sizeof(uint32_t)};

enum { WG = 64 };

static bool fits(vk_span s, uint64_t floats) { return s.buf && s.size >= floats * 4; }

vkvit_status op_patchify(vk_cmd *cmd, vkvit_context *ctx, const patchify_args *a)
{
    if (!a->batch || !a->C || !a->P || !a->S || a->S % a->P)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "patchify: batch %u, channels %u, image %u, patch %u "
                    "(the patch must divide the image)", a->batch, a->C, a->S, a->P);
    uint64_t n = (uint64_t)a->batch * a->C * a->S * a->S;
    if (n > UINT32_MAX || !fits(a->image, n) || !fits(a->patches, n))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "patchify: spans smaller than %llu floats (or too large)",
                    (unsigned long long)n);
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, &patchify_shader, NULL, 0, &pipe);
    if (s)
        return s;
    uint32_t push[5] = {a->batch, a->C, a->S, a->P, a->S / a->P};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->image, a->patches}, .push = push};
    groups_1d((n + WG - 1) / WG, d.groups);
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

vkvit_status op_tokens(vk_cmd *cmd, vkvit_context *ctx, const tokens_args *a)
{
    if (!a->batch || !a->D || a->prefix < 1 || a->prefix > 2 || a->T <= a->prefix)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "tokens: batch %u, T %u, D %u, prefix %u", a->batch, a->T, a->D,
                    a->prefix);
    uint64_t n = (uint64_t)a->batch * a->T * a->D;
    bool ok = n <= UINT32_MAX && fits(a->x, n) && fits(a->pos, (uint64_t)a->T * a->D) && fits(a->cls, a->D) &&
              fits(a->emb, (uint64_t)a->batch * (a->T - a->prefix) * a->D) && (a->prefix == 1 || fits(a->dist, a->D));
    if (!ok)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "tokens: a span is smaller than the shape needs");
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, &tokens_shader, NULL, 0, &pipe);
    if (s)
        return s;
    uint32_t push[4] = {a->batch, a->T, a->D, a->prefix};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->emb, a->cls, a->prefix == 2 ? a->dist : a->cls, a->pos, a->x},
                     .push = push};
    groups_1d((n + WG - 1) / WG, d.groups);
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
