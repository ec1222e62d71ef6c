/* Soak: one plan (tests/data/hf-vit, batch 2) run 1,000 times on the same input.
 *   - every run's logits and embeddings are bitwise identical to the first run's (and the first
 *     run matches the fixture's expected logits);
 *   - host memory does not grow: resident set size (/proc/self/statm) before run 10 and after run
 *     1000 differ by at most 1 MiB. Under AddressSanitizer freed blocks sit in its quarantine and
 *     inflate the RSS, so there the bound applies to the live heap bytes ASan reports instead (the
 *     RSS is still printed);
 *   - device memory does not grow: the context's count of live vk_buffer_create bytes and buffers
 *     is the same before run 10 and after run 1000.
 * The validation layer is on throughout; any message fails the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifdef SOAK_ASAN
size_t __sanitizer_get_current_allocated_bytes(void); /* <sanitizer/allocator_interface.h>, not always installed */
#endif


#define RUNS 1000
#define MEASURE_FROM 10 /* the first runs may still create lazily-made objects */
#define HOST_GROWTH_LIMIT (1u << 20)
#define FIXTURE VKVIT_SOURCE_ROOT "/tests/data/hf-vit/expected.safetensors"

/* Resident set size in bytes, from /proc/self/statm (second field, pages). */
static uint64_t rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (!fp || fscanf(fp, "%llu %llu", &size, &resident) != 2) {
        fprintf(stderr, "FATAL: cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(fp);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Live heap bytes: ASan's count when built with it, else 0 (not measured). */
static uint64_t heap_bytes(void)
{
#ifdef SOAK_ASAN
    return (uint64_t)__sanitizer_get_current_allocated_bytes();
#else
    return 0;
#endif
}

typedef struct snapshot {
    uint64_t rss, heap, device_bytes;
    uint32_t device_buffers;
} snapshot;

static snapshot take(const vkvit_context *ctx)
{
    snapshot s = {rss_bytes(), heap_bytes(), ctx->bytes_allocated, ctx->allocations};
    return s;
}

int main(void)
{
    vkvit_context *ctx = test_context();
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    test_ok(vkvit_model_load(ctx, VKVIT_SOURCE_ROOT "/tests/data/hf-vit", NULL, &m), "loading tests/data/hf-vit");
    vkvit_model_info mi;
    test_ok(vkvit_model_get_info(m, &mi), "model info");
    test_ok(vkvit_plan_create(m, &(vkvit_plan_options){.batch = 2}, &p), "plan batch 2");

    const uint32_t B = 2;
    const size_t per_image = (size_t)mi.channels * mi.image_size * mi.image_size;
    const size_t nl = B * mi.num_classes, ne = B * mi.hidden;
    float *input = test_read_tensor(FIXTURE, "input", B * per_image);
    float *expected = test_read_tensor(FIXTURE, "logits", nl);
    float *first_l = test_alloc(nl), *first_e = test_alloc(ne), *l = test_alloc(nl), *e = test_alloc(ne);
    vkvit_tensor in = {input, B, mi.channels, mi.image_size, mi.image_size};

    test_ok(vkvit_run(p, &in, NULL), "run 1");
    test_ok(vkvit_get_logits(p, first_l, nl), "logits of run 1");
    test_ok(vkvit_get_embeddings(p, first_e, ne), "embeddings of run 1");
    test_check("run 1 logits vs the fixture", first_l, expected, nl, 1e-4);

    uint32_t differing = 0, first_diff = 0;
    snapshot before = {0}, after;
    double t0 = test_now(), t_measure = 0;
    for (uint32_t run = 2; run <= RUNS; run++) {
        if (run == MEASURE_FROM) {
            before = take(ctx);
            t_measure = test_now();
        }
        vkvit_status s = vkvit_run(p, &in, NULL);
        if (s == VKVIT_OK)
            s = vkvit_get_logits(p, l, nl);
        if (s == VKVIT_OK)
            s = vkvit_get_embeddings(p, e, ne);
        if (s != VKVIT_OK) {
            test_expect(false, "run %u: %s: %s", run, vkvit_status_string(s), vkvit_last_error());
            break;
        }
        if (memcmp(l, first_l, nl * sizeof *l) != 0 || memcmp(e, first_e, ne * sizeof *e) != 0) {
            if (!differing++)
                first_diff = run;
        }
    }
    after = take(ctx);
    double t1 = test_now();

    test_expect(differing == 0, "%u runs: logits and embeddings bitwise identical to run 1's (%u runs differ)", RUNS,
                differing);
    if (differing)
        printf("     first differing run: %u\n", first_diff);
    printf("time: %.2f s for %u runs, %.3f ms per run (runs %u-%u: %.3f ms per run)\n", t1 - t0, RUNS - 1,
           1e3 * (t1 - t0) / (RUNS - 1), MEASURE_FROM, RUNS, 1e3 * (t1 - t_measure) / (RUNS - MEASURE_FROM + 1));
    long long rss_growth = (long long)after.rss - (long long)before.rss;
    printf("host RSS before run %u: %llu KiB, after run %u: %llu KiB, growth %+lld KiB\n", MEASURE_FROM,
           (unsigned long long)before.rss / 1024, RUNS, (unsigned long long)after.rss / 1024, rss_growth / 1024);
#ifdef SOAK_ASAN
    long long heap_growth = (long long)after.heap - (long long)before.heap;
    printf("(AddressSanitizer build: RSS includes its quarantine; the bound applies to live heap bytes)\n");
    test_expect(heap_growth <= (long long)HOST_GROWTH_LIMIT,
                "host heap (ASan live bytes) before run %u: %llu KiB, after run %u: %llu KiB, growth %+lld KiB "
                "(limit 1024 KiB)", MEASURE_FROM, (unsigned long long)before.heap / 1024, RUNS,
                (unsigned long long)after.heap / 1024, heap_growth / 1024);
#else
    test_expect(rss_growth <= (long long)HOST_GROWTH_LIMIT, "host RSS growth %+lld KiB (limit 1024 KiB)",
                rss_growth / 1024);
#endif
    test_expect(after.device_bytes == before.device_bytes && after.device_buffers == before.device_buffers,
                "device memory before run %u: %llu bytes in %u buffers, after run %u: %llu bytes in %u buffers",
                MEASURE_FROM, (unsigned long long)before.device_bytes, before.device_buffers, RUNS,
                (unsigned long long)after.device_bytes, after.device_buffers);

    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    test_expect(ctx->bytes_allocated == 0 && ctx->allocations == 0,
                "after plan and model are freed: %llu device bytes in %u buffers left",
                (unsigned long long)ctx->bytes_allocated, ctx->allocations);
    free(input);
    free(expected);
    free(first_l);
    free(first_e);
    free(l);
    free(e);
    return test_finish(ctx);
}
