/* Checkpoint -> canonical weights: the naming table of each family, shape inference, the
 * configuration reconciled with the tensors, every tensor checked, then read into its place (Google's
 * Flax kernels transposed on the way). */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npz.h"
#include "posembed.h"
#include "safetensors.h"
#include "util/fs.h"
#include "util/json.h"

/* ---- naming maps ------------------------------------------------------------------------------------
 * One table per family. `layer` entries hold "%u" where the block index goes; `part` is the q/k/v
 * third of the fused QKV tensor a separate HF tensor fills (-1: the whole tensor). HF names get the
 * family prefix ("vit.", "deit.", or "" for a bare ViTModel) unless `bare` is set. */
typedef struct name_entry {
    const char *name;
    bool layer;
    int slot;
    int part;
    bool bare;
} name_entry;

static const name_entry hf_names[] = {
    {"embeddings.cls_token", false, W_CLS, -1, false},
    {"embeddings.distillation_token", false, W_DIST, -1, false},
    {"embeddings.position_embeddings", false, W_POS, -1, false},
    {"embeddings.patch_embeddings.projection.weight", false, W_PATCH_W, -1, false},
    {"embeddings.patch_embeddings.projection.bias", false, W_PATCH_B, -1, false},
    {"encoder.layer.%u.layernorm_before.weight", true, L_LN1_W, -1, false},
    {"encoder.layer.%u.layernorm_before.bias", true, L_LN1_B, -1, false},
    {"encoder.layer.%u.attention.attention.query.weight", true, L_QKV_W, 0, false},
    {"encoder.layer.%u.attention.attention.key.weight", true, L_QKV_W, 1, false},
    {"encoder.layer.%u.attention.attention.value.weight", true, L_QKV_W, 2, false},
    {"encoder.layer.%u.attention.attention.query.bias", true, L_QKV_B, 0, false},
    {"encoder.layer.%u.attention.attention.key.bias", true, L_QKV_B, 1, false},
    {"encoder.layer.%u.attention.attention.value.bias", true, L_QKV_B, 2, false},
    {"encoder.layer.%u.attention.output.dense.weight", true, L_PROJ_W, -1, false},
    {"encoder.layer.%u.attention.output.dense.bias", true, L_PROJ_B, -1, false},
    {"encoder.layer.%u.layernorm_after.weight", true, L_LN2_W, -1, false},
    {"encoder.layer.%u.layernorm_after.bias", true, L_LN2_B, -1, false},
    {"encoder.layer.%u.intermediate.dense.weight", true, L_FC1_W, -1, false},
    {"encoder.layer.%u.intermediate.dense.bias", true, L_FC1_B, -1, false},
    {"encoder.layer.%u.output.dense.weight", true, L_FC2_W, -1, false},
    {"encoder.layer.%u.output.dense.bias", true, L_FC2_B, -1, false},
    {"layernorm.weight", false, W_NORM_W, -1, false},
    {"layernorm.bias", false, W_NORM_B, -1, false},
    {"pooler.dense.weight", false, W_PRE_W, -1, false},
    {"pooler.dense.bias", false, W_PRE_B, -1, false},
    {"classifier.weight", false, W_HEAD_W, -1, true},
    {"classifier.bias", false, W_HEAD_B, -1, true},
    {"cls_classifier.weight", false, W_HEAD_W, -1, true},
    {"cls_classifier.bias", false, W_HEAD_B, -1, true},
    {"distillation_classifier.weight", false, W_HEAD_DIST_W, -1, true},
    {"distillation_classifier.bias", false, W_HEAD_DIST_B, -1, true},
};

/* transformers' CLIPVisionModel / CLIPVisionModelWithProjection / CLIPModel vision tower (modeling_clip.py;
 * the names convert_clip_original_pytorch_to_hf.py gives OpenAI's visual.*): note "pre_layrnorm", spelt so in
 * the checkpoints. The patch conv has no bias; the projection (bare: outside vision_model.) none either. */
static const name_entry clip_names[] = {
    {"embeddings.class_embedding", false, W_CLS, -1, false},
    {"embeddings.position_embedding.weight", false, W_POS, -1, false},
    {"embeddings.patch_embedding.weight", false, W_PATCH_W, -1, false},
    {"pre_layrnorm.weight", false, W_NORM_PRE_W, -1, false},
    {"pre_layrnorm.bias", false, W_NORM_PRE_B, -1, false},
    {"encoder.layers.%u.layer_norm1.weight", true, L_LN1_W, -1, false},
    {"encoder.layers.%u.layer_norm1.bias", true, L_LN1_B, -1, false},
    {"encoder.layers.%u.self_attn.q_proj.weight", true, L_QKV_W, 0, false},
    {"encoder.layers.%u.self_attn.k_proj.weight", true, L_QKV_W, 1, false},
    {"encoder.layers.%u.self_attn.v_proj.weight", true, L_QKV_W, 2, false},
    {"encoder.layers.%u.self_attn.q_proj.bias", true, L_QKV_B, 0, false},
    {"encoder.layers.%u.self_attn.k_proj.bias", true, L_QKV_B, 1, false},
    {"encoder.layers.%u.self_attn.v_proj.bias", true, L_QKV_B, 2, false},
    {"encoder.layers.%u.self_attn.out_proj.weight", true, L_PROJ_W, -1, false},
    {"encoder.layers.%u.self_attn.out_proj.bias", true, L_PROJ_B, -1, false},
    {"encoder.layers.%u.layer_norm2.weight", true, L_LN2_W, -1, false},
    {"encoder.layers.%u.layer_norm2.bias", true, L_LN2_B, -1, false},
    {"encoder.layers.%u.mlp.fc1.weight", true, L_FC1_W, -1, false},
    {"encoder.layers.%u.mlp.fc1.bias", true, L_FC1_B, -1, false},
    {"encoder.layers.%u.mlp.fc2.weight", true, L_FC2_W, -1, false},
    {"encoder.layers.%u.mlp.fc2.bias", true, L_FC2_B, -1, false},
    {"post_layernorm.weight", false, W_NORM_W, -1, false},
    {"post_layernorm.bias", false, W_NORM_B, -1, false},
    {"visual_projection.weight", false, W_PRE_W, -1, true},
};

/* transformers' SiglipVisionModel / SiglipModel vision tower (modeling_siglip.py; convert_siglip_to_hf.py's names
 * for big_vision's): no class token, a patch conv with bias, and the attention-pooling head ("head.": probe,
 * nn.MultiheadAttention's packed in_proj, out_proj, layernorm, mlp). */
static const name_entry siglip_names[] = {
    {"embeddings.position_embedding.weight", false, W_POS, -1, false},
    {"embeddings.patch_embedding.weight", false, W_PATCH_W, -1, false},
    {"embeddings.patch_embedding.bias", false, W_PATCH_B, -1, false},
    {"encoder.layers.%u.layer_norm1.weight", true, L_LN1_W, -1, false},
    {"encoder.layers.%u.layer_norm1.bias", true, L_LN1_B, -1, false},
    {"encoder.layers.%u.self_attn.q_proj.weight", true, L_QKV_W, 0, false},
    {"encoder.layers.%u.self_attn.k_proj.weight", true, L_QKV_W, 1, false},
    {"encoder.layers.%u.self_attn.v_proj.weight", true, L_QKV_W, 2, false},
    {"encoder.layers.%u.self_attn.q_proj.bias", true, L_QKV_B, 0, false},
    {"encoder.layers.%u.self_attn.k_proj.bias", true, L_QKV_B, 1, false},
    {"encoder.layers.%u.self_attn.v_proj.bias", true, L_QKV_B, 2, false},
    {"encoder.layers.%u.self_attn.out_proj.weight", true, L_PROJ_W, -1, false},
    {"encoder.layers.%u.self_attn.out_proj.bias", true, L_PROJ_B, -1, false},
    {"encoder.layers.%u.layer_norm2.weight", true, L_LN2_W, -1, false},
    {"encoder.layers.%u.layer_norm2.bias", true, L_LN2_B, -1, false},
    {"encoder.layers.%u.mlp.fc1.weight", true, L_FC1_W, -1, false},
    {"encoder.layers.%u.mlp.fc1.bias", true, L_FC1_B, -1, false},
    {"encoder.layers.%u.mlp.fc2.weight", true, L_FC2_W, -1, false},
    {"encoder.layers.%u.mlp.fc2.bias", true, L_FC2_B, -1, false},
    {"post_layernorm.weight", false, W_NORM_W, -1, false},
    {"post_layernorm.bias", false, W_NORM_B, -1, false},
    {"head.probe", false, W_MAP_PROBE, -1, false},
    {"head.attention.in_proj_weight", false, W_MAP_IN_W, -1, false},
    {"head.attention.in_proj_bias", false, W_MAP_IN_B, -1, false},
    {"head.attention.out_proj.weight", false, W_MAP_PROJ_W, -1, false},
    {"head.attention.out_proj.bias", false, W_MAP_PROJ_B, -1, false},
    {"head.layernorm.weight", false, W_MAP_LN_W, -1, false},
    {"head.layernorm.bias", false, W_MAP_LN_B, -1, false},
    {"head.mlp.fc1.weight", false, W_MAP_FC1_W, -1, false},
    {"head.mlp.fc1.bias", false, W_MAP_FC1_B, -1, false},
    {"head.mlp.fc2.weight", false, W_MAP_FC2_W, -1, false},
    {"head.mlp.fc2.bias", false, W_MAP_FC2_B, -1, false},
};

static const name_entry timm_names[] = {
    {"cls_token", false, W_CLS, -1, true},
    {"dist_token", false, W_DIST, -1, true},
    {"reg_token", false, W_REG, -1, true},
    {"pos_embed", false, W_POS, -1, true},
    {"patch_embed.proj.weight", false, W_PATCH_W, -1, true},
    {"patch_embed.proj.bias", false, W_PATCH_B, -1, true},
    {"blocks.%u.norm1.weight", true, L_LN1_W, -1, true},
    {"blocks.%u.norm1.bias", true, L_LN1_B, -1, true},
    {"blocks.%u.attn.qkv.weight", true, L_QKV_W, -1, true},
    {"blocks.%u.attn.qkv.bias", true, L_QKV_B, -1, true},
    {"blocks.%u.attn.proj.weight", true, L_PROJ_W, -1, true},
    {"blocks.%u.attn.proj.bias", true, L_PROJ_B, -1, true},
    {"blocks.%u.norm2.weight", true, L_LN2_W, -1, true},
    {"blocks.%u.norm2.bias", true, L_LN2_B, -1, true},
    {"blocks.%u.mlp.fc1.weight", true, L_FC1_W, -1, true},
    {"blocks.%u.mlp.fc1.bias", true, L_FC1_B, -1, true},
    {"blocks.%u.mlp.fc2.weight", true, L_FC2_W, -1, true},
    {"blocks.%u.mlp.fc2.bias", true, L_FC2_B, -1, true},
    {"blocks.%u.ls1.gamma", true, L_LS1, -1, true},
    {"blocks.%u.ls2.gamma", true, L_LS2, -1, true},
    {"norm.weight", false, W_NORM_W, -1, true},
    {"norm.bias", false, W_NORM_B, -1, true},
    {"pre_logits.fc.weight", false, W_PRE_W, -1, true},
    {"pre_logits.fc.bias", false, W_PRE_B, -1, true},
    {"head.weight", false, W_HEAD_W, -1, true},
    {"head.bias", false, W_HEAD_B, -1, true},
    {"head_dist.weight", false, W_HEAD_DIST_W, -1, true},
    {"head_dist.bias", false, W_HEAD_DIST_B, -1, true},
    {"norm_pre.weight", false, W_NORM_PRE_W, -1, true}, /* pre_norm (CLIP) */
    {"norm_pre.bias", false, W_NORM_PRE_B, -1, true},
    /* global_pool 'map' (SigLIP): timm's AttentionPoolLatent */
    {"attn_pool.latent", false, W_MAP_PROBE, -1, true},
    {"attn_pool.q.weight", false, W_MAP_Q_W, -1, true},
    {"attn_pool.q.bias", false, W_MAP_Q_B, -1, true},
    {"attn_pool.kv.weight", false, W_MAP_KV_W, -1, true},
    {"attn_pool.kv.bias", false, W_MAP_KV_B, -1, true},
    {"attn_pool.proj.weight", false, W_MAP_PROJ_W, -1, true},
    {"attn_pool.proj.bias", false, W_MAP_PROJ_B, -1, true},
    {"attn_pool.norm.weight", false, W_MAP_LN_W, -1, true},
    {"attn_pool.norm.bias", false, W_MAP_LN_B, -1, true},
    {"attn_pool.mlp.fc1.weight", false, W_MAP_FC1_W, -1, true},
    {"attn_pool.mlp.fc1.bias", false, W_MAP_FC1_B, -1, true},
    {"attn_pool.mlp.fc2.weight", false, W_MAP_FC2_W, -1, true},
    {"attn_pool.mlp.fc2.bias", false, W_MAP_FC2_B, -1, true},
};

/* Hugging Face's Dinov2Model / Dinov2ForImageClassification and Dinov2WithRegistersModel / ...ForImageClassification
 * (modeling_dinov2.py, modeling_dinov2_with_registers.py; convert_dinov2_to_hf.py's rename table): the ViT's
 * attention names, DINOv2's block names (norm1, mlp.fc1, layer_scale1.lambda1), the classifier [K][2D] over
 * [cls | mean of the patch tokens]. embeddings.mask_token (pre-training only) is ignored. */
static const name_entry hf_dinov2_names[] = {
    {"embeddings.cls_token", false, W_CLS, -1, false},
    {"embeddings.register_tokens", false, W_REG, -1, false},
    {"embeddings.position_embeddings", false, W_POS, -1, false},
    {"embeddings.patch_embeddings.projection.weight", false, W_PATCH_W, -1, false},
    {"embeddings.patch_embeddings.projection.bias", false, W_PATCH_B, -1, false},
    {"encoder.layer.%u.norm1.weight", true, L_LN1_W, -1, false},
    {"encoder.layer.%u.norm1.bias", true, L_LN1_B, -1, false},
    {"encoder.layer.%u.attention.attention.query.weight", true, L_QKV_W, 0, false},
    {"encoder.layer.%u.attention.attention.key.weight", true, L_QKV_W, 1, false},
    {"encoder.layer.%u.attention.attention.value.weight", true, L_QKV_W, 2, false},
    {"encoder.layer.%u.attention.attention.query.bias", true, L_QKV_B, 0, false},
    {"encoder.layer.%u.attention.attention.key.bias", true, L_QKV_B, 1, false},
    {"encoder.layer.%u.attention.attention.value.bias", true, L_QKV_B, 2, false},
    {"encoder.layer.%u.attention.output.dense.weight", true, L_PROJ_W, -1, false},
    {"encoder.layer.%u.attention.output.dense.bias", true, L_PROJ_B, -1, false},
    {"encoder.layer.%u.layer_scale1.lambda1", true, L_LS1, -1, false},
    {"encoder.layer.%u.norm2.weight", true, L_LN2_W, -1, false},
    {"encoder.layer.%u.norm2.bias", true, L_LN2_B, -1, false},
    {"encoder.layer.%u.mlp.fc1.weight", true, L_FC1_W, -1, false},
    {"encoder.layer.%u.mlp.fc1.bias", true, L_FC1_B, -1, false},
    {"encoder.layer.%u.mlp.fc2.weight", true, L_FC2_W, -1, false},
    {"encoder.layer.%u.mlp.fc2.bias", true, L_FC2_B, -1, false},
    {"encoder.layer.%u.layer_scale2.lambda1", true, L_LS2, -1, false},
    {"layernorm.weight", false, W_NORM_W, -1, false},
    {"layernorm.bias", false, W_NORM_B, -1, false},
    {"classifier.weight", false, W_HEAD_W, -1, true},
    {"classifier.bias", false, W_HEAD_B, -1, true},
};

/* Google's Flax checkpoints (google-research/vision_transformer's .npz files, and big_vision's): Flax
 * module paths, kernels [in, out], attention split per head (query/key/value kernels [D, H, dh], biases
 * [H, dh], out kernel [H, dh, D]), the patch kernel HWIO [P, P, C, D], cls [1, 1, D]. The two releases
 * number a block's submodules differently: the original counts every submodule (LayerNorm_0,
 * MultiHeadDotProductAttention_1, LayerNorm_2, MlpBlock_3), big_vision only those with parameters, and
 * keeps the position embedding at the top. */
#define FLAX_NAMES(pos, mha, ln2, mlp)                                                                      \
    {"embedding/kernel", false, W_PATCH_W, -1, false},                                                     \
    {"embedding/bias", false, W_PATCH_B, -1, false},                                                       \
    {"cls", false, W_CLS, -1, false},                                                                      \
    {pos, false, W_POS, -1, false},                                                                        \
    {"Transformer/encoderblock_%u/LayerNorm_0/scale", true, L_LN1_W, -1, false},                           \
    {"Transformer/encoderblock_%u/LayerNorm_0/bias", true, L_LN1_B, -1, false},                            \
    {"Transformer/encoderblock_%u/" mha "/query/kernel", true, L_QKV_W, 0, false},                        \
    {"Transformer/encoderblock_%u/" mha "/key/kernel", true, L_QKV_W, 1, false},                          \
    {"Transformer/encoderblock_%u/" mha "/value/kernel", true, L_QKV_W, 2, false},                        \
    {"Transformer/encoderblock_%u/" mha "/query/bias", true, L_QKV_B, 0, false},                          \
    {"Transformer/encoderblock_%u/" mha "/key/bias", true, L_QKV_B, 1, false},                            \
    {"Transformer/encoderblock_%u/" mha "/value/bias", true, L_QKV_B, 2, false},                          \
    {"Transformer/encoderblock_%u/" mha "/out/kernel", true, L_PROJ_W, -1, false},                        \
    {"Transformer/encoderblock_%u/" mha "/out/bias", true, L_PROJ_B, -1, false},                          \
    {"Transformer/encoderblock_%u/" ln2 "/scale", true, L_LN2_W, -1, false},                              \
    {"Transformer/encoderblock_%u/" ln2 "/bias", true, L_LN2_B, -1, false},                               \
    {"Transformer/encoderblock_%u/" mlp "/Dense_0/kernel", true, L_FC1_W, -1, false},                     \
    {"Transformer/encoderblock_%u/" mlp "/Dense_0/bias", true, L_FC1_B, -1, false},                       \
    {"Transformer/encoderblock_%u/" mlp "/Dense_1/kernel", true, L_FC2_W, -1, false},                     \
    {"Transformer/encoderblock_%u/" mlp "/Dense_1/bias", true, L_FC2_B, -1, false},                       \
    {"Transformer/encoder_norm/scale", false, W_NORM_W, -1, false},                                        \
    {"Transformer/encoder_norm/bias", false, W_NORM_B, -1, false},                                         \
    {"pre_logits/kernel", false, W_PRE_W, -1, false},                                                      \
    {"pre_logits/bias", false, W_PRE_B, -1, false},                                                        \
    {"head/kernel", false, W_HEAD_W, -1, false},                                                           \
    {"head/bias", false, W_HEAD_B, -1, false}

static const name_entry google_names[] = {FLAX_NAMES("Transformer/posembed_input/pos_embedding",
                                                     "MultiHeadDotProductAttention_1", "LayerNorm_2", "MlpBlock_3")};
static const name_entry big_vision_names[] = {FLAX_NAMES("pos_embedding", "MultiHeadDotProductAttention_0",
                                                         "LayerNorm_1", "MlpBlock_0")};

/* Tensors some exports carry that inference does not use (the masked-image token of pre-training
 * heads). Anything else unknown is an error naming it. */
static const char *const ignored_suffixes[] = {"embeddings.mask_token", "vision_model.embeddings.position_ids"};

/* A whole CLIPModel's tensors beside its vision tower: left unused where config.json says model_type "clip"
 * (the text tower is not vkvit's), refused elsewhere (a vision-only config, or none, with them is a mix). */
static const char *const clip_text_prefixes[] = {"text_model.", "text_projection.", "logit_scale", "logit_bias"};

typedef struct family {
    const char *name;
    const name_entry *names;
    size_t n_names;
    const char *probe;     /* a tensor every checkpoint of the family has */
    const char *prefix;
    bool split_qkv;        /* query, key and value in three tensors each (HF), not one fused qkv (timm) */
    bool flax;             /* Google's layout: kernels [in, out], attention split per head, patch HWIO */
    bool pooler;           /* its pre-logits layer is HF's pooler: a backbone's output, never a classifier's
                            * input (timm's pre_logits feeds the head) */
    bool dinov2;           /* HF's DINOv2: the position embedding has no rows for the registers, and the
                            * classifier reads [cls | mean of the patch tokens] */
} family;

#define N_NAMES(t) (sizeof t / sizeof *t)
static const family families[] = {
    /* Before hf-vit, whose bare probe a DINOv2 also holds; SwiGLU (weights_in) is refused by its unknown names. */
    {"hf-dinov2-registers", hf_dinov2_names, N_NAMES(hf_dinov2_names), "dinov2_with_registers.embeddings.cls_token",
     "dinov2_with_registers.", true, false, false, true},
    {"hf-dinov2-registers", hf_dinov2_names, N_NAMES(hf_dinov2_names), "embeddings.register_tokens", "", true, false,
     false, true},
    {"hf-dinov2", hf_dinov2_names, N_NAMES(hf_dinov2_names), "dinov2.embeddings.cls_token", "dinov2.", true, false,
     false, true},
    {"hf-dinov2", hf_dinov2_names, N_NAMES(hf_dinov2_names), "encoder.layer.0.norm1.weight", "", true, false, false,
     true},
    {"hf-vit", hf_names, N_NAMES(hf_names), "vit.embeddings.cls_token", "vit.", true, false, true, false},
    {"hf-deit", hf_names, N_NAMES(hf_names), "deit.embeddings.cls_token", "deit.", true, false, true, false},
    {"hf-clip", clip_names, N_NAMES(clip_names), "vision_model.embeddings.class_embedding", "vision_model.", true,
     false, false, false},
    {"hf-siglip", siglip_names, N_NAMES(siglip_names), "vision_model.head.probe", "vision_model.", true, false, false,
     false},
    {"hf-vit", hf_names, N_NAMES(hf_names), "embeddings.cls_token", "", true, false, true, false},
    {"timm", timm_names, N_NAMES(timm_names), "cls_token", "", false, false, false, false},
    {"timm", timm_names, N_NAMES(timm_names), "attn_pool.latent", "", false, false, false, false}, /* SigLIP */
    /* As timm's _load_weights tells them apart: a bare export, a training checkpoint, big_vision. */
    {"google-vit", google_names, N_NAMES(google_names), "embedding/kernel", "", true, true, false, false},
    {"google-vit", google_names, N_NAMES(google_names), "opt/target/embedding/kernel", "opt/target/", true, true, false,
     false},
    {"big_vision", big_vision_names, N_NAMES(big_vision_names), "params/embedding/kernel", "params/", true, true, false,
     false},
};

/* A CLIP vision tower: LayerNorm before the encoder, its pre-logits slots the image projection (no bias). */
static bool is_clip(const family *f) { return f->names == clip_names; }
/* A SigLIP vision tower in Hugging Face's names (timm's are the timm family's). */
static bool is_siglip(const family *f) { return f->names == siglip_names; }

/* ---- a hybrid's ResNet: names --------------------------------------------------------------------------
 * The root fills the global W_ROOT_* slots; a unit's names have two "%u": its stage, then its place in the
 * stage (from 0 in timm and HF: stages.0.blocks.0; from 1 in Google's: block1/unit1). The family prefix
 * applies as to the other names. Sources: timm's resnetv2.py (ResNetV2, Bottleneck, DownsampleConv) as
 * vision_transformer_hybrid.py builds it; transformers' convert_vit_hybrid_timm_to_pytorch.py; vit_jax's
 * models_vit.py and models_resnet.py (the names its _load_weights reads, too). */
typedef struct resnet_entry {
    const char *name;
    bool unit;
    int slot;              /* a U_* slot for a unit, else a W_ROOT_* slot */
} resnet_entry;

#define UNIT_NAMES(pre, kernel, gn1, gn2, gn3, proj, gnp, scale, bias)                                     \
    {pre "conv1" kernel, true, U_CONV1_W}, {pre gn1 scale, true, U_GN1_W}, {pre gn1 bias, true, U_GN1_B},   \
    {pre "conv2" kernel, true, U_CONV2_W}, {pre gn2 scale, true, U_GN2_W}, {pre gn2 bias, true, U_GN2_B},   \
    {pre "conv3" kernel, true, U_CONV3_W}, {pre gn3 scale, true, U_GN3_W}, {pre gn3 bias, true, U_GN3_B},   \
    {pre proj kernel, true, U_PROJ_W}, {pre gnp scale, true, U_GNP_W}, {pre gnp bias, true, U_GNP_B}

static const resnet_entry timm_resnet[] = {
    {"patch_embed.backbone.stem.conv.weight", false, W_ROOT_W},
    {"patch_embed.backbone.stem.norm.weight", false, W_ROOT_GN_W},
    {"patch_embed.backbone.stem.norm.bias", false, W_ROOT_GN_B},
    /* A root without stages (vit_tiny_r_s16_p8) is the backbone itself. */
    {"patch_embed.backbone.conv.weight", false, W_ROOT_W},
    {"patch_embed.backbone.norm.weight", false, W_ROOT_GN_W},
    {"patch_embed.backbone.norm.bias", false, W_ROOT_GN_B},
    UNIT_NAMES("patch_embed.backbone.stages.%u.blocks.%u.", ".weight", "norm1.", "norm2.", "norm3.", "downsample.conv",
               "downsample.norm.", "weight", "bias"),
};
static const resnet_entry hf_resnet[] = {
    {"embeddings.patch_embeddings.backbone.bit.embedder.convolution.weight", false, W_ROOT_W},
    {"embeddings.patch_embeddings.backbone.bit.embedder.norm.weight", false, W_ROOT_GN_W},
    {"embeddings.patch_embeddings.backbone.bit.embedder.norm.bias", false, W_ROOT_GN_B},
    UNIT_NAMES("embeddings.patch_embeddings.backbone.bit.encoder.stages.%u.layers.%u.", ".weight", "norm1.", "norm2.",
               "norm3.", "downsample.conv", "downsample.norm.", "weight", "bias"),
};
static const resnet_entry google_resnet[] = {
    {"conv_root/kernel", false, W_ROOT_W},
    {"gn_root/scale", false, W_ROOT_GN_W},
    {"gn_root/bias", false, W_ROOT_GN_B},
    UNIT_NAMES("block%u/unit%u/", "/kernel", "gn1/", "gn2/", "gn3/", "conv_proj", "gn_proj/", "scale", "bias"),
};

/* Each family's ResNet names, and how its library computes what they hold: timm's StdConv2dSame (eps 1e-8) and
 * HF's WeightStandardizedConv2d (eps 1e-8) standardise as F.batch_norm does, (w - mean) / sqrt(var + eps);
 * vit_jax's StdConv (models_resnet.weight_standardize) as (w - mean) / (std + 1e-5); both with the biased
 * variance over a kernel's (kh, kw, Cin). GroupNorm eps: timm's GroupNormAct and HF's BitGroupNormActivation
 * 1e-5, Flax's nn.GroupNorm 1e-6 (its default, which vit_jax keeps). */
typedef enum ws_form { WS_NONE, WS_SQRT_VAR_EPS, WS_STD_PLUS_EPS } ws_form;
typedef struct resnet_family {
    const resnet_entry *names;
    size_t n_names;
    unsigned first;        /* the first stage and unit index: 0, or 1 for Google's */
    ws_form ws;
    double ws_eps, gn_eps;
} resnet_family;

static resnet_family resnet_of(const family *f)
{
    if (f->flax)
        return (resnet_family){google_resnet, N_NAMES(google_resnet), 1, WS_STD_PLUS_EPS, 1e-5, 1e-6};
    if (f->split_qkv)
        return (resnet_family){hf_resnet, N_NAMES(hf_resnet), 0, WS_SQRT_VAR_EPS, 1e-8, 1e-5};
    return (resnet_family){timm_resnet, N_NAMES(timm_resnet), 0, WS_SQRT_VAR_EPS, 1e-8, 1e-5};
}

/* The tensors found, by slot: [global slot] and [layer][slot][part 0..2], and a hybrid's ResNet units. */
typedef struct found {
    const st_tensor *global[W_GLOBAL_COUNT];
    const st_tensor *(*layer)[L_SLOT_COUNT][3];
    uint32_t layers;       /* 1 + highest block index seen */
    const st_tensor *unit[CONFIG_MAX_STAGES][CONFIG_MAX_UNITS][U_SLOT_COUNT];
    uint32_t stages, depth[CONFIG_MAX_STAGES];  /* 1 + highest stage, unit index seen */
    const st_tensor *resnet;                    /* the first ResNet tensor seen (messages) */
} found;

#define MAX_LAYER_INDEX 1024

struct checkpoint {
    st_file *st;           /* the tensors: a safetensors file (or shards) ...                   */
    npz_file *npz;         /* ... or a NumPy .npz                                                */
    const family *fam;
    found fd;
    vit_dims dims;         /* of the configuration the tensors were checked against */
    uint64_t parameters;
    char config_summary[512];
    uint32_t grid, grid_w; /* the patch grid the model runs at (rows, columns): dims' unless checkpoint_resize */
    uint32_t pos_lead;     /* rows of the file's position embedding before the grid (pos_lead())         */
    uint32_t run_image;    /* the size the checkpoint's library runs it at, if not cfg->image; 0: that  */
    posembed_filter pos_filter;
};

/* The tensor table, whichever container holds it. */
static size_t tensor_count(const checkpoint *ck) { return ck->npz ? npz_count(ck->npz) : st_count(ck->st); }

static const st_tensor *tensor_at(const checkpoint *ck, size_t i)
{
    return ck->npz ? npz_tensor_at(ck->npz, i) : st_tensor_at(ck->st, i);
}

static const st_tensor *find_tensor(const checkpoint *ck, const char *name)
{
    return ck->npz ? npz_find(ck->npz, name) : st_find(ck->st, name);
}

static vkvit_status read_raw(const checkpoint *ck, const st_tensor *t, float *dst)
{
    return ck->npz ? npz_read_f32(ck->npz, t, dst, (size_t)t->count) : st_read_f32(t, dst, (size_t)t->count);
}

/* Matches `name` against `pattern` with at most two "%u" (decimal, no leading zero, below MAX_LAYER_INDEX);
 * sets index[0], index[1] in order. */
static bool match_name(const char *pattern, const char *prefix, bool bare, const char *name, unsigned index[2])
{
    size_t np = bare ? 0 : strlen(prefix);
    if (np && strncmp(name, prefix, np) != 0)
        return false;
    name += np;
    for (int k = 0;; k++) {
        const char *pct = strstr(pattern, "%u");
        if (!pct)
            return strcmp(pattern, name) == 0;
        size_t head = (size_t)(pct - pattern);
        if (k == 2 || strncmp(pattern, name, head) != 0)
            return false;
        const char *p = name + head;
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
            return false;
        unsigned v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (unsigned)(*p - '0');
            if (v >= MAX_LAYER_INDEX)
                return false;
            p++;
        }
        index[k] = v;
        pattern = pct + 2;
        name = p;
    }
}

static bool is_ignored(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ignored_suffixes / sizeof *ignored_suffixes; i++) {
        size_t k = strlen(ignored_suffixes[i]);
        if (n >= k && strcmp(name + n - k, ignored_suffixes[i]) == 0)
            return true;
    }
    return false;
}

/* Where tensor t goes if it is one of a hybrid's ResNet tensors: *slot (NULL: it is not). */
static vkvit_status collect_resnet(const family *fam, const st_tensor *t, const char *path, found *out,
                                   const st_tensor ***slot)
{
    const resnet_family rf = resnet_of(fam);
    *slot = NULL;
    for (size_t e = 0; e < rf.n_names; e++) {
        unsigned idx[2] = {0, 0};
        if (!match_name(rf.names[e].name, fam->prefix, false, t->name, idx) ||
            (rf.names[e].unit && (idx[0] < rf.first || idx[1] < rf.first)))
            continue;
        if (!rf.names[e].unit) {
            *slot = &out->global[rf.names[e].slot];
            break;
        }
        const unsigned stage = idx[0] - rf.first, unit = idx[1] - rf.first;
        if (stage >= CONFIG_MAX_STAGES || unit >= CONFIG_MAX_UNITS)
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: tensor '%s' belongs to ResNet stage %u unit %u: vkvit runs at "
                        "most %d stages of %d units", path, t->name, stage + 1, unit + 1, CONFIG_MAX_STAGES,
                        CONFIG_MAX_UNITS);
        *slot = &out->unit[stage][unit][rf.names[e].slot];
        out->stages = stage + 1 > out->stages ? stage + 1 : out->stages;
        out->depth[stage] = unit + 1 > out->depth[stage] ? unit + 1 : out->depth[stage];
        break;
    }
    if (*slot && !out->resnet)
        out->resnet = t;
    return VKVIT_OK;
}

/* config.json describes a whole CLIPModel or SiglipModel, whose text tower vkvit leaves unused. */
static bool whole_model(const vit_config *c)
{
    return !strcmp(c->model_type, "clip") || !strcmp(c->model_type, "siglip");
}

/* clip_full: config.json describes a whole CLIPModel or SiglipModel, whose text tower is left unused. */
static vkvit_status collect(const checkpoint *ck, const family *fam, const char *path, bool clip_full, found *out)
{
    memset(out, 0, sizeof *out);
    out->layer = calloc(MAX_LAYER_INDEX, sizeof *out->layer);
    if (!out->layer)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "tensor table");
    for (size_t i = 0; i < tensor_count(ck); i++) {
        const st_tensor *t = tensor_at(ck, i);
        bool matched = false;
        for (size_t e = 0; e < fam->n_names && !matched; e++) {
            const name_entry *ne = &fam->names[e];
            unsigned li[2] = {0, 0};
            if (!match_name(ne->name, fam->prefix, ne->bare, t->name, li))
                continue;
            matched = true;
            int part = ne->part < 0 ? 0 : ne->part;
            const st_tensor **slot = ne->layer ? &out->layer[li[0]][ne->slot][part] : &out->global[ne->slot];
            if (*slot)
                return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' fills the same weight as '%s'", path,
                            t->name, (*slot)->name);
            *slot = t;
            if (ne->layer && li[0] + 1 > out->layers)
                out->layers = li[0] + 1;
        }
        const st_tensor **rslot = NULL;
        vkvit_status s = matched ? VKVIT_OK : collect_resnet(fam, t, path, out, &rslot);
        if (s)
            return s;
        if (rslot && *rslot)
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' fills the same weight as '%s'", path,
                        t->name, (*rslot)->name);
        if (rslot) {
            *rslot = t;
            matched = true;
        }
        for (size_t k = 0; !matched && k < N_NAMES(clip_text_prefixes); k++)
            if (strncmp(t->name, clip_text_prefixes[k], strlen(clip_text_prefixes[k])) == 0) {
                if (!clip_full)
                    return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' belongs to a CLIP text tower, but "
                                "config.json does not describe a whole CLIPModel or SiglipModel (model_type \"clip\" "
                                "or \"siglip\"), whose text tower vkvit would leave unused", path, t->name);
                matched = true;
            }
        if (!matched && !is_ignored(t->name))
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR,
                        "%s: tensor '%s' is not part of a %s ViT/DeiT (unknown name)", path, t->name, fam->name);
    }
    return VKVIT_OK;
}

/* ---- the configuration from the shapes -------------------------------------------------------------- */

/* The checkpoint names that fill (layer?, slot, part), for messages: "vit.encoder.layer.2.output.dense.weight";
 * several joined by " or " where the family has more than one (HF "classifier.weight or cls_classifier.weight"). */
static const char *slot_names(const family *fam, bool layer, int slot, int part, uint32_t l, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t e = 0; e < fam->n_names; e++) {
        const name_entry *ne = &fam->names[e];
        if (ne->layer != layer || ne->slot != slot || (ne->part < 0 ? 0 : ne->part) != part)
            continue;
        size_t at = strlen(buf);
        const char *pct = strstr(ne->name, "%u");
        char one[128];
        if (pct)
            snprintf(one, sizeof one, "%.*s%u%s", (int)(pct - ne->name), ne->name, l, pct + 2);
        else
            snprintf(one, sizeof one, "%s", ne->name);
        snprintf(buf + at, n - at, "%s'%s%s'", at ? " or " : "", ne->bare ? "" : fam->prefix, one);
    }
    return buf;
}

/* The names that fill a ResNet slot (stage, unit 0-based), for messages, as slot_names. */
static const char *resnet_names(const family *fam, bool unit, int slot, uint32_t stage, uint32_t index, char *buf,
                                size_t n)
{
    const resnet_family rf = resnet_of(fam);
    buf[0] = '\0';
    for (size_t e = 0; e < rf.n_names; e++) {
        const resnet_entry *re = &rf.names[e];
        if (re->unit != unit || re->slot != slot)
            continue;
        char one[160] = "";
        const char *p = re->name, *pct;
        unsigned v[2] = {stage + rf.first, index + rf.first};
        for (int k = 0; (pct = strstr(p, "%u")) && k < 2; k++, p = pct + 2)
            snprintf(one + strlen(one), sizeof one - strlen(one), "%.*s%u", (int)(pct - p), p, v[k]);
        snprintf(one + strlen(one), sizeof one - strlen(one), "%s", p);
        size_t at = strlen(buf);
        snprintf(buf + at, n - at, "%s'%s%s'", at ? " or " : "", fam->prefix, one);
    }
    return buf;
}

/* The dims of a tensor without leading 1s ([1, 1, D] -> [D]). */
static uint32_t squeeze(const st_tensor *t, uint64_t dims[ST_MAX_RANK])
{
    uint32_t r = 0, i = 0;
    while (i + 1 < t->rank && t->shape[i] == 1)
        i++;
    for (; i < t->rank; i++)
        dims[r++] = t->shape[i];
    return r;
}

/* Google's checkpoints come without a configuration: the heads from a query kernel [D, H, dh], and
 * the constants of Google's ViT (LayerNorm eps 1e-6; exact GELU and biased q/k/v are config_init's). */
static vkvit_status infer_flax(const found *fd, const family *fam, const char *path, vit_config *c)
{
    char names[256];
    const st_tensor *q = fd->layer[0][L_QKV_W][0];
    if (!q)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: block 0's query kernel (%s) is missing; it gives the number "
                    "of heads", path, slot_names(fam, true, L_QKV_W, 0, 0, names, sizeof names));
    if (q->rank != 3)
        return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be [hidden, heads, head dim] (rank %u)",
                    path, q->name, q->rank);
    c->heads = (uint32_t)q->shape[1];
    c->eps = 1e-6;
    return VKVIT_OK;
}

/* The output channels of a conv kernel: PyTorch's [out, in, kh, kw], Flax's [kh, kw, in, out]. */
static uint32_t conv_out(const st_tensor *t, bool flax) { return (uint32_t)t->shape[flax ? 3 : 0]; }
static uint32_t conv_in(const st_tensor *t, bool flax) { return (uint32_t)t->shape[flax ? 2 : 1]; }

/* A hybrid's ResNet from its tensors: the root's width, the stages and their units (or the config's depths,
 * checked later), each stage's widths from its first unit; the image channels from the root conv. */
static vkvit_status infer_resnet(const found *fd, const family *fam, const char *path, vit_config *c)
{
    char names[512];
    const st_tensor *root = fd->global[W_ROOT_W];
    if (!root && !fd->resnet && !c->hybrid)
        return VKVIT_OK;
    resnet_names(fam, false, W_ROOT_W, 0, 0, names, sizeof names);
    if (!root && fd->resnet)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: tensor '%s' belongs to a hybrid's ResNet, but its root conv (%s) "
                    "is missing", path, fd->resnet->name, names);
    if (!root)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the config describes a ViT hybrid (model_type vit-hybrid, "
                    "backbone_config), but the ResNet's root conv (%s) is missing", path, names);
    const bool flax = fam->flax;
    if (root->rank != 4)
        return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be a conv kernel %s (rank %u)", path,
                    root->name, flax ? "[7, 7, C, R]" : "[R, C, 7, 7]", root->rank);
    c->hybrid = true;
    c->resnet.root = conv_out(root, flax);
    if (!(c->present & CONFIG_CHANNELS))
        c->channels = conv_in(root, flax);
    if (!(c->present & CONFIG_RESNET)) {
        c->resnet.stages = fd->stages;
        memcpy(c->resnet.depth, fd->depth, sizeof fd->depth);
    }
    for (uint32_t st = 0; st < c->resnet.stages; st++) {
        const st_tensor *c1 = fd->unit[st][0][U_CONV1_W], *c3 = fd->unit[st][0][U_CONV3_W];
        const st_tensor *bad = !c1 ? NULL : c1->rank != 4 ? c1 : c3 && c3->rank != 4 ? c3 : NULL;
        if (!c1 || !c3)
            return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: ResNet stage %u unit 1's %s (%s) is missing", path, st + 1,
                        vit_unit_slot_name(c1 ? U_CONV3_W : U_CONV1_W),
                        resnet_names(fam, true, c1 ? U_CONV3_W : U_CONV1_W, st, 0, names, sizeof names));
        if (bad)
            return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be a conv kernel (rank %u)", path,
                        bad->name, bad->rank);
        c->resnet.mid[st] = conv_out(c1, flax);
        c->resnet.width[st] = conv_out(c3, flax);
    }
    c->resnet.gn_eps = resnet_of(fam).gn_eps;
    return VKVIT_OK;
}

/* Rows of the checkpoint's position embedding before its patch grid (config.h, vit_pos_rows). */
static uint32_t pos_lead(const vit_config *c)
{
    const uint32_t prefix = c->map ? 0 : c->distilled ? 2 : 1;
    return c->pos_rows == VIT_POS_PATCHES ? 0 : c->pos_rows == VIT_POS_CLASS ? prefix : prefix + c->registers;
}

/* Register tokens from their tensor [1, R, D] (the config must agree), and which tokens the position embedding
 * has rows for: HF's DINOv2 adds it to the class token and the patches only; timm's config says (no_embed_class);
 * without a config, a grid that only a position embedding over the patches gives says no_embed_class. */
static vkvit_status infer_registers(const found *fd, const family *fam, const char *path, vit_config *c)
{
    const st_tensor *reg = fd->global[W_REG], *pos = fd->global[W_POS];
    uint64_t d[ST_MAX_RANK];
    const uint32_t r = reg ? squeeze(reg, d) : 0, n = !reg ? 0 : r == 1 ? 1 : r == 2 ? (uint32_t)d[0] : 0;
    if (reg && (n == 0 || n > CONFIG_MAX_REGISTERS))
        return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be [1, registers (1..%d), D]", path,
                    reg->name, CONFIG_MAX_REGISTERS);
    if ((c->present & CONFIG_REGISTERS) && c->registers != n)
        return fail(reg ? VKVIT_ERROR_SHAPE_MISMATCH : VKVIT_ERROR_MISSING_TENSOR, "%s: the config says %u register "
                    "tokens, the checkpoint has %u%s%s%s", path, c->registers, n, reg ? " ('" : "",
                    reg ? reg->name : "", reg ? "')" : "");
    c->registers = n;
    if (fam->dinov2)
        c->pos_rows = VIT_POS_CLASS;
    if (c->format == CONFIG_FORMAT_NONE && !fam->dinov2 && pos && squeeze(pos, d) == 2) {
        const uint64_t lead = (c->distilled ? 2 : 1) + n, g = (uint64_t)llround(sqrt((double)d[0]));
        const uint64_t gp = d[0] > lead ? (uint64_t)llround(sqrt((double)(d[0] - lead))) : 0;
        if (gp * gp != d[0] - lead && g * g == d[0])
            c->pos_rows = VIT_POS_PATCHES;
    }
    return VKVIT_OK;
}

static vkvit_status infer_config(const found *fd, const family *fam, const char *path, vit_config *c)
{
    char names[256];
    uint64_t d[ST_MAX_RANK];
    vkvit_status s = infer_resnet(fd, fam, path, c);
    if (s)
        return s;
    const st_tensor *pw = fd->global[W_PATCH_W], *pos = fd->global[W_POS], *cls = fd->global[W_CLS];
    c->map |= fd->global[W_MAP_PROBE] != NULL && c->format == CONFIG_FORMAT_NONE; /* SigLIP without a config */
    /* (HF SigLIP tensors with another model's config: map_config says so) */
    const int missing = !pw ? W_PATCH_W : !pos ? W_POS : !cls && !c->map && !is_siglip(fam) ? W_CLS : -1;
    if (missing >= 0)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the %s is missing (%s)", path, vit_slot_name(false, missing),
                    slot_names(fam, false, missing, 0, 0, names, sizeof names));
    /* PyTorch's conv weight is [D, C, P, P], Flax's kernel HWIO [P, P, C, D]. */
    const bool flax = fam->flax;
    const uint64_t *ps = pw->shape;
    if (pw->rank != 4 || (flax ? ps[0] != ps[1] || ps[3] == 0 : ps[2] != ps[3] || ps[0] == 0))
        return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be %s (rank %u)", path, pw->name,
                    flax ? "[P, P, C, D]" : "[D, C, P, P]", pw->rank);
    bool distilled = fd->global[W_DIST] != NULL;
    if ((c->present & CONFIG_DISTILLED) && c->distilled != distilled)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the config says %sdistilled but the distillation token is %s",
                    path, c->distilled ? "" : "not ", distilled ? "present" : "missing");
    c->distilled = distilled;
    if ((s = infer_registers(fd, fam, path, c)))
        return s;
    if (!(c->present & CONFIG_HIDDEN))
        c->hidden = (uint32_t)ps[flax ? 3 : 0];
    const uint32_t patch_in = (uint32_t)ps[flax ? 2 : 1];
    if (!c->hybrid && patch_in > CONFIG_MAX_CHANNELS)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: tensor '%s' embeds %u channels, as a hybrid's projection of "
                    "its ResNet's output does, but the ResNet (%s, ...) is missing", path, pw->name, patch_in,
                    resnet_names(fam, false, W_ROOT_W, 0, 0, names, sizeof names));
    if (!(c->present & CONFIG_CHANNELS) && !c->hybrid)
        c->channels = patch_in;
    if (!(c->present & CONFIG_PATCH))
        c->patch = (uint32_t)ps[flax ? 0 : 2];
    if (!(c->present & CONFIG_IMAGE)) {
        uint32_t r = squeeze(pos, d);
        uint64_t prefix = pos_lead(c);
        uint64_t patches = r == 2 && d[0] > prefix ? d[0] - prefix : 0;
        uint64_t grid = (uint64_t)llround(sqrt((double)patches));
        if (patches == 0 || grid * grid != patches)
            return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be [1, %s grid^2, D] with a "
                        "square grid; its token count does not give one (a non-square model needs its image size "
                        "[h, w] in config.json)", path, pos->name, prefix ? "prefix tokens +" : "");
        /* A hybrid's ResNet halves the image twice in its root and once per stage after the first. */
        const uint32_t stride = c->hybrid ? 4u << (c->resnet.stages > 1 ? c->resnet.stages - 1 : 0) : 1;
        c->image = (uint32_t)(grid * c->patch * stride);
    }
    if (!(c->present & CONFIG_LAYERS))
        c->layers = fd->layers;
    const st_tensor *fc1 = fd->layer[0][L_FC1_W][0];
    if (!(c->present & CONFIG_MLP) && fc1 && fc1->rank == 2)
        c->mlp = (uint32_t)fc1->shape[flax ? 1 : 0];
    if (!(c->present & CONFIG_QKV_BIAS))
        c->qkv_bias = fd->layer[0][L_QKV_B][0] != NULL || flax;
    /* The classifier's presence and shape decide the class count (HF backbones save a
     * placeholder id2label). */
    const st_tensor *head = fd->global[W_HEAD_W];
    uint32_t k = head && head->rank == 2 ? (uint32_t)head->shape[flax ? 1 : 0] : 0;
    if (!head && c->num_labels) {
        c->num_labels = 0;
        labels_free(&c->labels);
        c->present &= ~(uint32_t)(CONFIG_LABELS | CONFIG_NUM_LABELS);
    } else if (head && !(c->present & CONFIG_NUM_LABELS)) {
        c->num_labels = k;
    }
    c->head_mean = fam->dinov2 && head;
    return flax ? infer_flax(fd, fam, path, c) : VKVIT_OK;
}

/* The pre-logits layer, pre = tanh(W . cls + b) on the final-LayerNorm class token: timm's pre_logits.fc
 * (older representation_size models; the head reads pre) or HF's pooler (ViTModel, DeiTModel: the
 * backbone's output). HF's classification models have no pooler and would ignore one, so a checkpoint
 * with a classifier leaves its pooler unused. R from the tensors' shapes unless the config gives it
 * (check_all then holds the tensors to it); the HF config's pooler_output_size only counts where there
 * is a pooler. Call after infer_config (distilled known). */
static vkvit_status pre_logits_config(found *fd, const family *fam, const char *path, vit_config *c)
{
    if (c->projection && !is_clip(fam) && !fam->pooler && !fd->global[W_PRE_W]) {
        /* timm's CLIP image tower (config.c, timm_clip_tower): its head is the projection */
        if (!fd->global[W_HEAD_W] || !fd->global[W_HEAD_B])
            return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the config is a CLIP image tower's (pretrained_cfg: an "
                        "image-tower tag and the model's num_classes), whose head is the projection, but '%s' is "
                        "missing", path, fd->global[W_HEAD_W] ? "head.bias" : "head.weight");
        fd->global[W_PRE_W] = fd->global[W_HEAD_W], fd->global[W_PRE_B] = fd->global[W_HEAD_B];
        fd->global[W_HEAD_W] = fd->global[W_HEAD_B] = NULL;
        c->representation = c->num_labels; /* check_all holds head.weight to it */
        c->num_labels = 0;
        c->present |= CONFIG_REPRESENTATION;
    }
    const st_tensor *w = fd->global[W_PRE_W], *b = fd->global[W_PRE_B], *any = w ? w : b;
    const bool has_head = fd->global[W_HEAD_W] || fd->global[W_HEAD_B];
    if (fam->pooler && (!any || has_head)) {
        fd->global[W_PRE_W] = fd->global[W_PRE_B] = NULL;
        c->representation = 0;
        c->present &= ~(uint32_t)CONFIG_REPRESENTATION;
        return VKVIT_OK;
    }
    if (any && fam->pooler && c->pooler_act[0] && strcmp(c->pooler_act, "tanh") != 0)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the config's pooler_act '%s' is unsupported (the pooler "
                    "layer runs tanh)", path, c->pooler_act);
    if (any && !fam->pooler && c->distilled)
        return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a pre-logits layer, which timm's "
                    "distilled models do not have", path, any->name);
    /* R is the out dimension: a bias's only one, PyTorch's weight [R, D], Flax's kernel [D, R]. */
    const uint32_t out_dim = any == w && fam->flax ? 1 : 0;
    if (!(c->present & CONFIG_REPRESENTATION))
        c->representation = !any ? 0 : any->rank > out_dim ? (uint32_t)any->shape[out_dim] : 1; /* check_all says */
    return VKVIT_OK;
}

/* CLIP's LayerNorm before the encoder and its image projection, the config held to the tensors: an HF CLIP
 * tower without config.json gets CLIPVisionConfig's defaults (quick_gelu, eps 1e-5); norm_pre tensors
 * without a config (timm) make the model pre-norm; a config that has no such norm, or a CLIPVisionModel
 * (no projection), next to the tensors of one is refused, and so is a projection the config promises but
 * the file lacks. Call after pre_logits_config. */
static vkvit_status clip_config(const found *fd, const family *fam, const char *path, vit_config *c)
{
    const st_tensor *norm = fd->global[W_NORM_PRE_W] ? fd->global[W_NORM_PRE_W] : fd->global[W_NORM_PRE_B];
    const st_tensor *proj = fd->global[W_PRE_W];
    if (is_clip(fam) && c->format == CONFIG_FORMAT_NONE) {
        c->gelu = VIT_GELU_QUICK;
        c->eps = 1e-5;
        c->pre_norm = c->projection = true;
    }
    if (is_clip(fam) && !c->pre_norm)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the tensors are a CLIP vision tower's (vision_model.*), but the "
                    "config's model_type '%s' is not clip_vision_model or clip", path, c->model_type);
    if (norm && !c->pre_norm && c->format != CONFIG_FORMAT_NONE)
        return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a LayerNorm before the encoder (CLIP's "
                    "norm_pre), but the config describes a model without one", path, norm->name);
    c->pre_norm |= norm != NULL;
    if (!is_clip(fam))
        return VKVIT_OK;
    if (!proj && (c->present & CONFIG_REPRESENTATION))
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the config (%s, projection_dim %u) has an image projection, but "
                    "'visual_projection.weight' is missing", path, c->architecture[0] ? c->architecture : "CLIP",
                    c->representation);
    if (proj && strcmp(c->architecture, "CLIPVisionModel") == 0)
        return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is an image projection, which the config's "
                    "CLIPVisionModel does not have (CLIPVisionModelWithProjection does)", path, proj->name);
    return VKVIT_OK;
}

/* SigLIP (config map): no class token, the attention-pooling head. An HF SigLIP tower without config.json gets
 * SiglipVisionConfig's defaults (gelu_pytorch_tanh, eps 1e-6); its tensors with another model's config, or a
 * class token next to a SigLIP config, are refused. The head's own tensors: check_all. */
static vkvit_status map_config(const found *fd, const family *fam, const char *path, vit_config *c)
{
    if (is_siglip(fam) && c->format == CONFIG_FORMAT_NONE) {
        c->gelu = VIT_GELU_TANH;
        c->eps = 1e-6;
    }
    if (is_siglip(fam) && !c->map)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the tensors are a SigLIP vision tower's (vision_model.head.probe), "
                    "but the config's model_type '%s' is not siglip_vision_model or siglip", path, c->model_type);
    if (c->map && fd->global[W_CLS])
        return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a class token, which a SigLIP model (no class "
                    "token, pooled by attention) does not have", path, fd->global[W_CLS]->name);
    return VKVIT_OK;
}

/* ---- every tensor checked against the configuration ------------------------------------------------- */

/* Google's Flax shapes: kernels [in, out], attention kernels and biases split per head. */
static uint32_t flax_shape(const vit_dims *d, bool layer, int slot, uint64_t out[4])
{
    if (layer) {
        switch (slot) {
        case L_QKV_W: out[0] = d->D; out[1] = d->H; out[2] = d->dh; return 3;
        case L_QKV_B: out[0] = d->H; out[1] = d->dh; return 2;
        case L_PROJ_W: out[0] = d->H; out[1] = d->dh; out[2] = d->D; return 3;
        case L_FC1_W: out[0] = d->D; out[1] = d->mlp; return 2;
        case L_FC1_B: out[0] = d->mlp; return 1;
        case L_FC2_W: out[0] = d->mlp; out[1] = d->D; return 2;
        default: out[0] = d->D; return 1;
        }
    }
    switch (slot) {
    case W_PATCH_W: out[0] = d->P; out[1] = d->P; out[2] = d->pc; out[3] = d->D; return 4;
    case W_POS: out[0] = d->T; out[1] = d->D; return 2;
    case W_PRE_W: out[0] = d->D; out[1] = d->R; return 2;
    case W_PRE_B: out[0] = d->R; return 1;
    case W_HEAD_W: out[0] = d->E; out[1] = d->K; return 2; /* the head reads the pre-logits where there are */
    case W_HEAD_B: out[0] = d->K; return 1;
    default: out[0] = d->D; return 1;
    }
}

static uint32_t torch_shape(const vit_dims *d, bool layer, int slot, bool split, uint64_t out[4])
{
    if (layer) {
        uint64_t qkv = split ? d->D : 3ull * d->D;
        switch (slot) {
        case L_QKV_W: out[0] = qkv; out[1] = d->D; return 2;
        case L_QKV_B: out[0] = qkv; return 1;
        case L_PROJ_W: out[0] = d->D; out[1] = d->D; return 2;
        case L_FC1_W: out[0] = d->mlp; out[1] = d->D; return 2;
        case L_FC1_B: out[0] = d->mlp; return 1;
        case L_FC2_W: out[0] = d->D; out[1] = d->mlp; return 2;
        default: out[0] = d->D; return 1;
        }
    }
    switch (slot) {
    case W_PATCH_W: out[0] = d->D; out[1] = d->pc; out[2] = d->P; out[3] = d->P; return 4;
    case W_POS: out[0] = d->T; out[1] = d->D; return 2;
    case W_PRE_W: out[0] = d->R; out[1] = d->D; return 2;
    case W_PRE_B: out[0] = d->R; return 1;
    case W_HEAD_W: case W_HEAD_DIST_W: /* each head: folded later */
        out[0] = d->K, out[1] = d->head_mean ? d->head_in : d->E;
        return 2;
    case W_REG: out[0] = d->regs; out[1] = d->D; return 2;
    case W_HEAD_B: case W_HEAD_DIST_B: out[0] = d->K; return 1;
    case W_MAP_IN_W: out[0] = 3ull * d->D; out[1] = d->D; return 2;
    case W_MAP_IN_B: out[0] = 3ull * d->D; return 1;
    case W_MAP_KV_W: out[0] = 2ull * d->D; out[1] = d->D; return 2;
    case W_MAP_KV_B: out[0] = 2ull * d->D; return 1;
    case W_MAP_Q_W: case W_MAP_PROJ_W: out[0] = d->D; out[1] = d->D; return 2;
    case W_MAP_FC1_W: out[0] = d->mlp; out[1] = d->D; return 2;
    case W_MAP_FC1_B: out[0] = d->mlp; return 1;
    case W_MAP_FC2_W: out[0] = d->D; out[1] = d->mlp; return 2;
    default: out[0] = d->D; return 1;
    }
}

/* The shape a checkpoint's tensor for a slot has, for one q/k/v part when split; leading 1s are
 * dropped as from the tensor's (a 1-head bias [1, dh] is [dh]). */
static uint32_t expected_shape(const vit_dims *d, bool flax, bool layer, int slot, bool split, uint64_t out[4])
{
    uint32_t r = flax ? flax_shape(d, layer, slot, out) : torch_shape(d, layer, slot, split, out), lead = 0;
    while (lead + 1 < r && out[lead] == 1)
        lead++;
    memmove(out, out + lead, (r - lead) * sizeof *out);
    return r - lead;
}

static vkvit_status check_shape(const st_tensor *t, const vit_dims *d, const family *fam, bool layer, int slot,
                                bool split, const char *path)
{
    uint64_t want[4], got[ST_MAX_RANK];
    uint32_t rw = expected_shape(d, fam->flax, layer, slot, split, want), rg = squeeze(t, got);
    bool ok = rw == rg;
    for (uint32_t i = 0; ok && i < rw; i++)
        ok = want[i] == got[i];
    if (ok)
        return VKVIT_OK;
    char ws[96] = "", gs[96] = "";
    for (uint32_t i = 0; i < rw; i++)
        snprintf(ws + strlen(ws), sizeof ws - strlen(ws), "%s%llu", i ? ", " : "", (unsigned long long)want[i]);
    for (uint32_t i = 0; i < t->rank; i++)
        snprintf(gs + strlen(gs), sizeof gs - strlen(gs), "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
    char rep[32] = "";
    if (d->R)
        snprintf(rep, sizeof rep, ", pre-logits %u", d->R);
    return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' has shape [%s], expected [%s] for this model "
                "(hidden %u, heads %u, mlp %u, tokens %u, classes %u%s)", path, t->name, gs, ws, d->D, d->H, d->mlp,
                d->T, d->K, rep);
}

/* One ResNet tensor against its shape: a conv kernel [out, in, k, k] (Flax: [k, k, in, out]) or a GroupNorm's
 * scale or bias [out]. `what` says where it is for the message. */
static vkvit_status check_resnet_tensor(const st_tensor *t, bool flax, uint32_t out, uint32_t in, uint32_t k,
                                        const char *what, const char *path)
{
    const bool conv = k != 0;
    const uint64_t want[4] = {flax ? k : out, flax ? k : in, flax ? in : k, flax ? out : k};
    bool ok = conv ? t->rank == 4 : t->rank == 1 && t->shape[0] == out;
    for (uint32_t i = 0; ok && conv && i < 4; i++)
        ok = t->shape[i] == want[i];
    if (ok)
        return VKVIT_OK;
    char ws[96] = "", gs[96] = "";
    for (uint32_t i = 0; i < (conv ? 4u : 1u); i++)
        snprintf(ws + strlen(ws), sizeof ws - strlen(ws), "%s%llu", i ? ", " : "",
                 (unsigned long long)(conv ? want[i] : out));
    for (uint32_t i = 0; i < t->rank; i++)
        snprintf(gs + strlen(gs), sizeof gs - strlen(gs), "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
    return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' has shape [%s], expected [%s] for %s", path, t->name, gs,
                ws, what);
}

/* The root and every unit of a hybrid's ResNet: each tensor present with its shape, none beyond the ResNet (a
 * unit past a stage's depth, a projection outside a stage's first unit). */
static vkvit_status check_resnet(const found *fd, const vit_dims *d, const family *fam, const char *path)
{
    char names[512], what[160];
    vkvit_status s;
    const vit_resnet *r = &d->resnet;
    const bool flax = fam->flax;
    for (uint32_t st = 0; st < CONFIG_MAX_STAGES; st++)
        for (uint32_t u = 0; u < CONFIG_MAX_UNITS; u++)
            for (int k = 0; k < U_SLOT_COUNT; k++) {
                const st_tensor *t = fd->unit[st][u][k];
                if (t && (st >= r->stages || u >= r->depth[st]))
                    return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' belongs to ResNet stage %u unit %u, "
                                "but the model's ResNet has %u stages (%s)", path, t->name, st + 1, u + 1, r->stages,
                                st < r->stages ? "fewer units in that one" : "no more");
                if (t && u > 0 && k >= U_PROJ_W)
                    return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a projection shortcut in ResNet "
                                "stage %u unit %u: only a stage's first unit has one", path, t->name, st + 1, u + 1);
            }
    const uint32_t root_k[3] = {7, 0, 0};
    for (int k = W_ROOT_W; k <= W_ROOT_GN_B; k++) {
        const st_tensor *t = fd->global[k];
        if (!t)
            return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the %s (%s) is missing", path, vit_slot_name(false, k),
                        resnet_names(fam, false, k, 0, 0, names, sizeof names));
        if ((s = check_resnet_tensor(t, flax, r->root, d->C, root_k[k - W_ROOT_W], "the ResNet's root", path)))
            return s;
    }
    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        snprintf(what, sizeof what, "ResNet stage %u unit %u (%u channels in, %u in the bottleneck, %u out)",
                 v.stage + 1, v.index + 1, v.cin, v.mid, v.cout);
        for (int k = 0; k < (v.proj ? U_SLOT_COUNT : U_PROJ_W); k++) {
            const st_tensor *t = fd->unit[v.stage][v.index][k];
            if (!t)
                return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: %s's %s (%s) is missing", path, what,
                            vit_unit_slot_name(k), resnet_names(fam, true, k, v.stage, v.index, names, sizeof names));
            const bool mid = k < U_CONV3_W, conv = k == U_CONV1_W || k == U_CONV2_W || k == U_CONV3_W || k == U_PROJ_W;
            const uint32_t in = k == U_CONV2_W || k == U_CONV3_W ? v.mid : v.cin;
            if ((s = check_resnet_tensor(t, flax, mid ? v.mid : v.cout, in, !conv ? 0 : k == U_CONV2_W ? 3 : 1, what,
                                         path)))
                return s;
        }
    }
    return VKVIT_OK;
}

/* LayerScale as the config says: every block's gammas (VIT_LS_ALL), none (VIT_LS_NONE), or what the tensors hold. */
static vkvit_status check_layer_scale(const found *fd, const vit_dims *d, vit_layer_scale ls, const family *fam,
                                      const char *path)
{
    char names[256];
    for (uint32_t l = 0; l < d->L && ls != VIT_LS_TENSORS; l++)
        for (int slot = L_LS1; slot <= L_LS2; slot++) {
            const st_tensor *t = fd->layer[l][slot][0];
            if (ls == VIT_LS_ALL && !t)
                return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: block %u's %s (%s) is missing: the config gives the "
                            "blocks LayerScale (timm's init_values; Hugging Face's DINOv2)", path, l,
                            vit_slot_name(true, slot), slot_names(fam, true, slot, 0, l, names, sizeof names));
            if (ls == VIT_LS_NONE && t)
                return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a LayerScale gamma, but the config "
                            "gives the blocks none (timm's init_values = None)", path, t->name);
        }
    return VKVIT_OK;
}

static vkvit_status check_all(const found *fd, const vit_dims *d, uint32_t pos_lead, bool split_qkv, bool qkv_bias,
                              const family *fam, const char *path)
{
    char names[256];
    vkvit_status s;
    if (d->hybrid && (s = check_resnet(fd, d, fam, path)))
        return s;
    if (fd->layers > d->L) {
        for (int slot = 0; slot < L_SLOT_COUNT; slot++)
            for (int p = 0; p < 3; p++)
                if (fd->layer[d->L][slot][p])
                    return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' belongs to block %u, but the model has "
                                "%u blocks", path, fd->layer[d->L][slot][p]->name, d->L, d->L);
    }
    bool has_head = fd->global[W_HEAD_W] || fd->global[W_HEAD_B];
    for (int slot = W_PATCH_W; slot < W_GLOBAL_COUNT; slot++) { /* the W_ROOT_* slots before it: check_resnet */
        bool required = slot != W_DIST && slot != W_HEAD_W && slot != W_HEAD_B && slot != W_HEAD_DIST_W &&
                        slot != W_HEAD_DIST_B;
        if (slot == W_DIST)
            required = d->prefix == 2;
        if (slot == W_REG)
            required = d->regs > 0;
        if (slot == W_PRE_W || slot == W_PRE_B)
            required = d->R > 0 && !(slot == W_PRE_B && is_clip(fam)); /* CLIP's projection has no bias */
        if (slot == W_PATCH_B) /* CLIP's patch conv has none (timm: bias=not pre_norm); the block's zeros */
            required = !d->pre_norm;
        if (slot == W_NORM_PRE_W || slot == W_NORM_PRE_B)
            required = d->pre_norm;
        if (slot == W_CLS)
            required = d->prefix > 0;
        if (slot >= W_MAP_QKV_W) /* SigLIP's head: HF packs q, k, v (in_proj), timm has q and kv; qkv is built */
            required = d->map && slot != W_MAP_QKV_W && slot != W_MAP_QKV_B &&
                       (slot == W_MAP_IN_W || slot == W_MAP_IN_B ? is_siglip(fam)
                        : slot >= W_MAP_Q_W                      ? !is_siglip(fam)
                                                                 : true);
        if (slot >= W_MAP_QKV_W && fd->global[slot] && !d->map)
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' belongs to an attention-pooling head (MAP), "
                        "but the model pools the class token", path, fd->global[slot]->name);
        if (slot == W_HEAD_W || slot == W_HEAD_B)
            required = has_head;
        if (slot == W_HEAD_DIST_W || slot == W_HEAD_DIST_B)
            required = has_head && d->prefix == 2;
        const st_tensor *t = fd->global[slot];
        if (!t && required)
            return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the %s (%s) is missing", path, vit_slot_name(false, slot),
                        slot_names(fam, false, slot, 0, 0, names, sizeof names));
        if (t && (slot == W_HEAD_DIST_W || slot == W_HEAD_DIST_B) && d->prefix == 1)
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a distillation head, but there is no "
                        "distillation token", path, t->name);
        if (t && (slot == W_PRE_W || slot == W_PRE_B) && !d->R)
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' is a pre-logits layer, but the model's "
                        "pre-logits width (%s) is 0", path, t->name,
                        fam->pooler ? "pooler_output_size" : "representation_size");
        vit_dims pd = *d; /* the position embedding: pos_lead rows, then the grid's */
        pd.T = pos_lead + d->patches;
        if (t && (s = check_shape(t, slot == W_POS ? &pd : d, fam, false, slot, false, path)))
            return s;
    }
    static const char *const qkv_part[3] = {"query", "key", "value"};
    for (uint32_t l = 0; l < d->L; l++)
        for (int slot = 0; slot < L_SLOT_COUNT; slot++) {
            bool split = split_qkv && (slot == L_QKV_W || slot == L_QKV_B);
            for (int p = 0; p < (split ? 3 : 1); p++) {
                const st_tensor *t = fd->layer[l][slot][p];
                if (!t && ((slot == L_QKV_B && !qkv_bias) || slot == L_LS1 || slot == L_LS2))
                    continue; /* LayerScale is optional, block by block */
                if (!t)
                    return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: block %u's %s%s%s (%s) is missing", path, l,
                                split ? qkv_part[p] : vit_slot_name(true, slot), split ? " " : "",
                                split ? (slot == L_QKV_W ? "weight" : "bias") : "",
                                slot_names(fam, true, slot, p, l, names, sizeof names));
                if ((s = check_shape(t, d, fam, true, slot, split, path)))
                    return s;
            }
        }
    return VKVIT_OK;
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of a model path: the path itself if a directory, else its parent. */
static void model_dir(const char *path, char *dir, size_t n)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dir, n, "%s", path);
        return;
    }
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, n, ".");
}

/* ---- opening and reading ---------------------------------------------------------------------------- */

/* The first family whose probe tensor the file holds. */
static vkvit_status find_family(const checkpoint *ck, const char *path, const family **out)
{
    char probes[512] = "";
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        if (find_tensor(ck, families[i].probe)) {
            *out = &families[i];
            return VKVIT_OK;
        }
        size_t at = strlen(probes);
        snprintf(probes + at, sizeof probes - at, "%s'%s'", i ? ", " : "", families[i].probe);
    }
    return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: not a ViT/DeiT checkpoint of a known layout: it has none of %s",
                path, probes);
}

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Google checkpoints vkvit cannot run yet, refused here by name, before the naming table would call
 * their extra tensors unknown. Each is one test; supporting one means deleting it (and adding names). */
static vkvit_status refuse_unsupported(const checkpoint *ck, const char *path)
{
    const char *prefix = ck->fam->prefix;
    const size_t np = strlen(prefix);
    char name[160];
    const st_tensor *t;
    /* big_vision: all blocks stacked in one tensor per weight (scan), or pooled by attention (MAP). */
    snprintf(name, sizeof name, "%sTransformer/encoderblock/LayerNorm_0/scale", prefix);
    if ((t = find_tensor(ck, name)))
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: tensor '%s' holds every block at once (big_vision's scanned "
                    "layout): not supported yet", path, name);
    for (size_t i = 0; i < tensor_count(ck); i++)
        if (has_prefix(tensor_at(ck, i)->name, prefix) && has_prefix(tensor_at(ck, i)->name + np, "MAPHead_0/"))
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: tensor '%s' belongs to an attention-pooling head (MAP): not "
                        "supported yet (vkvit classifies the class token)", path, tensor_at(ck, i)->name);
    return VKVIT_OK;
}

/* Hugging Face runs a DINOv2 at its image processor's square centre crop (224 px for facebook/dinov2-*, whose
 * config says 518), interpolating the position embedding on every forward (Dinov2Embeddings): that crop, or 0
 * where there is none, it is not square, or it is the config's size. An unreadable file is preprocessing's to
 * report. */
static uint32_t dinov2_processor_crop(const char *dir, const vit_config *cfg)
{
    char path[1200], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if (fs_read_file(path, 1u << 24, &buf, &len) != FS_OK)
        return 0;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *crop = cJSON_GetObjectItemCaseSensitive(root, "crop_size");
    const cJSON *h = cJSON_IsObject(crop) ? cJSON_GetObjectItemCaseSensitive(crop, "height") : crop;
    const cJSON *w = cJSON_IsObject(crop) ? cJSON_GetObjectItemCaseSensitive(crop, "width") : crop;
    const bool on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "do_center_crop"));
    uint32_t side = on && json_is_uint(h) && json_is_uint(w) && h->valuedouble == w->valuedouble &&
                    h->valuedouble <= CONFIG_MAX_IMAGE ? (uint32_t)h->valuedouble : 0;
    cJSON_Delete(root);
    return side && side != cfg->image && cfg->patch && side % cfg->patch == 0 ? side : 0;
}

/* The preprocessing spec; a DINOv2's for the size Hugging Face runs it at (ck->run_image), as its processor says. */
static vkvit_status load_preprocessing(checkpoint *ck, const char *dir, vit_config *cfg, preprocess_spec *pre)
{
    ck->run_image = ck->fam->dinov2 ? dinov2_processor_crop(dir, cfg) : 0;
    if (!ck->run_image)
        return preprocess_spec_load(dir, cfg, pre);
    vit_config at = *cfg; /* the labels are shared, not copied: only read */
    at.image = ck->run_image;
    return preprocess_spec_load(dir, &at, pre);
}

/* Hugging Face's DINOv2 giant: a SwiGLU MLP (mlp.weights_in / weights_out), refused by name before the naming table
 * would call its tensors unknown (a config saying use_swiglu_ffn is refused when it is read). */
static vkvit_status refuse_swiglu(const checkpoint *ck, const char *path)
{
    char name[160];
    snprintf(name, sizeof name, "%sencoder.layer.0.mlp.weights_in.weight", ck->fam->prefix);
    if (find_tensor(ck, name))
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: tensor '%s' belongs to a SwiGLU MLP (DINOv2 giant): not supported "
                    "(vkvit runs fc1 -> GELU -> fc2)", path, name);
    return VKVIT_OK;
}

/* labels.txt beside the weights names the classes when the config does not, if it has one per class. */
static vkvit_status read_labels(const char *dir, vit_config *cfg)
{
    char labels_path[1100];
    if ((cfg->present & CONFIG_LABELS) || !cfg->num_labels)
        return VKVIT_OK;
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", dir);
    if (!file_exists(labels_path))
        return VKVIT_OK;
    vit_labels lab;
    vkvit_status s = labels_load(labels_path, &lab);
    if (s)
        return s;
    if (lab.count == cfg->num_labels) {
        cfg->labels = lab;
        cfg->present |= CONFIG_LABELS;
    } else {
        labels_free(&lab);
    }
    return VKVIT_OK;
}

/* vkvit_model_info.config: where each number came from: the config file, the tensor shapes, or
 * defaults (for Google's checkpoints: the constants of Google's ViT). */
static void describe_config(const vit_config *c, bool flax, const char *source, char *out, size_t n)
{
    const struct {
        uint32_t bit;
        bool shaped;       /* inferred from the shapes when the file does not give it */
        const char *fmt;
        double v;
    } f[] = {
        {CONFIG_HIDDEN, true, "hidden %.0f", c->hidden},      {CONFIG_LAYERS, true, "%.0f layers", c->layers},
        {CONFIG_HEADS, flax, "%.0f heads", c->heads},         {CONFIG_MLP, true, "mlp %.0f", c->mlp},
        {CONFIG_PATCH, true, "patch %.0f", c->patch},
        {CONFIG_IMAGE, true, c->image_w ? "image height %.0f" : "image %.0f", c->image},
        {CONFIG_IMAGE, true, c->image_w ? "width %.0f" : NULL, c->image_w},
        {CONFIG_CHANNELS, true, "%.0f channels", c->channels}, {CONFIG_NUM_LABELS, true, "%.0f classes", c->num_labels},
        {CONFIG_REPRESENTATION, true, "pre-logits %.0f", c->representation},
        {CONFIG_EPS, false, "LayerNorm eps %g", c->eps},
        {CONFIG_GELU, false, c->gelu == VIT_GELU_TANH ? "tanh GELU" : c->gelu == VIT_GELU_QUICK ? "quick GELU"
                                                                                                : "exact GELU", 0},
    };
    const char *const label[3] = {"", "from the tensor shapes: ", flax ? "Google's ViT: " : "defaults: "};
    char part[3][256] = {"", "", ""};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (!f[i].fmt || (f[i].bit == CONFIG_REPRESENTATION && !c->representation)) /* most have none */
            continue;
        char *p = part[(c->present & f[i].bit) ? 0 : f[i].shaped ? 1 : 2];
        size_t at = strlen(p);
        snprintf(p + at, sizeof part[0] - at, "%s", at ? ", " : "");
        at = strlen(p);
        snprintf(p + at, sizeof part[0] - at, f[i].fmt, f[i].v);
    }
    if (snprintf(out, n, "%s", source) >= (int)n) /* a long path cut short: the numbers matter more */
        snprintf(out + n / 2, n - n / 2, "...");
    for (int g = 0, first = 1; g < 3; g++)
        if (part[g][0]) {
            size_t at = strlen(out);
            snprintf(out + at, n - at, "%s%s%s", first ? ": " : "; ", label[g], part[g]);
            first = 0;
        }
    if (c->registers) {
        size_t at = strlen(out);
        snprintf(out + at, n - at, "; %u register tokens", c->registers);
    }
    if (!c->hybrid)
        return;
    const vit_resnet *r = &c->resnet;
    size_t at = strlen(out);
    snprintf(out + at, n - at, "; hybrid: ResNet root %u%s", r->root, r->stages ? ", stages [" : " alone");
    for (uint32_t i = 0; i < r->stages; i++) {
        at = strlen(out);
        snprintf(out + at, n - at, "%s%u", i ? ", " : "", r->depth[i]);
    }
    for (uint32_t i = 0; i < r->stages; i++) {
        at = strlen(out);
        snprintf(out + at, n - at, "%s%u%s", i ? ", " : "] of widths [", r->width[i], i + 1 == r->stages ? "]" : "");
    }
    at = strlen(out);
    snprintf(out + at, n - at, ", GroupNorm %u groups eps %g", r->groups, r->gn_eps);
}

vkvit_status checkpoint_open(const char *path, vit_config *cfg, preprocess_spec *pre, checkpoint **out)
{
    *out = NULL;
    char dir[1024], cfg_path[1100];
    checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "checkpoint");
    model_dir(path, dir, sizeof dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    /* Google publishes bare .npz files: what lies beside one is not its configuration. */
    const size_t len = strlen(path);
    const bool npz = len > 4 && strcmp(path + len - 4, ".npz") == 0;
    const bool has_config = !npz && file_exists(cfg_path);
    vkvit_status s;
    if ((has_config && (s = config_load(cfg_path, cfg))) ||
        (s = npz ? npz_open(path, &ck->npz) : st_open(path, &ck->st)) || (s = find_family(ck, path, &ck->fam)) ||
        (ck->fam->flax && (s = refuse_unsupported(ck, path))) || (ck->fam->dinov2 && (s = refuse_swiglu(ck, path))) ||
        (s = collect(ck, ck->fam, path, whole_model(cfg), &ck->fd)) ||
        (s = infer_config(&ck->fd, ck->fam, path, cfg)) || (s = pre_logits_config(&ck->fd, ck->fam, path, cfg)) ||
        (s = clip_config(&ck->fd, ck->fam, path, cfg)) || (s = map_config(&ck->fd, ck->fam, path, cfg)))
        goto fail;
    config_apply_defaults(cfg);
    if ((s = read_labels(dir, cfg)) || (s = config_validate(cfg, has_config ? cfg_path : path)) ||
        (s = npz ? preprocess_spec_default(cfg, pre) : load_preprocessing(ck, dir, cfg, pre)))
        goto fail;
    if (npz) /* ViTImageProcessor's defaults are Google's: resize to the model's size, pixels to [-1, 1] */
        snprintf(pre->source, sizeof pre->source, "Google's ViT (no preprocessing config beside an .npz)");
    ck->dims = vit_dims_of(cfg);
    ck->grid = ck->dims.grid;
    ck->grid_w = ck->dims.grid_w;
    ck->pos_lead = pos_lead(cfg);
    if ((s = check_all(&ck->fd, &ck->dims, ck->pos_lead, ck->fam->split_qkv, cfg->qkv_bias, ck->fam, path)) ||
        (s = check_layer_scale(&ck->fd, &ck->dims, cfg->layer_scale, ck->fam, path)))
        goto fail;
    for (size_t i = 0; i < tensor_count(ck); i++)
        ck->parameters += tensor_at(ck, i)->count;
    describe_config(cfg, ck->fam->flax, has_config ? cfg_path : path, ck->config_summary, sizeof ck->config_summary);
    *out = ck;
    return VKVIT_OK;
fail:
    checkpoint_close(ck);
    return s;
}

vkvit_status checkpoint_resize(checkpoint *ck, vit_config *cfg, preprocess_spec *pre, uint32_t height,
                               uint32_t width)
{
    if (height == cfg->image && width == config_image_w(cfg))
        return VKVIT_OK;
    char size[48], own[48];
    snprintf(size, sizeof size, height == width ? "image_size %u" : "image size %ux%u (height x width)", height,
             width);
    snprintf(own, sizeof own, cfg->image_w ? "%ux%u" : "%u", cfg->image, config_image_w(cfg));
    if (cfg->hybrid && height != width)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: a hybrid (ResNet stem) runs square images only (its image size "
                    "is %s)", size, own);
    /* A hybrid's patches tile its ResNet's output, whose side is about image / 16 at any image size. */
    const bool big = height > CONFIG_MAX_IMAGE || width > CONFIG_MAX_IMAGE;
    const uint32_t side = big ? 0 : config_feature_side(cfg, height);
    if (side % cfg->patch || width % cfg->patch || big)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: %s (the checkpoint's patch size is %u, its image size %s)",
                    size, big ? "above 4096" : cfg->hybrid ? "the ResNet's output is not a multiple of the patch size"
                                                           : "not a multiple of the patch size",
                    cfg->patch, own);
    vkvit_status s = pre->size == height && (pre->size_w ? pre->size_w : pre->size) == width
                         ? VKVIT_OK /* a DINOv2's already is */
                         : preprocess_spec_resize_rect(pre, height, width);
    if (s)
        return s;
    cfg->image = height;
    cfg->image_w = height == width ? 0 : width;
    ck->grid = side / cfg->patch;
    ck->grid_w = cfg->hybrid ? ck->grid : width / cfg->patch;
    /* As the checkpoint's own library resamples it: timm's checkpoint_filter_fn (resample_abs_pos_embed:
     * antialiased bicubic), Hugging Face's interpolate_pos_encoding (bicubic; antialiased in
     * Dinov2WithRegisters', which is the model with registers whatever its model_type), Google's vit_jax
     * load_pretrained (scipy.ndimage.zoom, order 1) for its .npz files. */
    ck->pos_filter = ck->fam->flax                         ? POSEMBED_BILINEAR_ZOOM
                     : strcmp(ck->fam->name, "timm") == 0 ? POSEMBED_BICUBIC_AA
                     : ck->fam->dinov2 && cfg->registers  ? POSEMBED_BICUBIC_AA /* Dinov2WithRegistersEmbeddings */
                                                          : POSEMBED_BICUBIC;
    return VKVIT_OK;
}

const char *checkpoint_family(const checkpoint *ck) { return ck->fam->name; }
uint32_t checkpoint_run_size(const checkpoint *ck) { return ck->run_image; }
uint64_t checkpoint_parameters(const checkpoint *ck) { return ck->parameters; }
const char *checkpoint_config_summary(const checkpoint *ck) { return ck->config_summary; }

/* Flax kernels are [in, out]; the canonical matrices [out][in]. Their `out`, or 0 for a slot that is
 * copied as it is (for the attention kernels [D, H, dh] and [H, dh, D] are [D][D] in memory). */
static uint64_t flax_kernel_out(const vit_dims *d, bool layer, int slot)
{
    if (!layer)
        return slot == W_HEAD_W ? d->K : slot == W_PRE_W ? d->R : 0;
    return slot == L_QKV_W || slot == L_PROJ_W || slot == L_FC2_W ? d->D : slot == L_FC1_W ? d->mlp : 0;
}

/* Reads tensor t into dst in the canonical layout: PyTorch's layouts are it already; Google's kernels
 * are transposed, and its patch kernel [P][P][C][D] becomes [D][C][P][P]. */
static vkvit_status read_into(const checkpoint *ck, const st_tensor *t, bool layer, int slot, float *dst)
{
    const vit_dims *d = &ck->dims;
    const bool patch = !layer && slot == W_PATCH_W;
    const uint64_t out = flax_kernel_out(d, layer, slot);
    if (!ck->fam->flax || (!out && !patch))
        return read_raw(ck, t, dst);
    float *src = malloc(t->count * sizeof *src);
    if (!src)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: tensor '%s'", t->file, t->name);
    vkvit_status s = read_raw(ck, t, src);
    if (!s && patch) {
        const uint64_t P = d->P, C = d->C, D = d->D;
        for (uint64_t i = 0; i < P; i++)
            for (uint64_t j = 0; j < P; j++)
                for (uint64_t c = 0; c < C; c++)
                    for (uint64_t o = 0; o < D; o++)
                        dst[((o * C + c) * P + i) * P + j] = src[((i * P + j) * C + c) * D + o];
    } else if (!s) {
        const uint64_t in = t->count / out;
        for (uint64_t i = 0; i < in; i++)
            for (uint64_t o = 0; o < out; o++)
                dst[o * in + i] = src[i * out + o];
    }
    free(src);
    return s;
}

/* A conv kernel into the conv2d op's layout (layout.h): [cout][Kp] rows in (ky, kx, c) order, zero padding left
 * as the block holds it: from PyTorch's [cout][cin][k][k] or Flax's HWIO [k][k][cin][cout]. Weight-standardised
 * per output channel in double, as the checkpoint's library does it on every forward (resnet_family), so
 * that the device never does it and the fp16 block holds the standardised values. */
static vkvit_status read_conv(const checkpoint *ck, const st_tensor *t, uint32_t cout, uint32_t cin, uint32_t k,
                              bool standardise, float *dst)
{
    const resnet_family rf = resnet_of(ck->fam);
    const uint64_t K = (uint64_t)k * k * cin, Kp = vit_conv_row(k, k, cin);
    float *src = malloc(t->count * sizeof *src);
    double *row = malloc(K * sizeof *row);
    vkvit_status s = !src || !row ? fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: tensor '%s'", t->file, t->name)
                                  : read_raw(ck, t, src);
    for (uint64_t o = 0; !s && o < cout; o++) {
        double mean = 0, var = 0;
        for (uint64_t ky = 0; ky < k; ky++)
            for (uint64_t kx = 0; kx < k; kx++)
                for (uint64_t c = 0; c < cin; c++) {
                    const uint64_t at = (ky * k + kx) * cin + c;
                    row[at] = ck->fam->flax ? src[at * cout + o] : src[((o * cin + c) * k + ky) * k + kx];
                    mean += row[at];
                }
        mean /= (double)K;
        for (uint64_t i = 0; i < K; i++)
            var += (row[i] - mean) * (row[i] - mean);
        var /= (double)K;
        const double scale = rf.ws == WS_SQRT_VAR_EPS ? 1.0 / sqrt(var + rf.ws_eps) : 1.0 / (sqrt(var) + rf.ws_eps);
        for (uint64_t i = 0; i < K; i++)
            dst[o * Kp + i] = (float)(standardise ? (row[i] - mean) * scale : row[i]);
    }
    free(src);
    free(row);
    return s;
}

/* A hybrid's ResNet: the root (its conv standardised, its GroupNorm as stored) and every unit. */
static vkvit_status read_resnet(const checkpoint *ck, const vit_layout *lay, float *w)
{
    const vit_dims *d = &ck->dims;
    const found *fd = &ck->fd;
    vkvit_status s;
    if ((s = read_conv(ck, fd->global[W_ROOT_W], d->resnet.root, d->C, 7, true, w + lay->global[W_ROOT_W].offset)) ||
        (s = read_raw(ck, fd->global[W_ROOT_GN_W], w + lay->global[W_ROOT_GN_W].offset)) ||
        (s = read_raw(ck, fd->global[W_ROOT_GN_B], w + lay->global[W_ROOT_GN_B].offset)))
        return s;
    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        for (int k = 0; k < (v.proj ? U_SLOT_COUNT : U_PROJ_W); k++) {
            const st_tensor *t = fd->unit[v.stage][v.index][k];
            float *dst = w + layout_unit(lay, u, k)->offset;
            if (k == U_CONV1_W || k == U_PROJ_W)
                s = read_conv(ck, t, k == U_CONV1_W ? v.mid : v.cout, v.cin, 1, true, dst);
            else if (k == U_CONV2_W || k == U_CONV3_W)
                s = read_conv(ck, t, k == U_CONV2_W ? v.mid : v.cout, v.mid, k == U_CONV2_W ? 3 : 1, true, dst);
            else
                s = read_raw(ck, t, dst);
            if (s)
                return s;
        }
    }
    return VKVIT_OK;
}

/* The position embedding [T][D] in token order, its grid resampled to ck->grid when checkpoint_resize asked for
 * another size; the file's pos_lead rows are the first tokens' (class, distillation, then registers where it has
 * them), the prefix and register tokens past them get zero rows: adding 0 is adding nothing, exactly. */
static vkvit_status read_pos(const checkpoint *ck, const st_tensor *t, float *dst)
{
    const vit_dims *d = &ck->dims;
    const uint32_t lead = d->prefix + d->regs;
    const size_t rows = (size_t)lead + d->patches;
    if (ck->grid == d->grid && ck->grid_w == d->grid_w && ck->pos_lead == lead)
        return read_into(ck, t, false, W_POS, dst);
    float *pos = calloc(rows * d->D, sizeof *pos), *file = malloc((size_t)t->count * sizeof *file);
    vkvit_status s = !pos || !file ? fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "position embedding")
                                   : read_into(ck, t, false, W_POS, file);
    if (!s) {
        memcpy(pos, file, (size_t)ck->pos_lead * d->D * sizeof *pos);
        memcpy(pos + (size_t)lead * d->D, file + (size_t)ck->pos_lead * d->D, (size_t)d->patches * d->D * sizeof *pos);
        if (ck->grid == d->grid && ck->grid_w == d->grid_w)
            memcpy(dst, pos, rows * d->D * sizeof *dst);
        else
            s = posembed_resize(ck->pos_filter, pos, lead, d->grid, d->grid_w, d->D, dst, ck->grid, ck->grid_w);
    }
    free(pos);
    free(file);
    return s;
}

/* LayerScale, x + gamma * (W h + b), folded into W's rows and b: gamma_o W_o and gamma_o b_o, each rounded once
 * (timm's ls1/ls2.gamma, HF's layer_scale1/2.lambda1 after the attention projection and fc2). */
static vkvit_status fold_layer_scale(const checkpoint *ck, const st_tensor *gamma, uint32_t in, float *w, float *b)
{
    const uint32_t D = ck->dims.D;
    float *g = malloc((size_t)D * sizeof *g);
    vkvit_status s = !g ? fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: tensor '%s'", gamma->file, gamma->name)
                        : read_raw(ck, gamma, g);
    for (uint32_t o = 0; !s && o < D; o++) {
        for (uint32_t i = 0; i < in; i++)
            w[(size_t)o * in + i] *= g[o];
        b[o] *= g[o];
    }
    free(g);
    return s;
}

/* SigLIP's MAP head's q/k/v into map_qkv (layout.h): K and V rows as stored (HF's in_proj rows D..3D, timm's kv),
 * the Q rows zero, and the probe's query q = Wq . probe + bq (summed in double) as the Q bias. */
static vkvit_status read_map(const checkpoint *ck, const vit_layout *lay, float *w)
{
    const vit_dims *d = &ck->dims;
    const found *fd = &ck->fd;
    const uint64_t D = d->D;
    float *qkv_w = w + lay->global[W_MAP_QKV_W].offset, *qkv_b = w + lay->global[W_MAP_QKV_B].offset;
    float *in = malloc((3 * D * D + 3 * D + D) * sizeof *in);
    if (!in)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "attention-pooling head");
    float *in_b = in + 3 * D * D, *probe = in_b + 3 * D; /* in: [Wq; Wk; Wv], in_b: [bq; bk; bv] */
    const bool hf = is_siglip(ck->fam);
    vkvit_status s = read_raw(ck, fd->global[W_MAP_PROBE], probe);
    if (!s && hf && !(s = read_raw(ck, fd->global[W_MAP_IN_W], in)))
        s = read_raw(ck, fd->global[W_MAP_IN_B], in_b);
    if (!s && !hf && !(s = read_raw(ck, fd->global[W_MAP_Q_W], in)) &&
        !(s = read_raw(ck, fd->global[W_MAP_Q_B], in_b)) && !(s = read_raw(ck, fd->global[W_MAP_KV_W], in + D * D)))
        s = read_raw(ck, fd->global[W_MAP_KV_B], in_b + D);
    if (!s) {
        memset(qkv_w, 0, D * D * sizeof *qkv_w);
        memcpy(qkv_w + D * D, in + D * D, 2 * D * D * sizeof *qkv_w);
        memcpy(qkv_b + D, in_b + D, 2 * D * sizeof *qkv_b);
        for (uint64_t i = 0; i < D; i++) {
            double q = in_b[i];
            for (uint64_t j = 0; j < D; j++)
                q += (double)in[i * D + j] * probe[j];
            qkv_b[i] = (float)q;
        }
    }
    free(in);
    return s;
}

vkvit_status checkpoint_read(const checkpoint *ck, const vit_layout *lay, float *w)
{
    const vit_dims *d = &ck->dims;
    const found *fd = &ck->fd;
    vkvit_status s;
    if (d->hybrid && (s = read_resnet(ck, lay, w))) /* the W_ROOT_* slots, before W_PATCH_W, and the units */
        return s;
    if (d->map && (s = read_map(ck, lay, w)))
        return s;
    for (int slot = W_PATCH_W; slot < W_GLOBAL_COUNT; slot++) {
        const st_tensor *t = fd->global[slot];
        if (!t || slot == W_HEAD_DIST_W || slot == W_HEAD_DIST_B || (slot == W_HEAD_W && d->prefix == 2) ||
            (slot == W_HEAD_B && d->prefix == 2) || slot >= W_MAP_PROBE) /* the MAP probe and q/k/v: read_map */
            continue;
        float *dst = w + lay->global[slot].offset;
        if (d->hybrid && slot == W_PATCH_W) /* over the ResNet's NHWC output: the conv2d layout */
            s = read_conv(ck, t, d->D, d->pc, d->P, false, dst);
        else
            s = slot == W_POS ? read_pos(ck, t, dst) : read_into(ck, t, false, slot, dst);
        if (s)
            return s;
    }
    if (d->prefix == 2 && d->K) { /* fold the two heads: [Wc/2 | Wd/2], (bc + bd)/2 */
        float *tmp = malloc(((size_t)d->K * d->D * 2 + 2 * d->K) * sizeof *tmp);
        if (!tmp)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "distilled head");
        float *wc = tmp, *wd = tmp + (size_t)d->K * d->D, *bc = wd + (size_t)d->K * d->D, *bd = bc + d->K;
        if (!(s = read_raw(ck, fd->global[W_HEAD_W], wc)) && !(s = read_raw(ck, fd->global[W_HEAD_DIST_W], wd)) &&
            !(s = read_raw(ck, fd->global[W_HEAD_B], bc)) && !(s = read_raw(ck, fd->global[W_HEAD_DIST_B], bd))) {
            float *hw = w + lay->global[W_HEAD_W].offset, *hb = w + lay->global[W_HEAD_B].offset;
            for (uint32_t k = 0; k < d->K; k++) {
                for (uint32_t i = 0; i < d->D; i++) {
                    hw[(size_t)k * 2 * d->D + i] = 0.5f * wc[(size_t)k * d->D + i];
                    hw[(size_t)k * 2 * d->D + d->D + i] = 0.5f * wd[(size_t)k * d->D + i];
                }
                hb[k] = 0.5f * (bc[k] + bd[k]);
            }
        }
        free(tmp);
        if (s)
            return s;
    }
    for (uint32_t l = 0; l < d->L; l++) {
        for (int slot = 0; slot < L_SLOT_COUNT; slot++) {
            const vit_tensor *t = layout_tensor(lay, (int)l, slot);
            float *dst = w + t->offset;
            const st_tensor *const *parts = fd->layer[l][slot];
            if (slot == L_LS1 || slot == L_LS2)
                continue; /* folded below */
            if (slot == L_QKV_B && !parts[0]) { /* qkv_bias = false: zeros */
                memset(dst, 0, t->count * sizeof *dst);
                continue;
            }
            uint64_t part_floats = slot == L_QKV_W ? (uint64_t)d->D * d->D : d->D;
            for (int p = 0; p < 3; p++) {
                if (!parts[p])
                    continue;
                if ((s = read_into(ck, parts[p], true, slot, dst + (parts[1] ? (uint64_t)p * part_floats : 0))))
                    return s;
            }
        }
        const int li = (int)l;
        const st_tensor *ls1 = fd->layer[l][L_LS1][0], *ls2 = fd->layer[l][L_LS2][0];
        if ((ls1 && (s = fold_layer_scale(ck, ls1, d->D, w + layout_tensor(lay, li, L_PROJ_W)->offset,
                                          w + layout_tensor(lay, li, L_PROJ_B)->offset))) ||
            (ls2 && (s = fold_layer_scale(ck, ls2, d->mlp, w + layout_tensor(lay, li, L_FC2_W)->offset,
                                          w + layout_tensor(lay, li, L_FC2_B)->offset))))
            return s;
    }
    return VKVIT_OK;
}

void checkpoint_close(checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->fd.layer);
    st_close(ck->st);
    npz_close(ck->npz);
    free(ck);
}
