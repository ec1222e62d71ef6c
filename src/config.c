/* ViT configuration from HF / timm config.json and labels.txt. See config.h. */
#include "config.h"

#include <errno.h>
#include <math.h>
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

static vkvit_status parse_hf(const char *name, const cJSON *root, vit_config *c)
{
    vkvit_status s;
    char act[32] = "";
    uint32_t found = 0;
    c->format = CONFIG_FORMAT_HF;
    for (size_t i = 0; i < sizeof hf_dims / sizeof hf_dims[0]; i++)
        if ((s = json_uint(name, root, hf_dims[i].key, hf_dims[i].square,
                          field(c, hf_dims[i].offset), &c->present, hf_dims[i].bit)) != VKVIT_OK)
            return s;
    if ((s = json_number(name, root, "layer_norm_eps", &c->eps, &c->present, CONFIG_EPS)) != VKVIT_OK ||
        (s = json_bool(name, root, "qkv_bias", &c->qkv_bias, &c->present, CONFIG_QKV_BIAS)) != VKVIT_OK ||
        (s = json_string(name, root, "model_type", c->model_type, sizeof c->model_type, NULL, 0)) != VKVIT_OK ||
        (s = json_string(name, root, "hidden_act", act, sizeof act, &found, 1)) != VKVIT_OK ||
        (s = json_string(name, root, "pooler_act", c->pooler_act, sizeof c->pooler_act, NULL, 0)) != VKVIT_OK)
        return s;
    if (found) {
        if (strcmp(act, "gelu") == 0 || strcmp(act, "gelu_python") == 0)
            c->gelu = VIT_GELU_ERF;
        else if (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0 ||
                 strcmp(act, "gelu_fast") == 0)
            c->gelu = VIT_GELU_TANH;
        else
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: hidden_act '%s' is an unsupported activation "
                        "(gelu, gelu_new, gelu_pytorch_tanh, gelu_fast are supported)", name, act);
        c->present |= CONFIG_GELU;
    }

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

static const struct {
    const char *word;
    uint32_t hidden, layers, heads; /* mlp = 4 x hidden */
} timm_sizes[] = {
    {"tiny", 192, 12, 3},  {"small", 384, 12, 6},  {"base", 768, 12, 12},
    {"large", 1024, 24, 16}, {"huge", 1280, 32, 16},
};

/* "deit_tiny_distilled_patch16_224.fb_in1k": size word, patchN, trailing image size, distilled. */
static void timm_name(vit_config *c)
{
    char buf[sizeof c->architecture];
    char *save = NULL;
    snprintf(buf, sizeof buf, "%s", c->architecture);
    buf[strcspn(buf, ".")] = '\0'; /* drop the pretrained tag */
    for (char *tok = strtok_r(buf, "_", &save); tok; tok = strtok_r(NULL, "_", &save)) {
        size_t digits = strspn(tok, "0123456789");
        for (size_t i = 0; i < sizeof timm_sizes / sizeof timm_sizes[0]; i++)
            if (strcmp(tok, timm_sizes[i].word) == 0) {
                c->hidden = timm_sizes[i].hidden;
                c->layers = timm_sizes[i].layers;
                c->heads = timm_sizes[i].heads;
                c->mlp = 4 * timm_sizes[i].hidden;
                c->present |= CONFIG_HIDDEN | CONFIG_LAYERS | CONFIG_HEADS | CONFIG_MLP;
            }
        if (strncmp(tok, "patch", 5) == 0 && tok[5] && strlen(tok + 5) <= 4 &&
            strspn(tok + 5, "0123456789") == strlen(tok + 5)) {
            c->patch = (uint32_t)atoi(tok + 5);
            c->present |= CONFIG_PATCH;
        } else if (digits && !tok[digits] && digits <= 4) {
            c->image = (uint32_t)atoi(tok);
            c->present |= CONFIG_IMAGE;
        } else if (strcmp(tok, "distilled") == 0) {
            c->distilled = true;
            c->present |= CONFIG_DISTILLED;
        }
    }
}

/* Model arguments that describe a different model than the one vkvit runs. */
static vkvit_status timm_unsupported(const char *name, const cJSON *obj)
{
    char buf[64];
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "global_pool")) &&
        !(cJSON_IsString(v) && strcmp(v->valuestring, "token") == 0))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: global_pool %s is unsupported (only \"token\")",
                    name, json_describe(v, buf, sizeof buf));
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "class_token")) && !cJSON_IsTrue(v))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.class_token %s is unsupported (vkvit "
                    "classifies from the class token)", name, cJSON_IsFalse(v) ? "false" : json_describe(v, buf, sizeof buf));
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "reg_tokens")) &&
        !(cJSON_IsNumber(v) && v->valuedouble == 0))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: reg_tokens %s is unsupported", name,
                    json_describe(v, buf, sizeof buf));
    static const char *const must_be_false[] = {"no_embed_class", "fc_norm"};
    for (int i = 0; i < 2; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(obj, must_be_false[i])) && cJSON_IsTrue(v))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: %s true is unsupported", name, must_be_false[i]);
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

static vkvit_status timm_pretrained_cfg(const char *name, const cJSON *cfg, const cJSON *args, vit_config *c)
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
        if (ch->next->valuedouble != ch->next->next->valuedouble)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.input_size [%.0f, %.0f, %.0f]: "
                        "only square images are supported", name, ch->valuedouble,
                        ch->next->valuedouble, ch->next->next->valuedouble);
        /* model_args.img_size / in_chans (parsed before) and input_size say the same thing twice:
         * a file where they differ is contradictory, not a choice. */
        if (cJSON_GetObjectItemCaseSensitive(args, "img_size") && c->image != (uint32_t)ch->next->valuedouble)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.input_size [%.0f, %.0f, %.0f] contradicts "
                        "model_args.img_size = %u", name, ch->valuedouble, ch->next->valuedouble,
                        ch->next->next->valuedouble, c->image);
        if (cJSON_GetObjectItemCaseSensitive(args, "in_chans") && c->channels != (uint32_t)ch->valuedouble)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.input_size [%.0f, %.0f, %.0f] contradicts "
                        "model_args.in_chans = %u", name, ch->valuedouble, ch->next->valuedouble,
                        ch->next->next->valuedouble, c->channels);
        c->channels = (uint32_t)ch->valuedouble;
        c->image = (uint32_t)ch->next->valuedouble;
        c->present |= CONFIG_CHANNELS | CONFIG_IMAGE;
    }
    if (!(c->present & CONFIG_NUM_LABELS) &&
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

static vkvit_status parse_timm(const char *name, const cJSON *root, vit_config *c)
{
    vkvit_status s;
    char buf[64];
    c->format = CONFIG_FORMAT_TIMM;
    if ((s = json_string(name, root, "architecture", c->architecture, sizeof c->architecture, NULL, 0)) != VKVIT_OK)
        return s;
    timm_name(c);
    if ((s = timm_unsupported(name, root)) != VKVIT_OK ||
        (s = json_uint(name, root, "num_features", false, &c->hidden, &c->present, CONFIG_HIDDEN)) != VKVIT_OK ||
        (s = json_uint(name, root, "num_classes", false, &c->num_labels, &c->present, CONFIG_NUM_LABELS)) != VKVIT_OK)
        return s;

    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "model_args");
    if (args) {
        if (!cJSON_IsObject(args))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args is not an object", name);
        if ((s = timm_unsupported(name, args)) != VKVIT_OK)
            return s;
        /* num_features / num_classes at the top and model_args' embed_dim / num_classes say the
         * same thing twice: a file where they differ is contradictory, not a choice. */
        uint32_t top_hidden = (c->present & CONFIG_HIDDEN) ? c->hidden : 0;
        uint32_t top_classes = (c->present & CONFIG_NUM_LABELS) ? c->num_labels : UINT32_MAX;
        for (size_t i = 0; i < sizeof timm_args / sizeof timm_args[0]; i++)
            if ((s = json_uint(name, args, timm_args[i].key, timm_args[i].square,
                              field(c, timm_args[i].offset), &c->present, timm_args[i].bit)) != VKVIT_OK)
                return s;
        /* timm models with a representation layer (timm <= 0.5) report its width as num_features, which
         * then says nothing about embed_dim (the tensors tell, if model_args does not). */
        const bool nf_is_rep = c->representation && top_hidden == c->representation;
        if (nf_is_rep && !cJSON_GetObjectItemCaseSensitive(args, "embed_dim"))
            c->present &= ~(uint32_t)CONFIG_HIDDEN;
        if (top_hidden && c->hidden != top_hidden && !nf_is_rep)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.embed_dim = %u contradicts num_features = %u", name,
                        c->hidden, top_hidden);
        if (top_classes != UINT32_MAX && c->num_labels != top_classes)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.num_classes = %u contradicts num_classes = %u",
                        name, c->num_labels, top_classes);
        if ((s = json_bool(name, args, "qkv_bias", &c->qkv_bias, &c->present, CONFIG_QKV_BIAS)) != VKVIT_OK)
            return s;
        const cJSON *ratio = cJSON_GetObjectItemCaseSensitive(args, "mlp_ratio");
        if (ratio && c->hidden) { /* without the width, the fc1 shape will tell */
            double mlp = cJSON_IsNumber(ratio) ? ratio->valuedouble * c->hidden : -1;
            if (!(mlp > 0 && mlp <= CONFIG_MAX_MLP) || mlp != floor(mlp))
                return fail(VKVIT_ERROR_BAD_CONFIG, "%s: model_args.mlp_ratio %s x embed_dim %u is not "
                            "a valid MLP width", name, json_describe(ratio, buf, sizeof buf), c->hidden);
            c->mlp = (uint32_t)mlp;
            c->present |= CONFIG_MLP;
        }
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "pretrained_cfg");
    if (cfg && (s = timm_pretrained_cfg(name, cfg, args, c)) != VKVIT_OK)
        return s;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "label_names");
    if (labels && (s = timm_label_names(name, labels, c)) != VKVIT_OK)
        return s;
    if ((c->present & CONFIG_LABELS) && !(c->present & CONFIG_NUM_LABELS)) {
        c->num_labels = c->labels.count;
        c->present |= CONFIG_NUM_LABELS;
    }
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
    if (c->image % c->patch)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: patch_size = %u does not divide %s = %u", name,
                    c->patch, timm ? "input_size" : "image_size", c->image);
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
