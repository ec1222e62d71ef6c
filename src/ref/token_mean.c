#include "ref.h"

void ref_token_mean(const float *x, float *y, uint32_t B, uint32_t T, uint32_t D, uint32_t first, uint32_t count,
                    uint32_t y_stride, uint32_t y_first)
{
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t d = 0; d < D; d++) {
            double sum = 0;
            for (uint32_t t = 0; t < count; t++)
                sum += x[((uint64_t)b * T + first + t) * D + d];
            y[(uint64_t)b * y_stride + y_first + d] = (float)(sum / count);
        }
}
