/* Checkpoint -> canonical weights: the naming table of each family, shape inference, the
 * configuration reconciled with the tensors, every tensor checked, then read into its place. */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors.h"

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

static const name_entry timm_names[] = {
    {"cls_token", false, W_CLS, -1, true},
    {"dist_token", false, W_DIST, -1, true},
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
    {"norm.weight", false, W_NORM_W, -1, true},
    {"norm.bias", false, W_NORM_B, -1, true},
    {"pre_logits.fc.weight", false, W_PRE_W, -1, true},
    {"pre_logits.fc.bias", false, W_PRE_B, -1, true},
    {"head.weight", false, W_HEAD_W, -1, true},
    {"head.bias", false, W_HEAD_B, -1, true},
    {"head_dist.weight", false, W_HEAD_DIST_W, -1, true},
    {"head_dist.bias", false, W_HEAD_DIST_B, -1, true},
};

/* Tensors some exports carry that inference does not use (the masked-image token of pre-training
 * heads). Anything else unknown is an error naming it. */
static const char *const ignored_suffixes[] = {"embeddings.mask_token"};

typedef struct family {
    const char *name;
    const name_entry *names;
    size_t n_names;
    const char *probe;     /* a tensor every checkpoint of the family has */
    const char *prefix;
    bool split_qkv;        /* query, key and value in three tensors each (HF), not one fused qkv (timm) */
    bool pooler;           /* its pre-logits layer is HF's pooler: a backbone's output, never a classifier's
                            * input (timm's pre_logits feeds the head) */
} family;

static const family families[] = {
    {"hf-vit", hf_names, sizeof hf_names / sizeof *hf_names, "vit.embeddings.cls_token", "vit.", true, true},
    {"hf-deit", hf_names, sizeof hf_names / sizeof *hf_names, "deit.embeddings.cls_token", "deit.", true, true},
    {"hf-vit", hf_names, sizeof hf_names / sizeof *hf_names, "embeddings.cls_token", "", true, true},
    {"timm", timm_names, sizeof timm_names / sizeof *timm_names, "cls_token", "", false, false},
};

/* The tensors found, by slot: [global slot] and [layer][slot][part 0..2]. */
typedef struct found {
    const st_tensor *global[W_GLOBAL_COUNT];
    const st_tensor *(*layer)[L_SLOT_COUNT][3];
    uint32_t layers;       /* 1 + highest block index seen */
} found;

#define MAX_LAYER_INDEX 1024

/* Matches `name` against `pattern` with at most one "%u"; sets *index. */
static bool match_name(const char *pattern, const char *prefix, bool bare, const char *name, unsigned *index)
{
    size_t np = bare ? 0 : strlen(prefix);
    if (np && strncmp(name, prefix, np) != 0)
        return false;
    name += np;
    const char *pct = strstr(pattern, "%u");
    if (!pct)
        return strcmp(pattern, name) == 0;
    size_t head = (size_t)(pct - pattern);
    if (strncmp(pattern, name, head) != 0)
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
    *index = v;
    return strcmp(p, pct + 2) == 0;
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

static vkvit_status collect(const st_file *f, const family *fam, const char *path, found *out)
{
    memset(out, 0, sizeof *out);
    out->layer = calloc(MAX_LAYER_INDEX, sizeof *out->layer);
    if (!out->layer)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "tensor table");
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        bool matched = false;
        for (size_t e = 0; e < fam->n_names && !matched; e++) {
            const name_entry *ne = &fam->names[e];
            unsigned li = 0;
            if (!match_name(ne->name, fam->prefix, ne->bare, t->name, &li))
                continue;
            matched = true;
            int part = ne->part < 0 ? 0 : ne->part;
            const st_tensor **slot = ne->layer ? &out->layer[li][ne->slot][part] : &out->global[ne->slot];
            if (*slot)
                return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' fills the same weight as '%s'", path,
                            t->name, (*slot)->name);
            *slot = t;
            if (ne->layer && li + 1 > out->layers)
                out->layers = li + 1;
        }
        if (!matched && !is_ignored(t->name))
            return fail(VKVIT_ERROR_UNEXPECTED_TENSOR,
                        "%s: tensor '%s' is not part of a %s ViT/DeiT (unknown name)", path, t->name, fam->name);
    }
    return VKVIT_OK;
}

/* ---- the configuration from the shapes -------------------------------------------------------------- */

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

static vkvit_status infer_config(const found *fd, const char *path, vit_config *c)
{
    uint64_t d[ST_MAX_RANK];
    const st_tensor *pw = fd->global[W_PATCH_W], *pos = fd->global[W_POS], *cls = fd->global[W_CLS];
    const char *missing = !pw ? "patch embedding weight" : !pos ? "position embedding" : !cls ? "class token" : NULL;
    if (missing)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the %s is missing (%s)", path, missing,
                    !pw ? "patch_embed.proj.weight / *.patch_embeddings.projection.weight"
                    : !pos ? "pos_embed / *.embeddings.position_embeddings" : "cls_token / *.embeddings.cls_token");
    if (pw->rank != 4 || pw->shape[2] != pw->shape[3] || pw->shape[0] == 0)
        return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be [D, C, P, P] (rank %u)", path, pw->name,
                    pw->rank);
    bool distilled = fd->global[W_DIST] != NULL;
    if ((c->present & CONFIG_DISTILLED) && c->distilled != distilled)
        return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: the config says %sdistilled but the distillation token is %s",
                    path, c->distilled ? "" : "not ", distilled ? "present" : "missing");
    c->distilled = distilled;
    if (!(c->present & CONFIG_HIDDEN))
        c->hidden = (uint32_t)pw->shape[0];
    if (!(c->present & CONFIG_CHANNELS))
        c->channels = (uint32_t)pw->shape[1];
    if (!(c->present & CONFIG_PATCH))
        c->patch = (uint32_t)pw->shape[2];
    if (!(c->present & CONFIG_IMAGE)) {
        uint32_t r = squeeze(pos, d);
        uint64_t prefix = distilled ? 2 : 1;
        uint64_t patches = r == 2 && d[0] > prefix ? d[0] - prefix : 0;
        uint64_t grid = (uint64_t)llround(sqrt((double)patches));
        if (patches == 0 || grid * grid != patches)
            return fail(VKVIT_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' should be [1, prefix + grid^2, D] with a "
                        "square grid; its token count does not give one", path, pos->name);
        c->image = (uint32_t)(grid * c->patch);
    }
    if (!(c->present & CONFIG_LAYERS))
        c->layers = fd->layers;
    const st_tensor *fc1 = fd->layer[0][L_FC1_W][0];
    if (!(c->present & CONFIG_MLP) && fc1 && fc1->rank == 2)
        c->mlp = (uint32_t)fc1->shape[0];
    if (!(c->present & CONFIG_QKV_BIAS))
        c->qkv_bias = fd->layer[0][L_QKV_B][0] != NULL;
    /* The classifier's presence and shape decide the class count (HF backbones save a
     * placeholder id2label). */
    const st_tensor *head = fd->global[W_HEAD_W];
    uint32_t k = head && head->rank == 2 ? (uint32_t)head->shape[0] : 0;
    if (!head && c->num_labels) {
        c->num_labels = 0;
        labels_free(&c->labels);
        c->present &= ~(uint32_t)(CONFIG_LABELS | CONFIG_NUM_LABELS);
    } else if (head && !(c->present & CONFIG_NUM_LABELS)) {
        c->num_labels = k;
    }
    return VKVIT_OK;
}

/* The pre-logits layer, pre = tanh(W . cls + b) on the final-LayerNorm class token: timm's pre_logits.fc
 * (older representation_size models; the head reads pre) or HF's pooler (ViTModel, DeiTModel: the
 * backbone's output). HF's classification models have no pooler and would ignore one, so a checkpoint
 * with a classifier leaves its pooler unused. R from the tensors' shapes unless the config gives it
 * (check_all then holds the tensors to it); the HF config's pooler_output_size only counts where there
 * is a pooler. Call after infer_config (distilled known). */
static vkvit_status pre_logits_config(found *fd, const family *fam, const char *path, vit_config *c)
{
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
    if (!(c->present & CONFIG_REPRESENTATION))
        c->representation = !any ? 0 : any->rank >= 1 ? (uint32_t)any->shape[0] : 1; /* a scalar: check_all says */
    return VKVIT_OK;
}

/* ---- every tensor checked against the configuration ------------------------------------------------- */

/* The shape a checkpoint's tensor for a slot has (leading 1s dropped), for one q/k/v part when split. */
static uint32_t expected_shape(const vit_dims *d, bool layer, int slot, bool split, uint64_t out[4])
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
    case W_PATCH_W: out[0] = d->D; out[1] = d->C; out[2] = d->P; out[3] = d->P; return 4;
    case W_POS: out[0] = d->T; out[1] = d->D; return 2;
    case W_PRE_W: out[0] = d->R; out[1] = d->D; return 2;
    case W_PRE_B: out[0] = d->R; return 1;
    case W_HEAD_W: case W_HEAD_DIST_W: out[0] = d->K; out[1] = d->E; return 2; /* each head: folded later */
    case W_HEAD_B: case W_HEAD_DIST_B: out[0] = d->K; return 1;
    default: out[0] = d->D; return 1;
    }
}

static vkvit_status check_shape(const st_tensor *t, const vit_dims *d, bool layer, int slot, bool split,
                                const char *path)
{
    uint64_t want[4], got[ST_MAX_RANK];
    uint32_t rw = expected_shape(d, layer, slot, split, want), rg = squeeze(t, got);
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

static vkvit_status check_all(const found *fd, const vit_dims *d, bool split_qkv, bool qkv_bias, const family *fam,
                              const char *path)
{
    char names[256];
    vkvit_status s;
    if (fd->layers > d->L) {
        for (int slot = 0; slot < L_SLOT_COUNT; slot++)
            for (int p = 0; p < 3; p++)
                if (fd->layer[d->L][slot][p])
                    return fail(VKVIT_ERROR_UNEXPECTED_TENSOR, "%s: tensor '%s' belongs to block %u, but the model has "
                                "%u blocks", path, fd->layer[d->L][slot][p]->name, d->L, d->L);
    }
    bool has_head = fd->global[W_HEAD_W] || fd->global[W_HEAD_B];
    for (int slot = 0; slot < W_GLOBAL_COUNT; slot++) {
        bool required = slot != W_DIST && slot != W_HEAD_W && slot != W_HEAD_B && slot != W_HEAD_DIST_W &&
                        slot != W_HEAD_DIST_B;
        if (slot == W_DIST)
            required = d->prefix == 2;
        if (slot == W_PRE_W || slot == W_PRE_B)
            required = d->R > 0;
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
        if (t && (s = check_shape(t, d, false, slot, false, path)))
            return s;
    }
    static const char *const qkv_part[3] = {"query", "key", "value"};
    for (uint32_t l = 0; l < d->L; l++)
        for (int slot = 0; slot < L_SLOT_COUNT; slot++) {
            bool split = split_qkv && (slot == L_QKV_W || slot == L_QKV_B);
            for (int p = 0; p < (split ? 3 : 1); p++) {
                const st_tensor *t = fd->layer[l][slot][p];
                if (!t && slot == L_QKV_B && !qkv_bias)
                    continue;
                if (!t)
                    return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: block %u's %s%s%s (%s) is missing", path, l,
                                split ? qkv_part[p] : vit_slot_name(true, slot), split ? " " : "",
                                split ? (slot == L_QKV_W ? "weight" : "bias") : "",
                                slot_names(fam, true, slot, p, l, names, sizeof names));
                if ((s = check_shape(t, d, true, slot, split, path)))
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

struct checkpoint {
    st_file *st;
    const family *fam;
    found fd;
    vit_dims dims;         /* of the configuration the tensors were checked against */
    uint64_t parameters;
};

/* The first family whose probe tensor the file holds. */
static vkvit_status find_family(const st_file *st, const char *path, const family **out)
{
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (st_find(st, families[i].probe)) {
            *out = &families[i];
            return VKVIT_OK;
        }
    return fail(VKVIT_ERROR_MISSING_TENSOR, "%s: not a ViT/DeiT checkpoint: no class token (looked for "
                "'vit.embeddings.cls_token', 'deit.embeddings.cls_token', 'embeddings.cls_token', 'cls_token')", path);
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

vkvit_status checkpoint_open(const char *path, vit_config *cfg, preprocess_spec *pre, checkpoint **out)
{
    *out = NULL;
    char dir[1024], cfg_path[1100];
    checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "checkpoint");
    model_dir(path, dir, sizeof dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    const bool has_config = file_exists(cfg_path);
    vkvit_status s;
    if ((has_config && (s = config_load(cfg_path, cfg))) || (s = st_open(path, &ck->st)) ||
        (s = find_family(ck->st, path, &ck->fam)) || (s = collect(ck->st, ck->fam, path, &ck->fd)) ||
        (s = infer_config(&ck->fd, path, cfg)) || (s = pre_logits_config(&ck->fd, ck->fam, path, cfg)))
        goto fail;
    config_apply_defaults(cfg);
    if ((s = read_labels(dir, cfg)) || (s = config_validate(cfg, has_config ? cfg_path : path)) ||
        (s = preprocess_spec_load(dir, cfg, pre)))
        goto fail;
    ck->dims = vit_dims_of(cfg);
    if ((s = check_all(&ck->fd, &ck->dims, ck->fam->split_qkv, cfg->qkv_bias, ck->fam, path)))
        goto fail;
    for (size_t i = 0; i < st_count(ck->st); i++)
        ck->parameters += st_tensor_at(ck->st, i)->count;
    *out = ck;
    return VKVIT_OK;
fail:
    checkpoint_close(ck);
    return s;
}

const char *checkpoint_family(const checkpoint *ck) { return ck->fam->name; }
uint64_t checkpoint_parameters(const checkpoint *ck) { return ck->parameters; }

static vkvit_status read_into(const st_tensor *t, float *dst)
{
    return st_read_f32(t, dst, (size_t)t->count);
}

vkvit_status checkpoint_read(const checkpoint *ck, const vit_layout *lay, float *w)
{
    const vit_dims *d = &ck->dims;
    const found *fd = &ck->fd;
    vkvit_status s;
    for (int slot = 0; slot < W_GLOBAL_COUNT; slot++) {
        const st_tensor *t = fd->global[slot];
        if (!t || slot == W_HEAD_DIST_W || slot == W_HEAD_DIST_B || (slot == W_HEAD_W && d->prefix == 2) ||
            (slot == W_HEAD_B && d->prefix == 2))
            continue;
        if ((s = read_into(t, w + lay->global[slot].offset)))
            return s;
    }
    if (d->prefix == 2 && d->K) { /* fold the two heads: [Wc/2 | Wd/2], (bc + bd)/2 */
        float *tmp = malloc(((size_t)d->K * d->D * 2 + 2 * d->K) * sizeof *tmp);
        if (!tmp)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "distilled head");
        float *wc = tmp, *wd = tmp + (size_t)d->K * d->D, *bc = wd + (size_t)d->K * d->D, *bd = bc + d->K;
        if (!(s = read_into(fd->global[W_HEAD_W], wc)) && !(s = read_into(fd->global[W_HEAD_DIST_W], wd)) &&
            !(s = read_into(fd->global[W_HEAD_B], bc)) && !(s = read_into(fd->global[W_HEAD_DIST_B], bd))) {
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
    for (uint32_t l = 0; l < d->L; l++)
        for (int slot = 0; slot < L_SLOT_COUNT; slot++) {
            const vit_tensor *t = layout_tensor(lay, (int)l, slot);
            float *dst = w + t->offset;
            const st_tensor *const *parts = fd->layer[l][slot];
            if (slot == L_QKV_B && !parts[0]) { /* qkv_bias = false: zeros */
                memset(dst, 0, t->count * sizeof *dst);
                continue;
            }
            uint64_t part_floats = slot == L_QKV_W ? (uint64_t)d->D * d->D : d->D;
            for (int p = 0; p < 3; p++) {
                if (!parts[p])
                    continue;
                if ((s = read_into(parts[p], dst + (parts[1] ? (uint64_t)p * part_floats : 0))))
                    return s;
            }
        }
    return VKVIT_OK;
}

void checkpoint_close(checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->fd.layer);
    st_close(ck->st);
    free(ck);
}
