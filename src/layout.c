/* The canonical weight layout (layout.h): sizes derived from a configuration, where each tensor goes,
 * what each slot is called. Shared by checkpoint translation and the device model. */
#include "layout.h"

#include <stdlib.h>

#define ALIGN_FLOATS 128 /* elements: 256 bytes even in fp16, any device's minStorageBufferOffsetAlignment */

vit_dims vit_dims_of(const vit_config *c)
{
    vit_dims d = {0};
    d.D = c->hidden;
    d.L = c->layers;
    d.H = c->heads;
    d.dh = c->heads ? c->hidden / c->heads : 0;
    d.mlp = c->mlp;
    d.C = c->channels;
    d.P = c->patch;
    d.image = c->image;
    d.hybrid = c->hybrid;
    d.pre_norm = c->pre_norm;
    d.feat = config_feature_side(c, c->image);
    d.pc = config_feature_channels(c);
    d.grid = c->patch ? d.feat / c->patch : 0;
    d.image_w = config_image_w(c);
    d.feat_w = c->hybrid ? d.feat : d.image_w; /* config_validate refuses a non-square hybrid */
    d.grid_w = c->patch ? d.feat_w / c->patch : 0;
    d.patches = d.grid * d.grid_w;
    d.map = c->map;
    d.prefix = c->map ? 0 : c->distilled ? 2 : 1;
    d.pool = c->map ? 1 : d.prefix;
    d.regs = c->registers;
    d.T = d.prefix + d.regs + d.patches;
    d.head_mean = c->head_mean;
    d.K = c->num_labels;
    d.cpp = c->hybrid ? vit_conv_row(d.P, d.P, d.pc) : d.C * d.P * d.P;
    if (c->hybrid) {
        d.resnet = c->resnet;
        for (uint32_t i = 0; i < c->resnet.stages && i < CONFIG_MAX_STAGES; i++)
            d.units += c->resnet.depth[i];
    }
    d.R = c->representation;
    d.E = d.R ? d.R : d.D;
    /* a distilled model's heads are folded over [cls | dist]; HF's DINOv2 classifier reads [cls | patch mean] */
    d.head_in = d.R ? d.R : d.head_mean ? 2 * d.D : d.pool * d.D;
    return d;
}

uint32_t vit_conv_row(uint32_t kh, uint32_t kw, uint32_t cin) { return (kh * kw * cin + 3) / 4 * 4; }

uint32_t vit_root_side(const vit_dims *d, bool pooled)
{
    uint32_t side = (d->image + 1) / 2;
    return pooled ? (side + 1) / 2 : side;
}

/* The root conv's output or a unit's widest map, whichever is largest. */
uint64_t vit_resnet_floats(const vit_dims *d)
{
    const uint64_t s1 = vit_root_side(d, false);
    uint64_t most = s1 * s1 * d->resnet.root;
    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        const uint64_t a = (uint64_t)v.in * v.in * (v.cin > v.mid ? v.cin : v.mid);
        const uint64_t b = (uint64_t)v.out * v.out * (v.cout > v.mid ? v.cout : v.mid);
        most = a > most ? a : most;
        most = b > most ? b : most;
    }
    return most;
}

/* Stage 1 keeps the pooled root's side, every later one halves it (ceil: SAME padding); a stage's first
 * unit takes the previous stage's width (the root's for stage 1) and projects its shortcut. */
vit_unit vit_unit_of(const vit_dims *d, uint32_t u)
{
    const vit_resnet *r = &d->resnet;
    vit_unit v = {0};
    uint32_t side = vit_root_side(d, true), cin = r->root;
    for (uint32_t s = 0; s < r->stages; s++) {
        const uint32_t stride = s ? 2 : 1, out = (side + stride - 1) / stride;
        if (u < r->depth[s]) {
            v.stage = s;
            v.index = u;
            v.cin = u ? r->width[s] : cin;
            v.mid = r->mid[s];
            v.cout = r->width[s];
            v.stride = u ? 1 : stride;
            v.in = u ? out : side;
            v.out = out;
            v.proj = u == 0;
            return v;
        }
        u -= r->depth[s];
        side = out;
        cin = r->width[s];
    }
    return v;
}

/* ---- layout ----------------------------------------------------------------------------------------- */

/* Elements of each canonical tensor (model.h); 0 for the ones this model does not have. */
static uint64_t slot_count(const vit_dims *d, bool layer, int slot)
{
    if (layer) {
        switch (slot) {
        case L_QKV_W: return 3ull * d->D * d->D;
        case L_QKV_B: return 3ull * d->D;
        case L_PROJ_W: return (uint64_t)d->D * d->D;
        case L_FC1_W: return (uint64_t)d->mlp * d->D;
        case L_FC1_B: return d->mlp;
        case L_FC2_W: return (uint64_t)d->D * d->mlp;
        case L_LS1: case L_LS2: return 0;
        default: return d->D;
        }
    }
    switch (slot) {
    case W_ROOT_W: return d->hybrid ? (uint64_t)d->resnet.root * vit_conv_row(7, 7, d->C) : 0;
    case W_ROOT_GN_W: case W_ROOT_GN_B: return d->hybrid ? d->resnet.root : 0;
    case W_PATCH_W: return (uint64_t)d->D * d->cpp;
    case W_DIST: return d->prefix == 2 ? d->D : 0;
    case W_POS: return (uint64_t)d->T * d->D;
    case W_PRE_W: return (uint64_t)d->R * d->D;
    case W_PRE_B: return d->R;
    case W_HEAD_W: return (uint64_t)d->K * d->head_in;
    case W_HEAD_B: return d->K;
    case W_REG: return (uint64_t)d->regs * d->D;
    case W_HEAD_DIST_W: case W_HEAD_DIST_B: return 0;
    case W_NORM_PRE_W: case W_NORM_PRE_B: return d->pre_norm ? d->D : 0;
    case W_CLS: return d->prefix ? d->D : 0;
    case W_MAP_QKV_W: return d->map ? 3ull * d->D * d->D : 0;
    case W_MAP_QKV_B: return d->map ? 3ull * d->D : 0;
    case W_MAP_PROJ_W: return d->map ? (uint64_t)d->D * d->D : 0;
    case W_MAP_FC1_W: case W_MAP_FC2_W: return d->map ? (uint64_t)d->D * d->mlp : 0;
    case W_MAP_FC1_B: return d->map ? d->mlp : 0;
    case W_MAP_PROJ_B: case W_MAP_LN_W: case W_MAP_LN_B: case W_MAP_FC2_B: return d->map ? d->D : 0;
    case W_MAP_PROBE: case W_MAP_IN_W: case W_MAP_IN_B: case W_MAP_Q_W: case W_MAP_Q_B: case W_MAP_KV_W:
    case W_MAP_KV_B: return 0;
    default: return d->D;
    }
}

static uint64_t unit_slot_count(const vit_unit *u, int slot)
{
    switch (slot) {
    case U_CONV1_W: return (uint64_t)u->mid * vit_conv_row(1, 1, u->cin);
    case U_CONV2_W: return (uint64_t)u->mid * vit_conv_row(3, 3, u->mid);
    case U_CONV3_W: return (uint64_t)u->cout * vit_conv_row(1, 1, u->mid);
    case U_PROJ_W: return u->proj ? (uint64_t)u->cout * vit_conv_row(1, 1, u->cin) : 0;
    case U_GNP_W: case U_GNP_B: return u->proj ? u->cout : 0;
    case U_GN3_W: case U_GN3_B: return u->cout;
    default: return u->mid;
    }
}

static uint64_t place(vit_tensor *t, uint64_t count, uint64_t at)
{
    t->count = count;
    t->offset = count ? at : 0;
    return at + (count + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Every tensor in slot order (globals, blocks, ResNet units), each on an ALIGN_FLOATS boundary. */
vkvit_status vit_layout_make(const vit_dims *d, vit_layout *lay)
{
    lay->layer = malloc((size_t)d->L * L_SLOT_COUNT * sizeof *lay->layer);
    lay->unit = d->units ? malloc((size_t)d->units * U_SLOT_COUNT * sizeof *lay->unit) : NULL;
    if (!lay->layer || (d->units && !lay->unit)) {
        vit_layout_free(lay);
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "weight layout");
    }
    uint64_t at = 0;
    for (int l = -1; l < (int)d->L; l++)
        for (int s = 0; s < (l < 0 ? W_GLOBAL_COUNT : L_SLOT_COUNT); s++)
            at = place(l < 0 ? &lay->global[s] : &lay->layer[(size_t)l * L_SLOT_COUNT + s], slot_count(d, l >= 0, s),
                       at);
    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        for (int s = 0; s < U_SLOT_COUNT; s++)
            at = place(&lay->unit[(size_t)u * U_SLOT_COUNT + s], unit_slot_count(&v, s), at);
    }
    lay->total = at;
    return VKVIT_OK;
}

void vit_layout_free(vit_layout *lay)
{
    free(lay->layer);
    free(lay->unit);
    lay->layer = NULL;
    lay->unit = NULL;
}

const vit_tensor *layout_tensor(const vit_layout *lay, int layer, int slot)
{
    return layer < 0 ? &lay->global[slot] : &lay->layer[(size_t)layer * L_SLOT_COUNT + slot];
}

const vit_tensor *layout_unit(const vit_layout *lay, uint32_t u, int slot)
{
    return &lay->unit[(size_t)u * U_SLOT_COUNT + slot];
}

/* What each canonical slot is, in words, for messages. */
static const char *const global_names[W_GLOBAL_COUNT] = {
    "ResNet root conv weight", "ResNet root GroupNorm weight", "ResNet root GroupNorm bias",
    "patch embedding weight", "patch embedding bias", "class token", "distillation token",
    "position embedding", "final LayerNorm weight", "final LayerNorm bias", "pre-logits weight",
    "pre-logits bias", "classifier weight",
    "classifier bias", "register tokens", "distillation classifier weight", "distillation classifier bias",
    "pre-encoder LayerNorm weight", "pre-encoder LayerNorm bias",
    "attention-pool key/value weight", "attention-pool key/value bias", "attention-pool output projection weight",
    "attention-pool output projection bias", "attention-pool LayerNorm weight", "attention-pool LayerNorm bias",
    "attention-pool fc1 weight", "attention-pool fc1 bias", "attention-pool fc2 weight", "attention-pool fc2 bias",
    "attention-pool probe", "attention-pool in_proj weight", "attention-pool in_proj bias",
    "attention-pool query weight", "attention-pool query bias", "attention-pool key/value weight",
    "attention-pool key/value bias"};
static const char *const layer_names[L_SLOT_COUNT] = {
    "layernorm_before/norm1 weight", "layernorm_before/norm1 bias", "query/key/value (qkv) weight",
    "query/key/value (qkv) bias", "attention output projection weight", "attention output projection bias",
    "layernorm_after/norm2 weight", "layernorm_after/norm2 bias", "fc1/intermediate weight",
    "fc1/intermediate bias", "fc2/output weight", "fc2/output bias", "LayerScale 1 (ls1/layer_scale1)",
    "LayerScale 2 (ls2/layer_scale2)"};

const char *vit_slot_name(bool layer, int slot) { return layer ? layer_names[slot] : global_names[slot]; }
static const char *const unit_names[U_SLOT_COUNT] = {
    "conv1 weight", "GroupNorm 1 weight", "GroupNorm 1 bias", "conv2 weight", "GroupNorm 2 weight",
    "GroupNorm 2 bias", "conv3 weight", "GroupNorm 3 weight", "GroupNorm 3 bias", "projection conv weight",
    "projection GroupNorm weight", "projection GroupNorm bias"};

const char *vit_unit_slot_name(int slot) { return unit_names[slot]; }
