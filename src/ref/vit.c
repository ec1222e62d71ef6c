/* The whole ViT forward pass in plain C, composed of the op references (double accumulation inside
 * each op, fp32 between ops, as on the GPU), a hybrid's ResNet and CLIP's pre-encoder LayerNorm and
 * projection included. Weights from the model's host copy. */
#include "vit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* A k x k window with TF "SAME" padding, as timm's pad_same / Flax's padding='SAME' pad: output ceil(side /
 * stride), the total pad max((out - 1) * stride + k - side, 0) split with the smaller half before. */
static ref_window same_window(uint32_t B, uint32_t C, uint32_t side, uint32_t k, uint32_t stride)
{
    const uint32_t out = (side + stride - 1) / stride, need = (out - 1) * stride + k;
    const uint32_t pad = need > side ? need - side : 0;
    return (ref_window){B, C, side, side, k, k, stride, pad / 2, pad / 2, pad - pad / 2, pad - pad / 2};
}

/* A hybrid's patch embeddings, emb [B * patches][D]: the ResNet on the images (NCHW in, NHWC after its root
 * conv), then the P x P projection of its output. Returns 0, or -1 without memory. */
static int hybrid_embed(const struct vkvit_model *m, const float *input, uint32_t B, float *emb)
{
    const vit_dims *d = &m->dims;
    const vit_resnet *r = &d->resnet;
    const uint64_t n = (uint64_t)B * vit_resnet_floats(d);
    float *x = malloc(n * sizeof *x), *sc = malloc(n * sizeof *sc), *h1 = malloc(n * sizeof *h1);
    float *h2 = malloc(n * sizeof *h2);
    int rc = -1;
    if (!x || !sc || !h1 || !h2)
        goto done;
    const float eps = (float)r->gn_eps;
    /* root: 7x7 stride-2 conv, GroupNorm + ReLU, 3x3 stride-2 max-pool */
    ref_window g = same_window(B, d->C, d->image, 7, 2);
    const uint32_t s1 = vit_root_side(d, false);
    ref_conv2d(&g, r->root, 1, input, model_host(m, -1, W_ROOT_W), NULL, h1);
    ref_group_norm(h1, model_host(m, -1, W_ROOT_GN_W), model_host(m, -1, W_ROOT_GN_B), NULL, h1, B, s1 * s1, r->root,
                   r->groups, eps, 1);
    g = same_window(B, r->root, s1, 3, 2);
    ref_max_pool(&g, h1, x);
    for (uint32_t u = 0; u < d->units; u++) {
        const vit_unit v = vit_unit_of(d, u);
        const uint32_t hw_in = v.in * v.in, hw = v.out * v.out;
        const float *shortcut = x;
        if (v.proj) {
            g = same_window(B, v.cin, v.in, 1, v.stride);
            ref_conv2d(&g, v.cout, 0, x, model_host_unit(m, u, U_PROJ_W), NULL, sc);
            ref_group_norm(sc, model_host_unit(m, u, U_GNP_W), model_host_unit(m, u, U_GNP_B), NULL, sc, B, hw,
                           v.cout, r->groups, eps, 0);
            shortcut = sc;
        }
        g = same_window(B, v.cin, v.in, 1, 1);
        ref_conv2d(&g, v.mid, 0, x, model_host_unit(m, u, U_CONV1_W), NULL, h1);
        ref_group_norm(h1, model_host_unit(m, u, U_GN1_W), model_host_unit(m, u, U_GN1_B), NULL, h1, B, hw_in, v.mid,
                       r->groups, eps, 1);
        g = same_window(B, v.mid, v.in, 3, v.stride);
        ref_conv2d(&g, v.mid, 0, h1, model_host_unit(m, u, U_CONV2_W), NULL, h2);
        ref_group_norm(h2, model_host_unit(m, u, U_GN2_W), model_host_unit(m, u, U_GN2_B), NULL, h2, B, hw, v.mid,
                       r->groups, eps, 1);
        g = same_window(B, v.mid, v.out, 1, 1);
        ref_conv2d(&g, v.cout, 0, h2, model_host_unit(m, u, U_CONV3_W), NULL, h1);
        /* relu(norm3(conv3) + shortcut) into the new x: the shortcut (x itself in an unprojected unit) is read
         * element by element before the same element is written */
        ref_group_norm(h1, model_host_unit(m, u, U_GN3_W), model_host_unit(m, u, U_GN3_B), shortcut, x, B, hw, v.cout,
                       r->groups, eps, 1);
    }
    g = (ref_window){B, d->pc, d->feat, d->feat, d->P, d->P, d->P, 0, 0, 0, 0};
    ref_conv2d(&g, d->D, 0, x, model_host(m, -1, W_PATCH_W), model_host(m, -1, W_PATCH_B), emb);
    rc = 0;
done:
    free(x);
    free(sc);
    free(h1);
    free(h2);
    return rc;
}

/* SigLIP's attention-pooling head on x [B*T][D] into pooled [B][D], written out as the math reads (one probe
 * query per image and head, not the GPU's T identical rows): h = LN(x); k, v = the K and V rows of h.Wmapᵀ + b
 * (its Q rows give the probe's query, folded at load); o = softmax(q.kᵀ/√dh).v; pooled = o.Woᵀ + bo;
 * pooled += fc2(GELU(fc1(LN(pooled)))). h, big ([B*T][3D] at least) are scratch. */
static void map_head(const struct vkvit_model *m, const float *x, uint32_t B, float *h, float *big, float *pooled,
                     int gelu)
{
    const vit_dims *d = &m->dims;
    const uint32_t rows = B * d->T, D = d->D;
    const float eps = (float)m->cfg.eps;
    ref_layernorm(x, model_host(m, -1, W_NORM_W), model_host(m, -1, W_NORM_B), h, rows, D, eps);
    ref_matmul(h, model_host(m, -1, W_MAP_QKV_W), 0, model_host(m, -1, W_MAP_QKV_B), NULL, big, 1, rows, 3 * D, D,
               REF_EPI_NONE);
    const double scale = 1.0 / sqrt((double)d->dh);
    double *p = malloc(d->T * sizeof *p);
    for (uint32_t b = 0; b < B && p; b++)
        for (uint32_t hd = 0; hd < d->H; hd++) {
            const float *q = big + (size_t)b * d->T * 3 * D + (size_t)hd * d->dh; /* row 0's Q: the probe's */
            double most = -INFINITY, sum = 0;
            for (uint32_t t = 0; t < d->T; t++) {
                const float *k = big + ((size_t)b * d->T + t) * 3 * D + D + (size_t)hd * d->dh;
                double s = 0;
                for (uint32_t i = 0; i < d->dh; i++)
                    s += (double)q[i] * k[i];
                p[t] = s * scale;
                most = p[t] > most ? p[t] : most;
            }
            for (uint32_t t = 0; t < d->T; t++)
                sum += p[t] = exp(p[t] - most);
            for (uint32_t i = 0; i < d->dh; i++) {
                double o = 0;
                for (uint32_t t = 0; t < d->T; t++)
                    o += p[t] * big[((size_t)b * d->T + t) * 3 * D + 2 * D + (size_t)hd * d->dh + i];
                h[(size_t)b * D + (size_t)hd * d->dh + i] = (float)(o / sum);
            }
        }
    free(p);
    ref_matmul(h, model_host(m, -1, W_MAP_PROJ_W), 0, model_host(m, -1, W_MAP_PROJ_B), NULL, pooled, 1, B, D, D,
               REF_EPI_NONE);
    ref_layernorm(pooled, model_host(m, -1, W_MAP_LN_W), model_host(m, -1, W_MAP_LN_B), h, B, D, eps);
    ref_matmul(h, model_host(m, -1, W_MAP_FC1_W), 0, model_host(m, -1, W_MAP_FC1_B), NULL, big, 1, B, d->mlp, D, gelu);
    ref_matmul(big, model_host(m, -1, W_MAP_FC2_W), 0, model_host(m, -1, W_MAP_FC2_B), pooled, pooled, 1, B, D, d->mlp,
               REF_EPI_RESIDUAL);
}

int ref_vit_forward(const struct vkvit_model *m, const float *input, uint32_t B, float *logits, float *pooled,
                    float *pre, float *maps)
{
    return ref_vit_forward_tokens(m, input, B, logits, pooled, pre, maps, NULL);
}

int ref_vit_forward_tokens(const struct vkvit_model *m, const float *input, uint32_t B, float *logits, float *pooled,
                           float *pre, float *maps, float *tokens)
{
    const vit_dims *d = &m->dims;
    if (!m->host)
        return -1;
    uint64_t rows = (uint64_t)B * d->T;
    uint64_t n_big = rows * (3ull * d->D > d->mlp ? 3ull * d->D : d->mlp);
    uint64_t n_patch = d->hybrid ? 0 : (uint64_t)B * d->patches * d->cpp;
    if (n_patch > n_big)
        n_big = n_patch;
    float *x = malloc(rows * d->D * sizeof *x), *h = malloc(rows * d->D * sizeof *h);
    float *big = malloc(n_big * sizeof *big), *probs = malloc(rows * sizeof *probs);
    float *row = malloc((size_t)B * d->D * sizeof *row), *pl = malloc(((size_t)B * d->R + 1) * sizeof *pl);
    int rc = -1;
    if (!x || !h || !big || !probs || !row || !pl)
        goto done;

    if (d->hybrid) {
        if (hybrid_embed(m, input, B, h) != 0)
            goto done;
    } else {
        ref_patchify_rect(input, big, B, d->C, d->image, d->image_w, d->P);
        ref_matmul(big, model_host(m, -1, W_PATCH_W), 0, model_host(m, -1, W_PATCH_B), NULL, h, 1, B * d->patches,
                   d->D, d->cpp, REF_EPI_NONE);
    }
    ref_tokens_regs(h, model_host(m, -1, W_CLS), model_host(m, -1, W_DIST), model_host(m, -1, W_REG), d->regs,
                    model_host(m, -1, W_POS), x, B, d->T, d->D, d->prefix);
    if (d->pre_norm) { /* CLIP's LayerNorm before the encoder */
        ref_layernorm(x, model_host(m, -1, W_NORM_PRE_W), model_host(m, -1, W_NORM_PRE_B), h, (uint32_t)rows, d->D,
                      (float)m->cfg.eps);
        memcpy(x, h, rows * d->D * sizeof *x);
    }
    int gelu = m->cfg.gelu == VIT_GELU_TANH    ? REF_EPI_GELU_TANH
               : m->cfg.gelu == VIT_GELU_QUICK ? REF_EPI_QUICK_GELU
                                               : REF_EPI_GELU;
    for (uint32_t l = 0; l < d->L; l++) {
        int li = (int)l;
        ref_layernorm(x, model_host(m, li, L_LN1_W), model_host(m, li, L_LN1_B), h, (uint32_t)rows, d->D,
                      (float)m->cfg.eps);
        ref_matmul(h, model_host(m, li, L_QKV_W), 0, model_host(m, li, L_QKV_B), NULL, big, 1, (uint32_t)rows,
                   3 * d->D, d->D, REF_EPI_NONE);
        ref_attention(big, h, probs, B, d->T, d->H, d->dh, 0.0f);
        if (maps)
            for (uint64_t i = 0; i < rows; i++)
                maps[(uint64_t)l * rows + i] = probs[i];
        ref_matmul(h, model_host(m, li, L_PROJ_W), 0, model_host(m, li, L_PROJ_B), x, x, 1, (uint32_t)rows, d->D,
                   d->D, REF_EPI_RESIDUAL);
        ref_layernorm(x, model_host(m, li, L_LN2_W), model_host(m, li, L_LN2_B), h, (uint32_t)rows, d->D,
                      (float)m->cfg.eps);
        ref_matmul(h, model_host(m, li, L_FC1_W), 0, model_host(m, li, L_FC1_B), NULL, big, 1, (uint32_t)rows, d->mlp,
                   d->D, gelu);
        ref_matmul(big, model_host(m, li, L_FC2_W), 0, model_host(m, li, L_FC2_B), x, x, 1, (uint32_t)rows, d->D,
                   d->mlp, REF_EPI_RESIDUAL);
    }
    if (tokens)
        ref_layernorm(x, model_host(m, -1, W_NORM_W), model_host(m, -1, W_NORM_B), tokens, (uint32_t)rows, d->D,
                      (float)m->cfg.eps);
    if (d->map)
        map_head(m, x, B, h, big, pooled, gelu);
    for (uint32_t t = 0; t < d->prefix; t++) {
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t i = 0; i < d->D; i++)
                row[(size_t)b * d->D + i] = x[((size_t)b * d->T + t) * d->D + i];
        ref_layernorm(row, model_host(m, -1, W_NORM_W), model_host(m, -1, W_NORM_B), h, B, d->D, (float)m->cfg.eps);
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t i = 0; i < d->D; i++)
                pooled[((size_t)b * d->prefix + t) * d->D + i] = h[(size_t)b * d->D + i];
    }
    if (d->R) { /* on the class token: pooled rows are [cls | dist] in a distilled model; CLIP: a projection */
        const bool proj = m->cfg.projection;
        for (uint32_t b = 0; b < B; b++)
            ref_matmul(pooled + (size_t)b * d->prefix * d->D, model_host(m, -1, W_PRE_W), 0,
                       model_host(m, -1, W_PRE_B), NULL, pl + (size_t)b * d->R, 1, 1, d->R, d->D,
                       proj ? REF_EPI_NONE : REF_EPI_TANH);
        if (pre)
            memcpy(pre, pl, (size_t)B * d->R * sizeof *pre);
    }
    const float *head_x = d->R ? pl : pooled;
    if (d->head_mean) { /* [cls | mean of the final-LayerNorm patch tokens] [B][2D], in big */
        const uint32_t lead = d->prefix + d->regs;
        ref_layernorm(x, model_host(m, -1, W_NORM_W), model_host(m, -1, W_NORM_B), h, (uint32_t)rows, d->D,
                      (float)m->cfg.eps);
        for (uint32_t b = 0; b < B; b++)
            memcpy(big + (size_t)b * 2 * d->D, pooled + (size_t)b * d->prefix * d->D, d->D * sizeof *big);
        ref_token_mean(h, big, B, d->T, d->D, lead, d->T - lead, 2 * d->D, d->D);
        head_x = big;
    }
    if (d->K && logits)
        ref_matmul(head_x, model_host(m, -1, W_HEAD_W), 0, model_host(m, -1, W_HEAD_B), NULL, logits, 1, B,
                   d->K, d->head_in, REF_EPI_NONE);
    rc = 0;
done:
    free(x);
    free(h);
    free(big);
    free(probs);
    free(row);
    free(pl);
    return rc;
}
