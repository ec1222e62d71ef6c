/* Model configuration: the real HF and timm configs, the committed fixtures, defaults, timm's
 * architecture + model_args merging (and every config of tests/data/timm-configs.json against the model
 * timm builds from it), labels files, and a table of malformed, inconsistent or unsupported configs,
 * each with its status and a message naming the field. No GPU. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "layout.h"
#include "status.h"


/* JSON written with ' for ". Returns a malloc'd copy with ". */
static char *quote(const char *text)
{
    char *t = strdup(text);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

static vkvit_status parse_text(const char *text, vit_config *c)
{
    char *t = quote(text);
    vkvit_status s = config_parse(t, strlen(t), "config.json", c);
    free(t);
    return s;
}

/* ---- the real DeiT-Tiny configs --------------------------------------------------------------- */

static void test_real(void)
{
    char model[600], path[700];
    struct stat st;
    snprintf(model, sizeof model, "%s../shared/models/deit-tiny-imagenet", VKVIT_SOURCE_ROOT "/");
    if (stat(model, &st) != 0) {
        printf("note: %s not found: the real DeiT-Tiny checks are skipped (CI has it)\n", model);
        return;
    }
    vit_config c;
    snprintf(path, sizeof path, "%s/config.json", model);
    vkvit_status s = config_load(path, &c);
    test_expect(s == VKVIT_OK, "HF DeiT-Tiny config.json parses (%s)", s ? vkvit_last_error() : "");
    test_expect(c.format == CONFIG_FORMAT_HF && c.hidden == 192 && c.layers == 12 && c.heads == 3 &&
                    c.mlp == 768 && c.image == 224 && c.patch == 16 && c.channels == 3 && c.eps == 1e-6 &&
                    c.gelu == VIT_GELU_ERF && c.qkv_bias && !c.distilled && c.num_labels == 1000,
                "HF: D=192 L=12 H=3 mlp=768 224/16 3ch eps=1e-6 erf qkv_bias, 1000 labels");
    test_expect(strcmp(c.architecture, "ViTForImageClassification") == 0 && strcmp(c.model_type, "vit") == 0,
                "HF: architecture '%s', model_type '%s'", c.architecture, c.model_type);
    test_expect(c.labels.count == 1000 && strcmp(c.labels.names[0], "tench, Tinca tinca") == 0 &&
                    strcmp(c.labels.names[999], "toilet tissue, toilet paper, bathroom tissue") == 0,
                "HF: id2label in index order");
    uint32_t hf_fields = CONFIG_HIDDEN | CONFIG_LAYERS | CONFIG_HEADS | CONFIG_MLP | CONFIG_IMAGE |
                         CONFIG_PATCH | CONFIG_CHANNELS | CONFIG_EPS | CONFIG_GELU | CONFIG_QKV_BIAS |
                         CONFIG_NUM_LABELS | CONFIG_LABELS;
    test_expect(c.present == hf_fields, "HF: present = 0x%x (want 0x%x)", c.present, hf_fields);
    config_apply_defaults(&c);
    s = config_validate(&c, path);
    test_expect(s == VKVIT_OK, "HF: validates (%s)", s ? vkvit_last_error() : "");
    config_free(&c);

    snprintf(path, sizeof path, "%s/timm/config.json", model);
    s = config_load(path, &c);
    test_expect(s == VKVIT_OK, "timm DeiT-Tiny config.json parses (%s)", s ? vkvit_last_error() : "");
    test_expect(c.format == CONFIG_FORMAT_TIMM && c.hidden == 192 && c.layers == 12 && c.heads == 3 &&
                    c.mlp == 768 && c.image == 224 && c.patch == 16 && c.channels == 3 &&
                    c.num_labels == 1000 && !c.distilled && strcmp(c.architecture, "deit_tiny_patch16_224") == 0,
                "timm: the architecture name gives D=192 L=12 H=3 mlp=768 224/16; 1000 classes");
    test_expect(c.labels.count == 1000 && strcmp(c.labels.names[0], "tench") == 0 &&
                    strcmp(c.labels.names[999], "toilet tissue") == 0, "timm: label_names");
    test_expect(c.mean_count == 3 && c.mean[0] == 0.485f && c.mean[2] == 0.406f && c.std_count == 3 &&
                    c.std[1] == 0.224f && c.crop_pct == 0.875f && strcmp(c.interpolation, "bicubic") == 0 &&
                    (c.present & (CONFIG_MEAN | CONFIG_STD | CONFIG_CROP_PCT | CONFIG_INTERPOLATION)) ==
                        (CONFIG_MEAN | CONFIG_STD | CONFIG_CROP_PCT | CONFIG_INTERPOLATION),
                "timm: pretrained_cfg mean/std/crop_pct/interpolation");
    const uint32_t arch_fields = CONFIG_EPS | CONFIG_GELU | CONFIG_QKV_BIAS;
    test_expect((c.present & arch_fields) == arch_fields && c.eps == 1e-6 && c.gelu == VIT_GELU_ERF && c.qkv_bias,
                "timm: the architecture gives eps 1e-6, erf GELU, qkv_bias");
    s = config_validate(&c, path);
    test_expect(s == VKVIT_OK, "timm: validates (%s)", s ? vkvit_last_error() : "");
    config_free(&c);

    vit_labels l;
    snprintf(path, sizeof path, "%s/labels.txt", model);
    s = labels_load(path, &l);
    test_expect(s == VKVIT_OK && l.count == 1000 && strcmp(l.names[0], "tench") == 0 &&
                    strcmp(l.names[999], "toilet tissue") == 0, "labels.txt: 1000 labels (%s)",
                s ? vkvit_last_error() : "");
    labels_free(&l);
}

/* Every committed fixture's config parses and validates as it stands. */
static void test_fixtures(void)
{
    static const struct {
        const char *dir;
        config_format format;
        uint32_t hidden, layers, heads, mlp, image, patch, labels;
        vit_gelu gelu;
        bool distilled;
    } fx[] = {
        {"hf-vit", CONFIG_FORMAT_HF, 64, 3, 4, 256, 32, 8, 10, VIT_GELU_ERF, false},
        {"hf-deit-distilled", CONFIG_FORMAT_HF, 64, 0, 0, 0, 32, 0, 10, VIT_GELU_ERF, true},
        {"timm-vit", CONFIG_FORMAT_TIMM, 64, 2, 4, 128, 32, 4, 10, VIT_GELU_ERF, false},
        {"backbone", CONFIG_FORMAT_TIMM, 64, 2, 1, 128, 32, 8, 0, VIT_GELU_ERF, false},
        {"gelu-tanh", CONFIG_FORMAT_HF, 32, 0, 2, 128, 32, 0, 5, VIT_GELU_TANH, false},
        {"odd-tokens", CONFIG_FORMAT_HF, 48, 2, 3, 96, 36, 6, 7, VIT_GELU_ERF, false},
        {"dh32", CONFIG_FORMAT_HF, 64, 2, 2, 128, 32, 8, 10, VIT_GELU_ERF, false},
        {"f16", CONFIG_FORMAT_HF, 64, 2, 4, 128, 32, 8, 10, VIT_GELU_ERF, false},
        {"bf16", CONFIG_FORMAT_HF, 64, 2, 4, 128, 32, 8, 10, VIT_GELU_ERF, false},
        {"timm-prelogits", CONFIG_FORMAT_TIMM, 48, 2, 3, 96, 32, 8, 7, VIT_GELU_ERF, false},
        /* HF backbones: placeholder labels (the loader drops them: no classifier); DeiTModel is not the
         * distilled classifier by name (the tensors say so) */
        {"hf-pooler", CONFIG_FORMAT_HF, 64, 2, 4, 128, 32, 8, 2, VIT_GELU_ERF, false},
        {"hf-deit-pooler", CONFIG_FORMAT_HF, 48, 2, 3, 96, 24, 8, 2, VIT_GELU_ERF, false},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char path[700];
        vit_config c;
        snprintf(path, sizeof path, "%stests/data/%s/config.json", VKVIT_SOURCE_ROOT "/", fx[i].dir);
        vkvit_status s = config_load(path, &c);
        if (s == VKVIT_OK) {
            config_apply_defaults(&c);
            s = config_validate(&c, path);
        }
        /* 0 in the table: not checked */
        bool ok = s == VKVIT_OK && c.format == fx[i].format && c.hidden == fx[i].hidden &&
                  (!fx[i].layers || c.layers == fx[i].layers) && (!fx[i].heads || c.heads == fx[i].heads) &&
                  (!fx[i].mlp || c.mlp == fx[i].mlp) && c.image == fx[i].image &&
                  (!fx[i].patch || c.patch == fx[i].patch) && c.num_labels == fx[i].labels &&
                  c.labels.count == fx[i].labels && c.gelu == fx[i].gelu && c.distilled == fx[i].distilled;
        test_expect(ok, "fixture %s: D=%u L=%u H=%u mlp=%u %u/%u labels=%u gelu=%d distilled=%d (%s)", fx[i].dir,
                    c.hidden, c.layers, c.heads, c.mlp, c.image, c.patch, c.num_labels, (int)c.gelu,
                    (int)c.distilled, s ? vkvit_last_error() : "");
        config_free(&c);
    }
}

/* The pre-logits layer's width: HF pooler_output_size (+ pooler_act), timm model_args.representation_size,
 * whose width timm <= 0.5 also wrote as num_features. */
static void test_pre_logits(void)
{
    vit_config c;
    vkvit_status s = parse_text("{'hidden_size': 64, 'pooler_output_size': 56, 'pooler_act': 'tanh'}", &c);
    test_expect(s == VKVIT_OK && c.representation == 56 && (c.present & CONFIG_REPRESENTATION) &&
                    strcmp(c.pooler_act, "tanh") == 0, "HF pooler_output_size 56, pooler_act tanh");
    config_free(&c);
    s = parse_text("{'hidden_size': 64}", &c);
    test_expect(s == VKVIT_OK && c.representation == 0 && !(c.present & CONFIG_REPRESENTATION) && !c.pooler_act[0],
                "HF without a pooler size: none present");
    config_free(&c);
    s = parse_text("{'architecture': 'vit_fixture', 'num_features': 40, "
                   "'model_args': {'embed_dim': 48, 'representation_size': 40}}", &c);
    test_expect(s == VKVIT_OK && c.hidden == 48 && (c.present & CONFIG_HIDDEN) && c.representation == 40,
                "timm: num_features = representation_size 40, embed_dim 48 (D=%u R=%u: %s)", c.hidden,
                c.representation, s ? vkvit_last_error() : "ok");
    config_free(&c);
    s = parse_text("{'architecture': 'vit_base_patch16_224_in21k', 'num_features': 768, "
                   "'model_args': {'representation_size': 768}}", &c);
    test_expect(s == VKVIT_OK && c.hidden == 768 && c.representation == 768 && c.layers == 12,
                "timm: num_features = representation_size = the architecture's embed_dim 768 (%s)",
                s ? vkvit_last_error() : "ok");
    config_free(&c);
}

/* ---- defaults, the loader's path ---------------------------------------------------------------- */

static void test_defaults(void)
{
    /* An HF config with only the width: the loader fills the rest from shapes, defaults the others. */
    vit_config c;
    vkvit_status s = parse_text("{'hidden_size': 128, 'model_type': 'vit'}", &c);
    test_expect(s == VKVIT_OK && c.present == CONFIG_HIDDEN && c.format == CONFIG_FORMAT_HF,
                "minimal HF config: only hidden_size present");
    config_apply_defaults(&c);
    test_expect(c.heads == 2 && c.mlp == 512 && c.channels == 3 && c.eps == 1e-12 && c.qkv_bias &&
                    c.gelu == VIT_GELU_ERF, "HF defaults: heads = 128/64, mlp 4D, 3 channels, eps 1e-12");
    test_expect_status("minimal HF config, nothing inferred", config_validate(&c, "config.json"),
                       VKVIT_ERROR_BAD_CONFIG,
                       "config.json: num_hidden_layers unknown (not in the config, not inferred)");
    c.layers = 4, c.image = 64, c.patch = 16; /* as the loader would from tensor shapes */
    s = config_validate(&c, "config.json");
    test_expect(s == VKVIT_OK, "minimal HF config + inferred fields validates (%s)", s ? vkvit_last_error() : "");
    config_free(&c);

    /* No config at all. */
    config_init(&c);
    c.hidden = 96, c.layers = 2, c.image = 32, c.patch = 8, c.num_labels = 0;
    config_apply_defaults(&c);
    test_expect_status("no config, hidden 96: heads cannot default", config_validate(&c, "model"),
                       VKVIT_ERROR_BAD_CONFIG, "model: num_attention_heads unknown");
    c.heads = 3;
    s = config_validate(&c, "model");
    test_expect(s == VKVIT_OK && c.eps == 1e-12 && c.mlp == 384, "no config: defaults and validation (%s)",
                s ? vkvit_last_error() : "");
    config_free(&c);
    config_free(NULL);

    static const struct {
        const char *act;
        vit_gelu gelu;
    } acts[] = {{"gelu", VIT_GELU_ERF}, {"gelu_new", VIT_GELU_TANH}, {"gelu_pytorch_tanh", VIT_GELU_TANH},
                {"gelu_fast", VIT_GELU_TANH}, {"quick_gelu", VIT_GELU_QUICK}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char json[100];
        snprintf(json, sizeof json, "{'hidden_size': 64, 'hidden_act': '%s'}", acts[i].act);
        s = parse_text(json, &c);
        test_expect(s == VKVIT_OK && c.gelu == acts[i].gelu && (c.present & CONFIG_GELU), "hidden_act %s",
                    acts[i].act);
        config_free(&c);
    }
    s = parse_text("{'hidden_size': 64, 'image_size': [48, 48], 'patch_size': [8, 8], 'qkv_bias': false}", &c);
    test_expect(s == VKVIT_OK && c.image == 48 && c.patch == 8 && !c.qkv_bias, "square [h, w] sizes, qkv_bias false");
    config_free(&c);
    s = parse_text("{'hidden_size': 64, 'image_size': [48, 40], 'patch_size': 8}", &c);
    test_expect(s == VKVIT_OK && c.image == 48 && c.image_w == 40 && config_image_w(&c) == 40,
                "HF image_size [48, 40]: height 48, width 40 (got %u x %u)", c.image, config_image_w(&c));
    config_free(&c);
}

/* Non-square sizes from each source timm merges, the last one winning; a non-square hybrid is refused. */
static void test_nonsquare(void)
{
    static const struct {
        const char *json;
        uint32_t h, w;
    } cases[] = {
        {"{'architecture': 'vit_tiny_patch16_224', 'model_args': {'img_size': [48, 80]}}", 48, 80},
        {"{'architecture': 'vit_tiny_patch16_224', 'pretrained_cfg': {'input_size': [3, 64, 32]}}", 64, 32},
        {"{'architecture': 'vit_tiny_patch16_224', 'model_args': {'img_size': 64}, "
         "'pretrained_cfg': {'input_size': [3, 64, 32]}}", 64, 64},
        {"{'architecture': 'vit_tiny_patch16_224', 'model_args': {'img_size': [32, 48]}, "
         "'pretrained_cfg': {'input_size': [3, 64, 64]}}", 32, 48},
        {"{'architecture': 'vit_tiny_patch16_224', 'model_args': {'img_size': [48, 48]}}", 48, 48},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vit_config c;
        vkvit_status s = parse_text(cases[i].json, &c);
        if (!s) {
            config_apply_defaults(&c);
            s = config_validate(&c, "config.json");
        }
        test_expect(s == VKVIT_OK && c.image == cases[i].h && config_image_w(&c) == cases[i].w &&
                        (c.image_w != 0) == (cases[i].h != cases[i].w),
                    "%s: %u x %u (want %u x %u): %s", cases[i].json, c.image, config_image_w(&c), cases[i].h,
                    cases[i].w, vkvit_last_error());
        config_free(&c);
    }
    vit_config c;
    config_init(&c);
    c.hidden = 64, c.layers = 1, c.heads = 1, c.mlp = 64, c.image = 64, c.image_w = 32, c.patch = 1, c.channels = 3;
    c.hybrid = true, c.resnet = (vit_resnet){.stages = 1, .root = 32, .depth = {1}, .mid = {32}, .width = {64},
                                             .groups = 32, .gn_eps = 1e-5};
    config_apply_defaults(&c);
    vkvit_status s = config_validate(&c, "config.json");
    test_expect(s == VKVIT_ERROR_UNSUPPORTED && strstr(vkvit_last_error(), "[64, 32]: a hybrid (ResNet stem) runs "
                                                       "square images only"),
                "a non-square hybrid: %s \"%s\"", vkvit_status_string(s), vkvit_last_error());
    config_free(&c);
}

/* ---- timm: the architecture's arguments, model_args over them --------------------------------- */

static void test_timm_merge(void)
{
    /* The case: vit_small's MLP width follows the new embed_dim (mlp_ratio 4 x 64), not vit_small's 1536. */
    vit_config c;
    vkvit_status s = parse_text("{'architecture': 'vit_small_patch16_224', 'model_args': {'embed_dim': 64, "
                                "'num_heads': 4}}", &c);
    test_expect(s == VKVIT_OK && c.hidden == 64 && c.heads == 4 && c.mlp == 256 && c.layers == 12 && c.patch == 16 &&
                    c.image == 224 && c.num_labels == 1000, "vit_small + embed_dim 64, 4 heads: D=%u H=%u mlp=%u L=%u "
                "%u/%u K=%u (%s)", c.hidden, c.heads, c.mlp, c.layers, c.image, c.patch, c.num_labels,
                s ? vkvit_last_error() : "");
    config_free(&c);
    /* model_args.img_size wins over pretrained_cfg.input_size, which wins over the architecture's (timm's builder
     * passes the config's pretrained_cfg and fills only the arguments not given). */
    s = parse_text("{'architecture': 'vit_tiny_patch16_224', 'model_args': {'img_size': 32, 'patch_size': 8}, "
                   "'pretrained_cfg': {'input_size': [3, 224, 224], 'num_classes': 1000}}", &c);
    test_expect(s == VKVIT_OK && c.image == 32 && c.patch == 8 && c.channels == 3, "model_args.img_size 32 over "
                "input_size 224: %u/%u (%s)", c.image, c.patch, s ? vkvit_last_error() : "");
    config_free(&c);
    s = parse_text("{'architecture': 'vit_tiny_patch16_384', 'pretrained_cfg': {'input_size': [1, 192, 192]}}", &c);
    test_expect(s == VKVIT_OK && c.image == 192 && c.channels == 1, "pretrained_cfg.input_size over the "
                "architecture's 384: %u, %u channels (%s)", c.image, c.channels, s ? vkvit_last_error() : "");
    config_free(&c);
    /* An unregistered name: only what model_args say; the tensors tell the rest. */
    s = parse_text("{'architecture': 'my_vit_patch4_32', 'model_args': {'embed_dim': 48, 'mlp_ratio': 2.5}}", &c);
    test_expect(s == VKVIT_OK && c.present == (CONFIG_HIDDEN | CONFIG_MLP) && c.hidden == 48 && c.mlp == 120,
                "unregistered architecture: present 0x%x D=%u mlp=%u (%s)", c.present, c.hidden, c.mlp,
                s ? vkvit_last_error() : "");
    config_free(&c);
    /* JSON null is None: DeiT III without LayerScale, its position embedding with the class token's row. */
    s = parse_text("{'architecture': 'deit3_small_patch16_224', 'model_args': {'init_values': null, "
                   "'no_embed_class': false}}", &c);
    test_expect(s == VKVIT_OK && c.hidden == 384, "deit3 + init_values None + no_embed_class false runs (%s)",
                s ? vkvit_last_error() : "");
    config_free(&c);
}

/* Every case of tests/data/timm-configs.json (tools/make_timm_fixtures.py): a config.json as timm writes it and the
 * dimensions of the model timm.create_model builds from it, or the arguments that make it a model vkvit does not
 * run, or timm's refusal. */
static void test_timm_generated(void)
{
    char path[700];
    snprintf(path, sizeof path, "%stests/data/timm-configs.json", VKVIT_SOURCE_ROOT "/");
    FILE *f = fopen(path, "rb");
    if (!test_expect(f != NULL, "%s opens", path))
        return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    cJSON *doc = got == (size_t)n ? cJSON_ParseWithLength(text, got) : NULL;
    free(text);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    if (!test_expect(cJSON_IsArray(cases) && cJSON_GetArraySize(cases) > 200, "%s: a list of cases", path)) {
        cJSON_Delete(doc);
        return;
    }
    int runs = 0, refused = 0, timm_refused = 0, failed = 0;
    for (const cJSON *k = cases->child; k; k = k->next) {
        const char *what = cJSON_GetObjectItemCaseSensitive(k, "what")->valuestring;
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(k, "config"));
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(k, "expect");
        const cJSON *unsup = cJSON_GetObjectItemCaseSensitive(k, "unsupported");
        vit_config c;
        clear_error();
        vkvit_status s = config_parse(json, strlen(json), "config.json", &c);
        if (s == VKVIT_OK) {
            config_apply_defaults(&c);
            s = config_validate(&c, "config.json");
        }
        bool ok;
        if (expect) {
#define GET(key) ((uint32_t)cJSON_GetObjectItemCaseSensitive(expect, key)->valuedouble)
            const cJSON *gelu = cJSON_GetObjectItemCaseSensitive(expect, "gelu");
            const vit_gelu want_gelu = !strcmp(gelu->valuestring, "tanh")    ? VIT_GELU_TANH
                                       : !strcmp(gelu->valuestring, "quick") ? VIT_GELU_QUICK
                                                                             : VIT_GELU_ERF;
            vit_dims d = vit_dims_of(&c);
            ok = s == VKVIT_OK && c.hidden == GET("hidden") && c.layers == GET("layers") && c.heads == GET("heads") &&
                 c.mlp == GET("mlp") && c.image == GET("image") && c.patch == GET("patch") &&
                 c.channels == GET("channels") && c.num_labels == GET("classes") && d.T == GET("tokens") &&
                 c.distilled == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "distilled")) &&
                 c.qkv_bias == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "qkv_bias")) &&
                 c.eps == cJSON_GetObjectItemCaseSensitive(expect, "eps")->valuedouble &&
                 c.gelu == want_gelu &&
                 c.pre_norm == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "pre_norm"));
            ok = test_expect(ok, "%s: D=%u L=%u H=%u mlp=%u %u/%u C=%u K=%u T=%u distilled=%d qkv_bias=%d "
                             "eps=%g gelu=%d pre_norm=%d as timm builds it (%s)",
                             what, c.hidden, c.layers, c.heads, c.mlp,
                             c.image, c.patch, c.channels, c.num_labels, d.T, (int)c.distilled, (int)c.qkv_bias, c.eps,
                             (int)c.gelu, (int)c.pre_norm, s ? vkvit_last_error() : "ok");
            runs++;
#undef GET
        } else if (unsup) {
            bool named = false; /* the message names one of the arguments timm's model has that vkvit does not run */
            for (const cJSON *u = unsup->child; u; u = u->next)
                named |= strstr(vkvit_last_error(), u->valuestring) != NULL;
            ok = test_expect(s == VKVIT_ERROR_UNSUPPORTED && named, "%s: refused, naming %s (%s \"%s\")", what,
                             unsup->child->valuestring, vkvit_status_string(s), vkvit_last_error());
            refused++;
        } else {
            ok = test_expect(s != VKVIT_OK, "%s: timm refuses it (%s), so does vkvit (%s \"%s\")", what,
                             cJSON_GetObjectItemCaseSensitive(k, "timm_error")->valuestring, vkvit_status_string(s),
                             vkvit_last_error());
            timm_refused++;
        }
        failed += !ok;
        config_free(&c);
        cJSON_free(json);
    }
    printf("timm-configs.json: %d models vkvit runs, %d it refuses, %d timm refuses; %d failed\n", runs, refused,
           timm_refused, failed);
    cJSON_Delete(doc);
}

/* ---- the bad-input table ---------------------------------------------------------------------- */

enum base { RAW, HF, TIMM };

static const char *const base_json[] = {
    [HF] = "{'architectures': ['ViTForImageClassification'], 'model_type': 'vit', 'hidden_size': 192, "
           "'num_hidden_layers': 12, 'num_attention_heads': 3, 'intermediate_size': 768, 'image_size': 224, "
           "'patch_size': 16, 'num_channels': 3, 'layer_norm_eps': 1e-12, 'hidden_act': 'gelu', 'qkv_bias': true, "
           "'id2label': {'0': 'cat', '1': 'dog'}}",
    [TIMM] = "{'architecture': 'deit_tiny_patch16_224', 'num_classes': 2, 'num_features': 192, 'global_pool': "
             "'token', 'label_names': ['cat', 'dog'], 'model_args': {'embed_dim': 192}, 'pretrained_cfg': "
             "{'input_size': [3, 224, 224], 'mean': [0.5, 0.5, 0.5], 'std': [0.5, 0.5, 0.5], 'crop_pct': 0.9, "
             "'interpolation': 'bicubic', 'num_classes': 2}}",
};

typedef struct bad_case {
    const char *what;
    enum base base;
    const char *text;   /* RAW: the whole file; else keys that replace the base's ("a.b": nested; null deletes) */
    vkvit_status want;  /* from config_parse, or else from config_apply_defaults + config_validate */
    const char *says;
} bad_case;

#define BAD VKVIT_ERROR_BAD_CONFIG
#define UNSUP VKVIT_ERROR_UNSUPPORTED
static const bad_case bad[] = {
    {"empty file", RAW, "", BAD, "config.json: not valid JSON (error near byte 0)"},
    {"bad JSON", RAW, "{'hidden_size': 192,, }", BAD, "config.json: not valid JSON (error near byte"},
    {"truncated JSON", RAW, "{'hidden_size': 19", BAD, "not valid JSON"},
    {"JSON not an object", RAW, "[192, 12]", BAD, "config.json: JSON but not an object"},
    {"neither HF nor timm", RAW, "{'width': 192}", BAD, "neither a Hugging Face nor a timm model config"},
    {"hidden_size a string", HF, "{'hidden_size': '192'}", BAD, "hidden_size is \"192\", not a non-negative integer"},
    {"hidden_size negative", HF, "{'hidden_size': -192}", BAD, "hidden_size is -192, not a non-negative"},
    {"hidden_size fractional", HF, "{'hidden_size': 192.5}", BAD, "hidden_size is 192.5, not"},
    {"hidden_size absurd (1e20)", HF, "{'hidden_size': 1e20}", BAD, "hidden_size is 1e+20, not a non-negative integer below 2^31"},
    {"hidden_size zero", HF, "{'hidden_size': 0}", BAD, "config.json: hidden_size = 0 is outside 1..16384"},
    {"hidden_size absurd (100000)", HF, "{'hidden_size': 100000, 'num_attention_heads': 1}", BAD,
     "hidden_size = 100000 is outside 1..16384"},
    {"heads not dividing hidden", HF, "{'num_attention_heads': 5}", BAD,
     "num_attention_heads = 5 does not divide hidden_size = 192"},
    {"heads zero", HF, "{'num_attention_heads': 0}", BAD, "num_attention_heads = 0 is outside"},
    {"layers zero", HF, "{'num_hidden_layers': 0}", BAD, "num_hidden_layers = 0 is outside 1..256"},
    {"layers absurd", HF, "{'num_hidden_layers': 100000}", BAD, "num_hidden_layers = 100000 is outside 1..256"},
    {"mlp absurd", HF, "{'intermediate_size': 1000000}", BAD, "intermediate_size = 1000000 is outside 1..65536"},
    {"image absurd", HF, "{'image_size': 100000}", BAD, "image_size = 100000 is outside 1..4096"},
    {"image width not a multiple of the patch", HF, "{'image_size': [224, 200]}", BAD,
     "patch_size = 16 does not divide image_size = 200"},
    {"image width absurd", HF, "{'image_size': [224, 100000]}", BAD,
     "image_size = [224, 100000]: the width is outside 1..4096"},
    {"image width zero", HF, "{'image_size': [224, 0]}", BAD, "image_size = [224, 0]: a side of 0"},
    {"timm img_size width zero", TIMM, "{'model_args': {'img_size': [32, 0]}}", BAD, "img_size = [32, 0]: a side of 0"},
    {"timm input_size width zero", TIMM, "{'pretrained_cfg.input_size': [3, 224, 0]}", BAD,
     "pretrained_cfg.input_size [3, 224, 0]: a side of 0"},
    {"patch zero", HF, "{'patch_size': 0}", BAD, "patch_size = 0 is outside"},
    {"patch not dividing image", HF, "{'patch_size': 15}", BAD, "patch_size = 15 does not divide image_size = 224"},
    {"channels absurd", HF, "{'num_channels': 7}", BAD, "num_channels = 7 is outside 1..4"},
    {"eps zero", HF, "{'layer_norm_eps': 0}", BAD, "layer_norm_eps = 0 is outside (0, 1)"},
    {"eps negative", HF, "{'layer_norm_eps': -1e-6}", BAD, "layer_norm_eps = -1e-06 is outside"},
    {"eps a string", HF, "{'layer_norm_eps': '1e-6'}", BAD, "layer_norm_eps is \"1e-6\", not a finite number"},
    {"eps infinite", RAW, "{'hidden_size': 192, 'layer_norm_eps': 1e999}", BAD, "layer_norm_eps is inf, not a finite number"},
    {"qkv_bias not a boolean", HF, "{'qkv_bias': 1}", BAD, "qkv_bias is 1, not true or false"},
    {"unsupported activation", HF, "{'hidden_act': 'relu'}", BAD, "hidden_act 'relu' is an unsupported activation"},
    {"activation not a string", HF, "{'hidden_act': 3}", BAD, "hidden_act is 3, not a string"},
    {"architectures a string", HF, "{'architectures': 'ViT'}", BAD, "architectures is not a list of strings"},
    {"id2label a list", HF, "{'id2label': ['cat', 'dog']}", BAD, "id2label is not an object"},
    {"id2label key a word", HF, "{'id2label': {'0': 'cat', 'one': 'dog'}}", BAD,
     "id2label key 'one' is not a class index 0..1"},
    {"id2label key negative", HF, "{'id2label': {'0': 'cat', '-1': 'dog'}}", BAD, "id2label key '-1' is not"},
    {"id2label key leading zero", HF, "{'id2label': {'0': 'cat', '01': 'dog'}}", BAD, "id2label key '01' is not"},
    {"id2label key with a space", HF, "{'id2label': {'0': 'cat', ' 1': 'dog'}}", BAD, "id2label key ' 1' is not"},
    {"id2label key fractional", HF, "{'id2label': {'0': 'cat', '1.0': 'dog'}}", BAD, "id2label key '1.0' is not"},
    {"id2label with a gap", HF, "{'id2label': {'0': 'cat', '2': 'dog'}}", BAD, "id2label key '2' is not a class index 0..1"},
    {"id2label key twice", HF, "{'id2label': {'1': 'cat', '1': 'dog'}}", BAD, "id2label key '1' appears twice"},
    {"id2label value not a string", HF, "{'id2label': {'0': 'cat', '1': 2}}", BAD, "id2label['1'] is not a string"},
    {"num_labels disagrees", HF, "{'num_labels': 3}", BAD, "num_labels = 3 but id2label has 2 entries"},
    {"num_labels absurd", HF, "{'id2label': null, 'num_labels': 200000}", BAD, "num_labels = 200000 is above 100000"},
    {"pooler_output_size absurd", HF, "{'pooler_output_size': 100000}", BAD,
     "config.json: pooler_output_size = 100000 is above 16384"},
    {"pooler_act not a string", HF, "{'pooler_act': 1}", BAD, "pooler_act is 1, not a string"},
    {"DINOv2 SwiGLU", HF, "{'model_type': 'dinov2', 'use_swiglu_ffn': true}", UNSUP,
     "use_swiglu_ffn = true is not supported (DINOv2's SwiGLU MLP"},
    {"DINOv2 registers absurd", HF, "{'model_type': 'dinov2_with_registers', 'num_register_tokens': 65}", BAD,
     "num_register_tokens = 65 (at most 64)"},
    {"DINOv2 registers negative", HF, "{'model_type': 'dinov2_with_registers', 'num_register_tokens': -1}", BAD,
     "num_register_tokens is -1"},
    {"timm representation_size negative", TIMM, "{'model_args': {'embed_dim': 192, 'representation_size': -1}}", BAD,
     "representation_size is -1, not a non-negative integer"},
    {"timm num_features neither width", TIMM, "{'num_features': 40, 'model_args': {'embed_dim': 192, "
     "'representation_size': 41}}", BAD, "num_features = 40 contradicts embed_dim = 192"},
    {"num_features zero", TIMM, "{'num_features': 0, 'model_args': null}", BAD,
     "config.json: num_features = 0 contradicts embed_dim = 192 (deit_tiny_patch16_224)"},
    {"num_features zero, unregistered", TIMM, "{'architecture': 'my_vit', 'num_features': 0, 'model_args': null}", BAD,
     "config.json: num_features = 0 is outside 1..16384"},
    {"timm heads not dividing", TIMM, "{'model_args': {'num_heads': 5}}", BAD, "num_heads = 5 does not divide num_features = 192"},
    {"timm mlp_ratio bad", TIMM, "{'model_args': {'embed_dim': 192, 'mlp_ratio': 'four'}}", BAD,
     "mlp_ratio is \"four\", not a finite number"},
    {"timm mlp_ratio zero", TIMM, "{'model_args': {'mlp_ratio': 0}}", BAD,
     "mlp_ratio 0 x embed_dim 192 is not a valid MLP width"},
    {"timm mlp_ratio absurd", TIMM, "{'model_args': {'mlp_ratio': 1e9}}", BAD, "mlp_ratio 1e+09 x embed_dim 192"},
    {"timm model_args unknown key", TIMM, "{'model_args': {'embed_dims': 64}}", UNSUP,
     "model_args.embed_dims is not an argument of timm's VisionTransformer that vkvit knows"},
    {"timm model_args.num_classes vs num_classes", TIMM, "{'model_args': {'num_classes': 3}}", BAD,
     "model_args.num_classes = 3 contradicts num_classes = 2"},
    {"timm init_values a string", TIMM, "{'model_args': {'init_values': 'x'}}", BAD,
     "model_args.init_values is \"x\", not a number or null"},
    {"timm fc_norm a number", TIMM, "{'model_args': {'fc_norm': 1}}", BAD,
     "model_args.fc_norm is 1, not true, false or null"},
    {"timm act_layer a list", TIMM, "{'model_args': {'act_layer': []}}", BAD, "model_args.act_layer is a list"},
    {"timm global_pool a number", TIMM, "{'model_args': {'global_pool': 0}}", BAD,
     "model_args.global_pool is 0, not a string"},
    {"timm qk_norm", TIMM, "{'model_args': {'qk_norm': true}}", UNSUP,
     "model_args.qk_norm = true is not supported (normalised queries and keys)"},
    {"timm pos_embed none", TIMM, "{'model_args': {'pos_embed': 'none'}}", UNSUP, "model_args.pos_embed = \"none\""},
    {"timm block_fn", TIMM, "{'model_args': {'block_fn': 'x'}}", UNSUP, "model_args.block_fn = \"x\" is not supported"},
    {"timm act_layer relu", TIMM, "{'model_args': {'act_layer': 'relu'}}", UNSUP,
     "timm deit_tiny_patch16_224: act_layer = \"relu\" is not supported (GELU only: gelu, gelu_tanh, quick_gelu)"},
    {"timm norm_layer rmsnorm", TIMM, "{'model_args': {'norm_layer': 'rmsnorm'}}", UNSUP,
     "norm_layer = rmsnorm is not"},
    {"timm pre_norm with RmsNorm", TIMM, "{'model_args': {'pre_norm': true, 'norm_layer': 'rmsnorm'}}", UNSUP,
     "norm_layer = rmsnorm is not"},
    {"timm fc_norm", TIMM, "{'model_args': {'fc_norm': true}}", UNSUP, "fc_norm = true is not supported"},
    {"timm registered DINOv2 giant (SwiGLU)", TIMM, "{'architecture': 'vit_giant_patch14_dinov2', 'model_args': "
     "null}", UNSUP, "timm vit_giant_patch14_dinov2: mlp_layer=GluMlp(act_layer=SiLU, gate_last=False) is not"},
    {"timm registered parallel blocks", TIMM, "{'architecture': 'vit_small_patch16_18x2_224', 'model_args': "
     "{'init_values': null}}", UNSUP, "block_fn=ParallelThingsBlock is not supported"},
    {"timm model_args a list", TIMM, "{'model_args': [1]}", BAD, "model_args is not an object"},
    {"timm label_names not a list", TIMM, "{'label_names': 'cat'}", BAD, "label_names is not a list"},
    {"timm label_names element", TIMM, "{'label_names': ['cat', 7]}", BAD, "label_names[1] is not a string"},
    {"timm labels vs classes", TIMM, "{'num_classes': 3, 'pretrained_cfg.num_classes': 3}", BAD,
     "2 labels (label_names) for num_classes = 3"},
    {"timm global_pool avg", TIMM, "{'global_pool': 'avg'}", UNSUP,
     "global_pool = \"avg\" is not supported (pooling other than the class token)"},
    {"timm no class token", TIMM, "{'model_args': {'class_token': false}}", UNSUP,
     "timm deit_tiny_patch16_224: class_token = false is not supported (vkvit classifies from the class token)"},
    {"timm register tokens absurd", TIMM, "{'model_args': {'reg_tokens': 65}}", BAD, "reg_tokens = 65 (at most 64)"},
    {"timm input_size width not a multiple of the patch", TIMM, "{'pretrained_cfg.input_size': [3, 224, 200]}", BAD,
     "patch_size = 16 does not divide input_size = 200"},
    {"timm input_size malformed", TIMM, "{'pretrained_cfg.input_size': [224, 224]}", BAD,
     "pretrained_cfg.input_size is not [C, H, W]"},
    {"timm in_chans 1 (wins over input_size) with 3 means", TIMM, "{'model_args': {'in_chans': 1}}", BAD,
     "mean has 3 values for 1 channels"},
    {"timm img_size (wins over input_size) not a multiple of the patch", TIMM, "{'model_args': {'img_size': 100}}",
     BAD, "patch_size = 16 does not divide input_size = 100"},
    {"timm input_size absurd", TIMM, "{'pretrained_cfg.input_size': [3, 8192, 8192]}", BAD, "input_size = 8192 is outside 1..4096"},
    {"timm pretrained_cfg a string", TIMM, "{'pretrained_cfg': 'imagenet'}", BAD, "pretrained_cfg is not an object"},
    {"timm mean of 5", TIMM, "{'pretrained_cfg.mean': [1, 2, 3, 4, 5]}", BAD, "mean is not a list of 1 to 4 numbers"},
    {"timm mean not numbers", TIMM, "{'pretrained_cfg.mean': [0.5, 'x', 0.5]}", BAD, "mean[1] is not a (sane) number"},
    {"timm mean vs channels", TIMM, "{'pretrained_cfg.mean': [0.5, 0.5]}", BAD, "mean has 2 values for 3 channels"},
    {"timm std zero", TIMM, "{'pretrained_cfg.std': [0.5, 0, 0.5]}", BAD, "std[1] = 0 is not positive"},
    {"timm crop_pct above 1", TIMM, "{'pretrained_cfg.crop_pct': 1.5}", BAD, "crop_pct = 1.5 is outside (0, 1]"},
    {"timm interpolation a number", TIMM, "{'pretrained_cfg.interpolation': 3}", BAD, "interpolation is 3, not a string"},
};

/* Replaces (or, with null, deletes) the keys of `patch` in `base`; "a.b" reaches into object a. */
static char *patched(const bad_case *c)
{
    if (c->base == RAW)
        return quote(c->text);
    char *b = quote(base_json[c->base]), *p = quote(c->text);
    cJSON *root = cJSON_Parse(b), *patch = cJSON_Parse(p);
    if (!root || !patch) {
        fprintf(stderr, "FATAL: test table JSON broken in '%s'\n", c->what);
        exit(1);
    }
    for (cJSON *e = patch->child; e; e = e->next) {
        cJSON *obj = root;
        char key[64];
        snprintf(key, sizeof key, "%s", e->string);
        char *dot = strchr(key, '.');
        if (dot) {
            *dot = '\0';
            obj = cJSON_GetObjectItemCaseSensitive(root, key);
            memmove(key, dot + 1, strlen(dot + 1) + 1);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
        if (!cJSON_IsNull(e))
            cJSON_AddItemToObject(obj, key, cJSON_Duplicate(e, 1));
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    cJSON_Delete(patch);
    free(b);
    free(p);
    return out;
}

static void test_bad_table(void)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const bad_case *c = &bad[i];
        char *text = patched(c);
        vit_config cfg;
        clear_error();
        vkvit_status s = config_parse(text, strlen(text), "config.json", &cfg);
        if (s == VKVIT_OK) {
            config_apply_defaults(&cfg);
            s = config_validate(&cfg, "config.json");
        } else {
            test_expect(cfg.labels.names == NULL && cfg.present == 0, "%s: nothing left to free after a parse error",
                        c->what);
        }
        test_expect_status(c->what, s, c->want, c->says);
        config_free(&cfg);
        free(text);
    }

    /* The bases themselves are good. */
    for (int b = HF; b <= TIMM; b++) {
        bad_case good = {"base", (enum base)b, "{}", VKVIT_OK, ""};
        char *text = patched(&good);
        vit_config cfg;
        vkvit_status s = config_parse(text, strlen(text), "config.json", &cfg);
        if (s == VKVIT_OK) {
            config_apply_defaults(&cfg);
            s = config_validate(&cfg, "config.json");
        }
        test_expect(s == VKVIT_OK && cfg.num_labels == 2 && strcmp(cfg.labels.names[1], "dog") == 0,
                    "the %s base config is valid (%s)", b == HF ? "HF" : "timm", s ? vkvit_last_error() : "");
        config_free(&cfg);
        free(text);
    }

    vit_config cfg;
    test_expect_status("nonexistent config", config_load("/nonexistent/config.json", &cfg), VKVIT_ERROR_IO,
                       "/nonexistent/config.json: cannot open: No such file or directory");
}

/* ---- labels files ----------------------------------------------------------------------------- */

static void test_labels(void)
{
    static const struct {
        const char *what, *text;
        size_t len; /* 0: strlen */
        uint32_t count;
        const char *first, *last;
    } good[] = {
        {"LF, final newline", "cat\ndog\n", 0, 2, "cat", "dog"},
        {"no final newline", "cat\ndog", 0, 2, "cat", "dog"},
        {"CRLF", "cat\r\ngreat white shark\r\n", 0, 2, "cat", "great white shark"},
        {"empty line is a label", "cat\n\ndog\n", 0, 3, "cat", "dog"},
        {"one blank line", "\n", 0, 1, "", ""},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        vit_labels l;
        size_t len = good[i].len ? good[i].len : strlen(good[i].text);
        vkvit_status s = labels_parse(good[i].text, len, "labels.txt", &l);
        test_expect(s == VKVIT_OK && l.count == good[i].count && strcmp(l.names[0], good[i].first) == 0 &&
                        strcmp(l.names[l.count - 1], good[i].last) == 0,
                    "labels: %s (%u)", good[i].what, l.count);
        labels_free(&l);
    }
    vit_labels l;
    test_expect_status("labels: empty", labels_parse("", 0, "labels.txt", &l), BAD,
                       "labels.txt: empty labels file");
    test_expect_status("labels: NUL byte", labels_parse("cat\ndo\0g\n", 9, "labels.txt", &l), BAD,
                       "labels.txt: NUL byte at byte 6");
    size_t n = CONFIG_MAX_LABELS + 1;
    char *many = malloc(n);
    memset(many, '\n', n);
    test_expect_status("labels: too many", labels_parse(many, n, "labels.txt", &l), BAD,
                       "100001 lines, more than 100000");
    free(many);
    test_expect(l.names == NULL && l.count == 0, "labels: empty after an error");
    test_expect_status("labels: nonexistent", labels_load("/nonexistent/labels.txt", &l), VKVIT_ERROR_IO,
                       "/nonexistent/labels.txt: cannot open");
    labels_free(NULL);
}

int main(void)
{
    test_real();
    test_fixtures();
    test_defaults();
    test_timm_merge();
    test_nonsquare();
    test_timm_generated();
    test_pre_logits();
    test_bad_table();
    test_labels();
    return test_finish(NULL);
}
