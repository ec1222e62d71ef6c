/* The patch-embedding input ops (src/ops/patch_embed.c) against their C references on fresh random data:
 * patchify (im2col of [B][C][S][W] into [B*G*Gw][C*P*P], square and not) and tokens (class/distillation tokens,
 * register tokens + patch embeddings + position embeddings), at ViT shapes and awkward ones; their fp16 variants
 * (halves out of patchify, halves throughout tokens), and widen (fp16 results -> fp32 outputs). Also
 * token_mean (src/ops/token_mean.c: the mean of a run of tokens, HF's DINOv2 classifier input). */
#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* patchify: batch B of C x S x W images (W = 0: square), P x P patches. ViT-B/16 at 224 (batch 1 and 3),
 * ViT-H/14, 384 px / 32, Fashion 28 / 7 grey, and awkward ones; non-square: a DINOv2 grid of 9x7 patches of 14,
 * 224 x 320, a single row, a single column, wider and taller. */
typedef struct patchify_case {
    uint32_t B, C, S, P, W;
} patchify_case;

static const patchify_case pcases[] = {
    {1, 3, 224, 16, 0}, {3, 3, 224, 16, 0}, {1, 3, 224, 14, 0}, {1, 3, 384, 32, 0}, {2, 1, 28, 7, 0},
    {1, 1, 1, 1, 0},    {2, 3, 36, 6, 0},   {1, 2, 13, 13, 0},  {3, 4, 10, 5, 0},   {1, 3, 126, 14, 98},
    {3, 3, 224, 16, 320}, {2, 1, 7, 7, 35}, {1, 2, 26, 13, 13}, {3, 4, 10, 5, 35},
};

/* tokens: batch B of N patch embeddings of width D behind `prefix` tokens and `regs` register tokens. ViT-B (196
 * patches + cls), DeiT distilled (+ dist), Ti, DINOv2-S/14 with 4 registers at 518 px, awkward widths and counts,
 * and no prefix (SigLIP: prefix 0, no class token bound). */
typedef struct tokens_case {
    uint32_t B, N, D, prefix, regs;
} tokens_case;

static const tokens_case tcases[] = {
    {1, 196, 768, 1, 0}, {3, 196, 768, 1, 0}, {2, 196, 192, 2, 0}, {1, 1, 1, 1, 0}, {2, 1, 7, 2, 0},
    {3, 36, 48, 1, 0},   {1, 576, 65, 2, 0},  {1, 1369, 384, 1, 4}, {3, 25, 36, 1, 4}, {2, 1, 7, 2, 1},
    {1, 7, 13, 1, 3},
    {1, 196, 768, 0, 0}, {3, 49, 45, 0, 0}, {2, 1, 7, 0, 0},
};

/* token_mean: x [B][T][D], tokens [first, first + count) into columns [y_first, y_first + D) of y [B][y_stride].
 * HF DINOv2-B's classifier input (1 + 4 registers + 1369 patches), small and awkward ones. */
typedef struct mean_case {
    uint32_t B, T, D, first, count, y_stride, y_first;
} mean_case;

static const mean_case mcases[] = {
    {1, 1374, 768, 5, 1369, 1536, 768}, {3, 30, 36, 5, 25, 72, 36}, {2, 7, 13, 0, 7, 13, 0}, {1, 1, 1, 0, 1, 1, 0},
    {3, 54, 65, 1, 53, 130, 65},        {2, 197, 7, 1, 196, 14, 7},
};

/* widen: n halves. */
static const uint32_t wcases[] = {1, 7, 197, 1000, 65537};

static void check_patchify(vkvit_context *ctx, const patchify_case *c, op_dtype t, uint64_t *rng)
{
    const uint32_t B = c->B, C = c->C, S = c->S, P = c->P, W = c->W ? c->W : c->S;
    size_t n = (size_t)B * C * S * W;
    float *img = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    test_fill(img, n, rng, -3.0f, 3.0f);
    if (c->W)
        ref_patchify_rect(img, ref, B, C, S, W, P);
    else
        ref_patchify(img, ref, B, C, S, P);
    if (t == OP_F16)
        test_round_f16(ref, n); /* the fp32 image's values, each rounded once */
    vk_buffer bi = test_upload(ctx, img, n), bo = test_poisoned(ctx, t, n);
    patchify_args a = {.batch = B, .C = C, .S = S, .P = P, .W = c->W, .image = vk_whole(&bi),
                       .patches = vk_whole(&bo), .dtype = t};
    test_run(ctx, test_record_patchify, &a);
    test_download_as(ctx, t, &bo, out, n);
    char name[128];
    snprintf(name, sizeof name, "patchify%s B=%u C=%u S=%u W=%u P=%u", t == OP_F16 ? " fp16" : "", B, C, S, W, P);
    test_check(name, out, ref, n, 0.0); /* a permutation (and one rounding): exact */
    vk_buffer_destroy(ctx, &bi);
    vk_buffer_destroy(ctx, &bo);
    free(img), free(out), free(ref);
}

static void check_tokens(vkvit_context *ctx, const tokens_case *c, op_dtype t, uint64_t *rng)
{
    const uint32_t B = c->B, D = c->D, prefix = c->prefix, N = c->N, R = c->regs, T = N + prefix + R;
    size_t n_emb = (size_t)B * N * D, n_x = (size_t)B * T * D, n_reg = R ? (size_t)R * D : 1;
    float *emb = test_alloc(n_emb), *cls = test_alloc(D), *dist = test_alloc(D), *pos = test_alloc((size_t)T * D);
    float *out = test_alloc(n_x), *ref = test_alloc(n_x), *reg = test_alloc(n_reg);
    test_fill(emb, n_emb, rng, -2.0f, 2.0f);
    test_fill(cls, D, rng, -1.0f, 1.0f);
    test_fill(dist, D, rng, -1.0f, 1.0f);
    test_fill(reg, n_reg, rng, -1.0f, 1.0f);
    test_fill(pos, (size_t)T * D, rng, -0.5f, 0.5f);
    if (t == OP_F16) { /* the reference starts from the halves the GPU reads */
        test_round_f16(emb, n_emb), test_round_f16(cls, D), test_round_f16(dist, D), test_round_f16(reg, n_reg);
        test_round_f16(pos, (size_t)T * D);
    }
    ref_tokens_regs(emb, cls, dist, reg, R, pos, ref, B, T, D, prefix);
    if (t == OP_F16)
        test_round_f16(ref, n_x); /* the sum of two halves is exact in fp32, then rounded once */
    vk_buffer be = test_upload_as(ctx, t, emb, n_emb), bc = test_upload_as(ctx, t, cls, D);
    vk_buffer bd = test_upload_as(ctx, t, dist, D), bp = test_upload_as(ctx, t, pos, (size_t)T * D);
    vk_buffer bx = test_poisoned(ctx, t, n_x), br = test_upload_as(ctx, t, reg, n_reg);
    tokens_args a = {.batch = B, .T = T, .D = D, .prefix = prefix, .emb = vk_whole(&be),
                     .cls = prefix ? vk_whole(&bc) : (vk_span){0}, .pos = vk_whole(&bp), .x = vk_whole(&bx),
                     .dtype = t, .regs = R};
    if (prefix == 2)
        a.dist = vk_whole(&bd);
    if (R)
        a.reg = vk_whole(&br);
    test_run(ctx, test_record_tokens, &a);
    test_download_as(ctx, t, &bx, out, n_x);
    char name[128];
    snprintf(name, sizeof name, "tokens%s B=%u T=%u D=%u prefix=%u registers=%u", t == OP_F16 ? " fp16" : "", B, T,
             D, prefix, R);
    test_check(name, out, ref, n_x, 0.0); /* one addition per element, as the reference: exact */
    vk_buffer_destroy(ctx, &be), vk_buffer_destroy(ctx, &bc), vk_buffer_destroy(ctx, &bd);
    vk_buffer_destroy(ctx, &bp), vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &br);
    free(emb), free(cls), free(dist), free(pos), free(out), free(ref), free(reg);
}

/* token_mean: the columns it writes against the double reference, the others still poisoned (test_check refuses
 * NaN, so they are compared as the poison they must still be). */
static void check_token_mean(vkvit_context *ctx, const mean_case *c, op_dtype t, uint64_t *rng)
{
    const size_t n_x = (size_t)c->B * c->T * c->D, n_y = (size_t)c->B * c->y_stride, n_w = (size_t)c->B * c->D;
    float *x = test_alloc(n_x), *y = test_alloc(n_y), *ref = test_alloc(n_y), *got = test_alloc(n_w);
    float *want = test_alloc(n_w);
    test_fill(x, n_x, rng, -2.0f, 3.0f);
    if (t == OP_F16)
        test_round_f16(x, n_x);
    ref_token_mean(x, ref, c->B, c->T, c->D, c->first, c->count, c->y_stride, c->y_first);
    vk_buffer bx = test_upload_as(ctx, t, x, n_x), by = test_poisoned(ctx, t, n_y);
    token_mean_args a = {.batch = c->B, .T = c->T, .D = c->D, .first = c->first, .count = c->count,
                         .y_stride = c->y_stride, .y_first = c->y_first, .x = vk_whole(&bx), .y = vk_whole(&by),
                         .dtype = t};
    test_run(ctx, test_record_token_mean, &a);
    test_download_as(ctx, t, &by, y, n_y);
    uint32_t touched = 0; /* columns outside [y_first, y_first + D) written */
    for (uint32_t b = 0; b < c->B; b++)
        for (uint32_t j = 0; j < c->y_stride; j++) {
            const float v = y[(size_t)b * c->y_stride + j];
            if (j >= c->y_first && j < c->y_first + c->D) {
                got[(size_t)b * c->D + j - c->y_first] = v;
                want[(size_t)b * c->D + j - c->y_first] = ref[(size_t)b * c->y_stride + j];
            } else {
                touched += v == v; /* the poison is NaN */
            }
        }
    char name[160];
    snprintf(name, sizeof name, "token_mean%s B=%u T=%u D=%u tokens %u..+%u into %u..+%u of %u",
             t == OP_F16 ? " fp16" : "", c->B, c->T, c->D, c->first, c->count, c->y_first, c->D, c->y_stride);
    test_check(name, got, want, n_w, t == OP_F16 ? TOL_F16 : TOL_F32);
    test_expect(touched == 0, "%s: the other columns untouched (%u written)", name, touched);
    vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &by);
    free(x), free(y), free(ref), free(got), free(want);
}

/* widen: every half (NaN and infinities included, which test_check would refuse) -> float, exactly. */
static void check_widen(vkvit_context *ctx, uint32_t n, uint64_t *rng)
{
    float *x = test_alloc(n), *out = test_alloc(n);
    test_fill(x, n, rng, -70000.0f, 70000.0f); /* beyond fp16's range too: those become +-inf */
    for (uint32_t i = 0; i < n; i += 3)
        x[i] *= 1e-5f; /* and small values, subnormal halves among them */
    test_round_f16(x, n);
    vk_buffer bx = test_upload_f16(ctx, x, n), by = test_poisoned(ctx, OP_F32, n);
    widen_args a = {.n = n, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, test_record_widen, &a);
    test_download(ctx, &by, out, n);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++)
        bad += memcmp(&out[i], &x[i], sizeof(float)) != 0;
    test_expect(bad == 0, "widen n=%u: every float equals its half bit for bit (%u differ)", n, bad);
    vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &by);
    free(x), free(out);
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    for (int t = OP_F32; t <= OP_F16; t++) {
        if (t == OP_F16 && !test_fp16(ctx))
            break;
        for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++)
            check_patchify(ctx, &pcases[i], (op_dtype)t, &rng);
        for (size_t i = 0; i < sizeof tcases / sizeof *tcases; i++)
            check_tokens(ctx, &tcases[i], (op_dtype)t, &rng);
        for (size_t i = 0; i < sizeof mcases / sizeof *mcases; i++)
            check_token_mean(ctx, &mcases[i], (op_dtype)t, &rng);
    }
    if (ctx->fp16)   /* widen: the fp16 path's outputs */
        for (size_t i = 0; i < sizeof wcases / sizeof *wcases; i++)
            check_widen(ctx, wcases[i], &rng);

    vk_buffer b = test_upload(ctx, NULL, 64);
    const patchify_args good = {.batch = 1, .C = 1, .S = 8, .P = 8, .image = vk_whole(&b), .patches = vk_whole(&b)};
    struct {
        const char *what;
        patchify_args a;
    } bad[] = {{"a patch that does not divide the image", good}, {"a span too small", good},
               {"a patch that does not divide the width", good}, {"a span too small for the width", good}};
    bad[0].a.P = 3;
    bad[1].a.S = 16; /* 256 floats into a 64-float span */
    bad[2].a.W = 12;
    bad[3].a.W = 16; /* 128 floats into a 64-float span */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "patchify", test_record_patchify, &bad[i].a, bad[i].what, NULL);
    const token_mean_args mgood = {.batch = 1, .T = 8, .D = 4, .first = 1, .count = 7, .y_stride = 8, .y_first = 4,
                                   .x = vk_whole(&b), .y = vk_whole(&b)};
    struct {
        const char *what;
        token_mean_args a;
    } mbad[] = {{"tokens past T", mgood}, {"columns past the row", mgood}, {"no tokens", mgood}};
    mbad[0].a.count = 8;
    mbad[1].a.y_first = 5;
    mbad[2].a.count = 0;
    for (size_t i = 0; i < sizeof mbad / sizeof *mbad; i++)
        test_refuses(ctx, "token_mean", test_record_token_mean, &mbad[i].a, mbad[i].what, NULL);
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
