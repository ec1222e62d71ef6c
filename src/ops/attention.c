/* Fused multi-head self-attention (shaders/attention.comp) and the class token's head-averaged
 * probabilities (shaders/attention_probs.comp).
 *
 * Two kernels, one source: the shared-memory one for GPUs, the subgroup-shuffle one for CPU
 * devices (lavapipe), where loads are expensive and each invocation owns R query rows so every
 * loaded and shuffled vec4 feeds 4 R FMAs. R is bounded by compile time, not by speed: lavapipe's
 * LLVM time grows faster than linearly with the R * dh/4 vec4s of q and accumulator each lane keeps
 * (dh = 64 on llvmpipe 22.3: R = 5 compiles in ~3 s and runs ViT-B's T = 197 in ~1.3x the time of
 * R = 13, which takes ~16 s to compile). Mesa's shader cache keeps the result across runs. */
#include "ops.h"
#include "cost.h"

#include <math.h>
#include <stdint.h>

#include "attention_f16.spv.h"
#include "attention_f32.spv.h"
#include "attention_probs_f16.spv.h"
#include "attention_probs_f32.spv.h"
#include "attention_sg_f16.spv.h"
#include "attention_sg_f32.spv.h"

/* Push constants, as `Push` in both shaders. */
typedef struct attention_push {
    uint32_t B, T, H, dh;
    float scale;
} attention_push;

static const vk_shader attention_shared_shader = {"attention_f32", spv_attention_f32,
                                                  sizeof spv_attention_f32, 2, sizeof(attention_push), false};
static const vk_shader attention_sg_shader = {"attention_sg_f32", spv_attention_sg_f32,
                                              sizeof spv_attention_sg_f32, 2, sizeof(attention_push), false};
static const vk_shader attention_probs_shader = {"attention_probs_f32", spv_attention_probs_f32,
                                                 sizeof spv_attention_probs_f32, 2, sizeof(attention_push), false};
/* fp16 storage (qkv, out, cls_probs as halves), fp32 math: the same sources built with -DFP16=1. */
static const vk_shader attention_shared_f16_shader = {"attention_f16", spv_attention_f16,
                                                      sizeof spv_attention_f16, 2, sizeof(attention_push), false};
static const vk_shader attention_sg_f16_shader = {"attention_sg_f16", spv_attention_sg_f16,
                                                  sizeof spv_attention_sg_f16, 2, sizeof(attention_push), false};
static const vk_shader attention_probs_f16_shader = {"attention_probs_f16", spv_attention_probs_f16,
                                                     sizeof spv_attention_probs_f16, 2, sizeof(attention_push), false};

enum {
    MAX_DH = 128,
    SHARED_WG = 64,          /* GPU path: one query row per invocation */
    SHARED_MAX_BK = 64,      /* keys per shared-memory block, fewer if shared memory is short */
    SG_MIN_SIZE = 8,         /* the subgroup kernel shuffles 8 keys at a time */
    SG_ROW_VEC4S = 80,       /* CPU path: R * ceil(dh/4) <= 80 (R = 5 at dh = 64: 40 rows a
                                workgroup, 5 workgroups = 200 rows for T = 197) */
    SG_MAX_R = 16,
    PROBS_WG = 64,           /* attention_probs.comp: a power of two */
};

static vkvit_status check_span(const char *what, vk_span s, uint64_t need)
{
    if (s.buf == VK_NULL_HANDLE || s.size < need)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: %s span has %llu bytes, needs %llu", what,
                    (unsigned long long)(s.buf ? s.size : 0), (unsigned long long)need);
    return VKVIT_OK;
}

static uint64_t elem_size(op_dtype t) { return t == OP_F16 ? 2 : sizeof(float); }

/* Rows can be read and written as 4-vectors: dh % 4 == 0, and for fp16 (f16vec4, 8 bytes) spans
 * that start 8-byte aligned (fp32 spans are bound at minStorageBufferOffsetAlignment, >= 16 here). */
static uint32_t vec4_ok(const attention_args *a, vk_span out)
{
    if (a->dh % 4 != 0)
        return 0;
    return a->dtype != OP_F16 || (a->qkv.offset % 8 == 0 && out.offset % 8 == 0);
}

static vkvit_status validate(const vkvit_context *ctx, const attention_args *a)
{
    vkvit_status s;
    if ((s = op_check_dtype(ctx, a->dtype, "attention")))
        return s;
    if (a->batch == 0 || a->T == 0 || a->H == 0 || a->dh == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: empty shape (batch %u, T %u, H %u, dh %u)",
                    a->batch, a->T, a->H, a->dh);
    if (a->dh > MAX_DH)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: head dim %u exceeds %u", a->dh, MAX_DH);
    if (!isfinite(a->scale))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: scale %g is not finite", (double)a->scale);
    if ((unsigned)a->kernel > ATTENTION_SUBGROUP)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: unknown kernel %d", (int)a->kernel);
    if (a->H > ctx->max_workgroup_count[1] || a->batch > ctx->max_workgroup_count[2] ||
        a->batch > ctx->max_workgroup_count[0])
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: %u heads x batch %u exceed the device's "
                    "workgroup counts (%u, %u)", a->H, a->batch, ctx->max_workgroup_count[1],
                    ctx->max_workgroup_count[2]);
    /* The shaders index with 32-bit element offsets. */
    const uint64_t qkv_n = (uint64_t)a->batch * a->T * 3 * a->H * a->dh;
    const uint64_t out_n = (uint64_t)a->batch * a->T * a->H * a->dh;
    if (qkv_n > UINT32_MAX)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: qkv [%u][%u][3][%u][%u] exceeds 2^32 elements",
                    a->batch, a->T, a->H, a->dh);
    const uint64_t es = elem_size(a->dtype);
    if ((s = check_span("qkv", a->qkv, qkv_n * es)) || (s = check_span("out", a->out, out_n * es)))
        return s;
    if (a->cls_probs.size != 0 &&
        (s = check_span("cls_probs", a->cls_probs, (uint64_t)a->batch * a->T * es)))
        return s;
    return VKVIT_OK;
}

static bool subgroup_kernel_ok(const vkvit_context *ctx)
{
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    return ctx->info.subgroup_size >= SG_MIN_SIZE && (ctx->info.subgroup_ops & need) == need &&
           ctx->info.subgroup_size <= ctx->max_workgroup_invocations && !(ctx->paths_off & VK_PATH_SUBGROUP);
}

/* Specialization constants (attention.comp: DH4, WG, R, BK, VEC4) and the query rows each
 * workgroup covers. */
typedef struct attention_shape {
    uint32_t spec[5];
    uint32_t rows_per_group;
} attention_shape;

static vkvit_status pick_shape(const vkvit_context *ctx, const attention_args *a, attention_kernel k,
                               attention_shape *out)
{
    const uint32_t dh4 = div_up(a->dh, 4), vec4 = vec4_ok(a, a->out);
    if (k == ATTENTION_SUBGROUP) {
        const uint32_t wg = ctx->info.subgroup_size;   /* one subgroup: no barriers at all */
        uint32_t r = SG_ROW_VEC4S / dh4;
        r = r < 1 ? 1 : r > SG_MAX_R ? SG_MAX_R : r;
        if (r > div_up(a->T, wg))
            r = div_up(a->T, wg);   /* short sequences: no rows computed only to be dropped */
        *out = (attention_shape){{dh4, wg, r, 8, vec4}, wg * r};   /* BK unused */
        return VKVIT_OK;
    }
    /* Two blocks of BK keys x dh4 vec4s in shared memory. */
    uint32_t bk = ctx->info.max_shared_memory / (2 * dh4 * 16);
    bk = (bk > SHARED_MAX_BK ? SHARED_MAX_BK : bk) / 8 * 8;
    if (bk == 0)
        return fail(VKVIT_ERROR_UNSUPPORTED, "attention: %u bytes of shared memory cannot hold 8 keys of "
                    "dh %u", ctx->info.max_shared_memory, a->dh);
    const uint32_t wg = SHARED_WG < ctx->max_workgroup_invocations ? SHARED_WG : ctx->max_workgroup_invocations;
    *out = (attention_shape){{dh4, wg, 1, bk, vec4}, wg};
    return VKVIT_OK;
}

static vkvit_status record_probs(vk_cmd *cmd, vkvit_context *ctx, const attention_args *a,
                                 const attention_push *push)
{
    const uint32_t spec[] = {div_up(a->dh, 4), PROBS_WG, vec4_ok(a, a->cls_probs)};
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, a->dtype == OP_F16 ? &attention_probs_f16_shader : &attention_probs_shader,
                                     spec, 3, &pipe);
    if (s)
        return s;
    /* Per image: q of row 0 and every key of every head, twice (max, then sum); T probabilities. */
    const double es = (double)elem_size(a->dtype), hd = (double)a->H * a->dh, bt = (double)a->batch * a->T;
    vk_cost cost = cost_stream(4.0 * bt * hd, es * ((double)a->batch * hd + bt * hd), es * bt, es * bt * hd);
    cost.wg_size = PROBS_WG;
    cost.shared_bytes = 8 * PROBS_WG + (a->dtype == OP_F16 ? 8 * 64 : 0);
    vk_dispatch d = {.pipe = pipe, .bufs = {a->qkv, a->cls_probs}, .push = push, .groups = {a->batch, 1, 1},
                     .cost = &cost};
    return vk_cmd_dispatch(cmd, &d);
}

vkvit_status op_attention(vk_cmd *cmd, vkvit_context *ctx, const attention_args *a)
{
    vkvit_status s = validate(ctx, a);
    if (s)
        return s;
    attention_kernel k = a->kernel;
    if (k == ATTENTION_AUTO)
        k = ctx->info.type == VKVIT_DEVICE_CPU && subgroup_kernel_ok(ctx) ? ATTENTION_SUBGROUP : ATTENTION_SHARED;
    if (k == ATTENTION_SUBGROUP && !subgroup_kernel_ok(ctx))
        return fail(VKVIT_ERROR_UNSUPPORTED, "attention: the subgroup kernel needs subgroups of >= %d lanes "
                    "with shuffles (device: %u lanes, ops 0x%x)", SG_MIN_SIZE, ctx->info.subgroup_size,
                    ctx->info.subgroup_ops);

    attention_shape shape;
    if ((s = pick_shape(ctx, a, k, &shape)))
        return s;
    const uint32_t blocks = div_up(a->T, shape.rows_per_group);
    if (blocks > ctx->max_workgroup_count[0])
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "attention: T %u needs %u query blocks, more than the "
                    "device's %u", a->T, blocks, ctx->max_workgroup_count[0]);
    vk_pipeline *pipe;
    const bool f16 = a->dtype == OP_F16;
    const vk_shader *sh = k == ATTENTION_SUBGROUP ? (f16 ? &attention_sg_f16_shader : &attention_sg_shader)
                                                  : (f16 ? &attention_shared_f16_shader : &attention_shared_shader);
    if ((s = vk_pipeline_get(ctx, sh, shape.spec, 5, &pipe)))
        return s;

    const attention_push push = {a->batch, a->T, a->H, a->dh,
                                 a->scale != 0.0f ? a->scale : (float)(1.0 / sqrt((double)a->dh))};
    vk_cost cost = cost_attention(a->batch, a->T, a->H, a->dh, (uint32_t)elem_size(a->dtype), shape.rows_per_group);
    cost.wg_size = shape.spec[1];
    cost.shape[0] = a->T, cost.shape[1] = a->H, cost.shape[2] = a->dh;
    cost.shared_bytes = k == ATTENTION_SUBGROUP ? 0 : 2 * shape.spec[3] * shape.spec[0] * 16;
    vk_dispatch d = {.pipe = pipe, .bufs = {a->qkv, a->out}, .push = &push, .groups = {blocks, a->H, a->batch},
                     .cost = &cost};
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    /* Reads qkv like the dispatch above and writes only cls_probs: no barrier between them. */
    if (a->cls_probs.size != 0 && (s = record_probs(cmd, ctx, a, &push)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
