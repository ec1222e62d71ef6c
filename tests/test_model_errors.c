/* Bad model input through the public API, table-driven.
 *
 * Each row of `load_cases` builds a broken checkpoint directory under a mkdtemp() folder, starting
 * from a small fixture (tests/data/hf-vit, timm-vit, hf-deit-distilled, hybrid/r3): tensors dropped, added,
 * reshaped, re-typed or given bad offsets (the fixture is read with the library's own safetensors
 * reader and written back by the small writer below), raw bytes cut or overwritten, config.json
 * edited, or the path itself wrong. vkvit_model_load must return exactly the row's status, leave
 * *out NULL, leave the context's device memory where it was, and say in vkvit_last_error() what
 * went wrong: the case's directory (so the file) and every substring the row lists (the tensor,
 * the field, both shapes...). A row that must load lists what the model info must say instead
 * ("10 classes" unless it lists something).
 *
 * Then the run-time misuse of a good model: a batch larger than the plan, an input of the wrong
 * size, zero images, outputs before any run, a too-small capacity, top-k past the class count,
 * logits of a backbone, and NULL for every pointer argument of the public API.
 *
 * Nothing may crash or leak (CI runs this under ASan with detect_leaks=1), and the validation
 * layer must stay silent. The temporary folder is removed at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "safetensors.h"


static const char *tmp_root;   /* test_temp_dir */

static void fatal(const char *fmt, const char *arg)
{
    fprintf(stderr, "FATAL: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static const char *fixture_path(const char *fixture, const char *file)
{
    static char p[2][1024];
    static int next;
    char *r = p[next++ % 2];
    snprintf(r, sizeof p[0], "%s/tests/data/%s%s%s", VKVIT_SOURCE_ROOT, fixture, file ? "/" : "", file ? file : "");
    return r;
}


/* ---- files -------------------------------------------------------------------------------------- */

typedef struct bytes {
    char *p;
    size_t n;
} bytes;

static bytes read_all(const char *path)
{
    bytes b = {0};
    if (!(b.p = test_read_file(path, &b.n)))
        fatal("cannot read %s", path);
    return b;
}

/* ---- a safetensors writer ----------------------------------------------------------------------- */

typedef struct wtensor {
    char name[160];
    char dtype[16];
    uint32_t rank;
    uint64_t shape[ST_MAX_RANK];
    const void *data;       /* NULL: zeros                                                   */
    uint64_t size;          /* bytes written to the data section                            */
    int64_t end_adjust;     /* added to the announced end offset                            */
    const char *same_as;    /* announce the offsets of this tensor (nothing written)        */
    bool past_end;          /* announce offsets past the data section (nothing written)     */
    uint64_t begin, end;    /* announced, filled by the writer                              */
} wtensor;

typedef struct ckpt {
    st_file *src;           /* the fixture, mapped: data pointers point into it            */
    wtensor *t;
    size_t n;
} ckpt;

static ckpt ckpt_read(const char *fixture)
{
    ckpt c = {0};
    test_ok(st_open(fixture_path(fixture, "model.safetensors"), &c.src), "reading the fixture");
    size_t n = st_count(c.src);
    c.t = calloc(n + 64, sizeof *c.t); /* room for what the cases add */
    if (!c.t)
        fatal("%s", "out of memory");
    for (size_t i = 0; i < n; i++) {
        const st_tensor *s = st_tensor_at(c.src, i);
        wtensor *w = &c.t[c.n++];
        snprintf(w->name, sizeof w->name, "%s", s->name);
        snprintf(w->dtype, sizeof w->dtype, "%s", st_dtype_name(s->dtype));
        w->rank = s->rank;
        memcpy(w->shape, s->shape, sizeof w->shape);
        w->data = s->data;
        w->size = s->size;
    }
    return c;
}

static void ckpt_free(ckpt *c)
{
    st_close(c->src);
    free(c->t);
    memset(c, 0, sizeof *c);
}

static wtensor *ckpt_find(ckpt *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    fatal("the fixture has no tensor '%s'", name);
    return NULL;
}

/* "64,3,8,8" -> shape; "" -> a scalar. Returns the rank. */
static uint32_t parse_shape(const char *s, uint64_t shape[ST_MAX_RANK])
{
    uint32_t r = 0;
    while (*s) {
        char *end;
        shape[r++] = strtoull(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
    }
    return r;
}

static uint64_t elements(const wtensor *w)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < w->rank; i++)
        n *= w->shape[i];
    return n;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void put(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        b->cap = b->cap ? 2 * b->cap + (size_t)k : 4096;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            fatal("%s", "out of memory");
    }
}

/* Lays the tensors out in order, writes 8-byte LE header length + JSON header (padded with spaces
 * to a multiple of 8, like the safetensors library) + data. */
static bytes ckpt_serialize(ckpt *c)
{
    uint64_t at = 0;
    for (size_t i = 0; i < c->n; i++) {
        wtensor *w = &c->t[i];
        if (w->same_as || w->past_end)
            continue;
        w->begin = at;
        w->end = at + w->size;
        at += w->size;
    }
    for (size_t i = 0; i < c->n; i++) {
        wtensor *w = &c->t[i];
        if (w->same_as) {
            const wtensor *o = ckpt_find(c, w->same_as);
            w->begin = o->begin;
            w->end = o->begin + w->size;
        } else if (w->past_end) {
            w->begin = at + 64; /* a gap, so the file does not look merely cut off */
            w->end = w->begin + w->size;
        }
        w->end = (uint64_t)((int64_t)w->end + w->end_adjust);
    }
    sbuf h = {0};
    put(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < c->n; i++) {
        const wtensor *w = &c->t[i];
        put(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", w->name, w->dtype);
        for (uint32_t k = 0; k < w->rank; k++)
            put(&h, "%s%llu", k ? "," : "", (unsigned long long)w->shape[k]);
        put(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)w->begin, (unsigned long long)w->end);
    }
    put(&h, "}");
    while (h.n % 8)
        put(&h, " ");
    bytes out = {malloc(8 + h.n + at + 1), 8 + h.n + at};
    if (!out.p)
        fatal("%s", "out of memory");
    for (int i = 0; i < 8; i++)
        out.p[i] = (char)(uint8_t)((uint64_t)h.n >> (8 * i));
    memcpy(out.p + 8, h.p, h.n);
    char *d = out.p + 8 + h.n;
    for (size_t i = 0; i < c->n; i++) {
        const wtensor *w = &c->t[i];
        if (w->same_as || w->past_end)
            continue;
        if (w->data)
            memcpy(d + w->begin, w->data, w->size);
        else
            memset(d + w->begin, 0, w->size);
    }
    free(h.p);
    return out;
}

/* ---- the table ---------------------------------------------------------------------------------- */

typedef enum op {
    OP_NONE,          /* the fixture written back by our writer: must load (checks the writer)   */
    OP_DROP,          /* a: tensor                                                             */
    OP_DROP_PREFIX,   /* every tensor whose name starts with a                                  */
    OP_ADD,           /* a: name, b: shape (F32 zeros)                                         */
    OP_RESHAPE,       /* a: tensor, b: new shape (zeros)                                       */
    OP_COPY_LAYER,    /* every tensor starting with a is copied with that prefix replaced by b  */
    OP_DTYPE,         /* a: tensor, b: dtype string (byte size unchanged)                      */
    OP_OVERLAP,       /* a's offsets announced for b too                                        */
    OP_PAST_END,      /* a: tensor announced past the end of the data section                  */
    OP_SHORT_SPAN,    /* a: data_offsets span 4 bytes less than dtype x shape                  */
    OP_CUT,           /* raw fixture file minus its last atoi(a) bytes                         */
    OP_HEADER_LEN,    /* raw fixture, header length field = atoi(a), or the file size if a="" */
    OP_HEADER_BYTE,   /* raw fixture, file byte atoi(a) replaced by b[0]                       */
    OP_RAW,           /* model.safetensors = the first atoi(a) bytes of b                      */
    OP_CONFIG,        /* config.json with the text a replaced by b                             */
    OP_CONFIG_TEXT,   /* config.json = a                                                       */
    OP_NO_CONFIG,     /* config.json removed (shapes + defaults decide)                        */
    OP_NO_DIR,        /* the path does not exist                                               */
    OP_EMPTY_DIR,     /* an empty directory                                                    */
    OP_CONFIG_ONLY,   /* config.json but no weights                                            */
    OP_MODEL_IS_DIR,  /* model.safetensors is a directory                                      */
    OP_CONFIG_AS_MODEL, /* the path names config.json instead of the weights                    */
    OP_INDEX,         /* model.safetensors.index.json = a, no shard files                      */
} op;

typedef struct load_case {
    const char *name;      /* also the directory name, which every message must contain         */
    const char *fixture;
    op op;
    const char *a, *b;
    vkvit_status want;
    const char *must[3];   /* substrings the message (for VKVIT_OK: the model's description) must contain */
} load_case;

#define HF "hf-vit"
#define TIMM "timm-vit"
#define DEIT "hf-deit-distilled"
#define PRE "timm-prelogits"
#define POOL "hf-pooler"
#define L1 "vit.encoder.layer.1."
#define HYB "hybrid/r3/timm"        /* tools/make_hybrid_fixtures.py: ResNet stages (2, 1, 1) + a ViT */
#define HYB_HF "hybrid/r3/hf"
#define RN "patch_embed.backbone."
#define CLIP "clip/quickgelu"          /* tools/make_clip_fixtures.py: an HF CLIPVisionModelWithProjection ... */
#define CLIP_FULL "clip/gelu"          /* ... and a whole CLIPModel (vision_config, a text tower) */
#define SIGLIP "siglip/tower"          /* the same script: an HF SiglipVisionModel ... */
#define SIGLIP_TIMM "siglip/tower/timm" /* ... and in timm's names */
#define CLIP_TOWER "clip/quickgelu/timm-tower" /* timm's CLIP tower at an image-tower tag: its head the projection */

static const load_case load_cases[] = {
    /* controls: the writer's output of an unmodified fixture loads */
    {"control-hf", HF, OP_NONE, 0, 0, VKVIT_OK, {0}},
    {"control-timm", TIMM, OP_NONE, 0, 0, VKVIT_OK, {0}},
    {"control-deit", DEIT, OP_NONE, 0, 0, VKVIT_OK, {0}},
    {"control-no-config", HF, OP_NO_CONFIG, 0, 0, VKVIT_OK, {0}},
    {"control-timm-prelogits", PRE, OP_NONE, 0, 0, VKVIT_OK, {"7 classes", "40-float embedding", "pre-logits"}},
    {"control-hf-pooler", POOL, OP_NONE, 0, 0, VKVIT_OK, {"0 classes", "56-float embedding", "pre-logits"}},
    {"control-hf-pooler-no-config", POOL, OP_NO_CONFIG, 0, 0, VKVIT_OK, {"0 classes", "56-float embedding"}},
    /* a pooler beside a classifier: unused, as Hugging Face's classification models leave it */
    {"hf-classifier-and-pooler", HF, OP_ADD, "vit.pooler.dense.weight", "64,64", VKVIT_OK,
     {"10 classes", "64-float embedding", "the class token"}},

    /* missing tensors: the message names the tensor */
    {"drop-key-weight", HF, OP_DROP, L1 "attention.attention.key.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {L1 "attention.attention.key.weight"}},
    {"drop-value-bias", HF, OP_DROP, L1 "attention.attention.value.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {L1 "attention.attention.value.bias"}},
    {"drop-fc2-weight", HF, OP_DROP, "vit.encoder.layer.2.output.dense.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"vit.encoder.layer.2.output.dense.weight"}},
    {"drop-ln1-bias", HF, OP_DROP, "vit.encoder.layer.0.layernorm_before.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"vit.encoder.layer.0.layernorm_before.bias"}},
    {"drop-final-ln", HF, OP_DROP, "vit.layernorm.weight", 0, VKVIT_ERROR_MISSING_TENSOR, {"vit.layernorm.weight"}},
    {"drop-classifier-bias", HF, OP_DROP, "classifier.bias", 0, VKVIT_ERROR_MISSING_TENSOR, {"classifier.bias"}},
    {"drop-patch-bias", HF, OP_DROP, "vit.embeddings.patch_embeddings.projection.bias", 0,
     VKVIT_ERROR_MISSING_TENSOR, {"vit.embeddings.patch_embeddings.projection.bias"}},
    {"drop-pos-embed", HF, OP_DROP, "vit.embeddings.position_embeddings", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"position_embeddings"}},
    {"drop-cls-token", HF, OP_DROP, "vit.embeddings.cls_token", 0, VKVIT_ERROR_MISSING_TENSOR, {"cls_token"}},
    {"timm-drop-qkv", TIMM, OP_DROP, "blocks.1.attn.qkv.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"blocks.1.attn.qkv.weight"}},
    {"timm-drop-norm-bias", TIMM, OP_DROP, "norm.bias", 0, VKVIT_ERROR_MISSING_TENSOR, {"norm.bias"}},
    {"deit-drop-dist-token", DEIT, OP_DROP, "deit.embeddings.distillation_token", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"distillation"}},
    {"deit-drop-dist-head", DEIT, OP_DROP, "distillation_classifier.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"distillation_classifier.weight"}},
    {"config-more-layers", HF, OP_CONFIG, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4",
     VKVIT_ERROR_MISSING_TENSOR, {"vit.encoder.layer.3.layernorm_before.weight"}},
    {"timm-drop-prelogits-bias", PRE, OP_DROP, "pre_logits.fc.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"pre-logits bias", "pre_logits.fc.bias"}},
    {"hf-drop-pooler-bias", POOL, OP_DROP, "pooler.dense.bias", 0, VKVIT_ERROR_MISSING_TENSOR, {"pooler.dense.bias"}},
    {"timm-config-representation", TIMM, OP_CONFIG, "\"qkv_bias\": true,",
     "\"qkv_bias\": true, \"representation_size\": 32,", VKVIT_ERROR_MISSING_TENSOR, {"pre_logits.fc.weight"}},

    /* unexpected tensors: the message names the tensor */
    {"add-unknown", HF, OP_ADD, "vit.encoder.layer.0.attention.attention.rotary.weight", "64",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"vit.encoder.layer.0.attention.attention.rotary.weight"}},
    {"add-unknown-top", HF, OP_ADD, "extra.weight", "4", VKVIT_ERROR_UNEXPECTED_TENSOR, {"extra.weight"}},
    {"timm-add-layerscale", TIMM, OP_ADD, "blocks.0.ls1.gamma", "64", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"blocks.0.ls1.gamma"}},
    {"timm-config-layerscale", TIMM, OP_CONFIG, "\"img_size\": 32", "\"img_size\": 32, \"init_values\": 1e-05",
     VKVIT_ERROR_MISSING_TENSOR, {"block 0's LayerScale 1 (ls1/layer_scale1) ('blocks.0.ls1.gamma') is missing"}},
    /* four registers need four more position rows (timm's default: the embedding covers every prefix token) */
    {"timm-add-registers", TIMM, OP_ADD, "reg_token", "1,4,64", VKVIT_ERROR_SHAPE_MISMATCH,
     {"'pos_embed' has shape [1, 65, 64], expected [69, 64]", "tokens 69"}},
    {"extra-layer", HF, OP_COPY_LAYER, "vit.encoder.layer.2.", "vit.encoder.layer.3.", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"vit.encoder.layer.3.", "3 blocks"}},
    {"timm-extra-layer", TIMM, OP_COPY_LAYER, "blocks.1.", "blocks.2.", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"blocks.2.", "2 blocks"}},
    {"config-fewer-layers", HF, OP_CONFIG, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"vit.encoder.layer.2.", "2 blocks"}},
    {"timm-layer-leading-zero", TIMM, OP_ADD, "blocks.00.attn.qkv.weight", "192,64", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"blocks.00.attn.qkv.weight"}},
    {"hf-pooler-size-zero", POOL, OP_CONFIG, "\"pooler_output_size\": 56", "\"pooler_output_size\": 0",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"pooler.dense", "pooler_output_size"}},

    /* wrong shapes: the message names the tensor and both shapes */
    {"shape-fc1", HF, OP_RESHAPE, L1 "intermediate.dense.weight", "255,64", VKVIT_ERROR_SHAPE_MISMATCH,
     {L1 "intermediate.dense.weight", "[255, 64]", "[256, 64]"}},
    {"shape-query-bias", HF, OP_RESHAPE, "vit.encoder.layer.0.attention.attention.query.bias", "63",
     VKVIT_ERROR_SHAPE_MISMATCH, {"attention.attention.query.bias", "[63]", "[64]"}},
    {"shape-patch", HF, OP_RESHAPE, "vit.embeddings.patch_embeddings.projection.weight", "64,3,7,7",
     VKVIT_ERROR_SHAPE_MISMATCH, {"patch_embeddings.projection.weight", "[64, 3, 7, 7]", "[64, 3, 8, 8]"}},
    {"shape-pos", HF, OP_RESHAPE, "vit.embeddings.position_embeddings", "1,16,64", VKVIT_ERROR_SHAPE_MISMATCH,
     {"position_embeddings", "[1, 16, 64]", "17, 64]"}},
    {"shape-classifier", HF, OP_RESHAPE, "classifier.weight", "11,64", VKVIT_ERROR_SHAPE_MISMATCH,
     {"classifier.weight", "[11, 64]", "[10, 64]"}},
    {"shape-transposed", HF, OP_RESHAPE, "vit.encoder.layer.2.output.dense.weight", "256,64",
     VKVIT_ERROR_SHAPE_MISMATCH, {"vit.encoder.layer.2.output.dense.weight", "[256, 64]", "[64, 256]"}},
    {"shape-patch-scalar", HF, OP_RESHAPE, "vit.embeddings.patch_embeddings.projection.weight", "",
     VKVIT_ERROR_SHAPE_MISMATCH, {"patch_embeddings.projection.weight", "rank 0"}},
    {"timm-shape-qkv", TIMM, OP_RESHAPE, "blocks.0.attn.qkv.weight", "128,64", VKVIT_ERROR_SHAPE_MISMATCH,
     {"blocks.0.attn.qkv.weight", "[128, 64]", "[192, 64]"}},
    {"config-hidden-128", HF, OP_CONFIG, "\"hidden_size\": 64", "\"hidden_size\": 128", VKVIT_ERROR_SHAPE_MISMATCH,
     {"[64, 3, 8, 8]", "[128, 3, 8, 8]"}},
    {"timm-shape-prelogits", PRE, OP_RESHAPE, "pre_logits.fc.weight", "40,47", VKVIT_ERROR_SHAPE_MISMATCH,
     {"pre_logits.fc.weight", "[40, 47]", "[40, 48]"}},
    {"timm-head-skips-prelogits", PRE, OP_RESHAPE, "head.weight", "7,48", VKVIT_ERROR_SHAPE_MISMATCH,
     {"head.weight", "[7, 48]", "[7, 40]"}},
    {"hf-pooler-size-config", POOL, OP_CONFIG, "\"pooler_output_size\": 56", "\"pooler_output_size\": 57",
     VKVIT_ERROR_SHAPE_MISMATCH, {"pooler.dense.weight", "[56, 64]", "[57, 64]"}},

    /* a hybrid's ResNet: the message names the tensor (and what it holds) */
    {"hybrid-no-resnet", HYB, OP_DROP_PREFIX, RN, 0, VKVIT_ERROR_MISSING_TENSOR,
     {"'patch_embed.proj.weight' embeds 256 channels", RN "stem.conv.weight"}},
    {"hybrid-hf-no-resnet", HYB_HF, OP_DROP_PREFIX, "vit.embeddings.patch_embeddings.backbone.", 0,
     VKVIT_ERROR_MISSING_TENSOR, {"ViT hybrid", "backbone.bit.embedder.convolution.weight"}},
    {"hybrid-no-root", HYB, OP_DROP, RN "stem.conv.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"root conv", RN "stem.conv.weight"}},
    {"hybrid-no-gn", HYB, OP_DROP, RN "stages.0.blocks.1.norm2.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {RN "stages.0.blocks.1.norm2.bias", "stage 1 unit 2"}},
    {"hybrid-no-proj-gn", HYB, OP_DROP, RN "stages.2.blocks.0.downsample.norm.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {RN "stages.2.blocks.0.downsample.norm.weight", "projection GroupNorm weight"}},
    {"hybrid-shape-conv2", HYB, OP_RESHAPE, RN "stages.1.blocks.0.conv2.weight", "32,32,1,1",
     VKVIT_ERROR_SHAPE_MISMATCH, {RN "stages.1.blocks.0.conv2.weight", "[32, 32, 1, 1]", "[32, 32, 3, 3]"}},
    {"hybrid-shape-root", HYB, OP_RESHAPE, RN "stem.conv.weight", "32,3,3,3", VKVIT_ERROR_SHAPE_MISMATCH,
     {RN "stem.conv.weight", "[32, 3, 3, 3]", "[32, 3, 7, 7]"}},
    {"hybrid-shape-gn", HYB, OP_RESHAPE, RN "stages.2.blocks.0.norm3.weight", "255", VKVIT_ERROR_SHAPE_MISMATCH,
     {RN "stages.2.blocks.0.norm3.weight", "[255]", "[256]"}},
    {"hybrid-proj-in-unit-2", HYB, OP_ADD, RN "stages.0.blocks.1.downsample.conv.weight", "128,128,1,1",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {RN "stages.0.blocks.1.downsample.conv.weight", "first unit"}},
    {"hybrid-hf-more-units", HYB_HF, OP_CONFIG, "      1\n    ],\n    \"drop_path_rate",
     "      2\n    ],\n    \"drop_path_rate", VKVIT_ERROR_MISSING_TENSOR, {"stages.2.layers.1.conv1.weight"}},
    {"hybrid-hf-fewer-stages", HYB_HF, OP_CONFIG, "      1,\n      1\n    ]", "      1\n    ]",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"stages.2.layers.0.", "2 stages"}},
    {"hybrid-hf-preactivation", HYB_HF, OP_CONFIG, "\"bottleneck\"", "\"preactivation\"", VKVIT_ERROR_UNSUPPORTED,
     {"layer_type", "preactivation"}},

    /* dtypes and byte ranges: the message names the file and the tensor */
    {"unknown-dtype", HF, OP_DTYPE, "vit.layernorm.bias", "F33", VKVIT_ERROR_UNKNOWN_DTYPE,
     {"model.safetensors", "vit.layernorm.bias", "F33"}},
    {"integer-dtype", HF, OP_DTYPE, "vit.layernorm.bias", "I32", VKVIT_ERROR_UNKNOWN_DTYPE,
     {"model.safetensors", "vit.layernorm.bias", "I32"}},
    {"overlap", HF, OP_OVERLAP, "vit.layernorm.bias", "vit.layernorm.weight", VKVIT_ERROR_BAD_TENSOR_RANGE,
     {"model.safetensors", "vit.layernorm.bias", "vit.layernorm.weight"}},
    {"offset-past-end", HF, OP_PAST_END, "vit.layernorm.bias", 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     {"model.safetensors", "vit.layernorm.bias", "past the end"}},
    {"offset-not-dtype-x-shape", HF, OP_SHORT_SPAN, "vit.layernorm.bias", 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     {"model.safetensors", "vit.layernorm.bias", "256 bytes"}},

    /* the file itself: the message names the file (and the byte where it applies) */
    {"truncated", HF, OP_CUT, "100", 0, VKVIT_ERROR_FILE_TRUNCATED, {"model.safetensors", "662960"}},
    {"truncated-1-byte", TIMM, OP_CUT, "1", 0, VKVIT_ERROR_FILE_TRUNCATED, {"model.safetensors", "303047 bytes"}},
    {"truncated-in-header", HF, OP_CUT, "662000", 0, VKVIT_ERROR_FILE_TRUNCATED, {"model.safetensors", "6016"}},
    {"header-length-past-end", HF, OP_HEADER_LEN, "", 0, VKVIT_ERROR_FILE_TRUNCATED,
     {"model.safetensors", "header length 662960"}},
    {"header-length-1", HF, OP_HEADER_LEN, "1", 0, VKVIT_ERROR_BAD_HEADER, {"model.safetensors", "header length 1"}},
    {"header-not-json", HF, OP_HEADER_BYTE, "8", "#", VKVIT_ERROR_BAD_HEADER, {"model.safetensors", "JSON"}},
    {"header-not-object", HF, OP_RAW, "16", "\x08\0\0\0\0\0\0\0[1,2]   ", VKVIT_ERROR_BAD_HEADER,
     {"model.safetensors", "not an object"}},
    {"empty-file", HF, OP_RAW, "0", "", VKVIT_ERROR_FILE_TRUNCATED, {"model.safetensors", "empty"}},
    {"five-byte-file", HF, OP_RAW, "5", "\x02\0\0\0\0", VKVIT_ERROR_FILE_TRUNCATED, {"model.safetensors", "5 bytes"}},

    /* config.json: the message names the file and the field */
    {"heads-not-dividing", HF, OP_CONFIG, "\"num_attention_heads\": 4", "\"num_attention_heads\": 5",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "num_attention_heads", "hidden_size"}},
    {"heads-zero", HF, OP_CONFIG, "\"num_attention_heads\": 4", "\"num_attention_heads\": 0", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "num_attention_heads"}},
    {"heads-negative", HF, OP_CONFIG, "\"num_attention_heads\": 4", "\"num_attention_heads\": -4",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "num_attention_heads"}},
    {"heads-string", HF, OP_CONFIG, "\"num_attention_heads\": 4", "\"num_attention_heads\": \"4\"",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "num_attention_heads"}},
    {"hidden-zero", HF, OP_CONFIG, "\"hidden_size\": 64", "\"hidden_size\": 0", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "hidden_size"}},
    {"image-absurd", HF, OP_CONFIG, "\"image_size\": 32", "\"image_size\": 100000", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "image_size", "100000"}},
    {"image-zero", HF, OP_CONFIG, "\"image_size\": 32", "\"image_size\": 0", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "image_size"}},
    {"image-nonsquare-vs-tokens", HF, OP_CONFIG, "\"image_size\": 32", "\"image_size\": [32, 24]",
     VKVIT_ERROR_SHAPE_MISMATCH, {"position_embeddings", "13"}},
    {"layers-absurd", HF, OP_CONFIG, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 100000",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "num_hidden_layers", "100000"}},
    {"mlp-absurd", HF, OP_CONFIG, "\"intermediate_size\": 256", "\"intermediate_size\": 4000000000",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "intermediate_size"}},
    {"patch-not-dividing", HF, OP_CONFIG, "\"patch_size\": 8", "\"patch_size\": 7", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "patch_size", "image_size"}},
    {"eps-zero", HF, OP_CONFIG, "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 0", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "layer_norm_eps"}},
    {"hidden-act", HF, OP_CONFIG, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "hidden_act", "relu"}},
    {"pooler-act", POOL, OP_CONFIG, "\"pooler_act\": \"tanh\"", "\"pooler_act\": \"relu\"", VKVIT_ERROR_BAD_CONFIG,
     {"pooler_act", "relu"}},
    {"pooler-size-absurd", POOL, OP_CONFIG, "\"pooler_output_size\": 56", "\"pooler_output_size\": 100000",
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "pooler_output_size", "100000"}},
    {"config-invalid-json", HF, OP_CONFIG, "\"hidden_size\": 64,", "\"hidden_size\": 64,,", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "JSON"}},
    {"config-cut", HF, OP_CONFIG_TEXT, "{\"architectures\": [\"ViTForImageClassification\"], \"hidden_size\": 6", 0,
     VKVIT_ERROR_BAD_CONFIG, {"config.json", "JSON"}},
    {"config-empty", HF, OP_CONFIG_TEXT, "", 0, VKVIT_ERROR_BAD_CONFIG, {"config.json"}},
    {"config-array", HF, OP_CONFIG_TEXT, "[64, 4]", 0, VKVIT_ERROR_BAD_CONFIG, {"config.json", "not an object"}},
    {"timm-heads-not-dividing", TIMM, OP_CONFIG, "\"num_heads\": 4", "\"num_heads\": 6", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "num_heads", "64"}},
    {"timm-embed-dim-zero", TIMM, OP_CONFIG, "\"embed_dim\": 64", "\"embed_dim\": 0", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "embed_dim"}},
    {"timm-depth-absurd", TIMM, OP_CONFIG, "\"depth\": 2", "\"depth\": 100000", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "depth", "100000"}},

    /* paths */
    {"no-such-dir", HF, OP_NO_DIR, 0, 0, VKVIT_ERROR_IO, {"No such file"}},
    {"empty-dir", HF, OP_EMPTY_DIR, 0, 0, VKVIT_ERROR_IO, {"model.safetensors"}},
    {"config-only", HF, OP_CONFIG_ONLY, 0, 0, VKVIT_ERROR_IO, {"model.safetensors"}},
    {"model-is-dir", HF, OP_MODEL_IS_DIR, 0, 0, VKVIT_ERROR_IO, {"model.safetensors"}},
    {"config-as-model", HF, OP_CONFIG_AS_MODEL, 0, 0, VKVIT_ERROR_BAD_HEADER, {"config.json", "header length"}},
    {"index-missing-shard", HF, OP_INDEX,
     "{\"metadata\": {}, \"weight_map\": {\"vit.embeddings.cls_token\": \"model-00001-of-00002.safetensors\"}}", 0,
     VKVIT_ERROR_IO, {"model-00001-of-00002.safetensors"}},
    {"index-not-json", HF, OP_INDEX, "{\"weight_map\": ", 0, VKVIT_ERROR_BAD_HEADER,
     {"model.safetensors.index.json", "JSON"}},
    /* CLIP vision towers: the text tower of a whole CLIPModel left unused, refused next to a vision-only config;
     * a projection the config promises missing, or one the config's CLIPVisionModel does not have; configs that
     * disagree with the tensors */
    {"control-clip", CLIP, OP_NONE, 0, 0, VKVIT_OK, {"hf-clip", "23-float embedding", "CLIP image embedding"}},
    {"control-clip-full", CLIP_FULL, OP_NONE, 0, 0, VKVIT_OK, {"hf-clip", "0 classes", "23-float embedding"}},
    {"clip-no-projection", CLIP, OP_DROP, "visual_projection.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"visual_projection.weight", "projection_dim 23", "CLIPVisionModelWithProjection"}},
    {"clip-projection-unexpected", CLIP, OP_CONFIG, "\"CLIPVisionModelWithProjection\"", "\"CLIPVisionModel\"",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"visual_projection.weight", "CLIPVisionModel does not have"}},
    {"clip-text-in-vision-load", CLIP, OP_ADD, "text_model.embeddings.token_embedding.weight", "11,16",
     VKVIT_ERROR_UNEXPECTED_TENSOR, {"text_model.embeddings.token_embedding.weight", "CLIP text tower"}},
    {"clip-full-as-vision-config", CLIP_FULL, OP_CONFIG, "\"model_type\": \"clip\"",
     "\"model_type\": \"clip_vision_model\"", VKVIT_ERROR_UNEXPECTED_TENSOR, {"logit_scale", "CLIP text tower"}},
    {"clip-no-pre-layrnorm", CLIP, OP_DROP, "vision_model.pre_layrnorm.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"vision_model.pre_layrnorm.bias", "pre-encoder LayerNorm"}},
    {"clip-projection-dim", CLIP, OP_CONFIG, "\"projection_dim\": 23", "\"projection_dim\": 24",
     VKVIT_ERROR_SHAPE_MISMATCH, {"visual_projection.weight", "[23, 45]", "[24, 45]"}},
    {"clip-hidden-size", CLIP, OP_CONFIG, "\"hidden_size\": 45", "\"hidden_size\": 48", VKVIT_ERROR_SHAPE_MISMATCH,
     {"vision_model.embeddings.patch_embedding.weight", "hidden 48"}},
    {"clip-config-not-clip", CLIP, OP_CONFIG, "\"model_type\": \"clip_vision_model\"", "\"model_type\": \"vit\"",
     VKVIT_ERROR_BAD_CONFIG, {"CLIP vision tower", "model_type 'vit'"}},
    {"clip-no-vision-config", CLIP_FULL, OP_CONFIG, "\"vision_config\"", "\"vision_cfg\"", VKVIT_ERROR_BAD_CONFIG,
     {"config.json", "vision_config"}},
    {"control-clip-timm", CLIP "/timm", OP_NONE, 0, 0, VKVIT_OK, {"timm", "23 classes", "45-float embedding"}},
    {"clip-timm-no-norm-pre", CLIP "/timm", OP_DROP, "norm_pre.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"'norm_pre.bias'", "pre-encoder LayerNorm bias"}},
    {"timm-norm-pre-unexpected", TIMM, OP_ADD, "norm_pre.weight", "64", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"norm_pre.weight", "a model without one"}},
    /* SigLIP: the attention-pooling head's tensors, a class token next to it, configs that disagree */
    {"control-siglip", SIGLIP, OP_NONE, 0, 0, VKVIT_OK, {"hf-siglip", "45-float embedding", "attention-pooling"}},
    {"control-siglip-timm", SIGLIP_TIMM, OP_NONE, 0, 0, VKVIT_OK, {"timm", "45-float embedding", "attention-pooling"}},
    {"control-siglip-whole-config", SIGLIP, OP_CONFIG_TEXT, "{\"architectures\": [\"SiglipModel\"], \"model_type\": "
     "\"siglip\", \"vision_config\": {\"hidden_size\": 45, \"intermediate_size\": 180, \"num_hidden_layers\": 2, "
     "\"num_attention_heads\": 3, \"image_size\": 35, \"patch_size\": 5, \"model_type\": \"siglip_vision_model\"}}",
     0, VKVIT_OK, {"hf-siglip", "45-float embedding", "attention-pooling"}},
    {"siglip-no-in-proj", SIGLIP, OP_DROP, "vision_model.head.attention.in_proj_weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"vision_model.head.attention.in_proj_weight", "attention-pool in_proj weight"}},
    {"siglip-timm-no-kv", SIGLIP_TIMM, OP_DROP, "attn_pool.kv.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"'attn_pool.kv.bias'"}},
    {"siglip-in-proj-shape", SIGLIP, OP_RESHAPE, "vision_model.head.attention.in_proj_weight", "90,45",
     VKVIT_ERROR_SHAPE_MISMATCH, {"in_proj_weight", "[90, 45]", "[135, 45]"}},
    {"siglip-class-token", SIGLIP_TIMM, OP_ADD, "cls_token", "1,1,45", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"cls_token", "SigLIP"}},
    {"siglip-config-not-siglip", SIGLIP, OP_CONFIG, "\"model_type\": \"siglip_vision_model\"",
     "\"model_type\": \"vit\"", VKVIT_ERROR_BAD_CONFIG, {"SigLIP vision tower", "model_type 'vit'"}},
    {"siglip-no-head", SIGLIP, OP_CONFIG, "\"attention_dropout\": 0.0", "\"vision_use_head\": false",
     VKVIT_ERROR_UNSUPPORTED, {"vision_use_head"}},
    {"control-timm-clip-tower", CLIP_TOWER, OP_NONE, 0, 0, VKVIT_OK, {"23-float embedding", "timm's head"}},
    {"timm-clip-tower-no-head", CLIP_TOWER, OP_DROP, "head.weight", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"CLIP image tower", "'head.weight' is missing"}},
    {"timm-clip-tower-no-head-bias", CLIP_TOWER, OP_DROP, "head.bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"CLIP image tower", "'head.bias' is missing"}},
    {"timm-clip-tower-head-shape", CLIP_TOWER, OP_RESHAPE, "head.weight", "24,45", VKVIT_ERROR_SHAPE_MISMATCH,
     {"head.weight", "[24, 45]"}},
    {"map-head-in-a-vit", TIMM, OP_ADD, "attn_pool.latent", "1,1,64", VKVIT_ERROR_UNEXPECTED_TENSOR,
     {"attn_pool.latent", "pools the class token"}},
    {"hf-quick-gelu", HF, OP_CONFIG, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"quick_gelu\"", VKVIT_OK, {0}},
};

/* Builds the case's directory; returns the path to load. */
static const char *build_case(const load_case *c)
{
    static char dir[512], path[600];
    char file[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, c->name);
    snprintf(path, sizeof path, "%s", dir);
    if (c->op == OP_NO_DIR)
        return path;
    if (mkdir(dir, 0700) != 0)
        fatal("cannot create %s", dir);
    if (c->op == OP_EMPTY_DIR)
        return path;

    /* config.json */
    snprintf(file, sizeof file, "%s/config.json", dir);
    bytes cfg = read_all(fixture_path(c->fixture, "config.json"));
    if (c->op == OP_CONFIG) {
        char *at = strstr(cfg.p, c->a);
        if (!at)
            fatal("the fixture's config.json lacks %s", c->a);
        size_t head = (size_t)(at - cfg.p), la = strlen(c->a), lb = strlen(c->b);
        char *edited = malloc(cfg.n - la + lb + 1);
        memcpy(edited, cfg.p, head);
        memcpy(edited + head, c->b, lb);
        memcpy(edited + head + lb, at + la, cfg.n - head - la + 1);
        test_write_file(file, edited, strlen(edited));
        free(edited);
    } else if (c->op == OP_CONFIG_TEXT) {
        test_write_file(file, c->a, strlen(c->a));
    } else if (c->op != OP_NO_CONFIG) {
        test_write_file(file, cfg.p, cfg.n);
    }
    free(cfg.p);
    if (c->op == OP_CONFIG_ONLY)
        return path;
    if (c->op == OP_CONFIG_AS_MODEL)
        return snprintf(path, sizeof path, "%s/config.json", dir), path;

    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    if (c->op == OP_MODEL_IS_DIR) {
        if (mkdir(file, 0700) != 0)
            fatal("cannot create %s", file);
        return path;
    }
    if (c->op == OP_INDEX) {
        snprintf(file, sizeof file, "%s/model.safetensors.index.json", dir);
        test_write_file(file, c->a, strlen(c->a));
        return path;
    }
    if (c->op == OP_RAW) {
        test_write_file(file, c->b, (size_t)atoi(c->a));
        return path;
    }
    if (c->op == OP_CUT || c->op == OP_HEADER_LEN || c->op == OP_HEADER_BYTE) {
        bytes raw = read_all(fixture_path(c->fixture, "model.safetensors"));
        size_t n = raw.n;
        if (c->op == OP_CUT) {
            n -= (size_t)atoi(c->a);
        } else if (c->op == OP_HEADER_LEN) {
            uint64_t v = *c->a ? strtoull(c->a, NULL, 10) : raw.n;
            for (int i = 0; i < 8; i++)
                raw.p[i] = (char)(uint8_t)(v >> (8 * i));
        } else {
            raw.p[atoi(c->a)] = c->b[0];
        }
        test_write_file(file, raw.p, n);
        free(raw.p);
        return path;
    }

    ckpt k = ckpt_read(c->fixture);
    switch (c->op) {
    case OP_DROP: {
        wtensor *w = ckpt_find(&k, c->a);
        memmove(w, w + 1, (size_t)(&k.t[k.n] - (w + 1)) * sizeof *w);
        k.n--;
        break;
    }
    case OP_DROP_PREFIX: {
        size_t kept = 0, la = strlen(c->a);
        for (size_t i = 0; i < k.n; i++)
            if (strncmp(k.t[i].name, c->a, la) != 0)
                k.t[kept++] = k.t[i];
        if (kept == k.n)
            fatal("no tensor starts with %s", c->a);
        k.n = kept;
        break;
    }
    case OP_ADD: {
        wtensor *w = &k.t[k.n++];
        snprintf(w->name, sizeof w->name, "%s", c->a);
        snprintf(w->dtype, sizeof w->dtype, "F32");
        w->rank = parse_shape(c->b, w->shape);
        w->size = elements(w) * 4;
        break;
    }
    case OP_RESHAPE: {
        wtensor *w = ckpt_find(&k, c->a);
        w->rank = parse_shape(c->b, w->shape);
        w->size = elements(w) * 4;
        w->data = NULL;
        break;
    }
    case OP_COPY_LAYER: {
        size_t n = k.n, la = strlen(c->a);
        for (size_t i = 0; i < n; i++)
            if (strncmp(k.t[i].name, c->a, la) == 0) {
                char renamed[sizeof k.t[0].name];
                snprintf(renamed, sizeof renamed, "%s%s", c->b, k.t[i].name + la);
                wtensor *w = &k.t[k.n++];
                *w = k.t[i];
                memcpy(w->name, renamed, sizeof renamed);
            }
        if (k.n == n)
            fatal("no tensor starts with %s", c->a);
        break;
    }
    case OP_DTYPE:
        snprintf(ckpt_find(&k, c->a)->dtype, sizeof k.t[0].dtype, "%s", c->b);
        break;
    case OP_OVERLAP:
        ckpt_find(&k, c->b)->same_as = ckpt_find(&k, c->a)->name;
        break;
    case OP_PAST_END:
        ckpt_find(&k, c->a)->past_end = true;
        break;
    case OP_SHORT_SPAN:
        ckpt_find(&k, c->a)->end_adjust = -4;
        break;
    default:
        break;
    }
    bytes b = ckpt_serialize(&k);
    test_write_file(file, b.p, b.n);
    free(b.p);
    ckpt_free(&k);
    return path;
}

static void device_bytes(const vkvit_context *ctx, uint64_t *bytes_now, uint32_t *allocations)
{
    *bytes_now = ctx->bytes_allocated;
    *allocations = ctx->allocations;
}

static void run_load_cases(vkvit_context *ctx)
{
    printf("-- loading (%zu cases; temp dir %s)\n", sizeof load_cases / sizeof *load_cases, tmp_root);
    for (size_t i = 0; i < sizeof load_cases / sizeof *load_cases; i++) {
        const load_case *c = &load_cases[i];
        const char *path = build_case(c);
        uint64_t b0, b1;
        uint32_t a0, a1;
        device_bytes(ctx, &b0, &a0);
        vkvit_model *sentinel = (vkvit_model *)(uintptr_t)0x1, *m = sentinel;
        vkvit_status s = vkvit_model_load(ctx, path, NULL, &m);
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", s ? vkvit_last_error() : "");
        if (s == VKVIT_OK && m && m != sentinel) {
            vkvit_model_info info = {.family = ""};
            vkvit_status si = vkvit_model_get_info(m, &info);
            snprintf(msg, sizeof msg, "loads: %s, %u layers, %u classes, %u-float embedding (%s)", info.family,
                     info.layers, info.num_classes, info.embedding_size, info.embedding ? info.embedding : "NULL");
            test_expect(si == VKVIT_OK, "%-26s vkvit_model_get_info", c->name);
            vkvit_model_destroy(m);
            m = NULL;
        }
        device_bytes(ctx, &b1, &a1);
        bool ok = s == c->want;
        const char *missing = NULL;
        static const char *const ten_classes[3] = {"10 classes"};
        const char *const *must = c->want == VKVIT_OK && !c->must[0] ? ten_classes : c->must;
        if (c->want != VKVIT_OK && !strstr(msg, c->name))
            missing = c->name;
        for (int k = 0; k < 3 && must[k] && !missing; k++)
            if (!strstr(msg, must[k]))
                missing = must[k];
        test_expect(ok && !missing, "%-26s -> %s%s%s | %s", c->name, vkvit_status_string(s),
                    ok ? "" : " (expected ", ok ? "" : vkvit_status_string(c->want), msg);
        if (!ok && c->want != VKVIT_OK)
            printf("     expected %s\n", vkvit_status_string(c->want));
        if (missing)
            printf("     the message does not contain \"%s\"\n", missing);
        if (s != VKVIT_OK)
            test_expect(m == NULL, "%-26s    *out is NULL after the failure", c->name);
        test_expect(b1 == b0 && a1 == a0, "%-26s    device memory back to %llu bytes in %u allocations (now %llu in %u)",
                    c->name, (unsigned long long)b0, a0, (unsigned long long)b1, a1);
    }
}

/* ---- run time ----------------------------------------------------------------------------------- */

static void expect_status(const char *what, vkvit_status got, vkvit_status want, const char *substr)
{
    const char *msg = got ? vkvit_last_error() : "";
    bool named = !substr || strstr(msg, substr);
    test_expect(got == want && named, "%-62s -> %s | %s", what, vkvit_status_string(got), msg);
    if (got != want)
        printf("     expected %s\n", vkvit_status_string(want));
    else if (!named)
        printf("     the message does not contain \"%s\"\n", substr);
}
#define EXPECT_STATUS(call, want, substr) expect_status(#call, (call), (want), (substr))

/* image_height / image_width: each side a multiple of the patch size (hf-vit: 8) and at most 4096, each taken
 * from its own option, else image_size, else the checkpoint (32); vkvit_run then takes exactly height x width; a
 * hybrid refuses a non-square size. */
static void test_nonsquare_sizes(vkvit_context *ctx)
{
    vkvit_model *mo = (vkvit_model *)(uintptr_t)0x1;
    const char *hf = fixture_path("hf-vit", NULL);
    EXPECT_STATUS(vkvit_model_load(ctx, hf, &(vkvit_model_options){.image_height = 24, .image_width = 36}, &mo),
                  VKVIT_ERROR_INVALID_ARGUMENT, "image size 24x36 (height x width): not a multiple of the patch size "
                  "(the checkpoint's patch size is 8, its image size 32)");
    test_expect(mo == NULL, "vkvit_model_load(24x36) leaves *out NULL");
    EXPECT_STATUS(vkvit_model_load(ctx, hf, &(vkvit_model_options){.image_size = 36, .image_width = 16}, &mo),
                  VKVIT_ERROR_INVALID_ARGUMENT, "image size 36x16 (height x width): not a multiple of the patch size");
    EXPECT_STATUS(vkvit_model_load(ctx, hf, &(vkvit_model_options){.image_width = 4104}, &mo),
                  VKVIT_ERROR_INVALID_ARGUMENT, "image size 32x4104 (height x width): above 4096");
    EXPECT_STATUS(vkvit_model_load(ctx, fixture_path("hybrid/root/timm", NULL),
                                   &(vkvit_model_options){.image_height = 64, .image_width = 32}, &mo),
                  VKVIT_ERROR_UNSUPPORTED, "a hybrid (ResNet stem) runs square images only");
    test_expect(mo == NULL, "a non-square hybrid leaves *out NULL");
    static const struct {
        vkvit_model_options o;
        uint32_t h, w;
    } ok[] = {
        {{.image_height = 16, .image_width = 40}, 16, 40},
        {{.image_size = 24, .image_width = 40}, 24, 40},
        {{.image_width = 8}, 32, 8},
        {{.image_size = 16, .image_height = 8}, 8, 16},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        vkvit_model_info mi;
        EXPECT_STATUS(vkvit_model_load(ctx, hf, &ok[i].o, &mo), VKVIT_OK, NULL);
        EXPECT_STATUS(vkvit_model_get_info(mo, &mi), VKVIT_OK, NULL);
        test_expect(mi.image_height == ok[i].h && mi.image_width == ok[i].w && mi.grid_height == ok[i].h / 8 &&
                        mi.grid_width == ok[i].w / 8 && mi.tokens == 1 + ok[i].h / 8 * (ok[i].w / 8),
                    "hf-vit at %ux%u: info %ux%u, grid %ux%u, %u tokens", ok[i].h, ok[i].w, mi.image_height,
                    mi.image_width, mi.grid_height, mi.grid_width, mi.tokens);
        if (i == 0) { /* vkvit_run takes [n][3][16][40] and nothing else */
            vkvit_plan *p = NULL;
            EXPECT_STATUS(vkvit_plan_create(mo, &(vkvit_plan_options){.batch = 1}, &p), VKVIT_OK, NULL);
            float *x = test_alloc(3 * 16 * 40);
            for (size_t k = 0; k < 3 * 16 * 40; k++)
                x[k] = (float)(k % 7) * 0.1f;
            vkvit_tensor good = {x, 1, 3, 16, 40}, swapped = {x, 1, 3, 40, 16}, square = {x, 1, 3, 16, 16};
            EXPECT_STATUS(vkvit_run(p, &swapped, NULL), VKVIT_ERROR_INPUT_SIZE, "input is 3x40x16 (channels x height "
                          "x width), the model takes 3x16x40");
            EXPECT_STATUS(vkvit_run(p, &square, NULL), VKVIT_ERROR_INPUT_SIZE, "the model takes 3x16x40");
            EXPECT_STATUS(vkvit_run(p, &good, NULL), VKVIT_OK, NULL);
            vkvit_plan_destroy(p);
            free(x);
        }
        vkvit_model_destroy(mo);
    }
}

static void run_time_cases(vkvit_context *ctx)
{
    printf("-- run time\n");
    vkvit_model *m = NULL;
    test_ok(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), NULL, &m), "loading tests/data/hf-vit");
    vkvit_model_info mi;
    test_ok(vkvit_model_get_info(m, &mi), "model info");
    const size_t per_image = (size_t)mi.channels * mi.image_size * mi.image_size, K = mi.num_classes;
    float *input = test_read_tensor(fixture_path("hf-vit", "expected.safetensors"), "input", 2 * per_image);
    float *three = test_alloc(3 * per_image);
    memcpy(three, input, 2 * per_image * sizeof *three);
    memcpy(three + 2 * per_image, input, per_image * sizeof *three);
    float logits[64];
    vkvit_prediction top[16];
    double rel;

    vkvit_plan *p = NULL, *sentinel = (vkvit_plan *)(uintptr_t)0x1, *q = sentinel;
    vkvit_plan_options po = {.batch = 2};
    EXPECT_STATUS(vkvit_plan_create(m, &(vkvit_plan_options){.batch = 100000}, &q), VKVIT_ERROR_INVALID_ARGUMENT,
                  "100000");
    test_expect(q == NULL, "plan_create failure leaves *out NULL");
    test_ok(vkvit_plan_create(m, &po, &p), "plan batch 2");

    /* outputs before any run */
    EXPECT_STATUS(vkvit_get_logits(p, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");
    EXPECT_STATUS(vkvit_get_probabilities(p, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");
    EXPECT_STATUS(vkvit_get_embeddings(p, logits, 64 * 3), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");
    EXPECT_STATUS(vkvit_top_k(p, 0, 1, top), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");
    EXPECT_STATUS(vkvit_verify(p, &rel), VKVIT_ERROR_UNSUPPORTED, "keep_host_weights");

    /* bad inputs */
    vkvit_tensor in = {input, 2, 3, 32, 32};
    vkvit_tensor t3 = {three, 3, 3, 32, 32};
    EXPECT_STATUS(vkvit_run(p, &t3, NULL), VKVIT_ERROR_BATCH_TOO_LARGE, "batch 2");
    vkvit_tensor h31 = {input, 1, 3, 31, 32}, w33 = {input, 1, 3, 32, 33}, c1 = {input, 1, 1, 32, 32},
                 c4 = {input, 1, 4, 32, 32}, none = {input, 0, 3, 32, 32}, nodata = {NULL, 1, 3, 32, 32};
    EXPECT_STATUS(vkvit_run(p, &h31, NULL), VKVIT_ERROR_INPUT_SIZE, "31");
    EXPECT_STATUS(vkvit_run(p, &w33, NULL), VKVIT_ERROR_INPUT_SIZE, "33");
    EXPECT_STATUS(vkvit_run(p, &c1, NULL), VKVIT_ERROR_INPUT_SIZE, "3x32x32");
    EXPECT_STATUS(vkvit_run(p, &c4, NULL), VKVIT_ERROR_INPUT_SIZE, "4x32x32");
    EXPECT_STATUS(vkvit_run(p, &none, NULL), VKVIT_ERROR_INVALID_ARGUMENT, "n = 0");
    EXPECT_STATUS(vkvit_run(p, &nodata, NULL), VKVIT_ERROR_INVALID_ARGUMENT, "input");
    EXPECT_STATUS(vkvit_get_logits(p, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");

    /* a good run, then bad output requests */
    EXPECT_STATUS(vkvit_run(p, &in, NULL), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_get_logits(p, logits, 2 * K - 1), VKVIT_ERROR_INVALID_ARGUMENT, "capacity 19");
    EXPECT_STATUS(vkvit_get_logits(p, logits, 0), VKVIT_ERROR_INVALID_ARGUMENT, "capacity 0");
    EXPECT_STATUS(vkvit_get_probabilities(p, logits, 2 * K - 1), VKVIT_ERROR_INVALID_ARGUMENT, "capacity 19");
    EXPECT_STATUS(vkvit_get_embeddings(p, logits, 2 * 64 - 1), VKVIT_ERROR_INVALID_ARGUMENT, "capacity 127");
    EXPECT_STATUS(vkvit_get_attention(p, logits, 64), VKVIT_ERROR_UNSUPPORTED, "attention_maps");
    EXPECT_STATUS(vkvit_get_logits(p, logits, 2 * K), VKVIT_OK, NULL);
    float *expected = test_read_tensor(fixture_path("hf-vit", "expected.safetensors"), "logits", 2 * K);
    test_check("hf-vit logits after the rejected calls (batch 2)", logits, expected, 2 * K, 1e-4);
    free(expected);
    EXPECT_STATUS(vkvit_top_k(p, 0, 11, top), VKVIT_ERROR_INVALID_ARGUMENT, "k = 11");
    EXPECT_STATUS(vkvit_top_k(p, 0, 0, top), VKVIT_ERROR_INVALID_ARGUMENT, "k = 0");
    EXPECT_STATUS(vkvit_top_k(p, 2, 1, top), VKVIT_ERROR_INVALID_ARGUMENT, "image 2");
    EXPECT_STATUS(vkvit_top_k(p, 1, 10, top), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_run(p, &t3, NULL), VKVIT_ERROR_BATCH_TOO_LARGE, "3 images");
    /* one image into a batch-2 plan: outputs for one image only */
    vkvit_tensor one = {input, 1, 3, 32, 32};
    EXPECT_STATUS(vkvit_run(p, &one, NULL), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_get_logits(p, logits, K), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_top_k(p, 1, 1, top), VKVIT_ERROR_INVALID_ARGUMENT, "image 1");

    /* NULL arguments everywhere: INVALID_ARGUMENT, *out NULL, no crash */
    vkvit_model *mo = (vkvit_model *)(uintptr_t)0x1;
    EXPECT_STATUS(vkvit_model_load(NULL, fixture_path("hf-vit", NULL), NULL, &mo), VKVIT_ERROR_INVALID_ARGUMENT,
                  "context");
    test_expect(mo == NULL, "vkvit_model_load(NULL context) leaves *out NULL");
    mo = (vkvit_model *)(uintptr_t)0x1;
    EXPECT_STATUS(vkvit_model_load(ctx, NULL, NULL, &mo), VKVIT_ERROR_INVALID_ARGUMENT, "path");
    test_expect(mo == NULL, "vkvit_model_load(NULL path) leaves *out NULL");
    EXPECT_STATUS(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), NULL, NULL), VKVIT_ERROR_INVALID_ARGUMENT,
                  NULL);
    EXPECT_STATUS(vkvit_model_load(ctx, "", NULL, &mo), VKVIT_ERROR_IO, NULL);
    /* image_size: a multiple of the patch size (hf-vit: 8), at most 4096; *out NULL and nothing left allocated */
    mo = (vkvit_model *)(uintptr_t)0x1;
    EXPECT_STATUS(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), &(vkvit_model_options){.image_size = 36}, &mo),
                  VKVIT_ERROR_INVALID_ARGUMENT, "image_size 36: not a multiple of the patch size (the checkpoint's "
                  "patch size is 8, its image size 32)");
    test_expect(mo == NULL, "vkvit_model_load(image_size 36) leaves *out NULL");
    EXPECT_STATUS(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), &(vkvit_model_options){.image_size = 4104},
                                   &mo), VKVIT_ERROR_INVALID_ARGUMENT, "image_size 4104: above 4096");
    EXPECT_STATUS(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), &(vkvit_model_options){.image_size = 8}, &mo),
                  VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_model_get_info(mo, &mi), VKVIT_OK, NULL);
    test_expect(mi.image_size == 8 && mi.tokens == 2, "hf-vit at 8 px: one patch, 2 tokens (%u, %u)", mi.image_size,
                mi.tokens);
    vkvit_model_destroy(mo);
    test_nonsquare_sizes(ctx);
    EXPECT_STATUS(vkvit_model_get_info(NULL, &mi), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_model_get_info(m, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    test_expect(vkvit_model_label(NULL, 0) == NULL, "vkvit_model_label(NULL, 0) is NULL");
    test_expect(vkvit_model_label(m, 10) == NULL, "vkvit_model_label(m, 10) is NULL (10 classes)");
    const char *label0 = vkvit_model_label(m, 0);
    test_expect(label0 && strcmp(label0, "airplane") == 0, "vkvit_model_label(m, 0) is airplane");
    q = sentinel;
    EXPECT_STATUS(vkvit_plan_create(NULL, &po, &q), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    test_expect(q == NULL, "vkvit_plan_create(NULL model) leaves *out NULL");
    EXPECT_STATUS(vkvit_plan_create(m, &po, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    vkvit_plan_info pi;
    EXPECT_STATUS(vkvit_plan_get_info(NULL, &pi), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_plan_get_info(p, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_run(NULL, &in, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_run(p, NULL, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_logits(NULL, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_logits(p, NULL, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_probabilities(NULL, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_probabilities(p, NULL, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_embeddings(NULL, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_embeddings(p, NULL, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_get_attention(NULL, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_top_k(NULL, 0, 1, top), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_top_k(p, 0, 1, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_verify(NULL, &rel), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_verify(p, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    vkvit_device_info di;
    EXPECT_STATUS(vkvit_context_device_info(NULL, &di), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_context_device_info(ctx, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_enumerate_devices(NULL, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    vkvit_context_options co = {0};
    EXPECT_STATUS(vkvit_context_create(&co, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    EXPECT_STATUS(vkvit_context_adopt(NULL, &co, NULL), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    vkvit_context *cx = (vkvit_context *)(uintptr_t)0x1;
    EXPECT_STATUS(vkvit_context_adopt(NULL, &co, &cx), VKVIT_ERROR_INVALID_ARGUMENT, NULL);
    test_expect(cx == NULL, "vkvit_context_adopt(NULL adopt info) leaves *out NULL");
    test_expect(vkvit_status_string(VKVIT_STATUS_COUNT) != NULL && vkvit_status_string((vkvit_status)-1) != NULL,
                "vkvit_status_string of out-of-range values is not NULL");
    vkvit_model_destroy(NULL);
    vkvit_plan_destroy(NULL);
    vkvit_context_destroy(NULL);
    test_expect(true, "vkvit_model_destroy(NULL), vkvit_plan_destroy(NULL), vkvit_context_destroy(NULL) return");

    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);

    /* host weights kept: verify before a run; attention maps with too small a capacity */
    test_ok(vkvit_model_load(ctx, fixture_path("hf-vit", NULL), &(vkvit_model_options){.keep_host_weights = 1}, &m),
            "loading tests/data/hf-vit with host weights");
    test_ok(vkvit_plan_create(m, &(vkvit_plan_options){.batch = 1, .attention_maps = 1}, &p), "plan with maps");
    EXPECT_STATUS(vkvit_verify(p, &rel), VKVIT_ERROR_INVALID_ARGUMENT, "nothing has run");
    EXPECT_STATUS(vkvit_get_attention(p, logits, 64), VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_run");
    EXPECT_STATUS(vkvit_run(p, &one, NULL), VKVIT_OK, NULL);
    float maps[3 * 17];
    EXPECT_STATUS(vkvit_get_attention(p, maps, 3 * 17 - 1), VKVIT_ERROR_INVALID_ARGUMENT, "capacity 50");
    EXPECT_STATUS(vkvit_get_attention(p, maps, 3 * 17), VKVIT_OK, NULL);
    rel = -1;
    EXPECT_STATUS(vkvit_verify(p, &rel), VKVIT_OK, NULL);
    test_expect(rel >= 0 && rel < 1e-4, "vkvit_verify after the rejected calls: rel %.3e < 1e-4", rel);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);

    /* a backbone has no logits */
    test_ok(vkvit_model_load(ctx, fixture_path("backbone", NULL), NULL, &m), "loading tests/data/backbone");
    test_ok(vkvit_plan_create(m, NULL, &p), "backbone plan");
    EXPECT_STATUS(vkvit_get_logits(p, logits, 64), VKVIT_ERROR_UNSUPPORTED, "backbone");
    EXPECT_STATUS(vkvit_run(p, &one, NULL), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_get_logits(p, logits, 64), VKVIT_ERROR_UNSUPPORTED, "backbone");
    EXPECT_STATUS(vkvit_get_probabilities(p, logits, 64), VKVIT_ERROR_UNSUPPORTED, "backbone");
    EXPECT_STATUS(vkvit_top_k(p, 0, 1, top), VKVIT_ERROR_UNSUPPORTED, "backbone");
    EXPECT_STATUS(vkvit_get_embeddings(p, logits, 64), VKVIT_OK, NULL);
    EXPECT_STATUS(vkvit_run(p, &in, NULL), VKVIT_ERROR_BATCH_TOO_LARGE, "batch 1");
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);

    free(three);
    free(input);
}

/* ---- precision ---------------------------------------------------------------------------------- */

static void expect_precision(vkvit_context *ctx, const char *path, vkvit_precision want_prec, const char *what)
{
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = VKVIT_PRECISION_AUTO}, &m);
    vkvit_model_info mi = {0};
    if (s == VKVIT_OK)
        vkvit_model_get_info(m, &mi);
    test_expect(s == VKVIT_OK && mi.precision == want_prec, "%s: AUTO loads as %s (got %s, %s)", what,
                vkvit_precision_string(want_prec), vkvit_status_string(s), vkvit_precision_string(mi.precision));
    vkvit_model_destroy(m);
}

static void run_precision_cases(vkvit_context *ctx)
{
    printf("-- precision\n");
    const char *hf = fixture_path("hf-vit", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s", hf);
    vkvit_model *m = NULL;
    /* AUTO on a CPU device is fp32 (fp16 is emulated there, and slower); VKVIT_PRECISION overrides AUTO
     * only; a bad value is named. */
    expect_precision(ctx, path, ctx->fp16 && ctx->info.type != VKVIT_DEVICE_CPU ? VKVIT_PRECISION_FP16
                                                                               : VKVIT_PRECISION_FP32, "device default");
    setenv("VKVIT_PRECISION", "fp32", 1);
    expect_precision(ctx, path, VKVIT_PRECISION_FP32, "VKVIT_PRECISION=fp32");
    if (ctx->fp16) {
        setenv("VKVIT_PRECISION", "fp16", 1);
        expect_precision(ctx, path, VKVIT_PRECISION_FP16, "VKVIT_PRECISION=fp16");
        vkvit_model_info mi = {0};
        test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = VKVIT_PRECISION_FP32}, &m), "fp32");
        vkvit_model_get_info(m, &mi);
        test_expect(mi.precision == VKVIT_PRECISION_FP32, "an explicit FP32 wins over VKVIT_PRECISION=fp16");
        vkvit_model_destroy(m);
        m = NULL;
    }
    setenv("VKVIT_PRECISION", "fp8", 1);
    EXPECT_STATUS(vkvit_model_load(ctx, path, NULL, &m), VKVIT_ERROR_INVALID_ARGUMENT, "VKVIT_PRECISION=fp8");
    unsetenv("VKVIT_PRECISION");
    EXPECT_STATUS(vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = (vkvit_precision)7}, &m),
                  VKVIT_ERROR_INVALID_ARGUMENT, "precision 7");
    test_expect(strcmp(vkvit_precision_string((vkvit_precision)7), "auto") == 0 &&
                strcmp(vkvit_precision_string(VKVIT_PRECISION_FP16), "fp16") == 0, "vkvit_precision_string");

    /* A context without the fp16 path (an adopted device that did not enable it, or a device
     * without it): FP16 is refused by name, AUTO falls back to fp32. */
    const bool had = ctx->fp16;
    ctx->fp16 = false;
    EXPECT_STATUS(vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = VKVIT_PRECISION_FP16}, &m),
                  VKVIT_ERROR_UNSUPPORTED, "shaderFloat16");
    expect_precision(ctx, path, VKVIT_PRECISION_FP32, "no fp16 path");
    ctx->fp16 = had;
    if (!test_fp16(ctx))
        return;

    /* A weight beyond fp16's range would silently become infinity: refused, naming the tensor and the
     * element; the same checkpoint loads in fp32. */
    ckpt c = ckpt_read("hf-vit");
    wtensor *w = ckpt_find(&c, "vit.encoder.layer.1.output.dense.weight");
    float *big = test_alloc(elements(w));
    memcpy(big, w->data, elements(w) * sizeof *big);
    big[5] = 1e5f;
    w->data = big;
    snprintf(path, sizeof path, "%s/fp16-overflow", tmp_root);
    if (mkdir(path, 0700) != 0)
        fatal("cannot create %s", path);
    char file[700];
    snprintf(file, sizeof file, "%s/model.safetensors", path);
    bytes out = ckpt_serialize(&c);
    test_write_file(file, out.p, out.n);
    free(out.p);
    bytes cfg = read_all(fixture_path("hf-vit", "config.json"));
    snprintf(file, sizeof file, "%s/config.json", path);
    test_write_file(file, cfg.p, cfg.n);
    free(cfg.p);
    uint64_t b0, b1;
    uint32_t a0, a1;
    device_bytes(ctx, &b0, &a0);
    EXPECT_STATUS(vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = VKVIT_PRECISION_FP16}, &m),
                  VKVIT_ERROR_UNSUPPORTED, "block 1's fc2/output weight[5] = 100000");
    test_expect(m == NULL, "fp16 overflow: *out stays NULL");
    device_bytes(ctx, &b1, &a1);
    test_expect(b1 == b0 && a1 == a0, "fp16 overflow: no device memory left behind");
    test_ok(vkvit_model_load(ctx, path, &(vkvit_model_options){.precision = VKVIT_PRECISION_FP32}, &m),
            "the same checkpoint in fp32");
    vkvit_model_destroy(m);
    free(big);
    ckpt_free(&c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    vkvit_context *ctx = test_context();
    tmp_root = test_temp_dir("model-errors");
    uint64_t b0, b1;
    uint32_t a0, a1;
    device_bytes(ctx, &b0, &a0);

    run_load_cases(ctx);
    run_time_cases(ctx);
    run_precision_cases(ctx);

    device_bytes(ctx, &b1, &a1);
    test_expect(b1 == b0 && a1 == a0, "device memory at the end: %llu bytes in %u allocations (start: %llu in %u)",
                (unsigned long long)b1, a1, (unsigned long long)b0, a0);
    test_remove_tree(tmp_root);
    struct stat st;
    test_expect(stat(tmp_root, &st) != 0, "temp dir %s removed", tmp_root);
    return test_finish(ctx);
}
