/* vkvit-bench --op: the four ops one at a time, on seeded random data; nothing is checked (the tests
 * do that). Every case records ONE command buffer (timestamp, op, timestamp) and times it (measure.c).
 * Its rate at the median: GFLOP/s for matmul (2*M*N*K) and attention (4*B*H*T^2*dh), GB/s (bytes read
 * + written) for layernorm and gelu; with --peak, also as a % of the device's matching ceiling: the
 * fp32 (or, for fp16 matmuls, fp16) vec4 FMA rate, or the uvec4 copy shader's bandwidth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "safetensors.h"   /* st_f32_to_f16 */

/* ViT-B/16 at 224 px: 196 patches + the class token. */
enum { VIT_T = 197, VIT_D = 768, VIT_H = 12, VIT_DH = 64, VIT_MLP = 3072 };

const char *const kind_names[] = {"matmul", "attention", "layernorm", "gelu"};

/* ---- buffers with seeded random contents ------------------------------------------------------------ */

/* A device buffer of `bytes`, which must fit in one binding. */
static vk_buffer device_buffer(bench *b, uint64_t bytes, const char *what)
{
    if (bytes > b->ctx->info.max_storage_buffer_range)
        die("%s needs %llu bytes in one binding, over this device's maxStorageBufferRange (%u): use a "
            "smaller --batch or --shape",
            what, (unsigned long long)bytes, b->ctx->info.max_storage_buffer_range);
    vk_buffer buf;
    check(vk_buffer_create(b->ctx, bytes, VK_MEM_DEVICE, &buf), what);
    return buf;
}

/* A device buffer of n floats uniform in [lo, hi]. */
static vk_buffer random_buffer(bench *b, uint64_t n, float lo, float hi, const char *what)
{
    vk_buffer buf = device_buffer(b, n * 4, what);
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
    vk_buffer buf = device_buffer(b, n * 4, what);
    check(vk_buffer_fill(b->ctx, &buf, 0, n * 4, 0), what);
    return buf;
}

/* random_buffer / output_buffer with fp16 elements when f16 (n even or not: sized up to whole words). */
static vk_buffer random_buffer_as(bench *b, bool f16, uint64_t n, float lo, float hi, const char *what)
{
    if (!f16)
        return random_buffer(b, n, lo, hi, what);
    vk_buffer buf = device_buffer(b, (n * 2 + 3) / 4 * 4, what);
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

/* The buffers of one case, destroyed once it is timed. */
typedef struct case_buffers {
    vk_buffer b[6];
    uint32_t n;
} case_buffers;

/* Keeps buf for destruction; returns all of it as a binding. */
static vk_span keep(case_buffers *cb, vk_buffer buf)
{
    cb->b[cb->n] = buf;
    return vk_whole(&cb->b[cb->n++]);
}

static vk_span none_span(void)
{
    vk_span s = {VK_NULL_HANDLE, 0, 0};
    return s;
}

/* ---- the cases -------------------------------------------------------------------------------------- */

const char *epi_name(matmul_epilogue e)
{
    switch (e) {
    case MATMUL_EPI_GELU: return "gelu";
    case MATMUL_EPI_GELU_TANH: return "gelu_tanh";
    case MATMUL_EPI_RESIDUAL: return "residual";
    case MATMUL_EPI_TANH: return "tanh";
    case MATMUL_EPI_QUICK_GELU: return "quick_gelu";
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

uint32_t build_cases(const options *o, bench_case *cases)
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

/* ---- recording and timing a case -------------------------------------------------------------------- */

/* Y[M,N] = X[M,K].W[N,K]^T + bias (+ residual), fp16 throughout when c->f16. */
static vkvit_status record_matmul(bench *b, vk_cmd *cmd, bench_case *c, case_buffers *cb)
{
    vkvit_context *ctx = b->ctx;
    float ws = 1.0f / sqrtf((float)c->K);
    const bool h = c->f16;
    const op_dtype dt = h ? OP_F16 : OP_F32;
    if (h && !ctx->fp16)
        die("matmul fp16: the device has no fp16 path (shaderFloat16 + storageBuffer16BitAccess)");
    vk_span x = keep(cb, random_buffer_as(b, h, (uint64_t)c->M * c->K, -1, 1, "matmul X"));
    vk_span w = keep(cb, random_buffer_as(b, h, (uint64_t)c->N * c->K, -ws, ws, "matmul W"));
    vk_span bias = keep(cb, random_buffer_as(b, h, c->N, -0.1f, 0.1f, "matmul bias"));
    vk_span y = keep(cb, output_buffer_as(b, h, (uint64_t)c->M * c->N, "matmul Y"));
    matmul_args a = {
        .batch = 1, .M = c->M, .N = c->N, .K = c->K,
        .x = x, .w = w, .bias = bias, .residual = none_span(), .y = y,
        .epilogue = c->epi, .dtype = dt,
    };
    if (c->epi == MATMUL_EPI_RESIDUAL)
        a.residual = keep(cb, random_buffer_as(b, h, (uint64_t)c->M * c->N, -1, 1, "matmul residual"));
    vkvit_status s = op_matmul(cmd, ctx, &a);
    /* Which kernel ran (VKVIT_MATMUL, or the automatic choice), in the shape column. */
    const char *k = op_matmul_kernel(ctx, dt);
    size_t len = strlen(c->shape);
    snprintf(c->shape + len, sizeof c->shape - len, " [%s]", k ? k : "?");
    return s;
}

static vkvit_status record_attention(bench *b, vk_cmd *cmd, const bench_case *c, case_buffers *cb)
{
    uint64_t tokens = (uint64_t)c->batch * c->T, hd = (uint64_t)c->H * c->dh;
    vk_span qkv = keep(cb, random_buffer(b, tokens * 3 * hd, -1, 1, "attention qkv"));
    vk_span out = keep(cb, output_buffer(b, tokens * hd, "attention out"));
    attention_args a = {
        .batch = c->batch, .T = c->T, .H = c->H, .dh = c->dh, .scale = 0,
        .qkv = qkv, .out = out, .cls_probs = none_span(), .dtype = OP_F32,
    };
    return op_attention(cmd, b->ctx, &a);
}

static vkvit_status record_layernorm(bench *b, vk_cmd *cmd, const bench_case *c, case_buffers *cb)
{
    vk_span x = keep(cb, random_buffer(b, (uint64_t)c->rows * c->D, -2, 3, "layernorm x"));
    vk_span gamma = keep(cb, random_buffer(b, c->D, 0.5f, 1.5f, "layernorm gamma"));
    vk_span beta = keep(cb, random_buffer(b, c->D, -0.5f, 0.5f, "layernorm beta"));
    vk_span y = keep(cb, output_buffer(b, (uint64_t)c->rows * c->D, "layernorm y"));
    layernorm_args a = {
        .rows = c->rows, .D = c->D, .eps = 1e-6f,
        .x = x, .gamma = gamma, .beta = beta, .y = y, .dtype = OP_F32,
    };
    return op_layernorm(cmd, b->ctx, &a);
}

static vkvit_status record_gelu(bench *b, vk_cmd *cmd, const bench_case *c, case_buffers *cb)
{
    if (c->n > UINT32_MAX)
        die("gelu: n = %llu does not fit the op's 32-bit count", (unsigned long long)c->n);
    vk_span x = keep(cb, random_buffer(b, c->n, -4, 4, "gelu x"));
    vk_span y = keep(cb, output_buffer(b, c->n, "gelu y"));
    gelu_args a = {.n = (uint32_t)c->n, .x = x, .y = y, .dtype = OP_F32};
    return op_gelu(cmd, b->ctx, &a);
}

/* Sets up the inputs, records timestamp / op / timestamp once, times it. */
static void run_case(bench *b, bench_case *c)
{
    case_buffers cb = {.n = 0};
    vk_cmd *cmd = timed_begin(b);
    vkvit_status s = VKVIT_OK;
    char what[160];
    snprintf(what, sizeof what, "%s %s (%s)", kind_names[c->kind], c->label, c->shape);
    switch (c->kind) {
    case K_MATMUL: s = record_matmul(b, cmd, c, &cb); break;
    case K_ATTENTION: s = record_attention(b, cmd, c, &cb); break;
    case K_LAYERNORM: s = record_layernorm(b, cmd, c, &cb); break;
    case K_GELU: s = record_gelu(b, cmd, c, &cb); break;
    }
    check(s, what);
    timed_end(cmd);
    c->t = time_cmd(b, cmd);
    double sec = primary(&c->t)->median * 1e-3;
    c->rate = sec > 0 ? c->work / sec * 1e-9 : 0;
    vk_cmd_destroy(cmd);
    for (uint32_t i = 0; i < cb.n; i++)
        vk_buffer_destroy(b->ctx, &cb.b[i]);
}

void run_cases(bench *b, bench_case *cases, uint32_t n, const peaks *pk)
{
    for (uint32_t i = 0; i < n; i++) {
        run_case(b, &cases[i]);
        double ref = cases[i].f16 ? pk->fp16 : cases[i].flops ? pk->fp32 : pk->copy;
        if (ref > 0)
            cases[i].pct_peak = 100.0 * cases[i].rate / ref;
    }
}
