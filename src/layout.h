/* The canonical weight layout of a ViT, which every checkpoint family is translated into
 * (checkpoint.c) and the device model uploads (model.c).
 *
 * Canonical layout (row-major; every tensor starts on a 128-element boundary of one block, 256 bytes
 * or more; elements fp32, or fp16 for a model loaded in fp16 precision):
 *   patch_w [D][C*P*P]  (the conv weight [D][C][P][P] as a GEMM matrix)   patch_b [D]
 *   cls [D], dist [D] (distilled only), pos [T][D], T = tokens = prefix + (image/P)^2
 *   per layer: ln1_w/b [D], qkv_w [3D][D] (q; k; v rows), qkv_b [3D], proj_w [D][D], proj_b [D],
 *              ln2_w/b [D], fc1_w [MLP][D], fc1_b [MLP], fc2_w [D][MLP], fc2_b [D]
 *   norm_w/b [D]
 *   pre_w [R][D], pre_b [R] (only with a pre-logits layer, R > 0): pre = tanh(pre_w . cls + pre_b) on
 *     the final-LayerNorm class token; the model's embedding, and the head's input
 *   head_w [K][D'], head_b [K]: D' = R with a pre-logits layer, else D, or 2D for a distilled model,
 *     whose two heads are folded into one: head_w = [Wcls/2 | Wdist/2], head_b = (bcls + bdist)/2,
 *     applied to [cls | dist] so one GEMM yields the mean of the two heads' logits.
 */
#ifndef VKVIT_LAYOUT_H
#define VKVIT_LAYOUT_H

#include "config.h"
#include "status.h"

enum vit_global_slot {
    W_PATCH_W, W_PATCH_B, W_CLS, W_DIST, W_POS, W_NORM_W, W_NORM_B, W_PRE_W, W_PRE_B, W_HEAD_W, W_HEAD_B,
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

/* Derived sizes used everywhere. R: the pre-logits width (0: no such layer); E: the embedding's
 * width (R, or D: the final-LayerNorm class token); head_in: the classifier's input width. */
typedef struct vit_dims {
    uint32_t D, L, H, dh, mlp, C, P, image, grid, patches, prefix, T, K, cpp, R, E, head_in;
} vit_dims;

vit_dims vit_dims_of(const vit_config *c);
/* Every tensor in slot order, each on a 128-element boundary; lay->layer is malloc'd. */
vkvit_status vit_layout_make(const vit_dims *d, vit_layout *lay);

/* Slot `slot` of block `layer`, or the global slot for layer -1. */
const vit_tensor *layout_tensor(const vit_layout *lay, int layer, int slot);
/* What a slot is, in words, for messages: "class token", "fc1/intermediate weight". */
const char *vit_slot_name(bool layer, int slot);

#endif
