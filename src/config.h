/* Model configuration: a ViT's dimensions and labels from a Hugging Face or timm config.json, and
 * labels from a labels.txt. No tensors here: the model loader fills what a file leaves out.
 *
 * Usage (the model loader):
 *     vit_config c;
 *     vkvit_status s = config_load("model/config.json", &c);   // or config_init(&c) if none
 *     ... fill the fields c.present lacks from tensor shapes (hidden, layers, mlp, patch, image,
 *         channels, num_labels, distilled) ...
 *     config_apply_defaults(&c);                 // what shapes cannot tell: heads, eps, GELU, ...
 *     s = config_validate(&c, "model/config.json");
 *     config_free(&c);
 *
 * Hugging Face (ViTConfig / DeiTConfig) keys read: architectures[0], model_type, hidden_size,
 *   num_hidden_layers, num_attention_heads, intermediate_size, image_size (an integer or [h, w]: a
 *   non-square model, image = h, image_w = w), patch_size (an integer or a square [h, w]), num_channels,
 *   layer_norm_eps, hidden_act, qkv_bias, id2label ({"0": ...} with keys exactly 0..n-1), num_labels
 *   (checked against id2label), for model_type "dinov2" and "dinov2_with_registers" num_register_tokens and
 *   use_swiglu_ffn (true: VKVIT_ERROR_UNSUPPORTED), pooler_output_size and pooler_act (ViTModel's / DeiTModel's
 *   pooler; used only where the checkpoint has one). Note: HF saves a backbone's config with a placeholder
 *   id2label {"0": "LABEL_0", "1": "LABEL_1"}; the
 *   classifier's shape decides. A ViTHybrid's backbone_config (BitConfig): depths, num_groups; layer_type
 *   other than "bottleneck" and global_padding other than "same" are VKVIT_ERROR_UNSUPPORTED.
 *   CLIP (model_type "clip_vision_model", or "clip": a whole CLIPModel, the tower's keys read from its
 *   vision_config): pre_norm and projection set, quick_gelu and eps 1e-5 unless the file says otherwise
 *   (hidden_act "quick_gelu" is read for any model), projection_dim (the top level's) as the projection's
 *   width where architectures[0] has one (CLIPVisionModelWithProjection, CLIPModel; not CLIPVisionModel).
 *   SigLIP (model_type "siglip_vision_model", or "siglip" with vision_config): map set (no class token,
 *   the attention-pooling head), gelu_pytorch_tanh and eps 1e-6 unless the file says otherwise;
 *   vision_use_head false (no pooling head) is VKVIT_ERROR_UNSUPPORTED.
 * timm keys read, merged as timm.create_model(architecture, **model_args) merges them:
 *   architecture: a name timm registers in vision_transformer.py / deit.py (a pretrained tag after a dot is
 *   ignored) gives every argument timm's model function passes to VisionTransformer (timm_archs.h, generated
 *   from timm: embed_dim, depth, num_heads, mlp_ratio, patch_size, img_size, in_chans, num_classes, qkv_bias,
 *   LayerNorm eps, GELU form (erf, tanh, quick_gelu), pre_norm (CLIP's norm_pre), distillation token, and the
 *   arguments vkvit does not run); another name gives
 *   nothing (model_args and the tensors' shapes decide). model_args (embed_dim, depth, num_heads, mlp_ratio,
 *   img_size, patch_size, in_chans, num_classes, qkv_bias, class_token, reg_tokens, no_embed_class,
 *   global_pool, init_values, pre_norm, fc_norm, act_layer, norm_layer, representation_size (older timm: the
 *   pre_logits layer), ...; JSON null = None) override them
 *   field by field; mlp = int(embed_dim x mlp_ratio) as timm's Block computes it. pretrained_cfg
 *   (input_size [C, H, W], num_classes, mean, std, interpolation, crop_pct) replaces the architecture's
 *   defaults but not what model_args gave (timm fills only the arguments not passed). num_features and
 *   num_classes at the top level must agree with the result; label_names; global_pool ("token" only).
 *   reg_tokens (registers), no_embed_class (pos_rows) and init_values (LayerScale, folded at load where the
 *   checkpoint has ls1/ls2.gamma) are run; class_token false with global_pool 'map' is SigLIP (map). A model vkvit
 *   does not run (no class token otherwise, pooling other than the class token, fc_norm, an activation other than
 *   the three GELUs, another norm, block, MLP or
 *   attention) is VKVIT_ERROR_UNSUPPORTED naming the argument and its value; a model_args key that is not a
 *   VisionTransformer argument vkvit knows, too (timm itself refuses unknown arguments).
 * Unknown keys are ignored. A key present with the wrong type or an impossible value is
 * VKVIT_ERROR_BAD_CONFIG naming the file, the key and the value.
 *
 * Defaults: config_init sets exact (erf) GELU and qkv_bias = true (a file may say otherwise);
 *   config_apply_defaults fills the numbers absent from the file and still 0: heads = hidden / 64
 *   (when hidden is a multiple of 64), mlp = 4 x hidden, channels = 3, layer_norm_eps = 1e-12 for
 *   HF-style configs and for no config / 1e-6 for timm. The preprocessing hints (mean, std,
 *   crop_pct, interpolation) get no defaults here: the image path decides what absence means.
 */
#ifndef VKVIT_CONFIG_H
#define VKVIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkvit.h"

/* Caps enforced by config_validate. */
#define CONFIG_MAX_HIDDEN 16384
#define CONFIG_MAX_LAYERS 256
#define CONFIG_MAX_MLP 65536
#define CONFIG_MAX_IMAGE 4096
#define CONFIG_MAX_CHANNELS 4
#define CONFIG_MAX_LABELS 100000
#define CONFIG_MAX_STAGES 4        /* ResNet stages of a hybrid */
#define CONFIG_MAX_UNITS 64        /* bottleneck units of one stage (ResNet-152's third stage: 36) */
#define CONFIG_MAX_REGISTERS 64    /* register tokens (DINOv2: 4) */

typedef enum config_format {
    CONFIG_FORMAT_NONE = 0,    /* no config file: everything from tensors and defaults      */
    CONFIG_FORMAT_HF,
    CONFIG_FORMAT_TIMM
} config_format;

typedef enum vit_gelu {
    VIT_GELU_ERF = 0,          /* x/2 (1 + erf(x/sqrt 2)): "gelu", "gelu_python"           */
    VIT_GELU_TANH,             /* x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))): "gelu_new",
                                * "gelu_pytorch_tanh", "gelu_fast"                           */
    VIT_GELU_QUICK             /* x sigmoid(1.702 x): "quick_gelu" (OpenAI's CLIP weights)   */
} vit_gelu;

/* The rows of a checkpoint's position embedding, before its patch grid (the tokens without a row get none). */
typedef enum vit_pos_rows {
    VIT_POS_PREFIX = 0,        /* class (and distillation) and register tokens: timm's default */
    VIT_POS_CLASS,             /* the class token only, the registers none: HF Dinov2WithRegisters */
    VIT_POS_PATCHES            /* the patches only: timm's no_embed_class (DeiT III, DINOv2 with registers) */
} vit_pos_rows;

/* Whether the blocks have LayerScale (ls1/ls2 gammas, folded at load). */
typedef enum vit_layer_scale {
    VIT_LS_TENSORS = 0,        /* the config does not say: where the checkpoint has the tensors */
    VIT_LS_NONE,               /* none: timm without init_values (a gamma is an unexpected tensor) */
    VIT_LS_ALL                 /* every block: timm's init_values, Hugging Face's DINOv2 */
} vit_layer_scale;

/* Bits of vit_config.present: the fields the file gave, directly or through the timm
 * architecture name. */
enum config_field {
    CONFIG_HIDDEN = 1u << 0,
    CONFIG_LAYERS = 1u << 1,
    CONFIG_HEADS = 1u << 2,
    CONFIG_MLP = 1u << 3,
    CONFIG_IMAGE = 1u << 4,
    CONFIG_PATCH = 1u << 5,
    CONFIG_CHANNELS = 1u << 6,
    CONFIG_EPS = 1u << 7,
    CONFIG_GELU = 1u << 8,
    CONFIG_QKV_BIAS = 1u << 9,
    CONFIG_NUM_LABELS = 1u << 10,
    CONFIG_LABELS = 1u << 11,
    CONFIG_DISTILLED = 1u << 12,
    CONFIG_MEAN = 1u << 13,
    CONFIG_STD = 1u << 14,
    CONFIG_CROP_PCT = 1u << 15,
    CONFIG_INTERPOLATION = 1u << 16,
    CONFIG_REPRESENTATION = 1u << 17,
    CONFIG_RESNET = 1u << 18,  /* a hybrid's ResNet depths (HF backbone_config) */
    CONFIG_REGISTERS = 1u << 19,
};

/* Class names, index = class. names and the strings are one allocation; labels_free() it. */
typedef struct vit_labels {
    char **names;
    uint32_t count;
} vit_labels;

/* The ResNet of a hybrid ViT (R50+ViT: timm's vit_base_r50_s16_224, HF's ViTHybrid, Google's R50+ViT-B_16):
 * a root (7x7 stride-2 conv, GroupNorm, ReLU, 3x3 stride-2 max-pool, all TF "SAME" padded), then `stages`
 * stages of bottleneck units (1x1 conv, GN, ReLU; 3x3 conv with the stage's stride, GN, ReLU; 1x1 conv, GN;
 * + the shortcut, projected by a strided 1x1 conv + GN in a stage's first unit; ReLU), stage 1 at stride 1,
 * the others at stride 2. Every conv is weight-standardised (done once at load) and has no bias. The
 * patch embedding (patch x patch, usually 1x1) runs on the last stage's output. */
typedef struct vit_resnet {
    uint32_t stages;                      /* 0: the root alone (timm's vit_tiny_r_s16_p8)       */
    uint32_t root;                        /* the root conv's output channels (64)               */
    uint32_t depth[CONFIG_MAX_STAGES];    /* units per stage (3, 4, 9)                          */
    uint32_t mid[CONFIG_MAX_STAGES];      /* a unit's bottleneck width (64, 128, 256)           */
    uint32_t width[CONFIG_MAX_STAGES];    /* a stage's output channels (256, 512, 1024)         */
    uint32_t groups;                      /* GroupNorm groups (32)                              */
    double gn_eps;                        /* GroupNorm epsilon (timm, HF 1e-5; Flax 1e-6)       */
} vit_resnet;

typedef struct vit_config {
    config_format format;
    uint32_t present;          /* config_field bits                                          */
    char architecture[128];    /* HF architectures[0] or timm "architecture"; "" if none    */
    char model_type[32];       /* HF model_type ("vit", "deit"); "" for timm                 */

    uint32_t hidden;           /* D, the embedding width                                     */
    uint32_t layers;           /* encoder blocks                                             */
    uint32_t heads;            /* attention heads; head dim = hidden / heads                 */
    uint32_t mlp;              /* hidden width of the MLP (intermediate_size)                */
    uint32_t image;            /* input height, pixels (and the width of a square model)      */
    uint32_t image_w;          /* input width, pixels, when it differs from the height ([h, w]
                                * sizes); 0 = square. Read it through config_image_w.          */
    uint32_t patch;            /* patch height = width, pixels                               */
    uint32_t channels;         /* input channels                                             */
    uint32_t num_labels;       /* classifier outputs; 0 = no classifier (a backbone)         */
    double eps;                /* LayerNorm epsilon                                          */
    vit_gelu gelu;
    bool qkv_bias;
    bool distilled;            /* DeiT distillation token + second head (logits = mean)      */
    uint32_t representation;   /* R, the pre-logits width: pre = tanh(W . cls + b) [R] after the
                                * final LayerNorm (timm representation_size; HF
                                * pooler_output_size); 0 = no such layer                      */
    char pooler_act[16];       /* HF pooler_act; "" = not in the file (HF's default is tanh)  */
    uint32_t registers;        /* register tokens after the class token (DINOv2 with registers: timm reg_tokens,
                                * HF num_register_tokens); they carry no position embedding unless pos_rows
                                * says so                                                    */
    vit_pos_rows pos_rows;     /* which tokens the checkpoint's position embedding has rows for */
    vit_layer_scale layer_scale;
    bool head_mean;            /* HF Dinov2ForImageClassification: the head reads [cls | mean of the patch
                                * tokens] after the final LayerNorm                           */
    bool pre_norm;             /* a LayerNorm on the tokens before block 0: CLIP's ln_pre (HF
                                * pre_layrnorm, timm norm_pre)                               */
    bool map;                  /* SigLIP: no class token; the tokens pooled by attention (MAP: a
                                * learned probe query over every token after the final LayerNorm,
                                * then LN + MLP with a residual): timm global_pool 'map', HF
                                * Siglip's head                                               */
    bool projection;           /* the pre-logits slots hold a CLIP tower's image projection:
                                * pre = W . cls (+ b: timm's head, zero in its towers), no tanh;
                                * R = projection_dim (timm: the head's num_classes)           */
    bool hybrid;               /* tokens from a ResNet (resnet) instead of the image's patches */
    vit_resnet resnet;         /* hybrid only; depths from the file (CONFIG_RESNET) or tensors */
    vit_labels labels;         /* count == num_labels when CONFIG_LABELS is present          */

    /* Preprocessing hints (timm pretrained_cfg); normalised = (pixel/255 - mean) / std. */
    float mean[CONFIG_MAX_CHANNELS], std[CONFIG_MAX_CHANNELS];
    uint32_t mean_count, std_count;
    float crop_pct;            /* centre crop = image / crop_pct before resizing             */
    char interpolation[16];    /* "bicubic", "bilinear", ...                                 */
} vit_config;

/* The input width: image_w, or image for a square model. */
static inline uint32_t config_image_w(const vit_config *c) { return c->image_w ? c->image_w : c->image; }

/* Nothing present, format NONE, every number 0, GELU erf, qkv_bias true. */
void config_init(vit_config *c);

/* Parses a config.json held in memory (need not be NUL-terminated). `name` stands for the file in
 * messages. *c is initialised first; on error it holds nothing to free.
 * Errors: VKVIT_ERROR_BAD_CONFIG (not JSON, not an object, neither HF nor timm, a key with the
 * wrong type or value, an unsupported HF activation, id2label keys not exactly 0..n-1),
 * VKVIT_ERROR_UNSUPPORTED (a timm model vkvit does not run, above), VKVIT_ERROR_OUT_OF_HOST_MEMORY. */
vkvit_status config_parse(const char *json, size_t len, const char *name, vit_config *c);

/* Reads and parses a file: config_parse's errors, and VKVIT_ERROR_IO. */
vkvit_status config_load(const char *path, vit_config *c);

/* Fills the fields absent from the file (c->present) and still 0 with the documented defaults
 * above. Call after the loader has inferred what tensor shapes tell. Does not change c->present;
 * a value the file gave, even 0, is kept (and config_validate rejects it). */
void config_apply_defaults(vit_config *c);

/* Checks a completed config: every dimension > 0 and within the caps above, heads divide hidden,
 * patch divides image and image_w (a hybrid's: the ResNet's output side; a non-square hybrid is
 * VKVIT_ERROR_UNSUPPORTED), a hybrid's ResNet within the caps with
 * its GroupNorm groups dividing every width, eps in (0, 1), labels count == num_labels, mean/std one per channel and
 * std > 0, crop_pct in (0, 1]. VKVIT_ERROR_BAD_CONFIG naming `name`, the field and its value. */
vkvit_status config_validate(const vit_config *c, const char *name);

/* The side of the map the patch embedding sees at `image` pixels: the image itself, or a hybrid's ResNet
 * output (every stride-2 step, SAME-padded, gives ceil(side / 2): the root conv, the pool, stages 2..n). */
uint32_t config_feature_side(const vit_config *c, uint32_t image);
/* Channels of that map: c->channels, or the ResNet's last width (its root's for stages = 0). */
uint32_t config_feature_channels(const vit_config *c);

/* Frees the labels; c is left initialised (config_init). NULL is fine. */
void config_free(vit_config *c);

/* One label per line ("\n" or "\r\n"; a final newline is optional; empty lines are labels too).
 * At most CONFIG_MAX_LABELS. `name` stands for the file in messages. On error *out is empty.
 * Errors: VKVIT_ERROR_BAD_CONFIG (empty, too many lines, a NUL byte), VKVIT_ERROR_IO (labels_load),
 * VKVIT_ERROR_OUT_OF_HOST_MEMORY. */
vkvit_status labels_parse(const char *text, size_t len, const char *name, vit_labels *out);
vkvit_status labels_load(const char *path, vit_labels *out);
void labels_free(vit_labels *l);

#endif
