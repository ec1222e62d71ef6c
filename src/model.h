/* A ViT on the device: configuration + weights in one canonical layout, uploaded once to device
 * memory. Checkpoints are translated into that layout by checkpoint.c.
 *
 * Canonical layout (row-major; every tensor starts on a 128-element boundary of one block, 256 bytes
 * or more; elements fp32, or fp16 for a model loaded in fp16 precision):
 *   patch_w [D][C*P*P]  (the conv weight [D][C][P][P] as a GEMM matrix)   patch_b [D]
 *   cls [D], dist [D] (distilled only), pos [T][D], T = tokens = prefix + (image/P)^2
 *   per layer: ln1_w/b [D], qkv_w [3D][D] (q; k; v rows), qkv_b [3D], proj_w [D][D], proj_b [D],
 *              ln2_w/b [D], fc1_w [MLP][D], fc1_b [MLP], fc2_w [D][MLP], fc2_b [D]
 *   norm_w/b [D]
 *   head_w [K][D'], head_b [K]: D' = D, or 2D for a distilled model, whose two heads are folded
 *     into one: head_w = [Wcls/2 | Wdist/2], head_b = (bcls + bdist)/2, applied to [cls | dist]
 *     so one GEMM yields the mean of the two heads' logits.
 */
#ifndef VKVIT_MODEL_H
#define VKVIT_MODEL_H

#include "config.h"
#include "preprocess.h"
#include "vk/vk.h"

enum vit_global_slot {
    W_PATCH_W, W_PATCH_B, W_CLS, W_DIST, W_POS, W_NORM_W, W_NORM_B, W_HEAD_W, W_HEAD_B,
    W_HEAD_DIST_W, W_HEAD_DIST_B, /* only while loading: folded into W_HEAD_* */
    W_GLOBAL_COUNT
};
enum vit_layer_slot {
    L_LN1_W, L_LN1_B, L_QKV_W, L_QKV_B, L_PROJ_W, L_PROJ_B, L_LN2_W, L_LN2_B,
    L_FC1_W, L_FC1_B, L_FC2_W, L_FC2_B,
    L_SLOT_COUNT
};

/* One tensor of the weight block, in elements: where it starts and how many it holds (0: absent). */
typedef struct vit_tensor {
    uint64_t offset, count;
} vit_tensor;

/* Every tensor of the weight block. */
typedef struct vit_layout {
    vit_tensor global[W_GLOBAL_COUNT];
    vit_tensor *layer;        /* [layers][L_SLOT_COUNT] */
    uint64_t total;           /* elements */
} vit_layout;

/* Derived sizes used everywhere. */
typedef struct vit_dims {
    uint32_t D, L, H, dh, mlp, C, P, image, grid, patches, prefix, T, K, cpp;
} vit_dims;

struct vkvit_model {
    vkvit_context *ctx;
    vit_config cfg;
    vit_dims dims;
    preprocess_spec pre;      /* how an image becomes its input (preprocessor_config.json, timm, defaults) */
    char family[32];          /* "hf-vit", "hf-deit", "timm" */
    char path[1024];
    vit_layout layout;
    float *host;              /* the weight block on the host: kept only when asked (reference) */
    vk_buffer weights;        /* the same block in device memory, fp32 or fp16 (elem_size) */
    vkvit_precision precision;  /* resolved: FP32 or FP16, for weights and activations */
    uint32_t elem_size;       /* 4 or 2 bytes */
    uint64_t parameters;      /* as stored in the checkpoint */
};

vit_dims vit_dims_of(const vit_config *c);

/* Slot `slot` of block `layer`, or the global slot for layer -1. */
const vit_tensor *layout_tensor(const vit_layout *lay, int layer, int slot);
/* What a slot is, in words, for messages: "class token", "fc1/intermediate weight". */
const char *vit_slot_name(bool layer, int slot);

/* One whole tensor in the device weight block (an empty span if absent), and its fp32 host pointer
 * (model->host; NULL if absent or not kept). */
vk_span model_span(const struct vkvit_model *m, int layer, int slot);
const float *model_host(const struct vkvit_model *m, int layer, int slot);

/* "fp32", "fp16" or "auto". */
const char *precision_name(vkvit_precision p);

/* Loads a checkpoint (a directory with model.safetensors / index + config.json, or a file: checkpoint.h).
 * precision AUTO is resolved here (VKVIT_PRECISION, then the device); the host copy stays fp32. */
vkvit_status model_load(vkvit_context *ctx, const char *path, bool keep_host, vkvit_precision precision,
                        struct vkvit_model **out);
/* A model with seeded random weights (for benchmarks and the synthetic-model tests): cfg must be
 * complete (config_apply_defaults + valid); num_labels 0 = backbone. */
vkvit_status model_synthetic(vkvit_context *ctx, const vit_config *cfg, uint64_t seed, bool keep_host,
                             vkvit_precision precision, struct vkvit_model **out);
void model_free(struct vkvit_model *m);

#endif
