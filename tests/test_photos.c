/* The real DeiT-Tiny on the photos in ../shared/images, end to end through the public API: decode
 * (libjpeg-turbo for the JPEGs, as PIL; stb_image for the PNGs), vkvit_run_images (GPU preprocessing
 * from the model's preprocessor_config.json + the forward pass), and PyTorch's answer on PIL's
 * preprocessing of the same files (tests/data/photos-expected.safetensors, tools/make_image_fixtures.py).
 * Every photo must get PyTorch's top-1, its logits within TOL_FORWARD of PyTorch's and each of PyTorch's
 * top-5 classes a probability within 1e-4 of PyTorch's. The preprocessed pixels are compared with PIL's too
 * (a 56 x 56 grid of the crop and per-channel statistics) and must be identical, JPEG and PNG alike (before
 * JPEGs were decoded with libjpeg, stb_image's pixels put them 1-2 levels and up to 3.5e-2 in the logits away).
 * With "fp16" (the fp16 path: weights and activations in fp16) the top-1 must still be PyTorch's, which
 * is also vkvit's fp32 top-1, on every photo; probabilities within 0.02 and vkvit_verify within the
 * fp16 whole-forward bound (the logits are not bounded against PyTorch's there).
 * Usage: test_photos <deit-tiny-imagenet dir> <images dir> <photos-expected.safetensors> [fp16] */
#include "common.h"
#include "plan.h"
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PHOTOS = 64, BATCH = 4, S = 224, GRID = 56 };

typedef struct expected {
    uint32_t n, K;
    char names[MAX_PHOTOS][128];
    float *logits, top5_index[MAX_PHOTOS][5], top5_prob[MAX_PHOTOS][5], stats[MAX_PHOTOS][3][2];
    uint8_t *grid;   /* [n][3][GRID][GRID] */
} expected;

static void read_expected(const char *path, expected *e)
{
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    cJSON *names = cJSON_Parse(st_metadata(f, "photos") ? st_metadata(f, "photos") : "");
    const st_tensor *tl = st_find(f, "logits"), *ti = st_find(f, "top5_index"), *tp = st_find(f, "top5_prob"),
                    *ts = st_find(f, "pixel_stats"), *tg = st_find(f, "pixel_grid");
    if (!names || !cJSON_IsArray(names) || !tl || !ti || !tp || !ts || !tg || tg->dtype != ST_U8 ||
        cJSON_GetArraySize(names) > MAX_PHOTOS || (uint64_t)cJSON_GetArraySize(names) != tl->shape[0]) {
        fprintf(stderr, "FATAL: %s is not what tools/make_image_fixtures.py writes\n", path);
        exit(1);
    }
    e->n = (uint32_t)tl->shape[0];
    e->K = (uint32_t)tl->shape[1];
    int i = 0;
    for (const cJSON *it = names->child; it; it = it->next, i++)
        snprintf(e->names[i], sizeof e->names[i], "%s", it->valuestring);
    cJSON_Delete(names);
    e->logits = test_alloc((size_t)e->n * e->K);
    test_ok(st_read_f32(tl, e->logits, (size_t)e->n * e->K), "logits");
    test_ok(st_read_f32(ti, &e->top5_index[0][0], (size_t)e->n * 5), "top5_index");
    test_ok(st_read_f32(tp, &e->top5_prob[0][0], (size_t)e->n * 5), "top5_prob");
    test_ok(st_read_f32(ts, &e->stats[0][0][0], (size_t)e->n * 6), "pixel_stats");
    e->grid = malloc(tg->size);
    memcpy(e->grid, tg->data, tg->size);
    st_close(f);
}

static const char *short_label(const char *l, char *buf, size_t n)
{
    snprintf(buf, n, "%s", l ? l : "?");
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = 0;
    return buf;
}

/* The preprocessed input (plan_input after vkvit_run_images) against PIL's 8-bit crop. */
static void compare_pixels(const vkvit_model *m, const float *in, const expected *e, uint32_t k, int *max_grid,
                           double *mean_grid, double *max_stat)
{
    const preprocess_spec *sp = &m->pre;
    double sum[3] = {0}, sq[3] = {0};
    *max_grid = 0;
    *mean_grid = 0;
    for (uint32_t c = 0; c < 3; c++)
        for (uint32_t y = 0; y < S; y++)
            for (uint32_t x = 0; x < S; x++) {
                double v = ((double)in[((size_t)c * S + y) * S + x] * sp->std[c] + sp->mean[c]) / sp->rescale;
                int lv = (int)lrint(v);
                sum[c] += lv;
                sq[c] += (double)lv * lv;
                if (y % 4 == 2 && x % 4 == 2) {
                    int d = abs(lv - e->grid[(((size_t)k * 3 + c) * GRID + y / 4) * GRID + x / 4]);
                    *max_grid = d > *max_grid ? d : *max_grid;
                    *mean_grid += d;
                }
            }
    *mean_grid /= 3.0 * GRID * GRID;
    *max_stat = 0;
    for (uint32_t c = 0; c < 3; c++) {
        double mean = sum[c] / (S * S), sd = sqrt(fmax(sq[c] / (S * S) - mean * mean, 0));
        *max_stat = fmax(*max_stat, fmax(fabs(mean - e->stats[k][c][0]), fabs(sd - e->stats[k][c][1])));
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s <deit-tiny-imagenet dir> <images dir> <photos-expected.safetensors>\n", argv[0]);
        return 2;
    }
    expected e;
    read_expected(argv[3], &e);
    vkvit_context *ctx = test_context();
    const bool f16 = argc > 4 && !strcmp(argv[4], "fp16");
    if (f16 && !test_fp16(ctx))
        return test_finish(ctx);
    vkvit_model *m = NULL;
    vkvit_model_options mo = {.keep_host_weights = 1,
                              .precision = f16 ? VKVIT_PRECISION_FP16 : VKVIT_PRECISION_FP32};
    test_ok(vkvit_model_load(ctx, argv[1], &mo, &m), argv[1]);
    vkvit_model_info mi;
    test_ok(vkvit_model_get_info(m, &mi), "model info");
    printf("     model %s: %s, %s\n     preprocessing: %s\n", argv[1], mi.family, vkvit_precision_string(mi.precision),
           mi.preprocessing);
    test_expect(mi.precision == mo.precision, "the model runs in the precision asked for");
    test_expect(mi.num_classes == e.K, "model has %u classes, the fixture %u", mi.num_classes, e.K);
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = BATCH};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    if (f16)
        test_expect_plan_coopmat(ctx, p);

    float *prob = test_alloc((size_t)BATCH * e.K), *logits = test_alloc((size_t)BATCH * e.K);
    char lb[64], lb2[64];
    printf("\n     %-14s %-9s | %-26s %-26s | %-9s %-7s %-8s | %-9s\n", "photo", "size", "vkvit top-1", "PyTorch top-1",
           "max |dp|", "rel dz", "pixels", "max/mean");
    int all_top1 = 0, all_top5 = 0;
    double worst_dp = 0;
    for (uint32_t first = 0; first < e.n; first += BATCH) {
        uint32_t n = e.n - first < BATCH ? e.n - first : BATCH;
        vkvit_image ims[BATCH];
        for (uint32_t i = 0; i < n; i++) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", argv[2], e.names[first + i]);
            test_ok(vkvit_image_load(path, &ims[i]), path);
        }
        test_ok(vkvit_run_images(p, ims, n, NULL), "vkvit_run_images");
        test_ok(vkvit_get_probabilities(p, prob, (size_t)n * e.K), "probabilities");
        test_ok(vkvit_get_logits(p, logits, (size_t)n * e.K), "logits");
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = first + i;
            const float *z = logits + (size_t)i * e.K, *pz = prob + (size_t)i * e.K, *want = e.logits + (size_t)k * e.K;
            double num = 0, den = 0, dp = 0;
            for (uint32_t j = 0; j < e.K; j++)
                num += ((double)z[j] - want[j]) * ((double)z[j] - want[j]), den += (double)want[j] * want[j];
            for (int r = 0; r < 5; r++)
                dp = fmax(dp, fabs((double)pz[(uint32_t)e.top5_index[k][r]] - e.top5_prob[k][r]));
            uint32_t g = test_argmax(z, e.K), t = (uint32_t)e.top5_index[k][0];
            int max_grid;
            double mean_grid, max_stat;
            compare_pixels(m, plan_input(p) + (size_t)i * 3 * S * S, &e, k, &max_grid, &mean_grid, &max_stat);
            char sz[32];
            snprintf(sz, sizeof sz, "%ux%u", ims[i].width, ims[i].height);
            printf("     %-14s %-9s | %3u %-22.22s %3u %-22.22s | %9.5f %7.1e %3d/%.3f | stats %.3f\n", e.names[k], sz, g,
                   short_label(vkvit_model_label(m, g), lb, sizeof lb), t, short_label(vkvit_model_label(m, t), lb2, sizeof lb2),
                   dp, sqrt(num / den), max_grid, mean_grid, max_stat);
            vkvit_prediction top[5];
            test_ok(vkvit_top_k(p, i, 5, top), "top-k");
            printf("     %14s vkvit:  ", "");
            for (int r = 0; r < 5; r++)
                printf(" %u %s %.4f%s", top[r].index, short_label(top[r].label, lb, sizeof lb),
                       (double)top[r].probability, r < 4 ? ";" : "\n");
            printf("     %14s PyTorch:", "");
            for (int r = 0; r < 5; r++) {
                uint32_t c = (uint32_t)e.top5_index[k][r];
                printf(" %u %s %.4f (vkvit %.4f)%s", c, short_label(vkvit_model_label(m, c), lb, sizeof lb),
                       (double)e.top5_prob[k][r], (double)pz[c], r < 4 ? ";" : "\n");
            }
            all_top1 += g == t;
            all_top5 += dp <= (f16 ? 0.02 : 1e-4);
            worst_dp = fmax(worst_dp, dp);
            test_expect(g == t, "%s: top-1 %u == PyTorch's %u", e.names[k], g, t);
            const double max_dp = f16 ? 0.02 : 1e-4;
            test_expect(dp <= max_dp, "%s: PyTorch's top-5 probabilities within %g (max |dp| %.2e)", e.names[k], max_dp,
                        dp);
            if (!f16)
                test_expect(sqrt(num / den) <= TOL_FORWARD, "%s: logits vs PyTorch's, rel %.2e", e.names[k],
                            sqrt(num / den));
            test_expect(max_grid == 0 && max_stat < 1e-4, "%s: preprocessed pixels identical to PIL's (grid max |d| "
                        "%d, statistics %.2e)", e.names[k], max_grid, max_stat);
        }
        for (uint32_t i = 0; i < n; i++)
            vkvit_image_destroy(&ims[i]);
    }
    printf("     %d/%u photos with PyTorch's top-1, %d/%u with top-5 within the bound (worst %.2e)\n", all_top1, e.n,
           all_top5, e.n, worst_dp);
    double rel = 0;
    test_ok(vkvit_verify(p, &rel), "verify");
    test_expect(rel <= (f16 ? TOL_F16_FORWARD : TOL_FORWARD), "vkvit_verify on the last run's preprocessed photos: GPU "
                "forward vs the C reference, rel %.2e", rel);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    free(prob), free(logits), free(e.logits), free(e.grid);
    return test_finish(ctx);
}
