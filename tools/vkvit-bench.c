/* vkvit-bench: whole-model benchmark (--model), kernel benchmark for the four ops (--op), and the
 * device's own ceilings (--peak).
 *
 * --model times a plan's own command buffer (what vkvit_run submits) for every model x precision x
 * batch: GPU time between the plan's timestamps (PLAN_TS_START/END), wall time around submit + wait,
 * images/s, TFLOP/s (2*M*N*K per GEMM, patch embedding and head included, + 4*B*H*T^2*dh per
 * attention), % of the --peak FMA rate of the precision, device memory. --ops records the plan again
 * with vk_cmd profiling (a timestamp after every dispatch, tagged with its shader) and sums the
 * intervals per op type and per shader.
 *
 * Every case records ONE command buffer (timestamp, op, timestamp), submits it a few times to warm
 * up, then times it over many submissions: GPU time from the two timestamps, wall time around
 * submit + wait. It reports the median and the 10th/90th percentiles, and the rate at the median:
 * GFLOP/s for matmul (2*M*N*K) and attention (4*B*H*T^2*dh), GB/s (bytes read + written) for
 * layernorm and gelu. Inputs are seeded random data; nothing is checked (the tests do that).
 *
 * --peak measures what this device can do at best: FMA throughput (fp32 vec4, fp32 scalar, and fp16
 * vec4 where the device has shaderFloat16) with tools/peak_fma.comp, buffer-copy bandwidth with
 * tools/peak_copy.comp (uvec4 and uint elements; vkCmdCopyBuffer for comparison), and the fixed
 * cost of one dispatch. With --op, the tables gain a "% of peak" column: matmul and attention
 * against the fp32 vec4 FMA rate, layernorm and gelu against the uvec4 copy shader's bandwidth.
 * bench/README.md explains the method and holds the figures.
 *
 * Uses the library's internals (src/vk, src/ops): it is a developer tool, not an example of the API. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define HAVE_POSIX 1
#endif

#include <cjson/cJSON.h>

#include "ops/ops.h"
#include "plan.h"
#include "vk/vk.h"
#include "safetensors.h"   /* st_f32_to_f16 */

#include "peak_copy.spv.h"
#include "peak_copy_scalar.spv.h"
#include "peak_fma_f16.spv.h"
#include "peak_fma_f32.spv.h"
#include "peak_fma_f32_scalar.spv.h"

/* ViT-B/16 at 224 px: 196 patches + the class token. */
enum { VIT_T = 197, VIT_D = 768, VIT_H = 12, VIT_DH = 64, VIT_MLP = 3072 };
#define MAX_BATCHES 16
#define MAX_SHAPES 16
#define MAX_CASES 256
#define MAX_PEAKS 8

/* ---- failing loudly ------------------------------------------------------------------------------ */

static void die(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkvit-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Any vkvit error ends the run with its status name and detail. */
static void check(vkvit_status s, const char *what)
{
    if (s != VKVIT_OK)
        die("%s failed: %s: %s", what, vkvit_status_string(s), vkvit_last_error());
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of host memory (%zu x %zu bytes)", n, size);
    return p;
}

/* ---- options --------------------------------------------------------------------------------------- */

enum { OP_BIT_MATMUL = 1, OP_BIT_ATTENTION = 2, OP_BIT_LAYERNORM = 4, OP_BIT_GELU = 8, OP_BIT_ALL = 15 };

typedef struct options {
    unsigned ops;                    /* OP_BIT_* */
    bool peak;
    uint32_t batches[MAX_BATCHES];
    uint32_t n_batches;
    const char *shapes[MAX_SHAPES];
    uint32_t n_shapes;
    uint32_t warmup, iters;
    double min_time_s;
    uint32_t max_runs;
    const char *device;
    const char *json;
    bool validate;
    uint64_t seed;
    uint32_t copy_mb;
    const char *models[MAX_SHAPES];  /* --model: presets or checkpoint paths (in model_text) */
    char model_text[MAX_SHAPES][1024];
    uint32_t n_models;
    vkvit_precision precisions[3];   /* --precision: one model load per entry */
    uint32_t n_precisions;
    bool op_breakdown;               /* --ops */
    bool tune;                       /* --tune: the matmul autotuner on (VKVIT_TUNE=1) */
} options;

static void usage(FILE *f)
{
    fputs("usage: vkvit-bench --op matmul|attention|layernorm|gelu|all[,...] [options]\n"
          "       vkvit-bench --peak [options]            (both together: tables gain a %-of-peak column)\n"
          "\n"
          "  --op LIST        ops to time, comma-separated, or 'all'\n"
          "  --model M        time the whole forward pass (the plan's command buffer, GPU timestamps\n"
          "                   around it) of a preset with seeded synthetic weights: vit-ti16, vit-s16,\n"
          "                   vit-b16, vit-l16, vit-h14, vit-b32-384, deit-ti16 (all 224 px but b32-384),\n"
          "                   test-tiny (D=64, 2 layers, 64 px: for tests), or a checkpoint directory;\n"
          "                   repeatable, comma-separated. One row per model x precision x batch; a batch\n"
          "                   the device cannot hold is printed as 'skipped: <reason>'\n"
          "  --precision LIST fp32, fp16 and/or auto, comma-separated (default auto): the model's storage\n"
          "                   precision (vkvit_model_options.precision); % peak uses the matching FMA peak.\n"
          "                   With --op: matmul cases run once per precision (fp16: fp16 inputs and output,\n"
          "                   the fp16 kernels; VKVIT_MATMUL=coopmat|tiled|direct picks which), other ops fp32\n"
          "  --ops            with --model: per-op breakdown, a timestamp after every dispatch, summed per\n"
          "                   op type (matmul, attention, layernorm, other) and per shader\n"
          "  --peak           measure this device's FMA throughput (fp32 vec4, fp32 scalar, fp16 vec4 if\n"
          "                   supported) and buffer-copy bandwidth\n"
          "  --batch LIST     images per batch, e.g. 1 or 1,8,32 (default 1): multiplies the token\n"
          "                   dimension (matmul M, layernorm rows, gelu n) and is attention's B\n"
          "  --shape S        custom shape (repeatable; needs a single --op), per image:\n"
          "                     matmul    MxKxN[:none|gelu|gelu_tanh|residual]  (Y[M,N] = X[M,K].W[N,K]^T + b)\n"
          "                     attention TxHxDH\n"
          "                     layernorm ROWSxD\n"
          "                     gelu      N  (or AxB, meaning A*B elements)\n"
          "  --warmup N       untimed runs first (default 3)\n"
          "  --runs N         exactly N timed runs (= --iters N --min-time 0 --max-runs N)\n"
          "  --iters N        at least N timed runs (default 20) ...\n"
          "  --min-time S     ... and at least S seconds of them (default 1; 0 = exactly --iters runs)\n"
          "  --max-runs N     cap on timed runs (default 100000)\n"
          "  --device I|NAME  device index or name substring (default: VKVIT_DEVICE, else the best)\n"
          "  --json FILE      also write every figure to FILE\n"
          "  --seed N         seed of the random inputs (default 1)\n"
          "  --copy-mb N      size of the --peak copy buffers in MiB (default 256)\n"
          "  --validate       enable the Khronos validation layer (distorts timings; off by default)\n"
          "  --tune           matmul autotuning: time candidate tile configurations of each shape not tuned\n"
          "                   before, print them and save the winner next to the pipeline cache\n"
          "  -h, --help       this text\n"
          "\n"
          "Default shapes: ViT-B/16 at batch B, M = 197*B: matmul 197x768->2304 (qkv), 197x768->768\n"
          "(out-proj, +residual), 197x768->3072 (fc1, +gelu), 197x3072->768 (fc2, +residual), all with\n"
          "bias; attention T=197 H=12 dh=64; layernorm 197x768; gelu 197*3072 elements.\n",
          f);
}

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static unsigned parse_ops(const char *list)
{
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "matmul"))
            bits |= OP_BIT_MATMUL;
        else if (!strcmp(tok, "attention"))
            bits |= OP_BIT_ATTENTION;
        else if (!strcmp(tok, "layernorm"))
            bits |= OP_BIT_LAYERNORM;
        else if (!strcmp(tok, "gelu"))
            bits |= OP_BIT_GELU;
        else if (!strcmp(tok, "all"))
            bits |= OP_BIT_ALL;
        else
            die("unknown op '%s' (matmul, attention, layernorm, gelu, all)", tok);
    }
    return bits;
}

static void parse_args(int argc, char **argv, options *o)
{
    *o = (options){.warmup = 3, .iters = 20, .min_time_s = 1.0, .max_runs = 100000, .seed = 1,
                   .copy_mb = 256};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                  \
    do {                                                                                          \
        if (!v)                                                                                   \
            die("%s needs a value (see --help)", a);                                              \
        i++;                                                                                      \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--op")) {
            NEED_VALUE();
            o->ops |= parse_ops(v);
        } else if (!strcmp(a, "--peak")) {
            o->peak = true;
        } else if (!strcmp(a, "--batch")) {
            NEED_VALUE();
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                if (o->n_batches == MAX_BATCHES)
                    die("at most %d batch sizes", MAX_BATCHES);
                uint32_t b;
                if (!parse_u32(tok, &b) || b == 0)
                    die("bad batch size '%s'", tok);
                o->batches[o->n_batches++] = b;
            }
        } else if (!strcmp(a, "--shape")) {
            NEED_VALUE();
            if (o->n_shapes == MAX_SHAPES)
                die("at most %d --shape options", MAX_SHAPES);
            o->shapes[o->n_shapes++] = v;
        } else if (!strcmp(a, "--warmup")) {
            NEED_VALUE();
            if (!parse_u32(v, &o->warmup))
                die("bad --warmup '%s'", v);
        } else if (!strcmp(a, "--iters")) {
            NEED_VALUE();
            if (!parse_u32(v, &o->iters) || o->iters == 0)
                die("bad --iters '%s'", v);
        } else if (!strcmp(a, "--min-time")) {
            NEED_VALUE();
            char *end;
            o->min_time_s = strtod(v, &end);
            if (*end || !(o->min_time_s >= 0))
                die("bad --min-time '%s'", v);
        } else if (!strcmp(a, "--max-runs")) {
            NEED_VALUE();
            if (!parse_u32(v, &o->max_runs) || o->max_runs == 0)
                die("bad --max-runs '%s'", v);
        } else if (!strcmp(a, "--device")) {
            NEED_VALUE();
            o->device = v;
        } else if (!strcmp(a, "--json")) {
            NEED_VALUE();
            o->json = v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 0);
            if (errno || *end)
                die("bad --seed '%s'", v);
        } else if (!strcmp(a, "--copy-mb")) {
            NEED_VALUE();
            if (!parse_u32(v, &o->copy_mb) || o->copy_mb == 0 || o->copy_mb > 65536)
                die("bad --copy-mb '%s'", v);
        } else if (!strcmp(a, "--validate")) {
            o->validate = true;
        } else if (!strcmp(a, "--tune")) {
            o->tune = true;
        } else if (!strcmp(a, "--ops")) {
            o->op_breakdown = true;
        } else if (!strcmp(a, "--runs")) {
            NEED_VALUE();
            if (!parse_u32(v, &o->iters) || o->iters == 0)
                die("bad --runs '%s'", v);
            o->min_time_s = 0;
            o->max_runs = o->iters;
        } else if (!strcmp(a, "--precision")) {
            NEED_VALUE();
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int p = -1;
                for (int k = VKVIT_PRECISION_AUTO; k <= VKVIT_PRECISION_FP16; k++)
                    if (!strcmp(tok, precision_name((vkvit_precision)k)))
                        p = k;
                if (p < 0)
                    die("unknown precision '%s' (fp32, fp16, auto)", tok);
                if (o->n_precisions == 3)
                    die("at most 3 precisions");
                o->precisions[o->n_precisions++] = (vkvit_precision)p;
            }
        } else if (!strcmp(a, "--model")) {
            NEED_VALUE();
            char buf[4096];
            if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
                die("--model list too long");
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) { /* argv stays as given */
                if (o->n_models == MAX_SHAPES)
                    die("at most %d models", MAX_SHAPES);
                if (snprintf(o->model_text[o->n_models], sizeof o->model_text[0], "%s", tok) >=
                    (int)sizeof o->model_text[0])
                    die("--model path too long: %s", tok);
                o->models[o->n_models] = o->model_text[o->n_models];
                o->n_models++;
            }
        } else {
            usage(stderr);
            die("unknown argument '%s'", a);
        }
#undef NEED_VALUE
    }
    if (!o->ops && !o->peak && !o->n_models) {
        usage(stderr);
        die("nothing to do: give --op, --model and/or --peak");
    }
    if (o->n_shapes && o->ops != OP_BIT_MATMUL && o->ops != OP_BIT_ATTENTION && o->ops != OP_BIT_LAYERNORM &&
        o->ops != OP_BIT_GELU)
        die("--shape needs exactly one --op (the shape's meaning depends on the op)");
    if (o->max_runs < o->iters)
        o->max_runs = o->iters;
    if (!o->n_batches)
        o->batches[o->n_batches++] = 1;
    if (!o->n_precisions)
        o->precisions[o->n_precisions++] = VKVIT_PRECISION_AUTO;
    if (o->op_breakdown && !o->n_models)
        die("--ops is the per-op breakdown of --model runs: give --model too");
}

/* ---- timing ---------------------------------------------------------------------------------------- */

static double now_s(void)
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

typedef struct stats {
    double median, p10, p90, min, mean;   /* milliseconds */
} stats;

typedef struct timing {
    uint32_t runs;
    bool gpu;              /* GPU timestamps available: gpu_ms valid */
    stats gpu_ms, wall_ms;
} timing;

/* The figure rates are computed from: GPU time when there is one, else wall time. */
static const stats *primary(const timing *t) { return t->gpu ? &t->gpu_ms : &t->wall_ms; }

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

static stats summarize(double *v, uint32_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    stats s = {percentile(v, n, 0.5), percentile(v, n, 0.1), percentile(v, n, 0.9), v[0], 0};
    for (uint32_t i = 0; i < n; i++)
        s.mean += v[i] / n;
    return s;
}

typedef struct bench {
    options opt;
    vkvit_context *ctx;
    uint64_t rng;
} bench;

/* One submission: wall ms, and GPU ms between timestamps 0 and 1 when the device has them. */
static void run_once(bench *b, vk_cmd *cmd, double *gpu_ms, double *wall_ms)
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

/* Warm-up, then at least opt.iters timed runs and at least opt.min_time_s seconds (wall) of them. */
static timing time_cmd(bench *b, vk_cmd *cmd)
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
            double *g2 = realloc(gpu, cap * sizeof *gpu), *w2 = g2 ? realloc(wall, cap * sizeof *wall) : NULL;
            if (!g2 || !w2)
                die("out of host memory (timings)");
            gpu = g2;
            wall = w2;
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

/* ---- buffers with seeded random contents ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(rng_next(s) >> 40) * (1.0 / 16777216.0));
}

static void check_range(bench *b, uint64_t bytes, const char *what)
{
    if (bytes > b->ctx->info.max_storage_buffer_range)
        die("%s needs %llu bytes in one binding, over this device's maxStorageBufferRange (%u): use a "
            "smaller --batch or --shape",
            what, (unsigned long long)bytes, b->ctx->info.max_storage_buffer_range);
}

/* A device buffer of n floats uniform in [lo, hi]. */
static vk_buffer random_buffer(bench *b, uint64_t n, float lo, float hi, const char *what)
{
    check_range(b, n * 4, what);
    vk_buffer buf;
    check(vk_buffer_create(b->ctx, n * 4, VK_MEM_DEVICE, &buf), what);
    const uint64_t chunk = 1u << 20;
    float *tmp = xcalloc(n < chunk ? n : chunk, sizeof *tmp);
    for (uint64_t off = 0; off < n; off += chunk) {
        uint64_t m = n - off < chunk ? n - off : chunk;
        for (uint64_t i = 0; i < m; i++)
            tmp[i] = rng_uniform(&b->rng, lo, hi);
        check(vk_buffer_write(b->ctx, &buf, off * 4, tmp, m * 4), what);
    }
    free(tmp);
    return buf;
}

static vk_buffer output_buffer(bench *b, uint64_t n, const char *what)
{
    check_range(b, n * 4, what);
    vk_buffer buf;
    check(vk_buffer_create(b->ctx, n * 4, VK_MEM_DEVICE, &buf), what);
    check(vk_buffer_fill(b->ctx, &buf, 0, n * 4, 0), what);
    return buf;
}

/* random_buffer / output_buffer with fp16 elements when f16 (n even or not: sized up to whole words). */
static vk_buffer random_buffer_as(bench *b, bool f16, uint64_t n, float lo, float hi, const char *what)
{
    if (!f16)
        return random_buffer(b, n, lo, hi, what);
    const uint64_t bytes = (n * 2 + 3) / 4 * 4;
    check_range(b, bytes, what);
    vk_buffer buf;
    check(vk_buffer_create(b->ctx, bytes, VK_MEM_DEVICE, &buf), what);
    uint16_t *tmp = xcalloc(n, sizeof *tmp);
    for (uint64_t i = 0; i < n; i++)
        tmp[i] = st_f32_to_f16(rng_uniform(&b->rng, lo, hi));
    check(vk_buffer_write(b->ctx, &buf, 0, tmp, n * 2), what);
    free(tmp);
    return buf;
}

static vk_buffer output_buffer_as(bench *b, bool f16, uint64_t n, const char *what)
{
    return output_buffer(b, f16 ? (n + 1) / 2 : n, what);
}

/* ---- the cases -------------------------------------------------------------------------------------- */

typedef enum op_kind { K_MATMUL, K_ATTENTION, K_LAYERNORM, K_GELU } op_kind;
static const char *const kind_names[] = {"matmul", "attention", "layernorm", "gelu"};

typedef struct bench_case {
    op_kind kind;
    char label[24];                /* qkv, out-proj, fc1, fc2, custom */
    uint32_t batch;                /* images */
    uint32_t M, N, K;              /* matmul, M already multiplied by batch */
    matmul_epilogue epi;
    uint32_t T, H, dh;             /* attention */
    uint32_t rows, D;              /* layernorm, rows already multiplied by batch */
    uint64_t n;                    /* gelu, already multiplied by batch */
    bool f16;                      /* matmul: fp16 inputs and output (--precision fp16) */
    char shape[96];
    /* results */
    double work;                   /* flops (matmul, attention) or bytes (layernorm, gelu) */
    bool flops;
    timing t;
    double rate;                   /* GFLOP/s or GB/s at the median */
    double pct_peak;               /* < 0: no peak measured */
} bench_case;

static const char *epi_name(matmul_epilogue e)
{
    switch (e) {
    case MATMUL_EPI_GELU: return "gelu";
    case MATMUL_EPI_GELU_TANH: return "gelu_tanh";
    case MATMUL_EPI_RESIDUAL: return "residual";
    default: return "none";
    }
}

static void describe(bench_case *c)
{
    switch (c->kind) {
    case K_MATMUL:
        snprintf(c->shape, sizeof c->shape, "%ux%u -> %u, +bias%s%s%s", c->M, c->K, c->N,
                 c->epi == MATMUL_EPI_NONE ? "" : " +", c->epi == MATMUL_EPI_NONE ? "" : epi_name(c->epi),
                 c->f16 ? ", fp16" : "");
        c->work = 2.0 * c->M * c->N * c->K;
        c->flops = true;
        break;
    case K_ATTENTION:
        snprintf(c->shape, sizeof c->shape, "B=%u T=%u H=%u dh=%u", c->batch, c->T, c->H, c->dh);
        c->work = 4.0 * c->batch * c->H * (double)c->T * c->T * c->dh;
        c->flops = true;
        break;
    case K_LAYERNORM:
        snprintf(c->shape, sizeof c->shape, "%u rows x D=%u", c->rows, c->D);
        c->work = 4.0 * (2.0 * c->rows * c->D + 2.0 * c->D); /* x in, y out, gamma and beta */
        c->flops = false;
        break;
    case K_GELU:
        snprintf(c->shape, sizeof c->shape, "n=%llu", (unsigned long long)c->n);
        c->work = 4.0 * 2.0 * (double)c->n;
        c->flops = false;
        break;
    }
}

static uint32_t add_case(bench_case *cases, uint32_t n, bench_case c)
{
    if (n == MAX_CASES)
        die("too many cases (at most %d)", MAX_CASES);
    c.pct_peak = -1;
    describe(&c);
    cases[n] = c;
    return n + 1;
}

/* A matmul case once per --precision (fp32 / auto: fp32 storage; fp16: fp16), other ops once. */
static uint32_t add_cases(const options *o, bench_case *cases, uint32_t n, bench_case c)
{
    if (c.kind != K_MATMUL)
        return add_case(cases, n, c);
    bool f32 = false, f16 = false;
    for (uint32_t i = 0; i < o->n_precisions; i++)
        *(o->precisions[i] == VKVIT_PRECISION_FP16 ? &f16 : &f32) = true;
    if (f32)
        n = add_case(cases, n, c);
    if (f16) {
        c.f16 = true;
        n = add_case(cases, n, c);
    }
    return n;
}

static uint32_t mul_checked(uint64_t a, uint64_t b, const char *what)
{
    if (a * b > UINT32_MAX)
        die("%s: %llu x %llu is too large", what, (unsigned long long)a, (unsigned long long)b);
    return (uint32_t)(a * b);
}

/* Parses "AxBxC..." into up to 3 numbers; returns how many. */
static int parse_dims(const char *s, uint32_t *d, char *suffix, size_t suffix_size)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    suffix[0] = 0;
    char *colon = strchr(buf, ':');
    if (colon) {
        *colon = 0;
        snprintf(suffix, suffix_size, "%s", colon + 1);
    }
    int n = 0;
    for (char *tok = strtok(buf, "x"); tok; tok = strtok(NULL, "x")) {
        if (n == 3 || !parse_u32(tok, &d[n]) || d[n] == 0)
            return -1;
        n++;
    }
    return n;
}

static uint32_t custom_case(const options *o, const char *s, uint32_t batch, bench_case *cases, uint32_t n)
{
    uint32_t d[3] = {0};
    char suffix[32];
    int nd = parse_dims(s, d, suffix, sizeof suffix);
    bench_case c = {.batch = batch};
    snprintf(c.label, sizeof c.label, "custom");
    if (o->ops == OP_BIT_MATMUL) {
        if (nd != 3)
            die("matmul --shape is MxKxN[:epilogue], got '%s'", s);
        c.kind = K_MATMUL;
        c.M = mul_checked(d[0], batch, "matmul M x batch");
        c.K = d[1];
        c.N = d[2];
        if (!suffix[0] || !strcmp(suffix, "none"))
            c.epi = MATMUL_EPI_NONE;
        else if (!strcmp(suffix, "gelu"))
            c.epi = MATMUL_EPI_GELU;
        else if (!strcmp(suffix, "gelu_tanh"))
            c.epi = MATMUL_EPI_GELU_TANH;
        else if (!strcmp(suffix, "residual"))
            c.epi = MATMUL_EPI_RESIDUAL;
        else
            die("unknown matmul epilogue '%s' (none, gelu, gelu_tanh, residual)", suffix);
    } else if (suffix[0]) {
        die("only matmul shapes take a ':epilogue' suffix, got '%s'", s);
    } else if (o->ops == OP_BIT_ATTENTION) {
        if (nd != 3)
            die("attention --shape is TxHxDH, got '%s'", s);
        c.kind = K_ATTENTION;
        c.T = d[0];
        c.H = d[1];
        c.dh = d[2];
    } else if (o->ops == OP_BIT_LAYERNORM) {
        if (nd != 2)
            die("layernorm --shape is ROWSxD, got '%s'", s);
        c.kind = K_LAYERNORM;
        c.rows = mul_checked(d[0], batch, "layernorm rows x batch");
        c.D = d[1];
    } else {
        if (nd < 1)
            die("gelu --shape is N or AxB, got '%s'", s);
        c.kind = K_GELU;
        uint64_t e = 1;
        for (int i = 0; i < nd; i++)
            e *= d[i];
        c.n = mul_checked(e, batch, "gelu n x batch");
    }
    return add_cases(o, cases, n, c);
}

static uint32_t build_cases(const options *o, bench_case *cases)
{
    uint32_t n = 0;
    for (uint32_t bi = 0; bi < o->n_batches; bi++) {
        uint32_t B = o->batches[bi];
        if (o->n_shapes) {
            for (uint32_t s = 0; s < o->n_shapes; s++)
                n = custom_case(o, o->shapes[s], B, cases, n);
            continue;
        }
        uint32_t M = mul_checked(VIT_T, B, "197 x batch");
        if (o->ops & OP_BIT_MATMUL) {
            static const struct {
                const char *label;
                uint32_t K, N;
                matmul_epilogue epi;
            } mm[] = {
                {"qkv", VIT_D, 3 * VIT_D, MATMUL_EPI_NONE},
                {"out-proj", VIT_D, VIT_D, MATMUL_EPI_RESIDUAL},
                {"fc1", VIT_D, VIT_MLP, MATMUL_EPI_GELU},
                {"fc2", VIT_MLP, VIT_D, MATMUL_EPI_RESIDUAL},
            };
            for (size_t i = 0; i < sizeof mm / sizeof *mm; i++) {
                bench_case c = {.kind = K_MATMUL, .batch = B, .M = M, .K = mm[i].K, .N = mm[i].N, .epi = mm[i].epi};
                snprintf(c.label, sizeof c.label, "%s", mm[i].label);
                n = add_cases(o, cases, n, c);
            }
        }
        if (o->ops & OP_BIT_ATTENTION) {
            bench_case c = {.kind = K_ATTENTION, .batch = B, .T = VIT_T, .H = VIT_H, .dh = VIT_DH};
            snprintf(c.label, sizeof c.label, "mhsa");
            n = add_case(cases, n, c);
        }
        if (o->ops & OP_BIT_LAYERNORM) {
            bench_case c = {.kind = K_LAYERNORM, .batch = B, .rows = M, .D = VIT_D};
            snprintf(c.label, sizeof c.label, "ln");
            n = add_case(cases, n, c);
        }
        if (o->ops & OP_BIT_GELU) {
            bench_case c = {.kind = K_GELU, .batch = B, .n = (uint64_t)M * VIT_MLP};
            snprintf(c.label, sizeof c.label, "mlp");
            n = add_case(cases, n, c);
        }
    }
    return n;
}

static vk_span none_span(void)
{
    vk_span s = {VK_NULL_HANDLE, 0, 0};
    return s;
}

/* Sets up the inputs, records timestamp / op / timestamp once, times it. */
static void run_case(bench *b, bench_case *c)
{
    vkvit_context *ctx = b->ctx;
    vk_buffer bufs[6];
    uint32_t nb = 0;
    vk_cmd *cmd;
    check(vk_cmd_create(ctx, 2, &cmd), "creating a command buffer");
    check(vk_cmd_begin(cmd), "vk_cmd_begin");
    vk_cmd_timestamp(cmd, 0);
    vkvit_status s = VKVIT_OK;
    char what[160];
    snprintf(what, sizeof what, "%s %s (%s)", kind_names[c->kind], c->label, c->shape);
    switch (c->kind) {
    case K_MATMUL: {
        float ws = 1.0f / sqrtf((float)c->K);
        const bool h = c->f16;
        const op_dtype dt = h ? OP_F16 : OP_F32;
        if (h && !ctx->fp16)
            die("matmul fp16: the device has no fp16 path (shaderFloat16 + storageBuffer16BitAccess)");
        bufs[nb++] = random_buffer_as(b, h, (uint64_t)c->M * c->K, -1, 1, "matmul X");
        bufs[nb++] = random_buffer_as(b, h, (uint64_t)c->N * c->K, -ws, ws, "matmul W");
        bufs[nb++] = random_buffer_as(b, h, c->N, -0.1f, 0.1f, "matmul bias");
        bufs[nb++] = output_buffer_as(b, h, (uint64_t)c->M * c->N, "matmul Y");
        matmul_args a = {
            .batch = 1, .M = c->M, .N = c->N, .K = c->K,
            .x = vk_whole(&bufs[0]), .w = vk_whole(&bufs[1]), .bias = vk_whole(&bufs[2]),
            .residual = none_span(), .y = vk_whole(&bufs[3]),
            .epilogue = c->epi, .dtype = dt,
        };
        if (c->epi == MATMUL_EPI_RESIDUAL) {
            bufs[nb++] = random_buffer_as(b, h, (uint64_t)c->M * c->N, -1, 1, "matmul residual");
            a.residual = vk_whole(&bufs[4]);
        }
        s = op_matmul(cmd, ctx, &a);
        /* Which kernel ran (VKVIT_MATMUL, or the automatic choice), in the shape column. */
        const char *k = op_matmul_kernel(ctx, dt);
        size_t len = strlen(c->shape);
        snprintf(c->shape + len, sizeof c->shape - len, " [%s]", k ? k : "?");
        break;
    }
    case K_ATTENTION: {
        uint64_t tokens = (uint64_t)c->batch * c->T, hd = (uint64_t)c->H * c->dh;
        bufs[nb++] = random_buffer(b, tokens * 3 * hd, -1, 1, "attention qkv");
        bufs[nb++] = output_buffer(b, tokens * hd, "attention out");
        attention_args a = {
            .batch = c->batch, .T = c->T, .H = c->H, .dh = c->dh, .scale = 0,
            .qkv = vk_whole(&bufs[0]), .out = vk_whole(&bufs[1]), .cls_probs = none_span(), .dtype = OP_F32,
        };
        s = op_attention(cmd, ctx, &a);
        break;
    }
    case K_LAYERNORM: {
        bufs[nb++] = random_buffer(b, (uint64_t)c->rows * c->D, -2, 3, "layernorm x");
        bufs[nb++] = random_buffer(b, c->D, 0.5f, 1.5f, "layernorm gamma");
        bufs[nb++] = random_buffer(b, c->D, -0.5f, 0.5f, "layernorm beta");
        bufs[nb++] = output_buffer(b, (uint64_t)c->rows * c->D, "layernorm y");
        layernorm_args a = {
            .rows = c->rows, .D = c->D, .eps = 1e-6f,
            .x = vk_whole(&bufs[0]), .gamma = vk_whole(&bufs[1]), .beta = vk_whole(&bufs[2]),
            .y = vk_whole(&bufs[3]), .dtype = OP_F32,
        };
        s = op_layernorm(cmd, ctx, &a);
        break;
    }
    case K_GELU: {
        if (c->n > UINT32_MAX)
            die("gelu: n = %llu does not fit the op's 32-bit count", (unsigned long long)c->n);
        bufs[nb++] = random_buffer(b, c->n, -4, 4, "gelu x");
        bufs[nb++] = output_buffer(b, c->n, "gelu y");
        gelu_args a = {.n = (uint32_t)c->n, .x = vk_whole(&bufs[0]), .y = vk_whole(&bufs[1]), .dtype = OP_F32};
        s = op_gelu(cmd, ctx, &a);
        break;
    }
    }
    check(s, what);
    vk_cmd_timestamp(cmd, 1);
    check(vk_cmd_end(cmd), "vk_cmd_end");
    c->t = time_cmd(b, cmd);
    double sec = primary(&c->t)->median * 1e-3;
    c->rate = sec > 0 ? c->work / sec * 1e-9 : 0;
    vk_cmd_destroy(cmd);
    for (uint32_t i = 0; i < nb; i++)
        vk_buffer_destroy(ctx, &bufs[i]);
}

/* ---- --peak ------------------------------------------------------------------------------------------ */

typedef struct peak_result {
    char name[48];
    char detail[128];
    bool flops;         /* GFLOP/s, else GB/s (unless latency) */
    bool latency;       /* a time, not a rate: the median is the figure */
    double work;        /* flops or bytes per run */
    timing t;
    double rate;
} peak_result;

typedef struct peaks {
    peak_result r[MAX_PEAKS];
    uint32_t n;
    double fp32, fp16, copy;    /* the reference ceilings (0 = not measured) */
} peaks;

enum { PEAK_FMA_NACC = 8, PEAK_FMA_UNROLL = 4, PEAK_FMA_WG = 64, PEAK_COPY_WG = 64 };

static const vk_shader fma_f32 = {"peak_fma_f32", spv_peak_fma_f32, sizeof spv_peak_fma_f32, 1, 12, false};
static const vk_shader fma_f32_scalar = {"peak_fma_f32_scalar", spv_peak_fma_f32_scalar,
                                         sizeof spv_peak_fma_f32_scalar, 1, 12, false};
static const vk_shader fma_f16 = {"peak_fma_f16", spv_peak_fma_f16, sizeof spv_peak_fma_f16, 1, 12, false};
static const vk_shader copy_shader = {"peak_copy", spv_peak_copy, sizeof spv_peak_copy, 2, 4, false};
static const vk_shader copy_shader_scalar = {"peak_copy_scalar", spv_peak_copy_scalar, sizeof spv_peak_copy_scalar,
                                             2, 4, false};

typedef struct fma_push {
    uint32_t iters;
    float a, b;
} fma_push;

static vk_cmd *record_fma(bench *b, vk_pipeline *pipe, vk_buffer *out, uint32_t groups, uint32_t iters)
{
    vk_cmd *cmd;
    check(vk_cmd_create(b->ctx, 2, &cmd), "creating a command buffer");
    check(vk_cmd_begin(cmd), "vk_cmd_begin");
    fma_push push = {iters, 0.999f, 0.001f};
    vk_dispatch d = {.pipe = pipe, .bufs = {vk_whole(out)}, .push = &push, .groups = {groups, 1, 1}};
    vk_cmd_timestamp(cmd, 0);
    check(vk_cmd_dispatch(cmd, &d), "peak FMA dispatch");
    vk_cmd_barrier(cmd);
    vk_cmd_timestamp(cmd, 1);
    check(vk_cmd_end(cmd), "vk_cmd_end");
    return cmd;
}

/* FMA throughput of one shader variant: the loop count is calibrated so one run takes ~50 ms. */
static void peak_fma(bench *b, peaks *p, const vk_shader *sh, const char *name, uint32_t width)
{
    vkvit_context *ctx = b->ctx;
    uint32_t wg = PEAK_FMA_WG;
    /* CPU devices: a few workgroups per core is enough, and fewer means less per-group overhead. */
    uint32_t groups = ctx->info.type == VKVIT_DEVICE_CPU ? 256 : 16384;
    if (groups > ctx->max_workgroup_count[0])
        groups = ctx->max_workgroup_count[0];
    const uint32_t nacc = PEAK_FMA_NACC;
    const uint32_t spec[] = {wg, nacc, PEAK_FMA_UNROLL};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, sh, spec, 3, &pipe), name);
    vk_buffer out;
    check(vk_buffer_create(ctx, (VkDeviceSize)groups * wg * 4, VK_MEM_DEVICE, &out), name);

    uint32_t iters = 16;
    for (int attempt = 0; attempt < 6; attempt++) {
        vk_cmd *cmd = record_fma(b, pipe, &out, groups, iters);
        double g, w;
        run_once(b, cmd, &g, &w);
        run_once(b, cmd, &g, &w);
        vk_cmd_destroy(cmd);
        double ms = ctx->timestamps ? g : w;
        if (ms >= 25)
            break;
        double scale = ms > 0.01 ? 50.0 / ms : 1000.0;
        double next = (double)iters * scale;
        iters = next > 1u << 24 ? 1u << 24 : (uint32_t)next + 1;
    }
    vk_cmd *cmd = record_fma(b, pipe, &out, groups, iters);
    peak_result *r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->detail, sizeof r->detail, "%u groups x %u, %u x %u x %u FMAs of width %u", groups, wg, iters,
             PEAK_FMA_UNROLL, nacc, width);
    r->flops = true;
    r->work = 2.0 * groups * wg * (double)iters * PEAK_FMA_UNROLL * nacc * width;
    r->t = time_cmd(b, cmd);
    r->rate = r->work / (primary(&r->t)->median * 1e-3) * 1e-9;
    vk_cmd_destroy(cmd);
    vk_buffer_destroy(ctx, &out);
}

static void copy_with_shader(bench *b, peaks *p, const vk_shader *sh, uint32_t elem, const char *name,
                             vk_buffer *src, vk_buffer *dst, VkDeviceSize total, VkDeviceSize chunk)
{
    vkvit_context *ctx = b->ctx;
    /* PER elements per invocation, enough to stay under the workgroup-count limit. */
    uint32_t wg = PEAK_COPY_WG;
    uint64_t max_elems = chunk / elem;
    uint32_t per = 16;
    while ((max_elems + (uint64_t)per * wg - 1) / ((uint64_t)per * wg) > ctx->max_workgroup_count[0])
        per *= 2;
    const uint32_t spec[] = {wg, per};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, sh, spec, 2, &pipe), name);
    vk_cmd *cmd;
    check(vk_cmd_create(ctx, 2, &cmd), "creating a command buffer");
    check(vk_cmd_begin(cmd), "vk_cmd_begin");
    vk_cmd_timestamp(cmd, 0);
    uint32_t dispatches = 0;
    for (VkDeviceSize off = 0; off < total; off += chunk) {
        VkDeviceSize size = total - off < chunk ? total - off : chunk;
        uint32_t n = (uint32_t)(size / elem);
        vk_dispatch d = {
            .pipe = pipe,
            .bufs = {vk_span_of(src, off, size), vk_span_of(dst, off, size)},
            .push = &n,
            .groups = {div_up(div_up(n, per), wg), 1, 1},
        };
        check(vk_cmd_dispatch(cmd, &d), name);
        dispatches++;
    }
    vk_cmd_barrier(cmd);
    vk_cmd_timestamp(cmd, 1);
    check(vk_cmd_end(cmd), "vk_cmd_end");
    peak_result *r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->detail, sizeof r->detail, "%u MiB in %u dispatch(es), %u x %u B per invocation", b->opt.copy_mb,
             dispatches, per, elem);
    r->work = 2.0 * (double)total;
    r->t = time_cmd(b, cmd);
    r->rate = r->work / (primary(&r->t)->median * 1e-3) * 1e-9;
    vk_cmd_destroy(cmd);
}

/* Copy bandwidth: a shader copying uvec4s, and vkCmdCopyBuffer, over opt.copy_mb MiB; bytes counted
 * = read + written. Bindings are split into chunks no larger than maxStorageBufferRange. */
static void peak_copy(bench *b, peaks *p)
{
    vkvit_context *ctx = b->ctx;
    VkDeviceSize total = (VkDeviceSize)b->opt.copy_mb << 20;
    VkDeviceSize chunk = ctx->info.max_storage_buffer_range;
    chunk -= chunk % 256;   /* keeps later chunks' offsets aligned for any minStorageBufferOffsetAlignment */
    if (chunk > total)
        chunk = total;
    if (chunk < 16)
        die("maxStorageBufferRange %u is too small", ctx->info.max_storage_buffer_range);
    vk_buffer src, dst;
    check(vk_buffer_create(ctx, total, VK_MEM_DEVICE, &src), "copy source buffer");
    check(vk_buffer_create(ctx, total, VK_MEM_DEVICE, &dst), "copy destination buffer");
    check(vk_buffer_fill(ctx, &src, 0, total, 0x3f800000u), "filling the copy source");
    check(vk_buffer_fill(ctx, &dst, 0, total, 0), "filling the copy destination");

    copy_with_shader(b, p, &copy_shader, 16, "copy, shader (uvec4)", &src, &dst, total, chunk);
    p->copy = p->r[p->n - 1].rate;   /* the reference bandwidth for % of peak */
    copy_with_shader(b, p, &copy_shader_scalar, 4, "copy, shader (uint)", &src, &dst, total, chunk);

    vk_cmd *cmd;
    peak_result *r;
    /* vkCmdCopyBuffer, for comparison. */
    check(vk_cmd_create(ctx, 2, &cmd), "creating a command buffer");
    check(vk_cmd_begin(cmd), "vk_cmd_begin");
    vk_cmd_timestamp(cmd, 0);
    vk_cmd_copy(cmd, vk_whole(&src), vk_whole(&dst));
    vk_cmd_barrier(cmd);
    vk_cmd_timestamp(cmd, 1);
    check(vk_cmd_end(cmd), "vk_cmd_end");
    r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "copy, vkCmdCopyBuffer");
    snprintf(r->detail, sizeof r->detail, "%u MiB, one region", b->opt.copy_mb);
    r->work = 2.0 * (double)total;
    r->t = time_cmd(b, cmd);
    r->rate = r->work / (primary(&r->t)->median * 1e-3) * 1e-9;
    vk_cmd_destroy(cmd);
    vk_buffer_destroy(ctx, &src);
    vk_buffer_destroy(ctx, &dst);
}

/* The floor under any op: one dispatch of one workgroup doing nothing, timestamp to timestamp. */
static void peak_dispatch(bench *b, peaks *p)
{
    vkvit_context *ctx = b->ctx;
    const uint32_t spec[] = {PEAK_FMA_WG, 1, 1};
    vk_pipeline *pipe;
    check(vk_pipeline_get(ctx, &fma_f32_scalar, spec, 3, &pipe), "dispatch floor pipeline");
    vk_buffer out;
    check(vk_buffer_create(ctx, PEAK_FMA_WG * 4, VK_MEM_DEVICE, &out), "dispatch floor buffer");
    vk_cmd *cmd = record_fma(b, pipe, &out, 1, 0);
    peak_result *r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "dispatch floor");
    snprintf(r->detail, sizeof r->detail, "1 workgroup of %u doing nothing, + barrier", PEAK_FMA_WG);
    r->latency = true;
    r->t = time_cmd(b, cmd);
    r->rate = primary(&r->t)->median;
    vk_cmd_destroy(cmd);
    vk_buffer_destroy(ctx, &out);
}

static void run_peak(bench *b, peaks *p)
{
    memset(p, 0, sizeof *p);
    peak_fma(b, p, &fma_f32, "fp32 FMA, vec4", 4);
    p->fp32 = p->r[p->n - 1].rate;
    peak_fma(b, p, &fma_f32_scalar, "fp32 FMA, scalar", 1);
    if (b->ctx->fp16) {
        peak_fma(b, p, &fma_f16, "fp16 FMA, f16vec4", 4);
        p->fp16 = p->r[p->n - 1].rate;
    }
    peak_copy(b, p);
    peak_dispatch(b, p);
}

/* ---- output ------------------------------------------------------------------------------------------ */

static char *command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) * 4 + 3;
    char *s = xcalloc(len, 1), *p = s;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool quote = !*a || strpbrk(a, " \t\"'\\$`*?;&|<>()!") != NULL;
        if (i)
            *p++ = ' ';
        if (!quote) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'')
                p += sprintf(p, "'\\''");
            else
                *p++ = *a;
        }
        *p++ = '\'';
    }
    *p = 0;
    return s;
}

typedef struct host_info {
    char cpu[128];
    long cpus;
    double load[3];
    bool have_load;
} host_info;

static void get_host_info(host_info *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->cpu, sizeof h->cpu, "unknown");
#ifdef HAVE_POSIX
    h->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    h->have_load = getloadavg(h->load, 3) == 3;
#endif
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *v = strchr(line, ':');
                if (v) {
                    v++;
                    while (*v == ' ' || *v == '\t')
                        v++;
                    v[strcspn(v, "\n")] = 0;
                    snprintf(h->cpu, sizeof h->cpu, "%s", v);
                }
                break;
            }
        }
        fclose(f);
    }
}

static void fmt_rate(char *buf, size_t size, double rate, bool flops)
{
    const char *unit = flops ? "GFLOP/s" : "GB/s";
    if (rate >= 100)
        snprintf(buf, size, "%.1f %s", rate, unit);
    else if (rate >= 1)
        snprintf(buf, size, "%.2f %s", rate, unit);
    else
        snprintf(buf, size, "%.3g %s", rate, unit);
}

static void print_header(const bench *b, const char *cmdline, const host_info *h)
{
    const vkvit_device_info *d = &b->ctx->info;
    printf("vkvit-bench %d.%d.%d\n", VKVIT_VERSION_MAJOR, VKVIT_VERSION_MINOR, VKVIT_VERSION_PATCH);
    printf("command   %s\n", cmdline);
    printf("device    %u: %s; %s; %s; Vulkan %u.%u.%u\n", d->index, d->name, vkvit_device_type_string(d->type), d->vendor,
           VK_API_VERSION_MAJOR(d->api_version), VK_API_VERSION_MINOR(d->api_version),
           VK_API_VERSION_PATCH(d->api_version));
    printf("driver    %s %s\n", d->driver_name[0] ? d->driver_name : "?", d->driver_info);
    printf("features  subgroup %u, fp16 %s, timestamps %s\n", d->subgroup_size, b->ctx->fp16 ? "yes" : "no",
           b->ctx->timestamps ? "yes" : "no");
    printf("host      %s, %ld CPUs", h->cpu, h->cpus);
    if (h->have_load)
        printf(", load average %.2f %.2f %.2f", h->load[0], h->load[1], h->load[2]);
    printf("\n");
    if (b->ctx->timestamps)
        printf("timing    GPU timestamps around the op (period %g ns); wall = submit + wait on the host\n",
               (double)d->timestamp_period);
    else
        printf("timing    NO GPU TIMESTAMPS on this device: every figure is wall time around submit + wait\n");
    printf("runs      %u warm-up, then >= %u timed runs and >= %g s; median [p10, p90]\n", b->opt.warmup,
           b->opt.iters, b->opt.min_time_s);
    printf("validation %s\n\n", b->opt.validate ? "ON (timings are distorted)" : "off");
}

static void print_peaks(const bench *b, const peaks *p)
{
    (void)b;
    printf("peak (this device's ceilings)\n");
    printf("  %-24s %6s %10s %10s %10s %10s %16s   %s\n", "measure", "runs", "median ms", "p10 ms", "p90 ms",
           "wall ms", "rate", "what");
    for (uint32_t i = 0; i < p->n; i++) {
        const peak_result *r = &p->r[i];
        const stats *s = primary(&r->t);
        char rate[32];
        if (r->latency)
            snprintf(rate, sizeof rate, "%.1f us", r->rate * 1e3);
        else
            fmt_rate(rate, sizeof rate, r->rate, r->flops);
        printf("  %-24s %6u %10.3f %10.3f %10.3f %10.3f %16s   %s\n", r->name, r->t.runs, s->median, s->p10, s->p90,
               r->t.wall_ms.median, rate, r->detail);
    }
    printf("\n");
}

static void print_cases(const bench_case *c, uint32_t n, bool have_peak)
{
    printf("ops (fp32 unless the shape says fp16; [kernel] for matmuls)\n");
    printf("  %-9s %-8s %-34s %5s %6s %10s %10s %10s %10s %16s%s\n", "op", "case", "shape", "batch", "runs",
           "median ms", "p10 ms", "p90 ms", "wall ms", "rate", have_peak ? "  % peak" : "");
    for (uint32_t i = 0; i < n; i++) {
        const stats *s = primary(&c[i].t);
        char rate[32];
        fmt_rate(rate, sizeof rate, c[i].rate, c[i].flops);
        printf("  %-9s %-8s %-34s %5u %6u %10.3f %10.3f %10.3f %10.3f %16s", kind_names[c[i].kind], c[i].label,
               c[i].shape, c[i].batch, c[i].t.runs, s->median, s->p10, s->p90, c[i].t.wall_ms.median, rate);
        if (have_peak && c[i].pct_peak >= 0)
            printf("  %6.1f%%", c[i].pct_peak);
        printf("\n");
    }
    if (have_peak)
        printf("  %% peak: matmul, attention vs fp32 vec4 FMA (fp16 matmuls: fp16 vec4 FMA); layernorm, gelu vs "
               "the copy shader's bandwidth\n");
    printf("\n");
}

static cJSON *stats_json(const stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "median", s->median);
    cJSON_AddNumberToObject(o, "p10", s->p10);
    cJSON_AddNumberToObject(o, "p90", s->p90);
    cJSON_AddNumberToObject(o, "min", s->min);
    cJSON_AddNumberToObject(o, "mean", s->mean);
    return o;
}

static void add_timing(cJSON *o, const timing *t)
{
    cJSON_AddNumberToObject(o, "runs", t->runs);
    if (t->gpu)
        cJSON_AddItemToObject(o, "gpu_ms", stats_json(&t->gpu_ms));
    else
        cJSON_AddNullToObject(o, "gpu_ms");
    cJSON_AddItemToObject(o, "wall_ms", stats_json(&t->wall_ms));
}

/* ---- whole models ------------------------------------------------------------------------------------ */

typedef struct model_preset {
    const char *name;
    uint32_t hidden, layers, heads, patch, image, labels;
} model_preset;

static const model_preset presets[] = {
    {"vit-ti16", 192, 12, 3, 16, 224, 1000},     {"deit-ti16", 192, 12, 3, 16, 224, 1000},
    {"vit-s16", 384, 12, 6, 16, 224, 1000},      {"vit-b16", 768, 12, 12, 16, 224, 1000},
    {"vit-l16", 1024, 24, 16, 16, 224, 1000},    {"vit-h14", 1280, 32, 16, 14, 224, 1000},
    {"vit-b32-384", 768, 12, 12, 32, 384, 1000},
    {"test-tiny", 64, 2, 2, 16, 64, 10},         /* for tests/test_bench.sh: 17 tokens, milliseconds */
};

/* Per-op breakdown (--ops): what each profiling mark's interval is summed into, by its shader name. */
enum { CAT_MATMUL, CAT_ATTENTION, CAT_LAYERNORM, CAT_OTHER, N_CATS };
static const char *const cat_names[N_CATS] = {"matmul", "attention", "layernorm", "other"};
#define MAX_TAGS 32

static int category_of(const char *tag)
{
    for (int c = 0; c < CAT_OTHER; c++)
        if (!strncmp(tag, cat_names[c], strlen(cat_names[c])))
            return c;
    return CAT_OTHER;
}

typedef struct op_tag {
    const char *name;              /* shader name, "copy" or "fill" */
    int cat;
    uint32_t count;                /* commands per forward */
    stats ms;                      /* their summed time per run */
} op_tag;

typedef struct op_profile {
    uint32_t runs, marks;
    stats total_ms;                /* PLAN_TS_START..END of the profiled runs */
    stats sum_ms;                  /* all intervals: first mark .. last mark */
    uint32_t cat_count[N_CATS];
    stats cat_ms[N_CATS];
    double cat_flops[N_CATS];      /* 0 = not counted */
    double cat_rate[N_CATS];       /* GFLOP/s at the median */
    double cat_pct[N_CATS];        /* of the precision's FMA peak; < 0 = none */
    op_tag tags[MAX_TAGS];
    uint32_t n_tags;
} op_profile;

typedef struct model_row {
    char model[64];
    vit_dims dims;
    uint64_t parameters;
    uint32_t batch;
    vkvit_precision asked, used;
    char skipped[512];             /* non-empty: not measured, and why */
    double load[3];                /* load average when the row started */
    timing t;
    double flops, matmul_flops, attention_flops;   /* per run (the whole batch) */
    double images_s, gflops, pct_peak;             /* pct_peak < 0: no --peak */
    uint64_t weight_bytes, arena_bytes, io_bytes, allocated_bytes;
    double load_s, plan_s;         /* startup: model load (or synthesis) + upload; plan creation,
                                    * which compiles the pipelines not yet made in this process */
    bool have_ops;
    op_profile ops;
} model_row;

/* Floating-point operations of one forward pass of B images (multiply-add = 2): every GEMM's
 * 2*M*N*K (patch embedding, qkv, out-proj, fc1, fc2, head) and attention's 4*B*H*T^2*dh. */
static void model_work(const vit_dims *d, uint32_t B, double *matmul, double *attention)
{
    double T = d->T, D = d->D;
    double per_layer = 2 * T * D * 3 * D + 2 * T * D * D + 4 * T * D * d->mlp;
    *matmul = B * (2.0 * d->patches * d->cpp * D + d->L * per_layer + 2.0 * d->prefix * D * d->K);
    *attention = B * d->L * 4.0 * T * T * D; /* D = H * dh */
}

/* A preset with seeded synthetic weights, or a checkpoint. Returns the status (UNSUPPORTED, e.g.
 * fp16 on a device without it, skips the rows); other failures end the run. */
static vkvit_status load_model(bench *b, const char *spec, vkvit_precision precision, struct vkvit_model **m)
{
    vkvit_status s;
    *m = NULL;
    const model_preset *pr = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(spec, presets[i].name))
            pr = &presets[i];
    if (pr) {
        vit_config c;
        config_init(&c);
        c.hidden = pr->hidden, c.layers = pr->layers, c.heads = pr->heads;
        c.mlp = 4 * c.hidden, c.patch = pr->patch, c.image = pr->image, c.channels = 3;
        c.num_labels = pr->labels, c.eps = 1e-6;
        s = model_synthetic(b->ctx, &c, b->opt.seed, false, precision, m);
    } else {
        s = model_load(b->ctx, spec, false, precision, m);
    }
    if (s && s != VKVIT_ERROR_UNSUPPORTED && s != VKVIT_ERROR_OUT_OF_DEVICE_MEMORY)
        die("%s (%s): %s: %s", spec, precision_name(precision), vkvit_status_string(s), vkvit_last_error());
    return s;
}

static int find_tag(op_profile *op, const char *name)
{
    for (uint32_t i = 0; i < op->n_tags; i++)
        if (op->tags[i].name == name || !strcmp(op->tags[i].name, name))
            return (int)i;
    if (op->n_tags == MAX_TAGS)
        return -1;
    op->tags[op->n_tags] = (op_tag){.name = name, .cat = category_of(name)};
    return (int)op->n_tags++;
}

/* --ops: records the plan again with a timestamp after every command, runs it `runs` times, and sums
 * each run's intervals per shader and per category. */
static void profile_plan(bench *b, struct vkvit_plan *p, model_row *row, uint32_t runs)
{
    op_profile *op = &row->ops;
    memset(op, 0, sizeof *op);
    check(plan_set_profiling(p, true), "recording the plan with profiling");
    double g, w;
    if (b->opt.warmup)
        run_once(b, p->cmd, &g, &w);
    uint32_t n = vk_cmd_profile_count(p->cmd);
    const char **tags = xcalloc(n, sizeof *tags);
    double *ns = xcalloc(n, sizeof *ns), *total = xcalloc(runs, sizeof *total), *sum = xcalloc(runs, sizeof *sum);
    double *cat = xcalloc((size_t)N_CATS * runs, sizeof *cat), *tag = xcalloc((size_t)MAX_TAGS * runs, sizeof *tag);
    for (uint32_t r = 0; r < runs; r++) {
        run_once(b, p->cmd, &total[r], &w);
        check(vk_cmd_profile_read(p->cmd, tags, ns), "reading the profile");
        for (uint32_t i = 1; i < n; i++) {
            double ms = (ns[i] - ns[i - 1]) * 1e-6;
            int t = find_tag(op, tags[i]);
            int c = t >= 0 ? op->tags[t].cat : category_of(tags[i]);
            if (r == 0) {
                op->cat_count[c]++;
                if (t >= 0)
                    op->tags[t].count++;
            }
            if (t >= 0)
                tag[(size_t)t * runs + r] += ms;
            cat[(size_t)c * runs + r] += ms;
            sum[r] += ms;
        }
    }
    op->runs = runs;
    op->marks = n;
    op->total_ms = summarize(total, runs);
    op->sum_ms = summarize(sum, runs);
    for (int c = 0; c < N_CATS; c++)
        op->cat_ms[c] = summarize(cat + (size_t)c * runs, runs);
    for (uint32_t t = 0; t < op->n_tags; t++)
        op->tags[t].ms = summarize(tag + (size_t)t * runs, runs);
    free(tags);
    free(ns);
    free(total);
    free(sum);
    free(cat);
    free(tag);
    check(plan_set_profiling(p, false), "recording the plan without profiling");
}

static double fma_peak(const peaks *pk, vkvit_precision used)
{
    return used == VKVIT_PRECISION_FP16 ? pk->fp16 : pk->fp32;
}

/* One row: a plan for the batch (skipped when the device cannot hold it), random input, timed. */
static void measure_row(bench *b, struct vkvit_model *m, const peaks *pk, model_row *row)
{
    struct vkvit_plan *p = NULL;
    double t0 = now_s();
    vkvit_status s = plan_create(m, row->batch, false, &p);
    row->plan_s = now_s() - t0;
    if (s) {
        snprintf(row->skipped, sizeof row->skipped, "%s: %s", vkvit_status_string(s), vkvit_last_error());
        if (s != VKVIT_ERROR_UNSUPPORTED && s != VKVIT_ERROR_OUT_OF_DEVICE_MEMORY &&
            s != VKVIT_ERROR_OUT_OF_HOST_MEMORY)
            die("%s batch %u: %s", row->model, row->batch, row->skipped);
        return;
    }
    float *in = (float *)((char *)p->io.map + p->io_input);
    for (uint64_t k = 0; k < p->input.size / 4; k++)
        in[k] = rng_uniform(&b->rng, -2.0f, 2.0f);
    row->weight_bytes = m->weights.size;
    row->arena_bytes = p->arena.size;
    row->io_bytes = p->io.size;
    row->allocated_bytes = b->ctx->bytes_allocated;
    row->t = time_cmd(b, p->cmd);
    double sec = primary(&row->t)->median * 1e-3;
    row->images_s = row->batch / sec;
    row->gflops = row->flops / sec * 1e-9;
    double peak = fma_peak(pk, row->used);
    row->pct_peak = peak > 0 ? 100.0 * row->gflops / peak : -1;
    if (b->opt.op_breakdown && b->ctx->timestamps) {
        profile_plan(b, p, row, row->t.runs);
        op_profile *op = &row->ops;
        op->cat_flops[CAT_MATMUL] = row->matmul_flops;
        op->cat_flops[CAT_ATTENTION] = row->attention_flops;
        for (int c = 0; c < N_CATS; c++) {
            double ms = op->cat_ms[c].median;
            op->cat_rate[c] = op->cat_flops[c] > 0 && ms > 0 ? op->cat_flops[c] / ms * 1e-6 : 0;
            op->cat_pct[c] = op->cat_rate[c] > 0 && peak > 0 ? 100.0 * op->cat_rate[c] / peak : -1;
        }
        row->have_ops = true;
    }
    plan_destroy(p);
}

static void print_model_header(const bench *b)
{
    printf("whole forward pass: the plan's command buffer (input copy .. output copies), GPU timestamps around it;\n"
           "wall = submit + wait on the host; median [p10, p90] over the runs; rates at the GPU median\n");
    if (b->opt.op_breakdown && !b->ctx->timestamps)
        printf("--ops: this device has no compute-queue timestamps: no per-op breakdown\n");
    else if (b->opt.op_breakdown)
        printf("--ops: the plan recorded again with a timestamp after every dispatch and copy, run as many times\n"
               "      again; each command's time = its timestamp minus the previous one (binding and the barrier\n"
               "      before it included), summed per shader and per op type per run. The ops of a forward are\n"
               "      separated by barriers, so this measures each dispatch well; on a GPU, dispatches with no\n"
               "      barrier between them may overlap and their split is then approximate. The timestamps cost\n"
               "      a little: compare the profiled total with the row's median.\n");
    printf("\n%-12s %5s %-9s %4s %10s %10s %10s %10s %10s %10s %9s %8s %7s %9s %8s %7s\n", "model", "batch", "precision",
           "runs", "gpu ms", "p10", "p90", "wall ms", "p10", "p90", "images/s", "TFLOP/s", "% peak", "weights", "arena",
           "io");
}

static void print_model_row(const model_row *r)
{
    char prec[16];
    if (r->asked == VKVIT_PRECISION_AUTO && !r->skipped[0])
        snprintf(prec, sizeof prec, "auto:%s", precision_name(r->used));
    else
        snprintf(prec, sizeof prec, "%s", precision_name(r->asked));
    if (r->skipped[0]) {
        printf("%-12s %5u %-9s skipped: %s\n", r->model, r->batch, prec, r->skipped);
        return;
    }
    const stats *g = primary(&r->t), *w = &r->t.wall_ms;
    char pct[16] = "-";
    if (r->pct_peak >= 0)
        snprintf(pct, sizeof pct, "%.1f%%", r->pct_peak);
    printf("%-12s %5u %-9s %4u %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %9.1f %8.3g %7s %7.1fMB %6.1fMB %5.1fMB\n",
           r->model, r->batch, prec, r->t.runs, g->median, g->p10, g->p90, w->median, w->p10, w->p90, r->images_s,
           r->gflops * 1e-3, pct, r->weight_bytes / 1e6, r->arena_bytes / 1e6, r->io_bytes / 1e6);
    printf("    startup: %s%.3f s, plan creation %.3f s (records the pass; compiles the pipelines this process has "
           "not made yet)\n", r->load_s > 0 ? "model load " : "", r->load_s > 0 ? r->load_s : 0.0, r->plan_s);
    if (!r->have_ops)
        return;
    const op_profile *op = &r->ops;
    printf("    ops: %u profiled runs, %u timestamps; profiled total %.2f ms, sum of the ops %.2f ms\n", op->runs,
           op->marks, op->total_ms.median, op->sum_ms.median);
    printf("    %-22s %6s %10s %10s %10s %7s %9s %7s\n", "op", "count", "median ms", "p10", "p90", "share", "GFLOP/s",
           "% peak");
    for (int c = 0; c < N_CATS; c++) {
        const stats *s = &op->cat_ms[c];
        printf("    %-22s %6u %10.3f %10.3f %10.3f %6.1f%%", cat_names[c], op->cat_count[c], s->median, s->p10, s->p90,
               op->sum_ms.median > 0 ? 100.0 * s->median / op->sum_ms.median : 0.0);
        if (op->cat_rate[c] > 0)
            printf(" %9.2f", op->cat_rate[c]);
        if (op->cat_pct[c] >= 0)
            printf(" %6.1f%%", op->cat_pct[c]);
        printf("\n");
    }
    for (int c = 0; c < N_CATS; c++)
        for (uint32_t t = 0; t < op->n_tags; t++)
            if (op->tags[t].cat == c)
                printf("      %-20s %6u %10.3f %10.3f %10.3f %6.1f%%\n", op->tags[t].name, op->tags[t].count,
                       op->tags[t].ms.median, op->tags[t].ms.p10, op->tags[t].ms.p90,
                       op->sum_ms.median > 0 ? 100.0 * op->tags[t].ms.median / op->sum_ms.median : 0.0);
}

/* Every (model, precision, batch) row, printed as it is measured. */
static model_row *run_models(bench *b, const peaks *pk, uint32_t *n_rows)
{
    const options *o = &b->opt;
    model_row *rows = xcalloc((size_t)o->n_models * o->n_precisions * o->n_batches, sizeof *rows);
    uint32_t n = 0;
    print_model_header(b);
    for (uint32_t i = 0; i < o->n_models; i++) {
        const char *spec = o->models[i];
        const char *name = strrchr(spec, '/') && strrchr(spec, '/')[1] ? strrchr(spec, '/') + 1 : spec;
        for (uint32_t k = 0; k < o->n_precisions; k++) {
            struct vkvit_model *m = NULL;
            double t0 = now_s();
            vkvit_status s = load_model(b, spec, o->precisions[k], &m);
            double load_s = now_s() - t0;
            for (uint32_t j = 0; j < o->n_batches; j++) {
                model_row *r = &rows[n++];
                snprintf(r->model, sizeof r->model, "%s", name);
                r->batch = o->batches[j];
                r->asked = o->precisions[k];
                r->pct_peak = -1;
                r->load_s = j == 0 ? load_s : 0;
#ifdef HAVE_POSIX
                if (getloadavg(r->load, 3) != 3)
                    memset(r->load, 0, sizeof r->load);
#endif
                if (s) {
                    snprintf(r->skipped, sizeof r->skipped, "%s: %s", vkvit_status_string(s), vkvit_last_error());
                } else {
                    r->used = m->precision;
                    r->dims = m->dims;
                    r->parameters = m->parameters;
                    model_work(&m->dims, r->batch, &r->matmul_flops, &r->attention_flops);
                    r->flops = r->matmul_flops + r->attention_flops;
                    measure_row(b, m, pk, r);
                }
                print_model_row(r);
                fflush(stdout);
            }
            model_free(m);
        }
    }
    printf("\n");
    *n_rows = n;
    return rows;
}

static cJSON *op_profile_json(const op_profile *op)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method",
                            "a timestamp after every dispatch and copy; a command's time is its timestamp minus the "
                            "previous one (binding and the barrier before it included), summed per run; medians over "
                            "the profiled runs");
    cJSON_AddNumberToObject(o, "runs", op->runs);
    cJSON_AddNumberToObject(o, "timestamps", op->marks);
    cJSON_AddItemToObject(o, "total_ms", stats_json(&op->total_ms));
    cJSON_AddItemToObject(o, "sum_ms", stats_json(&op->sum_ms));
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    for (int c = 0; c < N_CATS; c++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "op", cat_names[c]);
        cJSON_AddNumberToObject(e, "count", op->cat_count[c]);
        cJSON_AddItemToObject(e, "ms", stats_json(&op->cat_ms[c]));
        cJSON_AddNumberToObject(e, "share", op->sum_ms.median > 0 ? op->cat_ms[c].median / op->sum_ms.median : 0);
        if (op->cat_flops[c] > 0) {
            cJSON_AddNumberToObject(e, "flops", op->cat_flops[c]);
            cJSON_AddNumberToObject(e, "gflops", op->cat_rate[c]);
        }
        if (op->cat_pct[c] >= 0)
            cJSON_AddNumberToObject(e, "pct_peak", op->cat_pct[c]);
        cJSON_AddItemToArray(cats, e);
    }
    cJSON *sh = cJSON_AddArrayToObject(o, "shaders");
    for (uint32_t t = 0; t < op->n_tags; t++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", op->tags[t].name);
        cJSON_AddStringToObject(e, "op", cat_names[op->tags[t].cat]);
        cJSON_AddNumberToObject(e, "count", op->tags[t].count);
        cJSON_AddItemToObject(e, "ms", stats_json(&op->tags[t].ms));
        cJSON_AddItemToArray(sh, e);
    }
    return o;
}

static cJSON *model_row_json(const model_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddNumberToObject(o, "batch", r->batch);
    cJSON_AddStringToObject(o, "precision_asked", precision_name(r->asked));
    cJSON *la = cJSON_AddArrayToObject(o, "load_average");
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToArray(la, cJSON_CreateNumber(r->load[i]));
    if (r->skipped[0]) {
        cJSON_AddStringToObject(o, "skipped", r->skipped);
        return o;
    }
    cJSON_AddStringToObject(o, "precision", precision_name(r->used));
    const vit_dims *d = &r->dims;
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    cJSON_AddNumberToObject(cfg, "hidden", d->D);
    cJSON_AddNumberToObject(cfg, "layers", d->L);
    cJSON_AddNumberToObject(cfg, "heads", d->H);
    cJSON_AddNumberToObject(cfg, "mlp", d->mlp);
    cJSON_AddNumberToObject(cfg, "image", d->image);
    cJSON_AddNumberToObject(cfg, "patch", d->P);
    cJSON_AddNumberToObject(cfg, "tokens", d->T);
    cJSON_AddNumberToObject(cfg, "classes", d->K);
    cJSON_AddNumberToObject(cfg, "parameters", (double)r->parameters);
    add_timing(o, &r->t);
    cJSON_AddNumberToObject(o, "flops", r->flops);
    cJSON_AddNumberToObject(o, "matmul_flops", r->matmul_flops);
    cJSON_AddNumberToObject(o, "attention_flops", r->attention_flops);
    cJSON_AddNumberToObject(o, "images_per_s", r->images_s);
    cJSON_AddNumberToObject(o, "tflops", r->gflops * 1e-3);
    if (r->pct_peak >= 0)
        cJSON_AddNumberToObject(o, "pct_peak", r->pct_peak);
    else
        cJSON_AddNullToObject(o, "pct_peak");
    cJSON *mem = cJSON_AddObjectToObject(o, "memory_bytes");
    cJSON_AddNumberToObject(mem, "weights", (double)r->weight_bytes);
    cJSON_AddNumberToObject(mem, "arena", (double)r->arena_bytes);
    cJSON_AddNumberToObject(mem, "io", (double)r->io_bytes);
    cJSON_AddNumberToObject(mem, "total", (double)(r->weight_bytes + r->arena_bytes + r->io_bytes));
    cJSON_AddNumberToObject(mem, "context_allocated", (double)r->allocated_bytes);
    cJSON *st = cJSON_AddObjectToObject(o, "startup_s");
    if (r->load_s > 0)
        cJSON_AddNumberToObject(st, "model_load", r->load_s);
    cJSON_AddNumberToObject(st, "plan_create", r->plan_s);
    if (r->have_ops)
        cJSON_AddItemToObject(o, "ops", op_profile_json(&r->ops));
    return o;
}

static void write_json(const bench *b, const char *path, int argc, char **argv, const char *cmdline,
                       const host_info *h, const peaks *p, const bench_case *c, uint32_t n, const model_row *rows,
                       uint32_t n_rows)
{
    const vkvit_device_info *d = &b->ctx->info;
    cJSON *root = cJSON_CreateObject();
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d.%d", VKVIT_VERSION_MAJOR, VKVIT_VERSION_MINOR, VKVIT_VERSION_PATCH);
    cJSON_AddStringToObject(root, "tool", "vkvit-bench");
    cJSON_AddStringToObject(root, "version", ver);
    char when[64];
    time_t tnow = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tnow));
    cJSON_AddStringToObject(root, "date", when);
    cJSON_AddStringToObject(root, "command", cmdline);
    cJSON *av = cJSON_AddArrayToObject(root, "argv");
    for (int i = 0; i < argc; i++)
        cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));

    cJSON *dev = cJSON_AddObjectToObject(root, "device");
    cJSON_AddNumberToObject(dev, "index", d->index);
    cJSON_AddStringToObject(dev, "name", d->name);
    cJSON_AddStringToObject(dev, "type", vkvit_device_type_string(d->type));
    cJSON_AddStringToObject(dev, "vendor", d->vendor ? d->vendor : "");
    cJSON_AddNumberToObject(dev, "vendor_id", d->vendor_id);
    cJSON_AddNumberToObject(dev, "device_id", d->device_id);
    char api[32];
    snprintf(api, sizeof api, "%u.%u.%u", VK_API_VERSION_MAJOR(d->api_version), VK_API_VERSION_MINOR(d->api_version),
             VK_API_VERSION_PATCH(d->api_version));
    cJSON_AddStringToObject(dev, "api_version", api);
    cJSON_AddStringToObject(dev, "driver_name", d->driver_name);
    cJSON_AddStringToObject(dev, "driver_info", d->driver_info);
    cJSON_AddNumberToObject(dev, "driver_version", d->driver_version);
    cJSON_AddNumberToObject(dev, "subgroup_size", d->subgroup_size);
    cJSON_AddNumberToObject(dev, "max_storage_buffer_range", d->max_storage_buffer_range);
    cJSON_AddBoolToObject(dev, "fp16", b->ctx->fp16);
    cJSON_AddBoolToObject(dev, "timestamps", b->ctx->timestamps);
    cJSON_AddNumberToObject(dev, "timestamp_period_ns", d->timestamp_period);

    cJSON *host = cJSON_AddObjectToObject(root, "host");
    cJSON_AddStringToObject(host, "cpu", h->cpu);
    cJSON_AddNumberToObject(host, "cpus", (double)h->cpus);
    if (h->have_load) {
        cJSON *la = cJSON_AddArrayToObject(host, "load_average");
        for (int i = 0; i < 3; i++)
            cJSON_AddItemToArray(la, cJSON_CreateNumber(h->load[i]));
        double end[3];
#ifdef HAVE_POSIX
        if (getloadavg(end, 3) == 3) {
            la = cJSON_AddArrayToObject(host, "load_average_end");
            for (int i = 0; i < 3; i++)
                cJSON_AddItemToArray(la, cJSON_CreateNumber(end[i]));
        }
#endif
    }

    cJSON *set = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddStringToObject(set, "timing", b->ctx->timestamps ? "gpu_timestamps" : "wall");
    cJSON_AddNumberToObject(set, "warmup", b->opt.warmup);
    cJSON_AddNumberToObject(set, "iters", b->opt.iters);
    cJSON_AddNumberToObject(set, "min_time_s", b->opt.min_time_s);
    cJSON_AddNumberToObject(set, "seed", (double)b->opt.seed);
    cJSON_AddBoolToObject(set, "validation", b->opt.validate);
    cJSON *pr = cJSON_AddArrayToObject(set, "precisions");
    for (uint32_t i = 0; i < b->opt.n_precisions; i++)
        cJSON_AddItemToArray(pr, cJSON_CreateString(precision_name(b->opt.precisions[i])));
    cJSON_AddBoolToObject(set, "ops_breakdown", b->opt.op_breakdown);

    if (p->n) {
        cJSON *pk = cJSON_AddObjectToObject(root, "peak");
        cJSON_AddNumberToObject(pk, "fp32_gflops", p->fp32);
        if (p->fp16 > 0)
            cJSON_AddNumberToObject(pk, "fp16_gflops", p->fp16);
        else
            cJSON_AddNullToObject(pk, "fp16_gflops");
        cJSON_AddNumberToObject(pk, "copy_gbs", p->copy);
        cJSON *arr = cJSON_AddArrayToObject(pk, "measures");
        for (uint32_t i = 0; i < p->n; i++) {
            const peak_result *r = &p->r[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", r->name);
            cJSON_AddStringToObject(o, "detail", r->detail);
            if (r->latency) {
                cJSON_AddStringToObject(o, "unit", "ms");
                cJSON_AddNumberToObject(o, "time_ms", r->rate);
            } else {
                cJSON_AddStringToObject(o, "unit", r->flops ? "GFLOP/s" : "GB/s");
                cJSON_AddNumberToObject(o, "rate", r->rate);
                cJSON_AddNumberToObject(o, r->flops ? "flops" : "bytes", r->work);
            }
            add_timing(o, &r->t);
            cJSON_AddItemToArray(arr, o);
        }
    }

    cJSON *ops = cJSON_AddArrayToObject(root, "ops");
    for (uint32_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "op", kind_names[c[i].kind]);
        cJSON_AddStringToObject(o, "case", c[i].label);
        cJSON_AddStringToObject(o, "shape_text", c[i].shape);
        cJSON_AddStringToObject(o, "dtype", "fp32");
        cJSON_AddNumberToObject(o, "batch", c[i].batch);
        cJSON *sh = cJSON_AddObjectToObject(o, "shape");
        switch (c[i].kind) {
        case K_MATMUL:
            cJSON_AddNumberToObject(sh, "M", c[i].M);
            cJSON_AddNumberToObject(sh, "K", c[i].K);
            cJSON_AddNumberToObject(sh, "N", c[i].N);
            cJSON_AddBoolToObject(sh, "bias", 1);
            cJSON_AddStringToObject(sh, "epilogue", epi_name(c[i].epi));
            break;
        case K_ATTENTION:
            cJSON_AddNumberToObject(sh, "B", c[i].batch);
            cJSON_AddNumberToObject(sh, "T", c[i].T);
            cJSON_AddNumberToObject(sh, "H", c[i].H);
            cJSON_AddNumberToObject(sh, "dh", c[i].dh);
            break;
        case K_LAYERNORM:
            cJSON_AddNumberToObject(sh, "rows", c[i].rows);
            cJSON_AddNumberToObject(sh, "D", c[i].D);
            break;
        case K_GELU:
            cJSON_AddNumberToObject(sh, "n", (double)c[i].n);
            break;
        }
        add_timing(o, &c[i].t);
        cJSON_AddNumberToObject(o, c[i].flops ? "flops" : "bytes", c[i].work);
        cJSON_AddStringToObject(o, "unit", c[i].flops ? "GFLOP/s" : "GB/s");
        cJSON_AddNumberToObject(o, "rate", c[i].rate);
        if (c[i].pct_peak >= 0)
            cJSON_AddNumberToObject(o, "pct_peak", c[i].pct_peak);
        else
            cJSON_AddNullToObject(o, "pct_peak");
        cJSON_AddItemToArray(ops, o);
    }

    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (uint32_t i = 0; i < n_rows; i++)
        cJSON_AddItemToArray(models, model_row_json(&rows[i]));

    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        die("out of host memory (JSON)");
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    free(text);
    if (!ok)
        die("writing %s failed: %s", path, strerror(errno));
    printf("wrote %s\n", path);
}

/* ---- main --------------------------------------------------------------------------------------------- */

/* With --validate, every validation warning or error is printed and makes the exit status 1, so a test can
 * run the tool under the layer. */
static int validation_messages;
static bool print_tune;   /* --tune: the autotuner's reports (INFO "tune: ...") go to stdout */

static void on_message(void *user, vkvit_message_severity sev, const char *msg)
{
    if (strncmp(msg, "tune:", 5) == 0) {
        if (print_tune || sev != VKVIT_MESSAGE_INFO)
            printf("%s\n", msg);
        return;
    }
    if (sev == VKVIT_MESSAGE_INFO)
        return;
    validation_messages += *(const bool *)user;
    fprintf(stderr, "%s: %s\n", sev == VKVIT_MESSAGE_ERROR ? "VALIDATION ERROR" : "VALIDATION WARNING", msg);
}

int main(int argc, char **argv)
{
    bench b = {0};
    parse_args(argc, argv, &b.opt);
    b.rng = b.opt.seed;

    bench_case *cases = xcalloc(MAX_CASES, sizeof *cases);
    uint32_t n_cases = b.opt.ops ? build_cases(&b.opt, cases) : 0;

#ifdef HAVE_POSIX
    /* The validation layer distorts timings: only --validate turns it on, not the environment. */
    if (!b.opt.validate)
        unsetenv("VKVIT_VALIDATION");
#endif
    vkvit_context_options copt = {.device = b.opt.device, .validation = b.opt.validate, .on_message = on_message,
                                  .user = &b.opt.validate, .tune = b.opt.tune ? 1 : 0};
    print_tune = b.opt.tune;
    check(vkvit_context_create(&copt, &b.ctx), "creating the Vulkan context");

    char *cmdline = command_line(argc, argv);
    host_info host;
    get_host_info(&host);
    print_header(&b, cmdline, &host);
    fflush(stdout);

    peaks pk;
    memset(&pk, 0, sizeof pk);
    if (b.opt.peak) {
        run_peak(&b, &pk);
        print_peaks(&b, &pk);
        fflush(stdout);
    }
    for (uint32_t i = 0; i < n_cases; i++) {
        run_case(&b, &cases[i]);
        double ref = cases[i].f16 ? pk.fp16 : cases[i].flops ? pk.fp32 : pk.copy;
        if (ref > 0)
            cases[i].pct_peak = 100.0 * cases[i].rate / ref;
    }
    if (n_cases)
        print_cases(cases, n_cases, b.opt.peak);
    uint32_t n_rows = 0;
    model_row *rows = b.opt.n_models ? run_models(&b, &pk, &n_rows) : NULL;
    if (b.opt.json)
        write_json(&b, b.opt.json, argc, argv, cmdline, &host, &pk, cases, n_cases, rows, n_rows);

    free(rows);
    free(cmdline);
    free(cases);
    vkvit_context_destroy(b.ctx);
    if (validation_messages) {
        fprintf(stderr, "vkvit-bench: %d validation message(s)\n", validation_messages);
        return 1;
    }
    return 0;
}
