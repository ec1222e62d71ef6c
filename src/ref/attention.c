/* Reference multi-head self-attention: the textbook formula, double accumulation.
 *
 *   qkv [B][T][3][H][dh]:  q = qkv[b,t,0,h,:], k = qkv[b,t,1,h,:], v = qkv[b,t,2,h,:]
 *   s[i,j]   = scale * q_i . k_j                      (scale 0 = 1/sqrt(dh))
 *   p[i,j]   = exp(s[i,j] - max_j s[i,j]) / sum_j exp(s[i,j] - max_j s[i,j])
 *   out[b,i,h*dh + d] = sum_j p[i,j] v_j[d]           out [B][T][H*dh]
 *   cls_probs[b,j]    = (1/H) sum_h p_h[0,j]          cls_probs [B][T] (optional)           */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

void ref_attention(const float *qkv, float *out, float *cls_probs, uint32_t B, uint32_t T, uint32_t H,
                   uint32_t dh, float scale)
{
    const double sc = scale != 0.0f ? (double)scale : 1.0 / sqrt((double)dh);
    const size_t row = (size_t)3 * H * dh;   /* floats per token in qkv */
    double *p = malloc(sizeof *p * T);
    double *acc = malloc(sizeof *acc * dh);
    double *probs = malloc(sizeof *probs * T);
    if (!p || !acc || !probs)
        abort();

    for (uint32_t b = 0; b < B; ++b) {
        const float *x = qkv + (size_t)b * T * row;
        for (uint32_t j = 0; j < T; ++j)
            probs[j] = 0.0;
        for (uint32_t h = 0; h < H; ++h) {
            for (uint32_t i = 0; i < T; ++i) {
                const float *q = x + (size_t)i * row + (size_t)h * dh;
                double m = -INFINITY;
                for (uint32_t j = 0; j < T; ++j) {
                    const float *k = x + (size_t)j * row + (size_t)(H + h) * dh;
                    double s = 0.0;
                    for (uint32_t d = 0; d < dh; ++d)
                        s += (double)q[d] * (double)k[d];
                    p[j] = s * sc;
                    if (p[j] > m)
                        m = p[j];
                }
                double sum = 0.0;
                for (uint32_t j = 0; j < T; ++j) {
                    p[j] = exp(p[j] - m);
                    sum += p[j];
                }
                for (uint32_t d = 0; d < dh; ++d)
                    acc[d] = 0.0;
                for (uint32_t j = 0; j < T; ++j) {
                    const float *v = x + (size_t)j * row + (size_t)(2 * H + h) * dh;
                    for (uint32_t d = 0; d < dh; ++d)
                        acc[d] += p[j] * (double)v[d];
                }
                float *o = out + ((size_t)b * T + i) * H * dh + (size_t)h * dh;
                for (uint32_t d = 0; d < dh; ++d)
                    o[d] = (float)(acc[d] / sum);
                if (i == 0)
                    for (uint32_t j = 0; j < T; ++j)
                        probs[j] += p[j] / sum;
            }
        }
        if (cls_probs)
            for (uint32_t j = 0; j < T; ++j)
                cls_probs[(size_t)b * T + j] = (float)(probs[j] / H);
    }
    free(p);
    free(acc);
    free(probs);
}
