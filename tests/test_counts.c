/* Dispatches and barriers per forward (vkvit_plan_info.dispatches / .barriers) against the formula, so a
 * change that adds a dispatch or a barrier is noticed here (and the formula updated with it, on purpose).
 *
 * A plain ViT classifier (one class token, no pre-logits layer) runs, per vkvit_run:
 *   embedding   patchify, patch GEMM, tokens                                   EMBED_DISPATCHES
 *   encoder     L x PER_LAYER: QKV GEMM (LN1 inside), attention, proj GEMM, fc1 GEMM (LN2 inside), fc2 GEMM;
 *               L x PER_LAYER_UNFUSED with VKVIT_LAYERNORM_UNFUSED (LN1 and LN2 their own ops)
 *   head        final LayerNorm of the class token, classifier GEMM             HEAD_DISPATCHES
 *   widenings   fp16 plans only: the pooled tokens and the logits back to fp32  WIDEN_DISPATCHES
 * Barriers: one before every dispatch (the first waits for the input copy), except between the widenings,
 * which touch disjoint memory (one before the group, none inside); one before the output readback copies;
 * the final device->host one. So barriers = dispatches - (widenings - 1 if any) + 2.
 * The counts do not depend on the batch (no chunking at these sizes).
 * Usage: test_counts <deit-tiny-imagenet dir> <a tiny classifier dir (tests/data/hf-vit)> */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    EMBED_DISPATCHES = 3,
    PER_LAYER = 5,          /* the encoder layer, LayerNorms fused into the GEMMs after them (docs/fusion.md) */
    PER_LAYER_UNFUSED = 7,  /* the same with the LayerNorms as their own dispatches */
    HEAD_DISPATCHES = 2,
    WIDEN_DISPATCHES = 2, /* fp16: pooled, logits */
};

static void check(vkvit_context *ctx, const char *dir, vkvit_precision prec, uint32_t batch, bool unfused)
{
    vkvit_model_options mo = {.precision = prec, .layernorm = unfused ? VKVIT_LAYERNORM_UNFUSED : VKVIT_LAYERNORM_FUSED};
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, dir, &mo, &m);
    if (!test_expect(s == VKVIT_OK, "load %s (%s)", dir, s ? vkvit_last_error() : "ok"))
        return;
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = batch};
    test_ok(vkvit_plan_create(m, &po, &p), "plan");
    vkvit_plan_info pi;
    test_ok(vkvit_plan_get_info(p, &pi), "plan info");
    const bool f16 = prec == VKVIT_PRECISION_FP16;
    const uint32_t widen = f16 ? WIDEN_DISPATCHES : 0;
    const uint32_t per_layer = unfused ? PER_LAYER_UNFUSED : PER_LAYER;
    const uint32_t dispatches = EMBED_DISPATCHES + pi.layers * per_layer + HEAD_DISPATCHES + widen;
    const uint32_t barriers = dispatches - (widen ? widen - 1 : 0) + 2;
    test_expect(pi.dispatches == dispatches, "%s, %s, batch %u%s: %u dispatches per forward (%u + %u x %u + %u + %u)",
                dir, f16 ? "fp16" : "fp32", batch, unfused ? ", unfused" : "", pi.dispatches, EMBED_DISPATCHES,
                pi.layers, per_layer, HEAD_DISPATCHES, widen);
    test_expect(pi.barriers == barriers, "%s, %s, batch %u: %u barriers per forward (expected %u)", dir,
                f16 ? "fp16" : "fp32", batch, pi.barriers, barriers);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
}

/* VKVIT_LAYERNORM_AUTO follows the environment, else the device (fused on GPUs, unfused on CPU devices), and bad
 * values are refused by name. The
 * variable is set and restored here, since a CI stage runs the whole suite with VKVIT_LAYERNORM=unfused. */
static uint32_t auto_dispatches(vkvit_context *ctx, const char *dir, const char *env, vkvit_layernorm_mode mode,
                                vkvit_status *status)
{
    if (env)
        setenv("VKVIT_LAYERNORM", env, 1);
    else
        unsetenv("VKVIT_LAYERNORM");
    vkvit_model_options mo = {.precision = VKVIT_PRECISION_FP32, .layernorm = mode};
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_plan_info pi = {0};
    *status = vkvit_model_load(ctx, dir, &mo, &m);
    if (!*status && !(*status = vkvit_plan_create(m, &(vkvit_plan_options){.batch = 1}, &p)))
        *status = vkvit_plan_get_info(p, &pi);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    return pi.dispatches;
}

static void check_auto(vkvit_context *ctx, const char *dir)
{
    const char *saved = getenv("VKVIT_LAYERNORM");
    char *keep = saved ? strdup(saved) : NULL;
    vkvit_status s;
    vkvit_device_info di;
    test_ok(vkvit_context_device_info(ctx, &di), "device info");
    const bool cpu = di.type == VKVIT_DEVICE_CPU;
    const uint32_t fused = auto_dispatches(ctx, dir, NULL, VKVIT_LAYERNORM_FUSED, &s);
    const uint32_t unfused = auto_dispatches(ctx, dir, NULL, VKVIT_LAYERNORM_UNFUSED, &s);
    test_expect(!s && unfused > fused, "unfused %u dispatches, fused %u", unfused, fused);
    test_expect(auto_dispatches(ctx, dir, NULL, VKVIT_LAYERNORM_AUTO, &s) == (cpu ? unfused : fused) && !s,
                "AUTO without VKVIT_LAYERNORM on a %s device is %s", cpu ? "CPU" : "GPU", cpu ? "unfused" : "fused");
    test_expect(auto_dispatches(ctx, dir, "unfused", VKVIT_LAYERNORM_AUTO, &s) == unfused && !s,
                "AUTO with VKVIT_LAYERNORM=unfused is unfused");
    test_expect(auto_dispatches(ctx, dir, "fused", VKVIT_LAYERNORM_AUTO, &s) == fused && !s,
                "AUTO with VKVIT_LAYERNORM=fused is fused");
    test_expect(auto_dispatches(ctx, dir, "unfused", VKVIT_LAYERNORM_FUSED, &s) == fused && !s,
                "an explicit FUSED is not overridden by the environment");
    auto_dispatches(ctx, dir, "sometimes", VKVIT_LAYERNORM_AUTO, &s);
    test_expect(s == VKVIT_ERROR_INVALID_ARGUMENT && strstr(vkvit_last_error(), "VKVIT_LAYERNORM=sometimes"),
                "VKVIT_LAYERNORM=sometimes is refused by name (%s)", vkvit_last_error());
    auto_dispatches(ctx, dir, NULL, (vkvit_layernorm_mode)7, &s);
    test_expect(s == VKVIT_ERROR_INVALID_ARGUMENT && strstr(vkvit_last_error(), "layernorm = 7"),
                "layernorm = 7 is refused by name (%s)", vkvit_last_error());
    if (keep)
        setenv("VKVIT_LAYERNORM", keep, 1);
    else
        unsetenv("VKVIT_LAYERNORM");
    free(keep);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <deit-tiny-imagenet dir> <tiny classifier dir>\n", argv[0]);
        return 2;
    }
    vkvit_context *ctx = test_context();
    const uint32_t batches[2] = {1, 8};
    for (int f = 0; f < 2; f++) {
        if (f == 1 && !test_fp16(ctx)) {
            printf("     no fp16 on this device: fp32 only\n");
            break;
        }
        for (int a = 1; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int u = 0; u < 2; u++)
                    check(ctx, argv[a], f ? VKVIT_PRECISION_FP16 : VKVIT_PRECISION_FP32, batches[b], u);
    }
    check_auto(ctx, argv[2]);
    return test_finish(ctx);
}
