#include "ref.h"

#include <math.h>

/* Two-pass in double: mean first, then the mean of squared deviations (biased variance, as
 * PyTorch's LayerNorm). */
void ref_layernorm(const float *x, const float *gamma, const float *beta, float *y, uint32_t rows,
                   uint32_t D, float eps)
{
    for (uint32_t r = 0; r < rows; r++) {
        const float *xr = x + (uint64_t)r * D;
        float *yr = y + (uint64_t)r * D;
        double mean = 0.0, var = 0.0;
        for (uint32_t i = 0; i < D; i++)
            mean += xr[i];
        mean /= D;
        for (uint32_t i = 0; i < D; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= D;
        const double rstd = 1.0 / sqrt(var + (double)eps);
        for (uint32_t i = 0; i < D; i++)
            yr[i] = (float)((xr[i] - mean) * rstd * gamma[i] + beta[i]);
    }
}
