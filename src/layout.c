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
    d.grid = c->patch ? c->image / c->patch : 0;
    d.patches = d.grid * d.grid;
    d.prefix = c->distilled ? 2 : 1;
    d.T = d.prefix + d.patches;
    d.K = c->num_labels;
    d.cpp = d.C * d.P * d.P;
    d.R = c->representation;
    d.E = d.R ? d.R : d.D;
    d.head_in = d.R ? d.R : d.prefix * d.D; /* a distilled model's heads are folded over [cls | dist] */
    return d;
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
        default: return d->D;
        }
    }
    switch (slot) {
    case W_PATCH_W: return (uint64_t)d->D * d->cpp;
    case W_DIST: return d->prefix == 2 ? d->D : 0;
    case W_POS: return (uint64_t)d->T * d->D;
    case W_PRE_W: return (uint64_t)d->R * d->D;
    case W_PRE_B: return d->R;
    case W_HEAD_W: return (uint64_t)d->K * d->head_in;
    case W_HEAD_B: return d->K;
    case W_HEAD_DIST_W: case W_HEAD_DIST_B: return 0;
    default: return d->D;
    }
}

/* Every tensor in slot order, each on an ALIGN_FLOATS boundary. */
vkvit_status vit_layout_make(const vit_dims *d, vit_layout *lay)
{
    lay->layer = malloc((size_t)d->L * L_SLOT_COUNT * sizeof *lay->layer);
    if (!lay->layer)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "weight layout");
    uint64_t at = 0;
    for (int l = -1; l < (int)d->L; l++)
        for (int s = 0; s < (l < 0 ? W_GLOBAL_COUNT : L_SLOT_COUNT); s++) {
            vit_tensor *t = l < 0 ? &lay->global[s] : &lay->layer[(size_t)l * L_SLOT_COUNT + s];
            t->count = slot_count(d, l >= 0, s);
            t->offset = t->count ? at : 0;
            at += (t->count + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
        }
    lay->total = at;
    return VKVIT_OK;
}

const vit_tensor *layout_tensor(const vit_layout *lay, int layer, int slot)
{
    return layer < 0 ? &lay->global[slot] : &lay->layer[(size_t)layer * L_SLOT_COUNT + slot];
}

/* What each canonical slot is, in words, for messages. */
static const char *const global_names[W_GLOBAL_COUNT] = {
    "patch embedding weight", "patch embedding bias", "class token", "distillation token",
    "position embedding", "final LayerNorm weight", "final LayerNorm bias", "pre-logits weight",
    "pre-logits bias", "classifier weight",
    "classifier bias", "distillation classifier weight", "distillation classifier bias"};
static const char *const layer_names[L_SLOT_COUNT] = {
    "layernorm_before/norm1 weight", "layernorm_before/norm1 bias", "query/key/value (qkv) weight",
    "query/key/value (qkv) bias", "attention output projection weight", "attention output projection bias",
    "layernorm_after/norm2 weight", "layernorm_after/norm2 bias", "fc1/intermediate weight",
    "fc1/intermediate bias", "fc2/output weight", "fc2/output bias"};

const char *vit_slot_name(bool layer, int slot) { return layer ? layer_names[slot] : global_names[slot]; }
