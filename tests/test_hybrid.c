/* Hybrid ViTs (a ResNet stem, then the ViT): the tiny timm hybrids of tests/data/hybrid (made by
 * tools/make_hybrid_fixtures.py) in every layout written (timm and HF safetensors, Google .npz) loaded
 * and run by the C reference forward against timm's outputs (logits, embedding, class-token attention;
 * batch 3 and batch 1; r3 also at 56 px), bound TOL_FORWARD; the loaded root conv against each
 * publisher's weight standardisation (timm's captured from timm, Google's vit_jax formula), which the
 * .npz must follow and not timm's; and the GPU plan (the ResNet stem recorded by plan.c) on the same inputs,
 * fp32 within TOL_FORWARD and fp16 within TOL_F16_FORWARD of timm, batch 3 (also in passes of one image) and
 * batch 1, with vkvit_verify against the C reference.
 * Usage: test_hybrid <tests/data dir> */
#include "common.h"
#include "model.h"
#include "plan.h"
#include "ref/vit.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *read_all(st_file *f, const char *name, uint64_t *count)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "FATAL: the expected outputs have no '%s'\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    if (count)
        *count = t->count;
    return v;
}

/* The reference forward of images [first, first + B) of the fixture's input against timm's rows. */
static void check_forward(const struct vkvit_model *m, st_file *e, const char *name, uint32_t first, uint32_t B,
                          const char *logits_name)
{
    const vit_dims *d = &m->dims;
    const uint32_t all = (uint32_t)st_find(e, "input")->shape[0], K = d->K, D = d->D, T = d->T, L = d->L;
    float *in = read_all(e, "input", NULL), *want_l = read_all(e, logits_name, NULL);
    float *want_e = read_all(e, "embedding", NULL), *want_a = read_all(e, "cls_attention", NULL);
    float *logits = test_alloc((size_t)B * K), *pooled = test_alloc((size_t)B * D);
    float *maps = test_alloc((size_t)L * B * T), *att = test_alloc((size_t)L * B * T);
    const size_t per_image = (size_t)d->C * d->image * d->image;
    char label[256];
    test_expect(ref_vit_forward(m, in + first * per_image, B, logits, pooled, NULL, maps) == 0, "%s: reference forward ran",
                name);
    const float *wl = !strcmp(logits_name, "logits") ? want_l + (size_t)first * K : want_l;
    snprintf(label, sizeof label, "%s: C reference logits [%u x %u] vs timm", name, B, K);
    test_check(label, logits, wl, (size_t)B * K, TOL_FORWARD);
    snprintf(label, sizeof label, "%s: C reference embedding [%u x %u] vs timm", name, B, D);
    test_check(label, pooled, want_e + (size_t)first * D, (size_t)B * D, TOL_FORWARD);
    for (uint32_t l = 0; l < L; l++) /* timm's maps are [L][all][T] */
        memcpy(att + (size_t)l * B * T, want_a + ((size_t)l * all + first) * T, (size_t)B * T * sizeof *att);
    snprintf(label, sizeof label, "%s: C reference class-token attention [%u x %u x %u] vs timm", name, L, B, T);
    test_check(label, maps, att, (size_t)L * B * T, TOL_FORWARD);
    free(in), free(want_l), free(want_e), free(want_a), free(logits), free(pooled), free(maps), free(att);
}

/* The GPU plan on images [first, first + B) against timm's rows, as check_forward; then vkvit_verify (the GPU
 * against the C reference on the same weights) and, for batches above one, the same batch in passes of one
 * image (the stem's regions are a chunk's). */
static void check_gpu(vkvit_context *ctx, vkvit_model *m, st_file *e, const char *name, uint32_t first, uint32_t B,
                      const char *logits_name)
{
    const vit_dims *d = &m->dims;
    const bool f16 = m->elem_size == 2;
    const double tol = f16 ? TOL_F16_FORWARD : TOL_FORWARD;
    const char *pn = f16 ? " (fp16)" : "";
    const uint32_t all = (uint32_t)st_find(e, "input")->shape[0], K = d->K, E = d->E, T = d->T, L = d->L;
    float *in = read_all(e, "input", NULL), *want_l = read_all(e, logits_name, NULL);
    float *want_e = read_all(e, "embedding", NULL), *want_a = read_all(e, "cls_attention", NULL);
    float *logits = test_alloc((size_t)B * K), *emb = test_alloc((size_t)B * E);
    float *maps = test_alloc((size_t)B * L * T), *att = test_alloc((size_t)B * L * T);
    const size_t per_image = (size_t)d->C * d->image * d->image;
    char label[256];
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B, .attention_maps = 1};
    vkvit_status s = vkvit_plan_create(m, &po, &p);
    if (!test_expect(s == VKVIT_OK, "%s%s: GPU plan for batch %u (%s)", name, pn, B, s ? vkvit_last_error() : "ok"))
        goto done;
    vkvit_tensor t = {in + first * per_image, B, d->C, d->image, d->image};
    test_ok(vkvit_run(p, &t, NULL), "run");
    test_ok(vkvit_get_logits(p, logits, (size_t)B * K), "logits");
    test_ok(vkvit_get_embeddings(p, emb, (size_t)B * E), "embeddings");
    test_ok(vkvit_get_attention(p, maps, (size_t)B * L * T), "attention");
    const float *wl = !strcmp(logits_name, "logits") ? want_l + (size_t)first * K : want_l;
    snprintf(label, sizeof label, "%s%s: GPU logits [%u x %u] vs timm", name, pn, B, K);
    test_check(label, logits, wl, (size_t)B * K, tol);
    snprintf(label, sizeof label, "%s%s: GPU embedding [%u x %u] vs timm", name, pn, B, E);
    test_check(label, emb, want_e + (size_t)first * E, (size_t)B * E, tol);
    for (uint32_t b = 0; b < B; b++) /* ours [B][L][T], timm's [L][all][T] */
        for (uint32_t l = 0; l < L; l++)
            memcpy(att + ((size_t)b * L + l) * T, want_a + ((size_t)l * all + first + b) * T, T * sizeof *att);
    snprintf(label, sizeof label, "%s%s: GPU class-token attention [%u x %u x %u] vs timm", name, pn, B, L, T);
    test_check(label, maps, att, (size_t)B * L * T, tol);
    double rel = -1;
    test_ok(vkvit_verify(p, &rel), "verify");
    test_expect(rel <= (f16 ? TOL_F16_FORWARD : TOL_F32 * 10), "%s%s: vkvit_verify GPU vs C reference rel=%.3e",
                name, pn, rel);
    vkvit_plan_destroy(p);
    if (B > 1) {
        ctx->test_max_chunk = 1;
        s = vkvit_plan_create(m, &po, &p);
        ctx->test_max_chunk = 0;
        if (!test_expect(s == VKVIT_OK && p->chunk == 1, "%s%s: a plan in passes of one image (%s)", name, pn,
                         s ? vkvit_last_error() : "ok"))
            goto done;
        test_ok(vkvit_run(p, &t, NULL), "run chunked");
        test_ok(vkvit_get_logits(p, maps, (size_t)B * K), "logits");
        snprintf(label, sizeof label, "%s%s: GPU logits in passes of one image vs timm", name, pn);
        test_check(label, maps, wl, (size_t)B * K, tol);
        vkvit_plan_destroy(p);
    }
done:
    free(in), free(want_l), free(want_e), free(want_a), free(logits), free(emb), free(maps), free(att);
}

/* The loaded root conv ([R][Kp], (ky, kx, c) rows) back in PyTorch's [R][C][7][7], to compare with timm's. */
static float *root_as_torch(const struct vkvit_model *m)
{
    const uint32_t R = m->dims.resnet.root, C = m->dims.C, Kp = vit_conv_row(7, 7, C);
    const float *w = model_host(m, -1, W_ROOT_W);
    float *out = test_alloc((size_t)R * C * 49);
    for (uint32_t o = 0; o < R; o++)
        for (uint32_t c = 0; c < C; c++)
            for (uint32_t k = 0; k < 49; k++)
                out[((size_t)o * C + c) * 49 + k] = w[(size_t)o * Kp + (size_t)k * C + c];
    return out;
}

static void check_fixture(vkvit_context *ctx, const char *dir, const char *fixture, const char *layout,
                          uint32_t image_size, const char *expected_file)
{
    char path[1024], mpath[1024], name[160];
    const bool google = !strcmp(layout, "google");
    if (google)
        snprintf(path, sizeof path, "%s/hybrid/%s/google/%s.npz", dir, fixture, fixture);
    else
        snprintf(path, sizeof path, "%s/hybrid/%s/%s", dir, fixture, layout);
    snprintf(name, sizeof name, "%s/%s%s", fixture, layout, image_size ? " at 56 px" : "");
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32, .image_size = image_size};
    snprintf(mpath, sizeof mpath, "%s", path);
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    const vit_dims *d = &m->dims;
    printf("     %s: %s\n", name, m->config);
    test_expect(d->hybrid && d->T == (strcmp(fixture, "r3") ? 10u : 17u) && d->K == 7 &&
                    (d->units == 0) == !strcmp(fixture, "root"),
                "%s: a hybrid with %u tokens, %u classes, %u ResNet units", name, d->T, d->K, d->units);
    snprintf(path, sizeof path, "%s/hybrid/%s/%s", dir, fixture, expected_file);
    st_file *e = NULL;
    test_ok(st_open(path, &e), path);
    check_forward(m, e, name, 0, 3, "logits");
    check_forward(m, e, name, 0, 1, "logits_b1");
    check_forward(m, e, name, 2, 1, "logits");

    /* Weight standardisation, done once at load: timm's and HF's as timm computes it, Google's as vit_jax. */
    const uint64_t n = (uint64_t)d->resnet.root * d->C * 49;
    st_file *w = NULL;
    snprintf(path, sizeof path, "%s/hybrid/%s/expected.safetensors", dir, fixture);
    test_ok(st_open(path, &w), path);
    float *ws_timm = read_all(w, "ws_timm", NULL), *ws_google = read_all(w, "ws_google", NULL);
    st_close(w);
    float *root = root_as_torch(m);
    char label[256];
    snprintf(label, sizeof label, "%s: root conv standardised as %s", name, google ? "vit_jax does" : "timm does");
    test_check(label, root, google ? ws_google : ws_timm, n, 1e-6);
    test_cmp other = test_compare(root, google ? ws_timm : ws_google, n);
    test_expect(other.rel > 5e-6, "%s: ... and not as %s does (rel %.1e)", name, google ? "timm" : "vit_jax",
                other.rel);
    free(ws_timm), free(ws_google), free(root);

    /* The GPU: fp32 on the model loaded above, fp16 on the same checkpoint loaded in halves. */
    check_gpu(ctx, m, e, name, 0, 3, "logits");
    check_gpu(ctx, m, e, name, 0, 1, "logits_b1");
    vkvit_model *h = NULL;
    mo.precision = VKVIT_PRECISION_FP16;
    s = vkvit_model_load(ctx, mpath, &mo, &h);
    if (test_expect(s == VKVIT_OK, "%s: loads in fp16 (%s)", name, s ? vkvit_last_error() : "ok")) {
        check_gpu(ctx, h, e, name, 0, 3, "logits");
        check_gpu(ctx, h, e, name, 0, 1, "logits_b1");
        vkvit_model_destroy(h);
    }
    st_close(e);
    vkvit_model_destroy(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tests/data>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    static const char *const layouts[] = {"timm", "hf", "google"};
    for (size_t i = 0; i < 3; i++)
        check_fixture(ctx, argv[1], "r3", layouts[i], 0, "expected.safetensors");
    check_fixture(ctx, argv[1], "r3", "timm", 56, "expected-56.safetensors");
    check_fixture(ctx, argv[1], "r3", "google", 56, "expected-56.safetensors");
    check_fixture(ctx, argv[1], "root", "timm", 0, "expected.safetensors");
    check_fixture(ctx, argv[1], "root", "google", 0, "expected.safetensors");
    return test_finish(ctx);
}
