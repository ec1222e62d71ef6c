/* The ViT forward pass, recorded once. Reads like the diagram in docs/architecture.md:
 *   pixels -> patchify -> patch GEMM -> tokens (+cls, +dist, +registers, +pos) (-> LN_pre: CLIP)   x [B,T,D]
 *     (a hybrid: pixels -> its ResNet (NHWC) -> P x P conv in place of patchify + patch GEMM)
 *   L x { h = LN1(x); qkv = h.Wqkv^T + b; o = attention(qkv); x = x + o.Wo^T + b;
 *         h = LN2(x); m = GELU(h.W1^T + b1); x = x + m.W2^T + b2 }
 *   pooled = LN(x[:, :prefix]) -> (pre = tanh(pooled[:, 0].Wpre^T + b), or CLIP's projection pooled[:, 0].Wpre^T)
 *     -> logits = (pre or pooled).Whead^T + b
 *     (HF's DINOv2 classifier: logits = [LN(x[:, 0]) | mean of LN(x) over the patch tokens].Whead^T + b;
 *      SigLIP: pooled = the attention-pooling head over LN(x))
 * Two command buffers share that recording: p->cmd takes normalised floats from the host (vkvit_run),
 * p->img.cmd uploads RGBA8 images and preprocesses them on the GPU first (vkvit_run_images). */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define ALIGN 256

static VkDeviceSize align_up(VkDeviceSize v) { return (v + ALIGN - 1) / ALIGN * ALIGN; }

/* Hands out aligned regions of one buffer. */
typedef struct carver {
    VkDeviceSize at;
} carver;

static VkDeviceSize carve(carver *c, uint64_t bytes)
{
    VkDeviceSize o = c->at;
    c->at += align_up(bytes);
    return o;
}

static op_dtype plan_dtype(const struct vkvit_plan *p) { return p->model->elem_size == 2 ? OP_F16 : OP_F32; }

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

/* What one pass over `B` images reads and writes: the whole batch, or one chunk of it (plans whose
 * activations for the whole batch would not fit one binding run the batch in chunks). Outputs are
 * fp32; in fp16 plans the *_h twins hold them before widening. attn_stride: floats between layers. */
typedef struct pass_io {
    uint32_t B;
    vk_span input, pooled, pre, logits, attn, pooled_h, pre_h, logits_h, attn_h;
    uint32_t attn_stride;
    vk_span tokens;   /* with all_tokens: this pass's images' rows of p->tokens */
} pass_io;

/* One encoder block on x [rows = B*T][D], in place; ha [rows][D] and big [rows][3D or mlp] are its scratch. */
static vkvit_status record_layer(struct vkvit_plan *p, vk_cmd *cmd, const pass_io *io, uint32_t l)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    vkvit_context *ctx = p->ctx;
    const uint32_t rows = io->B * d->T;
    const float eps = (float)m->cfg.eps;
    const op_dtype dt = plan_dtype(p);
    const uint32_t es = m->elem_size;
    const int li = (int)l;
    vkvit_status s;

    /* The fused LayerNorm (docs/fusion.md, the default): the QKV and fc1 matmuls normalise x's rows themselves,
     * LN's gamma and beta folded into their weights at load. Unfused: LN into ha, then the matmul on ha. */
    const bool fused = !m->unfused_ln;
    layernorm_args ln1 = {.rows = rows, .D = d->D, .eps = eps, .x = p->x, .y = p->ha, .dtype = dt,
                          .gamma = model_span(m, li, L_LN1_W), .beta = model_span(m, li, L_LN1_B)};
    /* h = LN1(x) */
    if (!fused && (s = op_layernorm(cmd, ctx, &ln1)))
        return s;
    /* qkv = h·Wqkvᵀ + bqkv  (fused: LN0(x)·W'ᵀ + b') */
    matmul_args qkv = {.batch = 1, .M = rows, .N = 3 * d->D, .K = d->D, .x = fused ? p->x : p->ha, .y = p->big,
                       .w = model_span(m, li, L_QKV_W), .bias = model_span(m, li, L_QKV_B), .dtype = dt,
                       .norm_x = fused, .norm_eps = eps};
    if ((s = op_matmul(cmd, ctx, &qkv)))
        return s;
    /* o = softmax(q·kᵀ/√dh)·v per head, into ha (and the class token's probabilities into the maps) */
    attention_args att = {.batch = io->B, .T = d->T, .H = d->H, .dh = d->dh, .qkv = p->big, .out = p->ha,
                          .dtype = dt};
    if (p->maps) {
        const vk_span maps = dt == OP_F16 ? io->attn_h : io->attn;
        att.cls_probs = vk_span_of(&p->arena, maps.offset + (VkDeviceSize)l * io->attn_stride * es,
                                   (VkDeviceSize)io->B * d->T * es);
    }
    if ((s = op_attention(cmd, ctx, &att)))
        return s;
    /* x += o·Woᵀ + bo (the residual added in the matmul's epilogue) */
    matmul_args proj = {.batch = 1, .M = rows, .N = d->D, .K = d->D, .x = p->ha, .y = p->x, .residual = p->x,
                        .epilogue = MATMUL_EPI_RESIDUAL, .w = model_span(m, li, L_PROJ_W),
                        .bias = model_span(m, li, L_PROJ_B), .dtype = dt};
    if ((s = op_matmul(cmd, ctx, &proj)))
        return s;
    /* h = LN2(x) */
    layernorm_args ln2 = ln1;
    ln2.gamma = model_span(m, li, L_LN2_W);
    ln2.beta = model_span(m, li, L_LN2_B);
    if (!fused && (s = op_layernorm(cmd, ctx, &ln2)))
        return s;
    /* a = GELU(h·W1ᵀ + b1), into big (GELU in the matmul's epilogue; fused: LN0(x)·W1'ᵀ + b1') */
    matmul_args fc1 = {.batch = 1, .M = rows, .N = d->mlp, .K = d->D, .x = fused ? p->x : p->ha, .y = p->big,
                       .norm_x = fused, .norm_eps = eps,
                       .epilogue = m->cfg.gelu == VIT_GELU_TANH    ? MATMUL_EPI_GELU_TANH
                                   : m->cfg.gelu == VIT_GELU_QUICK ? MATMUL_EPI_QUICK_GELU
                                                                   : MATMUL_EPI_GELU,
                       .w = model_span(m, li, L_FC1_W), .bias = model_span(m, li, L_FC1_B), .dtype = dt};
    if ((s = op_matmul(cmd, ctx, &fc1)))
        return s;
    /* x += a·W2ᵀ + b2 (the residual added in the matmul's epilogue) */
    matmul_args fc2 = {.batch = 1, .M = rows, .N = d->D, .K = d->mlp, .x = p->big, .y = p->x, .residual = p->x,
                       .epilogue = MATMUL_EPI_RESIDUAL, .w = model_span(m, li, L_FC2_W),
                       .bias = model_span(m, li, L_FC2_B), .dtype = dt};
    return op_matmul(cmd, ctx, &fc2);
}

/* The convolutions of a hybrid's stem over B images, shapes and weights (x, y and scratch are the caller's):
 * the root conv, unit u's projection and conv1..3, and the patch projection (docs/hybrid.md, "On the GPU"). */
enum stem_conv { STEM_ROOT, STEM_PROJ, STEM_CONV1, STEM_CONV2, STEM_CONV3, STEM_PATCH };

static conv2d_args stem_conv(const struct vkvit_model *m, uint32_t B, op_dtype dt, enum stem_conv which, uint32_t u)
{
    const vit_dims *d = &m->dims;
    conv2d_args c = {.batch = B, .kh = 1, .kw = 1, .stride = 1, .dtype = dt};
    const vit_unit v = which == STEM_ROOT || which == STEM_PATCH ? (vit_unit){0} : vit_unit_of(d, u);
    switch (which) {
    case STEM_ROOT: /* 7x7, stride 2, SAME, on the NCHW image (fp32 in fp16 plans too) */
        c.Cin = d->C, c.H = d->image, c.Cout = d->resnet.root, c.kh = c.kw = 7, c.stride = 2;
        conv_same_pads(d->image, 7, 2, &c.pad_top, &c.pad_bottom);
        c.x_layout = CONV_NCHW, c.x_f32 = dt == OP_F16, c.w = model_span(m, -1, W_ROOT_W);
        break;
    case STEM_PROJ: /* 1x1 with the unit's stride: SAME pads nothing */
        c.Cin = v.cin, c.H = v.in, c.Cout = v.cout, c.stride = v.stride, c.w = model_span_unit(m, u, U_PROJ_W);
        break;
    case STEM_CONV1:
        c.Cin = v.cin, c.H = v.in, c.Cout = v.mid, c.w = model_span_unit(m, u, U_CONV1_W);
        break;
    case STEM_CONV2: /* 3x3 with the unit's stride, SAME */
        c.Cin = v.mid, c.H = v.in, c.Cout = v.mid, c.kh = c.kw = 3, c.stride = v.stride;
        conv_same_pads(v.in, 3, v.stride, &c.pad_top, &c.pad_bottom);
        c.w = model_span_unit(m, u, U_CONV2_W);
        break;
    case STEM_CONV3:
        c.Cin = v.mid, c.H = v.out, c.Cout = v.cout, c.w = model_span_unit(m, u, U_CONV3_W);
        break;
    case STEM_PATCH: /* P x P, stride P, over the ResNet's output */
        c.Cin = d->pc, c.H = d->feat, c.Cout = d->D, c.kh = c.kw = c.stride = d->P;
        c.w = model_span(m, -1, W_PATCH_W), c.bias = model_span(m, -1, W_PATCH_B);
        break;
    }
    c.W = c.H, c.pad_left = c.pad_top, c.pad_right = c.pad_bottom;
    return c;
}

/* conv2d's scratch for every conv of the stem over B images: *all the most any needs in one pass, *least
 * the most any needs at the least (the scratch is then the largest matrix, or as much of it as fits). */
static void scratch_max(conv2d_args c, uint64_t *all, uint64_t *least)
{
    uint64_t a, l;
    conv2d_scratch(&c, &a, &l);
    *all = a > *all ? a : *all;
    *least = l > *least ? l : *least;
}

static void stem_scratch(const struct vkvit_model *m, uint32_t B, op_dtype dt, uint64_t *all, uint64_t *least)
{
    *all = *least = 0;
    scratch_max(stem_conv(m, B, dt, STEM_ROOT, 0), all, least);
    scratch_max(stem_conv(m, B, dt, STEM_PATCH, 0), all, least);
    for (uint32_t u = 0; u < m->dims.units; u++)
        for (int k = STEM_PROJ; k <= STEM_CONV3; k++)
            if (k != STEM_PROJ || vit_unit_of(&m->dims, u).proj)
                scratch_max(stem_conv(m, B, dt, (enum stem_conv)k, u), all, least);
}

/* A hybrid's ResNet on the pass's images, then its P x P patch projection into ha [B][patches][D], which
 * op_tokens reads as a plain ViT's patch GEMM output. Maps are NHWC; each op ends with its barrier. */
static vkvit_status record_stem(struct vkvit_plan *p, vk_cmd *cmd, const pass_io *io)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    const vit_resnet *r = &d->resnet;
    const struct plan_stem *st = &p->stem;
    vkvit_context *ctx = p->ctx;
    const op_dtype dt = plan_dtype(p);
    const uint32_t B = io->B, s1 = vit_root_side(d, false);
    vkvit_status s;

    /* h1 = conv7x7/2(image) (SAME) */
    conv2d_args c = stem_conv(m, B, dt, STEM_ROOT, 0);
    c.x = io->input, c.y = st->h1, c.scratch = st->scratch;
    /* h1 = relu(GN(h1)) */
    group_norm_args g = {.batch = B, .HW = s1 * s1, .C = r->root, .groups = r->groups, .eps = (float)r->gn_eps,
                         .relu = true, .x = st->h1, .y = st->h1, .gamma = model_span(m, -1, W_ROOT_GN_W),
                         .beta = model_span(m, -1, W_ROOT_GN_B), .dtype = dt};
    /* x = maxpool3x3/2(h1) (SAME, padding skipped) */
    max_pool_args mp = {.batch = B, .C = r->root, .H = s1, .W = s1, .k = 3, .stride = 2, .x = st->h1, .y = st->x,
                        .dtype = dt};
    conv_same_pads(s1, 3, 2, &mp.pad_top, &mp.pad_bottom);
    mp.pad_left = mp.pad_top, mp.pad_right = mp.pad_bottom;
    if ((s = op_conv2d(cmd, ctx, &c)) || (s = op_group_norm(cmd, ctx, &g)) || (s = op_max_pool(cmd, ctx, &mp)))
        return fail(s, "ResNet root: %s", vkvit_last_error());

    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        g.relu = true, g.residual = (vk_span){0};
        if (v.proj) {
            /* sc = GNp(convp1x1/stride(x)) */
            c = stem_conv(m, B, dt, STEM_PROJ, u);
            c.x = st->x, c.y = st->sc, c.scratch = st->scratch;
            g.HW = v.out * v.out, g.C = v.cout, g.relu = false, g.x = g.y = st->sc;
            g.gamma = model_span_unit(m, u, U_GNP_W), g.beta = model_span_unit(m, u, U_GNP_B);
            if ((s = op_conv2d(cmd, ctx, &c)) || (s = op_group_norm(cmd, ctx, &g)))
                return fail(s, "ResNet unit %u, projection: %s", u, vkvit_last_error());
        }
        /* h1 = relu(GN1(conv1x1(x))) */
        c = stem_conv(m, B, dt, STEM_CONV1, u);
        c.x = st->x, c.y = st->h1, c.scratch = st->scratch;
        g.HW = v.in * v.in, g.C = v.mid, g.relu = true, g.x = g.y = st->h1;
        g.gamma = model_span_unit(m, u, U_GN1_W), g.beta = model_span_unit(m, u, U_GN1_B);
        if ((s = op_conv2d(cmd, ctx, &c)) || (s = op_group_norm(cmd, ctx, &g)))
            return fail(s, "ResNet unit %u, conv1: %s", u, vkvit_last_error());
        /* h2 = relu(GN2(conv3x3/stride(h1))) (SAME) */
        c = stem_conv(m, B, dt, STEM_CONV2, u);
        c.x = st->h1, c.y = st->h2, c.scratch = st->scratch;
        g.HW = v.out * v.out, g.x = g.y = st->h2;
        g.gamma = model_span_unit(m, u, U_GN2_W), g.beta = model_span_unit(m, u, U_GN2_B);
        if ((s = op_conv2d(cmd, ctx, &c)) || (s = op_group_norm(cmd, ctx, &g)))
            return fail(s, "ResNet unit %u, conv2: %s", u, vkvit_last_error());
        /* x = relu(GN3(conv1x1(h2)) + shortcut), the shortcut sc or x itself (read before each element's write) */
        c = stem_conv(m, B, dt, STEM_CONV3, u);
        c.x = st->h2, c.y = st->h1, c.scratch = st->scratch;
        g.C = v.cout, g.x = st->h1, g.y = st->x, g.residual = v.proj ? st->sc : st->x;
        g.gamma = model_span_unit(m, u, U_GN3_W), g.beta = model_span_unit(m, u, U_GN3_B);
        if ((s = op_conv2d(cmd, ctx, &c)) || (s = op_group_norm(cmd, ctx, &g)))
            return fail(s, "ResNet unit %u, conv3: %s", u, vkvit_last_error());
    }
    /* ha = convPxP/P(x)·Wpatch + b: [B][grid][grid][D] = [B][patches][D] */
    c = stem_conv(m, B, dt, STEM_PATCH, 0);
    c.x = st->x, c.y = p->ha, c.scratch = st->scratch;
    if ((s = op_conv2d(cmd, ctx, &c)))
        return fail(s, "hybrid patch embedding: %s", vkvit_last_error());
    return VKVIT_OK;
}

/* Plan option patch_tokens: the final LayerNorm over every token, x -> ha [B*T][D] (free after the last layer),
 * in fp16 widened into big (at least 3D halves = 1.5D floats per token), then copied into the pass's rows of
 * p->tokens (a copy: no binding-offset alignment for a chunk's rows). */
static vkvit_status record_all_tokens(struct vkvit_plan *p, vk_cmd *cmd, const pass_io *io)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    const uint32_t rows = io->B * d->T;
    const VkDeviceSize bytes = (VkDeviceSize)rows * d->D * 4;
    layernorm_args ln = {.rows = rows, .D = d->D, .eps = (float)m->cfg.eps, .x = p->x, .y = p->ha,
                         .gamma = model_span(m, -1, W_NORM_W), .beta = model_span(m, -1, W_NORM_B),
                         .dtype = plan_dtype(p)};
    vkvit_status s = op_layernorm(cmd, p->ctx, &ln);
    vk_span src = p->ha;
    if (!s && ln.dtype == OP_F16) {
        src = vk_span_of(&p->arena, p->big.offset, bytes);
        s = op_widen(cmd, p->ctx, &(widen_args){rows * d->D, p->ha, src});
    }
    if (s)
        return s;
    vk_cmd_copy(cmd, vk_span_of(&p->arena, src.offset, bytes), io->tokens);
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

/* Hugging Face's Dinov2ForImageClassification input, [cls | mean of the patch tokens] after the final LayerNorm,
 * into big [B][2D] (free after the last block): every token normed into ha, the class token normed again straight
 * into big's first half, the normed patch tokens (registers excluded) averaged into its second half. */
static vkvit_status record_head_mean(struct vkvit_plan *p, vk_cmd *cmd, uint32_t B)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    const uint32_t lead = d->prefix + d->regs;
    vkvit_status s;
    layernorm_args all = {.rows = B * d->T, .D = d->D, .eps = (float)m->cfg.eps, .x = p->x, .y = p->ha,
                          .gamma = model_span(m, -1, W_NORM_W), .beta = model_span(m, -1, W_NORM_B),
                          .dtype = plan_dtype(p)};
    layernorm_args cls = all;
    cls.rows = B, cls.x_stride = d->T * d->D, cls.y_stride = 2 * d->D, cls.y = p->big;
    token_mean_args mean = {.batch = B, .T = d->T, .D = d->D, .first = lead, .count = d->T - lead,
                            .y_stride = 2 * d->D, .y_first = d->D, .x = p->ha, .y = p->big, .dtype = plan_dtype(p)};
    if ((s = op_layernorm(cmd, p->ctx, &all)) || (s = op_layernorm(cmd, p->ctx, &cls)))
        return s;
    return op_token_mean(cmd, p->ctx, &mean);
}

/* SigLIP's attention-pooling head into pooled [B][D] (docs/clip.md): h = LN(x) over every token; qkv = h.Wmapᵀ +
 * b, whose Q part is the probe's query on every row (zero weights, the query as bias: folded at load); the
 * fused attention kernel over all T rows, each of an image's rows then the probe's result, row 0 read; out_proj
 * on it; pooled += MLP(LN(pooled)). ha and big are free here. */
static vkvit_status record_map(struct vkvit_plan *p, vk_cmd *cmd, const pass_io *io, vk_span pooled)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    vkvit_context *ctx = p->ctx;
    const op_dtype dt = plan_dtype(p);
    const uint32_t B = io->B, rows = B * d->T, es = m->elem_size;
    const float eps = (float)m->cfg.eps;
    vkvit_status s;
    layernorm_args ln = {.rows = rows, .D = d->D, .eps = eps, .x = p->x, .y = p->ha, .dtype = dt,
                         .gamma = model_span(m, -1, W_NORM_W), .beta = model_span(m, -1, W_NORM_B)};
    matmul_args kv = {.batch = 1, .M = rows, .N = 3 * d->D, .K = d->D, .x = p->ha, .y = p->big, .dtype = dt,
                      .w = model_span(m, -1, W_MAP_QKV_W), .bias = model_span(m, -1, W_MAP_QKV_B)};
    attention_args att = {.batch = B, .T = d->T, .H = d->H, .dh = d->dh, .qkv = p->big, .out = p->ha, .dtype = dt};
    matmul_args proj = {.batch = B, .M = 1, .N = d->D, .K = d->D, .x_stride = d->T * d->D, .x = p->ha, .y = pooled,
                        .w = model_span(m, -1, W_MAP_PROJ_W), .bias = model_span(m, -1, W_MAP_PROJ_B), .dtype = dt};
    if ((s = op_layernorm(cmd, ctx, &ln)) || (s = op_matmul(cmd, ctx, &kv)) || (s = op_attention(cmd, ctx, &att)) ||
        (s = op_matmul(cmd, ctx, &proj)))
        return s;
    /* pooled += fc2(GELU(fc1(LN(pooled)))): LN into big, the MLP's hidden layer after it */
    const VkDeviceSize at = align_up((VkDeviceSize)B * d->D * es);
    const vk_span h = vk_span_of(&p->arena, p->big.offset, (VkDeviceSize)B * d->D * es);
    const vk_span a = vk_span_of(&p->arena, p->big.offset + at, (VkDeviceSize)B * d->mlp * es);
    layernorm_args ln2 = {.rows = B, .D = d->D, .eps = eps, .x = pooled, .y = h, .dtype = dt,
                          .gamma = model_span(m, -1, W_MAP_LN_W), .beta = model_span(m, -1, W_MAP_LN_B)};
    matmul_args fc1 = {.batch = 1, .M = B, .N = d->mlp, .K = d->D, .x = h, .y = a, .dtype = dt,
                       .epilogue = m->cfg.gelu == VIT_GELU_TANH    ? MATMUL_EPI_GELU_TANH
                                   : m->cfg.gelu == VIT_GELU_QUICK ? MATMUL_EPI_QUICK_GELU
                                                                   : MATMUL_EPI_GELU,
                       .w = model_span(m, -1, W_MAP_FC1_W), .bias = model_span(m, -1, W_MAP_FC1_B)};
    matmul_args fc2 = {.batch = 1, .M = B, .N = d->D, .K = d->mlp, .x = a, .y = pooled, .residual = pooled,
                       .epilogue = MATMUL_EPI_RESIDUAL, .w = model_span(m, -1, W_MAP_FC2_W),
                       .bias = model_span(m, -1, W_MAP_FC2_B), .dtype = dt};
    if ((s = op_layernorm(cmd, ctx, &ln2)) || (s = op_matmul(cmd, ctx, &fc1)) || (s = op_matmul(cmd, ctx, &fc2)))
        return s;
    return VKVIT_OK;
}

static vkvit_status record_pass(struct vkvit_plan *p, vk_cmd *cmd, const pass_io *io)
{
    const struct vkvit_model *m = p->model;
    const vit_dims *d = &m->dims;
    vkvit_context *ctx = p->ctx;
    vkvit_status s;
    uint32_t B = io->B;
    const op_dtype dt = plan_dtype(p);
    const bool f16 = dt == OP_F16;

    /* Patch embedding into `ha`: im2col into `big` and one GEMM, or a hybrid's ResNet and projection;
     * then the token sequence into x. */
    patchify_args pa = {.batch = B, .C = d->C, .S = d->image, .W = d->image_w, .P = d->P, .image = io->input,
                        .patches = p->big, .dtype = dt};
    matmul_args pe = {.batch = 1, .M = B * d->patches, .N = d->D, .K = d->cpp, .x = p->big, .y = p->ha,
                      .w = model_span(m, -1, W_PATCH_W), .bias = model_span(m, -1, W_PATCH_B), .dtype = dt};
    tokens_args tk = {.batch = B, .T = d->T, .D = d->D, .prefix = d->prefix, .emb = p->ha, /* prefix 0: SigLIP */
                      .x = d->pre_norm ? p->big : p->x, /* CLIP: assembled in big, normalised into x */
                      .cls = model_span(m, -1, W_CLS), .dist = model_span(m, -1, W_DIST), /* empty if not distilled */
                      .pos = model_span(m, -1, W_POS), .dtype = dt, .regs = d->regs,
                      .reg = model_span(m, -1, W_REG)};
    if (d->hybrid ? (s = record_stem(p, cmd, io)) != VKVIT_OK
                  : (s = op_patchify(cmd, ctx, &pa)) || (s = op_matmul(cmd, ctx, &pe)))
        return s;
    if ((s = op_tokens(cmd, ctx, &tk)))
        return s;
    /* CLIP's LayerNorm before the encoder (ln_pre): x = LN(tokens) (the op does not normalise in place) */
    layernorm_args pre_ln = {.rows = B * d->T, .D = d->D, .eps = (float)m->cfg.eps, .x = p->big, .y = p->x,
                             .gamma = model_span(m, -1, W_NORM_PRE_W), .beta = model_span(m, -1, W_NORM_PRE_B),
                             .dtype = dt};
    if (d->pre_norm && (s = op_layernorm(cmd, ctx, &pre_ln)))
        return fail(s, "LayerNorm before the encoder: %s", vkvit_last_error());

    for (uint32_t l = 0; l < d->L; l++)
        if ((s = record_layer(p, cmd, io, l)))
            return fail(s, "layer %u: %s", l, vkvit_last_error());
    if (p->all_tokens && (s = record_all_tokens(p, cmd, io)))
        return fail(s, "final LayerNorm of all tokens: %s", vkvit_last_error());

    /* Final LayerNorm on the class (and distillation) token only: rows = B, stride T*D, written
     * side by side into pooled [B][prefix*D]. In fp16 the pooled tokens, logits and attention maps
     * are computed in halves and widened into the fp32 outputs. */
    const vk_span pooled = f16 ? io->pooled_h : io->pooled, logits = f16 ? io->logits_h : io->logits;
    if (d->map && (s = record_map(p, cmd, io, pooled)))
        return fail(s, "attention-pooling head: %s", vkvit_last_error());
    for (uint32_t t = 0; t < d->prefix; t++) {
        layernorm_args ln = {.rows = B, .D = d->D, .x_stride = d->T * d->D, .y_stride = d->prefix * d->D,
                             .x_first = t * d->D, .y_first = t * d->D, .eps = (float)m->cfg.eps, .x = p->x,
                             .y = pooled, .gamma = model_span(m, -1, W_NORM_W), .beta = model_span(m, -1, W_NORM_B),
                             .dtype = dt};
        if ((s = op_layernorm(cmd, ctx, &ln)))
            return fail(s, "final LayerNorm: %s", vkvit_last_error());
    }
    /* The pre-logits layer on the class token: [B][R] (a CLIP tower's projection: no tanh; its bias zeros
     * for HF's and OpenAI's, timm's head.bias for timm's towers, which it adds as timm's head does). A
     * distilled model's pooled rows are [cls | dist], so there it reads a batch of one-row matrices at a
     * stride of 2D. */
    const vk_span pre = f16 ? io->pre_h : io->pre;
    if (d->R) {
        const bool rows = d->prefix == 1;
        matmul_args pl = {.batch = rows ? 1 : B, .M = rows ? B : 1, .N = d->R, .K = d->D,
                          .x_stride = rows ? 0 : d->prefix * d->D, .x = pooled, .y = pre,
                          .w = model_span(m, -1, W_PRE_W),
                          .bias = model_span(m, -1, W_PRE_B),
                          .epilogue = m->cfg.projection ? MATMUL_EPI_NONE : MATMUL_EPI_TANH, .dtype = dt};
        if ((s = op_matmul(cmd, ctx, &pl)))
            return fail(s, "pre-logits layer: %s", vkvit_last_error());
    }
    const vk_span head_x = d->head_mean ? p->big : d->R ? pre : pooled;
    if (d->head_mean && (s = record_head_mean(p, cmd, B)))
        return fail(s, "DINOv2 classifier input: %s", vkvit_last_error());
    if (d->K) { /* distilled: the folded head [K][2D] over [cls | dist] gives the mean of both heads */
        matmul_args head = {.batch = 1, .M = B, .N = d->K, .K = d->head_in, .x = head_x, .y = logits,
                            .w = model_span(m, -1, W_HEAD_W), .bias = model_span(m, -1, W_HEAD_B), .dtype = dt};
        if ((s = op_matmul(cmd, ctx, &head)))
            return fail(s, "classifier: %s", vkvit_last_error());
    }
    if (f16) {
        /* The pooled tokens always; the pre-logits if any; the logits unless a backbone; the attention
         * maps if asked for. */
        const struct {
            bool present;
            widen_args w;
        } out[4] = {{true, {B * d->pool * d->D, io->pooled_h, io->pooled}},
                    {d->R > 0, {B * d->R, io->pre_h, io->pre}},
                    {d->K > 0, {B * d->K, io->logits_h, io->logits}},
                    {p->maps, {d->L * io->attn_stride, io->attn_h, io->attn}}};
        /* Each reads its own fp16 region and writes its own fp32 one: no barrier between them. */
        vk_cmd_disjoint_begin(cmd);
        for (int i = 0; i < 4; i++)
            if (out[i].present && (s = op_widen(cmd, ctx, &out[i].w)))
                break;
        vk_cmd_disjoint_end(cmd);
        if (s)
            return fail(s, "fp16 outputs: %s", vkvit_last_error());
    }
    return VKVIT_OK;
}

vkvit_status plan_record_compute(struct vkvit_plan *p, vk_cmd *cmd)
{
    if (p->chunk >= p->batch) {
        pass_io io = {p->batch, p->input, p->pooled, p->pre, p->logits, p->attn, p->pooled_h, p->pre_h, p->logits_h,
                      p->attn_h, p->attn_layer_stride, p->tokens};
        return record_pass(p, cmd, &io);
    }
    /* In chunks: each chunk's input copied into the chunk region, its pass, its outputs copied into
     * their places in the batch's output regions (buffer copies: no binding-offset alignment). */
    const vit_dims *d = &p->model->dims;
    const VkDeviceSize per_in = (VkDeviceSize)d->C * d->image * d->image_w * 4,
                       per_pooled = (VkDeviceSize)d->pool * d->D * 4,
                       per_pre = (VkDeviceSize)d->R * 4, per_logits = (VkDeviceSize)d->K * 4;
    vkvit_status s;
    for (uint32_t c0 = 0; c0 < p->batch; c0 += p->chunk) {
        const uint32_t n = p->batch - c0 < p->chunk ? p->batch - c0 : p->chunk;
        const VkDeviceSize per_tokens = (VkDeviceSize)d->T * d->D * 4;
        pass_io io = {n, p->c.input, p->c.pooled, p->c.pre, p->c.logits, p->c.attn, p->pooled_h, p->pre_h, p->logits_h,
                      p->attn_h, p->c.attn_stride,
                      vk_span_of(&p->arena, p->tokens.offset + c0 * per_tokens, p->all_tokens ? n * per_tokens : 0)};
        vk_cmd_copy(cmd, vk_span_of(&p->arena, p->input.offset + c0 * per_in, n * per_in), p->c.input);
        vk_cmd_barrier(cmd);
        if ((s = record_pass(p, cmd, &io)))
            return fail(s, "images %u..%u of the batch: %s", c0, c0 + n - 1, vkvit_last_error());
        vk_cmd_copy(cmd, vk_span_of(&p->arena, p->c.pooled.offset, n * per_pooled),
                    vk_span_of(&p->arena, p->pooled.offset + c0 * per_pooled, n * per_pooled));
        if (d->R)
            vk_cmd_copy(cmd, vk_span_of(&p->arena, p->c.pre.offset, n * per_pre),
                        vk_span_of(&p->arena, p->pre.offset + c0 * per_pre, n * per_pre));
        if (d->K)
            vk_cmd_copy(cmd, vk_span_of(&p->arena, p->c.logits.offset, n * per_logits),
                        vk_span_of(&p->arena, p->logits.offset + c0 * per_logits, n * per_logits));
        for (uint32_t l = 0; p->maps && l < d->L; l++)
            vk_cmd_copy(cmd, vk_span_of(&p->arena, p->c.attn.offset + (VkDeviceSize)l * p->c.attn_stride * 4,
                                        (VkDeviceSize)n * d->T * 4),
                        vk_span_of(&p->arena, p->attn.offset + ((VkDeviceSize)l * p->attn_layer_stride +
                                                                 (VkDeviceSize)c0 * d->T) * 4,
                                   (VkDeviceSize)n * d->T * 4));
        vk_cmd_barrier(cmd);
    }
    return VKVIT_OK;
}

/* The whole pass from p->input, then the outputs copied into io for the host. */
static vkvit_status record_forward(struct vkvit_plan *p, vk_cmd *cmd)
{
    vkvit_status s = plan_record_compute(p, cmd);
    if (s)
        return s;
    if (p->model->dims.K)
        vk_cmd_copy(cmd, p->logits, vk_span_of(&p->io, p->io_logits, p->logits.size));
    vk_cmd_copy(cmd, p->pooled, vk_span_of(&p->io, p->io_pooled, p->pooled.size));
    if (p->model->dims.R)
        vk_cmd_copy(cmd, p->pre, vk_span_of(&p->io, p->io_pre, p->pre.size));
    if (p->maps)
        vk_cmd_copy(cmd, p->attn, vk_span_of(&p->io, p->io_attn, p->attn.size));
    if (p->all_tokens)
        vk_cmd_copy(cmd, p->tokens, vk_span_of(&p->io, p->io_tokens, p->tokens.size));
    return VKVIT_OK;
}

/* vkvit_run: the host writes normalised floats into io; copied to the input region. */
static vkvit_status record(struct vkvit_plan *p)
{
    vkvit_status s;
    if ((s = vk_cmd_begin(p->cmd)))
        return s;
    vk_cmd_timestamp(p->cmd, PLAN_TS_START);
    vk_cmd_copy(p->cmd, vk_span_of(&p->io, p->io_input, p->input.size), p->input);
    vk_cmd_barrier(p->cmd);
    if ((s = record_forward(p, p->cmd)))
        return s;
    vk_cmd_timestamp(p->cmd, PLAN_TS_END);
    return vk_cmd_end(p->cmd);
}

/* vkvit_run_images: upload + preprocessing write the input region (and a copy of it into io, for
 * vkvit_verify), then the same forward pass. */
static vkvit_status record_images(struct vkvit_plan *p)
{
    struct plan_images *im = &p->img;
    vkvit_status s;
    if ((s = vk_cmd_begin(im->cmd)))
        return s;
    preprocess_args pa = {.spec = &p->model->pre, .batch = p->batch,
                          .staging_meta = vk_whole(&im->staging_meta), .staging_pixels = vk_whole(&im->staging_pixels),
                          .meta = vk_whole(&im->meta), .pixels = vk_whole(&im->pixels),
                          .scratch = vk_whole(&im->scratch), .out = p->input};
    if ((s = op_preprocess(im->cmd, p->ctx, &pa)))
        return fail(s, "preprocessing: %s", vkvit_last_error());
    vk_cmd_copy(im->cmd, p->input, vk_span_of(&p->io, p->io_input, p->input.size));
    if ((s = record_forward(p, im->cmd)))
        return s;
    return vk_cmd_end(im->cmd);
}

/* Checked before anything is allocated: a plan too big for one binding fails at once. */
static vkvit_status check_range(const struct vkvit_plan *p, uint64_t bytes, const char *what)
{
    uint32_t limit = p->ctx->info.max_storage_buffer_range;
    if (bytes > limit)
        return fail(VKVIT_ERROR_UNSUPPORTED, "batch %u: the %s activation needs %llu bytes in one binding, more than "
                    "this device's maxStorageBufferRange (%u); use a smaller batch", p->batch, what,
                    (unsigned long long)bytes, limit);
    return VKVIT_OK;
}

vkvit_status plan_create(struct vkvit_model *m, uint32_t batch, bool maps, struct vkvit_plan **out)
{
    return plan_create_tokens(m, batch, maps, false, out);
}

vkvit_status plan_create_tokens(struct vkvit_model *m, uint32_t batch, bool maps, bool tokens, struct vkvit_plan **out)
{
    *out = NULL;
    const vit_dims *d = &m->dims;
    if (batch == 0 || batch > 65536)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "plan: batch %u (must be 1..65536)", batch);
    struct vkvit_plan *p = calloc(1, sizeof *p);
    if (!p)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "plan");
    p->model = m;
    p->ctx = m->ctx;
    p->batch = batch;
    p->maps = maps;
    p->all_tokens = tokens;
    if (maps && d->map) {
        free(p);
        return fail(VKVIT_ERROR_UNSUPPORTED, "plan: attention_maps: a SigLIP model has no class token whose "
                    "attention the maps show");
    }
    const uint64_t es = m->elem_size;        /* activations: fp32 or fp16 */
    const bool f16 = es == 2;
    vkvit_status s;
    /* Images per pass: the whole batch, unless its activations would exceed one binding
     * (maxStorageBufferRange: 128 MiB on lavapipe, ViT-B/16 at batch ~50); then equal chunks, one
     * pass each, recorded one after the other in the same command buffer. */
    /* A hybrid's stem maps (vit_resnet_floats) bound the chunk too; its conv2d scratch does not (it runs
     * in passes when a chunk's patch matrix would not fit). */
    const uint64_t patch_in = d->hybrid ? vit_resnet_floats(d) : (uint64_t)d->patches * d->cpp;
    const uint64_t per_image = max3((uint64_t)d->T * 3 * d->D, (uint64_t)d->T * d->mlp, patch_in) * es;
    uint64_t fit = p->ctx->info.max_storage_buffer_range / per_image;
    if (p->ctx->test_max_chunk && fit > p->ctx->test_max_chunk)
        fit = p->ctx->test_max_chunk;
    if (fit == 0 && (s = check_range(p, per_image, "QKV/MLP (one image)")))
        goto fail;
    const uint64_t chunks = (batch + fit - 1) / fit;
    p->chunk = (uint32_t)((batch + chunks - 1) / chunks);
    const bool chunked = p->chunk < batch;
    uint64_t B = batch, rows = (uint64_t)p->chunk * d->T, C = p->chunk;
    uint64_t n_in = B * d->C * d->image * d->image_w;
    uint64_t n_big = max3(rows * 3 * d->D, rows * d->mlp, d->hybrid ? 0 : C * d->patches * d->cpp);
    uint64_t n_stem = d->hybrid ? C * vit_resnet_floats(d) : 0, n_scratch = 0, least = 0;
    if (d->hybrid) {
        stem_scratch(m, p->chunk, plan_dtype(p), &n_scratch, &least);
        const uint64_t cap = p->ctx->info.max_storage_buffer_range / es / 4 * 4;
        n_scratch = n_scratch > cap ? (least > cap ? least : cap) : n_scratch;
    }
    uint64_t n_pooled = B * d->pool * d->D, n_pre = B * d->R, n_logits = d->K ? B * d->K : 1;
    p->attn_layer_stride = (uint32_t)((B * d->T + 127) / 128 * 128);
    p->c.attn_stride = (uint32_t)((rows + 127) / 128 * 128);
    uint64_t n_attn = maps ? (uint64_t)d->L * p->attn_layer_stride : 1;
    const uint64_t n_tokens = tokens ? B * d->T * d->D : 0;
    /* One pass's outputs: the batch's when unchunked, a chunk's otherwise */
    uint64_t c_in = C * d->C * d->image * d->image_w, c_pooled = C * d->pool * d->D, c_pre = C * d->R,
             c_logits = d->K ? C * d->K : 1, c_attn = maps ? (uint64_t)d->L * p->c.attn_stride : 1;

    /* The input and the outputs are fp32 whatever the precision; the fp16 twins of one pass's outputs
     * exist only in fp16 plans; the chunk regions only in chunked plans; the pre-logits (0 bytes
     * without the layer) only in models with one. */
    carver a = {0};
    VkDeviceSize o_in = carve(&a, n_in * 4), o_x = carve(&a, rows * d->D * es), o_ha = carve(&a, rows * d->D * es),
                 o_big = carve(&a, n_big * es), o_pooled = carve(&a, n_pooled * 4), o_pre = carve(&a, n_pre * 4),
                 o_logits = carve(&a, n_logits * 4), o_attn = carve(&a, n_attn * 4);
    const VkDeviceSize o_tokens = carve(&a, n_tokens * 4);
    VkDeviceSize o_stem[4] = {0}, o_scratch = n_scratch ? carve(&a, n_scratch * es) : 0;
    for (int i = 0; i < 4 && n_stem; i++)
        o_stem[i] = carve(&a, n_stem * es);
    VkDeviceSize o_pooled_h = f16 ? carve(&a, c_pooled * 2) : 0, o_pre_h = f16 ? carve(&a, c_pre * 2) : 0,
                 o_logits_h = f16 ? carve(&a, c_logits * 2) : 0, o_attn_h = f16 ? carve(&a, c_attn * 2) : 0;
    VkDeviceSize oc_in = chunked ? carve(&a, c_in * 4) : 0, oc_pooled = chunked ? carve(&a, c_pooled * 4) : 0,
                 oc_pre = chunked ? carve(&a, c_pre * 4) : 0, oc_logits = chunked ? carve(&a, c_logits * 4) : 0,
                 oc_attn = chunked ? carve(&a, c_attn * 4) : 0;
    carver io = {0};
    p->io_input = carve(&io, n_in * 4);
    p->io_logits = carve(&io, n_logits * 4);
    p->io_pooled = carve(&io, n_pooled * 4);
    p->io_pre = carve(&io, n_pre * 4);
    p->io_attn = carve(&io, n_attn * 4);
    p->io_tokens = carve(&io, n_tokens * 4);

    /* Bound whole: the input (preprocessing writes it), the logits (the probabilities' softmax). */
    if ((s = check_range(p, n_in * 4, "input")) || (s = check_range(p, n_logits * 4, "logits")) ||
        (s = check_range(p, n_big * es, "QKV/MLP")) || (s = check_range(p, rows * d->D * es, "residual")) ||
        (s = check_range(p, n_stem * es, "ResNet")) || (s = check_range(p, n_scratch * es, "ResNet conv patches")))
        goto fail;
    if ((s = vk_buffer_create_named(p->ctx, a.at, VK_MEM_DEVICE, "the plan's activations", &p->arena)) ||
        (s = vk_buffer_create_named(p->ctx, io.at, VK_MEM_HOST, "the plan's input and output staging", &p->io)))
        goto fail;
    p->input = vk_span_of(&p->arena, o_in, n_in * 4);
    p->x = vk_span_of(&p->arena, o_x, rows * d->D * es);
    p->ha = vk_span_of(&p->arena, o_ha, rows * d->D * es);
    p->big = vk_span_of(&p->arena, o_big, n_big * es);
    p->pooled = vk_span_of(&p->arena, o_pooled, n_pooled * 4);
    p->pre = vk_span_of(&p->arena, o_pre, n_pre * 4);
    p->logits = vk_span_of(&p->arena, o_logits, n_logits * 4);
    p->attn = vk_span_of(&p->arena, o_attn, n_attn * 4);
    p->tokens = vk_span_of(&p->arena, o_tokens, n_tokens * 4);
    if (f16) {
        p->pooled_h = vk_span_of(&p->arena, o_pooled_h, c_pooled * 2);
        p->pre_h = vk_span_of(&p->arena, o_pre_h, c_pre * 2);
        p->logits_h = vk_span_of(&p->arena, o_logits_h, c_logits * 2);
        p->attn_h = vk_span_of(&p->arena, o_attn_h, c_attn * 2);
    }
    if (d->hybrid) {
        p->stem.x = vk_span_of(&p->arena, o_stem[0], n_stem * es);
        p->stem.sc = vk_span_of(&p->arena, o_stem[1], n_stem * es);
        p->stem.h1 = vk_span_of(&p->arena, o_stem[2], n_stem * es);
        p->stem.h2 = vk_span_of(&p->arena, o_stem[3], n_stem * es);
        p->stem.scratch = vk_span_of(&p->arena, o_scratch, n_scratch * es);
    }
    if (chunked) {
        p->c.input = vk_span_of(&p->arena, oc_in, c_in * 4);
        p->c.pooled = vk_span_of(&p->arena, oc_pooled, c_pooled * 4);
        p->c.pre = vk_span_of(&p->arena, oc_pre, c_pre * 4);
        p->c.logits = vk_span_of(&p->arena, oc_logits, c_logits * 4);
        p->c.attn = vk_span_of(&p->arena, oc_attn, c_attn * 4);
    }
    if ((s = vk_cmd_create(p->ctx, PLAN_TIMESTAMPS, &p->cmd)) || (s = record(p)))
        goto fail;
    p->matmul_kernel = op_matmul_kernel(p->ctx, plan_dtype(p));
    *out = p;
    return VKVIT_OK;
fail:
    plan_destroy(p);
    return s;
}

vkvit_status plan_set_profiling(struct vkvit_plan *p, bool on)
{
    vkvit_status s = vk_cmd_set_profiling(p->cmd, on);
    return s ? s : record(p);
}

/* Submits a run of n images: waits for it (signal NULL), or leaves it pending. */
static vkvit_status submit(struct vkvit_plan *p, vk_cmd *cmd, uint32_t n, const vk_signal *signal)
{
    p->last_n = 0;
    vkvit_status s = signal ? vk_cmd_submit(cmd, signal) : vk_cmd_submit_wait(cmd);
    if (s)
        return s;
    if (signal) {
        p->pending = cmd;
        p->pending_n = n;
    } else {
        p->last_n = n;
    }
    return VKVIT_OK;
}

vkvit_status plan_wait(struct vkvit_plan *p)
{
    if (!p->pending)
        return VKVIT_OK;
    vkvit_status s = vk_cmd_wait(p->pending);
    p->pending = NULL;
    if (!s)
        p->last_n = p->pending_n;
    return s;
}

vkvit_status plan_poll(struct vkvit_plan *p, bool *done)
{
    *done = true;
    if (!p->pending)
        return VKVIT_OK;
    bool finished = false;
    vkvit_status s = vk_cmd_poll(p->pending, &finished);
    if (!s && finished)
        s = plan_wait(p);
    *done = finished;
    return s;
}

vkvit_status plan_run(struct vkvit_plan *p, const float *input, uint32_t n, const vk_signal *signal)
{
    const vit_dims *d = &p->model->dims;
    size_t per_image = (size_t)d->C * d->image * d->image_w;
    vkvit_status s = plan_wait(p);
    if (s)
        return s;
    float *dst = (float *)((char *)p->io.map + p->io_input);
    memcpy(dst, input, (size_t)n * per_image * sizeof *dst);
    if (n < p->batch) /* unused slots: zeros, so nothing undefined flows through the batch */
        memset(dst + (size_t)n * per_image, 0, (size_t)(p->batch - n) * per_image * sizeof *dst);
    return submit(p, p->cmd, n, signal);
}

/* Makes `b` hold at least `words` 32-bit words: grows by at least half its size (a run of slightly
 * bigger images should not re-record every time), in 64 KiB steps, up to the binding limit. */
static vkvit_status reserve(struct vkvit_plan *p, vk_buffer *b, uint64_t words, vk_mem_kind kind, const char *what,
                            bool *grown)
{
    const uint64_t need = words * 4, limit = p->ctx->info.max_storage_buffer_range / 16 * 16, step = 65536;
    if (b->buf && b->size >= need)
        return VKVIT_OK;
    if (need > limit)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_run_images: these images need %llu bytes of %s in one binding, "
                    "more than this device's maxStorageBufferRange (%llu); pass fewer or smaller images per run",
                    (unsigned long long)need, what, (unsigned long long)limit);
    uint64_t cap = b->size + b->size / 2;
    cap = (cap > need ? cap : need) + step - 1;
    cap = cap / step * step;
    if (cap > limit)
        cap = limit;
    vk_buffer_destroy(p->ctx, b);
    *grown = true;
    return vk_buffer_create(p->ctx, cap, kind, b);
}

/* Pixel, coefficient and scratch capacity for a run; on growth the image variant is re-recorded
 * (rare: capacities only grow). Until it is recorded again img.cmd is NULL. */
static vkvit_status images_reserve(struct vkvit_plan *p, const preprocess_sizes *need)
{
    struct plan_images *im = &p->img;
    bool grown = false;
    vkvit_status s;
    if ((s = reserve(p, &im->staging_meta, need->meta, VK_MEM_HOST, "resampling coefficients", &grown)) ||
        (s = reserve(p, &im->meta, im->staging_meta.size / 4, VK_MEM_DEVICE, "resampling coefficients", &grown)) ||
        (s = reserve(p, &im->staging_pixels, need->pixels, VK_MEM_HOST, "RGBA pixels", &grown)) ||
        (s = reserve(p, &im->pixels, im->staging_pixels.size / 4, VK_MEM_DEVICE, "RGBA pixels", &grown)) ||
        (s = reserve(p, &im->scratch, need->scratch, VK_MEM_DEVICE, "resampled rows", &grown)))
        goto fail;
    if (im->cmd && !grown)
        return VKVIT_OK;
    if (!im->cmd && (s = vk_cmd_create(p->ctx, 0, &im->cmd)))
        goto fail;
    if ((s = record_images(p)))
        goto fail;
    return VKVIT_OK;
fail:
    vk_cmd_destroy(im->cmd); /* never submit a recording that refers to freed or missing buffers */
    im->cmd = NULL;
    return s;
}

vkvit_status plan_run_images(struct vkvit_plan *p, const vkvit_image *images, uint32_t n, const vk_signal *signal)
{
    const preprocess_spec *spec = &p->model->pre;
    if (spec->channels != 1 && spec->channels != 3)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_run_images: the model takes %u channels; images can feed "
                    "1-channel (luma) and 3-channel (RGB) models", spec->channels);
    preprocess_sizes need;
    vkvit_status s = plan_wait(p);
    if (s)
        return s;
    if ((s = preprocess_measure(spec, images, n, p->batch, &need)))
        return fail(s, "vkvit_run_images: %s", vkvit_last_error());
    if ((s = images_reserve(p, &need)))
        return s;
    preprocess_pack(spec, images, n, p->batch, p->img.staging_meta.map, p->img.staging_pixels.map);
    return submit(p, p->img.cmd, n, signal);
}

void plan_destroy(struct vkvit_plan *p)
{
    if (!p)
        return;
    (void)plan_wait(p);
    vk_cmd_destroy(p->img.cmd);
    vk_buffer_destroy(p->ctx, &p->img.staging_meta);
    vk_buffer_destroy(p->ctx, &p->img.staging_pixels);
    vk_buffer_destroy(p->ctx, &p->img.meta);
    vk_buffer_destroy(p->ctx, &p->img.pixels);
    vk_buffer_destroy(p->ctx, &p->img.scratch);
    vk_cmd_destroy(p->cmd);
    vk_buffer_destroy(p->ctx, &p->arena);
    vk_buffer_destroy(p->ctx, &p->io);
    free(p);
}

const float *plan_logits(const struct vkvit_plan *p) { return (const float *)((char *)p->io.map + p->io_logits); }
const float *plan_pooled(const struct vkvit_plan *p) { return (const float *)((char *)p->io.map + p->io_pooled); }

const float *plan_embedding(const struct vkvit_plan *p, uint32_t image)
{
    const vit_dims *d = &p->model->dims;
    if (d->R)
        return (const float *)((char *)p->io.map + p->io_pre) + (size_t)image * d->R;
    return plan_pooled(p) + (size_t)image * d->pool * d->D;
}

vk_span plan_embedding_span(const struct vkvit_plan *p, uint32_t image)
{
    const vit_dims *d = &p->model->dims;
    const VkDeviceSize at = d->R ? p->pre.offset + (VkDeviceSize)image * d->R * 4
                                 : p->pooled.offset + (VkDeviceSize)image * d->pool * d->D * 4;
    return vk_span_of(&p->arena, at, (VkDeviceSize)d->E * 4);
}
const float *plan_tokens(const struct vkvit_plan *p) { return (const float *)((char *)p->io.map + p->io_tokens); }
const float *plan_input(const struct vkvit_plan *p) { return (const float *)((char *)p->io.map + p->io_input); }

const float *plan_attention(const struct vkvit_plan *p, uint32_t layer, uint32_t image)
{
    const float *base = (const float *)((char *)p->io.map + p->io_attn);
    return base + (size_t)layer * p->attn_layer_stride + (size_t)image * p->model->dims.T;
}
