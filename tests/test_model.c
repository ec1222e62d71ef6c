/* Whole forward pass against fixtures computed by torchvision (tools/make_fixtures.py) and by timm
 * (tools/make_npz_fixtures.py: a Google .npz; and one with Google's pre-logits layer, whose numbers are
 * torchvision's representation_size model): every supported checkpoint family, the fixture's batch
 * and batch 1, GPU and the C reference, logits, embeddings (the pre-logits vector where a model has that
 * layer) and class-token attention; and timm models run at another input size against timm
 * (tools/make_timm_fixtures.py), also at non-square sizes (tools/make_nonsquare_fixtures.py).
 * Usage: test_model <tests/data dir> [fp16] */
#include "common.h"
#include "plan.h"
#include "ref/vit.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct expected {
    st_file *file;
    float *input, *logits, *embedding, *attention; /* attention [L][B][T] */
    uint32_t B;
} expected;

static float *read_tensor(st_file *f, const char *name, uint64_t *count)
{
    const st_tensor *t = st_find(f, name);
    if (!t)
        return NULL;
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    if (count)
        *count = t->count;
    return v;
}

static void load_expected(const char *path, expected *e)
{
    memset(e, 0, sizeof *e);
    test_ok(st_open(path, &e->file), path);
    e->input = read_tensor(e->file, "input", NULL);
    e->logits = read_tensor(e->file, "logits", NULL);
    e->embedding = read_tensor(e->file, "embedding", NULL);
    e->attention = read_tensor(e->file, "cls_attention", NULL);
    e->B = (uint32_t)st_find(e->file, "input")->shape[0];
}

static void free_expected(expected *e)
{
    free(e->input);
    free(e->logits);
    free(e->embedding);
    free(e->attention);
    st_close(e->file);
}

/* [n][L][T] (API order) -> [L][n][T] (fixture order) */
static void to_layer_major(const float *in, float *out, uint32_t n, uint32_t L, uint32_t T)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t l = 0; l < L; l++)
            memcpy(out + ((size_t)l * n + i) * T, in + ((size_t)i * L + l) * T, T * sizeof *out);
}

/* One fixture: the checkpoint in dir/fixture loaded at height x width (0: its own size) against `expected_file`,
 * computed by `ref` (for messages). pre_logits: the model has a pre-logits layer, so its embedding is that
 * layer's output. */
static void check_fixture_hw(vkvit_context *ctx, const char *dir, const char *fixture, uint32_t height, uint32_t width,
                             const char *expected_file, const char *ref, bool pre_logits, vkvit_precision prec)
{
    char path[1024], label[256], name[96];
    snprintf(path, sizeof path, "%s/%s", dir, fixture);
    if (height && height == width)
        snprintf(name, sizeof name, "%s at %u px", fixture, height);
    else if (height)
        snprintf(name, sizeof name, "%s at %ux%u", fixture, height, width);
    else
        snprintf(name, sizeof name, "%s", fixture);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = prec, .image_height = height, .image_width = width};
    const bool f16 = prec == VKVIT_PRECISION_FP16;
    const double tol = f16 ? TOL_F16_FORWARD : TOL_FORWARD;
    const char *pn = f16 ? " (fp16)" : "";
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: load (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    /* A fixture is a folder, or a file in one (an .npz) beside its expected outputs. */
    const char *slash = strrchr(fixture, '/');
    snprintf(path, sizeof path, "%s/%.*s/%s", dir, slash ? (int)(slash - fixture) : (int)strlen(fixture), fixture,
             expected_file);
    expected e;
    load_expected(path, &e);
    const vit_dims *d = &m->dims;
    uint32_t B = e.B, K = d->K, D = d->D, L = d->L, T = d->T, E = d->E;
    vkvit_model_info mi;
    test_ok(vkvit_model_get_info(m, &mi), "model info");
    test_expect(mi.embedding_size == st_find(e.file, "embedding")->shape[1] && mi.embedding &&
                (strstr(mi.embedding, "pre-logits") != NULL) == pre_logits && (d->R > 0) == pre_logits,
                "%s: model info: a %u-float embedding, \"%s\"", name, mi.embedding_size, mi.embedding);
    size_t per_image = (size_t)d->C * d->image * d->image_w;

    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B, .attention_maps = 1};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    if (f16)
        test_expect_plan_coopmat(ctx, p);
    vkvit_plan_info pi;
    test_ok(vkvit_plan_get_info(p, &pi), "plan info");
    test_expect(pi.embedding_size == E, "%s: plan info: embedding_size %u", name, pi.embedding_size);
    vkvit_tensor in = {e.input, B, d->C, d->image, d->image_w};
    test_ok(vkvit_run(p, &in, NULL), "run");

    float *logits = test_alloc((size_t)B * (K ? K : 1)), *emb = test_alloc((size_t)B * E);
    float *att = test_alloc((size_t)B * L * T), *att_lm = test_alloc((size_t)B * L * T);
    if (K) {
        test_ok(vkvit_get_logits(p, logits, (size_t)B * K), "logits");
        snprintf(label, sizeof label, "%s%s: GPU logits [%u x %u] vs %s", name, pn, B, K, ref);
        test_check(label, logits, e.logits, (size_t)B * K, tol);
    } else {
        test_expect(vkvit_get_logits(p, logits, 1) == VKVIT_ERROR_UNSUPPORTED, "%s: backbone has no logits", name);
    }
    test_ok(vkvit_get_embeddings(p, emb, (size_t)B * E), "embeddings");
    snprintf(label, sizeof label, "%s%s: GPU embedding [%u x %u] vs %s", name, pn, B, E, ref);
    test_check(label, emb, e.embedding, (size_t)B * E, tol);
    test_ok(vkvit_get_attention(p, att, (size_t)B * L * T), "attention");
    to_layer_major(att, att_lm, B, L, T);
    snprintf(label, sizeof label, "%s%s: GPU class-token attention [%u x %u x %u] vs %s", name, pn, L, B, T, ref);
    test_check(label, att_lm, e.attention, (size_t)B * L * T, tol);

    /* The C reference on the same weights. */
    float *rl = test_alloc((size_t)B * (K ? K : 1)), *rp = test_alloc((size_t)B * d->prefix * D);
    float *rm = test_alloc((size_t)L * B * T), *re = test_alloc((size_t)B * E);
    test_expect(ref_vit_forward(m, e.input, B, K ? rl : NULL, rp, d->R ? re : NULL, rm) == 0,
                "%s: reference forward ran", name);
    for (uint32_t b = 0; !d->R && b < B; b++)
        memcpy(re + (size_t)b * D, rp + (size_t)b * d->prefix * D, D * sizeof *re);
    snprintf(label, sizeof label, "%s: C reference embedding vs %s", name, ref);
    test_check(label, re, e.embedding, (size_t)B * E, TOL_FORWARD);
    snprintf(label, sizeof label, "%s: C reference attention vs %s", name, ref);
    test_check(label, rm, e.attention, (size_t)L * B * T, TOL_FORWARD);
    if (K) {
        snprintf(label, sizeof label, "%s: C reference logits vs %s", name, ref);
        test_check(label, rl, e.logits, (size_t)B * K, TOL_FORWARD);
    }
    double rel = -1; /* the logits; a backbone's embeddings */
    test_ok(vkvit_verify(p, &rel), "verify");
    test_expect(rel <= (f16 ? TOL_F16_FORWARD : TOL_F32 * 10), "%s%s: vkvit_verify GPU vs C reference rel=%.3e",
                name, pn, rel);

    /* The same batch in passes of one image, as on a device whose maxStorageBufferRange cannot hold
     * the batch's activations (the plan then runs it in chunks; the fixtures are too small to reach
     * the real limit, so the test caps the chunk): the same results. */
    {
        ctx->test_max_chunk = 1;
        vkvit_plan *pc = NULL;
        vkvit_status sc = vkvit_plan_create(m, &po, &pc);
        ctx->test_max_chunk = 0;
        test_expect(sc == VKVIT_OK && pc && pc->chunk == 1, "%s%s: a plan capped at one image per pass runs in "
                    "chunks of 1 (%s)", name, pn, sc ? vkvit_last_error() : "ok");
        if (sc == VKVIT_OK) {
            float *cl = test_alloc((size_t)B * (K ? K : 1)), *ce = test_alloc((size_t)B * E);
            float *ca = test_alloc((size_t)B * L * T);
            test_ok(vkvit_run(pc, &in, NULL), "run chunked");
            if (K) {
                test_ok(vkvit_get_logits(pc, cl, (size_t)B * K), "chunked logits");
                snprintf(label, sizeof label, "%s%s: chunked logits == one pass", name, pn);
                test_check(label, cl, logits, (size_t)B * K, 1e-6);
            }
            test_ok(vkvit_get_embeddings(pc, ce, (size_t)B * E), "chunked embeddings");
            snprintf(label, sizeof label, "%s%s: chunked embeddings == one pass", name, pn);
            test_check(label, ce, emb, (size_t)B * E, 1e-6);
            test_ok(vkvit_get_attention(pc, ca, (size_t)B * L * T), "chunked attention");
            snprintf(label, sizeof label, "%s%s: chunked attention maps == one pass", name, pn);
            test_check(label, ca, att, (size_t)B * L * T, 1e-6);
            free(cl), free(ce), free(ca);
        }
        vkvit_plan_destroy(pc);
    }

    /* Each image alone through a batch-1 plan must give its row of the batch run: no bleeding. */
    vkvit_plan *p1 = NULL;
    vkvit_plan_options po1 = {.batch = 1};
    test_ok(vkvit_plan_create(m, &po1, &p1), "plan batch 1");
    for (uint32_t b = 0; b < B; b++) {
        vkvit_tensor one = {e.input + b * per_image, 1, d->C, d->image, d->image_w};
        test_ok(vkvit_run(p1, &one, NULL), "run batch 1");
        float *o = test_alloc(K ? K : E);
        if (K) {
            test_ok(vkvit_get_logits(p1, o, K), "logits b1");
            snprintf(label, sizeof label, "%s: image %u alone == its row of the batch", name, b);
            test_check(label, o, logits + (size_t)b * K, K, 1e-6);
        } else {
            test_ok(vkvit_get_embeddings(p1, o, E), "emb b1");
            snprintf(label, sizeof label, "%s: image %u alone == its row of the batch", name, b);
            test_check(label, o, emb + (size_t)b * E, E, 1e-6);
        }
        free(o);
    }
    /* A partial batch: 1 image through the batch-B plan. */
    vkvit_tensor first = {e.input, 1, d->C, d->image, d->image_w};
    test_ok(vkvit_run(p, &first, NULL), "run partial");
    if (K) {
        float one[4096];
        test_ok(vkvit_get_logits(p, one, K), "partial logits");
        snprintf(label, sizeof label, "%s: partial batch (1 of %u)", name, B);
        test_check(label, one, logits, K, 1e-6);
    }
    vkvit_plan_destroy(p1);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    free(logits), free(emb), free(att), free(att_lm), free(rl), free(rp), free(rm), free(re);
    free_expected(&e);
}

static void check_fixture_at(vkvit_context *ctx, const char *dir, const char *fixture, uint32_t image_size,
                             const char *expected_file, const char *ref, bool pre_logits, vkvit_precision prec)
{
    check_fixture_hw(ctx, dir, fixture, image_size, image_size, expected_file, ref, pre_logits, prec);
}

static void check_fixture(vkvit_context *ctx, const char *dir, const char *name, bool pre_logits, vkvit_precision prec)
{
    check_fixture_at(ctx, dir, name, 0, "expected.safetensors", strstr(name, "google-vit/") ? "timm" : "torchvision",
                     pre_logits, prec);
}

/* Tiny timm models saved at one size and run at another (tools/make_timm_fixtures.py): vkvit resamples the
 * position embedding at load; timm's numbers come from its own loader (checkpoint_filter_fn). The preprocessing
 * follows the new size: floor(size / crop_pct) then a size x size crop. */
static void check_resized(vkvit_context *ctx, const char *dir, vkvit_precision prec)
{
    static const struct {
        const char *fixture;
        uint32_t size, checkpoint_size;
        const char *preprocessing;
    } resized[] = {
        {"timm-resize", 20, 28, "resize shorter side to 22 (bicubic), centre crop 20x20"},
        {"timm-resize", 44, 28, "resize shorter side to 48 (bicubic), centre crop 44x44"},
        {"timm-deit-resize", 44, 12, "resize shorter side to 48 (bicubic), centre crop 44x44"},
        {"timm-deit-resize", 20, 12, "resize shorter side to 22 (bicubic), centre crop 20x20"},
    };
    for (size_t i = 0; i < sizeof resized / sizeof *resized; i++) {
        char file[64], path[1024];
        snprintf(file, sizeof file, "expected-%u.safetensors", resized[i].size);
        check_fixture_at(ctx, dir, resized[i].fixture, resized[i].size, file, "timm", false, prec);
        snprintf(path, sizeof path, "%s/%s", dir, resized[i].fixture);
        vkvit_model *m = NULL;
        vkvit_model_info info;
        test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.image_size = resized[i].size, .precision = prec},
                                 &m), path);
        test_ok(vkvit_model_get_info(m, &info), "info");
        test_expect(info.image_size == resized[i].size && strstr(info.preprocessing, resized[i].preprocessing),
                    "%s at %u px: image_size %u, preprocessing \"%s\"", resized[i].fixture, resized[i].size,
                    info.image_size, info.preprocessing);
        vkvit_model_destroy(m);
        /* The checkpoint's own size is the checkpoint as it is. */
        test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.image_size = resized[i].checkpoint_size,
                                                                   .precision = prec}, &m), path);
        test_ok(vkvit_model_get_info(m, &info), "info");
        test_expect(info.image_size == resized[i].checkpoint_size && !strstr(info.preprocessing, "for "),
                    "%s at its own %u px: unchanged (\"%s\")", resized[i].fixture, info.image_size,
                    info.preprocessing);
        vkvit_model_destroy(m);
    }
}

/* Non-square sizes (tools/make_nonsquare_fixtures.py): a square timm checkpoint run at 9x7 and 5x11 patches, and
 * a checkpoint built non-square (6x9) at its own size (from its config: no option) and at 9x7; against timm after
 * its loader resamples the position embedding. The same weights in the Hugging Face layouts: square at 9x7 (HF's
 * plain bicubic), and with image_size [24, 36] at its own size. The model info gives the size and the grid; the preprocessing is
 * timm's for a tuple input_size (ResizeKeepRatio, then the crop). */
static void check_nonsquare(vkvit_context *ctx, const char *dir, vkvit_precision prec)
{
    static const struct {
        const char *fixture;
        uint32_t h, w;          /* the size to ask for (0: the checkpoint's) */
        uint32_t run_h, run_w;  /* the size it runs at */
        const char *preprocessing;
    } cases[] = {
        {"timm-nonsquare", 36, 28, 36, 28, "resize keeping the aspect to cover 31x40 (bilinear), centre crop 28x36"},
        {"timm-nonsquare", 20, 44, 20, 44, "resize keeping the aspect to cover 48x22 (bilinear), centre crop 44x20"},
        {"timm-rect", 0, 0, 24, 36, "resize keeping the aspect to cover 40x26 (bilinear), centre crop 36x24"},
        {"timm-rect", 36, 28, 36, 28, "resize keeping the aspect to cover 31x40 (bilinear), centre crop 28x36"},
        {"hf-nonsquare", 36, 28, 36, 28, "resize to 28x36 (bilinear)"},
        {"hf-rect", 0, 0, 24, 36, "resize to 36x24 (bilinear)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char file[64], path[1024];
        snprintf(file, sizeof file, "expected-%ux%u.safetensors", cases[i].run_h, cases[i].run_w);
        check_fixture_hw(ctx, dir, cases[i].fixture, cases[i].h, cases[i].w, file, "timm", false, prec);
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].fixture);
        vkvit_model *m = NULL;
        vkvit_model_info info;
        const uint32_t P = 4;
        test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.image_height = cases[i].h,
                                                                   .image_width = cases[i].w, .precision = prec}, &m),
                path);
        test_ok(vkvit_model_get_info(m, &info), "info");
        test_expect(info.image_height == cases[i].run_h && info.image_width == cases[i].run_w &&
                        info.image_size == cases[i].run_h && info.grid_height == cases[i].run_h / P &&
                        info.grid_width == cases[i].run_w / P && info.patch_size == P &&
                        info.tokens == (info.distilled ? 2 : 1) + info.grid_height * info.grid_width &&
                        strstr(info.preprocessing, cases[i].preprocessing),
                    "%s at %ux%u: info %ux%u, grid %ux%u, %u tokens, preprocessing \"%s\"", cases[i].fixture,
                    cases[i].run_h, cases[i].run_w, info.image_height, info.image_width, info.grid_height,
                    info.grid_width, info.tokens, info.preprocessing);
        vkvit_model_destroy(m);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tests/data>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    /* argv[2] "fp16": the same checks on the fp16 path, with the whole-forward fp16 bound. */
    vkvit_precision prec = argc > 2 && !strcmp(argv[2], "fp16") ? VKVIT_PRECISION_FP16 : VKVIT_PRECISION_FP32;
    if (prec == VKVIT_PRECISION_FP16 && !test_fp16(ctx))
        return test_finish(ctx);
    const struct {
        const char *name;
        bool pre_logits;
    } fixtures[] = {{"hf-vit", false},         {"hf-deit-distilled", false}, {"timm-vit", false},
                    {"odd-tokens", false},     {"dh32", false},              {"f16", false},
                    {"bf16", false},           {"backbone", false},          {"gelu-tanh", false},
                    {"timm-prelogits", true},  {"hf-pooler", true},          {"hf-deit-pooler", true},
                    {"google-vit/ViT-tiny_8.npz", false}, {"google-prelogits/ViT-pre_6.npz", true}};
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
        check_fixture(ctx, argv[1], fixtures[i].name, fixtures[i].pre_logits, prec);
    check_resized(ctx, argv[1], prec);
    check_nonsquare(ctx, argv[1], prec);
    return test_finish(ctx);
}
