/* The matmul autotuner: which configuration op_matmul records a shape with (matmul.h).
 *
 * A shape's key names the kernel, dtype, load width, batch, M, N, K and the epilogue's class (none,
 * gelu for the three GELUs, tanh, residual), ".ln" for a normalised X (norm_x: its prologue changes the
 * cost): "matmul.direct.f32.v4.b1.197x2304x768.gelu". A winner saved under
 * it (ctx->tune, src/vk/tune.c; the file next to the pipeline cache) is used when it is valid on the
 * device; otherwise the per-device default of matmul_config.c.
 *
 * Tuning is opt-in (ctx->tune_mode == VKVIT_TUNE_ON: vkvit_context_options.tune = VKVIT_TUNE_ON, VKVIT_TUNE=1,
 * vkvit-bench --tune). The first time a shape with no saved winner is recorded, each candidate
 * configuration (matmul_candidates: the default first, then those valid on this device) records the
 * same matmul on scratch buffers of the shape (filled with a constant; bias and residual as the call
 * has them) and runs it once to warm up (llvmpipe compiles at the first dispatch). Then TUNE_ROUNDS
 * rounds run every candidate once each, timed between GPU timestamps (host wall time on a device
 * without them); time_candidates says how the winner is decided. The winner is saved as
 * "wg_x wg_y tm tn bk microseconds", and one INFO message lists every candidate's time. Where tuning cannot run (scratch over TUNE_SCRATCH_MAX or the memory budget, a Vulkan error) the
 * default is used, with an INFO message: tuning never fails the op. One shape is timed at a time per
 * context (vk_tune.timing), outside the context lock. */
#include "matmul.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TUNE_ROUNDS 6                    /* timed runs per candidate, after one warm-up */
#define TUNE_ABANDON 2.0                 /* a candidate this many times slower than the best: dropped */
#define TUNE_MARGIN 0.05                 /* a candidate must beat the default by 5% to replace it */
#define TUNE_SCRATCH_MAX (512ull << 20)  /* bytes of scratch buffers, at most */
#define SAVED_VALUES 6                   /* wg_x wg_y tm tn bk microseconds */

static const char *epilogue_class(matmul_epilogue e)
{
    return e == MATMUL_EPI_NONE       ? "none"
           : e == MATMUL_EPI_RESIDUAL ? "residual"
           : e == MATMUL_EPI_TANH     ? "tanh"
                                      : "gelu";
}

/* false when the key would not fit (absurd dimensions): such shapes are never tuned. */
static bool shape_key(const matmul_args *a, matmul_kernel kernel, bool vec4, char key[VK_TUNE_KEY])
{
    int n = snprintf(key, VK_TUNE_KEY, "matmul.%s.%s.%s.b%u.%ux%ux%u.%s%s", matmul_kernel_names[kernel],
                     a->dtype == OP_F16 ? "f16" : "f32", vec4 ? "v4" : "v1", a->batch, a->M, a->N, a->K,
                     epilogue_class(a->epilogue), a->norm_x ? ".ln" : "");
    return n > 0 && n < VK_TUNE_KEY;
}

/* ---- timing on scratch buffers ------------------------------------------------------------------------ */

typedef struct scratch {
    vk_buffer x, w, bias, y;
    matmul_args a;   /* the shape of the call, on the scratch buffers */
} scratch;

static void scratch_free(vkvit_context *ctx, scratch *s)
{
    vk_buffer_destroy(ctx, &s->x);
    vk_buffer_destroy(ctx, &s->w);
    vk_buffer_destroy(ctx, &s->bias);
    vk_buffer_destroy(ctx, &s->y);
}

/* Packed buffers for `a`'s shape: X [batch][M][K], W [N][K] (per batch if a's is), bias [N] if a has
 * one, Y [batch][M][N], which is also the residual. Sizes rounded up to 4 bytes for the fill. */
static vkvit_status scratch_make(vkvit_context *ctx, const matmul_args *a, scratch *s)
{
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4, nk = (uint64_t)a->N * a->K;
    const uint64_t x = (uint64_t)a->batch * a->M * a->K * es, w = (a->w_stride ? a->batch : 1) * nk * es;
    const uint64_t y = (uint64_t)a->batch * a->M * a->N * es, b = a->bias.size ? a->N * es : 0;
    if (x + w + y + b > TUNE_SCRATCH_MAX)
        return fail(VKVIT_ERROR_OUT_OF_DEVICE_MEMORY, "%llu MiB of scratch buffers, more than the tuner's %llu",
                    (unsigned long long)((x + w + y + b) >> 20), TUNE_SCRATCH_MAX >> 20);
    memset(s, 0, sizeof *s);
    vkvit_status st;
    if ((st = vk_buffer_create_named(ctx, (x + 3) & ~3ull, VK_MEM_DEVICE, "matmul tuning: X", &s->x)) ||
        (st = vk_buffer_create_named(ctx, (w + 3) & ~3ull, VK_MEM_DEVICE, "matmul tuning: W", &s->w)) ||
        (st = vk_buffer_create_named(ctx, (y + 3) & ~3ull, VK_MEM_DEVICE, "matmul tuning: Y", &s->y)) ||
        (b && (st = vk_buffer_create_named(ctx, (b + 3) & ~3ull, VK_MEM_DEVICE, "matmul tuning: bias", &s->bias)))) {
        scratch_free(ctx, s);
        return st;
    }
    s->a = (matmul_args){
        .batch = a->batch, .M = a->M, .N = a->N, .K = a->K,
        .w_stride = a->w_stride ? (uint32_t)nk : 0,
        .x = vk_span_of(&s->x, 0, x), .w = vk_span_of(&s->w, 0, w), .y = vk_span_of(&s->y, 0, y),
        .bias = b ? vk_span_of(&s->bias, 0, b) : (vk_span){0},
        .residual = a->epilogue == MATMUL_EPI_RESIDUAL ? vk_span_of(&s->y, 0, y) : (vk_span){0},
        .epilogue = a->epilogue, .dtype = a->dtype, .norm_x = a->norm_x, .norm_eps = a->norm_eps,
    };
    return VKVIT_OK;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* One submit of the recorded candidate: GPU ms between its two timestamps, else wall ms. */
static vkvit_status run_once(vkvit_context *ctx, vk_cmd *cmd, double *ms)
{
    double t0 = now_ms(), ns[2];
    vkvit_status s = vk_cmd_submit_wait(cmd);
    *ms = now_ms() - t0;
    ctx->tune->runs_timed++;
    if (!s && ctx->timestamps && !(s = vk_cmd_timestamps_ns(cmd, 2, ns)))
        *ms = ns[1] * 1e-6;
    return s;
}

/* Records candidate `c` into a command buffer of its own between two timestamps and runs it once
 * untimed: some drivers compile at the first dispatch (llvmpipe: seconds for the larger tiles). */
static vkvit_status prepare(vkvit_context *ctx, const scratch *s, const matmul_config *c, bool vec4, vk_cmd **cmd)
{
    double ignored;
    vkvit_status st = vk_cmd_create(ctx, 2, cmd), end;
    if (st || (st = vk_cmd_begin(*cmd)))
        return st;
    vk_cmd_timestamp(*cmd, 0);
    st = op_matmul_with(*cmd, ctx, &s->a, c, !vec4);
    vk_cmd_timestamp(*cmd, 1);
    end = vk_cmd_end(*cmd);
    return st ? st : end ? end : run_once(ctx, *cmd, &ignored);
}

/* Fills the scratch inputs with a constant: 1.0 in fp16, 0.0079 in fp32; finite and normal, so no
 * denormal slow paths. */
static vkvit_status fill_scratch(vkvit_context *ctx, const scratch *s)
{
    vk_cmd *cmd;
    vkvit_status st = vk_cmd_create(ctx, 0, &cmd), end;
    if (st)
        return st;
    if (!(st = vk_cmd_begin(cmd))) {
        vk_cmd_fill(cmd, vk_whole(&s->x), 0x3c003c00u);
        vk_cmd_fill(cmd, vk_whole(&s->w), 0x3c003c00u);
        vk_cmd_fill(cmd, vk_whole(&s->y), 0x3c003c00u);
        if (s->bias.buf)
            vk_cmd_fill(cmd, vk_whole(&s->bias), 0x3c003c00u);
        vk_cmd_barrier(cmd);
        end = vk_cmd_end(cmd);
        if (!(st = end))
            st = vk_cmd_submit_wait(cmd);
    }
    vk_cmd_destroy(cmd);
    return st;
}

/* Times the candidates into ms[] (INFINITY: did not run; a driver may refuse a candidate, but the
 * default, cand[0], must run) and wins[] (rounds in which candidate i ran faster than the default),
 * and returns the winner's index. Each round runs every live candidate once, the default first, so a
 * neighbour's load falls on all of them alike and each candidate is compared with a default run made
 * just before it; ms[i] is candidate i's fastest run. After a round, candidates TUNE_ABANDON x
 * slower than the best are dropped. A candidate replaces the default only if it was faster in every
 * round and its fastest run beats the default's by TUNE_MARGIN: on a shared CPU the run-to-run spread
 * is far larger than the differences between good tiles (bench/README.md, "Autotuning"). */
static uint32_t time_candidates(vkvit_context *ctx, const scratch *s, const matmul_config *cand, uint32_t n,
                                bool vec4, double *ms, uint32_t *wins, vkvit_status *status)
{
    vk_cmd *cmd[MATMUL_MAX_CANDIDATES] = {0};
    bool live[MATMUL_MAX_CANDIDATES] = {0};
    uint32_t best = 0;
    *status = fill_scratch(ctx, s);
    for (uint32_t i = 0; i < n; i++)
        ms[i] = INFINITY, wins[i] = 0;
    for (uint32_t i = 0; i < n && !*status; i++) {
        vkvit_status st = prepare(ctx, s, &cand[i], vec4, &cmd[i]);
        if (st && i == 0)
            *status = st;
        live[i] = !st;
    }
    for (int round = 0; round < TUNE_ROUNDS && !*status; round++) {
        double t, t_default = INFINITY;
        for (uint32_t i = 0; i < n && !*status; i++) {
            if (live[i] && round > 0 && ms[i] > TUNE_ABANDON * ms[best])
                live[i] = false;
            if (!live[i] || (*status = run_once(ctx, cmd[i], &t)))
                continue;
            ms[i] = fmin(ms[i], t);
            best = ms[i] < ms[best] ? i : best;
            if (i == 0)
                t_default = t;
            else
                wins[i] += t < t_default;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        vk_cmd_destroy(cmd[i]);
    best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (wins[i] == TUNE_ROUNDS && ms[i] < (1.0 - TUNE_MARGIN) * ms[0] && ms[i] < ms[best])
            best = i;
    return best;
}

/* One INFO message: the key, each candidate's time, the winner. */
static void report(vkvit_context *ctx, const char *key, const matmul_config *cand, const double *ms,
                   const uint32_t *wins, uint32_t n, uint32_t best)
{
    char text[3072], cfg[96];
    size_t used = (size_t)snprintf(text, sizeof text, "tune: %s: %u candidates (%s, fastest of %d rounds)", key, n,
                                   ctx->timestamps ? "GPU timestamps" : "wall time", TUNE_ROUNDS);
    for (uint32_t i = 0; i < n && used < sizeof text; i++) {
        matmul_config_string(&cand[i], cfg, sizeof cfg);
        char won[32] = "  default";
        if (i)
            snprintf(won, sizeof won, "  faster %u/%d", wins[i], TUNE_ROUNDS);
        used += (size_t)snprintf(text + used, sizeof text - used, "\n  %-36s %10.3f ms%s%s", cfg, ms[i], won,
                                 i == best ? "  <- winner" : "");
    }
    if (used < sizeof text)
        snprintf(text + used, sizeof text - used, "\n  winner: %.3f ms, default %.3f ms: %.2fx", ms[best], ms[0],
                 ms[best] > 0 ? ms[0] / ms[best] : 1.0);
    vk_message(ctx, VKVIT_MESSAGE_INFO, "%s", text);
}

/* Times the candidates of `a`'s shape and saves the winner under `key`. *out stays the default where
 * anything fails. */
static void tune_shape(vkvit_context *ctx, const matmul_args *a, matmul_kernel kernel, bool vec4, const char *key,
                       matmul_config *out)
{
    matmul_device d = matmul_device_of(ctx);
    const matmul_shape shape = {a->batch, a->M, a->N, a->K};
    matmul_config cand[MATMUL_MAX_CANDIDATES];
    double ms[MATMUL_MAX_CANDIDATES];
    uint32_t wins[MATMUL_MAX_CANDIDATES];
    uint32_t n = matmul_candidates(&d, kernel, &shape, cand, MATMUL_MAX_CANDIDATES), best = 0;
    scratch s = {0};
    vkvit_status st = n ? scratch_make(ctx, a, &s) : fail(VKVIT_ERROR_UNSUPPORTED, "no candidate");
    if (!st) {
        best = time_candidates(ctx, &s, cand, n, vec4, ms, wins, &st);
        scratch_free(ctx, &s);
    }
    if (st) {
        vk_message(ctx, VKVIT_MESSAGE_INFO, "tune: %s: not tuned, using the default: %s", key, vkvit_last_error());
        return;
    }
    ctx->tune->shapes_timed++;
    report(ctx, key, cand, ms, wins, n, best);
    *out = cand[best];
    const uint32_t us = ms[best] * 1e3 < UINT32_MAX ? (uint32_t)(ms[best] * 1e3) : UINT32_MAX;
    const uint32_t v[SAVED_VALUES] = {out->wg_x, out->wg_y, out->tm, out->tn, out->bk, us};
    vk_tune_put(ctx, key, v, SAVED_VALUES);
}

/* ---- the choice ----------------------------------------------------------------------------------------- */

/* The winner saved under `key`, if there is one valid on the device. */
static bool saved_config(vkvit_context *ctx, const char *key, matmul_kernel kernel, matmul_config *out)
{
    uint32_t v[VK_TUNE_VALUES] = {0};
    bool reported = true;
    uint32_t n = vk_tune_get(ctx, key, v, VK_TUNE_VALUES, &reported);
    if (!n)
        return false;
    matmul_config c = {kernel, v[0], v[1], v[2], v[3], v[4]};
    matmul_device d = matmul_device_of(ctx);
    const char *why = n != SAVED_VALUES ? "not 6 values" : matmul_config_invalid(&d, &c);
    if (why) {
        if (!reported)
            vk_message(ctx, VKVIT_MESSAGE_WARNING, "tune: the saved configuration of %s is not usable on '%s' (%s): "
                       "using the default%s", key, ctx->info.name, why,
                       ctx->tune_mode == VKVIT_TUNE_ON ? " and tuning it again" : "");
        return false;
    }
    if (!reported) {
        char cfg[96];
        matmul_config_string(&c, cfg, sizeof cfg);
        vk_message(ctx, VKVIT_MESSAGE_INFO, "tune: %s: saved winner %s (%.3f ms when tuned)", key, cfg, v[5] * 1e-3);
    }
    *out = c;
    return true;
}

vkvit_status matmul_choose_config(vkvit_context *ctx, const matmul_args *a, matmul_kernel kernel, bool vec4,
                                  matmul_config *out)
{
    matmul_device d = matmul_device_of(ctx);
    const matmul_shape shape = {a->batch, a->M, a->N, a->K};
    char key[VK_TUNE_KEY];
    *out = matmul_default_config(&d, kernel, &shape);
    if (!out->wg_x)
        return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: no %s configuration fits '%s': %s", matmul_kernel_names[kernel],
                    ctx->info.name, matmul_kernel_unusable(&d, kernel));
    if (!ctx->tune || !shape_key(a, kernel, vec4, key) || saved_config(ctx, key, kernel, out) ||
        ctx->tune_mode != VKVIT_TUNE_ON)
        return VKVIT_OK;
    mtx_lock(&ctx->tune->timing);
    if (!saved_config(ctx, key, kernel, out))   /* another thread may have timed it meanwhile */
        tune_shape(ctx, a, kernel, vec4, key, out);
    mtx_unlock(&ctx->tune->timing);
    return VKVIT_OK;
}

/* The op: check, choose the configuration (timing it first where tuning is on), record. */
vkvit_status op_matmul(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a)
{
    matmul_kernel kernel = MATMUL_TILED;
    bool vec4 = false;
    matmul_config c;
    vkvit_status s;
    if ((s = matmul_check(ctx, a, &kernel, &vec4)) || (s = matmul_choose_config(ctx, a, kernel, vec4, &c)))
        return s;
    return op_matmul_with(cmd, ctx, a, &c, !vec4);
}
