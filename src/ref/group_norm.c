#include "ref.h"

#include <math.h>

/* Per (batch, group): the mean, then the mean of squared deviations (biased, as PyTorch's
 * GroupNorm), both in double; the affine, residual and ReLU per element. */
void ref_group_norm(const float *x, const float *gamma, const float *beta, const float *r, float *y, uint32_t B,
                    uint32_t HW, uint32_t C, uint32_t G, float eps, int relu)
{
    const uint32_t cg = C / G;
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t g = 0; g < G; g++) {
            const uint64_t base = (uint64_t)b * HW * C + (uint64_t)g * cg;
            const double n = (double)HW * cg;
            double mean = 0.0, var = 0.0;
            for (uint32_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++)
                    mean += x[base + (uint64_t)p * C + j];
            mean /= n;
            for (uint32_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++) {
                    const double d = x[base + (uint64_t)p * C + j] - mean;
                    var += d * d;
                }
            const double rstd = 1.0 / sqrt(var / n + (double)eps);
            for (uint32_t p = 0; p < HW; p++)
                for (uint32_t j = 0; j < cg; j++) {
                    const uint64_t i = base + (uint64_t)p * C + j;
                    const uint32_t c = g * cg + j;
                    double v = (x[i] - mean) * rstd * gamma[c] + beta[c] + (r ? r[i] : 0.0);
                    y[i] = (float)(relu && v < 0.0 ? 0.0 : v);
                }
        }
}
