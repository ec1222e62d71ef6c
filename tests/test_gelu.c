/* GELU (exact erf form and tanh approximation) against the double-precision reference, in fp32 and
 * in fp16 storage (dtype OP_F16). */
#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vkvit_status record(vk_cmd *cmd, vkvit_context *ctx, const void *arg)
{
    return op_gelu(cmd, ctx, arg);
}

static void check(vkvit_context *ctx, uint32_t n, int tanh_approx, float lo, float hi, uint64_t *rng)
{
    float *x = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    test_fill(x, n, rng, lo, hi);
    ref_gelu(x, ref, n, tanh_approx);
    vk_buffer bx = test_upload(ctx, x, n), by = test_upload(ctx, NULL, n);
    test_poison(ctx, &by);
    gelu_args a = {.n = n, .tanh_approx = tanh_approx, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, record, &a);
    test_download(ctx, &by, out, n);
    char name[128];
    snprintf(name, sizeof name, "gelu %s n=%u range [%g, %g]", tanh_approx ? "tanh" : "erf", n, lo, hi);
    test_check(name, out, ref, n, TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x);
    free(out);
    free(ref);
}

/* Every element individually near 1 ulp-ish of the reference, including the tails where
 * 1 + erf(x) cancels: a norm-wise check alone would hide a bad tail. */
static void check_pointwise(vkvit_context *ctx, int tanh_approx)
{
    enum { N = 4001 };
    float x[N], out[N], ref[N];
    for (int i = 0; i < N; i++)
        x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    ref_gelu(x, ref, N, tanh_approx);
    vk_buffer bx = test_upload(ctx, x, N), by = test_upload(ctx, NULL, N);
    test_poison(ctx, &by);
    gelu_args a = {.n = N, .tanh_approx = tanh_approx, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, record, &a);
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
     * fp32 before exp(-2u), as every fp32 implementation does. Near 0 and for |x| < 6 the error
     * is ~1e-7. */
    double bound = tanh_approx ? 3e-5 : 1e-5;
    test_expect(worst < bound, "gelu %s pointwise on [-20, 20]: worst relative error %.2e at x=%g "
                "(out %g, ref %g, bound %.0e)", tanh_approx ? "tanh" : "erf", worst, x[worst_i], out[worst_i], ref[worst_i], bound);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
}

/* fp16: x and y as halves, gelu evaluated in fp32. x is rounded to fp16 first so the double
 * reference starts from exactly the GPU's inputs; the output rounding (2^-11 relative) is what the
 * comparison at TOL_F16 sees. y is poisoned with fp16 NaNs in both halves of every word. */
static void check_f16(vkvit_context *ctx, uint32_t n, int tanh_approx, float lo, float hi, uint64_t *rng)
{
    float *x = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    test_fill(x, n, rng, lo, hi);
    test_round_f16(x, n);
    ref_gelu(x, ref, n, tanh_approx);
    vk_buffer bx = test_upload_f16(ctx, x, n), by = test_upload_f16(ctx, NULL, n);
    test_poison_f16(ctx, &by);
    gelu_args a = {.n = n, .tanh_approx = tanh_approx, .x = vk_whole(&bx), .y = vk_whole(&by), .dtype = OP_F16};
    test_run(ctx, record, &a);
    test_download_f16(ctx, &by, out, n);
    char name[128];
    snprintf(name, sizeof name, "gelu fp16 %s n=%u range [%g, %g]", tanh_approx ? "tanh" : "erf", n, lo, hi);
    /* Norm-wise at TOL_F16, except where every result is below fp16's resolution: gelu(x) for
     * x < -5.3 is under 6e-8, the smallest fp16 subnormal, so a lone such element (n = 1) can only be
     * stored as 0 or +-6e-8. An error within one subnormal step (2^-24) is then exact as fp16 goes. */
    test_cmp cmp = test_compare(out, ref, n);
    if (cmp.finite && cmp.rel > TOL_F16 && cmp.max_abs <= 0x1p-24)
        test_expect(true, "%s: rel=%.3e max_abs=%.3e (results below fp16 resolution: within one subnormal "
                    "step 2^-24)", name, cmp.rel, cmp.max_abs);
    else
        test_check(name, out, ref, n, TOL_F16);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x);
    free(out);
    free(ref);
}

/* op_gelu refuses OP_F16 with UNSUPPORTED naming the missing features when ctx->fp16 is off. */
static void check_f16_refused(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 16);
    vk_cmd *cmd = NULL;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "vk_cmd_create");
    test_ok(vk_cmd_begin(cmd), "vk_cmd_begin");
    gelu_args a = {.n = 16, .x = vk_whole(&b), .y = vk_whole(&b), .dtype = OP_F16};
    vkvit_status s = op_gelu(cmd, ctx, &a);
    test_expect(s == VKVIT_ERROR_UNSUPPORTED && strstr(vkvit_last_error(), "shaderFloat16") &&
                    strstr(vkvit_last_error(), "storageBuffer16BitAccess"),
                "gelu refuses fp16 without fp16 support (%s: %s)", vkvit_status_string(s), vkvit_last_error());
    test_ok(vk_cmd_end(cmd), "vk_cmd_end");
    vk_cmd_destroy(cmd);
    vk_buffer_destroy(ctx, &b);
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    const uint32_t sizes[] = {1, 2, 3, 7, 13, 197, 257, 1023, 197 * 3072, 3 * 197 * 3072 + 5};
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            check(ctx, sizes[i], t, -6.0f, 6.0f, &rng);
        check(ctx, 4099, t, -1e-3f, 1e-3f, &rng);
        check(ctx, 4099, t, -40.0f, 40.0f, &rng);
        check_pointwise(ctx, t);
    }

    /* fp16. A device without the features passes only if ctx->info really says it lacks them. */
    if (!test_fp16(ctx)) {
        check_f16_refused(ctx);
    } else {
        const uint32_t sizes_f16[] = {1, 7, 197 * 3072};
        for (int t = 0; t < 2; t++)
            for (size_t i = 0; i < sizeof sizes_f16 / sizeof *sizes_f16; i++) {
                check_f16(ctx, sizes_f16[i], t, -6.0f, 6.0f, &rng);
                check_f16(ctx, sizes_f16[i], t, -1e-3f, 1e-3f, &rng);
            }
        ctx->fp16 = false;
        check_f16_refused(ctx);
        ctx->fp16 = true;
    }
    return test_finish(ctx);
}
