/* LayerScale ViTs and DINOv2: the tiny timm models of tests/data/dino (made by tools/make_dino_fixtures.py): DeiT III
 * (no_embed_class, LayerScale), DINOv2 (LayerScale, patch 14) and DINOv2 with 4 registers, in timm's layout and
 * (DINOv2) Hugging Face's, at the checkpoint's size and at a 7x7 grid (the position embedding resampled as each
 * publisher does it); DINOv2 with and without registers saved at a 6x6 grid and run at 9 rows x 7 columns of
 * patches (dinov2-6, reg4-6: image_size 126, image_width 98). Each against PyTorch's float64 run of timm's
 * modules: the C reference forward (embedding, logits; batch 3 and batch 1), bound TOL_FORWARD; the GPU plan
 * fp32 within TOL_FORWARD and fp16 within TOL_F16_FORWARD, batch 3 and 1, with vkvit_verify against the C
 * reference; the HF DINOv2 classifier's [cls | mean of the patch tokens] head as transformers computes it.
 * At the checkpoint's size, the same GPU checks with the LayerNorms unfused (vkvit_model_options.layernorm:
 * 7 dispatches per layer instead of 5, docs/fusion.md), fp32 and fp16, at the same bounds.
 * Also: the LayerScale fold leaves no trace (the loaded projection is gamma times the file's); a batch in passes
 * of one image; checkpoints whose config disagrees with them (register counts, the position rows, SwiGLU)
 * refused with a message naming the problem.
 * Usage: test_dino <tests/data dir> */
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
        fprintf(stderr, "FATAL: '%s' is missing\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    return v;
}

/* The C reference on images [0, B) against PyTorch's rows (batch 3 rows, or the *_b1 run for B = 1). */
static void check_reference(const struct vkvit_model *m, st_file *e, const char *name, uint32_t B)
{
    const vit_dims *d = &m->dims;
    const char *sfx = B == 1 ? "_b1" : "";
    char key[32], label[256];
    float *in = read_all(e, "input"), *logits = test_alloc((size_t)B * (d->K + 1));
    float *pooled = test_alloc((size_t)B * d->prefix * d->D);
    test_expect(ref_vit_forward(m, in, B, logits, pooled, NULL, NULL) == 0, "%s: reference forward ran", name);
    snprintf(key, sizeof key, "embedding%s", sfx);
    float *want = read_all(e, key);
    snprintf(label, sizeof label, "%s: C reference embedding [%u x %u] vs PyTorch", name, B, d->D);
    test_check(label, pooled, want, (size_t)B * d->D, TOL_FORWARD);
    free(want);
    if (d->K) {
        snprintf(key, sizeof key, "logits%s", sfx);
        want = read_all(e, key);
        snprintf(label, sizeof label, "%s: C reference logits [%u x %u] vs PyTorch", name, B, d->K);
        test_check(label, logits, want, (size_t)B * d->K, TOL_FORWARD);
        free(want);
    }
    free(in), free(logits), free(pooled);
}

/* The GPU plan on images [0, B) against PyTorch's rows, then vkvit_verify against the C reference. */
static void check_gpu(vkvit_model *m, st_file *e, const char *name, uint32_t B)
{
    const vit_dims *d = &m->dims;
    const bool f16 = m->elem_size == 2;
    const double tol = f16 ? TOL_F16_FORWARD : TOL_FORWARD;
    const char *pn = f16 ? " (fp16)" : "", *sfx = B == 1 ? "_b1" : "";
    char key[32], label[256];
    float *in = read_all(e, "input"), *out = test_alloc((size_t)B * (d->K > d->E ? d->K : d->E));
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B};
    vkvit_status s = vkvit_plan_create(m, &po, &p);
    if (!test_expect(s == VKVIT_OK, "%s%s: GPU plan for batch %u (%s)", name, pn, B, s ? vkvit_last_error() : "ok"))
        goto done;
    vkvit_tensor t = {in, B, d->C, d->image, d->image_w};
    test_ok(vkvit_run(p, &t, NULL), "run");
    test_ok(vkvit_get_embeddings(p, out, (size_t)B * d->E), "embeddings");
    snprintf(key, sizeof key, "embedding%s", sfx);
    float *want = read_all(e, key);
    snprintf(label, sizeof label, "%s%s: GPU embedding [%u x %u] vs PyTorch", name, pn, B, d->E);
    test_check(label, out, want, (size_t)B * d->E, tol);
    free(want);
    if (d->K) {
        test_ok(vkvit_get_logits(p, out, (size_t)B * d->K), "logits");
        snprintf(key, sizeof key, "logits%s", sfx);
        want = read_all(e, key);
        snprintf(label, sizeof label, "%s%s: GPU logits [%u x %u] vs PyTorch", name, pn, B, d->K);
        test_check(label, out, want, (size_t)B * d->K, tol);
        free(want);
    }
    double rel = -1;
    test_ok(vkvit_verify(p, &rel), "verify");
    test_expect(rel <= (f16 ? TOL_F16_FORWARD : TOL_F32 * 10), "%s%s: vkvit_verify GPU vs C reference rel=%.3e", name,
                pn, rel);
    vkvit_plan_destroy(p);
    if (B > 1 && d->K) { /* in passes of one image: the classifier input is each pass's */
        m->ctx->test_max_chunk = 1;
        s = vkvit_plan_create(m, &po, &p);
        m->ctx->test_max_chunk = 0;
        if (!test_expect(s == VKVIT_OK && p->chunk == 1, "%s%s: a plan in passes of one image (%s)", name, pn,
                         s ? vkvit_last_error() : "ok"))
            goto done;
        test_ok(vkvit_run(p, &t, NULL), "run chunked");
        test_ok(vkvit_get_logits(p, out, (size_t)B * d->K), "logits");
        want = read_all(e, "logits");
        snprintf(label, sizeof label, "%s%s: GPU logits in passes of one image vs PyTorch", name, pn);
        test_check(label, out, want, (size_t)B * d->K, tol);
        free(want);
        vkvit_plan_destroy(p);
    }
done:
    free(in), free(out);
}

/* The projection of block 0 as loaded is gamma (ls1) times the file's, row by row: the fold, at load, once. */
static void check_fold(const struct vkvit_model *m, const char *dir, const char *name)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    float *w = read_all(f, "blocks.0.attn.proj.weight"), *g = read_all(f, "blocks.0.ls1.gamma");
    const uint32_t D = m->dims.D;
    for (uint32_t o = 0; o < D; o++)
        for (uint32_t i = 0; i < D; i++)
            w[(size_t)o * D + i] *= g[o];
    char label[256];
    snprintf(label, sizeof label, "%s: block 0's projection folded with ls1.gamma", name);
    test_check(label, model_host(m, 0, L_PROJ_W), w, (size_t)D * D, 1e-7);
    free(w), free(g);
    st_close(f);
}

/* image: the run size (0: the checkpoint's), image_w its width where it differs (0: square). */
static void check_fixture(vkvit_context *ctx, const char *data, const char *fixture, const char *layout,
                          uint32_t image, uint32_t image_w, const char *family, uint32_t tokens)
{
    char dir[1024], path[1100], name[160];
    if (strlen(data) > 900)
        return;
    snprintf(dir, sizeof dir, "%s/dino/%s/%s", data, fixture, layout);
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32, .image_size = image,
                              .image_width = image_w};
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, dir, &mo, &m);
    snprintf(name, sizeof name, "%s/%s", fixture, layout);
    if (!test_expect(s == VKVIT_OK, "%s: loads (%s%s%s)", name, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        return;
    const vit_dims *d = &m->dims;
    char size[32];
    if (d->image_w == d->image)
        snprintf(size, sizeof size, "%u", d->image);
    else
        snprintf(size, sizeof size, "%ux%u", d->image, d->image_w);
    snprintf(name, sizeof name, "%s/%s at %s px", fixture, layout, size);
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    printf("     %s: %s (%s)\n", name, info.family, info.config);
    test_expect(!strcmp(info.family, family) && info.tokens == tokens, "%s: family %s (want %s), %u tokens (want %u)",
                name, info.family, family, info.tokens, tokens);
    if (!strcmp(layout, "timm") && !image)
        check_fold(m, dir, name);
    snprintf(path, sizeof path, "%s/expected-%s.safetensors", dir, size);
    st_file *e = NULL;
    test_ok(st_open(path, &e), path);
    check_reference(m, e, name, 3);
    check_reference(m, e, name, 1);
    check_gpu(m, e, name, 3);
    check_gpu(m, e, name, 1);
    vkvit_model *h = NULL;
    mo.precision = VKVIT_PRECISION_FP16;
    s = vkvit_model_load(ctx, dir, &mo, &h);
    if (test_expect(s == VKVIT_OK, "%s: loads in fp16 (%s)", name, s ? vkvit_last_error() : "ok")) {
        check_gpu(h, e, name, 3);
        vkvit_model_destroy(h);
    }
    for (int k = 0; !image && k < 2; k++) {
        char unfused[200];
        snprintf(unfused, sizeof unfused, "%s, unfused LayerNorm", name);
        mo.layernorm = VKVIT_LAYERNORM_UNFUSED;
        mo.precision = k ? VKVIT_PRECISION_FP16 : VKVIT_PRECISION_FP32;
        s = vkvit_model_load(ctx, dir, &mo, &h);
        if (test_expect(s == VKVIT_OK, "%s: loads (%s)", unfused, s ? vkvit_last_error() : "ok")) {
            check_gpu(h, e, unfused, 3);
            vkvit_model_destroy(h);
        }
    }
    st_close(e);
    vkvit_model_destroy(m);
}

/* The program's one temporary folder (test_temp_dir: once per program), removed at exit. */
static const char *temp_dir(void)
{
    static const char *tmp;
    if (!tmp)
        tmp = test_temp_dir("dino");
    return tmp;
}

/* A fixture's weights beside its config.json with `from` replaced by `to`: the load fails with `want`, saying
 * `says`. */
static void check_refused(vkvit_context *ctx, const char *data, const char *fixture, const char *from, const char *to,
                          vkvit_status want, const char *says)
{
    static unsigned n;
    char src[1024], dir[1100], file[1200];
    snprintf(src, sizeof src, "%s/dino/%s", data, fixture);
    snprintf(dir, sizeof dir, "%s/case%u", temp_dir(), n++);
    test_expect(mkdir(dir, 0700) == 0, "%s: made", dir);
    snprintf(file, sizeof file, "%s/model.safetensors", src);
    char link[1200];
    snprintf(link, sizeof link, "%s/model.safetensors", dir);
    test_expect(symlink(file, link) == 0, "%s: linked", link);
    snprintf(file, sizeof file, "%s/config.json", src);
    char *cfg = test_read_file(file, NULL), *at = cfg ? strstr(cfg, from) : NULL;
    if (!test_expect(at != NULL, "%s: config.json holds '%s'", fixture, from)) {
        free(cfg);
        return;
    }
    const size_t head = (size_t)(at - cfg), nf = strlen(from), nt = strlen(to), rest = strlen(at + nf);
    char *edited = malloc(head + nt + rest + 1);
    if (!edited)
        exit(1);
    memcpy(edited, cfg, head), memcpy(edited + head, to, nt), memcpy(edited + head + nt, at + nf, rest + 1);
    snprintf(file, sizeof file, "%s/config.json", dir);
    test_write_file(file, edited, strlen(edited));
    vkvit_model *m = NULL;
    char what[200];
    snprintf(what, sizeof what, "%s with %s", fixture, to);
    test_expect_status(what, vkvit_model_load(ctx, dir, NULL, &m), want, says);
    test_expect(m == NULL, "%s: no model", what);
    free(cfg), free(edited);
}

/* Hugging Face runs facebook/dinov2-* at its image processor's crop (224) though its config says 518: so does
 * vkvit_model_load without an image_size. dinov2/hf (config: 70 px) behind a processor cropping to 56. */
static void check_processor_crop(vkvit_context *ctx, const char *data)
{
    char src[1024], dir[1100], a[1200], b[1200];
    snprintf(src, sizeof src, "%s/dino/dinov2/hf", data);
    snprintf(dir, sizeof dir, "%s/crop", temp_dir());
    test_expect(mkdir(dir, 0700) == 0, "%s: made", dir);
    static const char *const files[] = {"model.safetensors", "config.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", src, files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        test_expect(symlink(a, b) == 0, "%s: linked", b);
    }
    static const char processor[] = "{\"crop_size\": {\"height\": 56, \"width\": 56}, \"do_center_crop\": true, "
        "\"do_normalize\": true, \"do_rescale\": true, \"do_resize\": true, \"image_mean\": [0.485, 0.456, 0.406], "
        "\"image_std\": [0.229, 0.224, 0.225], \"image_processor_type\": \"BitImageProcessor\", \"resample\": 3, "
        "\"rescale_factor\": 0.00392156862745098, \"size\": {\"shortest_edge\": 64}}\n";
    snprintf(b, sizeof b, "%s/preprocessor_config.json", dir);
    test_write_file(b, processor, strlen(processor));
    vkvit_model_options mo = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, dir, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "dinov2/hf behind a 56 px processor crop: loads (%s)",
                     s ? vkvit_last_error() : "ok"))
        return;
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    test_expect(info.image_size == 56 && info.tokens == 17, "dinov2/hf behind a 56 px crop runs at %u px, %u tokens "
                "(want 56, 17): %s", info.image_size, info.tokens, info.preprocessing);
    snprintf(a, sizeof a, "%s/expected-56.safetensors", src);
    st_file *e = NULL;
    test_ok(st_open(a, &e), a);
    check_reference(m, e, "dinov2/hf at its processor's 56 px", 3);
    check_gpu(m, e, "dinov2/hf at its processor's 56 px", 3);
    st_close(e);
    vkvit_model_destroy(m);
}

/* A DINOv2 giant's SwiGLU MLP (HF's mlp.weights_in) without a config: refused by name, not as an unknown tensor. */
static void check_swiglu_tensors(vkvit_context *ctx)
{
    static const char header[] = "{\"encoder.layer.0.norm1.weight\":{\"dtype\":\"F32\",\"shape\":[4],"
                                 "\"data_offsets\":[0,16]},\"encoder.layer.0.mlp.weights_in.weight\":{\"dtype\":"
                                 "\"F32\",\"shape\":[8,4],\"data_offsets\":[16,144]}}";
    const uint64_t hn = sizeof header - 1;
    unsigned char file[8 + sizeof header + 144] = {0};
    for (int i = 0; i < 8; i++)
        file[i] = (unsigned char)(hn >> (8 * i));
    memcpy(file + 8, header, hn);
    char path[1100];
    snprintf(path, sizeof path, "%s/swiglu.safetensors", temp_dir());
    test_write_file(path, file, 8 + hn + 144);
    vkvit_model *m = NULL;
    test_expect_status("an HF DINOv2 with a SwiGLU MLP", vkvit_model_load(ctx, path, NULL, &m), VKVIT_ERROR_UNSUPPORTED,
                       "tensor 'encoder.layer.0.mlp.weights_in.weight' belongs to a SwiGLU MLP (DINOv2 giant)");
    test_expect(m == NULL, "SwiGLU: no model");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tests/data>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    /* grid 5 = 25 patches at the checkpoint's size, 49 at the 7x7 one; + the class token and 4 registers */
    static const struct {
        const char *fixture, *layout, *family;
        uint32_t also, lead;
    } f[] = {
        {"deit3", "timm", "timm", 56, 1},
        {"dinov2", "timm", "timm", 98, 1},
        {"dinov2", "hf", "hf-dinov2", 98, 1},
        {"reg4", "timm", "timm", 98, 5},
        {"reg4", "hf", "hf-dinov2-registers", 98, 5},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        check_fixture(ctx, argv[1], f[i].fixture, f[i].layout, 0, 0, f[i].family, f[i].lead + 25);
        check_fixture(ctx, argv[1], f[i].fixture, f[i].layout, f[i].also, 0, f[i].family, f[i].lead + 49);
    }
    /* saved at a 6x6 grid, run at 9 rows x 7 columns (126 x 98 px): the position rows resampled per axis */
    for (size_t i = 1; i < sizeof f / sizeof *f; i++) {
        char fixture[32];
        snprintf(fixture, sizeof fixture, "%s-6", f[i].fixture);
        check_fixture(ctx, argv[1], fixture, f[i].layout, 126, 98, f[i].family, f[i].lead + 63);
    }
    check_processor_crop(ctx, argv[1]);
    check_swiglu_tensors(ctx);
    check_refused(ctx, argv[1], "reg4/hf", "\"num_register_tokens\": 4", "\"num_register_tokens\": 2",
                  VKVIT_ERROR_SHAPE_MISMATCH, "the config says 2 register tokens, the checkpoint has 4 "
                  "('dinov2_with_registers.embeddings.register_tokens')");
    check_refused(ctx, argv[1], "reg4/hf", "\"use_swiglu_ffn\": false", "\"use_swiglu_ffn\": true",
                  VKVIT_ERROR_UNSUPPORTED, "use_swiglu_ffn = true is not supported (DINOv2's SwiGLU MLP");
    check_refused(ctx, argv[1], "dinov2/hf", "\"model_type\": \"dinov2\"",
                  "\"model_type\": \"dinov2_with_registers\", \"num_register_tokens\": 4",
                  VKVIT_ERROR_MISSING_TENSOR, "the config says 4 register tokens, the checkpoint has 0");
    check_refused(ctx, argv[1], "reg4/timm", "vit_small_patch14_reg4_dinov2", "vit_small_patch14_dinov2",
                  VKVIT_ERROR_SHAPE_MISMATCH, "the config says 0 register tokens, the checkpoint has 4 ('reg_token')");
    /* DeiT III's position embedding has no class row: told otherwise, its 25 rows are one short */
    check_refused(ctx, argv[1], "deit3/timm", "\"img_size\": 40,", "\"img_size\": 40, \"no_embed_class\": false,",
                  VKVIT_ERROR_SHAPE_MISMATCH, "tensor 'pos_embed' has shape [1, 25, 36], expected [26, 36]");
    return test_finish(ctx);
}
