/* CLIP vision towers: the tiny towers of tests/data/clip (tools/make_clip_fixtures.py: timm's
 * vit_base_patch16_clip_quickgelu_224 and vit_base_patch32_clip_224 shrunk, in Hugging Face's names: a
 * CLIPVisionModelWithProjection, and a whole CLIPModel whose text tower is left unused) against timm's
 * float64 outputs: the image embedding (the projection of the post_layernorm class token), the pooled class
 * token and the class-token attention, by the C reference forward and by the GPU plan (fp32 within
 * TOL_FORWARD, fp16 within TOL_F16_FORWARD; batch 3, also in passes of one image, and batch 1), with
 * vkvit_verify against the C reference. The model info says what the embedding is. The same weights in
 * timm's names with timm's config.json (<fixture>/timm): pre_norm and the activation from timm's
 * architecture table, the head run as timm runs it, a classifier whose logits are the projection; and
 * (clip/quickgelu/timm-tower) the same at an image-tower tag, whose head is the projection: the embedding.
 * SigLIP (tests/data/siglip/tower, the same script: timm's vit_base_patch16_siglip_224 shrunk, in HF's
 * SiglipVisionModel names and timm's): no class token, the attention-pooling head's output as the embedding,
 * by the C reference and the GPU (fp32, fp16; batch 3, in passes, 1) against timm; no attention maps.
 * Usage: test_clip <tests/data dir> */
#include "common.h"
#include "model.h"
#include "plan.h"
#include "ref/vit.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static float *read_all(st_file *f, const char *name)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "FATAL: the expected outputs have no '%s'\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    return v;
}

/* timm's class-token maps [L][all][T], images [first, first + B), as [B][L][T] (plan order) or [L][B][T]. */
static float *maps_of(const float *want, uint32_t all, uint32_t first, uint32_t B, uint32_t L, uint32_t T,
                      bool per_image)
{
    float *att = test_alloc((size_t)B * L * T);
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t l = 0; l < L; l++)
            memcpy(att + (per_image ? (size_t)b * L + l : (size_t)l * B + b) * T,
                   want + ((size_t)l * all + first + b) * T, T * sizeof *att);
    return att;
}

/* The C reference on images [first, first + B): embedding, pooled class token, attention vs timm. */
static void check_reference(const struct vkvit_model *m, st_file *e, const char *name, uint32_t first, uint32_t B)
{
    const vit_dims *d = &m->dims;
    const uint32_t all = (uint32_t)st_find(e, "input")->shape[0], D = d->D, R = d->R, T = d->T, L = d->L;
    float *in = read_all(e, "input"), *want_e = read_all(e, "embedding"), *want_p = read_all(e, "pooled");
    float *want_a = read_all(e, "cls_attention");
    float *pooled = test_alloc((size_t)B * D), *pre = test_alloc((size_t)B * R), *maps = test_alloc((size_t)L * B * T);
    float *att = maps_of(want_a, all, first, B, L, T, false);
    char label[256];
    test_expect(ref_vit_forward(m, in + (size_t)first * d->C * d->image * d->image, B, NULL, pooled, pre, maps) == 0,
                "%s: reference forward ran", name);
    snprintf(label, sizeof label, "%s: C reference image embedding [%u x %u] vs timm", name, B, R);
    test_check(label, pre, want_e + (size_t)first * R, (size_t)B * R, TOL_FORWARD);
    snprintf(label, sizeof label, "%s: C reference post_layernorm class token [%u x %u] vs timm", name, B, D);
    test_check(label, pooled, want_p + (size_t)first * D, (size_t)B * D, TOL_FORWARD);
    snprintf(label, sizeof label, "%s: C reference class-token attention [%u x %u x %u] vs timm", name, L, B, T);
    test_check(label, maps, att, (size_t)L * B * T, TOL_FORWARD);
    free(in), free(want_e), free(want_p), free(want_a), free(pooled), free(pre), free(maps), free(att);
}

/* The GPU plan on images [first, first + B) against timm (embedding from `emb_name`), then vkvit_verify; for
 * B > 1 the same batch in passes of one image. */
static void check_gpu(vkvit_context *ctx, vkvit_model *m, st_file *e, const char *name, uint32_t first, uint32_t B,
                      const char *emb_name)
{
    const vit_dims *d = &m->dims;
    const bool f16 = m->elem_size == 2;
    const double tol = f16 ? TOL_F16_FORWARD : TOL_FORWARD;
    const char *pn = f16 ? " (fp16)" : "";
    const uint32_t all = (uint32_t)st_find(e, "input")->shape[0], E = d->E, T = d->T, L = d->L;
    float *in = read_all(e, "input"), *want_e = read_all(e, emb_name), *want_a = read_all(e, "cls_attention");
    float *emb = test_alloc((size_t)B * E), *maps = test_alloc((size_t)B * L * T);
    float *att = maps_of(want_a, all, first, B, L, T, true);
    const float *we = !strcmp(emb_name, "embedding") ? want_e + (size_t)first * E : want_e;
    char label[256];
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B, .attention_maps = 1};
    vkvit_status s = vkvit_plan_create(m, &po, &p);
    if (!test_expect(s == VKVIT_OK, "%s%s: GPU plan for batch %u (%s)", name, pn, B, s ? vkvit_last_error() : "ok"))
        goto done;
    vkvit_tensor t = {in + (size_t)first * d->C * d->image * d->image, B, d->C, d->image, d->image};
    test_ok(vkvit_run(p, &t, NULL), "run");
    test_ok(vkvit_get_embeddings(p, emb, (size_t)B * E), "embeddings");
    test_ok(vkvit_get_attention(p, maps, (size_t)B * L * T), "attention");
    snprintf(label, sizeof label, "%s%s: GPU image embedding [%u x %u] vs timm", name, pn, B, E);
    test_check(label, emb, we, (size_t)B * E, tol);
    snprintf(label, sizeof label, "%s%s: GPU class-token attention [%u x %u x %u] vs timm", name, pn, B, L, T);
    test_check(label, maps, att, (size_t)B * L * T, tol);
    float probe = 0;
    test_expect(vkvit_get_logits(p, &probe, 1) == VKVIT_ERROR_UNSUPPORTED, "%s%s: no logits (a tower has no "
                "classifier)", name, pn);
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
        test_ok(vkvit_get_embeddings(p, emb, (size_t)B * E), "embeddings");
        snprintf(label, sizeof label, "%s%s: GPU image embedding in passes of one image vs timm", name, pn);
        test_check(label, emb, we, (size_t)B * E, tol);
        vkvit_plan_destroy(p);
    }
done:
    free(in), free(want_e), free(want_a), free(emb), free(maps), free(att);
}

/* A tower's embedding against the fixture's: the C reference (batch 3, and 1 from image 2), the GPU in fp32
 * (batch 3 and 1), then the model loaded again in fp16 (batch 3; batch 1 too where `f16_b1`). */
static void check_embedding_runs(vkvit_context *ctx, vkvit_model *m, const char *path, st_file *e, const char *name,
                                 bool f16_b1)
{
    check_reference(m, e, name, 0, 3);
    check_reference(m, e, name, 2, 1);
    check_gpu(ctx, m, e, name, 0, 3, "embedding");
    check_gpu(ctx, m, e, name, 0, 1, "embedding_b1");
    vkvit_model *h = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP16};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &h);
    if (test_expect(s == VKVIT_OK, "%s: loads in fp16 (%s)", name, s ? vkvit_last_error() : "ok")) {
        check_gpu(ctx, h, e, name, 0, 3, "embedding");
        if (f16_b1)
            check_gpu(ctx, h, e, name, 0, 1, "embedding_b1");
        vkvit_model_destroy(h);
    }
}

static void check_fixture(vkvit_context *ctx, const char *dir, const char *fixture, vit_gelu gelu)
{
    char path[1024], epath[1024], name[160];
    snprintf(path, sizeof path, "%s/clip/%s", dir, fixture);
    snprintf(epath, sizeof epath, "%s/clip/%s/expected.safetensors", dir, fixture);
    snprintf(name, sizeof name, "clip/%s", fixture);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    const vit_dims *d = &m->dims;
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    printf("     %s: %s; embedding: %s\n", name, m->config, info.embedding);
    test_expect(!strcmp(info.family, "hf-clip") && d->pre_norm && m->cfg.projection && m->cfg.gelu == gelu &&
                    d->K == 0 && d->R == 23 && d->D == 45 && d->T == 50 && m->cfg.eps == 1e-5 &&
                    info.embedding_size == 23 && strstr(info.embedding, "CLIP image embedding"),
                "%s: an hf-clip tower (pre-norm, %s GELU, eps 1e-5, no classifier, 50 tokens), its embedding the "
                "23-float projection", name, gelu == VIT_GELU_QUICK ? "quick" : "exact");
    st_file *e = NULL;
    test_ok(st_open(epath, &e), epath);
    check_embedding_runs(ctx, m, path, e, name, true);
    st_close(e);
    vkvit_model_destroy(m);
}

/* timm's tower at an image-tower tag (clip/quickgelu/timm-tower: pretrained_cfg's num_classes is the model's):
 * its head is the projection, so the embedding is timm's model(x), by the C reference and the GPU (fp32, fp16;
 * batch 3, in passes, 1), and there are no logits. */
static void check_timm_tower(vkvit_context *ctx, const char *dir)
{
    char path[1024], epath[1024];
    const char *name = "clip/quickgelu/timm-tower";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(epath, sizeof epath, "%s/clip/quickgelu/expected.safetensors", dir);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s)", name, s ? vkvit_last_error() : "ok"))
        return;
    const vit_dims *d = &m->dims;
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    printf("     %s: %s; embedding: %s; outputs: %s\n", name, m->config, info.embedding, info.outputs);
    test_expect(!strcmp(info.family, "timm") && d->pre_norm && m->cfg.projection && m->cfg.gelu == VIT_GELU_QUICK &&
                    d->K == 0 && d->R == 23 && info.num_classes == 0 && info.embedding_size == 23 &&
                    strstr(info.embedding, "CLIP image embedding: timm's head") && !strstr(info.outputs, "logits"),
                "%s: timm's head is the projection: the embedding, 23 floats, no classifier", name);
    st_file *e = NULL;
    test_ok(st_open(epath, &e), epath);
    check_embedding_runs(ctx, m, path, e, name, false);
    st_close(e);
    vkvit_model_destroy(m);
}

/* The tower's weights with its config edited (`from` -> `to`): a fine-tune's tag, or label names, keep the head a
 * classifier (logits, the class token as the embedding). */
static void check_timm_classifier(vkvit_context *ctx, const char *dir, const char *from, const char *to)
{
    static unsigned n;
    static const char *base; /* test_temp_dir: once per program */
    char src[1024], tmp[1100], file[1200], link[1200];
    if (!base)
        base = test_temp_dir("clip");
    snprintf(tmp, sizeof tmp, "%s/case%u", base, n++);
    snprintf(src, sizeof src, "%s/clip/quickgelu/timm-tower", dir);
    test_expect(mkdir(tmp, 0700) == 0, "%s: made", tmp);
    snprintf(file, sizeof file, "%s/model.safetensors", src);
    snprintf(link, sizeof link, "%s/model.safetensors", tmp);
    test_expect(symlink(file, link) == 0, "%s: linked", link);
    snprintf(file, sizeof file, "%s/config.json", src);
    char *cfg = test_read_file(file, NULL), *at = cfg ? strstr(cfg, from) : NULL;
    if (!test_expect(at != NULL, "timm-tower's config.json holds '%s'", from)) {
        free(cfg);
        return;
    }
    const size_t head = (size_t)(at - cfg), nf = strlen(from), nt = strlen(to), rest = strlen(at + nf);
    char *edited = malloc(head + nt + rest + 1);
    if (!edited)
        exit(1);
    memcpy(edited, cfg, head), memcpy(edited + head, to, nt), memcpy(edited + head + nt, at + nf, rest + 1);
    snprintf(file, sizeof file, "%s/config.json", tmp);
    test_write_file(file, edited, strlen(edited));
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, tmp, NULL, &m);
    if (test_expect(s == VKVIT_OK, "timm-tower with %s: loads (%s)", to, s ? vkvit_last_error() : "ok")) {
        test_expect(!m->cfg.projection && m->dims.K == 23 && m->dims.R == 0 && m->dims.E == 45,
                    "timm-tower with %s: the head is a classifier (K %u, R %u, embedding %u)", to, m->dims.K,
                    m->dims.R, m->dims.E);
        vkvit_model_destroy(m);
    }
    free(cfg), free(edited);
}

/* A CLIPVisionModel (no projection): its embedding is the post_layernorm class token (timm's pooled), GPU fp32. */
static void check_vision_model(vkvit_context *ctx, const char *dir)
{
    char path[1024], epath[1024];
    snprintf(path, sizeof path, "%s/clip/quickgelu/vision-model", dir);
    snprintf(epath, sizeof epath, "%s/clip/quickgelu/expected.safetensors", dir);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "clip/quickgelu/vision-model: loads (%s)", s ? vkvit_last_error() : "ok"))
        return;
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    test_expect(m->dims.R == 0 && m->dims.K == 0 && info.embedding_size == 45 &&
                    !strcmp(info.embedding, "the class token after the final LayerNorm"),
                "clip/quickgelu/vision-model: a CLIPVisionModel: its embedding the 45-float class token (%s)",
                info.embedding);
    st_file *e = NULL;
    test_ok(st_open(epath, &e), epath);
    float *in = read_all(e, "input"), *want = read_all(e, "pooled"), *emb = test_alloc(3 * 45);
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = 3};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    vkvit_tensor t = {in, 3, 3, m->dims.image, m->dims.image};
    test_ok(vkvit_run(p, &t, NULL), "run");
    test_ok(vkvit_get_embeddings(p, emb, 3 * 45), "embeddings");
    test_check("clip/quickgelu/vision-model: GPU post_layernorm class token vs timm", emb, want, 3 * 45, TOL_FORWARD);
    vkvit_plan_destroy(p);
    free(in), free(want), free(emb);
    st_close(e);
    vkvit_model_destroy(m);
}

/* SigLIP on the GPU: batch 3 (also in passes of one image) and 1 against timm, vkvit_verify. */
static void check_gpu_siglip(vkvit_context *ctx, vkvit_model *m, st_file *e, const char *name)
{
    const vit_dims *d = &m->dims;
    const bool f16 = m->elem_size == 2;
    const double tol = f16 ? TOL_F16_FORWARD : TOL_FORWARD;
    const char *pn = f16 ? " (fp16)" : "";
    float *in = read_all(e, "input"), *want = read_all(e, "embedding"), *want_b1 = read_all(e, "embedding_b1");
    float *emb = test_alloc((size_t)3 * d->E);
    char label[256];
    for (uint32_t B = 3, chunk = 0; chunk < 3; chunk++, B = chunk == 2 ? 1 : 3) {
        vkvit_plan *p = NULL;
        vkvit_plan_options po = {.batch = B};
        ctx->test_max_chunk = chunk == 1 ? 1 : 0;
        vkvit_status s = vkvit_plan_create(m, &po, &p);
        ctx->test_max_chunk = 0;
        if (!test_expect(s == VKVIT_OK, "%s%s: GPU plan, batch %u%s (%s)", name, pn, B, chunk == 1 ? " in passes" : "",
                         s ? vkvit_last_error() : "ok"))
            continue;
        vkvit_tensor t = {in, B, d->C, d->image, d->image};
        test_ok(vkvit_run(p, &t, NULL), "run");
        test_ok(vkvit_get_embeddings(p, emb, (size_t)B * d->E), "embeddings");
        snprintf(label, sizeof label, "%s%s: GPU attention-pooled embedding, batch %u%s, vs timm", name, pn, B,
                 chunk == 1 ? " in passes of one image" : "");
        test_check(label, emb, B == 1 ? want_b1 : want, (size_t)B * d->E, tol);
        double rel = -1;
        test_ok(vkvit_verify(p, &rel), "verify");
        test_expect(rel <= (f16 ? TOL_F16_FORWARD : TOL_F32 * 10), "%s%s: vkvit_verify GPU vs C reference rel=%.3e",
                    name, pn, rel);
        vkvit_plan_destroy(p);
    }
    free(in), free(want), free(want_b1), free(emb);
}

/* timm's layout: logits (timm's head: the projection) and the embedding (the post_layernorm class token), by the
 * C reference and the GPU, fp32, batch 3, with vkvit_verify. */
static void check_timm(vkvit_context *ctx, const char *dir, const char *fixture, vit_gelu gelu)
{
    char path[1024], epath[1024], name[160], label[256];
    snprintf(path, sizeof path, "%s/clip/%s/timm", dir, fixture);
    snprintf(epath, sizeof epath, "%s/clip/%s/expected.safetensors", dir, fixture);
    snprintf(name, sizeof name, "clip/%s/timm", fixture);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    const vit_dims *d = &m->dims;
    printf("     %s: %s\n", name, m->config);
    test_expect(!strcmp(m->family, "timm") && d->pre_norm && m->cfg.gelu == gelu && d->K == 23 && d->R == 0 &&
                    d->T == 50 && m->cfg.eps == 1e-5,
                "%s: timm, pre-norm, %s GELU, eps 1e-5, the head's 23 outputs as logits", name,
                gelu == VIT_GELU_QUICK ? "quick" : "exact");
    st_file *e = NULL;
    test_ok(st_open(epath, &e), epath);
    const uint32_t B = 3, K = d->K, D = d->D;
    float *in = read_all(e, "input"), *want_e = read_all(e, "embedding"), *want_p = read_all(e, "pooled");
    float *logits = test_alloc((size_t)B * K), *pooled = test_alloc((size_t)B * D);
    test_expect(ref_vit_forward(m, in, B, logits, pooled, NULL, NULL) == 0, "%s: reference forward ran", name);
    snprintf(label, sizeof label, "%s: C reference logits (the projection) vs timm", name);
    test_check(label, logits, want_e, (size_t)B * K, TOL_FORWARD);
    snprintf(label, sizeof label, "%s: C reference embedding (post_layernorm class token) vs timm", name);
    test_check(label, pooled, want_p, (size_t)B * D, TOL_FORWARD);
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B};
    s = vkvit_plan_create(m, &po, &p);
    if (test_expect(s == VKVIT_OK, "%s: GPU plan (%s)", name, s ? vkvit_last_error() : "ok")) {
        vkvit_tensor t = {in, B, d->C, d->image, d->image};
        test_ok(vkvit_run(p, &t, NULL), "run");
        test_ok(vkvit_get_logits(p, logits, (size_t)B * K), "logits");
        test_ok(vkvit_get_embeddings(p, pooled, (size_t)B * D), "embeddings");
        snprintf(label, sizeof label, "%s: GPU logits (the projection) vs timm", name);
        test_check(label, logits, want_e, (size_t)B * K, TOL_FORWARD);
        snprintf(label, sizeof label, "%s: GPU embedding (post_layernorm class token) vs timm", name);
        test_check(label, pooled, want_p, (size_t)B * D, TOL_FORWARD);
        double rel = -1;
        test_ok(vkvit_verify(p, &rel), "verify");
        test_expect(rel <= TOL_F32 * 10, "%s: vkvit_verify GPU vs C reference rel=%.3e", name, rel);
        vkvit_plan_destroy(p);
    }
    free(in), free(want_e), free(want_p), free(logits), free(pooled);
    st_close(e);
    vkvit_model_destroy(m);
}

/* A SigLIP tower (HF's layout, or timm's in timm/): the pooled embedding against timm's. */
static void check_siglip(vkvit_context *ctx, const char *dir, const char *layout)
{
    char path[1024], epath[1024], name[160], label[256];
    snprintf(path, sizeof path, "%s/siglip/tower/%s", dir, layout);
    snprintf(epath, sizeof epath, "%s/siglip/tower/expected.safetensors", dir);
    snprintf(name, sizeof name, "siglip/%s", layout[0] ? layout : "hf");
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_status s = vkvit_model_load(ctx, path, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    const vit_dims *d = &m->dims;
    printf("     %s: %s\n", name, m->config);
    test_expect(!strcmp(m->family, layout[0] ? "timm" : "hf-siglip") && d->map && d->prefix == 0 && d->T == 49 &&
                    d->K == 0 && d->E == 45 && m->cfg.gelu == VIT_GELU_TANH && m->cfg.eps == 1e-6,
                "%s: no class token (49 tokens), pooled by attention, tanh GELU, eps 1e-6, a 45-float embedding",
                name);
    st_file *e = NULL;
    test_ok(st_open(epath, &e), epath);
    const uint32_t B = 3, D = d->D;
    float *in = read_all(e, "input"), *want = read_all(e, "embedding"), *want_b1 = read_all(e, "embedding_b1");
    float *pooled = test_alloc((size_t)B * D);
    test_expect(ref_vit_forward(m, in, B, NULL, pooled, NULL, NULL) == 0, "%s: reference forward ran", name);
    snprintf(label, sizeof label, "%s: C reference attention-pooled embedding [3 x %u] vs timm", name, D);
    test_check(label, pooled, want, (size_t)B * D, TOL_FORWARD);
    test_expect(ref_vit_forward(m, in, 1, NULL, pooled, NULL, NULL) == 0, "%s: reference forward ran", name);
    snprintf(label, sizeof label, "%s: C reference embedding, batch 1, vs timm", name);
    test_check(label, pooled, want_b1, D, TOL_FORWARD);
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B, .attention_maps = 1};
    test_expect(vkvit_plan_create(m, &po, &p) == VKVIT_ERROR_UNSUPPORTED && !p &&
                    strstr(vkvit_last_error(), "no class token"),
                "%s: no attention maps (%s)", name, vkvit_last_error());
    free(in), free(want), free(want_b1), free(pooled);
    check_gpu_siglip(ctx, m, e, name);
    if (!layout[0]) {
        vkvit_model *h = NULL;
        mo.precision = VKVIT_PRECISION_FP16;
        s = vkvit_model_load(ctx, path, &mo, &h);
        if (test_expect(s == VKVIT_OK, "%s: loads in fp16 (%s)", name, s ? vkvit_last_error() : "ok")) {
            check_gpu_siglip(ctx, h, e, name);
            vkvit_model_destroy(h);
        }
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
    check_fixture(ctx, argv[1], "quickgelu", VIT_GELU_QUICK);
    check_fixture(ctx, argv[1], "gelu", VIT_GELU_ERF);
    check_timm(ctx, argv[1], "quickgelu", VIT_GELU_QUICK);
    check_timm(ctx, argv[1], "gelu", VIT_GELU_ERF);
    check_timm_tower(ctx, argv[1]);
    check_timm_classifier(ctx, argv[1], "\"tag\": \"metaclip_2pt5b\"", "\"tag\": \"metaclip_2pt5b_ft_in1k\"");
    check_timm_classifier(ctx, argv[1], "\"global_pool\": \"token\",",
                          "\"global_pool\": \"token\", \"label_names\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", "
                          "\"g\", \"h\", \"i\", \"j\", \"k\", \"l\", \"m\", \"n\", \"o\", \"p\", \"q\", \"r\", "
                          "\"s\", \"t\", \"u\", \"v\", \"w\"],");
    check_vision_model(ctx, argv[1]);
    check_siglip(ctx, argv[1], "");
    check_siglip(ctx, argv[1], "timm");
    return test_finish(ctx);
}
