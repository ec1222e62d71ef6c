/* A ViT on the device: configuration + weights in one canonical layout, uploaded once to device
 * memory. Checkpoints are translated into that layout by checkpoint.c.
 *
 * Layout: layout.h.
 */
#ifndef VKVIT_MODEL_H
#define VKVIT_MODEL_H

#include "layout.h"
#include "preprocess.h"
#include "vk/vk.h"

struct vkvit_model {
    vkvit_context *ctx;
    vit_config cfg;
    vit_dims dims;
    preprocess_spec pre;      /* how an image becomes its input (preprocessor_config.json, timm, defaults) */
    char family[32];          /* "hf-vit", "hf-deit", "timm", "google-vit", "big_vision" */
    char config[512];         /* where the configuration came from (vkvit_model_info.config) */
    char path[1024];
    vit_layout layout;
    float *host;              /* the weight block on the host: kept only when asked (reference) */
    vk_buffer weights;        /* the same block in device memory, fp32 or fp16 (elem_size) */
    vkvit_precision precision;  /* resolved: FP32 or FP16, for weights and activations */
    uint32_t elem_size;       /* 4 or 2 bytes */
    bool unfused_ln;          /* MODEL_UNFUSED_LN: LN1/LN2 run as their own ops, the weights as stored */
    uint64_t parameters;      /* as stored in the checkpoint */
};

/* One whole tensor in the device weight block (an empty span if absent), and its fp32 host pointer
 * (model->host; NULL if absent or not kept). */
vk_span model_span(const struct vkvit_model *m, int layer, int slot);
const float *model_host(const struct vkvit_model *m, int layer, int slot);
vk_span model_span_unit(const struct vkvit_model *m, uint32_t unit, int slot);      /* a hybrid's ResNet unit */
const float *model_host_unit(const struct vkvit_model *m, uint32_t unit, int slot);  /* a hybrid's ResNet unit */

/* The flags of model_load, model_load_rect and model_synthetic. */
enum {
    MODEL_KEEP_HOST = 1u,    /* keep the fp32 host copy (model->host) for the C reference */
    /* The encoder layers' LayerNorms run as their own ops, as before the fusion (docs/fusion.md), and the
     * device weights are the host's. Default (clear): LN1 and LN2 are folded into the QKV and fc1 matmuls. */
    MODEL_UNFUSED_LN = 2u,
};

/* The fused LayerNorm's fold (docs/fusion.md): LayerNorm(x; gamma, beta) . W^T + b = LN0(x) . W'^T + b' with
 * W' = W diag(gamma), b' = b + W beta, for W [N][K], b [N] (NULL: zeros), gamma, beta [K]. Each value summed in
 * double and rounded once to float. w_out may be w, b_out may be b. */
void model_fold_layernorm(uint32_t N, uint32_t K, const float *gamma, const float *beta, const float *w,
                          const float *b, float *w_out, float *b_out);

/* "fp32", "fp16" or "auto". */
const char *precision_name(vkvit_precision p);

/* Loads a checkpoint (a directory with model.safetensors / index + config.json, or a file: checkpoint.h).
 * precision AUTO is resolved here (VKVIT_PRECISION, then the device); the host copy stays fp32 and unfused
 * (the checkpoint's LayerNorms and matmuls). flags: MODEL_*. image_size: 0 = the checkpoint's, else the side to
 * run at (checkpoint_resize). */
vkvit_status model_load(vkvit_context *ctx, const char *path, unsigned flags, vkvit_precision precision,
                        uint32_t image_size, struct vkvit_model **out);
/* The same at height x width pixels, each 0 = the checkpoint's. */
vkvit_status model_load_rect(vkvit_context *ctx, const char *path, unsigned flags, vkvit_precision precision,
                             uint32_t height, uint32_t width, struct vkvit_model **out);
/* A model with seeded random weights (for benchmarks and the synthetic-model tests): cfg must be
 * complete (config_apply_defaults + valid); num_labels 0 = backbone; representation > 0 = a pre-logits layer. */
vkvit_status model_synthetic(vkvit_context *ctx, const vit_config *cfg, uint64_t seed, unsigned flags,
                             vkvit_precision precision, struct vkvit_model **out);
void model_free(struct vkvit_model *m);

#endif
