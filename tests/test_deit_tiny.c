/* The real pretrained DeiT-Tiny from ../shared: the Hugging Face and timm layouts of the same
 * weights give the same logits, and both match PyTorch (torchvision's VisionTransformer with these
 * weights, tests/data/deit-tiny-expected.safetensors) on two real photos (a cat, an espresso).
 * Usage: test_deit_tiny <model dir> <expected.safetensors> */
#include "common.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *logits_of(vkvit_context *ctx, const char *path, const float *input, uint32_t B, vkvit_model **keep)
{
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, path, NULL, &m);
    if (!test_expect(s == VKVIT_OK, "load %s (%s%s%s)", path, vkvit_status_string(s), s ? ": " : "",
                     s ? vkvit_last_error() : ""))
        exit(test_finish(ctx));
    vkvit_model_info info;
    test_ok(vkvit_model_get_info(m, &info), "info");
    printf("     %s: %s, hidden %u, %u layers, %u heads, %u tokens, %u classes, %llu parameters\n", path, info.family,
           info.hidden, info.layers, info.heads, info.tokens, info.num_classes, (unsigned long long)info.parameters);
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    vkvit_tensor in = {input, B, 3, 224, 224};
    test_ok(vkvit_run(p, &in, NULL), "run");
    float *out = test_alloc((size_t)B * info.num_classes);
    test_ok(vkvit_get_logits(p, out, (size_t)B * info.num_classes), "logits");
    for (uint32_t b = 0; b < B; b++) {
        vkvit_prediction top[5];
        test_ok(vkvit_top_k(p, b, 5, top), "top-k");
        printf("     image %u:", b);
        for (int k = 0; k < 5; k++)
            printf(" %s %.3f%s", top[k].label ? top[k].label : "?", (double)top[k].probability, k < 4 ? "," : "\n");
    }
    vkvit_plan_destroy(p);
    if (keep)
        *keep = m;
    else
        vkvit_model_destroy(m);
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <deit-tiny-imagenet dir> <deit-tiny-expected.safetensors>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    st_file *f = NULL;
    test_ok(st_open(argv[2], &f), argv[2]);
    const st_tensor *ti = st_find(f, "input"), *tl = st_find(f, "logits");
    if (!ti || !tl) {
        fprintf(stderr, "FATAL: %s lacks input/logits\n", argv[2]);
        return 1;
    }
    uint32_t B = (uint32_t)ti->shape[0], K = (uint32_t)tl->shape[1];
    float *input = test_alloc((size_t)ti->count), *want = test_alloc((size_t)tl->count);
    test_ok(st_read_f32(ti, input, (size_t)ti->count), "input");
    test_ok(st_read_f32(tl, want, (size_t)tl->count), "logits");
    st_close(f);

    char timm[1100];
    snprintf(timm, sizeof timm, "%s/timm", argv[1]);
    vkvit_model *hf_model = NULL;
    float *hf = logits_of(ctx, argv[1], input, B, &hf_model);
    float *tm = logits_of(ctx, timm, input, B, NULL);
    test_check("HF layout vs timm layout (same weights)", hf, tm, (size_t)B * K, 1e-6);
    test_check("HF layout vs PyTorch", hf, want, (size_t)B * K, 1e-4);
    test_check("timm layout vs PyTorch", tm, want, (size_t)B * K, 1e-4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t g = test_argmax(hf + (size_t)b * K, K), r = test_argmax(want + (size_t)b * K, K);
        test_expect(g == r, "image %u: top-1 %u (%s) == PyTorch's %u", b, g, vkvit_model_label(hf_model, g), r);
    }
    const char *cat = vkvit_model_label(hf_model, 285);
    test_expect(cat && strstr(cat, "Egyptian cat"), "label 285 from config.json id2label: '%s'", cat ? cat : "(none)");
    vkvit_model_destroy(hf_model);
    free(hf), free(tm), free(input), free(want);
    return test_finish(ctx);
}
