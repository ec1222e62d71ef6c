/* ViT configuration from HF / timm config.json and labels.txt. See config.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "util/fs.h"
#include "util/json.h"

#define MAX_FILE_BYTES (64u << 20)

/* ---- labels ----------------------------------------------------------------------------------- */

void labels_free(vit_labels *l)
{
    if (!l)
        return;
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

/* Copies n strings into one allocation: the pointer array, then the NUL-terminated texts. */
static vkvit_status labels_make(const char *name, uint32_t n, const char *const *str, const size_t *len,
                                vit_labels *out)
{
    size_t total = (size_t)n * sizeof(char *);
    for (uint32_t i = 0; i < n; i++) {
        if (len[i] >= SIZE_MAX - total - 1)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: labels too long", name);
        total += len[i] + 1;
    }
    char **names = malloc(total ? total : 1);
    if (!names)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %u labels", name, n);
    char *text = (char *)(names + n);
    for (uint32_t i = 0; i < n; i++) {
        names[i] = text;
        memcpy(text, str[i], len[i]);
        text[len[i]] = '\0';
        text += len[i] + 1;
    }
    out->names = names;
    out->count = n;
    return VKVIT_OK;
}

vkvit_status labels_parse(const char *text, size_t len, const char *name, vit_labels *out)
{
    vkvit_status s = VKVIT_OK;
    const char **str = NULL;
    size_t *lens = NULL;
    if (!out || (!text && len) || !name)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "labels_parse: NULL argument");
    out->names = NULL;
    out->count = 0;
    if (len == 0)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: empty labels file", name);
    if (memchr(text, '\0', len))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: NUL byte at byte %zu: not a text file", name,
                    (size_t)((const char *)memchr(text, '\0', len) - text));
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    lines += text[len - 1] != '\n'; /* a last line without newline */
    if (lines > CONFIG_MAX_LABELS)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %zu lines, more than %d labels", name, lines,
                    CONFIG_MAX_LABELS);
    if (!(str = malloc(lines * sizeof *str)) || !(lens = malloc(lines * sizeof *lens))) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %zu labels", name, lines);
        goto fail;
    }
    const char *p = text, *end = text + len;
    for (size_t i = 0; i < lines; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        str[i] = p;
        lens[i] = (size_t)(stop - p);
        if (lens[i] && p[lens[i] - 1] == '\r')
            lens[i]--;
        p = nl ? nl + 1 : end;
    }
    s = labels_make(name, (uint32_t)lines, str, lens, out);
fail:
    free(str);
    free(lens);
    return s;
}

/* Reads a whole file of at most MAX_FILE_BYTES, NUL-terminated. */
static vkvit_status read_file(const char *path, char **text, size_t *len)
{
    switch (fs_read_file(path, MAX_FILE_BYTES, text, len)) {
    case FS_OK:
        return VKVIT_OK;
    case FS_NOT_FOUND:
    case FS_CANNOT_OPEN:
        return fail(VKVIT_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    case FS_NOT_REGULAR:
        return fail(VKVIT_ERROR_IO, "%s: not a regular file", path);
    case FS_TOO_BIG:
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: larger than %u bytes", path, MAX_FILE_BYTES);
    case FS_NO_MEMORY:
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    case FS_READ_ERROR:
        break;
    }
    return fail(VKVIT_ERROR_IO, "%s: read error: %s", path, strerror(errno));
}

vkvit_status labels_load(const char *path, vit_labels *out)
{
    char *text = NULL;
    size_t len = 0;
    if (!out || !path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "labels_load: NULL argument");
    out->names = NULL;
    out->count = 0;
    vkvit_status s = read_file(path, &text, &len);
    if (s == VKVIT_OK)
        s = labels_parse(text, len, path, out);
    free(text);
    return s;
}

/* ---- Hugging Face ----------------------------------------------------------------------------- */

static const struct {
    const char *key;
    size_t offset;
    uint32_t bit;
    bool square;
} hf_dims[] = {
    {"hidden_size", offsetof(vit_config, hidden), CONFIG_HIDDEN, false},
    {"num_hidden_layers", offsetof(vit_config, layers), CONFIG_LAYERS, false},
    {"num_attention_heads", offsetof(vit_config, heads), CONFIG_HEADS, false},
    {"intermediate_size", offsetof(vit_config, mlp), CONFIG_MLP, false},
    {"image_size", offsetof(vit_config, image), CONFIG_IMAGE, true},
    {"patch_size", offsetof(vit_config, patch), CONFIG_PATCH, true},
    {"num_channels", offsetof(vit_config, channels), CONFIG_CHANNELS, false},
    {"pooler_output_size", offsetof(vit_config, representation), CONFIG_REPRESENTATION, false},
}, timm_args[] = { /* timm model_args */
    {"embed_dim", offsetof(vit_config, hidden), CONFIG_HIDDEN, false},
    {"depth", offsetof(vit_config, layers), CONFIG_LAYERS, false},
    {"num_heads", offsetof(vit_config, heads), CONFIG_HEADS, false},
    {"img_size", offsetof(vit_config, image), CONFIG_IMAGE, true},
    {"patch_size", offsetof(vit_config, patch), CONFIG_PATCH, true},
    {"in_chans", offsetof(vit_config, channels), CONFIG_CHANNELS, false},
    {"num_classes", offsetof(vit_config, num_labels), CONFIG_NUM_LABELS, false},
    {"representation_size", offsetof(vit_config, representation), CONFIG_REPRESENTATION, false},
};

static uint32_t *field(vit_config *c, size_t offset) { return (uint32_t *)((char *)c + offset); }

/* The image size: an integer (square), or [h, w] (HF's image_size, timm's img_size tuple): image = h and
 * image_w = w when they differ. Either form replaces what an earlier source (the timm architecture) gave. */
static vkvit_status json_image(const char *name, const cJSON *obj, const char *key, vit_config *c, uint32_t *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && json_is_uint(v->child) && json_is_uint(v->child->next)) {
        if (v->child->valuedouble == 0 || v->child->next->valuedouble == 0) /* 0 is no side, nor "square" */
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = [%.0f, %.0f]: a side of 0", name, key,
                        v->child->valuedouble, v->child->next->valuedouble);
        c->image = (uint32_t)v->child->valuedouble;
        c->image_w = v->child->next->valuedouble == v->child->valuedouble ? 0 : (uint32_t)v->child->next->valuedouble;
        *present |= CONFIG_IMAGE;
        return VKVIT_OK;
    }
    vkvit_status s = json_uint(name, obj, key, false, &c->image, present, CONFIG_IMAGE);
    if (!s && v && !cJSON_IsNull(v))
        c->image_w = 0;
    return s;
}

/* Parses a decimal class index "0".."99999": digits only, no sign, no leading zero. */
static bool class_index(const char *key, uint32_t *out)
{
    uint32_t v = 0;
    size_t n = strlen(key);
    if (n == 0 || n > 5 || (key[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (key[i] < '0' || key[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(key[i] - '0');
    }
    *out = v;
    return true;
}

/* id2label: keys exactly "0".."n-1", values strings. */
static vkvit_status hf_labels(const char *name, const cJSON *map, vit_config *c)
{
    vkvit_status s = VKVIT_OK;
    const char **str = NULL;
    size_t *len = NULL;
    if (!cJSON_IsObject(map))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: id2label is not an object", name);
    uint32_t n = 0;
    for (const cJSON *e = map->child; e; e = e->next)
        if (++n > CONFIG_MAX_LABELS)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: id2label has more than %d entries", name,
                        CONFIG_MAX_LABELS);
    if (n == 0)
        return VKVIT_OK;
    if (!(str = calloc(n, sizeof *str)) || !(len = calloc(n, sizeof *len))) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %u labels", name, n);
        goto fail;
    }
    for (const cJSON *e = map->child; e; e = e->next) {
        uint32_t i = 0;
        if (!class_index(e->string, &i) || i >= n) {
            s = fail(VKVIT_ERROR_BAD_CONFIG,
                     "%s: id2label key '%.40s' is not a class index 0..%u", name, e->string, n - 1);
            goto fail;
        }
        if (str[i]) {
            s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: id2label key '%s' appears twice", name, e->string);
            goto fail;
        }
        if (!cJSON_IsString(e)) {
            s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: id2label['%s'] is not a string", name, e->string);
            goto fail;
        }
        str[i] = e->valuestring;
        len[i] = strlen(e->valuestring);
    }
    if ((s = labels_make(name, n, str, len, &c->labels)) != VKVIT_OK)
        goto fail;
    c->present |= CONFIG_LABELS;
fail:
    free(str);
    free(len);
    return s;
}

/* A ViTHybrid's backbone_config (HF BitConfig): the ResNet's depths and GroupNorm groups; the rest of the
 * ResNet (widths) is in the tensors' shapes. What only BiT classifiers use is refused by name. */
static vkvit_status hf_backbone(const char *name, const cJSON *bb, vit_config *c)
{
    vkvit_status s;
    char buf[64], text[32] = "";
    if (!cJSON_IsObject(bb))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: backbone_config is %s, not an object", name,
                    json_describe(bb, buf, sizeof buf));
    if ((s = json_string(name, bb, "layer_type", text, sizeof text, NULL, 0)))
        return s;
    if (text[0] && strcmp(text, "bottleneck") != 0)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: backbone_config.layer_type '%s': only the ViT hybrid's "
                    "\"bottleneck\" units are supported", name, text);
    text[0] = '\0';
    if ((s = json_string(name, bb, "global_padding", text, sizeof text, NULL, 0)))
        return s;
    if (text[0] && strcmp(text, "same") != 0 && strcmp(text, "SAME") != 0)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: backbone_config.global_padding '%s': only TF \"same\" "
                    "padding (the ViT hybrid's) is supported", name, text);
    const cJSON *depths = cJSON_GetObjectItemCaseSensitive(bb, "depths");
    if (depths && !cJSON_IsNull(depths)) {
        int n = cJSON_IsArray(depths) ? cJSON_GetArraySize(depths) : -1;
        if (n < 0 || n > CONFIG_MAX_STAGES)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: backbone_config.depths is %s, not a list of at most %d unit "
                        "counts", name, json_describe(depths, buf, sizeof buf), CONFIG_MAX_STAGES);
        for (int i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetArrayItem(depths, i);
            if (!json_is_uint(v) || v->valuedouble < 1 || v->valuedouble > CONFIG_MAX_UNITS)
                return fail(VKVIT_ERROR_BAD_CONFIG, "%s: backbone_config.depths[%d] is %s, not a unit count "
                            "1..%d", name, i, json_describe(v, buf, sizeof buf), CONFIG_MAX_UNITS);
            c->resnet.depth[i] = (uint32_t)v->valuedouble;
        }
        c->resnet.stages = (uint32_t)n;
        c->present |= CONFIG_RESNET;
    }
    if ((s = json_uint(name, bb, "num_groups", false, &c->resnet.groups, NULL, 0)))
        return s;
    c->hybrid = true;
    return VKVIT_OK;
}

/* Dinov2Config / Dinov2WithRegistersConfig: the register tokens (the position embedding has the class token's row
 * and the patches', none for the registers: Dinov2WithRegistersEmbeddings adds it before inserting them); SwiGLU
 * (the giant model's MLP) is not run. mlp_ratio is left to fc1's shape; layerscale_value only initialises. */
static vkvit_status hf_dinov2(const char *name, const cJSON *root, vit_config *c)
{
    vkvit_status s;
    bool swiglu = false;
    if ((s = json_bool(name, root, "use_swiglu_ffn", &swiglu, NULL, 0)) ||
        (s = json_uint(name, root, "num_register_tokens", false, &c->registers, &c->present, CONFIG_REGISTERS)))
        return s;
    if (swiglu)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: use_swiglu_ffn = true is not supported (DINOv2's SwiGLU MLP, the "
                    "giant model's: vkvit runs fc1 -> GELU -> fc2)", name);
    if (c->registers > CONFIG_MAX_REGISTERS)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: num_register_tokens = %u (at most %d)", name, c->registers,
                    CONFIG_MAX_REGISTERS);
    if (!strcmp(c->model_type, "dinov2"))
        c->present |= CONFIG_REGISTERS; /* Dinov2Model has none */
    c->pos_rows = VIT_POS_CLASS;
    c->layer_scale = VIT_LS_ALL; /* Dinov2Layer always has layer_scale1/2 */
    return VKVIT_OK;
}

/* A CLIP vision tower (transformers' CLIPVisionConfig, model_type "clip_vision_model"; a whole CLIPModel's
 * config, "clip", keeps it in vision_config): *vision is the object holding the tower's numbers (root
 * otherwise). The tower has a LayerNorm before the encoder; its defaults where the file leaves them out are
 * CLIPVisionConfig's (quick_gelu, eps 1e-5). projection_dim (the top level's in a CLIPModel) is the
 * projection's width where the architecture has one: CLIPVisionModelWithProjection and CLIPModel do,
 * CLIPVisionModel does not (its output is the post_layernorm class token); another or no architecture
 * leaves it to the tensors. */
static vkvit_status hf_clip(const char *name, const cJSON *root, vit_config *c, const cJSON **vision)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    *vision = root;
    const bool full = cJSON_IsString(type) && strcmp(type->valuestring, "clip") == 0;
    if (!full && !(cJSON_IsString(type) && strcmp(type->valuestring, "clip_vision_model") == 0))
        return VKVIT_OK;
    if (full && !cJSON_IsObject(*vision = cJSON_GetObjectItemCaseSensitive(root, "vision_config")))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_type \"clip\" without a vision_config object", name);
    c->pre_norm = true;
    c->projection = true;
    c->gelu = VIT_GELU_QUICK;
    c->eps = 1e-5;
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const char *arch = cJSON_IsArray(archs) && cJSON_IsString(archs->child) ? archs->child->valuestring : "";
    if (strcmp(arch, "CLIPVisionModel") == 0)
        return VKVIT_OK;
    uint32_t dim = 0, found = 0;
    vkvit_status s = json_uint(name, root, "projection_dim", false, &dim, &found, 1);
    if (s == VKVIT_OK && found && (full || strcmp(arch, "CLIPVisionModelWithProjection") == 0)) {
        c->representation = dim;
        c->present |= CONFIG_REPRESENTATION;
    }
    return s;
}

/* A SigLIP vision tower (transformers' SiglipVisionConfig, model_type "siglip_vision_model"; a whole SiglipModel's
 * config, "siglip", keeps it in vision_config): *vision as hf_clip's. No class token, the attention-pooling head
 * (vision_use_head, SiglipVisionConfig's default true); its defaults gelu_pytorch_tanh and eps 1e-6. */
static vkvit_status hf_siglip(const char *name, const cJSON *root, vit_config *c, const cJSON **vision)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const bool full = cJSON_IsString(type) && strcmp(type->valuestring, "siglip") == 0;
    if (!full && !(cJSON_IsString(type) && strcmp(type->valuestring, "siglip_vision_model") == 0))
        return VKVIT_OK;
    if (full && !cJSON_IsObject(*vision = cJSON_GetObjectItemCaseSensitive(root, "vision_config")))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_type \"siglip\" without a vision_config object", name);
    bool head = true;
    vkvit_status s = json_bool(name, *vision, "vision_use_head", &head, NULL, 0);
    if (s)
        return s;
    if (!head)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: vision_use_head = false: a SigLIP tower without its attention-"
                    "pooling head has no pooled output vkvit could return", name);
    c->map = true;
    c->gelu = VIT_GELU_TANH;
    c->eps = 1e-6;
    return VKVIT_OK;
}

static vkvit_status parse_hf(const char *name, const cJSON *root, vit_config *c)
{
    vkvit_status s;
    char act[32] = "";
    uint32_t found = 0;
    const cJSON *v = root; /* the vision tower's numbers: a CLIPModel's vision_config */
    c->format = CONFIG_FORMAT_HF;
    if ((s = hf_clip(name, root, c, &v)) || (s = hf_siglip(name, root, c, &v)))
        return s;
    for (size_t i = 0; i < sizeof hf_dims / sizeof hf_dims[0]; i++)
        if ((s = hf_dims[i].offset == offsetof(vit_config, image)
                     ? json_image(name, v, hf_dims[i].key, c, &c->present)
                     : json_uint(name, v, hf_dims[i].key, hf_dims[i].square, field(c, hf_dims[i].offset),
                                 &c->present, hf_dims[i].bit)) != VKVIT_OK)
            return s;
    if ((s = json_number(name, v, "layer_norm_eps", &c->eps, &c->present, CONFIG_EPS)) != VKVIT_OK ||
        (s = json_bool(name, root, "qkv_bias", &c->qkv_bias, &c->present, CONFIG_QKV_BIAS)) != VKVIT_OK ||
        (s = json_string(name, root, "model_type", c->model_type, sizeof c->model_type, NULL, 0)) != VKVIT_OK ||
        (s = json_string(name, v, "hidden_act", act, sizeof act, &found, 1)) != VKVIT_OK ||
        (s = json_string(name, root, "pooler_act", c->pooler_act, sizeof c->pooler_act, NULL, 0)) != VKVIT_OK)
        return s;
    if (found) {
        if (strcmp(act, "gelu") == 0 || strcmp(act, "gelu_python") == 0)
            c->gelu = VIT_GELU_ERF;
        else if (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0 ||
                 strcmp(act, "gelu_fast") == 0)
            c->gelu = VIT_GELU_TANH;
        else if (strcmp(act, "quick_gelu") == 0)
            c->gelu = VIT_GELU_QUICK;
        else
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: hidden_act '%s' is an unsupported activation "
                        "(gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu are supported)", name, act);
        c->present |= CONFIG_GELU;
    }

    if ((!strcmp(c->model_type, "dinov2") || !strcmp(c->model_type, "dinov2_with_registers")) &&
        (s = hf_dinov2(name, root, c)))
        return s;

    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (archs && !cJSON_IsNull(archs)) {
        if (!cJSON_IsArray(archs) || (archs->child && !cJSON_IsString(archs->child)))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: architectures is not a list of strings", name);
        if (archs->child)
            snprintf(c->architecture, sizeof c->architecture, "%s", archs->child->valuestring);
        if (strcmp(c->architecture, "DeiTForImageClassificationWithTeacher") == 0) {
            c->distilled = true;
            c->present |= CONFIG_DISTILLED;
        }
    }

    const cJSON *backbone = cJSON_GetObjectItemCaseSensitive(root, "backbone_config");
    if (backbone && !cJSON_IsNull(backbone) && (s = hf_backbone(name, backbone, c)))
        return s;
    if (strcmp(c->model_type, "vit-hybrid") == 0)
        c->hybrid = true;

    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    if (id2label && (s = hf_labels(name, id2label, c)) != VKVIT_OK)
        return s;
    uint32_t num_labels = 0;
    if ((s = json_uint(name, root, "num_labels", false, &num_labels, &c->present, CONFIG_NUM_LABELS)) != VKVIT_OK)
        return s;
    if ((c->present & CONFIG_NUM_LABELS) && (c->present & CONFIG_LABELS) && num_labels != c->labels.count)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: num_labels = %u but id2label has %u entries", name,
                    num_labels, c->labels.count);
    if (c->present & CONFIG_LABELS) {
        c->num_labels = c->labels.count;
        c->present |= CONFIG_NUM_LABELS;
    } else if (c->present & CONFIG_NUM_LABELS) {
        c->num_labels = num_labels;
    }
    return VKVIT_OK;
}

/* ---- timm ------------------------------------------------------------------------------------- */

/* What timm's VisionTransformer(...) receives for one architecture: a row of timm_archs.h, generated from timm by
 * tools/make_timm_fixtures.py. */
typedef struct timm_arch {
    const char *name;
    uint32_t embed_dim, depth, num_heads, patch_size, img_size, in_chans, num_classes;
    double mlp_ratio;
    double eps;               /* the LayerNorm's; 0: the norm is not a LayerNorm                   */
    bool qkv_bias, distilled, class_token;
    uint32_t reg_tokens;
    bool no_embed_class;
    const char *global_pool;
    double init_values;       /* LayerScale's initial value; 0 = None: no LayerScale               */
    bool pre_norm;
    int fc_norm;              /* -1 = None (a LayerNorm after pooling only for average pooling), 0, 1 */
    const char *act_layer;    /* "" = None: GELU                                                   */
    const char *other;        /* other arguments that make another model, as text; NULL if none     */
} timm_arch;

#include "timm_archs.h"

/* "vit_base_patch16_224.augreg_in21k" -> its row (a pretrained tag changes the weights and preprocessing, not the
 * arguments); NULL for a name timm does not register. */
static const timm_arch *timm_find(const char *architecture)
{
    size_t n = strcspn(architecture, ".");
    for (size_t i = 0; i < sizeof timm_archs / sizeof *timm_archs; i++)
        if (strlen(timm_archs[i].name) == n && strncmp(timm_archs[i].name, architecture, n) == 0)
            return &timm_archs[i];
    return NULL;
}

/* The model timm.create_model(architecture, **model_args) builds, as far as the config tells: the architecture's
 * arguments (VisionTransformer's defaults for a name timm does not register), model_args' over them, field by
 * field. The dimensions go straight into the vit_config; this holds the rest. */
typedef struct timm_model {
    timm_arch a;
    bool ratio;               /* a.mlp_ratio is known: a registered architecture's, or model_args'  */
    uint32_t args;            /* config_field bits model_args gave                                 */
    uint32_t top;             /* CONFIG_HIDDEN / CONFIG_NUM_LABELS: top-level num_features / num_classes */
    const char *norm_layer;   /* model_args.norm_layer when it is not a LayerNorm, for the message */
} timm_model;

/* A registered architecture gives every dimension, as timm's model function and its default pretrained tag do. */
static void timm_init(const timm_arch *row, vit_config *c, timm_model *t)
{
    memset(t, 0, sizeof *t);
    t->a = row ? *row : timm_init_defaults;
    if (!row)
        return; /* an unregistered name: model_args and the tensors' shapes decide */
    t->ratio = true;
    c->hidden = row->embed_dim;
    c->layers = row->depth;
    c->heads = row->num_heads;
    c->patch = row->patch_size;
    c->image = row->img_size;
    c->image_w = 0;
    c->channels = row->in_chans;
    c->num_labels = row->num_classes;
    c->eps = row->eps;
    c->qkv_bias = row->qkv_bias;
    c->distilled = row->distilled;
    c->present |= CONFIG_HIDDEN | CONFIG_LAYERS | CONFIG_HEADS | CONFIG_PATCH | CONFIG_IMAGE | CONFIG_CHANNELS |
                  CONFIG_NUM_LABELS | CONFIG_EPS | CONFIG_QKV_BIAS | CONFIG_DISTILLED | CONFIG_GELU;
}

/* model_args that change nothing vkvit computes (dropout, initialisation, sizes other than the built one,
 * create_model's own switches). */
static const char *const timm_ignored_args[] = {
    "dynamic_img_size", "drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate",
    "drop_path_rate", "weight_init", "fix_init", "pool_include_prefix", "out_indices", "pretrained_strict",
    "cache_dir", "scriptable", "exportable", "no_jit"};

/* model_args whose only value vkvit runs is VisionTransformer's default: false, true, "learn", or None (JSON null,
 * absent) for the layer classes. */
static const struct {
    const char *key;
    char kind;                /* 'f' false, 't' true, 's' the string `value`, 'n' null              */
    const char *value, *why;
} timm_fixed_args[] = {
    {"qk_norm", 'f', NULL, "normalised queries and keys"},
    {"scale_attn_norm", 'f', NULL, "a norm inside attention"},
    {"scale_mlp_norm", 'f', NULL, "a norm inside the MLP"},
    {"proj_bias", 't', NULL, "projections without bias"},
    {"final_norm", 't', NULL, "no final LayerNorm"},
    {"dynamic_img_pad", 'f', NULL, "padded inputs"},
    {"pos_embed", 's', "learn", "no learned position embedding"},
    {"features_only", 'f', NULL, "a feature extractor"},
    {"use_naflex", 'f', NULL, "NaFlexVit"},
    {"embed_layer", 'n', NULL, "another patch embedding"},
    {"embed_norm_layer", 'n', NULL, "a norm in the patch embedding"},
    {"block_fn", 'n', NULL, "another block"},
    {"mlp_layer", 'n', NULL, "another MLP"},
    {"attn_layer", 'n', NULL, "another attention"},
};

/* Every key model_args may hold: the ones read below, the fixed and the ignored ones. */
static bool timm_known_arg(const char *key)
{
    static const char *const read[] = {"embed_dim", "depth", "num_heads", "img_size", "patch_size", "in_chans",
        "num_classes", "mlp_ratio", "qkv_bias", "class_token", "reg_tokens", "no_embed_class", "global_pool",
        "init_values", "pre_norm", "fc_norm", "act_layer", "norm_layer",
        "representation_size" /* timm <= 0.5: the pre_logits layer */};
    for (size_t i = 0; i < sizeof read / sizeof *read; i++)
        if (!strcmp(key, read[i]))
            return true;
    for (size_t i = 0; i < sizeof timm_fixed_args / sizeof *timm_fixed_args; i++)
        if (!strcmp(key, timm_fixed_args[i].key))
            return true;
    for (size_t i = 0; i < sizeof timm_ignored_args / sizeof *timm_ignored_args; i++)
        if (!strcmp(key, timm_ignored_args[i]))
            return true;
    return false;
}

static vkvit_status timm_wrong(const char *name, const char *key, const cJSON *v, const char *expected)
{
    char buf[64];
    return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.%s is %s, not %s", name, key, json_describe(v, buf, sizeof buf),
                expected);
}

/* model_args' arguments that are not dimensions. JSON null is Python's None: the default where None means
 * something (init_values, fc_norm, act_layer, norm_layer), absent elsewhere. */
static vkvit_status timm_features(const char *name, const cJSON *args, timm_model *t)
{
    vkvit_status s;
    const cJSON *v;
    timm_arch *a = &t->a;
    if ((s = json_bool(name, args, "class_token", &a->class_token, NULL, 0)) ||
        (s = json_bool(name, args, "no_embed_class", &a->no_embed_class, NULL, 0)) ||
        (s = json_bool(name, args, "pre_norm", &a->pre_norm, NULL, 0)) ||
        (s = json_uint(name, args, "reg_tokens", false, &a->reg_tokens, NULL, 0)))
        return s;
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "global_pool")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v))
            return timm_wrong(name, "global_pool", v, "a string");
        a->global_pool = v->valuestring;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "init_values"))) {
        if (!cJSON_IsNull(v) && !(cJSON_IsNumber(v) && isfinite(v->valuedouble)))
            return timm_wrong(name, "init_values", v, "a number or null");
        a->init_values = cJSON_IsNull(v) ? 0 : v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "fc_norm"))) {
        if (!cJSON_IsNull(v) && !cJSON_IsBool(v))
            return timm_wrong(name, "fc_norm", v, "true, false or null");
        a->fc_norm = cJSON_IsNull(v) ? -1 : cJSON_IsTrue(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "act_layer"))) {
        if (!cJSON_IsNull(v) && !cJSON_IsString(v))
            return timm_wrong(name, "act_layer", v, "a string or null");
        a->act_layer = cJSON_IsNull(v) ? "" : v->valuestring;
        t->args |= CONFIG_GELU;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(args, "norm_layer"))) {
        if (!cJSON_IsNull(v) && !cJSON_IsString(v))
            return timm_wrong(name, "norm_layer", v, "a string or null");
        /* timm's get_norm_layer("layernorm") is its LayerNorm, whose eps defaults to VisionTransformer's */
        bool ln = cJSON_IsNull(v) || !strcmp(v->valuestring, "layernorm");
        a->eps = ln ? timm_init_defaults.eps : 0;
        t->norm_layer = ln ? NULL : v->valuestring;
        t->args |= CONFIG_EPS;
    }
    for (size_t i = 0; i < sizeof timm_fixed_args / sizeof *timm_fixed_args; i++) {
        char buf[64];
        if (!(v = cJSON_GetObjectItemCaseSensitive(args, timm_fixed_args[i].key)) || cJSON_IsNull(v))
            continue;
        char kind = timm_fixed_args[i].kind;
        if ((kind == 'f' && cJSON_IsFalse(v)) || (kind == 't' && cJSON_IsTrue(v)) ||
            (kind == 's' && cJSON_IsString(v) && !strcmp(v->valuestring, timm_fixed_args[i].value)))
            continue;
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: model_args.%s = %s is not supported (%s)", name,
                    timm_fixed_args[i].key, cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "true" : "false")
                    : json_describe(v, buf, sizeof buf), timm_fixed_args[i].why);
    }
    return VKVIT_OK;
}

/* model_args over the architecture's arguments. */
static vkvit_status timm_model_args(const char *name, const cJSON *args, vit_config *c, timm_model *t)
{
    vkvit_status s;
    if (!cJSON_IsObject(args))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args is not an object", name);
    for (const cJSON *e = args->child; e; e = e->next)
        if (!timm_known_arg(e->string))
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: model_args.%.60s is not an argument of timm's VisionTransformer "
                        "that vkvit knows", name, e->string);
    for (size_t i = 0; i < sizeof timm_args / sizeof timm_args[0]; i++)
        if ((s = timm_args[i].offset == offsetof(vit_config, image)
                     ? json_image(name, args, timm_args[i].key, c, &t->args)
                     : json_uint(name, args, timm_args[i].key, timm_args[i].square, field(c, timm_args[i].offset),
                                 &t->args, timm_args[i].bit)) != VKVIT_OK)
            return s;
    uint32_t ratio = 0;
    if ((s = json_number(name, args, "mlp_ratio", &t->a.mlp_ratio, &ratio, 1)) ||
        (s = json_bool(name, args, "qkv_bias", &c->qkv_bias, &t->args, CONFIG_QKV_BIAS)) ||
        (s = timm_features(name, args, t)))
        return s;
    t->ratio |= ratio != 0;
    c->present |= t->args;
    return VKVIT_OK;
}

/* act_layer lowercased, as timm's get_act_layer reads it. */
static const char *timm_act(const timm_arch *a, char act[32])
{
    size_t n = 0;
    for (; a->act_layer[n] && n + 1 < 32; n++) {
        char ch = a->act_layer[n];
        act[n] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    act[n] = '\0';
    return act;
}

static vkvit_status timm_refuse(const char *name, const vit_config *c, const char *why, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* "<file>: timm <architecture>: <argument> = <value> is not supported (<why>)" */
static vkvit_status timm_refuse(const char *name, const vit_config *c, const char *why, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail(VKVIT_ERROR_UNSUPPORTED, "%s: timm %s: %s is not supported (%s)", name,
                c->architecture[0] ? c->architecture : "model", what, why);
}

/* What vkvit does not run, named with its value: VKVIT_ERROR_UNSUPPORTED. */
static vkvit_status timm_check(const char *name, const vit_config *c, const timm_model *t)
{
    const timm_arch *a = &t->a;
    char act[32];
    timm_act(a, act);
    const bool map = !a->class_token && !strcmp(a->global_pool, "map"); /* SigLIP */
    if (!a->class_token && !map)
        return timm_refuse(name, c, "vkvit classifies from the class token", "class_token = false");
    if (strcmp(a->global_pool, "token") && !map)
        return timm_refuse(name, c, "pooling other than the class token", "global_pool = \"%.20s\"", a->global_pool);
    if (a->fc_norm == 1)
        return timm_refuse(name, c, "a LayerNorm after pooling", "fc_norm = true");
    /* before the activation: a SwiGLU MLP (DINOv2 giant) carries its own (SiLU) */
    if (a->other)
        return timm_refuse(name, c, "vkvit runs VisionTransformer's Block, Attention, Mlp and LayerNorm", "%s",
                           a->other);
    if (act[0] && strcmp(act, "gelu") && strcmp(act, "gelu_tanh") && strcmp(act, "quick_gelu"))
        return timm_refuse(name, c, "GELU only: gelu, gelu_tanh, quick_gelu", "act_layer = \"%s\"", act);
    if (a->patch_size && a->img_size % a->patch_size) /* vit_so400m_patch14_siglip_384: timm floors the grid */
        return timm_refuse(name, c, "whole patches only: timm leaves the last pixels out", "patch_size = %u with "
                           "img_size = %u", a->patch_size, a->img_size);
    if (a->eps == 0)
        return timm_refuse(name, c, "LayerNorm only", "norm_layer = %.30s",
                           t->norm_layer ? t->norm_layer : "(not a LayerNorm)");
    return VKVIT_OK;
}

static vkvit_status timm_label_names(const char *name, const cJSON *list, vit_config *c)
{
    vkvit_status s = VKVIT_OK;
    const char **str = NULL;
    size_t *len = NULL;
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 0 || n > CONFIG_MAX_LABELS)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: label_names is not a list of at most %d strings",
                    name, CONFIG_MAX_LABELS);
    if (n == 0)
        return VKVIT_OK;
    if (!(str = calloc((size_t)n, sizeof *str)) || !(len = calloc((size_t)n, sizeof *len))) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %d labels", name, n);
        goto fail;
    }
    int i = 0;
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) {
            s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: label_names[%d] is not a string", name, i);
            goto fail;
        }
        str[i] = e->valuestring;
        len[i] = strlen(e->valuestring);
    }
    if ((s = labels_make(name, (uint32_t)n, str, len, &c->labels)) != VKVIT_OK)
        goto fail;
    c->present |= CONFIG_LABELS;
fail:
    free(str);
    free(len);
    return s;
}

/* pretrained_cfg. Its input_size and num_classes replace the architecture's (timm builds from the config's
 * pretrained_cfg, not from its registry's), but not what model_args or the top-level num_classes gave (`given`):
 * timm's builder only fills the model arguments not passed (kwargs.setdefault). */
static vkvit_status timm_pretrained_cfg(const char *name, const cJSON *cfg, uint32_t given, vit_config *c)
{
    vkvit_status s;
    double crop = 0;
    if (!cJSON_IsObject(cfg))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg is not an object", name);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(cfg, "input_size");
    if (in) {
        const cJSON *ch = cJSON_IsArray(in) && cJSON_GetArraySize(in) == 3 ? in->child : NULL;
        if (!ch || !json_is_uint(ch) || !json_is_uint(ch->next) || !json_is_uint(ch->next->next))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.input_size is not [C, H, W]", name);
        if (!(given & CONFIG_CHANNELS))
            c->channels = (uint32_t)ch->valuedouble;
        if (!(given & CONFIG_IMAGE)) { /* [C, H, W] */
            const double h = ch->next->valuedouble, w = ch->next->next->valuedouble;
            if (h == 0 || w == 0)
                return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.input_size [%.0f, %.0f, %.0f]: a side of 0",
                            name, ch->valuedouble, h, w);
            c->image = (uint32_t)h;
            c->image_w = h == w ? 0 : (uint32_t)w;
        }
        c->present |= CONFIG_CHANNELS | CONFIG_IMAGE;
    }
    if (!(given & CONFIG_NUM_LABELS) &&
        (s = json_uint(name, cfg, "num_classes", false, &c->num_labels, &c->present, CONFIG_NUM_LABELS)) != VKVIT_OK)
        return s;
    if ((s = json_floats(name, cfg, "mean", c->mean, CONFIG_MAX_CHANNELS, &c->mean_count, &c->present, CONFIG_MEAN)) != VKVIT_OK ||
        (s = json_floats(name, cfg, "std", c->std, CONFIG_MAX_CHANNELS, &c->std_count, &c->present, CONFIG_STD)) != VKVIT_OK ||
        (s = json_number(name, cfg, "crop_pct", &crop, &c->present, CONFIG_CROP_PCT)) != VKVIT_OK ||
        (s = json_string(name, cfg, "interpolation", c->interpolation, sizeof c->interpolation, &c->present,
                         CONFIG_INTERPOLATION)) != VKVIT_OK)
        return s;
    c->crop_pct = (float)crop;
    return VKVIT_OK;
}

/* A timm CLIP image tower (vit_*_clip_* at an image-tower tag such as .openai, .laion2b, .metaclip_2pt5b): timm's
 * checkpoint_filter_fn (_convert_openai_clip) makes the tower's projection its head (head.weight = proj^T, a zero
 * bias), so model(x) is the CLIP image embedding, not logits. Told apart by timm's own metadata: a pre-norm
 * (CLIP) architecture with a class token, no label_names, and a pretrained_cfg whose tag is not a fine-tune's
 * (timm names those <data>_ft_<dataset>: openai_ft_in1k, laion2b_ft_in12k) and whose num_classes is the model's
 * (a head made anew by create_model(num_classes=...) differs from the tag's and stays a classifier). Marked
 * projection here, num_classes kept (what timm builds); checkpoint.c's pre_logits_config moves the head's
 * tensors into the projection's slots and makes num_classes its width. */
static void timm_clip_tower(const cJSON *root, vit_config *c)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "pretrained_cfg");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(cfg, "tag");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(cfg, "num_classes");
    if (!c->pre_norm || c->map || (c->present & CONFIG_LABELS) || !cJSON_IsString(tag) ||
        strstr(tag->valuestring, "_ft_") || !json_is_uint(classes) || !c->num_labels ||
        classes->valuedouble != c->num_labels)
        return;
    c->projection = true;
}

/* The top-level num_features / num_classes (what timm's writer records of the model it saved) must be the
 * model's. */
static vkvit_status timm_top_level(const char *name, const cJSON *root, timm_model *t, vit_config *c)
{
    vkvit_status s;
    uint32_t top = 0, hidden = 0, classes = 0;
    char buf[64];
    if ((s = json_uint(name, root, "num_features", false, &hidden, &top, CONFIG_HIDDEN)) ||
        (s = json_uint(name, root, "num_classes", false, &classes, &top, CONFIG_NUM_LABELS)))
        return s;
    /* timm <= 0.5 wrote a representation layer's width as num_features: then it says nothing of embed_dim. */
    if ((top & CONFIG_HIDDEN) && c->representation && hidden == c->representation)
        top &= ~(uint32_t)CONFIG_HIDDEN;
    if ((top & CONFIG_HIDDEN) && (c->present & CONFIG_HIDDEN) && c->hidden != hidden)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: num_features = %u contradicts embed_dim = %u (%s)", name, hidden,
                    c->hidden, (t->args & CONFIG_HIDDEN) ? "model_args" : c->architecture);
    if ((top & CONFIG_NUM_LABELS) && (t->args & CONFIG_NUM_LABELS) && c->num_labels != classes)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.num_classes = %u contradicts num_classes = %u", name,
                    c->num_labels, classes);
    if (top & CONFIG_HIDDEN)
        c->hidden = hidden;
    if ((top & CONFIG_NUM_LABELS) && !(t->args & CONFIG_NUM_LABELS))
        c->num_labels = classes;
    c->present |= top;
    t->top = top;
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(root, "global_pool");
    const char *want = c->map ? "map" : "token"; /* the model's own pooling: SigLIP's attention pool */
    if (pool && !cJSON_IsNull(pool) && !(cJSON_IsString(pool) && !strcmp(pool->valuestring, want)))
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: global_pool = %s is not supported (pooling other than the %s)",
                    name, json_describe(pool, buf, sizeof buf),
                    c->map ? "attention pool of a model without a class token" : "class token");
    return VKVIT_OK;
}

/* int(embed_dim * mlp_ratio), as timm's Block sizes its MLP. */
static vkvit_status timm_mlp(const char *name, const timm_model *t, vit_config *c)
{
    if (!t->ratio || !(c->present & CONFIG_HIDDEN))
        return VKVIT_OK; /* without them, the fc1 shape tells */
    double mlp = (double)c->hidden * t->a.mlp_ratio;
    if (!(mlp >= 1 && mlp < CONFIG_MAX_MLP + 1.0))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: mlp_ratio %g x embed_dim %u is not a valid MLP width (1..%d)", name,
                    t->a.mlp_ratio, c->hidden, CONFIG_MAX_MLP);
    c->mlp = (uint32_t)mlp;
    c->present |= CONFIG_MLP;
    return VKVIT_OK;
}

static vkvit_status parse_timm(const char *name, const cJSON *root, vit_config *c)
{
    vkvit_status s;
    timm_model t;
    c->format = CONFIG_FORMAT_TIMM;
    if ((s = json_string(name, root, "architecture", c->architecture, sizeof c->architecture, NULL, 0)) != VKVIT_OK)
        return s;
    timm_init(timm_find(c->architecture), c, &t);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "model_args");
    if (args && !cJSON_IsNull(args) && (s = timm_model_args(name, args, c, &t)))
        return s;
    c->map = !t.a.class_token; /* SigLIP: timm_check lets it through with global_pool 'map' only */
    if ((s = timm_check(name, c, &t)) || (s = timm_top_level(name, root, &t, c)))
        return s;
    /* LayerScale (init_values) needs nothing here: its ls1/ls2 gammas are folded where the checkpoint has them. */
    if (t.a.reg_tokens > CONFIG_MAX_REGISTERS)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: reg_tokens = %u (at most %d)", name, t.a.reg_tokens,
                    CONFIG_MAX_REGISTERS);
    c->registers = t.a.reg_tokens;
    if (timm_find(c->architecture) || (args && cJSON_GetObjectItemCaseSensitive(args, "reg_tokens")))
        c->present |= CONFIG_REGISTERS; /* else the tensors tell */
    c->pos_rows = t.a.no_embed_class ? VIT_POS_PATCHES : VIT_POS_PREFIX;
    c->layer_scale = t.a.init_values != 0 ? VIT_LS_ALL : VIT_LS_NONE;
    c->pre_norm = t.a.pre_norm; /* CLIP: norm_pre, a LayerNorm as the others (norm_layer) */
    if (t.args & CONFIG_EPS) {
        c->eps = t.a.eps;
        c->present |= CONFIG_EPS;
    }
    char act[32];
    if ((c->present | t.args) & CONFIG_GELU) {
        timm_act(&t.a, act);
        c->gelu = !strcmp(act, "gelu_tanh")    ? VIT_GELU_TANH
                  : !strcmp(act, "quick_gelu") ? VIT_GELU_QUICK
                                               : VIT_GELU_ERF;
        c->present |= CONFIG_GELU;
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "pretrained_cfg");
    if ((cfg && (s = timm_pretrained_cfg(name, cfg, t.args | (t.top & CONFIG_NUM_LABELS), c))) ||
        (s = timm_mlp(name, &t, c)))
        return s;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "label_names");
    if (labels && (s = timm_label_names(name, labels, c)) != VKVIT_OK)
        return s;
    if ((c->present & CONFIG_LABELS) && !(c->present & CONFIG_NUM_LABELS)) {
        c->num_labels = c->labels.count;
        c->present |= CONFIG_NUM_LABELS;
    }
    timm_clip_tower(root, c);
    return VKVIT_OK;
}

/* ---- entry points ----------------------------------------------------------------------------- */

void config_init(vit_config *c)
{
    memset(c, 0, sizeof *c);
    c->gelu = VIT_GELU_ERF;
    c->qkv_bias = true;
}

void config_free(vit_config *c)
{
    if (!c)
        return;
    labels_free(&c->labels);
    config_init(c);
}

/* HF unless the file only has timm keys (or is HF's wrapper around a timm model). */
static config_format detect(const cJSON *root)
{
    static const char *const hf_keys[] = {"architectures", "model_type", "hidden_size",
        "num_hidden_layers", "num_attention_heads", "intermediate_size", "id2label"};
    static const char *const timm_keys[] = {"architecture", "pretrained_cfg", "num_features",
        "label_names", "model_args"};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "timm_wrapper") == 0)
        return CONFIG_FORMAT_TIMM;
    for (size_t i = 0; i < sizeof hf_keys / sizeof hf_keys[0]; i++)
        if (cJSON_GetObjectItemCaseSensitive(root, hf_keys[i]))
            return CONFIG_FORMAT_HF;
    for (size_t i = 0; i < sizeof timm_keys / sizeof timm_keys[0]; i++)
        if (cJSON_GetObjectItemCaseSensitive(root, timm_keys[i]))
            return CONFIG_FORMAT_TIMM;
    return CONFIG_FORMAT_NONE;
}

vkvit_status config_parse(const char *json, size_t len, const char *name, vit_config *c)
{
    vkvit_status s = VKVIT_OK;
    char *text = NULL;
    cJSON *root = NULL;
    if (!c || (!json && len) || !name)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "config_parse: NULL argument");
    config_init(c);
    if (len > MAX_FILE_BYTES)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: larger than %u bytes", name, MAX_FILE_BYTES);
    /* cJSON gets a NUL-terminated copy: it never reads past a terminator. */
    if (!(text = malloc(len + 1)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", name);
    if (len)
        memcpy(text, json, len);
    text[len] = '\0';
    const char *end = NULL;
    if (!(root = cJSON_ParseWithLengthOpts(text, len, &end, 0))) {
        s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: not valid JSON (error near byte %zu)", name,
                 end ? (size_t)(end - text) : 0);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: JSON but not an object", name);
        goto fail;
    }
    switch (detect(root)) {
    case CONFIG_FORMAT_HF:
        s = parse_hf(name, root, c);
        break;
    case CONFIG_FORMAT_TIMM:
        s = parse_timm(name, root, c);
        break;
    default:
        s = fail(VKVIT_ERROR_BAD_CONFIG, "%s: neither a Hugging Face nor a timm model config "
                 "(no hidden_size, architectures, architecture, pretrained_cfg, ...)", name);
    }
fail:
    if (s != VKVIT_OK)
        config_free(c);
    cJSON_Delete(root);
    free(text);
    return s;
}

vkvit_status config_load(const char *path, vit_config *c)
{
    char *text = NULL;
    size_t len = 0;
    if (!c || !path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "config_load: NULL argument");
    config_init(c);
    vkvit_status s = read_file(path, &text, &len);
    if (s == VKVIT_OK)
        s = config_parse(text, len, path, c);
    free(text);
    return s;
}

void config_apply_defaults(vit_config *c)
{
    uint32_t absent = ~c->present; /* a file that says 0 keeps its 0, and fails validation */
    if ((absent & CONFIG_HEADS) && !c->heads && c->hidden >= 64 && c->hidden % 64 == 0)
        c->heads = c->hidden / 64;
    if ((absent & CONFIG_MLP) && !c->mlp && c->hidden <= CONFIG_MAX_MLP / 4)
        c->mlp = 4 * c->hidden;
    if ((absent & CONFIG_CHANNELS) && !c->channels)
        c->channels = 3;
    if ((absent & CONFIG_EPS) && c->eps == 0)
        c->eps = c->format == CONFIG_FORMAT_TIMM ? 1e-6 : 1e-12;
    if (c->hybrid && !c->resnet.groups)
        c->resnet.groups = 32;
    if (c->hybrid && c->resnet.gn_eps == 0)
        c->resnet.gn_eps = 1e-5;
}

uint32_t config_feature_side(const vit_config *c, uint32_t image)
{
    if (!c->hybrid)
        return image;
    uint32_t halvings = 2 + (c->resnet.stages > 1 ? c->resnet.stages - 1 : 0), side = image;
    for (uint32_t i = 0; i < halvings; i++)
        side = (side + 1) / 2;
    return side;
}

uint32_t config_feature_channels(const vit_config *c)
{
    if (!c->hybrid)
        return c->channels;
    return c->resnet.stages ? c->resnet.width[c->resnet.stages - 1] : c->resnet.root;
}

/* ---- validation ------------------------------------------------------------------------------- */

static const struct {
    size_t offset;
    uint32_t bit, max;
    const char *hf, *timm; /* the field as each format names it */
} dims[] = {
    {offsetof(vit_config, hidden), CONFIG_HIDDEN, CONFIG_MAX_HIDDEN, "hidden_size", "num_features"},
    {offsetof(vit_config, layers), CONFIG_LAYERS, CONFIG_MAX_LAYERS, "num_hidden_layers", "depth"},
    {offsetof(vit_config, heads), CONFIG_HEADS, CONFIG_MAX_HIDDEN, "num_attention_heads", "num_heads"},
    {offsetof(vit_config, mlp), CONFIG_MLP, CONFIG_MAX_MLP, "intermediate_size", "mlp width"},
    {offsetof(vit_config, image), CONFIG_IMAGE, CONFIG_MAX_IMAGE, "image_size", "input_size"},
    {offsetof(vit_config, patch), CONFIG_PATCH, CONFIG_MAX_IMAGE, "patch_size", "patch_size"},
    {offsetof(vit_config, channels), CONFIG_CHANNELS, CONFIG_MAX_CHANNELS, "num_channels", "in_chans"},
};

/* A hybrid's ResNet: within the caps, GroupNorm groups dividing every width, the patch dividing its output. */
static vkvit_status validate_resnet(const vit_config *c, const char *name)
{
    const vit_resnet *r = &c->resnet;
    if (r->stages > CONFIG_MAX_STAGES)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the ResNet has %u stages, more than %d", name, r->stages,
                    CONFIG_MAX_STAGES);
    if (!r->groups || r->groups > CONFIG_MAX_HIDDEN || !r->root || r->root > CONFIG_MAX_HIDDEN || r->root % r->groups)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the ResNet's root width %u and its %u GroupNorm groups: not both "
                    "in 1..%d with the groups dividing the width", name, r->root, r->groups, CONFIG_MAX_HIDDEN);
    for (uint32_t i = 0; i < r->stages; i++) {
        const uint32_t w[3] = {r->depth[i], r->mid[i], r->width[i]};
        const uint32_t cap[3] = {CONFIG_MAX_UNITS, CONFIG_MAX_HIDDEN, CONFIG_MAX_HIDDEN};
        for (int k = 0; k < 3; k++)
            if (!w[k] || w[k] > cap[k] || (k && w[k] % r->groups))
                return fail(VKVIT_ERROR_BAD_CONFIG, "%s: the ResNet's stage %u has %s %u: outside 1..%u%s", name,
                            i + 1, k == 0 ? "depth" : k == 1 ? "bottleneck width" : "width", w[k], cap[k],
                            k ? " or not a multiple of the GroupNorm groups" : "");
    }
    if (!(r->gn_eps > 0 && r->gn_eps < 1))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: GroupNorm eps %g is outside (0, 1)", name, r->gn_eps);
    const uint32_t side = config_feature_side(c, c->image);
    if (side % c->patch)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: patch_size = %u does not divide the ResNet's %ux%u output (image "
                    "%u)", name, c->patch, side, side, c->image);
    return VKVIT_OK;
}

vkvit_status config_validate(const vit_config *c, const char *name)
{
    bool timm = c->format == CONFIG_FORMAT_TIMM;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        uint32_t v = *(const uint32_t *)((const char *)c + dims[i].offset);
        const char *key = timm ? dims[i].timm : dims[i].hf;
        if (v == 0 && !(c->present & dims[i].bit))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s unknown (not in the config, not inferred)",
                        name, key);
        if (v == 0 || v > dims[i].max)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = %u is outside 1..%u", name, key, v,
                        dims[i].max);
    }
    const char *hidden = timm ? "num_features" : "hidden_size";
    if (c->hidden % c->heads)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = %u does not divide %s = %u", name,
                    timm ? "num_heads" : "num_attention_heads", c->heads, hidden, c->hidden);
    if (c->image_w > CONFIG_MAX_IMAGE)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = [%u, %u]: the width is outside 1..%u", name,
                    timm ? "input_size" : "image_size", c->image, c->image_w, CONFIG_MAX_IMAGE);
    if (c->hybrid && c->image_w)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: %s = [%u, %u]: a hybrid (ResNet stem) runs square images only",
                    name, timm ? "input_size" : "image_size", c->image, c->image_w);
    if (c->hybrid) {
        vkvit_status s = validate_resnet(c, name);
        if (s)
            return s;
    } else if (c->image % c->patch || config_image_w(c) % c->patch) {
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: patch_size = %u does not divide %s = %u", name, c->patch,
                    timm ? "input_size" : "image_size", c->image % c->patch ? c->image : config_image_w(c));
    }
    if (c->representation > CONFIG_MAX_HIDDEN)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = %u is above %d", name,
                    timm ? "representation_size" : "pooler_output_size", c->representation, CONFIG_MAX_HIDDEN);
    if (c->num_labels > CONFIG_MAX_LABELS)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s = %u is above %d", name,
                    timm ? "num_classes" : "num_labels", c->num_labels, CONFIG_MAX_LABELS);
    if ((c->present & CONFIG_LABELS) && c->labels.count != c->num_labels)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %u labels (%s) for %s = %u", name, c->labels.count,
                    timm ? "label_names" : "id2label", timm ? "num_classes" : "num_labels",
                    c->num_labels);
    if (!(c->eps > 0 && c->eps < 1))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: layer_norm_eps = %g is outside (0, 1)", name, c->eps);
    if ((c->present & CONFIG_MEAN) && c->mean_count != c->channels)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: mean has %u values for %u channels", name,
                    c->mean_count, c->channels);
    if ((c->present & CONFIG_STD) && c->std_count != c->channels)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: std has %u values for %u channels", name,
                    c->std_count, c->channels);
    for (uint32_t i = 0; (c->present & CONFIG_STD) && i < c->std_count; i++)
        if (!(c->std[i] > 0))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: std[%u] = %g is not positive", name, i,
                        (double)c->std[i]);
    if ((c->present & CONFIG_CROP_PCT) && !(c->crop_pct > 0 && c->crop_pct <= 1))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: crop_pct = %g is outside (0, 1]", name,
                    (double)c->crop_pct);
    return VKVIT_OK;
}
