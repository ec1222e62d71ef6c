/* vkvit-bench's measurement, shared by every job: a command buffer recorded once (timestamp, work,
 * timestamp), submitted a few times to warm up, then timed over many submissions: GPU time from the two
 * timestamps, wall time around submit + wait; the median, the 10th/90th percentiles, min and mean of
 * each. And the seeded random numbers the measured work runs on. */
#include <stdlib.h>
#include <time.h>

#include "bench.h"

/* ---- the clock and the statistics ------------------------------------------------------------------- */

double now_s(void)
{
#if defined(HAVE_POSIX) && defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const stats *primary(const timing *t) { return t->gpu ? &t->gpu_ms : &t->wall_ms; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, uint32_t n, double p)
{
    double pos = p * (double)(n - 1);
    uint32_t i = (uint32_t)pos;
    if (i + 1 >= n)
        return sorted[n - 1];
    double f = pos - (double)i;
    return sorted[i] * (1 - f) + sorted[i + 1] * f;
}

stats summarize(double *v, uint32_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    stats s = {percentile(v, n, 0.5), percentile(v, n, 0.1), percentile(v, n, 0.9), v[0], 0};
    for (uint32_t i = 0; i < n; i++)
        s.mean += v[i] / n;
    return s;
}

/* ---- timed command buffers -------------------------------------------------------------------------- */

vk_cmd *timed_begin(bench *b)
{
    vk_cmd *cmd;
    check(vk_cmd_create(b->ctx, 2, &cmd), "creating a command buffer");
    check(vk_cmd_begin(cmd), "vk_cmd_begin");
    vk_cmd_timestamp(cmd, 0);
    return cmd;
}

void timed_end(vk_cmd *cmd)
{
    vk_cmd_timestamp(cmd, 1);
    check(vk_cmd_end(cmd), "vk_cmd_end");
}

void run_once(bench *b, vk_cmd *cmd, double *gpu_ms, double *wall_ms)
{
    double t0 = now_s();
    check(vk_cmd_submit_wait(cmd), "submit");
    *wall_ms = (now_s() - t0) * 1e3;
    *gpu_ms = 0;
    if (b->ctx->timestamps) {
        double ns[2];
        check(vk_cmd_timestamps_ns(cmd, 2, ns), "reading timestamps");
        *gpu_ms = ns[1] * 1e-6;
    }
}

/* v with room for n doubles, or the run ends. */
static double *grow(double *v, uint32_t n)
{
    double *p = realloc(v, n * sizeof *v);
    if (!p)
        die("out of host memory (timings)");
    return p;
}

timing time_cmd(bench *b, vk_cmd *cmd)
{
    const options *o = &b->opt;
    for (uint32_t i = 0; i < o->warmup; i++) {
        double g, w;
        run_once(b, cmd, &g, &w);
    }
    uint32_t cap = o->iters, n = 0;
    double *gpu = xcalloc(cap, sizeof *gpu), *wall = xcalloc(cap, sizeof *wall);
    double total_s = 0;
    while (n < o->max_runs && (n < o->iters || total_s < o->min_time_s)) {
        if (n == cap) {
            cap *= 2;
            gpu = grow(gpu, cap);
            wall = grow(wall, cap);
        }
        run_once(b, cmd, &gpu[n], &wall[n]);
        total_s += 1e-3 * wall[n];
        n++;
    }
    timing t = {.runs = n, .gpu = b->ctx->timestamps};
    t.wall_ms = summarize(wall, n);
    if (t.gpu)
        t.gpu_ms = summarize(gpu, n);
    free(gpu);
    free(wall);
    return t;
}

/* ---- seeded random numbers -------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float rng_uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(rng_next(state) >> 40) * (1.0 / 16777216.0));
}
