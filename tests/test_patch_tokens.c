/* The embedding outputs of a plan: plan option patch_tokens (every token after the final LayerNorm, read by
 * vkvit_get_patch_tokens) and normalize_embeddings (unit vectors from vkvit_get_embeddings).
 *   - tiny timm models (tests/data/timm-tokens, tools/make_token_fixtures.py): the GPU tokens and the C
 *     reference's against timm's forward_features in float64, batch 3 and batch 1, one pass and in chunks;
 *   - seeded random weights at an awkward shape (7 x 7 grid + class token, D = 36): GPU vs the C reference;
 *   - normalisation, plan/model info, the getter's refusals.
 * Usage: test_patch_tokens <tests/data dir> [fp16] */
#include "common.h"
#include "plan.h"
#include "ref/vit.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vkvit_precision prec = VKVIT_PRECISION_FP32;

static double bound(void) { return prec == VKVIT_PRECISION_FP16 ? TOL_F16_FORWARD : TOL_FORWARD; }
static const char *pname(void) { return prec == VKVIT_PRECISION_FP16 ? "fp16" : "fp32"; }

/* A plan's tokens and embeddings after running `in`: the activations and the host copies poisoned first, so
 * that an element never written fails the comparison. */
static void run_poisoned(vkvit_context *ctx, vkvit_plan *p, const vkvit_tensor *in, float *tokens, float *emb)
{
    const vit_dims *d = &p->model->dims;
    const size_t nt = (size_t)in->n * d->T * d->D, ne = (size_t)in->n * d->E;
    test_poison(ctx, &p->arena);
    test_poison(ctx, &p->io);
    for (size_t i = 0; i < nt; i++)
        tokens[i] = NAN;
    test_ok(vkvit_run(p, in, NULL), "run");
    test_ok(vkvit_get_patch_tokens(p, tokens, nt), "vkvit_get_patch_tokens");
    if (emb)
        test_ok(vkvit_get_embeddings(p, emb, ne), "vkvit_get_embeddings");
}

/* Everything about one model whose expected tokens are known (`want` [B][T][D], NULL: the C reference's). */
static void check_model(vkvit_context *ctx, vkvit_model *m, const char *name, const float *input, uint32_t B,
                        const float *want)
{
    const vit_dims *d = &m->dims;
    const size_t per_tok = (size_t)d->T * d->D, per_in = (size_t)d->C * d->image * d->image;
    char label[256];
    float *tok = test_alloc(B * per_tok), *emb = test_alloc((size_t)B * d->E), *ref = test_alloc(B * per_tok);
    float *pooled = test_alloc((size_t)B * d->prefix * d->D), *one = test_alloc(per_tok);

    test_expect(ref_vit_forward_tokens(m, input, B, NULL, pooled, NULL, NULL, ref) == 0, "%s: reference ran", name);
    if (want) {
        snprintf(label, sizeof label, "%s: C reference tokens [%u x %u x %u] vs timm forward_features", name, B, d->T,
                 d->D);
        test_check(label, ref, want, B * per_tok, TOL_FORWARD);
    }
    for (uint32_t b = 0; b < B; b++) { /* token 0 of the tokens is the final-LayerNorm class token */
        snprintf(label, sizeof label, "%s: C reference token 0 of image %u == its pooled class token", name, b);
        test_check(label, ref + b * per_tok, pooled + (size_t)b * d->prefix * d->D, d->D, 0);
    }
    const float *expect = want ? want : ref;
    const char *who = want ? "timm" : "C reference";

    vkvit_plan *p = NULL;
    test_ok(vkvit_plan_create(m, &(vkvit_plan_options){.batch = B, .patch_tokens = 1, .attention_maps = 1}, &p),
            "plan");
    vkvit_plan_info pi;
    test_ok(vkvit_plan_get_info(p, &pi), "plan info");
    test_expect(pi.patch_tokens == 1 && pi.attention_maps == 1 && pi.normalize_embeddings == 0 && pi.outputs &&
                    strstr(pi.outputs, "patch_tokens") && strstr(pi.outputs, "attention"),
                "%s: plan info: patch_tokens %d, outputs \"%s\"", name, pi.patch_tokens, pi.outputs);
    vkvit_tensor in = {input, B, d->C, d->image, d->image};
    run_poisoned(ctx, p, &in, tok, emb);
    snprintf(label, sizeof label, "%s (%s): GPU tokens, batch %u, vs %s", name, pname(), B, who);
    test_check(label, tok, expect, B * per_tok, bound());
    for (uint32_t b = 0; b < B && !d->R; b++) {
        snprintf(label, sizeof label, "%s (%s): GPU token 0 of image %u == its embedding", name, pname(), b);
        test_check(label, tok + b * per_tok, emb + (size_t)b * d->E, d->D, 0);
    }
    double rel = -1;
    test_ok(vkvit_verify(p, &rel), "verify");
    test_expect(rel <= (prec == VKVIT_PRECISION_FP16 ? TOL_F16_FORWARD : TOL_F32 * 10),
                "%s (%s): vkvit_verify (logits and all tokens) rel=%.3e", name, pname(), rel);

    /* One image through the batch plan (a partial batch) and through a batch-1 plan: its rows. */
    vkvit_tensor first = {input, 1, d->C, d->image, d->image};
    run_poisoned(ctx, p, &first, one, NULL);
    snprintf(label, sizeof label, "%s (%s): a partial batch of 1 == row 0 of the batch", name, pname());
    test_check(label, one, tok, per_tok, 1e-6);
    vkvit_plan *p1 = NULL;
    test_ok(vkvit_plan_create(m, &(vkvit_plan_options){.batch = 1, .patch_tokens = 1}, &p1), "plan batch 1");
    for (uint32_t b = 0; b < B; b++) {
        vkvit_tensor im = {input + b * per_in, 1, d->C, d->image, d->image};
        run_poisoned(ctx, p1, &im, one, NULL);
        snprintf(label, sizeof label, "%s (%s): batch 1, image %u vs %s", name, pname(), b, who);
        test_check(label, one, expect + b * per_tok, per_tok, bound());
    }
    vkvit_plan_destroy(p1);

    /* In passes of one image (as when the batch's activations exceed one binding): the same tokens. */
    ctx->test_max_chunk = 1;
    vkvit_plan *pc = NULL;
    vkvit_status s = vkvit_plan_create(m, &(vkvit_plan_options){.batch = B, .patch_tokens = 1}, &pc);
    ctx->test_max_chunk = 0;
    if (test_expect(s == VKVIT_OK && pc->chunk == 1, "%s: a plan capped at one image per pass", name)) {
        float *ct = test_alloc(B * per_tok);
        run_poisoned(ctx, pc, &in, ct, NULL);
        snprintf(label, sizeof label, "%s (%s): tokens in chunks of 1 == one pass", name, pname());
        test_check(label, ct, tok, B * per_tok, 1e-6);
        free(ct);
    }
    vkvit_plan_destroy(pc);

    /* Unit embeddings: the same vectors divided by their norm (computed here in double). */
    vkvit_plan *pn = NULL;
    test_ok(vkvit_plan_create(m, &(vkvit_plan_options){.batch = B, .normalize_embeddings = 1}, &pn), "plan normalize");
    test_ok(vkvit_plan_get_info(pn, &pi), "plan info");
    test_expect(pi.normalize_embeddings == 1 && pi.patch_tokens == 0 && !strstr(pi.outputs, "patch_tokens"),
                "%s: plan info of a normalising plan: outputs \"%s\"", name, pi.outputs);
    test_ok(vkvit_run(pn, &in, NULL), "run normalize");
    float *unit = test_alloc((size_t)B * d->E), *want_unit = test_alloc((size_t)B * d->E);
    test_ok(vkvit_get_embeddings(pn, unit, (size_t)B * d->E), "normalised embeddings");
    double worst = 0;
    for (uint32_t b = 0; b < B; b++) {
        double ss = 0, su = 0;
        for (uint32_t j = 0; j < d->E; j++)
            ss += (double)emb[b * d->E + j] * emb[b * d->E + j];
        for (uint32_t j = 0; j < d->E; j++) {
            want_unit[b * d->E + j] = (float)(emb[b * d->E + j] / sqrt(ss));
            su += (double)unit[b * d->E + j] * unit[b * d->E + j];
        }
        worst = fmax(worst, fabs(sqrt(su) - 1));
    }
    test_expect(worst <= 1e-6, "%s: normalised embeddings have norm 1 (worst |norm - 1| = %.2e)", name, worst);
    snprintf(label, sizeof label, "%s (%s): normalised embeddings == embedding / ||embedding||", name, pname());
    test_check(label, unit, want_unit, (size_t)B * d->E, 1e-6);
    float bad[4];
    test_expect_status("vkvit_get_patch_tokens without the option", vkvit_get_patch_tokens(pn, bad, 4),
                       VKVIT_ERROR_UNSUPPORTED, "without patch_tokens");
    test_expect_status("vkvit_get_patch_tokens into a short buffer", vkvit_get_patch_tokens(p, bad, 4),
                       VKVIT_ERROR_INVALID_ARGUMENT, "capacity 4 floats");
    test_expect_status("vkvit_get_patch_tokens(NULL plan)", vkvit_get_patch_tokens(NULL, bad, 4),
                       VKVIT_ERROR_INVALID_ARGUMENT, "NULL argument");
    vkvit_plan_destroy(pn);
    vkvit_plan_destroy(p);
    free(tok), free(emb), free(ref), free(pooled), free(one), free(unit), free(want_unit);
}

static float *tensor(st_file *f, const char *name, size_t *n)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "FATAL: tensor %s missing\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    if (n)
        *n = (size_t)t->count;
    return v;
}

static void check_fixture(vkvit_context *ctx, const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/timm-tokens/%s", dir, name);
    vkvit_model *m = NULL;
    test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.keep_host_weights = 1, .precision = prec}, &m), path);
    snprintf(path, sizeof path, "%s/timm-tokens/%s/expected.safetensors", dir, name);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    size_t n_tok = 0;
    float *input = tensor(f, "input", NULL), *tokens = tensor(f, "tokens", &n_tok);
    const uint32_t B = (uint32_t)st_find(f, "input")->shape[0];
    vkvit_model_info mi;
    test_ok(vkvit_model_get_info(m, &mi), "model info");
    test_expect(n_tok == (size_t)B * mi.tokens * mi.hidden && mi.outputs && strstr(mi.outputs, "patch_tokens"),
                "timm-tokens/%s: %u tokens of %u, outputs \"%s\"", name, mi.tokens, mi.hidden, mi.outputs);
    char label[64];
    snprintf(label, sizeof label, "timm-tokens/%s", name);
    check_model(ctx, m, label, input, B, tokens);
    free(input), free(tokens);
    st_close(f);
    vkvit_model_destroy(m);
}

/* Seeded random weights at an awkward shape: 28 px / patch 4 = a 7 x 7 grid, 50 tokens, D 36, 3 heads. */
static void check_random(vkvit_context *ctx, uint64_t *rng)
{
    vit_config c;
    config_init(&c);
    c.hidden = 36, c.layers = 2, c.heads = 3, c.mlp = 61, c.image = 28, c.patch = 4, c.channels = 3;
    c.num_labels = 0, c.eps = 1e-6;
    struct vkvit_model *m = NULL;
    test_ok(model_synthetic(ctx, &c, *rng, true, prec, &m), "synthetic model");
    const uint32_t B = 3;
    const size_t n_in = (size_t)B * 3 * 28 * 28;
    float *input = test_alloc(n_in);
    test_fill(input, n_in, rng, -2.0f, 2.0f);
    check_model(ctx, m, "random ViT (D=36, mlp 61, 7x7 grid, backbone)", input, B, NULL);
    free(input);
    model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_patch_tokens <tests/data dir> [fp16]\n");
        return 2;
    }
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    if (argc > 2 && !strcmp(argv[2], "fp16")) {
        prec = VKVIT_PRECISION_FP16;
        if (!test_fp16(ctx))
            return test_finish(ctx);
    }
    check_fixture(ctx, argv[1], "vit");
    check_fixture(ctx, argv[1], "deit");
    check_random(ctx, &rng);
    return test_finish(ctx);
}
