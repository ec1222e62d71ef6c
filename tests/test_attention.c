/* Fused attention (both kernels: shared-memory and subgroup) and the class-token probabilities
 * against the double-precision reference, on fresh random data per case. */
#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kernel_name(attention_kernel k)
{
    return k == ATTENTION_SHARED ? "shared" : k == ATTENTION_SUBGROUP ? "subgroup" : "auto";
}

/* How q, k, v are drawn. */
typedef enum fill_kind {
    FILL_UNIFORM,   /* uniform in [-1, 1] */
    FILL_INT4,      /* integers in [-4, 4]: with scale 1 the scores are exact in fp32 and ~50-150 */
    FILL_INT8,      /* integers in [-8, 8]: scores in the hundreds, softmax all but one-hot */
} fill_kind;

static void fill_qkv(float *x, size_t n, uint64_t *rng, fill_kind kind)
{
    if (kind == FILL_UNIFORM) {
        test_fill(x, n, rng, -1.0f, 1.0f);
        return;
    }
    const float r = kind == FILL_INT4 ? 4.0f : 8.0f;
    for (size_t i = 0; i < n; i++)
        x[i] = floorf(test_uniform(rng, -r, r + 1.0f));
}

typedef struct attn_case {
    uint32_t B, T, H, dh;
    float scale;      /* 0 = 1/sqrt(dh) */
    bool probs;
    fill_kind fill;
    op_dtype dtype;   /* OP_F16: qkv, out and probs stored as halves */
} attn_case;

/* Shapes for both kernels: the ViT-B block, tiny and long sequences, every supported kind of
 * head dim (dh % 4 != 0 takes the scalar path), few and many heads, large scores. */
static const attn_case cases[] = {
    {1, 197, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F32},    /* ViT-B/16 at 224 px */
    {3, 197, 12, 64, 0.0f, false, FILL_UNIFORM, OP_F32},
    {1, 1, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F32},
    {2, 2, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 7, 3, 64, 0.0f, false, FILL_UNIFORM, OP_F32},
    {1, 257, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 577, 2, 64, 0.0f, true, FILL_UNIFORM, OP_F32},    /* ViT at 384 px */
    {1, 65, 6, 32, 0.0f, false, FILL_UNIFORM, OP_F32},
    {2, 50, 4, 80, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 130, 3, 128, 0.0f, true, FILL_UNIFORM, OP_F32},
    {2, 31, 3, 17, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 13, 2, 1, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 33, 1, 64, 0.0f, true, FILL_UNIFORM, OP_F32},
    {1, 100, 16, 64, 0.0f, false, FILL_UNIFORM, OP_F32},
    {2, 197, 3, 64, 1.0f, true, FILL_INT4, OP_F32},       /* scores of magnitude ~50-150 */
    {1, 64, 2, 64, 1.0f, true, FILL_INT8, OP_F32},        /* hundreds: exp() would overflow unshifted */
    {1, 1, 1, 64, 1.0f, true, FILL_INT8, OP_F32},
};

/* fp16 storage, fp32 math: inputs rounded to halves, outputs compared at TOL_F16. */
static const attn_case cases_f16[] = {
    {1, 197, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F16},
    {2, 197, 12, 64, 0.0f, false, FILL_UNIFORM, OP_F16},
    {1, 1, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F16},
    {1, 7, 3, 64, 0.0f, false, FILL_UNIFORM, OP_F16},
    {1, 257, 12, 64, 0.0f, true, FILL_UNIFORM, OP_F16},
    {1, 65, 6, 32, 0.0f, true, FILL_UNIFORM, OP_F16},
    {2, 50, 4, 80, 0.0f, true, FILL_UNIFORM, OP_F16},
    {2, 31, 3, 17, 0.0f, true, FILL_UNIFORM, OP_F16},   /* scalar path */
    {1, 33, 3, 64, 0.0f, false, FILL_UNIFORM, OP_F16},
    {1, 9, 70, 8, 0.0f, true, FILL_UNIFORM, OP_F16},    /* cls_probs heads in two chunks (64 + 6) */
};

/* Runs one case on the GPU with the given kernel; out [B][T][H*dh] and, if c->probs, probs [B][T]
 * come back in the caller's arrays. */
static void gpu_attention(vkvit_context *ctx, attention_kernel kernel, const attn_case *c, const float *qkv,
                          float *out, float *probs)
{
    const size_t nq = (size_t)c->B * c->T * 3 * c->H * c->dh, no = (size_t)c->B * c->T * c->H * c->dh;
    const size_t np = (size_t)c->B * c->T;
    const op_dtype t = c->dtype;
    vk_buffer bq = test_upload_as(ctx, t, qkv, nq), bo = test_poisoned(ctx, t, no), bp = {0};
    if (c->probs)
        bp = test_poisoned(ctx, t, np);
    attention_args a = {.batch = c->B, .T = c->T, .H = c->H, .dh = c->dh, .scale = c->scale,
                        .qkv = vk_whole(&bq), .out = vk_whole(&bo), .dtype = t, .kernel = kernel};
    if (c->probs)
        a.cls_probs = vk_whole(&bp);
    test_run(ctx, test_record_attention, &a);
    test_download_as(ctx, t, &bo, out, no);
    if (c->probs)
        test_download_as(ctx, t, &bp, probs, np);
    vk_buffer_destroy(ctx, &bq);
    vk_buffer_destroy(ctx, &bo);
    vk_buffer_destroy(ctx, &bp);
}

static void check_case(vkvit_context *ctx, attention_kernel kernel, const attn_case *c, uint64_t *rng)
{
    const size_t nq = (size_t)c->B * c->T * 3 * c->H * c->dh, no = (size_t)c->B * c->T * c->H * c->dh;
    const size_t np = (size_t)c->B * c->T;
    float *qkv = test_alloc(nq), *out = test_alloc(no), *ref = test_alloc(no);
    float *probs = test_alloc(np), *ref_probs = test_alloc(np);
    fill_qkv(qkv, nq, rng, c->fill);
    const bool f16 = c->dtype == OP_F16;
    if (f16)
        test_round_f16(qkv, nq);   /* the reference starts from exactly the halves the GPU reads */
    const double tol = f16 ? TOL_F16 : TOL_F32;
    ref_attention(qkv, ref, c->probs ? ref_probs : NULL, c->B, c->T, c->H, c->dh, c->scale);
    gpu_attention(ctx, kernel, c, qkv, out, probs);

    char name[160];
    snprintf(name, sizeof name, "attention%s %-8s B=%u T=%u H=%u dh=%u%s%s%s", f16 ? " fp16" : "",
             kernel_name(kernel), c->B, c->T, c->H, c->dh, c->scale != 0.0f ? " scale=1" : "",
             c->fill == FILL_INT4 ? " scores~1e2" : c->fill == FILL_INT8 ? " scores~1e3" : "",
             c->probs ? " +probs" : "");
    test_check(name, out, ref, no, tol);
    if (c->probs) {
        char pname[200];
        snprintf(pname, sizeof pname, "%s: cls_probs", name);
        test_check(pname, probs, ref_probs, np, tol);
        double worst = 0;
        for (uint32_t b = 0; b < c->B; b++) {
            double sum = 0;
            for (uint32_t j = 0; j < c->T; j++)
                sum += probs[(size_t)b * c->T + j];
            if (!(fabs(sum - 1.0) <= worst))
                worst = fabs(sum - 1.0);
        }
        /* fp16: each stored probability is rounded once (<= 2^-12 relative; twice past 64 heads),
         * so the row sum is off by at most ~2.4e-4 (4.9e-4) */
        test_expect(worst < (f16 ? 1e-3 : 1e-5), "%s: cls_probs rows sum to 1 (worst |sum - 1| = %.2e)", name,
                    worst);
    }
    free(qkv);
    free(out);
    free(ref);
    free(probs);
    free(ref_probs);
}

/* Each batch element alone gives bit-for-bit what it gives inside a batch of 3 whose other
 * elements are scaled up 8x (they would dominate any score they leaked into). */
static void check_batch_isolation(vkvit_context *ctx, attention_kernel kernel, uint64_t *rng)
{
    const attn_case c3 = {3, 65, 4, 64, 0.0f, true, FILL_UNIFORM, OP_F32};
    const attn_case c1 = {1, 65, 4, 64, 0.0f, true, FILL_UNIFORM, OP_F32};
    const size_t nq1 = (size_t)65 * 3 * 4 * 64, no1 = (size_t)65 * 4 * 64;
    float *qkv = test_alloc(3 * nq1), *out = test_alloc(3 * no1), *probs = test_alloc(3 * 65);
    float *out1 = test_alloc(no1), *probs1 = test_alloc(65);
    fill_qkv(qkv, 3 * nq1, rng, FILL_UNIFORM);
    for (size_t i = 0; i < nq1; i++) {
        qkv[i] *= 8.0f;
        qkv[2 * nq1 + i] *= 8.0f;
    }
    gpu_attention(ctx, kernel, &c3, qkv, out, probs);
    gpu_attention(ctx, kernel, &c1, qkv + nq1, out1, probs1);
    test_expect(memcmp(out + no1, out1, no1 * sizeof(float)) == 0 &&
                    memcmp(probs + 65, probs1, 65 * sizeof(float)) == 0,
                "attention %s: batch element 1 of 3 matches the same element run alone, bit for bit",
                kernel_name(kernel));
    free(qkv);
    free(out);
    free(probs);
    free(out1);
    free(probs1);
}

/* Bad arguments: refused with INVALID_ARGUMENT before anything is recorded. */
static void check_bad_arguments(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 3 * 7 * 2 * 16);
    const attention_args good = {.batch = 1, .T = 7, .H = 2, .dh = 16, .qkv = vk_whole(&b), .out = vk_whole(&b)};
    struct {
        const char *what;
        attention_args a;
    } bad[] = {
        {"T = 0", good}, {"H = 0", good}, {"dh = 0", good}, {"dh = 129", good}, {"batch = 0", good},
        {"qkv span too small", good}, {"out span too small", good}, {"cls_probs span too small", good},
        {"scale NaN", good}, {"unknown dtype", good}, {"unknown kernel", good},
    };
    bad[0].a.T = 0;
    bad[1].a.H = 0;
    bad[2].a.dh = 0;
    bad[3].a.dh = 129;
    bad[4].a.batch = 0;
    bad[5].a.qkv.size -= 4;
    bad[6].a.out = vk_span_of(&b, 0, 7 * 2 * 16 * 4 - 4);
    bad[7].a.cls_probs = vk_span_of(&b, 0, 6 * 4);
    bad[8].a.scale = NAN;
    bad[9].a.dtype = (op_dtype)7;
    bad[10].a.kernel = (attention_kernel)7;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "attention", test_record_attention, &bad[i].a, bad[i].what, NULL);
    test_ok(test_record_status(ctx, test_record_attention, &good), "attention with good arguments");
    /* fp16: spans are measured in halves (the fp32-sized buffer holds twice what it needs); refused
     * as unsupported, not invalid, on a device without fp16 storage and arithmetic. */
    attention_args h = good;
    h.dtype = OP_F16;
    vkvit_status s = test_record_status(ctx, test_record_attention, &h);
    test_expect(s == (ctx->fp16 ? VKVIT_OK : VKVIT_ERROR_UNSUPPORTED), "attention fp16 with good arguments: %s "
                "(device fp16 %d)", vkvit_status_string(s), (int)ctx->fp16);
    if (ctx->fp16) {
        h.qkv = vk_span_of(&b, 0, 3 * 7 * 2 * 16 * 2 - 2);
        test_refuses(ctx, "attention", test_record_attention, &h, "an fp16 qkv span one half short", NULL);
    }
    vk_buffer_destroy(ctx, &b);
}

/* Whether the device runs the kernel: the subgroup one needs 8 or more lanes with shuffles. */
static bool kernel_runs(const vkvit_context *ctx, attention_kernel k)
{
    const uint32_t shuffle = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    return k != ATTENTION_SUBGROUP ||
           (ctx->info.subgroup_size >= 8 && (ctx->info.subgroup_ops & shuffle) == shuffle);
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    check_bad_arguments(ctx);

    const attention_kernel kernels[] = {ATTENTION_SUBGROUP, ATTENTION_SHARED};
    for (size_t k = 0; k < 2; k++) {
        if (!kernel_runs(ctx, kernels[k])) {
            printf("note attention subgroup kernel not supported here (subgroup size %u, ops 0x%x)\n",
                   ctx->info.subgroup_size, ctx->info.subgroup_ops);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            check_case(ctx, kernels[k], &cases[i], &rng);
        check_batch_isolation(ctx, kernels[k], &rng);
    }
    check_case(ctx, ATTENTION_AUTO, &cases[0], &rng);   /* ViT-B through the kernel the op picks */

    if (test_fp16(ctx))
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; kernel_runs(ctx, kernels[k]) && i < sizeof cases_f16 / sizeof *cases_f16; i++)
                check_case(ctx, kernels[k], &cases_f16[i], &rng);
    return test_finish(ctx);
}
