/* The roofline account (src/ops/cost.h) against hand-computed values at a ViT-S/16-like shape, and what an
 * accounted recording keeps for a real matmul and attention dispatch (vk_cmd_set_accounting).
 *
 * QKV GEMM, M = 197 tokens, N = 2304, K = 768, fp32 with bias, in 64 x 64 tiles:
 *   FLOPs      2 M N K                                   = 2 * 197 * 2304 * 768           =   697 171 968
 *   min bytes  4 (M K + N K + N + M N)                   = 4 * (151296 + 1769472 + 2304 + 453888)
 *                                                        =     9 507 840
 *   tiled      4 (M K ceil(N/64) + N K ceil(M/64) + N ceil(M/64) + M N)
 *                = 4 * (151296 * 36 + 1769472 * 4 + 2304 * 4 + 453888)   =    51 950 592
 * Attention, B = 1, T = 197, H = 3, dh = 64, fp32, 40 query rows a workgroup (5 blocks):
 *   FLOPs      4 B H T^2 dh                              = 4 * 3 * 38809 * 64             =    29 805 312
 *   min bytes  4 (B T 3 H dh + B T H dh)                 = 4 * (113472 + 37824)           =       605 184
 *   tiled      4 (B H (T dh + 5 * 2 T dh) + B T H dh)    = 4 * (3 * (12608 + 126080) + 37824)
 *                                                        =     1 815 552 */
#include "common.h"
#include "ops/cost.h"
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>

static bool same(double got, double want) { return fabs(got - want) <= 1e-9 * want; }

int main(void)
{
    vkvit_context *ctx = test_context();
    vk_cost m = cost_matmul(1, 197, 2304, 768, 4, true, false, false, 64, 64);
    test_expect(same(m.flops, 697171968.0), "matmul FLOPs %.0f", m.flops);
    test_expect(same(m.min_bytes, 9507840.0), "matmul min bytes %.0f", m.min_bytes);
    test_expect(same(m.tiled_bytes, 51950592.0), "matmul tiled bytes %.0f", m.tiled_bytes);
    /* A residual GEMM reads R and writes Y: both counted; fp16 halves everything. */
    vk_cost r = cost_matmul(1, 197, 768, 768, 2, true, true, false, 64, 64);
    test_expect(same(r.min_bytes, 2.0 * (197.0 * 768 + 768.0 * 768 + 768 + 2.0 * 197 * 768)),
                "residual fp16 matmul min bytes %.0f", r.min_bytes);
    vk_cost a = cost_attention(1, 197, 3, 64, 4, 40);
    test_expect(same(a.flops, 29805312.0), "attention FLOPs %.0f", a.flops);
    test_expect(same(a.min_bytes, 605184.0), "attention min bytes %.0f", a.min_bytes);
    test_expect(same(a.tiled_bytes, 1815552.0), "attention tiled bytes %.0f", a.tiled_bytes);

    /* The same shapes recorded: one account entry per dispatch, the formula's FLOPs and min bytes (the
     * tiled bytes depend on the tile the device's configuration picked), a workgroup size. */
    const uint32_t M = 197, N = 2304, K = 768, T = 197, H = 3, dh = 64;
    vk_buffer x = test_upload(ctx, NULL, (size_t)M * K), w = test_upload(ctx, NULL, (size_t)N * K),
              b = test_upload(ctx, NULL, N), y = test_upload(ctx, NULL, (size_t)M * N),
              o = test_upload(ctx, NULL, (size_t)T * H * dh);
    matmul_args mm = {.batch = 1, .M = M, .N = N, .K = K, .x = vk_whole(&x), .w = vk_whole(&w), .bias = vk_whole(&b),
                      .y = vk_whole(&y)};
    attention_args at = {.batch = 1, .T = T, .H = H, .dh = dh, .qkv = vk_whole(&y), .out = vk_whole(&o)};
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    vk_cmd_set_accounting(cmd, true);
    test_ok(vk_cmd_begin(cmd), "begin");
    test_ok(op_matmul(cmd, ctx, &mm), "matmul");
    test_ok(op_attention(cmd, ctx, &at), "attention");
    test_ok(vk_cmd_end(cmd), "end");
    const vk_account *e = vk_cmd_account(cmd);
    uint32_t dispatches, barriers;
    vk_cmd_counts(cmd, &dispatches, &barriers, NULL);
    /* One barrier between the two; the one attention asks for after itself is left to vk_cmd_end's. */
    test_expect(dispatches == 2 && barriers == 2, "%u dispatches, %u barriers (2, 2)", dispatches, barriers);
    if (test_expect(vk_cmd_account_count(cmd) == 2 && e, "%u account entries", vk_cmd_account_count(cmd))) {
        printf("     %s: %u x %u workgroups of %u, %u B shared, tiled %.0f B; %s: %u workgroups of %u, tiled %.0f B\n",
               e[0].name, e[0].groups[0], e[0].groups[1], e[0].cost.wg_size, e[0].cost.shared_bytes,
               e[0].cost.tiled_bytes, e[1].name, e[1].groups[0], e[1].cost.wg_size, e[1].cost.tiled_bytes);
        test_expect(e[0].has_cost && same(e[0].cost.flops, m.flops) && same(e[0].cost.min_bytes, m.min_bytes) &&
                        e[0].cost.tiled_bytes >= m.min_bytes && e[0].cost.wg_size > 0,
                    "recorded matmul: %.0f FLOPs, %.0f min bytes", e[0].cost.flops, e[0].cost.min_bytes);
        test_expect(e[1].has_cost && same(e[1].cost.flops, a.flops) && same(e[1].cost.min_bytes, a.min_bytes) &&
                        e[1].cost.tiled_bytes >= a.min_bytes && e[1].cost.wg_size > 0,
                    "recorded attention: %.0f FLOPs, %.0f min bytes", e[1].cost.flops, e[1].cost.min_bytes);
    }
    vk_cmd_destroy(cmd);
    vk_buffer_destroy(ctx, &x), vk_buffer_destroy(ctx, &w), vk_buffer_destroy(ctx, &b);
    vk_buffer_destroy(ctx, &y), vk_buffer_destroy(ctx, &o);
    return test_finish(ctx);
}
