/* The canonical weight layout of a ViT, which every checkpoint family is translated into
 * (checkpoint.c) and the device model uploads (model.c).
 *
 * Canonical layout (row-major; every tensor starts on a 128-element boundary of one block, 256 bytes
 * or more; elements fp32, or fp16 for a model loaded in fp16 precision):
 *   patch_w [D][C*P*P]  (the conv weight [D][C][P][P] as a GEMM matrix)   patch_b [D]
 *   cls [D], dist [D] (distilled only), reg [regs][D] (register tokens, DINOv2 with registers),
 *   pos [T][D], T = tokens = prefix + regs + (image/P) * (image_w/P), in token order [cls, dist, registers,
 *     patches]; the rows of tokens the checkpoint gives no position embedding (timm's no_embed_class, HF's
 *     registers) hold 0
 *   per layer: ln1_w/b [D], qkv_w [3D][D] (q; k; v rows), qkv_b [3D], proj_w [D][D], proj_b [D],
 *              ln2_w/b [D], fc1_w [MLP][D], fc1_b [MLP], fc2_w [D][MLP], fc2_b [D]
 *              (LayerScale, x + gamma * f(x), is folded at load: proj's and fc2's rows and biases times gamma)
 *   norm_w/b [D]
 *   pre_w [R][D], pre_b [R] (only with a pre-logits layer, R > 0): pre = tanh(pre_w . cls + pre_b) on
 *     the final-LayerNorm class token; the model's embedding, and the head's input. A CLIP tower's
 *     projection (config.h, vit_config.projection) fills the same slots: pre = pre_w . cls + pre_b, pre_b
 *     zeros (HF's visual_projection has no bias) or a timm tower's head.bias (timm's head is the projection)
 *   norm_pre_w/b [D] (only with pre_norm, CLIP): the LayerNorm on the assembled tokens before block 0
 *   head_w [K][D'], head_b [K]: D' = R with a pre-logits layer, else D; 2D for Hugging Face's
 *     Dinov2ForImageClassification (head_mean), whose head reads [cls | mean of the patch tokens], both after the
 *     final LayerNorm (registers excluded from the mean); or 2D for a distilled model,
 *     whose two heads are folded into one: head_w = [Wcls/2 | Wdist/2], head_b = (bcls + bdist)/2,
 *     applied to [cls | dist] so one GEMM yields the mean of the two heads' logits.
 * A hybrid (config.h, vit_resnet) adds its ResNet, every conv weight-standardised at load (checkpoint.c)
 * and stored as the conv2d op reads it: [Cout][Kp], each row the kernel in (ky, kx, c) order, zero-padded
 * to Kp = kh*kw*Cin rounded up to a multiple of 4 (vit_conv_row):
 *   root_w [Cr][Kp(7, 7, C)], root_gn_w/b [Cr]                                   (global slots)
 *   per unit, stages in order (vit_unit_of): conv1_w [mid][Kp(1, 1, Cin)], gn1_w/b [mid],
 *     conv2_w [mid][Kp(3, 3, mid)], gn2_w/b [mid], conv3_w [Cout][Kp(1, 1, mid)], gn3_w/b [Cout],
 *     and in a stage's first unit proj_w [Cout][Kp(1, 1, Cin)], gnp_w/b [Cout]
 *   and its patch_w is [D][Kp(P, P, Cf)] in the same (ky, kx, c) order over the ResNet's NHWC output
 *   (Cf channels; P = 1 for R50+ViT-B/16: a plain [D][Cf] matrix).
 */
#ifndef VKVIT_LAYOUT_H
#define VKVIT_LAYOUT_H

#include "config.h"
#include "status.h"

enum vit_global_slot {
    W_ROOT_W, W_ROOT_GN_W, W_ROOT_GN_B, /* a hybrid's ResNet root */
    W_PATCH_W, W_PATCH_B, W_CLS, W_DIST, W_POS, W_NORM_W, W_NORM_B, W_PRE_W, W_PRE_B, W_HEAD_W, W_HEAD_B,
    W_REG,                        /* register tokens [regs][D] */
    W_HEAD_DIST_W, W_HEAD_DIST_B, /* only while loading: folded into W_HEAD_* */
    W_NORM_PRE_W, W_NORM_PRE_B,   /* pre_norm only (CLIP's ln_pre / pre_layrnorm) */
    /* SigLIP's attention-pooling (MAP) head: map_qkv_w [3D][D] = [0; Wk; Wv], map_qkv_b [3D] = [q; bk; bv] with
     * the probe's query q = Wq . probe + bq folded in at load (it does not depend on the input), so one GEMM of
     * the tokens gives every row the probe's query; then out_proj, LN, MLP (mlp wide) */
    W_MAP_QKV_W, W_MAP_QKV_B, W_MAP_PROJ_W, W_MAP_PROJ_B, W_MAP_LN_W, W_MAP_LN_B, W_MAP_FC1_W, W_MAP_FC1_B,
    W_MAP_FC2_W, W_MAP_FC2_B,
    W_MAP_PROBE, W_MAP_IN_W, W_MAP_IN_B, W_MAP_Q_W, W_MAP_Q_B, W_MAP_KV_W, W_MAP_KV_B, /* only while loading */
    W_GLOBAL_COUNT
};
enum vit_layer_slot {
    L_LN1_W, L_LN1_B, L_QKV_W, L_QKV_B, L_PROJ_W, L_PROJ_B, L_LN2_W, L_LN2_B,
    L_FC1_W, L_FC1_B, L_FC2_W, L_FC2_B,
    L_LS1, L_LS2, /* only while loading: LayerScale's gammas, folded into L_PROJ_* and L_FC2_* (no storage) */
    L_SLOT_COUNT
};

/* One bottleneck unit of a hybrid's ResNet. */
enum vit_unit_slot {
    U_CONV1_W, U_GN1_W, U_GN1_B, U_CONV2_W, U_GN2_W, U_GN2_B, U_CONV3_W, U_GN3_W, U_GN3_B,
    U_PROJ_W, U_GNP_W, U_GNP_B, /* the projection shortcut: a stage's first unit only */
    U_SLOT_COUNT
};

/* One tensor of the weight block, in elements: where it starts and how many it holds (0: absent). */
typedef struct vit_tensor {
    uint64_t offset, count;
} vit_tensor;

/* Every tensor of the weight block. */
typedef struct vit_layout {
    vit_tensor global[W_GLOBAL_COUNT];
    vit_tensor *layer;        /* [layers][L_SLOT_COUNT] */
    vit_tensor *unit;         /* [units][U_SLOT_COUNT] (a hybrid's ResNet), else NULL */
    uint64_t total;           /* elements */
} vit_layout;

/* Derived sizes used everywhere. R: the pre-logits width (0: no such layer); E: the embedding's
 * width (R, or D: the final-LayerNorm class token); head_in: the classifier's input width. */
/* feat: the side of the map the patch embedding reads (the image, or a hybrid's ResNet output), pc its
 * channels; grid = feat / P; cpp: a patch_w row. image, feat and grid are heights; image_w, feat_w and grid_w
 * the widths (equal for a square model); patches = grid * grid_w, in raster order (row-major over the grid). */
typedef struct vit_dims {
    uint32_t D, L, H, dh, mlp, C, P, image, grid, patches, prefix, T, K, cpp, R, E, head_in;
    uint32_t regs;            /* register tokens, after the prefix tokens: T = prefix + regs + patches */
    bool head_mean;           /* the head reads [cls | mean of the patch tokens] (head_in = 2D)        */
    uint32_t feat, pc;
    uint32_t image_w, feat_w, grid_w;
    bool hybrid;
    bool pre_norm;            /* a LayerNorm on the tokens before block 0 (CLIP) */
    bool map;                 /* SigLIP: prefix 0, pooled by the MAP head */
    uint32_t pool;            /* vectors per image in the pooled output: prefix, or 1 (MAP) */
    vit_resnet resnet;        /* hybrid only */
    uint32_t units;           /* bottleneck units in all stages */
} vit_dims;

/* One bottleneck unit of a hybrid's ResNet at the model's input size. */
typedef struct vit_unit {
    uint32_t stage, index;    /* its stage (0-based) and place in it (0-based) */
    uint32_t cin, mid, cout, stride;
    uint32_t in, out;         /* the side of its input and output maps */
    bool proj;                /* a projection shortcut (a stage's first unit) */
} vit_unit;

vit_dims vit_dims_of(const vit_config *c);
/* Unit u (0..units-1, stages in order) of d's ResNet. */
vit_unit vit_unit_of(const vit_dims *d, uint32_t u);
/* The side of the root's output after its conv (ceil(image / 2)) and after its pool (ceil of half that). */
uint32_t vit_root_side(const vit_dims *d, bool pooled);
/* The largest activation of d's ResNet, in values per image (the stem's buffers are each this big). */
uint64_t vit_resnet_floats(const vit_dims *d);
/* A conv weight row: kh * kw * cin rounded up to a multiple of 4 (the conv2d op's vec4 loads). */
uint32_t vit_conv_row(uint32_t kh, uint32_t kw, uint32_t cin);
/* Every tensor in slot order, each on a 128-element boundary; lay->layer and lay->unit are malloc'd. */
vkvit_status vit_layout_make(const vit_dims *d, vit_layout *lay);
void vit_layout_free(vit_layout *lay);

/* Slot `slot` of block `layer`, or the global slot for layer -1. */
const vit_tensor *layout_tensor(const vit_layout *lay, int layer, int slot);
/* Slot `slot` of ResNet unit u. */
const vit_tensor *layout_unit(const vit_layout *lay, uint32_t u, int slot);
/* What a slot is, in words, for messages: "class token", "fc1/intermediate weight". */
const char *vit_slot_name(bool layer, int slot);
const char *vit_unit_slot_name(int slot);          /* "conv2 weight", "projection GroupNorm bias" */

#endif
