/* op_softmax (vkvit_record's probabilities) against ref_softmax (double sums) on fresh random rows:
 * the class counts of real heads (10, 1000, 21843), awkward ones (1, 7, 63, 65, 197), more rows than
 * one dispatch dimension holds, logits in the hundreds (exp overflows without the max subtraction),
 * and equal logits. Outputs poisoned first; bound 1e-5. */
#include "common.h"
#include "ref/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vkvit_status record(vk_cmd *cmd, vkvit_context *ctx, const void *a) { return op_softmax(cmd, ctx, a); }

static void check(vkvit_context *ctx, uint32_t rows, uint32_t K, float lo, float hi, uint64_t *rng)
{
    const size_t n = (size_t)rows * K;
    float *x = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    if (lo == hi)
        for (size_t i = 0; i < n; i++)
            x[i] = lo;
    else
        test_fill(x, n, rng, lo, hi);
    ref_softmax(x, ref, rows, K);
    vk_buffer bx = test_upload(ctx, x, n), by = test_upload(ctx, NULL, n);
    test_poison(ctx, &by);
    softmax_args a = {.rows = rows, .K = K, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, record, &a);
    test_download(ctx, &by, out, n);
    char name[128];
    snprintf(name, sizeof name, "softmax rows=%-6u K=%-6u logits in [%g, %g]", rows, K, (double)lo, (double)hi);
    test_check(name, out, ref, n, TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x), free(out), free(ref);
}

static vkvit_status expect_invalid(vkvit_context *ctx, const softmax_args *a)
{
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_ok(vk_cmd_begin(cmd), "begin");
    vkvit_status s = op_softmax(cmd, ctx, a);
    test_ok(vk_cmd_end(cmd), "end");
    vk_cmd_destroy(cmd);
    return s;
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    const uint32_t shapes[][2] = {{1, 1}, {1, 7}, {3, 10}, {2, 63}, {5, 65}, {7, 197}, {4, 1000}, {1, 21843},
                                  {70000, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check(ctx, shapes[i][0], shapes[i][1], -8.0f, 8.0f, &rng);
    check(ctx, 3, 1000, 100.0f, 400.0f, &rng);   /* exp(400) overflows fp32: the max must go first */
    check(ctx, 2, 1000, -400.0f, -100.0f, &rng); /* and exp(-400) underflows */
    check(ctx, 2, 197, 3.5f, 3.5f, &rng);        /* equal logits: exactly 1/K each */

    vk_buffer b = test_upload(ctx, NULL, 64);
    softmax_args bad = {.rows = 0, .K = 8, .x = vk_whole(&b), .y = vk_whole(&b)};
    test_expect(expect_invalid(ctx, &bad) == VKVIT_ERROR_INVALID_ARGUMENT, "softmax: 0 rows refused (%s)",
                vkvit_last_error());
    bad.rows = 9; /* 72 floats into 64 */
    test_expect(expect_invalid(ctx, &bad) == VKVIT_ERROR_INVALID_ARGUMENT, "softmax: a span too small refused "
                "(%s)", vkvit_last_error());
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
