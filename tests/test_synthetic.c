/* Full-size ViTs with seeded random weights generated in memory (no files): the GPU forward pass
 * against the C reference forward, at the real shapes (224 px, 197 tokens).
 * Usage: test_synthetic [fp16] [ti|s|b ...]   (default: ti s b, fp32; fp16: weights and activations
 * in fp16, bound 2e-2) */
#include "common.h"
#include "plan.h"
#include "ref/vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(vkvit_context *ctx, const char *name, uint32_t D, uint32_t L, uint32_t H, uint32_t B,
                  vkvit_precision prec, uint64_t *rng)
{
    vit_config c;
    config_init(&c);
    c.hidden = D, c.layers = L, c.heads = H, c.mlp = 4 * D, c.image = 224, c.patch = 16, c.channels = 3;
    c.num_labels = 1000, c.eps = 1e-6;
    struct vkvit_model *m = NULL;
    test_ok(model_synthetic(ctx, &c, *rng, MODEL_KEEP_HOST, prec, &m), "synthetic model");
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = B};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    if (prec == VKVIT_PRECISION_FP16)
        test_expect_plan_coopmat(ctx, p);
    size_t n_in = (size_t)B * 3 * 224 * 224;
    float *input = test_alloc(n_in), *gpu = test_alloc((size_t)B * 1000), *ref = test_alloc((size_t)B * 1000);
    float *pooled = test_alloc((size_t)B * D);
    test_fill(input, n_in, rng, -2.0f, 2.0f);
    vkvit_tensor in = {input, B, 3, 224, 224};
    test_ok(vkvit_run(p, &in, NULL), "run");
    test_ok(vkvit_get_logits(p, gpu, (size_t)B * 1000), "logits");
    test_expect(ref_vit_forward(m, input, B, ref, pooled, NULL, NULL) == 0, "%s: reference forward ran", name);
    char label[128];
    const bool f16 = prec == VKVIT_PRECISION_FP16;
    snprintf(label, sizeof label, "%s synthetic (D=%u L=%u H=%u, batch %u, %s): GPU vs C reference logits", name, D, L,
             H, B, f16 ? "fp16" : "fp32");
    test_check(label, gpu, ref, (size_t)B * 1000, f16 ? TOL_F16_FORWARD : TOL_FORWARD);
    vkvit_plan_destroy(p);
    model_free(m);
    free(input), free(gpu), free(ref), free(pooled);
}

int main(int argc, char **argv)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    vkvit_precision prec = VKVIT_PRECISION_FP32;
    if (argc > 1 && !strcmp(argv[1], "fp16")) {
        prec = VKVIT_PRECISION_FP16;
        argv++, argc--;
        if (!test_fp16(ctx))
            return test_finish(ctx);
    }
    for (int i = 1; i < argc || i == 1; i++) {
        const char *which = argc > 1 ? argv[i] : NULL;
        if (!which || !strcmp(which, "ti"))
            check(ctx, "ViT-Ti/16", 192, 12, 3, 2, prec, &rng);
        if (!which || !strcmp(which, "s"))
            check(ctx, "ViT-S/16", 384, 12, 6, 1, prec, &rng);
        if (!which || !strcmp(which, "b"))
            check(ctx, "ViT-B/16", 768, 12, 12, 1, prec, &rng);
    }
    return test_finish(ctx);
}
