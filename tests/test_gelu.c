/* GELU (exact erf form, tanh approximation, and OpenAI CLIP's quick GELU) against the double-precision
 * reference, in fp32 and in fp16 storage (dtype OP_F16). */
#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n elements, x ~ U(lo, hi). */
typedef struct gelu_case {
    uint32_t n;
    float lo, hi;
} gelu_case;

/* fp32: awkward sizes, ViT-B's MLP activations (batch 1, and batch 3 plus a ragged end), arguments near
 * 0 and far out in the tails. */
static const gelu_case cases[] = {
    {1, -6.0f, 6.0f},   {2, -6.0f, 6.0f},   {3, -6.0f, 6.0f},   {7, -6.0f, 6.0f},
    {13, -6.0f, 6.0f},  {197, -6.0f, 6.0f}, {257, -6.0f, 6.0f}, {1023, -6.0f, 6.0f},
    {197 * 3072, -6.0f, 6.0f},
    {3 * 197 * 3072 + 5, -6.0f, 6.0f},
    {4099, -1e-3f, 1e-3f},
    {4099, -40.0f, 40.0f},
};

/* fp16: x and y as halves, gelu evaluated in fp32. */
static const gelu_case cases_f16[] = {
    {1, -6.0f, 6.0f},          {1, -1e-3f, 1e-3f},
    {7, -6.0f, 6.0f},          {7, -1e-3f, 1e-3f},
    {197 * 3072, -6.0f, 6.0f}, {197 * 3072, -1e-3f, 1e-3f},
};

static const char *const form_names[3] = {"erf", "tanh", "quick"};

/* One case in `t`. For fp16, x is rounded to fp16 first so the double reference starts from exactly
 * the GPU's inputs; the output rounding (2^-11 relative) is what the comparison at TOL_F16 sees. y is
 * poisoned (with fp16 NaNs in both halves of every word for fp16). */
static void check(vkvit_context *ctx, const gelu_case *c, int form, op_dtype t, uint64_t *rng)
{
    const uint32_t n = c->n;
    const bool f16 = t == OP_F16;
    float *x = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    test_fill(x, n, rng, c->lo, c->hi);
    if (f16)
        test_round_f16(x, n);
    ref_gelu(x, ref, n, form);
    vk_buffer bx = test_upload_as(ctx, t, x, n), by = test_poisoned(ctx, t, n);
    gelu_args a = {.n = n, .tanh_approx = form == 1, .quick = form == 2, .x = vk_whole(&bx), .y = vk_whole(&by),
                   .dtype = t};
    test_run(ctx, test_record_gelu, &a);
    test_download_as(ctx, t, &by, out, n);
    char name[128];
    snprintf(name, sizeof name, "gelu%s %s n=%u range [%g, %g]", f16 ? " fp16" : "", form_names[form], n, c->lo,
             c->hi);
    /* fp16: norm-wise at TOL_F16, except where every result is below fp16's resolution: gelu(x) for
     * x < -5.3 is under 6e-8, the smallest fp16 subnormal, so a lone such element (n = 1) can only be
     * stored as 0 or +-6e-8. An error within one subnormal step (2^-24) is then exact as fp16 goes. */
    test_cmp cmp = test_compare(out, ref, n);
    if (f16 && cmp.finite && cmp.rel > TOL_F16 && cmp.max_abs <= 0x1p-24)
        test_expect(true, "%s: rel=%.3e max_abs=%.3e (results below fp16 resolution: within one subnormal "
                    "step 2^-24)", name, cmp.rel, cmp.max_abs);
    else
        test_check(name, out, ref, n, f16 ? TOL_F16 : TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x);
    free(out);
    free(ref);
}

/* Every element individually near 1 ulp-ish of the reference, including the tails where
 * 1 + erf(x) cancels: a norm-wise check alone would hide a bad tail. */
static void check_pointwise(vkvit_context *ctx, int form)
{
    enum { N = 4001 };
    float x[N], out[N], ref[N];
    for (int i = 0; i < N; i++)
        x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    ref_gelu(x, ref, N, form);
    vk_buffer bx = test_upload(ctx, x, N), by = test_poisoned(ctx, OP_F32, N);
    gelu_args a = {.n = N, .tanh_approx = form == 1, .quick = form == 2, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, test_record_gelu, &a);
    test_download(ctx, &by, out, N);
    double worst = 0;
    int worst_i = 0;
    for (int i = 0; i < N; i++) {
        /* relative error where the value is representable, absolute near zero */
        double e = fabs((double)out[i] - ref[i]) / fmax(fabs(ref[i]), 1e-30);
        if (!(e <= worst)) {
            worst = e;
            worst_i = i;
        }
    }
    /* Relative to each value, down to 1e-30: GLSL only promises exp() to 3 + 2|x| ulp, which is
     * ~1e-5 at the arguments (~ -66) of the far tail; tanh also rounds u = c (x + 0.044715 x^3) to
     * fp32 before exp(-2u), as every fp32 implementation does; quick GELU's exp(-1.702 x) reaches 34 at
     * x = -20. Near 0 and for |x| < 6 the error is ~1e-7. */
    double bound = form ? 3e-5 : 1e-5;
    test_expect(worst < bound, "gelu %s pointwise on [-20, 20]: worst relative error %.2e at x=%g "
                "(out %g, ref %g, bound %.0e)", form_names[form], worst, x[worst_i], out[worst_i],
                ref[worst_i], bound);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    for (int form = 0; form < 3; form++) {
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            check(ctx, &cases[i], form, OP_F32, &rng);
        check_pointwise(ctx, form);
    }

    /* fp16. A device without the features passes only if ctx->info really says it lacks them. */
    if (test_fp16(ctx))
        for (int form = 0; form < 3; form++)
            for (size_t i = 0; i < sizeof cases_f16 / sizeof *cases_f16; i++)
                check(ctx, &cases_f16[i], form, OP_F16, &rng);
    vk_buffer b = test_upload(ctx, NULL, 16);
    const gelu_args f16 = {.n = 16, .x = vk_whole(&b), .y = vk_whole(&b), .dtype = OP_F16};
    test_refuses_fp16(ctx, "gelu", test_record_gelu, &f16);
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
