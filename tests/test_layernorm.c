/* op_layernorm against ref_layernorm: real ViT shapes, awkward D, strided rows (the final LN on the
 * class tokens only), tiny eps, rows with a large mean, and both reduction variants (shared memory
 * and subgroup); then the same kinds of cases in fp16 (dtype OP_F16) at TOL_F16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

typedef struct ln_case {
    const char *what;
    uint32_t rows, D;
    uint32_t x_stride, y_stride;   /* 0 = D */
    uint32_t x_offset;             /* elements into the x buffer where row 0 starts */
    float eps;
    float mean, half_range;        /* x ~ U(mean - half_range, mean + half_range) */
    int constant_rows;             /* every row holds one value (variance 0): y = beta */
    int gpu_shape;                 /* also run with the GPU-shaped dispatch (run_table) */
    int first;                     /* x_offset through x_first on the whole buffer, not an offset
                                    * binding; y rows start at y_first = FIRST_Y */
} ln_case;

enum { FIRST_Y = 8 };

/* Packs `rows` rows of D from y (row stride ys, ny elements) into out for the comparison, and
 * counts the elements between strided rows that are no longer the NaN poison. */
static size_t pack_rows(const float *y, size_t ny, uint32_t ys, uint32_t rows, uint32_t D, float *out)
{
    size_t gaps_written = 0;
    for (uint32_t r = 0; r < rows; r++) {
        memcpy(out + (size_t)r * D, y + (size_t)r * ys, D * sizeof(float));
        for (uint32_t i = D; i < ys && (size_t)r * ys + i < ny; i++)
            gaps_written += !isnan(y[(size_t)r * ys + i]);
    }
    return gaps_written;
}

static const ln_case cases[] = {
    /* ViT-Ti/S/B/L at T = 197, batch 1 and 3; eps as timm and as Google's checkpoints */
    {"vit-ti", 197, 192, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"vit-s", 197, 384, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"vit-b", 197, 768, 0, 0, 0, 1e-12f, 0.0f, 2.0f, 0, 1, 0},
    {"vit-l", 197, 1024, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"vit-b b3", 197 * 3, 768, 0, 0, 0, 1e-6f, 0.5f, 3.0f, 0, 0, 0},
    {"vit-l b3", 197 * 3, 1024, 0, 0, 0, 1e-12f, 0.0f, 1.0f, 0, 0, 0},
    {"vit-h", 13, 1280, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    /* awkward widths: scalar path (D % 4 != 0), one element, more chunks than the workgroup */
    {"D=1", 13, 1, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"D=1 eps=1e-12", 2, 1, 0, 0, 0, 1e-12f, 5.0f, 2.0f, 0, 0, 0},
    {"D=7", 13, 7, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"D=31", 2, 31, 0, 0, 0, 1e-12f, 0.0f, 2.0f, 0, 0, 0},
    {"D=65", 13, 65, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"D=1000", 1, 1000, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"D=4097", 2, 4097, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"D=4096", 13, 4096, 0, 0, 0, 1e-12f, 0.0f, 2.0f, 0, 0, 0},
    {"D=8", 1, 8, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    /* strided rows: final LN over the class tokens of x [B=3, T=197, D] only, into y [B, D]; the
     * distillation token (DeiT) through an offset span; odd strides force the scalar path */
    {"cls tokens", 3, 768, 197 * 768, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"dist tokens", 3, 384, 197 * 384, 0, 384, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"dist x_first", 3, 384, 197 * 384, 768, 384, 1e-6f, 0.0f, 2.0f, 0, 1, 1},
    {"odd x_first", 5, 7, 9, 0, 3, 1e-6f, 0.0f, 2.0f, 0, 0, 1},
    {"odd strides", 13, 768, 769, 771, 0, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"strided y", 7, 192, 0, 200, 0, 1e-12f, 0.0f, 2.0f, 0, 0, 0},
    /* large means: naive E[x^2] - E[x]^2 in fp32 loses every digit here */
    {"mean 1e4", 197, 768, 0, 0, 0, 1e-6f, 1e4f, 1.7f, 0, 1, 0},
    {"mean -1e4 eps=1e-12", 13, 1000, 0, 0, 0, 1e-12f, -1e4f, 1.7f, 0, 0, 0},
    {"mean 1e4 D=65", 13, 65, 0, 0, 0, 1e-6f, 1e4f, 1.7f, 0, 0, 0},
    {"mean 1e5 std 0.1", 13, 384, 0, 0, 0, 1e-6f, 1e5f, 0.17f, 0, 0, 0},
    {"constant rows", 13, 768, 0, 0, 0, 1e-6f, 3.7f, 0.0f, 1, 0, 0},
};

/* One case through op_layernorm in `t` (fp32, or fp16: x, gamma, beta, y stored as halves), against the
 * double reference; for fp16 the inputs are rounded to halves first (see cases_f16). */
static void run_case(vkvit_context *ctx, const ln_case *c, op_dtype t, const char *variant, uint64_t *rng)
{
    const bool f16 = t == OP_F16;
    const uint32_t xs = c->x_stride ? c->x_stride : c->D, ys = c->y_stride ? c->y_stride : c->D;
    const size_t nx = (size_t)(c->rows - 1) * xs + c->D + c->x_offset,
                 yf = c->first ? FIRST_Y : 0, ny = (size_t)(c->rows - 1) * ys + c->D + yf;
    const size_t n = (size_t)c->rows * c->D;
    float *x = test_alloc(nx), *gamma = test_alloc(c->D), *beta = test_alloc(c->D), *y = test_alloc(ny);
    float *xp = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);

    test_fill(x, nx, rng, c->mean - c->half_range, c->mean + c->half_range);
    if (c->constant_rows)
        for (uint32_t r = 0; r < c->rows; r++)
            for (uint32_t i = 0; i < c->D; i++)
                x[c->x_offset + (size_t)r * xs + i] = c->mean + (float)r;
    test_fill(gamma, c->D, rng, -1.5f, 1.5f);
    test_fill(beta, c->D, rng, -0.5f, 0.5f);
    if (f16) {
        test_round_f16(x, nx);
        test_round_f16(gamma, c->D);
        test_round_f16(beta, c->D);
    }
    for (uint32_t r = 0; r < c->rows; r++)
        memcpy(xp + (size_t)r * c->D, x + c->x_offset + (size_t)r * xs, c->D * sizeof(float));
    ref_layernorm(xp, gamma, beta, ref, c->rows, c->D, c->eps);

    vk_buffer bx = test_upload_as(ctx, t, x, nx), bg = test_upload_as(ctx, t, gamma, c->D),
              bb = test_upload_as(ctx, t, beta, c->D), by = test_poisoned(ctx, t, ny);
    const VkDeviceSize xoff = c->first ? 0 : (VkDeviceSize)c->x_offset * (f16 ? 2 : sizeof(float));
    layernorm_args a = {
        .rows = c->rows, .D = c->D, .x_stride = c->x_stride, .y_stride = c->y_stride, .eps = c->eps,
        .x = vk_span_of(&bx, xoff, bx.size - xoff), .gamma = vk_whole(&bg), .beta = vk_whole(&bb),
        .y = vk_whole(&by), .dtype = t, .x_first = c->first ? c->x_offset : 0, .y_first = (uint32_t)yf,
    };
    test_run(ctx, test_record_layernorm, &a);
    test_download_as(ctx, t, &by, y, ny);

    /* Rows packed for the comparison; the gaps between strided rows must still hold the poison. */
    size_t gaps_written = pack_rows(y + yf, ny - yf, ys, c->rows, c->D, out);
    for (size_t i = 0; i < yf; i++)
        gaps_written += !isnan(y[i]);
    char name[128];
    if (f16)
        snprintf(name, sizeof name, "layernorm fp16 %-10s %-16s rows=%-4u D=%-4u", variant, c->what, c->rows, c->D);
    else
        snprintf(name, sizeof name, "layernorm %-10s %-20s rows=%-4u D=%-4u", variant, c->what, c->rows, c->D);
    test_check(name, out, ref, n, f16 ? TOL_F16 : TOL_F32);
    if (ys > c->D || yf)
        test_expect(gaps_written == 0, "%s: %zu %s between rows of y were overwritten", name, gaps_written,
                    f16 ? "halves" : "elements");

    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &bg);
    vk_buffer_destroy(ctx, &bb);
    vk_buffer_destroy(ctx, &by);
    free(x), free(gamma), free(beta), free(y), free(xp), free(out), free(ref);
}

/* ---- fp16 (dtype OP_F16): x, gamma, beta, y stored as halves, statistics in fp32 --------------------
 * Inputs are rounded to fp16 (test_round_f16) before the double reference runs, so it starts from
 * exactly the values the GPU reads; the only rounding it does not model is the one at the store
 * (2^-11 relative). Offsets and strides are in halves; the vec4 path needs D and strides % 4 == 0 and
 * 8-byte-aligned bindings, the others run the scalar path. */
static const ln_case cases_f16[] = {
    {"vit-ti", 197, 192, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"vit-b", 197, 768, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"vit-ti b3", 197 * 3, 192, 0, 0, 0, 1e-6f, 0.5f, 3.0f, 0, 0, 0},
    {"vit-b b3", 197 * 3, 768, 0, 0, 0, 1e-12f, 0.0f, 1.0f, 0, 1, 0},
    {"D=1", 13, 1, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"D=7", 13, 7, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"D=1000", 3, 1000, 0, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    /* the final LN on the class tokens of x [3, 197, D]; the distillation token through an offset
     * span (384 halves: 768 bytes, vec4-aligned); odd strides force the scalar path */
    {"cls tokens", 3, 768, 197 * 768, 0, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"dist tokens", 3, 384, 197 * 384, 0, 384, 1e-6f, 0.0f, 2.0f, 0, 0, 0},
    {"dist x_first", 3, 384, 197 * 384, 768, 384, 1e-6f, 0.0f, 2.0f, 0, 1, 1},
    {"odd x_first", 5, 7, 9, 0, 3, 1e-6f, 0.0f, 2.0f, 0, 0, 1},
    {"odd strides", 13, 768, 769, 771, 0, 1e-6f, 0.0f, 2.0f, 0, 1, 0},
    {"strided y", 7, 192, 0, 200, 0, 1e-12f, 0.0f, 2.0f, 0, 0, 0},
    /* Large mean: 1e3, not the 1e4 of the fp32 cases. fp16 cannot hold 1e4 + small deltas (its
     * spacing there is 8, so a row of std 1 would collapse to one or two values); at 1e3 the spacing
     * is 0.5, which still leaves a spread for the fp32 statistics to resolve against the mean
     * (naive E[x^2] - E[x]^2 in fp32 would be off by ~6% of the variance here). */
    {"mean 1e3", 197, 768, 0, 0, 0, 1e-6f, 1e3f, 1.7f, 0, 1, 0},
    {"mean -1e3 D=65", 13, 65, 0, 0, 0, 1e-6f, -1e3f, 1.7f, 0, 0, 0},
    {"constant rows", 13, 768, 0, 0, 0, 1e-6f, 3.7f, 0.0f, 1, 0, 0},
};

/* Every case of a table in `t` on the lavapipe-shaped dispatch, the gpu_shape ones on the GPU-shaped one too,
 * with both reduction variants where the device has subgroup arithmetic. op_layernorm follows the
 * context: the subgroup variant when ctx->subgroup_arith is set, and a lavapipe-shaped dispatch (one
 * subgroup per workgroup, many rows each) on CPU devices, a GPU-shaped one (up to 256 invocations,
 * barriers, the re-read path for D > 8 vec4s per invocation) elsewhere. Flipping the two fields runs
 * all four combinations on one device (the GPU shape on a subset of the cases: each new shape is a
 * pipeline to compile). */
static void run_table(vkvit_context *ctx, const ln_case *cases, size_t n, op_dtype t, uint64_t *rng)
{
    const bool has_sg = ctx->subgroup_arith;
    const vkvit_device_type type = ctx->info.type;
    for (int v = 0; v < (has_sg ? 4 : 2); v++) {
        ctx->subgroup_arith = v & 2;
        ctx->info.type = v & 1 ? VKVIT_DEVICE_DISCRETE_GPU : VKVIT_DEVICE_CPU;
        char variant[16];
        snprintf(variant, sizeof variant, "%s/%s", v & 2 ? "sg" : "shared", v & 1 ? "gpu" : "cpu");
        for (size_t i = 0; i < n; i++)
            if (!(v & 1) || cases[i].gpu_shape)
                run_case(ctx, &cases[i], t, variant, rng);
    }
    ctx->subgroup_arith = has_sg;
    ctx->info.type = type;
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    if (!ctx->subgroup_arith)
        printf("note: device lacks subgroup arithmetic; testing the shared-memory variant only\n");
    run_table(ctx, cases, sizeof cases / sizeof *cases, OP_F32, &rng);
    /* A device without the fp16 features passes only if ctx->info really says it lacks them (a context
     * that failed to enable them would hide the fp16 path). */
    if (test_fp16(ctx))
        run_table(ctx, cases_f16, sizeof cases_f16 / sizeof *cases_f16, OP_F16, &rng);

    /* Refusals, before anything is recorded: fp16 without ctx->fp16 (UNSUPPORTED), bad arguments
     * (INVALID_ARGUMENT). */
    vk_buffer b = test_upload(ctx, NULL, 64);
    const layernorm_args good = {
        .rows = 4, .D = 16, .eps = 1e-6f, .x = vk_whole(&b), .gamma = vk_whole(&b), .beta = vk_whole(&b),
        .y = vk_whole(&b),
    };
    layernorm_args f16 = good;
    f16.dtype = OP_F16;
    test_refuses_fp16(ctx, "layernorm", test_record_layernorm, &f16);
    struct {
        const char *what;
        layernorm_args a;
    } bad[] = {{"rows 0", good}, {"D 0", good}, {"x stride < D", good}, {"rows past the buffers", good},
               {"gamma too small", good}, {"eps NaN", good}, {"eps < 0", good}};
    bad[0].a.rows = 0;
    bad[1].a.D = 0;
    bad[2].a.x_stride = 15;
    bad[3].a.rows = 5;
    bad[4].a.gamma.size = 60;
    bad[5].a.eps = NAN;
    bad[6].a.eps = -1.0f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        test_refuses(ctx, "layernorm", test_record_layernorm, &bad[i].a, bad[i].what, "layernorm:");
    test_expect(test_record_status(ctx, test_record_layernorm, &good) == VKVIT_OK,
                "layernorm accepts the valid arguments");
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
