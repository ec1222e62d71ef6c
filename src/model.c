/* The device model: the weight block in the canonical layout (layout.h), the precision, the fp16 weight block,
 * the upload (with the encoder LayerNorms folded into the matmuls after them: docs/fusion.md); a model from a
 * checkpoint (translated by checkpoint.c) or with random weights. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "safetensors.h"

vk_span model_span(const struct vkvit_model *m, int layer, int slot)
{
    const vit_tensor *t = layout_tensor(&m->layout, layer, slot);
    return t->count ? vk_span_of(&m->weights, t->offset * m->elem_size, t->count * m->elem_size) : (vk_span){0};
}

const float *model_host(const struct vkvit_model *m, int layer, int slot)
{
    const vit_tensor *t = layout_tensor(&m->layout, layer, slot);
    return m->host && t->count ? m->host + t->offset : NULL;
}

vk_span model_span_unit(const struct vkvit_model *m, uint32_t unit, int slot)
{
    const vit_tensor *t = layout_unit(&m->layout, unit, slot);
    return t->count ? vk_span_of(&m->weights, t->offset * m->elem_size, t->count * m->elem_size) : (vk_span){0};
}

const float *model_host_unit(const struct vkvit_model *m, uint32_t unit, int slot)
{
    const vit_tensor *t = layout_unit(&m->layout, unit, slot);
    return m->host && t->count ? m->host + t->offset : NULL;
}

/* ---- precision, upload, loading --------------------------------------------------------------------- */

const char *precision_name(vkvit_precision p)
{
    return p == VKVIT_PRECISION_FP32 ? "fp32" : p == VKVIT_PRECISION_FP16 ? "fp16" : "auto";
}

/* AUTO: VKVIT_PRECISION from the environment if set, else fp16 on a GPU with the fp16 path. On CPU
 * devices fp32: halving the bytes buys nothing there (the math is fp32 either way, and the
 * conversions cost): ViT-B/16 batch 1 on lavapipe 2.17 s fp32 vs 2.71 s fp16, ViT-Ti 279 vs 311 ms
 * (vkvit-bench --model vit-ti16,vit-b16 --precision fp32,fp16, bench/README.md). */
static vkvit_status resolve_precision(const vkvit_context *ctx, vkvit_precision want, vkvit_precision *out)
{
    if (want == VKVIT_PRECISION_AUTO) {
        const char *env = getenv("VKVIT_PRECISION");
        if (env && *env && strcmp(env, "auto")) {
            if (!strcmp(env, "fp32"))
                want = VKVIT_PRECISION_FP32;
            else if (!strcmp(env, "fp16"))
                want = VKVIT_PRECISION_FP16;
            else
                return fail(VKVIT_ERROR_INVALID_ARGUMENT, "VKVIT_PRECISION=%s: expected fp32, fp16 or auto", env);
        }
    }
    switch (want) {
    case VKVIT_PRECISION_AUTO:
        *out = ctx->fp16 && ctx->info.type != VKVIT_DEVICE_CPU ? VKVIT_PRECISION_FP16 : VKVIT_PRECISION_FP32;
        return VKVIT_OK;
    case VKVIT_PRECISION_FP32:
        *out = want;
        return VKVIT_OK;
    case VKVIT_PRECISION_FP16:
        if (!ctx->fp16)
            return fail(VKVIT_ERROR_UNSUPPORTED, "precision fp16: %s does not have shaderFloat16 and "
                        "storageBuffer16BitAccess enabled (on an adopted device, the application must enable them)",
                        ctx->info.name);
        *out = want;
        return VKVIT_OK;
    }
    return fail(VKVIT_ERROR_INVALID_ARGUMENT, "precision %d: expected VKVIT_PRECISION_AUTO, _FP32 or _FP16", (int)want);
}

static vkvit_status model_alloc(vkvit_context *ctx, vkvit_precision precision, unsigned flags,
                                struct vkvit_model **out)
{
    vkvit_precision p;
    vkvit_status s = resolve_precision(ctx, precision, &p);
    if (s)
        return s;
    struct vkvit_model *m = calloc(1, sizeof *m);
    if (!m)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "model");
    m->ctx = ctx;
    m->precision = p;
    m->elem_size = p == VKVIT_PRECISION_FP16 ? 2 : 4;
    m->unfused_ln = (flags & MODEL_UNFUSED_LN) != 0;
    config_init(&m->cfg);
    *out = m;
    return VKVIT_OK;
}

/* Names the tensor holding element `at` of the weight block, for messages: "block 3's fc2/output weight[17]". */
static void describe_offset(const struct vkvit_model *m, uint64_t at, char *buf, size_t n)
{
    snprintf(buf, n, "?");
    for (int l = -1; l < (int)m->dims.L; l++)
        for (int k = 0; k < (l < 0 ? W_GLOBAL_COUNT : L_SLOT_COUNT); k++) {
            const vit_tensor *t = layout_tensor(&m->layout, l, k);
            if (at < t->offset || at >= t->offset + t->count)
                continue;
            unsigned long long i = at - t->offset;
            if (l < 0)
                snprintf(buf, n, "the %s[%llu]", vit_slot_name(false, k), i);
            else
                snprintf(buf, n, "block %d's %s[%llu]", l, vit_slot_name(true, k), i);
            return;
        }
    for (uint32_t u = 0; u < m->dims.units; u++)
        for (int k = 0; k < U_SLOT_COUNT; k++) {
            const vit_tensor *t = layout_unit(&m->layout, u, k);
            if (at >= t->offset && at < t->offset + t->count) {
                const vit_unit v = vit_unit_of(&m->dims, u);
                snprintf(buf, n, "ResNet stage %u unit %u's %s[%llu]", v.stage + 1, v.index + 1, vit_unit_slot_name(k),
                         (unsigned long long)(at - t->offset));
                return;
            }
        }
}

/* The fp16 weight block: every value rounded to nearest even; a finite value beyond fp16's range
 * is an error (it would silently become infinity). */
static vkvit_status to_f16(const struct vkvit_model *m, uint16_t **out)
{
    uint16_t *h = malloc(m->layout.total * sizeof *h);
    if (!h)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: %llu bytes of fp16 weights", m->path,
                    (unsigned long long)m->layout.total * 2);
    for (uint64_t i = 0; i < m->layout.total; i++) {
        h[i] = st_f32_to_f16(m->host[i]);
        if ((h[i] & 0x7c00u) == 0x7c00u && isfinite(m->host[i])) {
            char where[96];
            describe_offset(m, i, where, sizeof where);
            free(h);
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: %s = %g is beyond fp16's range (65504); load the "
                        "model with precision VKVIT_PRECISION_FP32", m->path, where, (double)m->host[i]);
        }
    }
    *out = h;
    return VKVIT_OK;
}

void model_fold_layernorm(uint32_t N, uint32_t K, const float *gamma, const float *beta, const float *w,
                          const float *b, float *w_out, float *b_out)
{
    for (uint32_t o = 0; o < N; o++) {
        const float *row = w + (size_t)o * K;
        double sum = b ? b[o] : 0.0;
        for (uint32_t i = 0; i < K; i++)
            sum += (double)row[i] * beta[i];
        for (uint32_t i = 0; i < K; i++)   /* after the sum: w_out may be w */
            w_out[(size_t)o * K + i] = (float)((double)row[i] * gamma[i]);
        b_out[o] = (float)sum;
    }
}

/* Writes `count` floats of `src` at element `at` of the device weight block, in its precision; a value beyond
 * fp16's range is an error naming `what` (as to_f16's). */
static vkvit_status write_elements(struct vkvit_model *m, uint64_t at, const float *src, uint64_t count,
                                   const char *what)
{
    if (m->elem_size == 4)
        return vk_buffer_write(m->ctx, &m->weights, at * 4, src, count * 4);
    uint16_t *h = malloc(count * sizeof *h);
    if (!h)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: %s in fp16", m->path, what);
    for (uint64_t i = 0; i < count; i++) {
        h[i] = st_f32_to_f16(src[i]);
        if ((h[i] & 0x7c00u) == 0x7c00u && isfinite(src[i])) {
            free(h);
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: %s[%llu] = %g (the LayerNorm folded in) is beyond fp16's range "
                        "(65504); load the model with precision VKVIT_PRECISION_FP32 or layernorm VKVIT_LAYERNORM_UNFUSED",
                        m->path, what, (unsigned long long)i, (double)src[i]);
        }
    }
    vkvit_status s = vk_buffer_write(m->ctx, &m->weights, at * 2, h, count * 2);
    free(h);
    return s;
}

/* The fused LayerNorm (docs/fusion.md): on the device, each encoder layer's QKV weight and bias become
 * model_fold_layernorm's W' and b' of LN1, fc1's those of LN2. The host copy keeps the stored tensors, the
 * C reference's unfused definition. */
static vkvit_status upload_folded(struct vkvit_model *m)
{
    static const struct { int gamma, beta, w, b; const char *name; } pairs[] = {
        {L_LN1_W, L_LN1_B, L_QKV_W, L_QKV_B, "QKV"}, {L_LN2_W, L_LN2_B, L_FC1_W, L_FC1_B, "fc1"}};
    const vit_dims *d = &m->dims;
    const uint64_t most = ((uint64_t)d->mlp > 3ull * d->D ? d->mlp : 3ull * d->D) * (d->D + 1);
    float *buf = malloc(most * sizeof *buf);
    if (!buf)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: the folded LayerNorms", m->path);
    vkvit_status s = VKVIT_OK;
    for (int l = 0; !s && l < (int)d->L; l++)
        for (int i = 0; !s && i < 2; i++) {
            const vit_tensor *w = layout_tensor(&m->layout, l, pairs[i].w), *b = layout_tensor(&m->layout, l, pairs[i].b);
            const uint32_t N = (uint32_t)b->count, K = d->D;
            char what[64];
            snprintf(what, sizeof what, "block %d's %s weight with LayerNorm", l, pairs[i].name);
            model_fold_layernorm(N, K, model_host(m, l, pairs[i].gamma), model_host(m, l, pairs[i].beta),
                                 m->host + w->offset, m->host + b->offset, buf, buf + (uint64_t)N * K);
            if (!(s = write_elements(m, w->offset, buf, (uint64_t)N * K, what))) {
                snprintf(what, sizeof what, "block %d's %s bias with LayerNorm", l, pairs[i].name);
                s = write_elements(m, b->offset, buf + (uint64_t)N * K, N, what);
            }
        }
    free(buf);
    return s;
}

static vkvit_status upload(struct vkvit_model *m, bool keep_host)
{
    const VkDeviceSize bytes = m->layout.total * m->elem_size;
    uint16_t *half = NULL;
    vkvit_status s = m->elem_size == 2 ? to_f16(m, &half) : VKVIT_OK;
    char what[1100];
    snprintf(what, sizeof what, "the weights of %s", m->path);
    if (!s)
        s = vk_buffer_create_named(m->ctx, bytes, VK_MEM_DEVICE, what, &m->weights);
    if (!s)
        s = vk_buffer_write(m->ctx, &m->weights, 0, half ? (const void *)half : (const void *)m->host, bytes);
    free(half);
    if (!s && !m->unfused_ln)
        s = upload_folded(m);
    if (!keep_host) {
        free(m->host);
        m->host = NULL;
    }
    return s;
}

vkvit_status model_load(vkvit_context *ctx, const char *path, unsigned flags, vkvit_precision precision,
                        uint32_t image_size, struct vkvit_model **out)
{
    return model_load_rect(ctx, path, flags, precision, image_size, image_size, out);
}

vkvit_status model_load_rect(vkvit_context *ctx, const char *path, unsigned flags, vkvit_precision precision,
                             uint32_t height, uint32_t width, struct vkvit_model **out)
{
    *out = NULL;
    struct vkvit_model *m = NULL;
    checkpoint *ck = NULL;
    vkvit_status s = model_alloc(ctx, precision, flags, &m);
    if (s)
        return s;
    snprintf(m->path, sizeof m->path, "%s", path);
    if ((s = checkpoint_open(path, &m->cfg, &m->pre, &ck)) ||
        ((height || width || (height = width = checkpoint_run_size(ck))) &&
         (s = checkpoint_resize(ck, &m->cfg, &m->pre, height ? height : m->cfg.image,
                                width ? width : config_image_w(&m->cfg)))))
        goto fail;
    snprintf(m->family, sizeof m->family, "%s", checkpoint_family(ck));
    snprintf(m->config, sizeof m->config, "%s", checkpoint_config_summary(ck));
    m->parameters = checkpoint_parameters(ck);
    m->dims = vit_dims_of(&m->cfg);
    if ((s = vit_layout_make(&m->dims, &m->layout)))
        goto fail;
    m->host = calloc(m->layout.total, sizeof *m->host);
    if (!m->host) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: %llu bytes of weights", path,
                 (unsigned long long)m->layout.total * 4);
        goto fail;
    }
    if ((s = checkpoint_read(ck, &m->layout, m->host)))
        goto fail;
    checkpoint_close(ck); /* the mmap is released before the upload */
    ck = NULL;
    if ((s = upload(m, (flags & MODEL_KEEP_HOST) != 0)))
        goto fail;
    *out = m;
    return VKVIT_OK;
fail:
    checkpoint_close(ck);
    model_free(m);
    return s;
}

/* ---- synthetic models ------------------------------------------------------------------------------- */

static float rnd(uint64_t *state, float scale)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    double u = (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
    return (float)((2.0 * u - 1.0) * scale);
}

vkvit_status model_synthetic(vkvit_context *ctx, const vit_config *cfg, uint64_t seed, unsigned flags,
                             vkvit_precision precision, struct vkvit_model **out)
{
    *out = NULL;
    struct vkvit_model *m = NULL;
    vkvit_status s = model_alloc(ctx, precision, flags, &m);
    if (s)
        return s;
    m->cfg = *cfg;
    m->cfg.labels.names = NULL; /* the caller keeps its labels */
    m->cfg.labels.count = 0;
    m->cfg.present &= ~(uint32_t)CONFIG_LABELS;
    snprintf(m->family, sizeof m->family, "synthetic");
    snprintf(m->config, sizeof m->config, "synthetic: the caller's configuration");
    snprintf(m->path, sizeof m->path, "(synthetic, seed %llu)", (unsigned long long)seed);
    if ((s = config_validate(&m->cfg, "synthetic config")) || (s = preprocess_spec_default(&m->cfg, &m->pre)))
        goto fail;
    m->dims = vit_dims_of(&m->cfg);
    if ((s = vit_layout_make(&m->dims, &m->layout)))
        goto fail;
    m->host = calloc(m->layout.total, sizeof *m->host);
    if (!m->host) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "synthetic weights");
        goto fail;
    }
    uint64_t st = seed ? seed : 1;
    const vit_dims *d = &m->dims;
    /* Weights like a trained ViT's in scale: Linear U(-1/sqrt(fan_in), +), LayerNorm gains ~1. */
    for (int slot = 0; slot < W_GLOBAL_COUNT; slot++) {
        const vit_tensor *t = &m->layout.global[slot];
        float scale = slot == W_PATCH_W ? 1.0f / sqrtf((float)d->cpp)
                      : slot == W_HEAD_W || slot == W_PRE_W ? 1.0f / sqrtf((float)d->D) : 0.1f;
        for (uint64_t i = 0; i < t->count; i++)
            m->host[t->offset + i] = (slot == W_NORM_W || slot == W_ROOT_GN_W ? 1.0f : 0.0f) + rnd(&st, scale);
        m->parameters += t->count;
    }
    for (uint32_t l = 0; l < d->L; l++)
        for (int slot = 0; slot < L_SLOT_COUNT; slot++) {
            const vit_tensor *t = layout_tensor(&m->layout, (int)l, slot);
            bool gain = slot == L_LN1_W || slot == L_LN2_W;
            float fan_in = slot == L_FC2_W ? (float)d->mlp : (float)d->D;
            bool matrix = slot == L_QKV_W || slot == L_PROJ_W || slot == L_FC1_W || slot == L_FC2_W;
            float scale = matrix ? 1.0f / sqrtf(fan_in) : 0.05f;
            for (uint64_t i = 0; i < t->count; i++)
                m->host[t->offset + i] = (gain ? 1.0f : 0.0f) + rnd(&st, scale);
            m->parameters += t->count;
        }
    /* A hybrid's ResNet units: convs U(-1/sqrt(fan_in), +) (a row over Kp, its zero padding included),
     * GroupNorm gains ~1 (the root's are global slots, above). */
    for (uint32_t u = 0; u < d->units; u++)
        for (int slot = 0; slot < U_SLOT_COUNT; slot++) {
            const vit_tensor *t = layout_unit(&m->layout, u, slot);
            const vit_unit v = vit_unit_of(d, u);
            const uint32_t rows = slot == U_CONV3_W || slot == U_PROJ_W ? v.cout : v.mid;
            const bool conv = slot == U_CONV1_W || slot == U_CONV2_W || slot == U_CONV3_W || slot == U_PROJ_W;
            const bool gain = slot == U_GN1_W || slot == U_GN2_W || slot == U_GN3_W || slot == U_GNP_W;
            const float scale = conv ? 1.0f / sqrtf((float)t->count / (float)rows) : 0.05f;
            for (uint64_t i = 0; i < t->count; i++)
                m->host[t->offset + i] = (gain ? 1.0f : 0.0f) + rnd(&st, scale);
            m->parameters += t->count;
        }
    if ((s = upload(m, (flags & MODEL_KEEP_HOST) != 0)))
        goto fail;
    *out = m;
    return VKVIT_OK;
fail:
    model_free(m);
    return s;
}

void model_free(struct vkvit_model *m)
{
    if (!m)
        return;
    vk_buffer_destroy(m->ctx, &m->weights);
    free(m->host);
    vit_layout_free(&m->layout);
    config_free(&m->cfg);
    free(m);
}
