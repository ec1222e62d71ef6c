/* op_group_norm against ref_group_norm (double, two-pass) on fresh random NHWC data, fp32 (bound 1e-5) and
 * fp16 (3e-3), outputs poisoned first, with both reductions (shared memory, subgroup) and both dispatch
 * shapes (lavapipe's one-subgroup workgroups, the GPUs' 256):
 *   (default)  awkward shapes: 1 and 2 channels per group (scalar path), one group, one pixel, 13x11
 *              pixels, the residual + ReLU epilogue, in place (y = x, y = r), a large mean (stability),
 *              constant groups (variance 0), eps 1e-6 and 0; refusals.
 *   real       the R50+ViT stem's GroupNorms at 224 px, batch 1 and 2 (meson suite 'slow').
 * ./test_group_norm [real] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

typedef enum gn_alias { ALIAS_NONE, ALIAS_X, ALIAS_R } gn_alias;   /* y written over x, or over r */

typedef struct gn_case {
    const char *what;
    uint32_t batch, HW, C, G;
    float eps;
    int relu, residual;
    float mean, half_range;        /* x ~ U(mean - half_range, mean + half_range); 0 range: constant groups */
    gn_alias alias;
} gn_case;

static const gn_case small_cases[] = {
    {"C 64 G 32 (2 per group)", 1, 13 * 11, 64, 32, 1e-5f, 1, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"C 256 G 32 +res", 2, 7 * 7, 256, 32, 1e-5f, 1, 1, 0.5f, 2.0f, ALIAS_NONE},
    {"C 12 G 3, no ReLU", 1, 7, 12, 3, 1e-5f, 0, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"C 7 G 7 (1 per group)", 2, 5, 7, 7, 1e-6f, 1, 1, 0.0f, 2.0f, ALIAS_NONE},
    {"C 6 G 1, one pixel", 1, 1, 6, 1, 1e-5f, 0, 1, 0.0f, 2.0f, ALIAS_NONE},
    {"C 64 G 32, one pixel", 2, 1, 64, 32, 1e-5f, 0, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"C 1024 G 32, 3 pixels", 1, 3, 1024, 32, 0.0f, 0, 1, 0.0f, 2.0f, ALIAS_NONE},
    {"in place y = x", 2, 13 * 11, 32, 8, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_X},
    {"in place y = r", 1, 9, 64, 32, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_R},
    {"mean 1e4", 1, 7 * 7, 64, 32, 1e-5f, 0, 0, 1e4f, 1.7f, ALIAS_NONE},
    {"mean -1e4 C 256", 1, 13, 256, 32, 1e-6f, 0, 1, -1e4f, 1.7f, ALIAS_NONE},
    {"constant groups", 1, 25, 64, 32, 1e-5f, 0, 1, 3.7f, 0.0f, ALIAS_NONE},
};

/* fp16 keeps 11 bits: a mean of 1e3 instead of 1e4 (its spacing there is 0.5, still a spread to resolve). */
static const gn_case small_cases_f16[] = {
    {"C 64 G 32 (2 per group)", 1, 13 * 11, 64, 32, 1e-5f, 1, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"C 256 G 32 +res", 2, 7 * 7, 256, 32, 1e-5f, 1, 1, 0.5f, 2.0f, ALIAS_NONE},
    {"C 7 G 7 (1 per group)", 2, 5, 7, 7, 1e-6f, 1, 1, 0.0f, 2.0f, ALIAS_NONE},
    {"in place y = x", 2, 13 * 11, 32, 8, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_X},
    {"mean 1e3", 1, 7 * 7, 64, 32, 1e-5f, 0, 0, 1e3f, 1.7f, ALIAS_NONE},
    {"constant groups", 1, 25, 64, 32, 1e-5f, 0, 1, 3.7f, 0.0f, ALIAS_NONE},
};

/* timm vit_base_r50_s16_224: GroupNormAct(32 groups, eps 1e-5); norm3 of each unit takes the shortcut, ReLU after. */
static const gn_case real_cases[] = {
    {"stem 64 @112", 1, 112 * 112, 64, 32, 1e-5f, 1, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"stage1 256 @56 +res", 2, 56 * 56, 256, 32, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_NONE},
    {"stage2 512 @28 +res", 2, 28 * 28, 512, 32, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_R},
    {"stage3 256 @14", 2, 14 * 14, 256, 32, 1e-5f, 1, 0, 0.0f, 2.0f, ALIAS_NONE},
    {"stage3 1024 @14 +res", 2, 14 * 14, 1024, 32, 1e-5f, 1, 1, 0.0f, 2.0f, ALIAS_NONE},
};

static void run_case(vkvit_context *ctx, const gn_case *c, op_dtype t, const char *variant, uint64_t *rng)
{
    const bool f16 = t == OP_F16;
    const size_t n = (size_t)c->batch * c->HW * c->C;
    float *x = test_alloc(n), *r = test_alloc(n), *gamma = test_alloc(c->C), *beta = test_alloc(c->C),
          *out = test_alloc(n), *ref = test_alloc(n);
    if (c->half_range > 0.0f) {
        test_fill(x, n, rng, c->mean - c->half_range, c->mean + c->half_range);
    } else {   /* each group one value */
        const uint32_t cg = c->C / c->G;
        for (size_t i = 0; i < n; i++)
            x[i] = c->mean + (float)((i % c->C) / cg);
    }
    test_fill(r, n, rng, -1.0f, 1.0f);
    test_fill(gamma, c->C, rng, -1.5f, 1.5f);
    test_fill(beta, c->C, rng, -0.5f, 0.5f);
    if (f16) {
        test_round_f16(x, n);
        test_round_f16(r, n);
        test_round_f16(gamma, c->C);
        test_round_f16(beta, c->C);
    }
    ref_group_norm(x, gamma, beta, c->residual ? r : NULL, ref, c->batch, c->HW, c->C, c->G, c->eps, c->relu);

    vk_buffer bx = test_upload_as(ctx, t, x, n), br = test_upload_as(ctx, t, r, n),
              bg = test_upload_as(ctx, t, gamma, c->C), bb = test_upload_as(ctx, t, beta, c->C),
              by = test_poisoned(ctx, t, n);
    vk_buffer *into = c->alias == ALIAS_X ? &bx : c->alias == ALIAS_R ? &br : &by;
    group_norm_args a = {
        .batch = c->batch, .HW = c->HW, .C = c->C, .groups = c->G, .eps = c->eps, .relu = c->relu,
        .x = vk_whole(&bx), .gamma = vk_whole(&bg), .beta = vk_whole(&bb), .y = vk_whole(into), .dtype = t,
    };
    if (c->residual)
        a.residual = vk_whole(&br);
    test_run(ctx, test_record_group_norm, &a);
    test_download_as(ctx, t, into, out, n);

    char name[160];
    snprintf(name, sizeof name, "group_norm %s %-10s %-24s B=%u HW=%-5u C=%-4u G=%-2u%s%s", f16 ? "fp16" : "fp32",
             variant, c->what, c->batch, c->HW, c->C, c->G, c->residual ? " +res" : "", c->relu ? " relu" : "");
    test_check(name, out, ref, n, f16 ? TOL_F16 : TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &br);
    vk_buffer_destroy(ctx, &bg);
    vk_buffer_destroy(ctx, &bb);
    vk_buffer_destroy(ctx, &by);
    free(x), free(r), free(gamma), free(beta), free(out), free(ref);
}

/* Every case with both reductions (where the device has subgroup arithmetic) and both dispatch shapes:
 * op_group_norm follows ctx->subgroup_arith and ctx->info.type, flipped here as test_layernorm does. */
static void run_table(vkvit_context *ctx, const gn_case *cases, size_t n, op_dtype t, uint64_t *rng)
{
    const bool has_sg = ctx->subgroup_arith;
    const vkvit_device_type type = ctx->info.type;
    for (int v = 0; v < (has_sg ? 4 : 2); v++) {
        ctx->subgroup_arith = v & 2;
        ctx->info.type = v & 1 ? VKVIT_DEVICE_DISCRETE_GPU : VKVIT_DEVICE_CPU;
        char variant[16];
        snprintf(variant, sizeof variant, "%s/%s", v & 2 ? "sg" : "shared", v & 1 ? "gpu" : "cpu");
        for (size_t i = 0; i < n; i++)
            run_case(ctx, &cases[i], t, variant, rng);
    }
    ctx->subgroup_arith = has_sg;
    ctx->info.type = type;
}

static void check_refusals(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 1024);
    const group_norm_args good = {
        .batch = 2, .HW = 8, .C = 64, .groups = 32, .eps = 1e-5f, .x = vk_whole(&b), .gamma = vk_whole(&b),
        .beta = vk_whole(&b), .y = vk_whole(&b),
    };
    group_norm_args f16 = good;
    f16.dtype = OP_F16;
    test_refuses_fp16(ctx, "group_norm", test_record_group_norm, &f16);
    struct {
        const char *what;
        group_norm_args a;
    } bad[] = {{"0 groups", good}, {"groups not dividing C", good}, {"batch 0", good}, {"HW 0", good},
               {"eps NaN", good}, {"eps < 0", good}, {"an x span too small", good}, {"a y span too small", good},
               {"a gamma span too small", good}, {"a residual span too small", good}, {"no beta", good}};
    bad[0].a.groups = 0;
    bad[1].a.groups = 24;
    bad[2].a.batch = 0;
    bad[3].a.HW = 0;
    bad[4].a.eps = NAN;
    bad[5].a.eps = -1e-5f;
    bad[6].a.x.size = 4096 - 4;
    bad[7].a.y.size = 4096 - 4;
    bad[8].a.gamma.size = 63 * 4;
    bad[9].a.residual = vk_span_of(&b, 0, 4096 - 4);
    bad[10].a.beta = (vk_span){0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "group_norm", test_record_group_norm, &bad[i].a, bad[i].what, "group_norm:");
    test_expect(test_record_status(ctx, test_record_group_norm, &good) == VKVIT_OK,
                "group_norm accepts the valid arguments");
    vk_buffer_destroy(ctx, &b);
}

int main(int argc, char **argv)
{
    const bool real = argc > 1 && strcmp(argv[1], "real") == 0;
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    if (!ctx->subgroup_arith)
        printf("note: device lacks subgroup arithmetic; testing the shared-memory variant only\n");
    const bool fp16 = test_fp16(ctx);
    if (real) {
        run_table(ctx, real_cases, sizeof real_cases / sizeof *real_cases, OP_F32, &rng);
        if (fp16)
            run_table(ctx, real_cases, sizeof real_cases / sizeof *real_cases, OP_F16, &rng);
    } else {
        run_table(ctx, small_cases, sizeof small_cases / sizeof *small_cases, OP_F32, &rng);
        if (fp16)
            run_table(ctx, small_cases_f16, sizeof small_cases_f16 / sizeof *small_cases_f16, OP_F16, &rng);
        check_refusals(ctx);
    }
    return test_finish(ctx);
}
