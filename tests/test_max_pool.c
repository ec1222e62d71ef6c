/* op_max_pool against ref_max_pool on fresh random NHWC data, fp32 and fp16 (a max is exact: bound 0 in
 * both), outputs poisoned first:
 *   (default)  3x3 stride 2 with TF "SAME" pads on odd grids (13x11), one pixel, 2x2, channel counts
 *              that are and are not multiples of 4, explicit pads, other windows and strides, all-negative
 *              inputs (a pool that pads with 0 instead of skipping fails there), a NaN in the input
 *              (propagated to exactly the windows that hold it, as PyTorch does); refusals.
 *   real       the stem's pool at 224 and 384 px (112 -> 56, 192 -> 96), batch 1 and 2 (suite 'slow').
 * ./test_max_pool [real] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

typedef struct pool_case {
    const char *what;
    uint32_t batch, C, H, W, k, stride;
    int explicit_pads;             /* 0: TF SAME (conv_same_pads); 1: the four below */
    uint32_t pt, pl, pb, pr;
    float lo, hi;                  /* x ~ U(lo, hi) */
} pool_case;

static const pool_case small_cases[] = {
    {"3x3/2 SAME 13x11 C 8", 2, 8, 13, 11, 3, 2, 0, 0, 0, 0, 0, -1.0f, 1.0f},
    {"3x3/2 SAME 13x11 C 7", 1, 7, 13, 11, 3, 2, 0, 0, 0, 0, 0, -1.0f, 1.0f},
    {"3x3/2 SAME negative", 2, 64, 14, 9, 3, 2, 0, 0, 0, 0, 0, -3.0f, -1.0f},
    {"3x3/2 SAME negative C 3", 1, 3, 7, 7, 3, 2, 0, 0, 0, 0, 0, -3.0f, -1.0f},
    {"3x3/2 one pixel", 2, 4, 1, 1, 3, 2, 0, 0, 0, 0, 0, -3.0f, -1.0f},
    {"3x3/2 2x2", 1, 5, 2, 2, 3, 2, 0, 0, 0, 0, 0, -3.0f, -1.0f},
    {"3x3/1 SAME 5x5", 1, 12, 5, 5, 3, 1, 0, 0, 0, 0, 0, -3.0f, -1.0f},
    {"2x2/2 unpadded 8x7", 1, 4, 8, 7, 2, 2, 1, 0, 0, 0, 0, -1.0f, 1.0f},
    {"3x3/2 pads 2,2,2,2", 1, 8, 6, 6, 3, 2, 1, 2, 2, 2, 2, -3.0f, -1.0f},
    {"3x3/2 pads 0,1,2,0", 2, 1, 9, 8, 3, 2, 1, 0, 1, 2, 0, -3.0f, -1.0f},
    {"5x5/3 SAME 16x14", 1, 16, 16, 14, 5, 3, 0, 0, 0, 0, 0, -1.0f, 1.0f},
};

static const pool_case real_cases[] = {
    {"stem 64 @112 (224 px)", 1, 64, 112, 112, 3, 2, 0, 0, 0, 0, 0, -1.0f, 1.0f},
    {"stem 64 @112 b2, after ReLU", 2, 64, 112, 112, 3, 2, 0, 0, 0, 0, 0, 0.0f, 1.0f},
    {"stem 64 @192 (384 px)", 1, 64, 192, 192, 3, 2, 0, 0, 0, 0, 0, -1.0f, 1.0f},
};

static max_pool_args args_of(const pool_case *c, op_dtype t)
{
    max_pool_args a = {.batch = c->batch, .C = c->C, .H = c->H, .W = c->W, .k = c->k, .stride = c->stride, .dtype = t};
    if (c->explicit_pads) {
        a.pad_top = c->pt, a.pad_left = c->pl, a.pad_bottom = c->pb, a.pad_right = c->pr;
    } else {
        conv_same_pads(c->H, c->k, c->stride, &a.pad_top, &a.pad_bottom);
        conv_same_pads(c->W, c->k, c->stride, &a.pad_left, &a.pad_right);
    }
    return a;
}

/* Runs c; with nan_at != SIZE_MAX, x[nan_at] is a NaN, and outputs must match the reference bit for bit
 * (NaN where the reference has NaN) instead of within a bound. */
static void run_case(vkvit_context *ctx, const pool_case *c, op_dtype t, size_t nan_at, uint64_t *rng)
{
    const bool f16 = t == OP_F16;
    max_pool_args a = args_of(c, t);
    const ref_window g = {c->batch, c->C, c->H, c->W, c->k, c->k, c->stride,
                          a.pad_top, a.pad_left, a.pad_bottom, a.pad_right};
    uint32_t Ho, Wo;
    ref_window_out(&g, &Ho, &Wo);
    const size_t nx = (size_t)c->batch * c->H * c->W * c->C, ny = (size_t)c->batch * Ho * Wo * c->C;
    float *x = test_alloc(nx), *out = test_alloc(ny), *ref = test_alloc(ny);
    test_fill(x, nx, rng, c->lo, c->hi);
    if (f16)
        test_round_f16(x, nx);
    if (nan_at != SIZE_MAX)
        x[nan_at] = NAN;
    ref_max_pool(&g, x, ref);

    vk_buffer bx = test_upload_as(ctx, t, x, nx), by = test_poisoned(ctx, t, ny);
    a.x = vk_whole(&bx), a.y = vk_whole(&by);
    test_run(ctx, test_record_max_pool, &a);
    test_download_as(ctx, t, &by, out, ny);

    char name[160];
    snprintf(name, sizeof name, "max_pool %s %-28s B=%u %ux%ux%u -> %ux%u k%u/%u pads %u,%u,%u,%u",
             f16 ? "fp16" : "fp32", c->what, c->batch, c->H, c->W, c->C, Ho, Wo, c->k, c->stride, a.pad_top,
             a.pad_left, a.pad_bottom, a.pad_right);
    if (nan_at == SIZE_MAX) {
        test_check(name, out, ref, ny, 0.0);
    } else {
        size_t wrong = 0, nans = 0;
        for (size_t i = 0; i < ny; i++) {
            nans += isnan(ref[i]);
            wrong += isnan(ref[i]) ? !isnan(out[i]) : out[i] != ref[i];
        }
        test_expect(wrong == 0 && nans > 0, "%s, a NaN at %zu: %zu of %zu outputs differ (%zu NaN windows)", name,
                    nan_at, wrong, ny, nans);
    }
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x), free(out), free(ref);
}

static void check_refusals(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 1024);
    /* 8x8x4 -> 4x4x4, 3x3/2 SAME (pads 0, 1) */
    const max_pool_args good = {
        .batch = 1, .C = 4, .H = 8, .W = 8, .k = 3, .stride = 2, .pad_bottom = 1, .pad_right = 1,
        .x = vk_whole(&b), .y = vk_whole(&b),
    };
    max_pool_args f16 = good;
    f16.dtype = OP_F16;
    test_refuses_fp16(ctx, "max_pool", test_record_max_pool, &f16);
    struct {
        const char *what;
        max_pool_args a;
    } bad[] = {{"stride 0", good}, {"window 0", good}, {"C 0", good}, {"a pad as large as the window", good},
               {"a window larger than the padded input", good}, {"an x span too small", good},
               {"a y span too small", good}, {"no y", good}};
    bad[0].a.stride = 0;
    bad[1].a.k = 0;
    bad[2].a.C = 0;
    bad[3].a.pad_left = 3;
    bad[4].a.H = 1, bad[4].a.pad_bottom = 0;
    bad[5].a.x.size = 8 * 8 * 4 * 4 - 4;
    bad[6].a.y.size = 4 * 4 * 4 * 4 - 4;
    bad[7].a.y = (vk_span){0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "max_pool", test_record_max_pool, &bad[i].a, bad[i].what, "max_pool:");
    test_expect(test_record_status(ctx, test_record_max_pool, &good) == VKVIT_OK,
                "max_pool accepts the valid arguments");
    vk_buffer_destroy(ctx, &b);
}

int main(int argc, char **argv)
{
    const bool real = argc > 1 && strcmp(argv[1], "real") == 0;
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    const pool_case *cases = real ? real_cases : small_cases;
    const size_t n = real ? sizeof real_cases / sizeof *real_cases : sizeof small_cases / sizeof *small_cases;
    const bool fp16 = test_fp16(ctx);
    for (size_t i = 0; i < n; i++) {
        run_case(ctx, &cases[i], OP_F32, SIZE_MAX, &rng);
        if (fp16)
            run_case(ctx, &cases[i], OP_F16, SIZE_MAX, &rng);
    }
    if (!real) {
        /* a NaN inside the grid of the first case (vec4 path) and of the second (scalar path) */
        run_case(ctx, &small_cases[0], OP_F32, 5 * 11 * 8 + 3 * 8 + 2, &rng);
        run_case(ctx, &small_cases[1], OP_F32, 6 * 11 * 7 + 4 * 7 + 6, &rng);
        if (fp16)
            run_case(ctx, &small_cases[0], OP_F16, 5 * 11 * 8 + 3 * 8 + 2, &rng);
        check_refusals(ctx);
    }
    return test_finish(ctx);
}
