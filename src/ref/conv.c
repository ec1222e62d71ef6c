#include "ref.h"

void ref_window_out(const ref_window *g, uint32_t *Ho, uint32_t *Wo)
{
    *Ho = (g->H + g->pad_top + g->pad_bottom - g->kh) / g->stride + 1;
    *Wo = (g->W + g->pad_left + g->pad_right - g->kw) / g->stride + 1;
}

/* Straight from the definition: every output pixel, every tap inside the input, double sums. */
void ref_conv2d(const ref_window *g, uint32_t Cout, int nchw, const float *x, const float *w, const float *bias,
                float *y)
{
    uint32_t Ho, Wo;
    ref_window_out(g, &Ho, &Wo);
    const uint64_t Kp = ((uint64_t)g->kh * g->kw * g->C + 3) / 4 * 4;
    for (uint32_t b = 0; b < g->batch; b++)
        for (uint32_t oy = 0; oy < Ho; oy++)
            for (uint32_t ox = 0; ox < Wo; ox++)
                for (uint32_t o = 0; o < Cout; o++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (uint32_t ky = 0; ky < g->kh; ky++) {
                        const int64_t iy = (int64_t)oy * g->stride + ky - g->pad_top;
                        if (iy < 0 || iy >= g->H)
                            continue;
                        for (uint32_t kx = 0; kx < g->kw; kx++) {
                            const int64_t ix = (int64_t)ox * g->stride + kx - g->pad_left;
                            if (ix < 0 || ix >= g->W)
                                continue;
                            const float *wr = w + o * Kp + ((uint64_t)ky * g->kw + kx) * g->C;
                            for (uint32_t c = 0; c < g->C; c++) {
                                const uint64_t xi = nchw ? (((uint64_t)b * g->C + c) * g->H + iy) * g->W + ix
                                                         : (((uint64_t)b * g->H + iy) * g->W + ix) * g->C + c;
                                acc += (double)wr[c] * x[xi];
                            }
                        }
                    }
                    y[(((uint64_t)b * Ho + oy) * Wo + ox) * Cout + o] = (float)acc;
                }
}
