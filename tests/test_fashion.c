/* The accuracy test: the bundled model (models/fashion-vit) on all 10,000 Fashion-MNIST test images,
 * read from the IDX files of Debian's dataset-fashion-mnist, against PyTorch's own predictions on the
 * same weights (models/fashion-vit/torch_predictions.safetensors, made by tools/train_fashion_mnist.py).
 *
 * Checks: vkvit's top-1 accuracy equals PyTorch's within 0.1 percentage point; the per-image top-1
 * agrees with PyTorch's on >= 99.9% of the images; the logits match PyTorch's (fp32 whole forward,
 * ||vkvit - torch|| / ||torch|| <= 1e-4, as in TESTING.md); the labels come from config.json.
 * Preprocessing is exactly what preprocessor_config.json says: x * rescale_factor, then
 * (x - image_mean) / image_std, the numbers read from the committed file.
 *
 * Usage: test_fashion <dataset dir> <model dir>     (meson test fashion)
 * A missing dataset is a failure naming the package, never a skip. */
#include "common.h"
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define N_TEST 10000u
#define SIDE 28u
#define CLASSES 10u
#define BATCH 100u

static const char *const class_names[CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static void fatal_missing_dataset(const char *path, const char *why)
{
    printf("FAIL cannot read %s (%s).\n"
           "     The accuracy test needs the Fashion-MNIST test set from Debian's dataset-fashion-mnist\n"
           "     package: apt-get install dataset-fashion-mnist\n",
           path, why);
}

/* Reads a gzip-compressed IDX file of unsigned bytes with `ndim` dimensions; the sizes must equal
 * `dims`. Returns the data (malloc'd) or NULL after printing why. */
static uint8_t *read_idx(const char *path, unsigned ndim, const uint32_t *dims)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        fatal_missing_dataset(path, "missing or unreadable");
        return NULL;
    }
    uint8_t head[4 + 4 * 3];
    size_t head_len = 4 + 4 * (size_t)ndim, count = 1;
    uint8_t *data = NULL;
    if (gzread(gz, head, (unsigned)head_len) != (int)head_len) {
        fatal_missing_dataset(path, "truncated header");
        goto out;
    }
    if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != ndim) {
        fatal_missing_dataset(path, "not an unsigned-byte IDX file of the expected rank");
        goto out;
    }
    for (unsigned i = 0; i < ndim; i++) {
        const uint8_t *p = head + 4 + 4 * i;
        uint32_t d = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d != dims[i]) {
            char why[96];
            snprintf(why, sizeof why, "dimension %u is %u, expected %u", i, d, dims[i]);
            fatal_missing_dataset(path, why);
            goto out;
        }
        count *= d;
    }
    data = malloc(count);
    if (!data || gzread(gz, data, (unsigned)count) != (int)count) {
        fatal_missing_dataset(path, "truncated data");
        free(data);
        data = NULL;
    }
out:
    gzclose(gz);
    return data;
}

/* The ViTImageProcessor numbers from preprocessor_config.json: rescale factor, mean, std (one channel). */
static bool read_preprocessing(const char *path, float *rescale, float *mean, float *std)
{
    char *text = test_read_file(path, NULL);
    if (!test_expect(text != NULL, "read %s", path))
        return false;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "rescale_factor");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "image_mean");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "image_std");
    bool ok = test_expect(j && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "do_rescale")) &&
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "do_normalize")) &&
                              cJSON_IsNumber(r) && cJSON_IsArray(m) && cJSON_GetArraySize(m) == 1 &&
                              cJSON_IsNumber(cJSON_GetArrayItem(m, 0)) && cJSON_IsArray(s) &&
                              cJSON_GetArraySize(s) == 1 && cJSON_IsNumber(cJSON_GetArrayItem(s, 0)),
                          "%s: do_rescale, do_normalize, rescale_factor, one image_mean and one image_std", path);
    if (ok) {
        *rescale = (float)r->valuedouble;
        *mean = (float)cJSON_GetArrayItem(m, 0)->valuedouble;
        *std = (float)cJSON_GetArrayItem(s, 0)->valuedouble;
        printf("     preprocessing from %s: (x * %.9g - %g) / %g\n", path, (double)*rescale, (double)*mean,
               (double)*std);
    }
    cJSON_Delete(j);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <fashion-mnist dataset dir> <models/fashion-vit dir>\n", argv[0]);
        return 2;
    }
    const char *data_dir = argv[1], *model_dir = argv[2];
    char path[4096];

    /* ---- the dataset: a failure, not a skip, when it is missing ---- */
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", data_dir);
    const uint32_t image_dims[3] = {N_TEST, SIDE, SIDE}, label_dims[1] = {N_TEST};
    uint8_t *pixels = read_idx(path, 3, image_dims);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", data_dir);
    uint8_t *labels = pixels ? read_idx(path, 1, label_dims) : NULL;
    if (!pixels || !labels) {
        free(pixels);
        printf("0 passed, 1 failed\n");
        return 1;
    }

    vkvit_context *ctx = test_context();

    /* ---- PyTorch's answers ---- */
    snprintf(path, sizeof path, "%s/torch_predictions.safetensors", model_dir);
    st_file *tf = NULL;
    test_ok(st_open(path, &tf), path);
    const st_tensor *tp = st_find(tf, "predictions"), *tl = st_find(tf, "logits");
    if (!test_expect(tp && tp->dtype == ST_I32 && tp->rank == 1 && tp->count == N_TEST && tl && tl->rank == 2 &&
                         tl->shape[0] == N_TEST && tl->shape[1] == CLASSES,
                     "%s holds predictions I32 [%u] and logits [%u,%u]", path, N_TEST, N_TEST, CLASSES))
        exit(test_finish(ctx));
    int32_t *torch_pred = malloc(N_TEST * sizeof *torch_pred);
    float *torch_logits = test_alloc((size_t)N_TEST * CLASSES);
    if (!torch_pred)
        abort();
    memcpy(torch_pred, tp->data, N_TEST * sizeof *torch_pred); /* the mapping is not aligned in general */
    test_ok(st_read_f32(tl, torch_logits, (size_t)N_TEST * CLASSES), "torch logits");
    st_close(tf);

    /* ---- preprocessing, from the committed preprocessor_config.json ---- */
    snprintf(path, sizeof path, "%s/preprocessor_config.json", model_dir);
    float rescale = 0, mean = 0, std = 1;
    if (!read_preprocessing(path, &rescale, &mean, &std))
        exit(test_finish(ctx));

    /* ---- the model ---- */
    vkvit_model *model = NULL;
    vkvit_status s = vkvit_model_load(ctx, model_dir, NULL, &model);
    if (!test_expect(s == VKVIT_OK, "load %s (%s%s%s)", model_dir, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        exit(test_finish(ctx));
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(model, &info), "model info");
    printf("     %s: %s, patch %u, hidden %u, %u layers, %u heads, MLP %u, %u tokens, %llu parameters\n", model_dir,
           info.family, info.patch_size, info.hidden, info.layers, info.heads, info.mlp, info.tokens,
           (unsigned long long)info.parameters);
    if (!test_expect(info.channels == 1 && info.image_size == SIDE && info.num_classes == CLASSES,
                     "model takes 1x%ux%u and has %u classes (got %ux%ux%u, %u classes)", SIDE, SIDE, CLASSES,
                     info.channels, info.image_size, info.image_size, info.num_classes))
        exit(test_finish(ctx));
    bool names_ok = true;
    for (uint32_t c = 0; c < CLASSES; c++) {
        const char *l = vkvit_model_label(model, c);
        names_ok &= l && strcmp(l, class_names[c]) == 0;
    }
    test_expect(names_ok, "class names from config.json (T-shirt/top ... Ankle boot)");

    vkvit_plan *plan = NULL;
    vkvit_plan_options po = {.batch = BATCH};
    test_ok(vkvit_plan_create(model, &po, &plan), "plan");

    /* ---- all 10,000 test images ---- */
    float *input = test_alloc((size_t)BATCH * SIDE * SIDE);
    float *logits = test_alloc((size_t)N_TEST * CLASSES);
    double t0 = test_now();
    for (uint32_t b0 = 0; b0 < N_TEST; b0 += BATCH) {
        for (size_t i = 0; i < (size_t)BATCH * SIDE * SIDE; i++)
            input[i] = ((float)pixels[(size_t)b0 * SIDE * SIDE + i] * rescale - mean) / std;
        vkvit_tensor in = {input, BATCH, 1, SIDE, SIDE};
        test_ok(vkvit_run(plan, &in, NULL), "run");
        test_ok(vkvit_get_logits(plan, logits + (size_t)b0 * CLASSES, (size_t)BATCH * CLASSES), "logits");
    }
    double secs = test_now() - t0;
    printf("     %u images in %.1f s (batch %u, validation on): %.0f images/s\n", N_TEST, secs, BATCH,
           N_TEST / secs);

    uint32_t ours_correct = 0, torch_correct = 0, agree = 0, shown = 0;
    uint32_t confusion_ours[CLASSES] = {0}, total[CLASSES] = {0};
    for (uint32_t i = 0; i < N_TEST; i++) {
        uint32_t g = test_argmax(logits + (size_t)i * CLASSES, CLASSES);
        uint32_t r = (uint32_t)torch_pred[i];
        ours_correct += g == labels[i];
        torch_correct += r == labels[i];
        agree += g == r;
        total[labels[i]]++;
        confusion_ours[labels[i]] += g == labels[i];
        if (g != r && shown++ < 10)
            printf("     image %u: vkvit %s, PyTorch %s, true %s\n", i, class_names[g], class_names[r],
                   class_names[labels[i]]);
    }
    /* torch's stored top-1 must be the argmax of its stored logits (the file is self-consistent) */
    uint32_t torch_self = 0;
    for (uint32_t i = 0; i < N_TEST; i++)
        torch_self += test_argmax(torch_logits + (size_t)i * CLASSES, CLASSES) == (uint32_t)torch_pred[i];
    test_expect(torch_self == N_TEST, "PyTorch's predictions are the argmax of its logits (%u/%u)", torch_self,
                N_TEST);

    double acc_ours = 100.0 * ours_correct / N_TEST, acc_torch = 100.0 * torch_correct / N_TEST;
    printf("     per class (vkvit):");
    for (uint32_t c = 0; c < CLASSES; c++)
        printf(" %s %.1f%%%s", class_names[c], 100.0 * confusion_ours[c] / total[c], c + 1 < CLASSES ? "," : "\n");
    printf("     vkvit top-1 accuracy:   %.2f%% (%u/%u)\n", acc_ours, ours_correct, N_TEST);
    printf("     PyTorch top-1 accuracy: %.2f%% (%u/%u)\n", acc_torch, torch_correct, N_TEST);
    printf("     agreement: %u/%u images (%.2f%%)\n", agree, N_TEST, 100.0 * agree / N_TEST);
    test_expect(ours_correct + 10 >= torch_correct && torch_correct + 10 >= ours_correct,
                "vkvit accuracy %.2f%% equals PyTorch's %.2f%% within 0.1 percentage point", acc_ours, acc_torch);
    test_expect(agree * 1000ull >= N_TEST * 999ull, "per-image top-1 agrees with PyTorch on %u/%u >= 99.9%%", agree,
                N_TEST);
    test_expect(acc_ours >= 85.0, "the bundled model is a trained one: accuracy %.2f%% >= 85%%", acc_ours);
    test_check("logits vs PyTorch (all 10,000 images)", logits, torch_logits, (size_t)N_TEST * CLASSES, 1e-4);

    vkvit_plan_destroy(plan);
    vkvit_model_destroy(model);
    free(input), free(logits), free(torch_pred), free(torch_logits), free(pixels), free(labels);
    return test_finish(ctx);
}
