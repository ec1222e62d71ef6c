#include "ref.h"

void ref_patchify(const float *img, float *patches, uint32_t B, uint32_t C, uint32_t S, uint32_t P)
{
    ref_patchify_rect(img, patches, B, C, S, S, P);
}

void ref_patchify_rect(const float *img, float *patches, uint32_t B, uint32_t C, uint32_t H, uint32_t W, uint32_t P)
{
    uint32_t G = H / P, Gw = W / P;
    uint64_t cpp = (uint64_t)C * P * P;
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t gy = 0; gy < G; gy++)
            for (uint32_t gx = 0; gx < Gw; gx++) {
                float *row = patches + ((uint64_t)b * G * Gw + gy * Gw + gx) * cpp;
                for (uint32_t c = 0; c < C; c++)
                    for (uint32_t py = 0; py < P; py++)
                        for (uint32_t px = 0; px < P; px++)
                            row[(c * P + py) * P + px] =
                                img[(((uint64_t)b * C + c) * H + gy * P + py) * W + gx * P + px];
            }
}

void ref_tokens_regs(const float *emb, const float *cls, const float *dist, const float *reg, uint32_t regs,
                     const float *pos, float *x, uint32_t B, uint32_t T, uint32_t D, uint32_t prefix)
{
    const uint32_t lead = prefix + regs;
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t t = 0; t < T; t++)
            for (uint32_t d = 0; d < D; d++) {
                float v = t < prefix ? (t == 0 ? cls[d] : dist[d]) : t < lead ? reg[(uint64_t)(t - prefix) * D + d]
                        : emb[((uint64_t)b * (T - lead) + t - lead) * D + d];
                x[((uint64_t)b * T + t) * D + d] = v + pos[(uint64_t)t * D + d];
            }
}

void ref_tokens(const float *emb, const float *cls, const float *dist, const float *pos, float *x, uint32_t B,
                uint32_t T, uint32_t D, uint32_t prefix)
{
    ref_tokens_regs(emb, cls, dist, NULL, 0, pos, x, B, T, D, prefix);
}
