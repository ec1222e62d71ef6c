/* The roofline account of each op's dispatches (vk_cost, src/vk/vk.h): what a dispatch of a shape costs
 * in FLOPs and bytes, given the tiling its op chose. Pure arithmetic on shapes, so tests check the
 * formulas against hand-computed values (test_cost.c); the ops fill vk_dispatch.cost with them.
 *
 * Conventions: an FMA is 2 FLOPs; transcendental and elementwise epilogue work is left out of the GEMMs
 * (it is O(M N) against O(M N K)); elementwise ops count the FLOPs named in their function's comment.
 * Bytes at the dtype's element size (es: 4 or 2), fp32 where the op reads or writes fp32. */
#ifndef VKVIT_OPS_COST_H
#define VKVIT_OPS_COST_H

#include "../vk/vk.h"

/* Y[batch][M][N] = X[batch][M][K] . W^T (+ bias [N]) (+ R [batch][M][N]) in BM x BN tiles, one workgroup
 * per tile and batch: every tile reads its BM rows of X and BN rows of W over all of K, so X is read
 * ceil(N / BN) times and W ceil(M / BM) times per batch (rows past M or N clamped, not read twice).
 * w_batched: W differs per batch (its min bytes counted per batch). */
vk_cost cost_matmul(uint32_t batch, uint32_t M, uint32_t N, uint32_t K, uint32_t es, bool bias, bool residual,
                    bool w_batched, uint32_t bm, uint32_t bn);

/* Fused attention over qkv [B][T][3][H][dh] -> out [B][T][H dh]: per image and head, Q.K^T and P.V
 * (4 T^2 dh FLOPs); a workgroup covers `rows` query rows of one head of one image and reads all T keys
 * and values of that head, so K and V are read ceil(T / rows) times. */
vk_cost cost_attention(uint32_t B, uint32_t T, uint32_t H, uint32_t dh, uint32_t es, uint32_t rows);

/* LayerNorm of `rows` rows of D: 8 FLOPs per element (sum, centred square, normalise, scale, shift);
 * x read once (twice when a workgroup's registers do not hold the row: reread), gamma and beta once per
 * workgroup of `groups`. */
vk_cost cost_layernorm(uint32_t rows, uint32_t D, uint32_t es, uint32_t groups, bool reread);

/* An elementwise or data-movement op: `flops`, reading `in` and writing `out` bytes once, reading
 * `reread` more bytes because of how it is tiled. */
vk_cost cost_stream(double flops, double in, double out, double reread);

#endif
