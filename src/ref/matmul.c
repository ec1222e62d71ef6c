#include "ref.h"

#include <math.h>
#include <stddef.h>

/* y[b][m][n] = epilogue(sum_k x[b][m][k] w[n][k] + bias[n]), summed in double. r may alias y: each
 * element of r is read before the same element of y is written. */
void ref_matmul(const float *x, const float *w, int w_batched, const float *bias, const float *r,
                float *y, uint32_t batch, uint32_t M, uint32_t N, uint32_t K, int epilogue)
{
    for (uint32_t b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * M * K;
        const float *wb = w + (w_batched ? (size_t)b * N * K : 0);
        for (uint32_t m = 0; m < M; m++) {
            for (uint32_t n = 0; n < N; n++) {
                double acc = bias ? bias[n] : 0.0;
                for (uint32_t k = 0; k < K; k++)
                    acc += (double)xb[(size_t)m * K + k] * wb[(size_t)n * K + k];
                size_t i = ((size_t)b * M + m) * N + n;
                if (epilogue == REF_EPI_GELU)
                    acc = ref_gelu_erf(acc);
                else if (epilogue == REF_EPI_GELU_TANH)
                    acc = ref_gelu_tanh(acc);
                else if (epilogue == REF_EPI_RESIDUAL && r)
                    acc += r[i];
                else if (epilogue == REF_EPI_TANH)
                    acc = tanh(acc);
                else if (epilogue == REF_EPI_QUICK_GELU)
                    acc = ref_quick_gelu(acc);
                y[i] = (float)acc;
            }
        }
    }
}
