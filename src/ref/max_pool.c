#include "ref.h"

#include <math.h>

void ref_max_pool(const ref_window *g, const float *x, float *y)
{
    uint32_t Ho, Wo;
    ref_window_out(g, &Ho, &Wo);
    for (uint32_t b = 0; b < g->batch; b++)
        for (uint32_t oy = 0; oy < Ho; oy++)
            for (uint32_t ox = 0; ox < Wo; ox++)
                for (uint32_t c = 0; c < g->C; c++) {
                    float m = -INFINITY;
                    for (uint32_t ky = 0; ky < g->kh; ky++)
                        for (uint32_t kx = 0; kx < g->kw; kx++) {
                            const int64_t iy = (int64_t)oy * g->stride + ky - g->pad_top,
                                          ix = (int64_t)ox * g->stride + kx - g->pad_left;
                            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                continue;
                            const float v = x[(((uint64_t)b * g->H + iy) * g->W + ix) * g->C + c];
                            if (!isnan(m) && (v > m || isnan(v)))   /* the first NaN stays */
                                m = v;
                        }
                    y[(((uint64_t)b * Ho + oy) * Wo + ox) * g->C + c] = m;
                }
}
