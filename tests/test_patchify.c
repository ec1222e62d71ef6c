/* The patch-embedding input ops (src/ops/embed.c) against their C references on fresh random data:
 * patchify (im2col of [B][C][S][S] into [B*G*G][C*P*P]) and tokens (class/distillation tokens +
 * patch embeddings + position embeddings), at ViT shapes and awkward ones; their fp16 variants
 * (halves out of patchify, halves throughout tokens), and widen (fp16 results -> fp32 outputs). */
#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vkvit_status rec_patchify(vk_cmd *cmd, vkvit_context *ctx, const void *a) { return op_patchify(cmd, ctx, a); }
static vkvit_status rec_tokens(vk_cmd *cmd, vkvit_context *ctx, const void *a) { return op_tokens(cmd, ctx, a); }
static vkvit_status rec_widen(vk_cmd *cmd, vkvit_context *ctx, const void *a) { return op_widen(cmd, ctx, a); }

static void check_patchify(vkvit_context *ctx, uint32_t B, uint32_t C, uint32_t S, uint32_t P, op_dtype t,
                           uint64_t *rng)
{
    size_t n = (size_t)B * C * S * S;
    float *img = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    test_fill(img, n, rng, -3.0f, 3.0f);
    ref_patchify(img, ref, B, C, S, P);
    if (t == OP_F16)
        test_round_f16(ref, n); /* the fp32 image's values, each rounded once */
    vk_buffer bi = test_upload(ctx, img, n), bo = test_upload_as(ctx, t, NULL, n);
    test_poison_as(ctx, t, &bo);
    patchify_args a = {.batch = B, .C = C, .S = S, .P = P, .image = vk_whole(&bi), .patches = vk_whole(&bo),
                       .dtype = t};
    test_run(ctx, rec_patchify, &a);
    test_download_as(ctx, t, &bo, out, n);
    char name[128];
    snprintf(name, sizeof name, "patchify%s B=%u C=%u S=%u P=%u", t == OP_F16 ? " fp16" : "", B, C, S, P);
    test_check(name, out, ref, n, 0.0); /* a permutation (and one rounding): exact */
    vk_buffer_destroy(ctx, &bi);
    vk_buffer_destroy(ctx, &bo);
    free(img), free(out), free(ref);
}

static void check_tokens(vkvit_context *ctx, uint32_t B, uint32_t N, uint32_t D, uint32_t prefix, op_dtype t,
                         uint64_t *rng)
{
    uint32_t T = N + prefix;
    size_t n_emb = (size_t)B * N * D, n_x = (size_t)B * T * D;
    float *emb = test_alloc(n_emb), *cls = test_alloc(D), *dist = test_alloc(D), *pos = test_alloc((size_t)T * D);
    float *out = test_alloc(n_x), *ref = test_alloc(n_x);
    test_fill(emb, n_emb, rng, -2.0f, 2.0f);
    test_fill(cls, D, rng, -1.0f, 1.0f);
    test_fill(dist, D, rng, -1.0f, 1.0f);
    test_fill(pos, (size_t)T * D, rng, -0.5f, 0.5f);
    if (t == OP_F16) { /* the reference starts from the halves the GPU reads */
        test_round_f16(emb, n_emb), test_round_f16(cls, D), test_round_f16(dist, D);
        test_round_f16(pos, (size_t)T * D);
    }
    ref_tokens(emb, cls, dist, pos, ref, B, T, D, prefix);
    if (t == OP_F16)
        test_round_f16(ref, n_x); /* the sum of two halves is exact in fp32, then rounded once */
    vk_buffer be = test_upload_as(ctx, t, emb, n_emb), bc = test_upload_as(ctx, t, cls, D), bd = test_upload_as(ctx, t, dist, D);
    vk_buffer bp = test_upload_as(ctx, t, pos, (size_t)T * D), bx = test_upload_as(ctx, t, NULL, n_x);
    test_poison_as(ctx, t, &bx);
    tokens_args a = {.batch = B, .T = T, .D = D, .prefix = prefix, .emb = vk_whole(&be), .cls = vk_whole(&bc),
                     .pos = vk_whole(&bp), .x = vk_whole(&bx), .dtype = t};
    if (prefix == 2)
        a.dist = vk_whole(&bd);
    test_run(ctx, rec_tokens, &a);
    test_download_as(ctx, t, &bx, out, n_x);
    char name[128];
    snprintf(name, sizeof name, "tokens%s B=%u T=%u D=%u prefix=%u", t == OP_F16 ? " fp16" : "", B, T, D, prefix);
    test_check(name, out, ref, n_x, 0.0); /* one addition per element, as the reference: exact */
    vk_buffer_destroy(ctx, &be), vk_buffer_destroy(ctx, &bc), vk_buffer_destroy(ctx, &bd);
    vk_buffer_destroy(ctx, &bp), vk_buffer_destroy(ctx, &bx);
    free(emb), free(cls), free(dist), free(pos), free(out), free(ref);
}

/* widen: every half (NaN and infinities included, which test_check would refuse) -> float, exactly. */
static void check_widen(vkvit_context *ctx, uint32_t n, uint64_t *rng)
{
    float *x = test_alloc(n), *out = test_alloc(n);
    test_fill(x, n, rng, -70000.0f, 70000.0f); /* beyond fp16's range too: those become +-inf */
    for (uint32_t i = 0; i < n; i += 3)
        x[i] *= 1e-5f; /* and small values, subnormal halves among them */
    test_round_f16(x, n);
    vk_buffer bx = test_upload_f16(ctx, x, n), by = test_upload(ctx, NULL, n);
    test_poison(ctx, &by);
    widen_args a = {.n = n, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, rec_widen, &a);
    test_download(ctx, &by, out, n);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++)
        bad += memcmp(&out[i], &x[i], sizeof(float)) != 0;
    test_expect(bad == 0, "widen n=%u: every float equals its half bit for bit (%u differ)", n, bad);
    vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &by);
    free(x), free(out);
}

static vkvit_status expect_invalid(vkvit_context *ctx, const patchify_args *a)
{
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_ok(vk_cmd_begin(cmd), "begin");
    vkvit_status s = op_patchify(cmd, ctx, a);
    test_ok(vk_cmd_end(cmd), "end");
    vk_cmd_destroy(cmd);
    return s;
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    /* ViT-B/16 at 224 (batch 1 and 3), ViT-H/14, 384 px / 32, Fashion 28 / 7 grey, and awkward ones. */
    const uint32_t pcases[][4] = {{1, 3, 224, 16}, {3, 3, 224, 16}, {1, 3, 224, 14}, {1, 3, 384, 32}, {2, 1, 28, 7},
                                  {1, 1, 1, 1},    {2, 3, 36, 6},   {1, 2, 13, 13}, {3, 4, 10, 5}};
    for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++)
        check_patchify(ctx, pcases[i][0], pcases[i][1], pcases[i][2], pcases[i][3], OP_F32, &rng);
    /* ViT-B (196 patches + cls), DeiT distilled (+ dist), Ti, and awkward widths and counts. */
    const uint32_t tcases[][4] = {{1, 196, 768, 1}, {3, 196, 768, 1}, {2, 196, 192, 2}, {1, 1, 1, 1},
                                  {2, 1, 7, 2},     {3, 36, 48, 1},   {1, 576, 65, 2}};
    for (size_t i = 0; i < sizeof tcases / sizeof *tcases; i++)
        check_tokens(ctx, tcases[i][0], tcases[i][1], tcases[i][2], tcases[i][3], OP_F32, &rng);
    if (test_fp16(ctx)) {
        for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++)
            check_patchify(ctx, pcases[i][0], pcases[i][1], pcases[i][2], pcases[i][3], OP_F16, &rng);
        for (size_t i = 0; i < sizeof tcases / sizeof *tcases; i++)
            check_tokens(ctx, tcases[i][0], tcases[i][1], tcases[i][2], tcases[i][3], OP_F16, &rng);
        const uint32_t wcases[] = {1, 7, 197, 1000, 65537};
        for (size_t i = 0; i < sizeof wcases / sizeof *wcases; i++)
            check_widen(ctx, wcases[i], &rng);
    }

    vk_buffer b = test_upload(ctx, NULL, 64);
    patchify_args bad = {.batch = 1, .C = 1, .S = 8, .P = 3, .image = vk_whole(&b), .patches = vk_whole(&b)};
    test_expect(expect_invalid(ctx, &bad) == VKVIT_ERROR_INVALID_ARGUMENT, "patchify: a patch that does not "
                "divide the image is refused (%s)", vkvit_last_error());
    bad.P = 8, bad.S = 16; /* 256 floats into a 64-float span */
    test_expect(expect_invalid(ctx, &bad) == VKVIT_ERROR_INVALID_ARGUMENT, "patchify: a span too small is refused "
                "(%s)", vkvit_last_error());
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
