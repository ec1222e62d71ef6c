/* LayerNorm over rows (shaders/layernorm.comp): a row per workgroup on GPUs, a few dozen rows per
 * single-subgroup workgroup on CPU devices; the variant (subgroup or shared-memory reduction) and
 * the dispatch shape follow the context's ctx->subgroup_arith and ctx->info.type. */
#include "ops.h"
#include "cost.h"

#include <math.h>
#include <stdint.h>

#include "layernorm_f16.spv.h"
#include "layernorm_f32.spv.h"
#include "layernorm_sg_f16.spv.h"
#include "layernorm_sg_f32.spv.h"

/* Push constants, as `Push` in layernorm.comp. */
typedef struct layernorm_push {
    uint32_t rows, D;
    uint32_t x_stride, y_stride;   /* elements */
    float eps;
    uint32_t rows_per_group;
    uint32_t x_first, y_first;     /* elements */
} layernorm_push;

/* [dtype][0] shared-memory reduction, [dtype][1] subgroup reduction (ctx->subgroup_arith). The fp16
 * variants store x, gamma, beta and y as halves; statistics and normalisation stay fp32. */
static const vk_shader layernorm_shaders[2][2] = {
    {{"layernorm_f32", spv_layernorm_f32, sizeof spv_layernorm_f32, 4, sizeof(layernorm_push), false},
     {"layernorm_sg_f32", spv_layernorm_sg_f32, sizeof spv_layernorm_sg_f32, 4, sizeof(layernorm_push), false}},
    {{"layernorm_f16", spv_layernorm_f16, sizeof spv_layernorm_f16, 4, sizeof(layernorm_push), false},
     {"layernorm_sg_f16", spv_layernorm_sg_f16, sizeof spv_layernorm_sg_f16, 4, sizeof(layernorm_push), false}},
};

/* Bytes a strided [rows][D] view of `esize`-byte elements reaches. */
static uint64_t span_bytes(uint32_t rows, uint32_t D, uint32_t stride, uint32_t esize)
{
    return ((uint64_t)(rows - 1) * stride + D) * esize;
}

static vkvit_status check_span(const char *what, vk_span s, uint64_t need)
{
    if (s.buf == VK_NULL_HANDLE || s.size < need)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: %s span has %llu bytes, needs %llu", what,
                    (unsigned long long)(s.buf ? s.size : 0), (unsigned long long)need);
    return VKVIT_OK;
}

static vkvit_status validate(const vkvit_context *ctx, const layernorm_args *a, uint32_t xs, uint32_t ys)
{
    vkvit_status s = op_check_dtype(ctx, a->dtype, "layernorm");
    if (s)
        return s;
    if (a->rows == 0 || a->D == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: empty shape (rows %u, D %u)", a->rows, a->D);
    if (xs < a->D || ys < a->D)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: row stride (x %u, y %u) below D %u", xs, ys,
                    a->D);
    if (!isfinite(a->eps) || a->eps < 0.0f)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: eps %g is not a finite value >= 0",
                    (double)a->eps);
    /* The shader indexes with 32-bit element offsets. */
    const uint32_t es = a->dtype == OP_F16 ? 2 : 4;
    uint64_t xb = span_bytes(a->rows, a->D, xs, es) + (uint64_t)a->x_first * es,
             yb = span_bytes(a->rows, a->D, ys, es) + (uint64_t)a->y_first * es;
    if (xb / es > UINT32_MAX || yb / es > UINT32_MAX)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: %u rows of stride %u/%u exceed 2^32 elements",
                    a->rows, xs, ys);
    if ((s = check_span("x", a->x, xb)) || (s = check_span("y", a->y, yb)) ||
        (s = check_span("gamma", a->gamma, (uint64_t)a->D * es)) ||
        (s = check_span("beta", a->beta, (uint64_t)a->D * es)))
        return s;
    return VKVIT_OK;
}

/* How a row is spread over a workgroup: WG invocations (a power of two), each keeping NC chunks in
 * registers (NC <= ceil(chunks / WG), as layernorm.comp requires), rows_per_group rows per
 * workgroup (gamma and beta are loaded once per workgroup). */
typedef struct layernorm_shape {
    uint32_t wg, nc, rows_per_group;
} layernorm_shape;

static uint32_t pow2_floor(uint32_t v)
{
    uint32_t p = 1;
    while (p <= v / 2)
        p *= 2;
    return p;
}

static layernorm_shape pick_shape(const vkvit_context *ctx, uint32_t rows, uint32_t chunks, bool vec4)
{
    layernorm_shape sh;
    const uint32_t sg = ctx->info.subgroup_size ? pow2_floor(ctx->info.subgroup_size) : 32;
    if (ctx->info.type == VKVIT_DEVICE_CPU) {
        /* lavapipe: every barrier switches coroutines and every buffer access loops over the SIMD
         * lanes, so one subgroup per workgroup (no barrier with subgroup reductions), the row read
         * once into registers, and enough rows per workgroup to amortise gamma and beta; 32
         * workgroups keep the worker threads balanced. */
        const uint32_t nc_max = vec4 ? 48 : 16;   /* ViT-H's D = 1280 in one read; compile time */
        sh.wg = sg;
        sh.nc = div_up(chunks, sh.wg) < nc_max ? div_up(chunks, sh.wg) : nc_max;
        sh.rows_per_group = rows / 32 + (rows % 32 != 0);
    } else {
        /* GPUs: a coalesced row per workgroup, about two chunks (vec4s) per invocation in flight. */
        uint32_t max = pow2_floor(ctx->max_workgroup_invocations < 256 ? ctx->max_workgroup_invocations : 256);
        uint32_t min = sg > 32 ? sg : 32;
        sh.wg = pow2_floor(chunks / 2 ? chunks / 2 : 1);
        sh.wg = sh.wg < min ? min : sh.wg > max ? max : sh.wg;
        sh.nc = div_up(chunks, sh.wg) < 8 ? div_up(chunks, sh.wg) : 8;
        sh.rows_per_group = 1;
    }
    return sh;
}

vkvit_status op_layernorm(vk_cmd *cmd, vkvit_context *ctx, const layernorm_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "layernorm: NULL argument");
    const uint32_t xs = a->x_stride ? a->x_stride : a->D, ys = a->y_stride ? a->y_stride : a->D;
    vkvit_status s = validate(ctx, a, xs, ys);
    if (s)
        return s;
    const bool f16 = a->dtype == OP_F16;

    /* vec4 loads when every row and every binding starts on a 4-element boundary (16 bytes in fp32,
     * 8 in fp16). */
    const VkDeviceSize al = f16 ? 8 : 16;
    const bool vec4 = a->D % 4 == 0 && xs % 4 == 0 && ys % 4 == 0 && a->x_first % 4 == 0 && a->y_first % 4 == 0 &&
                      a->x.offset % al == 0 &&
                      a->y.offset % al == 0 && a->gamma.offset % al == 0 && a->beta.offset % al == 0;
    const layernorm_shape sh = pick_shape(ctx, a->rows, vec4 ? a->D / 4 : a->D, vec4);
    const uint32_t spec[3] = {sh.wg, vec4, sh.nc};
    vk_pipeline *pipe;
    s = vk_pipeline_get(ctx, &layernorm_shaders[f16][ctx->subgroup_arith ? 1 : 0], spec, 3, &pipe);
    if (s)
        return s;

    const layernorm_push push = {a->rows, a->D, xs, ys, a->eps, sh.rows_per_group, a->x_first, a->y_first};
    vk_dispatch d = {.pipe = pipe, .bufs = {a->x, a->gamma, a->beta, a->y}, .push = &push};
    groups_1d(((uint64_t)a->rows + sh.rows_per_group - 1) / sh.rows_per_group, d.groups);
    const uint32_t chunks = vec4 ? a->D / 4 : a->D;
    vk_cost cost = cost_layernorm(a->rows, a->D, f16 ? 2 : 4, div_up(a->rows, sh.rows_per_group),
                                  sh.nc * sh.wg < chunks);
    cost.wg_size = sh.wg;
    cost.shape[0] = a->rows, cost.shape[1] = a->D;
    cost.shared_bytes = 2 * 8 * sh.wg;   /* red[2][WG] vec2 */
    d.cost = &cost;
    s = vk_cmd_dispatch(cmd, &d);
    if (s)
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
