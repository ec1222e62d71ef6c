/* Image preprocessing: the spec parser (preprocessor_config.json, timm, defaults), the GPU op against
 * the C reference on random images of awkward sizes, both against PIL itself (fixtures made by
 * tools/make_image_fixtures.py), and vkvit_run_images through a plan (mixed batches, unused slots,
 * buffer growth, errors).
 * Usage: test_preprocess <tests/data dir> */
#include "common.h"
#include "ops/ops.h"
#include "plan.h"
#include "ref/ref.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------------------- */

static vit_config model_cfg(uint32_t image, uint32_t channels, config_format fmt)
{
    vit_config c;
    config_init(&c);
    c.format = fmt;
    c.image = image;
    c.channels = channels;
    return c;
}

static preprocess_spec spec_of(const char *json, uint32_t image, uint32_t channels)
{
    vit_config c = model_cfg(image, channels, CONFIG_FORMAT_HF);
    preprocess_spec s;
    test_ok(preprocess_spec_parse(json, strlen(json), "test.json", &c, &s), json);
    return s;
}

/* Random RGBA; kind 0: noise, 1: smooth gradients with hard edges (overshoot for bicubic). */
static vkvit_image random_image(uint32_t w, uint32_t h, uint64_t *rng, bool alpha, int kind)
{
    vkvit_image im = {malloc((size_t)w * h * 4), w, h};
    if (!im.rgba)
        exit(1);
    float fx = test_uniform(rng, 0.01f, 0.3f), fy = test_uniform(rng, 0.01f, 0.3f);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = im.rgba + ((size_t)y * w + x) * 4;
            for (int c = 0; c < 3; c++) {
                float v = kind ? 127.5f + 127.5f * sinf(fx * (float)x * (float)(c + 1) + fy * (float)y) : 0;
                if (kind && ((x / 7 + y / 5) & 1))
                    v = c == 1 ? 255.0f : 0.0f;
                p[c] = kind ? (uint8_t)v : (uint8_t)test_uniform(rng, 0, 256);
            }
            p[3] = alpha ? (uint8_t)test_uniform(rng, 0, 256) : 255;
        }
    return im;
}

/* Runs op_preprocess on images[0..n) in `batch` slots; out: [batch][C][S][W] (S x W: the spec's size x width). */
static void run_gpu(vkvit_context *ctx, const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch,
                    float *out)
{
    preprocess_sizes z;
    test_ok(preprocess_measure(spec, im, n, batch, &z), "measure");
    vk_buffer sm, sp, m, p, t;
    test_ok(vk_buffer_create(ctx, z.meta * 4, VK_MEM_HOST, &sm), "staging meta");
    test_ok(vk_buffer_create(ctx, z.pixels * 4, VK_MEM_HOST, &sp), "staging pixels");
    test_ok(vk_buffer_create(ctx, z.meta * 4, VK_MEM_DEVICE, &m), "meta");
    test_ok(vk_buffer_create(ctx, z.pixels * 4, VK_MEM_DEVICE, &p), "pixels");
    test_ok(vk_buffer_create(ctx, z.scratch * 4, VK_MEM_DEVICE, &t), "scratch");
    size_t count = (size_t)batch * spec->channels * spec->size * preprocess_width(spec);
    vk_buffer o = test_poisoned(ctx, OP_F32, count);
    preprocess_pack(spec, im, n, batch, sm.map, sp.map);
    preprocess_args a = {.spec = spec, .batch = batch, .staging_meta = vk_whole(&sm), .staging_pixels = vk_whole(&sp),
                         .meta = vk_whole(&m), .pixels = vk_whole(&p), .scratch = vk_whole(&t), .out = vk_whole(&o)};
    test_run(ctx, test_record_preprocess, &a);
    test_download(ctx, &o, out, count);
    vk_buffer *all[] = {&sm, &sp, &m, &p, &t, &o};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        vk_buffer_destroy(ctx, all[i]);
}

/* The 8-bit level a normalised value came from (the GPU output is normalised). */
static int level_of(const preprocess_spec *s, uint32_t c, float v)
{
    return (int)lrint(((double)v * s->std[c] + s->mean[c]) / s->rescale);
}

/* GPU slot vs the reference of one image: identical 8-bit levels, normalised values within fp32. */
static void compare_slot(const char *name, const preprocess_spec *s, const vkvit_image *im, const float *gpu)
{
    size_t per = (size_t)s->channels * s->size * s->size;
    uint8_t *lev = malloc(per);
    float *ref = test_alloc(per);
    test_ok(ref_preprocess(s, im, lev, ref), name);
    size_t diff = 0;
    int worst = 0;
    for (size_t i = 0; i < per; i++) {
        int d = abs(level_of(s, (uint32_t)(i / ((size_t)s->size * s->size)), gpu[i]) - lev[i]);
        diff += d != 0;
        worst = d > worst ? d : worst;
    }
    char label[600];
    snprintf(label, sizeof label, "%.500s: normalised", name);
    test_check(label, gpu, ref, per, TOL_F32);
    test_expect(diff == 0, "%s: 8-bit levels identical to the reference (%zu of %zu differ, by up to %d)", name, diff,
                per, worst);
    free(lev);
    free(ref);
}

/* ---- spec parsing ------------------------------------------------------------------------------------------ */

static void test_specs(void)
{
    preprocess_spec s = spec_of("{\"do_resize\": true, \"size\": {\"shortest_edge\": 256}, \"resample\": 3, "
                                "\"do_center_crop\": true, \"crop_size\": {\"height\": 224, \"width\": 224}, "
                                "\"do_rescale\": true, \"rescale_factor\": 0.00392156862745098, \"do_normalize\": true, "
                                "\"image_mean\": [0.485, 0.456, 0.406], \"image_std\": [0.229, 0.224, 0.225]}",
                                224, 3);
    test_expect(s.resize == PRE_RESIZE_SHORTEST && s.resize_w == 256 && s.filter == PRE_BICUBIC && s.crop &&
                    s.crop_w == 224 && s.crop_round == PRE_CROP_FLOOR && fabsf(s.mean[1] - 0.456f) < 1e-7f &&
                    fabsf(s.std[2] - 0.225f) < 1e-7f,
                "spec: DeiT's preprocessor_config.json -> %s", s.summary);
    s = spec_of("{}", 32, 1);
    test_expect(s.resize == PRE_RESIZE_EXACT && s.resize_w == 32 && s.resize_h == 32 && s.filter == PRE_BILINEAR &&
                    !s.crop && s.mean[0] == 0.5f && s.std[0] == 0.5f && fabsf(s.rescale - 1 / 255.0f) < 1e-9f,
                "spec: {} takes ViTImageProcessor's defaults -> %s", s.summary);
    s = spec_of("{\"size\": 28, \"resample\": 0, \"image_mean\": 0.2860, \"image_std\": [0.3530], \"do_rescale\": false}",
                28, 1);
    test_expect(s.resize == PRE_RESIZE_EXACT && s.resize_w == 28 && s.filter == PRE_NEAREST && s.rescale == 1.0f &&
                    fabsf(s.mean[0] - 0.286f) < 1e-7f,
                "spec: int size, nearest, scalar mean, no rescale -> %s", s.summary);
    s = spec_of("{\"do_resize\": false, \"do_normalize\": false, \"do_center_crop\": true, \"crop_size\": 64}", 64, 3);
    test_expect(s.resize == PRE_RESIZE_NONE && s.crop && s.crop_w == 64 && s.mean[2] == 0.0f && s.std[2] == 1.0f,
                "spec: no resize, no normalise, int crop -> %s", s.summary);
    s = spec_of("{\"resample\": 1}", 16, 3);
    preprocess_spec s4 = spec_of("{\"resample\": 4}", 16, 3), s5 = spec_of("{\"resample\": 5}", 16, 3);
    test_expect(s.filter == PRE_BICUBIC && s4.filter == PRE_BILINEAR && s5.filter == PRE_BILINEAR,
                "spec: PIL LANCZOS -> bicubic, BOX and HAMMING -> bilinear");

    vit_config t = model_cfg(224, 3, CONFIG_FORMAT_TIMM);
    test_ok(preprocess_spec_default(&t, &s), "timm default");
    test_expect(s.resize == PRE_RESIZE_SHORTEST && s.resize_w == 256 && s.filter == PRE_BICUBIC && s.crop &&
                    s.crop_round == PRE_CROP_HALF_EVEN && fabsf(s.mean[0] - 0.485f) < 1e-7f,
                "spec: timm without pretrained_cfg hints: crop_pct 0.875, bicubic, ImageNet -> %s", s.summary);
    t.crop_pct = 0.7f;
    t.present |= CONFIG_CROP_PCT | CONFIG_INTERPOLATION;
    snprintf(t.interpolation, sizeof t.interpolation, "bilinear");
    test_ok(preprocess_spec_default(&t, &s), "timm crop_pct");
    test_expect(s.resize_w == 320 && s.filter == PRE_BILINEAR, "spec: timm crop_pct 0.7 -> shorter side %u (320 as "
                "Python's floor(224 / 0.7)), %s", s.resize_w, s.summary);
    vit_config h = model_cfg(384, 3, CONFIG_FORMAT_HF);
    test_ok(preprocess_spec_default(&h, &s), "hf default");
    test_expect(s.resize == PRE_RESIZE_EXACT && s.resize_w == 384 && !s.crop, "spec: HF without preprocessor config: "
                "%s", s.summary);

    /* The same specs for a model run at another size (vkvit_model_options.image_size). */
    t.crop_pct = 0.875f;
    test_ok(preprocess_spec_default(&t, &s), "timm crop_pct 0.875");
    test_ok(preprocess_spec_resize(&s, 384), "timm spec for 384");
    test_expect(s.resize_w == 438 && s.crop_w == 384 && s.crop_h == 384 && s.size == 384 &&
                    strstr(s.summary, "resize shorter side to 438") && strstr(s.summary, "(for 384x384; the "
                    "checkpoint's spec is for 224x224)"), "spec: timm at 384: floor(384 / 0.875) = 438, crop 384 -> %s",
                s.summary);
    test_ok(preprocess_spec_default(&h, &s), "hf default");
    test_ok(preprocess_spec_resize(&s, 192), "HF default spec for 192");
    test_expect(s.resize == PRE_RESIZE_EXACT && s.resize_w == 192 && s.resize_h == 192 && !s.crop && s.size == 192,
                "spec: HF resize-to-size at 192 -> %s", s.summary);
    s = spec_of("{\"size\": {\"shortest_edge\": 256}, \"do_center_crop\": true, \"crop_size\": 224}", 224, 3);
    test_ok(preprocess_spec_resize(&s, 384), "HF shortest edge + crop for 384");
    test_expect(s.resize == PRE_RESIZE_SHORTEST && s.resize_w == 438 && s.crop_w == 384 && s.crop_h == 384,
                "spec: HF 256/224 at 384: shorter side 256 x 384 / 224 = %u (438), crop 384 -> %s", s.resize_w,
                s.summary);
    s = spec_of("{\"do_resize\": false, \"do_center_crop\": true, \"crop_size\": 64}", 64, 3);
    test_ok(preprocess_spec_resize(&s, 32), "crop only, for 32");
    test_expect(s.resize == PRE_RESIZE_NONE && s.crop_w == 32, "spec: crop only at 32 -> %s", s.summary);

    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[1, 2]", "not a JSON object"},
        {"{\"do_resize\": 1}", "do_resize is 1, not true or false"},
        {"{\"size\": {\"height\": 224}}", "\"size\" is not"},
        {"{\"size\": {\"shortest_edge\": 224, \"longest_edge\": 1333}, \"do_center_crop\": true}", "longest_edge"},
        {"{\"size\": {\"shortest_edge\": 256}}", "without do_center_crop"},
        {"{\"size\": 0}", "\"size\" is not"},
        {"{\"size\": 256}", "size 256x256"},
        {"{\"do_center_crop\": true, \"crop_size\": 200}", "crop_size 200x200"},
        {"{\"resample\": 7}", "\"resample\""},
        {"{\"image_mean\": [0.5, 0.5]}", "\"image_mean\" must be a number or a list of 3"},
        {"{\"image_std\": [0.5, 0, 0.5]}", "channel 1 has mean 0.5, std 0"},
        {"{\"image_std\": [0.5, \"x\", 0.5]}", "\"image_std\"[1] is not a number"},
        {"{\"rescale_factor\": \"1/255\"}", "\"rescale_factor\" is not a number"},
        {"{\"rescale_factor\": -1}", "rescale_factor -1"},
    };
    vit_config c = model_cfg(224, 3, CONFIG_FORMAT_HF);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vkvit_status st = preprocess_spec_parse(bad[i].json, strlen(bad[i].json), "p.json", &c, &s);
        const char *msg = vkvit_last_error();
        test_expect(st == VKVIT_ERROR_BAD_CONFIG && strstr(msg, bad[i].needle) && strstr(msg, "p.json"),
                    "spec error %s -> %s: %s", bad[i].json, vkvit_status_string(st), msg);
    }
}

/* ---- geometry against hand-computed values ------------------------------------------------------------------ */

static void test_geometry(void)
{
    preprocess_spec hf = spec_of("{\"size\": {\"shortest_edge\": 256}, \"do_center_crop\": true, \"crop_size\": 224}",
                                 224, 3);
    pre_geom g;
    test_ok(pre_geometry(&hf, 640, 481, &g), "geometry");
    /* 481 -> 256, 640 -> int(256 * 640 / 481) = 340; origins (340 - 224) // 2 = 58, (256 - 224) // 2 = 16 */
    test_expect(g.x.resized == 340 && g.y.resized == 256 && g.x.origin == 58 && g.y.origin == 16 && g.x.kept == 224 &&
                    g.x.kept0 == 0 && g.x.taps == 2 * 2 + 1,
                "geometry 640x481 shortest 256 crop 224 bilinear: %ux%u, origin (%lld, %lld), %u taps", g.x.resized,
                g.y.resized, (long long)g.x.origin, (long long)g.y.origin, g.x.taps);
    preprocess_spec tv = hf;
    tv.crop_round = PRE_CROP_HALF_EVEN;
    test_ok(pre_geometry(&tv, 343, 256, &g), "geometry");
    pre_geom g2;
    test_ok(pre_geometry(&tv, 345, 256, &g2), "geometry");
    test_expect(g.x.origin == 60 && g2.x.origin == 60, "geometry: torchvision rounds (343-224)/2 = 59.5 to %lld and "
                "(345-224)/2 = 60.5 to %lld (half to even: 60, 60)", (long long)g.x.origin, (long long)g2.x.origin);
    test_ok(pre_geometry(&hf, 343, 256, &g), "geometry");
    test_expect(g.x.origin == 59, "geometry: Hugging Face floors (343-224)/2 to %lld (59)", (long long)g.x.origin);
    /* a crop larger than the image: 100x50 -> shortest 256: 512x256; crop 300 -> pads rows */
    preprocess_spec big = spec_of("{\"size\": {\"shortest_edge\": 101}, \"do_center_crop\": true, \"crop_size\": 150}",
                                  150, 3);
    test_ok(pre_geometry(&big, 100, 50, &g), "geometry");
    test_expect(g.y.resized == 101 && g.y.origin == -25 && g.y.kept0 == 25 && g.y.kept == 101 && g.x.resized == 202 &&
                    g.x.origin == 26 && g.x.kept == 150,
                "geometry: crop 150 of 202x101 -> rows from %lld (kept %u from %u)", (long long)g.y.origin, g.y.kept,
                g.y.kept0);
    big.crop_round = PRE_CROP_HALF_EVEN;
    test_ok(pre_geometry(&big, 100, 50, &g), "geometry");
    test_expect(g.y.origin == -24, "geometry: torchvision pads (150-101)//2 = 24 rows first (origin %lld)",
                (long long)g.y.origin);
}

/* ---- GPU vs reference ----------------------------------------------------------------------------------------- */

typedef struct gcase {
    uint32_t w, h;
    bool alpha;
    int kind;
} gcase;

static void test_gpu_vs_ref(vkvit_context *ctx, uint64_t *rng)
{
    static const char *const specs[] = {
        /* HF ViT: exact resize */
        "{\"size\": {\"height\": 224, \"width\": 224}, \"resample\": 2}",
        "{\"size\": {\"height\": 224, \"width\": 224}, \"resample\": 3, \"image_mean\": [0.485, 0.456, 0.406], "
        "\"image_std\": [0.229, 0.224, 0.225]}",
        /* DeiT / timm-like: shortest edge + crop */
        "{\"size\": {\"shortest_edge\": 256}, \"resample\": 3, \"do_center_crop\": true, \"crop_size\": 224}",
        "{\"size\": {\"shortest_edge\": 248}, \"resample\": 2, \"do_center_crop\": true, \"crop_size\": 224}",
        "{\"size\": {\"height\": 224, \"width\": 224}, \"resample\": 0}",
    };
    static const gcase cases[] = {
        {1, 1, false, 0},     {1, 500, false, 0},   {500, 1, true, 0},    {7, 13, false, 1},   {3000, 17, false, 1},
        {17, 3000, false, 0}, {640, 480, true, 1},  {224, 224, false, 0}, {10, 10, false, 1},  {225, 223, false, 1},
    };
    for (uint32_t C = 3; C != 0 && C <= 3; C -= 2)
        for (size_t si = 0; si < sizeof specs / sizeof *specs; si++) {
            if (C == 1 && strstr(specs[si], "image_mean")) /* three means: an RGB model's */
                continue;
            preprocess_spec s = spec_of(specs[si], 224, C);
            for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
                if (C == 1 && ci % 2) /* grey: every other size is enough */
                    continue;
                vkvit_image im = random_image(cases[ci].w, cases[ci].h, rng, cases[ci].alpha, cases[ci].kind);
                float *out = test_alloc((size_t)C * 224 * 224);
                run_gpu(ctx, &s, &im, 1, 1, out);
                char name[400];
                snprintf(name, sizeof name, "%ux%u%s -> %s", im.width, im.height, cases[ci].alpha ? " RGBA" : "",
                         s.summary);
                compare_slot(name, &s, &im, out);
                free(out);
                free(im.rgba);
            }
        }

    /* Alpha is ignored: the same colours with alpha 0 give the same input. */
    preprocess_spec s = spec_of(specs[2], 224, 3);
    vkvit_image a = random_image(300, 200, rng, true, 1), b = {malloc(300 * 200 * 4), 300, 200};
    memcpy(b.rgba, a.rgba, 300 * 200 * 4);
    for (size_t i = 0; i < 300 * 200; i++)
        b.rgba[4 * i + 3] = (uint8_t)(i & 1 ? 0 : 255);
    float *oa = test_alloc(3 * 224 * 224), *ob = test_alloc(3 * 224 * 224);
    run_gpu(ctx, &s, &a, 1, 1, oa);
    run_gpu(ctx, &s, &b, 1, 1, ob);
    test_expect(!memcmp(oa, ob, 3 * 224 * 224 * sizeof *oa), "alpha ignored: random alpha and 0/255 alpha give "
                "bitwise the same input");
    free(a.rgba), free(b.rgba), free(oa), free(ob);

    /* A batch of mixed sizes in one run, 2 slots left empty: each slot is its image alone (no
     * bleeding between images), the empty slots are zeros. */
    for (uint32_t C = 3; C != 0 && C <= 3; C -= 2) {
        s = spec_of("{\"size\": {\"shortest_edge\": 73}, \"resample\": 3, \"do_center_crop\": true, "
                    "\"crop_size\": 64}", 64, C);
        enum { N = 5, B = 7 };
        const uint32_t sz[N][2] = {{640, 480}, {1, 1}, {90, 2000}, {64, 64}, {33, 7}};
        vkvit_image ims[N];
        for (int i = 0; i < N; i++)
            ims[i] = random_image(sz[i][0], sz[i][1], rng, i == 2, i & 1);
        size_t per = (size_t)C * 64 * 64;
        float *out = test_alloc(B * per);
        run_gpu(ctx, &s, ims, N, B, out);
        for (int i = 0; i < N; i++) {
            char name[128];
            snprintf(name, sizeof name, "batch of %d in %d slots, C=%u, slot %d (%ux%u)", N, B, C, i, sz[i][0], sz[i][1]);
            compare_slot(name, &s, &ims[i], out + i * per);
        }
        size_t nonzero = 0;
        for (size_t i = N * per; i < B * per; i++)
            nonzero += out[i] != 0.0f;
        test_expect(nonzero == 0, "batch C=%u: unused slots %d..%d are zeros (%zu non-zero)", C, N, B - 1, nonzero);
        for (int i = 0; i < N; i++)
            free(ims[i].rgba);
        free(out);
    }
}

/* ---- against PIL ----------------------------------------------------------------------------------------------- */

/* The largest |level - want| of the C reference and of the GPU op on one image; want [C][S][W] 8-bit levels. */
static void worst_levels(vkvit_context *ctx, const preprocess_spec *s, const vkvit_image *im, const uint8_t *want,
                         int *worst_ref, int *worst_gpu)
{
    const size_t plane = (size_t)s->size * preprocess_width(s), per = s->channels * plane;
    uint8_t *lev = malloc(per);
    float *gpu = test_alloc(per);
    test_ok(ref_preprocess(s, im, lev, NULL), "ref");
    run_gpu(ctx, s, im, 1, 1, gpu);
    *worst_ref = *worst_gpu = 0;
    for (size_t k = 0; k < per; k++) {
        int dr = abs((int)lev[k] - want[k]), dg = abs(level_of(s, (uint32_t)(k / plane), gpu[k]) - want[k]);
        *worst_ref = dr > *worst_ref ? dr : *worst_ref;
        *worst_gpu = dg > *worst_gpu ? dg : *worst_gpu;
    }
    free(lev);
    free(gpu);
}

/* tests/data/preprocess-pil.safetensors: per case i, "i.image" U8 [h][w][4], "i.spec" F32 [10] =
 * (resize mode, resize w, resize h, filter, crop, crop w, crop h, crop rounding, channels, size) with
 * the values of the pre_* enums, "i.expected" U8 [C][S][S]: PIL's pixels after resize and crop. */
static void test_against_pil(vkvit_context *ctx, const char *data_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/preprocess-pil.safetensors", data_dir);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    int cases = 0, exact = 0;
    for (int i = 0;; i++) {
        char n_im[32], n_sp[32], n_ex[32];
        snprintf(n_im, sizeof n_im, "%d.image", i);
        snprintf(n_sp, sizeof n_sp, "%d.spec", i);
        snprintf(n_ex, sizeof n_ex, "%d.expected", i);
        const st_tensor *ti = st_find(f, n_im), *ts = st_find(f, n_sp), *te = st_find(f, n_ex);
        if (!ti || !ts || !te)
            break;
        float v[10];
        test_ok(st_read_f32(ts, v, 10), n_sp);
        vit_config c = model_cfg((uint32_t)v[9], (uint32_t)v[8], CONFIG_FORMAT_HF);
        preprocess_spec s;
        test_ok(preprocess_spec_parse("{}", 2, "pil", &c, &s), "spec");
        s.resize = (pre_resize)v[0];
        s.resize_w = (uint32_t)v[1];
        s.resize_h = (uint32_t)v[2];
        s.filter = (pre_filter)v[3];
        s.crop = v[4] != 0;
        s.crop_w = (uint32_t)v[5];
        s.crop_h = (uint32_t)v[6];
        s.crop_round = (pre_crop_round)v[7];
        vkvit_image im = {(uint8_t *)ti->data, (uint32_t)ti->shape[1], (uint32_t)ti->shape[0]};
        int worst_ref, worst_gpu;
        worst_levels(ctx, &s, &im, te->data, &worst_ref, &worst_gpu);
        static const char *const fn[] = {"nearest", "bilinear", "bicubic"};
        test_expect(worst_ref == 0 && worst_gpu == 0, "PIL case %d: %ux%u %s -> %s%s, C=%u S=%u: max |level - PIL's| "
                    "reference %d, GPU %d", i, im.width, im.height, fn[s.filter],
                    s.resize == PRE_RESIZE_SHORTEST ? "shortest edge " : "", s.crop ? (s.crop_round ? "+ crop (torchvision)"
                    : "+ crop (HF)") : "", s.channels, s.size, worst_ref, worst_gpu);
        exact += worst_ref == 0 && worst_gpu == 0;
        cases++;
    }
    test_expect(cases >= 10, "%d PIL cases read from %s, %d pixel-exact", cases, path, exact);
    st_close(f);
}

/* ---- through a plan ---------------------------------------------------------------------------------------------- */

static void test_plan(vkvit_context *ctx, uint64_t *rng)
{
    for (uint32_t C = 3; C != 0 && C <= 3; C -= 2) {
        vit_config c = model_cfg(32, C, CONFIG_FORMAT_HF);
        c.hidden = 64, c.layers = 2, c.heads = 4, c.mlp = 128, c.patch = 8, c.num_labels = 10;
        config_apply_defaults(&c);
        vkvit_model *m = NULL;
        test_ok(model_synthetic(ctx, &c, 7, 0, VKVIT_PRECISION_FP32, &m), "synthetic model");
        m->pre.resize = PRE_RESIZE_SHORTEST; /* as a DeiT: shorter side 37, centre crop 32, bicubic */
        m->pre.resize_w = 37;
        m->pre.crop = true;
        m->pre.filter = PRE_BICUBIC;
        enum { B = 4 };
        vkvit_plan *p = NULL;
        vkvit_plan_options po = {.batch = B};
        test_ok(vkvit_plan_create(m, &po, &p), "plan");
        size_t per = (size_t)C * 32 * 32;
        float *ref = test_alloc(B * per), *la = test_alloc(B * 10), *lb = test_alloc(B * 10);
        uint8_t *lev = malloc(per);

        /* runs of growing then shrinking size: the buffers grow (and the variant is re-recorded) */
        const uint32_t runs[][3][2] = {{{40, 30}, {32, 32}, {5, 9}}, {{700, 500}, {31, 200}, {1, 1}},
                                       {{20, 20}, {0, 0}, {0, 0}}, {{1500, 1000}, {1000, 1500}, {3, 3}}};
        const uint32_t counts[] = {3, 3, 1, 3};
        uint64_t bytes_before = 0;
        for (size_t r = 0; r < sizeof counts / sizeof *counts; r++) {
            vkvit_image ims[3];
            for (uint32_t i = 0; i < counts[r]; i++)
                ims[i] = random_image(runs[r][i][0], runs[r][i][1], rng, i == 1, (int)(i & 1));
            test_ok(vkvit_run_images(p, ims, counts[r], NULL), "vkvit_run_images");
            vkvit_plan_info info;
            test_ok(vkvit_plan_get_info(p, &info), "info");
            memset(ref, 0, B * per * sizeof *ref);
            for (uint32_t i = 0; i < counts[r]; i++)
                test_ok(ref_preprocess(&m->pre, &ims[i], lev, ref + i * per), "ref");
            char name[160];
            snprintf(name, sizeof name, "plan C=%u run %zu (%u images, image memory %llu bytes): preprocessed input", C,
                     r, counts[r], (unsigned long long)info.image_bytes);
            test_check(name, plan_input(p), ref, B * per, TOL_F32);
            test_expect(info.image_bytes >= bytes_before, "plan C=%u run %zu: image memory only grows", C, r);
            bytes_before = info.image_bytes;
            /* the same input through vkvit_run gives the same logits */
            test_ok(vkvit_get_logits(p, la, counts[r] * 10), "logits");
            vkvit_tensor t = {ref, counts[r], C, 32, 32};
            test_ok(vkvit_run(p, &t, NULL), "vkvit_run");
            test_ok(vkvit_get_logits(p, lb, counts[r] * 10), "logits");
            snprintf(name, sizeof name, "plan C=%u run %zu: logits from images == logits from the reference tensor", C, r);
            test_check(name, la, lb, counts[r] * 10, TOL_F32);
            for (uint32_t i = 0; i < counts[r]; i++)
                free(ims[i].rgba);
        }
        free(ref), free(la), free(lb), free(lev);

        /* errors */
        vkvit_image ok = random_image(8, 8, rng, false, 0), bad = ok;
        vkvit_image five[5] = {ok, ok, ok, ok, ok};
        struct {
            vkvit_status want;
            const vkvit_image *im;
            uint32_t n;
            uint32_t w, h;
            bool null_px;
            const char *needle;
        } errs[] = {
            {VKVIT_ERROR_INVALID_ARGUMENT, &ok, 0, 8, 8, false, "n = 0"},
            {VKVIT_ERROR_BATCH_TOO_LARGE, five, 5, 8, 8, false, "batch 4"},
            {VKVIT_ERROR_INVALID_ARGUMENT, &bad, 1, 8, 8, true, "image 0 has no pixels"},
            {VKVIT_ERROR_BAD_IMAGE, &bad, 1, 0, 8, false, "image 0 is 0x8"},
            {VKVIT_ERROR_BAD_IMAGE, &bad, 1, 20000, 1, false, "image 0 is 20000x1"},
            {VKVIT_ERROR_INVALID_ARGUMENT, NULL, 1, 8, 8, false, "NULL images"},
        };
        for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
            bad = ok;
            bad.width = errs[i].w;
            bad.height = errs[i].h;
            if (errs[i].null_px)
                bad.rgba = NULL;
            vkvit_status s = vkvit_run_images(p, errs[i].im, errs[i].n, NULL);
            test_expect(s == errs[i].want && strstr(vkvit_last_error(), errs[i].needle), "run_images error: %s: %s",
                        vkvit_status_string(s), vkvit_last_error());
        }
        /* more pixels than one binding may hold: refused with a message, and the plan still works */
        uint64_t range = ctx->info.max_storage_buffer_range, rows = range / (4 * 16384) + 1;
        if (rows <= VKVIT_MAX_IMAGE_SIDE) {
            vkvit_image big = {calloc(16384 * rows, 4), 16384, (uint32_t)rows};
            vkvit_status s = vkvit_run_images(p, &big, 1, NULL);
            test_expect(s == VKVIT_ERROR_UNSUPPORTED && strstr(vkvit_last_error(), "maxStorageBufferRange"),
                        "run_images with a 16384x%llu image (over maxStorageBufferRange %llu): %s: %s",
                        (unsigned long long)rows, (unsigned long long)range, vkvit_status_string(s), vkvit_last_error());
            free(big.rgba);
            s = vkvit_run_images(p, &ok, 1, NULL);
            test_expect(s == VKVIT_OK, "run_images after that refusal: %s", vkvit_status_string(s));
        } else {
            printf("     (maxStorageBufferRange %llu holds any image: no over-limit case on this device)\n",
                   (unsigned long long)range);
        }
        /* a spec that neither resizes nor crops takes only the model's size */
        m->pre.resize = PRE_RESIZE_NONE;
        m->pre.crop = false;
        vkvit_status s = vkvit_run_images(p, &ok, 1, NULL);
        test_expect(s == VKVIT_ERROR_INPUT_SIZE && strstr(vkvit_last_error(), "image 0: a 8x8 image"),
                    "run_images without resize: %s: %s", vkvit_status_string(s), vkvit_last_error());
        free(ok.rgba);
        vkvit_plan_destroy(p);
        vkvit_model_destroy(m);
    }
}

/* tests/data/preprocess-nonsquare.safetensors (tools/make_nonsquare_fixtures.py): per case i, "i.image" U8
 * [h][w][4], "i.case" F32 [8] = (kind, H, W, crop_pct, filter, crop h, crop w, square size), "i.expected" U8
 * [3][H'][W']: timm's eval transform for input_size (H, W) (kind 0: a config with img_size [H, W]; kind 2: a square
 * config run at H x W) or a Hugging Face processor with size {height: H, width: W} (kind 1). The spec is built as
 * vkvit builds it for such a model; the reference and the GPU op must give timm's / PIL's pixels exactly. */
static void test_against_nonsquare(vkvit_context *ctx, const char *data_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/preprocess-nonsquare.safetensors", data_dir);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    static const char *const kinds[] = {"timm img_size [H, W]", "HF size {height, width}", "timm square run at HxW"};
    static const char *const filters[] = {"nearest", "bilinear", "bicubic"};
    int cases = 0;
    for (int i = 0;; i++) {
        char n_im[32], n_case[32], n_ex[32];
        snprintf(n_im, sizeof n_im, "%d.image", i);
        snprintf(n_case, sizeof n_case, "%d.case", i);
        snprintf(n_ex, sizeof n_ex, "%d.expected", i);
        const st_tensor *ti = st_find(f, n_im), *tc = st_find(f, n_case), *te = st_find(f, n_ex);
        if (!ti || !tc || !te)
            break;
        float v[8];
        test_ok(st_read_f32(tc, v, 8), n_case);
        const int kind = (int)v[0], filt = (int)v[4];
        const uint32_t H = (uint32_t)v[1], W = (uint32_t)v[2], ch = (uint32_t)v[5], cw = (uint32_t)v[6];
        vit_config c = model_cfg(kind == 2 ? (uint32_t)v[7] : H, 3, kind == 1 ? CONFIG_FORMAT_HF : CONFIG_FORMAT_TIMM);
        c.image_w = kind == 2 || H == W ? 0 : W;
        c.crop_pct = v[3];
        snprintf(c.interpolation, sizeof c.interpolation, "%s", filters[filt]);
        c.present |= CONFIG_CROP_PCT | CONFIG_INTERPOLATION;
        preprocess_spec s;
        if (kind == 1) {
            char json[256];
            static const int pil[] = {0, 2, 3};
            int n = snprintf(json, sizeof json, "{\"size\": {\"height\": %u, \"width\": %u}, \"resample\": %d", H, W,
                             pil[filt]);
            if (ch)
                c.image = ch, c.image_w = ch == cw ? 0 : cw;
            snprintf(json + n, sizeof json - (size_t)n, ch ? ", \"do_center_crop\": true, \"crop_size\": {\"height\": "
                     "%u, \"width\": %u}}" : "}", ch, cw);
            test_ok(preprocess_spec_parse(json, strlen(json), "preprocessor_config.json", &c, &s), json);
        } else {
            test_ok(preprocess_spec_default(&c, &s), "timm spec");
            if (kind == 2)
                test_ok(preprocess_spec_resize_rect(&s, H, W), "timm spec resized");
        }
        const uint32_t oh = ch ? ch : H, ow = ch ? cw : W;
        test_expect(s.size == oh && preprocess_width(&s) == ow && te->shape[1] == oh && te->shape[2] == ow,
                    "case %d: the spec makes %ux%u images (height x width; want %ux%u)", i, s.size,
                    preprocess_width(&s), oh, ow);
        vkvit_image im = {(uint8_t *)ti->data, (uint32_t)ti->shape[1], (uint32_t)ti->shape[0]};
        int worst_ref, worst_gpu;
        worst_levels(ctx, &s, &im, te->data, &worst_ref, &worst_gpu);
        test_expect(worst_ref == 0 && worst_gpu == 0, "non-square case %d: a %ux%u image, %s %ux%u, %s (%s): max "
                    "|level - reference's| C reference %d, GPU %d", i, im.width, im.height, kinds[kind], H, W,
                    filters[filt], s.summary, worst_ref, worst_gpu);
        cases++;
    }
    test_expect(cases >= 7, "%d non-square cases read from %s", cases, path);
    st_close(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tests/data dir>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    test_specs();
    test_geometry();
    test_against_pil(ctx, argv[1]);
    test_against_nonsquare(ctx, argv[1]);
    test_gpu_vs_ref(ctx, &rng);
    test_plan(ctx, &rng);
    return test_finish(ctx);
}
