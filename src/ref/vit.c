/* The whole ViT forward pass in plain C, composed of the op references (double accumulation inside
 * each op, fp32 between ops, as on the GPU). Weights from the model's host copy. */
#include "vit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

int ref_vit_forward(const struct vkvit_model *m, const float *input, uint32_t B, float *logits, float *pooled,
                    float *pre, float *maps)
{
    const vit_dims *d = &m->dims;
    if (!m->host)
        return -1;
    uint64_t rows = (uint64_t)B * d->T;
    uint64_t n_big = rows * (3ull * d->D > d->mlp ? 3ull * d->D : d->mlp);
    uint64_t n_patch = (uint64_t)B * d->patches * d->cpp;
    if (n_patch > n_big)
        n_big = n_patch;
    float *x = malloc(rows * d->D * sizeof *x), *h = malloc(rows * d->D * sizeof *h);
    float *big = malloc(n_big * sizeof *big), *probs = malloc(rows * sizeof *probs);
    float *row = malloc((size_t)B * d->D * sizeof *row), *pl = malloc(((size_t)B * d->R + 1) * sizeof *pl);
    int rc = -1;
    if (!x || !h || !big || !probs || !row || !pl)
        goto done;

    ref_patchify(input, big, B, d->C, d->image, d->P);
    ref_matmul(big, model_host(m, -1, W_PATCH_W), 0, model_host(m, -1, W_PATCH_B), NULL, h, 1, B * d->patches, d->D,
               d->cpp, REF_EPI_NONE);
    ref_tokens(h, model_host(m, -1, W_CLS), model_host(m, -1, W_DIST), model_host(m, -1, W_POS), x, B, d->T, d->D,
               d->prefix);
    int gelu = m->cfg.gelu == VIT_GELU_TANH ? REF_EPI_GELU_TANH : REF_EPI_GELU;
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
    for (uint32_t t = 0; t < d->prefix; t++) {
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t i = 0; i < d->D; i++)
                row[(size_t)b * d->D + i] = x[((size_t)b * d->T + t) * d->D + i];
        ref_layernorm(row, model_host(m, -1, W_NORM_W), model_host(m, -1, W_NORM_B), h, B, d->D, (float)m->cfg.eps);
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t i = 0; i < d->D; i++)
                pooled[((size_t)b * d->prefix + t) * d->D + i] = h[(size_t)b * d->D + i];
    }
    if (d->R) { /* on the class token: pooled rows are [cls | dist] in a distilled model */
        for (uint32_t b = 0; b < B; b++)
            ref_matmul(pooled + (size_t)b * d->prefix * d->D, model_host(m, -1, W_PRE_W), 0, model_host(m, -1, W_PRE_B),
                       NULL, pl + (size_t)b * d->R, 1, 1, d->R, d->D, REF_EPI_TANH);
        if (pre)
            memcpy(pre, pl, (size_t)B * d->R * sizeof *pre);
    }
    if (d->K && logits)
        ref_matmul(d->R ? pl : pooled, model_host(m, -1, W_HEAD_W), 0, model_host(m, -1, W_HEAD_B), NULL, logits, 1, B,
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
