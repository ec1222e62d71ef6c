/* The ResNet ops' C references (cnn.h): every output from its definition, double sums. */
#include "cnn.h"

#include <math.h>

void ref_window_out(const ref_window *g, uint32_t *Ho, uint32_t *Wo)
{
    *Ho = (g->H + g->pad_top + g->pad_bottom - g->kh) / g->stride + 1;
    *Wo = (g->W + g->pad_left + g->pad_right - g->kw) / g->stride + 1;
}

void ref_conv2d(const ref_window *g, uint32_t Cout, int nchw, const float *x, const float *w, const float *bias,
                float *y)
{
    uint32_t Ho, Wo;
    ref_window_out(g, &Ho, &Wo);
    const uint64_t Kp = ((uint64_t)g->kh * g->kw * g->C + 3) / 4 * 4;
    for (uint64_t b = 0; b < g->batch; b++)
        for (uint32_t oy = 0; oy < Ho; oy++)
            for (uint32_t ox = 0; ox < Wo; ox++)
                for (uint32_t o = 0; o < Cout; o++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (uint32_t ky = 0; ky < g->kh; ky++)
                        for (uint32_t kx = 0; kx < g->kw; kx++) {
                            const int64_t iy = (int64_t)oy * g->stride + ky - g->pad_top;
                            const int64_t ix = (int64_t)ox * g->stride + kx - g->pad_left;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                continue;
                            const float *wr = w + o * Kp + ((uint64_t)ky * g->kw + kx) * g->C;
                            for (uint64_t c = 0; c < g->C; c++)
                                acc += (double)wr[c] * x[nchw ? ((b * g->C + c) * g->H + iy) * g->W + ix
                                                              : ((b * g->H + iy) * g->W + ix) * g->C + c];
                        }
                    y[((b * Ho + oy) * Wo + ox) * Cout + o] = (float)acc;
                }
}

void ref_max_pool(const ref_window *g, const float *x, float *y)
{
    uint32_t Ho, Wo;
    ref_window_out(g, &Ho, &Wo);
    for (uint64_t b = 0; b < g->batch; b++)
        for (uint32_t oy = 0; oy < Ho; oy++)
            for (uint32_t ox = 0; ox < Wo; ox++)
                for (uint32_t c = 0; c < g->C; c++) {
                    float m = -INFINITY;
                    for (uint32_t ky = 0; ky < g->kh; ky++)
                        for (uint32_t kx = 0; kx < g->kw; kx++) {
                            const int64_t iy = (int64_t)oy * g->stride + ky - g->pad_top;
                            const int64_t ix = (int64_t)ox * g->stride + kx - g->pad_left;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                continue;
                            const float v = x[((b * g->H + iy) * g->W + ix) * g->C + c];
                            if (!isnan(m) && (v > m || isnan(v))) /* the first NaN stays */
                                m = v;
                        }
                    y[((b * Ho + oy) * Wo + ox) * g->C + c] = m;
                }
}

void ref_group_norm(const float *x, const float *gamma, const float *beta, const float *r, float *y, uint32_t B,
                    uint32_t HW, uint32_t C, uint32_t G, float eps, int relu)
{
    const uint32_t cg = C / G;
    const double n = (double)HW * cg;
    for (uint64_t b = 0; b < B; b++)
        for (uint32_t g = 0; g < G; g++) {
            const uint64_t base = b * HW * C + (uint64_t)g * cg;
            double mean = 0.0, var = 0.0;
            for (uint64_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++)
                    mean += x[base + p * C + j];
            mean /= n;
            for (uint64_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++)
                    var += (x[base + p * C + j] - mean) * (x[base + p * C + j] - mean);
            const double rstd = 1.0 / sqrt(var / n + (double)eps);
            for (uint64_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++) {
                    const uint64_t i = base + p * C + j;
                    const double v = (x[i] - mean) * rstd * gamma[g * cg + j] + beta[g * cg + j] + (r ? r[i] : 0.0);
                    y[i] = (float)(relu && v < 0.0 ? 0.0 : v);
                }
        }
}
