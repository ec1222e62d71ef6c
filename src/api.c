/* The public model/plan/run API: argument checks, then the layers below (model.c, plan.c; vkvit_record
 * is in record.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "preprocess.h"
#include "record.h"
#include "ref/ref.h"
#include "ref/vit.h"

/* VKVIT_LAYERNORM_AUTO: VKVIT_LAYERNORM from the environment if set, else fused on GPUs and unfused on CPU
 * devices. On a CPU device the fusion does not pay: a barrier there costs little, while the statistics prologue
 * re-reads X in every column block of the direct kernel, which is bound by its loads (ViT-B/16 batch 1 on
 * lavapipe, alternated runs: fused 2-9% slower on Mesa 26, fp32 even and fp16 4-10% slower on Mesa 22;
 * bench/README.md, "The fused LayerNorm"). */
static vkvit_status resolve_layernorm(const vkvit_context *ctx, vkvit_layernorm_mode *mode)
{
    if (*mode == VKVIT_LAYERNORM_AUTO) {
        const char *env = getenv("VKVIT_LAYERNORM");
        if (!env || !*env)
            *mode = ctx->info.type == VKVIT_DEVICE_CPU ? VKVIT_LAYERNORM_UNFUSED : VKVIT_LAYERNORM_FUSED;
        else if (!strcmp(env, "fused"))
            *mode = VKVIT_LAYERNORM_FUSED;
        else if (!strcmp(env, "unfused"))
            *mode = VKVIT_LAYERNORM_UNFUSED;
        else
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "VKVIT_LAYERNORM=%s: expected fused or unfused", env);
    }
    if (*mode != VKVIT_LAYERNORM_FUSED && *mode != VKVIT_LAYERNORM_UNFUSED)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_options.layernorm = %d: expected a vkvit_layernorm_mode",
                    (int)*mode);
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_model_load(vkvit_context *ctx, const char *path, const vkvit_model_options *options,
                                        vkvit_model **out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_load: out is NULL");
    *out = NULL;
    if (!ctx || !path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_load: NULL %s", ctx ? "path" : "context");
    vkvit_model_options o = options ? *options : (vkvit_model_options){0};
    vkvit_status s = resolve_layernorm(ctx, &o.layernorm);
    if (s)
        return s;
    /* Each side: its own option, else the square image_size, else (0) the checkpoint's. */
    const unsigned flags = (o.keep_host_weights ? MODEL_KEEP_HOST : 0u) |
                           (o.layernorm == VKVIT_LAYERNORM_UNFUSED ? MODEL_UNFUSED_LN : 0u);
    return model_load_rect(ctx, path, flags, o.precision,
                           o.image_height ? o.image_height : o.image_size, o.image_width ? o.image_width : o.image_size,
                           out);
}

VKVIT_API vkvit_status vkvit_model_get_info(const vkvit_model *m, vkvit_model_info *out)
{
    if (!m || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_get_info: NULL argument");
    const vit_dims *d = &m->dims;
    *out = (vkvit_model_info){
        .family = m->family, .hidden = d->D, .layers = d->L, .heads = d->H, .mlp = d->mlp,
        .image_size = d->image, .image_height = d->image, .image_width = d->image_w, .grid_height = d->grid,
        .grid_width = d->grid_w, .patch_size = d->P, .channels = d->C, .tokens = d->T, .num_classes = d->K,
        .distilled = d->prefix == 2, .gelu_tanh = m->cfg.gelu == VIT_GELU_TANH, .layer_norm_eps = (float)m->cfg.eps,
        .parameters = m->parameters, .weight_bytes = m->weights.size, .precision = m->precision, .preprocessing = m->pre.summary,
        .config = m->config,
        .embedding_size = d->E,
        .embedding = d->map ? "SigLIP: the attention-pooling (MAP) head's output over every token after "
                              "post_layernorm"
                     : d->R && m->cfg.projection && !strcmp(m->family, "timm")
                         ? "CLIP image embedding: timm's head, which is the tower's projection (pretrained_cfg: an "
                           "image-tower tag), on the class token after the final norm"
                     : d->R && m->cfg.projection ? "CLIP image embedding: the projection (no bias) of the class "
                                                   "token after post_layernorm"
                     : d->R            ? "pre-logits: tanh(Linear(class token after the final LayerNorm))"
                                       : "the class token after the final LayerNorm",
        .outputs = d->map ? (d->K ? "logits, probabilities, embeddings, patch_tokens" : "embeddings, patch_tokens")
                 : d->K   ? "logits, probabilities, embeddings, patch_tokens, attention"
                          : "embeddings, patch_tokens, attention",
    };
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_model_input_rect(const vkvit_model *m, uint32_t width, uint32_t height, float rect[4])
{
    if (!m || !rect)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_input_rect: NULL argument");
    if (!width || !height || width > VKVIT_MAX_IMAGE_SIDE || height > VKVIT_MAX_IMAGE_SIDE)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_model_input_rect: image %ux%u", width, height);
    pre_geom g;
    vkvit_status s = pre_geometry(&m->pre, width, height, &g);
    if (s)
        return s;
    /* Output pixel i shows resized position origin + i; resized -> image scales by in / resized. */
    const pre_axis *ax[2] = {&g.x, &g.y};
    for (int i = 0; i < 2; i++) {
        double scale = (double)ax[i]->in / ax[i]->resized;
        rect[i] = (float)((double)ax[i]->origin * scale);
        rect[i + 2] = (float)((double)(ax[i]->origin + (int64_t)ax[i]->out) * scale);
    }
    return VKVIT_OK;
}

VKVIT_API const char *vkvit_model_label(const vkvit_model *m, uint32_t index)
{
    if (!m || index >= m->cfg.labels.count)
        return NULL;
    return m->cfg.labels.names[index];
}

VKVIT_API void vkvit_model_destroy(vkvit_model *m) { model_free(m); }

VKVIT_API const char *vkvit_precision_string(vkvit_precision p) { return precision_name(p); }

VKVIT_API vkvit_status vkvit_plan_create(vkvit_model *m, const vkvit_plan_options *options, vkvit_plan **out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_plan_create: out is NULL");
    *out = NULL;
    if (!m)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_plan_create: model is NULL");
    vkvit_plan_options o = options ? *options : (vkvit_plan_options){0};
    vkvit_status s = plan_create_tokens(m, o.batch ? o.batch : 1, o.attention_maps != 0, o.patch_tokens != 0, out);
    if (!s)
        (*out)->normalize = o.normalize_embeddings != 0;
    return s;
}

/* vkvit_plan_info.outputs: indexed by (logits << 2 | patch tokens << 1 | attention). */
static const char *const plan_outputs[8] = {
    "embeddings", "embeddings, attention", "embeddings, patch_tokens", "embeddings, patch_tokens, attention",
    "logits, probabilities, embeddings", "logits, probabilities, embeddings, attention",
    "logits, probabilities, embeddings, patch_tokens", "logits, probabilities, embeddings, patch_tokens, attention",
};

VKVIT_API vkvit_status vkvit_plan_get_info(const vkvit_plan *p, vkvit_plan_info *out)
{
    if (!p || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_plan_get_info: NULL argument");
    const vit_dims *d = &p->model->dims;
    *out = (vkvit_plan_info){.batch = p->batch, .tokens = d->T, .hidden = d->D, .num_classes = d->K,
                             .layers = d->L, .embedding_size = d->E, .weight_bytes = p->model->weights.size,
                             .arena_bytes = p->arena.size, .io_bytes = p->io.size,
                             .image_bytes = p->img.staging_meta.size + p->img.staging_pixels.size + p->img.meta.size +
                                            p->img.pixels.size + p->img.scratch.size,
                             .matmul_kernel = p->matmul_kernel ? p->matmul_kernel : "?",
                             .attention_maps = p->maps, .normalize_embeddings = p->normalize,
                             .patch_tokens = p->all_tokens,
                             .outputs = plan_outputs[(d->K ? 4 : 0) | (p->all_tokens ? 2 : 0) | (p->maps ? 1 : 0)]};
    vk_cmd_counts(p->cmd, &out->dispatches, &out->barriers, NULL);
    return VKVIT_OK;
}

VKVIT_API void vkvit_plan_destroy(vkvit_plan *p)
{
    if (!p)
        return;
    record_free(p);
    plan_destroy(p);
}

/* The run's signal as vk_command.c takes it; NULL = wait (sig NULL). */
static vkvit_status check_signal(const vkvit_plan *p, const char *fn, const vkvit_submit_signal *sig, vk_signal *out)
{
    if (!sig)
        return VKVIT_OK;
    if (sig->semaphore && sig->value && !p->ctx->timeline)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: a timeline semaphore value (%llu) needs timeline semaphores, which "
                    "this context has not enabled (vkvit_context_paths; VKVIT_PATH_TIMELINE)", fn,
                    (unsigned long long)sig->value);
    *out = (vk_signal){sig->fence, sig->semaphore, sig->value};
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_run(vkvit_plan *p, const vkvit_tensor *in, const vkvit_submit_signal *signal)
{
    if (!p || !in || !in->data)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run: NULL %s", !p ? "plan" : "input");
    const vit_dims *d = &p->model->dims;
    if (in->channels != d->C || in->height != d->image || in->width != d->image_w)
        return fail(VKVIT_ERROR_INPUT_SIZE, "vkvit_run: input is %ux%ux%u (channels x height x width), the model "
                    "takes %ux%ux%u", in->channels, in->height, in->width, d->C, d->image, d->image_w);
    if (in->n == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run: no images (n = 0)");
    if (in->n > p->batch)
        return fail(VKVIT_ERROR_BATCH_TOO_LARGE, "vkvit_run: %u images, but the plan was made for batch %u", in->n,
                    p->batch);
    vk_signal sig;
    vkvit_status s = check_signal(p, "vkvit_run", signal, &sig);
    return s ? s : plan_run(p, in->data, in->n, signal ? &sig : NULL);
}

VKVIT_API vkvit_status vkvit_run_images(vkvit_plan *p, const vkvit_image *images, uint32_t n,
                                        const vkvit_submit_signal *signal)
{
    if (!p || !images)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run_images: NULL %s", !p ? "plan" : "images");
    if (n == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run_images: no images (n = 0)");
    if (n > p->batch)
        return fail(VKVIT_ERROR_BATCH_TOO_LARGE, "vkvit_run_images: %u images, but the plan was made for batch %u", n,
                    p->batch);
    for (uint32_t i = 0; i < n; i++) {
        const vkvit_image *im = &images[i];
        if (!im->rgba)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run_images: image %u has no pixels (rgba is NULL)", i);
        if (im->width == 0 || im->height == 0 || im->width > VKVIT_MAX_IMAGE_SIDE || im->height > VKVIT_MAX_IMAGE_SIDE)
            return fail(VKVIT_ERROR_BAD_IMAGE, "vkvit_run_images: image %u is %ux%u; each side must be 1..%d", i,
                        im->width, im->height, VKVIT_MAX_IMAGE_SIDE);
    }
    vk_signal sig;
    vkvit_status s = check_signal(p, "vkvit_run_images", signal, &sig);
    return s ? s : plan_run_images(p, images, n, signal ? &sig : NULL);
}

VKVIT_API vkvit_status vkvit_wait(vkvit_plan *p)
{
    if (!p)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_wait: plan is NULL");
    vkvit_status s = plan_wait(p);
    return s ? fail(s, "vkvit_wait: %s", vkvit_last_error()) : VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_poll(vkvit_plan *p, int *done)
{
    if (!p || !done)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_poll: NULL argument");
    bool finished = true;
    vkvit_status s = plan_poll(p, &finished);
    *done = finished;
    return s ? fail(s, "vkvit_poll: %s", vkvit_last_error()) : VKVIT_OK;
}

/* Why there are no results to read (p->last_n == 0), for the getters' messages. */
static const char *no_results(const vkvit_plan *p)
{
    if (p->pending)
        return "the run is still pending: call vkvit_wait (or vkvit_poll) first";
    if (record_recorded(p))
        return "the plan was recorded with vkvit_record: call vkvit_record_complete once an execution has completed";
    return "nothing has run on this plan yet (no successful vkvit_run or vkvit_run_images, no vkvit_record_complete)";
}

static vkvit_status check_output(const vkvit_plan *p, const float *out, size_t capacity, size_t per_image,
                                 const char *what)
{
    if (!p || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (!p->last_n)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: %s", what, no_results(p));
    if (capacity < p->last_n * per_image)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: capacity %zu floats, the last run needs %zu", what, capacity,
                    p->last_n * per_image);
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_get_logits(const vkvit_plan *p, float *out, size_t capacity)
{
    if (p && !p->model->dims.K)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_get_logits: the model is a backbone (no classifier)");
    vkvit_status s = check_output(p, out, capacity, p ? p->model->dims.K : 0, "vkvit_get_logits");
    if (!s)
        memcpy(out, plan_logits(p), (size_t)p->last_n * p->model->dims.K * sizeof *out);
    return s;
}

VKVIT_API vkvit_status vkvit_get_probabilities(const vkvit_plan *p, float *out, size_t capacity)
{
    if (p && !p->model->dims.K)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_get_probabilities: the model is a backbone (no classifier)");
    vkvit_status s = check_output(p, out, capacity, p ? p->model->dims.K : 0, "vkvit_get_probabilities");
    if (s)
        return s;
    memcpy(out, plan_logits(p), (size_t)p->last_n * p->model->dims.K * sizeof *out);
    ref_softmax(out, out, p->last_n, p->model->dims.K);
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_get_embeddings(const vkvit_plan *p, float *out, size_t capacity)
{
    vkvit_status s = check_output(p, out, capacity, p ? p->model->dims.E : 0, "vkvit_get_embeddings");
    if (s)
        return s;
    const uint32_t E = p->model->dims.E;
    for (uint32_t i = 0; i < p->last_n; i++) {
        const float *e = plan_embedding(p, i);
        float *o = out + (size_t)i * E;
        double ss = 0;
        for (uint32_t j = 0; j < E && p->normalize; j++)
            ss += (double)e[j] * e[j];
        const double scale = ss > 0 ? 1 / sqrt(ss) : 1; /* normalize off, or a zero vector: as it is */
        for (uint32_t j = 0; j < E; j++)
            o[j] = (float)(e[j] * scale);
    }
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_get_patch_tokens(const vkvit_plan *p, float *out, size_t capacity)
{
    if (p && !p->all_tokens)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_get_patch_tokens: the plan was made without patch_tokens");
    const vit_dims *d = p ? &p->model->dims : NULL;
    vkvit_status s = check_output(p, out, capacity, d ? (size_t)d->T * d->D : 0, "vkvit_get_patch_tokens");
    if (!s)
        memcpy(out, plan_tokens(p), (size_t)p->last_n * d->T * d->D * sizeof *out);
    return s;
}

VKVIT_API vkvit_status vkvit_get_attention(const vkvit_plan *p, float *out, size_t capacity)
{
    if (p && !p->maps)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_get_attention: the plan was made without attention_maps");
    const vit_dims *d = p ? &p->model->dims : NULL;
    vkvit_status s = check_output(p, out, capacity, d ? (size_t)d->L * d->T : 0, "vkvit_get_attention");
    if (s)
        return s;
    for (uint32_t i = 0; i < p->last_n; i++)
        for (uint32_t l = 0; l < d->L; l++)
            memcpy(out + ((size_t)i * d->L + l) * d->T, plan_attention(p, l, i), d->T * sizeof *out);
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_top_k(const vkvit_plan *p, uint32_t image, uint32_t k, vkvit_prediction *out)
{
    if (!p || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_top_k: NULL argument");
    uint32_t K = p->model->dims.K;
    if (!K)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_top_k: the model is a backbone (no classifier)");
    if (!p->last_n)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_top_k: %s", no_results(p));
    if (image >= p->last_n)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_top_k: image %u, the last run had %u", image, p->last_n);
    if (k == 0 || k > K)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_top_k: k = %u, the model has %u classes", k, K);
    float *prob = malloc(K * sizeof *prob);
    if (!prob)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "vkvit_top_k");
    ref_softmax(plan_logits(p) + (size_t)image * K, prob, 1, K);
    for (uint32_t j = 0; j < k; j++) { /* k is small: selection, ties to the lower index */
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < K; i++) {
            bool taken = false;
            for (uint32_t q = 0; q < j && !taken; q++)
                taken = out[q].index == i;
            if (!taken && (best == UINT32_MAX || prob[i] > prob[best]))
                best = i;
        }
        out[j] = (vkvit_prediction){best, prob[best], vkvit_model_label(p->model, best)};
    }
    free(prob);
    return VKVIT_OK;
}

/* ||gpu - cpu|| / ||cpu||; infinite where the GPU's values are not finite. */
static double rel_error(const float *gpu, const float *cpu, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)gpu[i] - cpu[i];
        num += e * e;
        den += (double)cpu[i] * cpu[i];
    }
    return isfinite(num) ? sqrt(num / (den > 0 ? den : 1)) : INFINITY;
}

VKVIT_API vkvit_status vkvit_verify(const vkvit_plan *p, double *rel_err)
{
    if (!p || !rel_err)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_verify: NULL argument");
    if (!p->model->host)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_verify: load the model with keep_host_weights");
    if (!p->last_n)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_verify: %s", no_results(p));
    const vit_dims *d = &p->model->dims;
    uint32_t n = p->last_n;
    /* The logits; a backbone's pre-logits, or else its pooled tokens. */
    size_t per = d->K ? d->K : d->R ? d->R : (size_t)d->pool * d->D;
    float *ref = malloc((size_t)n * per * sizeof *ref), *pooled = malloc((size_t)n * d->pool * d->D * sizeof *pooled);
    float *pre = d->R ? malloc((size_t)n * d->R * sizeof *pre) : NULL;
    const size_t n_tokens = p->all_tokens ? (size_t)n * d->T * d->D : 0;
    float *tokens = n_tokens ? malloc(n_tokens * sizeof *tokens) : NULL;
    vkvit_status s = VKVIT_OK;
    if (!ref || !pooled || (d->R && !pre) || (n_tokens && !tokens) ||
        ref_vit_forward_tokens(p->model, plan_input(p), n, d->K ? ref : NULL, pooled, pre, NULL, tokens) != 0) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "vkvit_verify: reference forward");
    } else {
        const float *gpu = d->K ? plan_logits(p) : d->R ? plan_embedding(p, 0) : plan_pooled(p);
        const float *cpu = d->K ? ref : d->R ? pre : pooled;
        *rel_err = rel_error(gpu, cpu, n * per);
        if (n_tokens) {
            const double t = rel_error(plan_tokens(p), tokens, n_tokens);
            *rel_err = t > *rel_err || isnan(t) ? t : *rel_err;
        }
    }
    free(tokens);
    free(ref);
    free(pooled);
    free(pre);
    return s;
}
