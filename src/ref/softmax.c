#include "ref.h"

#include <math.h>

void ref_softmax(const float *x, float *y, uint32_t rows, uint32_t K)
{
    for (uint32_t r = 0; r < rows; r++) {
        const float *z = x + (size_t)r * K;
        float *out = y + (size_t)r * K;
        double mx = -INFINITY, sum = 0;
        for (uint32_t i = 0; i < K; i++)
            mx = z[i] > mx ? z[i] : mx;
        for (uint32_t i = 0; i < K; i++)
            sum += exp((double)z[i] - mx);
        for (uint32_t i = 0; i < K; i++)
            out[i] = (float)(exp((double)z[i] - mx) / sum);
    }
}
