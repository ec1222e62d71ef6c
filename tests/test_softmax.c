/* op_softmax (vkvit_record's probabilities) against ref_softmax (double sums) on fresh random rows:
 * the class counts of real heads (10, 1000, 21843), awkward ones (1, 7, 63, 65, 197), more rows than
 * one dispatch dimension holds, logits in the hundreds (exp overflows without the max subtraction),
 * and equal logits. Outputs poisoned first; bound 1e-5. */
#include "common.h"
#include "ref/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows x K logits ~ U(lo, hi); lo == hi: every logit equal. */
typedef struct softmax_case {
    uint32_t rows, K;
    float lo, hi;
} softmax_case;

static const softmax_case cases[] = {
    {1, 1, -8.0f, 8.0f},     {1, 7, -8.0f, 8.0f},    {3, 10, -8.0f, 8.0f},     {2, 63, -8.0f, 8.0f},
    {5, 65, -8.0f, 8.0f},    {7, 197, -8.0f, 8.0f},  {4, 1000, -8.0f, 8.0f},   {1, 21843, -8.0f, 8.0f},
    {70000, 3, -8.0f, 8.0f},
    {3, 1000, 100.0f, 400.0f},   /* exp(400) overflows fp32: the max must go first */
    {2, 1000, -400.0f, -100.0f}, /* and exp(-400) underflows */
    {2, 197, 3.5f, 3.5f},        /* equal logits: exactly 1/K each */
};

static void check(vkvit_context *ctx, const softmax_case *c, uint64_t *rng)
{
    const uint32_t rows = c->rows, K = c->K;
    const size_t n = (size_t)rows * K;
    float *x = test_alloc(n), *out = test_alloc(n), *ref = test_alloc(n);
    if (c->lo == c->hi)
        for (size_t i = 0; i < n; i++)
            x[i] = c->lo;
    else
        test_fill(x, n, rng, c->lo, c->hi);
    ref_softmax(x, ref, rows, K);
    vk_buffer bx = test_upload(ctx, x, n), by = test_poisoned(ctx, OP_F32, n);
    softmax_args a = {.rows = rows, .K = K, .x = vk_whole(&bx), .y = vk_whole(&by)};
    test_run(ctx, test_record_softmax, &a);
    test_download(ctx, &by, out, n);
    char name[128];
    snprintf(name, sizeof name, "softmax rows=%-6u K=%-6u logits in [%g, %g]", rows, K, (double)c->lo,
             (double)c->hi);
    test_check(name, out, ref, n, TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &by);
    free(x), free(out), free(ref);
}

int main(void)
{
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check(ctx, &cases[i], &rng);

    vk_buffer b = test_upload(ctx, NULL, 64);
    const softmax_args good = {.rows = 8, .K = 8, .x = vk_whole(&b), .y = vk_whole(&b)};
    struct {
        const char *what;
        softmax_args a;
    } bad[] = {{"0 rows", good}, {"a span too small", good}};
    bad[0].a.rows = 0;
    bad[1].a.rows = 9; /* 72 floats into 64 */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "softmax", test_record_softmax, &bad[i].a, bad[i].what, NULL);
    vk_buffer_destroy(ctx, &b);
    return test_finish(ctx);
}
