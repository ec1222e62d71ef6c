/* The roofline account's formulas (cost.h). */
#include "cost.h"

static double ceil_div(double a, double b) { return (double)(((uint64_t)a + (uint64_t)b - 1) / (uint64_t)b); }

vk_cost cost_matmul(uint32_t batch, uint32_t M, uint32_t N, uint32_t K, uint32_t es, bool bias, bool residual,
                    bool w_batched, uint32_t bm, uint32_t bn)
{
    const double b = batch, x = (double)M * K, w = (double)N * K, y = (double)M * N, e = es;
    const double once = b * x + (w_batched ? b : 1.0) * w + (bias ? N : 0) + b * y * (residual ? 2.0 : 1.0);
    const double rows = ceil_div(M, bm), cols = ceil_div(N, bn);
    const double tiled = b * (x * cols + w * rows + (bias ? rows * N : 0) + y * (residual ? 2.0 : 1.0));
    return (vk_cost){.flops = 2.0 * b * x * N, .min_bytes = e * once, .tiled_bytes = e * tiled};
}

vk_cost cost_attention(uint32_t B, uint32_t T, uint32_t H, uint32_t dh, uint32_t es, uint32_t rows)
{
    const double bh = (double)B * H, t = T, d = dh, e = es;
    const double qkv = bh * t * 3.0 * d, out = bh * t * d;
    const double tiled = bh * (t * d + ceil_div(T, rows) * 2.0 * t * d) + out;
    return (vk_cost){.flops = 4.0 * bh * t * t * d, .min_bytes = e * (qkv + out), .tiled_bytes = e * tiled};
}

vk_cost cost_layernorm(uint32_t rows, uint32_t D, uint32_t es, uint32_t groups, bool reread)
{
    const double n = (double)rows * D, e = es;
    return (vk_cost){.flops = 8.0 * n, .min_bytes = e * (2.0 * n + 2.0 * D),
                     .tiled_bytes = e * ((reread ? 3.0 : 2.0) * n + 2.0 * D * groups)};
}

vk_cost cost_stream(double flops, double in, double out, double reread)
{
    return (vk_cost){.flops = flops, .min_bytes = in + out, .tiled_bytes = in + out + reread};
}
