/* matmul tile configurations and the autotuner (src/ops/matmul_config.c, matmul_tune.c,
 * src/vk/tune.c):
 *   1. device classes: on fake NVIDIA / AMD / Intel / Apple / CPU / minimal devices, every default
 *      and every candidate is valid for the device, the default is the first candidate, and the
 *      documented choices hold (no GPU needed);
 *   2. every candidate configuration of every kernel this device runs (fp32 and fp16) against the
 *      double-precision C reference on awkward and ViT shapes (TOL_F32 / TOL_F16);
 *   3. the tuner: a context with tuning on times each new shape once and writes the tune file next
 *      to the pipeline cache; a second context reads it back and picks the same configurations
 *      without timing anything (timed submissions counted); a planted entry is used as written;
 *      tuning off means defaults; pipeline_cache_dir "" means no file;
 *   4. corrupt, foreign and stale tune files are ignored with a warning, never a crash, and the
 *      next tuning run replaces them.
 * Speed is never asserted. Every context has the validation layer on; any validation message fails. */
#include "common.h"
#include "ops/matmul.h"
#include "ref/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same(const matmul_config *a, const matmul_config *b)
{
    return a->kernel == b->kernel && a->wg_x == b->wg_x && a->wg_y == b->wg_y && a->tm == b->tm && a->tn == b->tn &&
           a->bk == b->bk;
}

static const char *cfg_text(const matmul_config *c)
{
    static char buf[4][96];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s %s", matmul_kernel_names[c->kernel], "");
    matmul_config_string(c, buf[i] + strlen(buf[i]), sizeof buf[i] - strlen(buf[i]));
    return buf[i];
}

/* ---- 1. device classes -------------------------------------------------------------------------------- */

typedef struct fake_device {
    const char *name;
    matmul_device d;
} fake_device;

/* Every default valid and first among valid, distinct candidates, for each kernel the device has. */
static void check_class(const fake_device *f)
{
    static const matmul_shape shapes[] = {{1, 197, 2304, 768}, {8, 197, 3072, 768}, {1, 1, 1000, 768},
                                          {1, 7, 13, 5}, {64, 50, 768, 768}};
    for (int k = 0; k < MATMUL_KERNELS; k++) {
        if (matmul_kernel_unusable(&f->d, (matmul_kernel)k))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            matmul_config def = matmul_default_config(&f->d, (matmul_kernel)k, &shapes[s]), c[MATMUL_MAX_CANDIDATES];
            uint32_t n = matmul_candidates(&f->d, (matmul_kernel)k, &shapes[s], c, MATMUL_MAX_CANDIDATES);
            const char *why = matmul_config_invalid(&f->d, &def);
            bool ok = def.wg_x && !why && n >= 1 && same(&c[0], &def);
            for (uint32_t i = 0; i < n && ok; i++) {
                ok = !matmul_config_invalid(&f->d, &c[i]) && c[i].kernel == (matmul_kernel)k;
                for (uint32_t j = 0; j < i && ok; j++)
                    ok = !same(&c[i], &c[j]);
            }
            test_expect(ok, "%s, %s, %ux%ux%ux%u: default %s valid (%s) and first of %u valid distinct candidates",
                        f->name, matmul_kernel_names[k], shapes[s].batch, shapes[s].M, shapes[s].N, shapes[s].K,
                        cfg_text(&def), why ? why : "yes", n);
        }
    }
}

static void expect_default(const fake_device *f, matmul_kernel k, matmul_shape s, matmul_config want)
{
    matmul_config got = matmul_default_config(&f->d, k, &s);
    test_expect(same(&got, &want), "%s default for %ux%ux%ux%u is %s (want %s)", f->name, s.batch, s.M, s.N, s.K,
                cfg_text(&got), cfg_text(&want));
}

static void device_classes(void)
{
    const fake_device nvidia = {"NVIDIA (32 lanes, 48 KiB, 1024, coopmat 16x16x16)",
                                {MATMUL_VENDOR_NVIDIA, 32, 49152, 1024, {16, 16, 16}}};
    const fake_device devices[] = {
        nvidia,
        {"AMD (64 lanes, 64 KiB, 1024)", {MATMUL_VENDOR_AMD, 64, 65536, 1024, {0, 0, 0}}},
        {"Intel (16 lanes, 64 KiB, 1024)", {MATMUL_VENDOR_INTEL, 16, 65536, 1024, {0, 0, 0}}},
        {"Apple/MoltenVK (32 lanes, 32 KiB, 1024)", {MATMUL_VENDOR_APPLE, 32, 32768, 1024, {0, 0, 0}}},
        {"lavapipe (8 lanes, 32 KiB, 1024)", {MATMUL_VENDOR_CPU, 8, 32768, 1024, {0, 0, 0}}},
        {"CPU with 4 lanes", {MATMUL_VENDOR_CPU, 4, 32768, 256, {0, 0, 0}}},
        {"Vulkan minimum (16 KiB, 128 invocations)", {MATMUL_VENDOR_OTHER, 16, 16384, 128, {16, 8, 8}}},
    };
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++)
        check_class(&devices[i]);

    const matmul_shape b1 = {1, 197, 2304, 768}, b8 = {8, 197, 3072, 768}, head = {1, 1, 1000, 768};
    expect_default(&devices[4], MATMUL_DIRECT, b1, (matmul_config){MATMUL_DIRECT, 8, 1, 16, 16, 4});
    expect_default(&devices[5], MATMUL_DIRECT, b1, (matmul_config){MATMUL_DIRECT, 4, 1, 16, 16, 4});
    /* N <= 64 (the ResNet stem's 64-channel convolutions): one 16 x 64 block across N */
    expect_default(&devices[4], MATMUL_DIRECT, (matmul_shape){1, 3136, 64, 576},
                   (matmul_config){MATMUL_DIRECT, 8, 1, 16, 8, 4});
    expect_default(&nvidia, MATMUL_TILED, b1, (matmul_config){MATMUL_TILED, 16, 16, 4, 4, 16});
    expect_default(&nvidia, MATMUL_TILED, b8, (matmul_config){MATMUL_TILED, 16, 16, 8, 8, 8});
    expect_default(&nvidia, MATMUL_TILED, head, (matmul_config){MATMUL_TILED, 32, 8, 4, 4, 16});
    expect_default(&devices[2], MATMUL_TILED, b8, (matmul_config){MATMUL_TILED, 16, 16, 4, 4, 16});
    expect_default(&devices[6], MATMUL_TILED, b8, (matmul_config){MATMUL_TILED, 16, 8, 8, 4, 16});
    expect_default(&nvidia, MATMUL_COOPMAT, b1, (matmul_config){MATMUL_COOPMAT, 2, 2, 32, 32, 32});
    expect_default(&nvidia, MATMUL_COOPMAT, b8, (matmul_config){MATMUL_COOPMAT, 2, 2, 64, 64, 32});

    /* Refusals: a class guess that does not fit falls back; nothing that fits: the reason. */
    fake_device small = {"NVIDIA with 8 KiB of shared memory", nvidia.d};
    small.d.max_shared = 8192;
    const char *why = matmul_kernel_unusable(&small.d, MATMUL_COOPMAT);
    test_expect(why && strstr(why, "shared-memory"), "%s: coopmat unusable: %s", small.name, why ? why : "(usable)");
    const struct {
        const fake_device *dev;
        matmul_config c;
        const char *what;
    } bad[] = {
        {&devices[4], {MATMUL_DIRECT, 8, 1, 12, 16, 4}, "direct rows not a multiple of the subgroup"},
        {&devices[4], {MATMUL_DIRECT, 16, 1, 16, 16, 4}, "direct workgroup not one subgroup"},
        {&devices[1], {MATMUL_DIRECT, 64, 1, 64, 8, 4}, "direct on 64 lanes"},
        {&nvidia, {MATMUL_TILED, 16, 16, 4, 4, 6}, "tiled k stage not a multiple of 4"},
        {&devices[6], {MATMUL_TILED, 16, 16, 4, 4, 16}, "tiled 256 invocations on a 128 device"},
        {&nvidia, {MATMUL_TILED, 16, 16, 16, 16, 16}, "tiled 16x16 register tile"},
        {&nvidia, {MATMUL_TILED, 16, 16, 8, 8, 64}, "tiled 128x128 x 64-deep (66 KB shared)"},
        {&nvidia, {MATMUL_COOPMAT, 2, 2, 40, 32, 32}, "coopmat tile not a fragment multiple"},
        {&devices[1], {MATMUL_COOPMAT, 2, 2, 32, 32, 32}, "coopmat without fragments"},
        {&nvidia, {MATMUL_TILED, 0, 16, 4, 4, 16}, "a zero"},
        {&nvidia, {(matmul_kernel)7, 16, 16, 4, 4, 16}, "unknown kernel"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *r = matmul_config_invalid(&bad[i].dev->d, &bad[i].c);
        test_expect(r != NULL, "invalid on %s: %s (%s)", bad[i].dev->name, bad[i].what, r ? r : "accepted");
    }
}

/* ---- 2. every candidate against the reference ------------------------------------------------------------ */

typedef struct tcase {
    uint32_t batch, M, N, K;
    matmul_epilogue epi;
    bool bias, w_batched;   /* residual cases are in place (R = Y), as in the ViT */
} tcase;

typedef struct recorded {
    const matmul_args *a;
    const matmul_config *c;
} recorded;

static vkvit_status record_with(vk_cmd *cmd, vkvit_context *ctx, const void *arg)
{
    const recorded *r = arg;
    return op_matmul_with(cmd, ctx, r->a, r->c, false);
}

/* Runs case `tc` through every candidate of `kernel` in `dt`; returns how many candidates ran. */
static uint32_t check_candidates(vkvit_context *ctx, const tcase *tc, matmul_kernel kernel, op_dtype dt, uint64_t *rng)
{
    const uint32_t B = tc->batch, M = tc->M, N = tc->N, K = tc->K;
    const size_t nx = (size_t)B * M * K, nw = (tc->w_batched ? B : 1) * (size_t)N * K, ny = (size_t)B * M * N;
    const bool res = tc->epi == MATMUL_EPI_RESIDUAL;
    float *x = test_alloc(nx), *w = test_alloc(nw), *bias = test_alloc(N), *r = test_alloc(ny);
    float *ref = test_alloc(ny), *out = test_alloc(ny), *first = test_alloc(ny);
    test_fill(x, nx, rng, -1, 1), test_fill(w, nw, rng, -1, 1), test_fill(bias, N, rng, -1, 1);
    test_fill(r, ny, rng, -4, 4);
    if (dt == OP_F16)
        test_round_f16(x, nx), test_round_f16(w, nw), test_round_f16(bias, N), test_round_f16(r, ny);
    ref_matmul(x, w, tc->w_batched, tc->bias ? bias : NULL, res ? r : NULL, ref, B, M, N, K, tc->epi);
    vk_buffer bx = test_upload_as(ctx, dt, x, nx), bw = test_upload_as(ctx, dt, w, nw);
    vk_buffer bb = test_upload_as(ctx, dt, bias, N);
    const VkDeviceSize es = dt == OP_F16 ? 2 : 4;
    matmul_args a = {.batch = B, .M = M, .N = N, .K = K, .w_stride = tc->w_batched ? N * K : 0,
                     .x = vk_span_of(&bx, 0, nx * es), .w = vk_span_of(&bw, 0, nw * es),
                     .bias = tc->bias ? vk_span_of(&bb, 0, N * es) : (vk_span){0}, .epilogue = tc->epi, .dtype = dt};
    matmul_device d = matmul_device_of(ctx);
    matmul_shape shape = {B, M, N, K};
    matmul_config cand[MATMUL_MAX_CANDIDATES];
    uint32_t n = matmul_candidates(&d, kernel, &shape, cand, MATMUL_MAX_CANDIDATES), identical = 0;
    for (uint32_t i = 0; i < n; i++) {
        vk_buffer by = res ? test_upload_as(ctx, dt, r, ny) : test_poisoned(ctx, dt, ny);
        a.y = vk_span_of(&by, 0, ny * es);
        a.residual = res ? a.y : (vk_span){0};
        test_run(ctx, record_with, &(recorded){&a, &cand[i]});
        test_download_as(ctx, dt, &by, out, ny);
        char name[192];
        snprintf(name, sizeof name, "%s %s b=%u %ux%ux%u %s%s%s: %s", dt == OP_F16 ? "fp16" : "fp32",
                 matmul_kernel_names[kernel], B, M, N, K, tc->epi == MATMUL_EPI_NONE ? "none"
                 : res ? "residual" : tc->epi == MATMUL_EPI_GELU ? "gelu" : "gelu_tanh",
                 tc->bias ? " +bias" : "", tc->w_batched ? " per-batch-W" : "", cfg_text(&cand[i]));
        test_check(name, out, ref, ny, dt == OP_F16 ? TOL_F16 : TOL_F32);
        if (i == 0)
            memcpy(first, out, ny * sizeof *out);
        identical += memcmp(first, out, ny * sizeof *out) == 0;
        vk_buffer_destroy(ctx, &by);
    }
    /* Same products in the same k order in every tile: expected bit-identical here; reported only. */
    printf("     %u of %u candidates bit-identical to the default\n", identical, n);
    vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &bw), vk_buffer_destroy(ctx, &bb);
    free(x), free(w), free(bias), free(r), free(ref), free(out), free(first);
    return n;
}

/* Whether this device runs `kernel` for `dt` (as VKVIT_MATMUL would force it). */
static bool kernel_runs(vkvit_context *ctx, matmul_kernel kernel, op_dtype dt)
{
    char saved[sizeof ctx->matmul_force];
    memcpy(saved, ctx->matmul_force, sizeof saved);
    snprintf(ctx->matmul_force, sizeof ctx->matmul_force, "%s", matmul_kernel_names[kernel]);
    matmul_kernel got;
    bool ok = matmul_pick_kernel(ctx, dt, &got) == VKVIT_OK && got == kernel;
    memcpy(ctx->matmul_force, saved, sizeof saved);
    if (!ok)
        printf("%s %s: NOT RUN on this device: %s\n", dt == OP_F16 ? "fp16" : "fp32", matmul_kernel_names[kernel],
               dt == OP_F32 && kernel == MATMUL_COOPMAT ? "it has no fp32 kernel" : vkvit_last_error());
    return ok;
}

static void every_candidate(vkvit_context *ctx, uint64_t *rng)
{
    /* The tile is independent of the epilogue and bias code (tested on every epilogue by
     * test_matmul), and every distinct set of specialization constants is one more pipeline to compile
     * (seconds each on lavapipe for the large direct tiles), so the shapes come in two variants:
     * guarded scalar loads (K not a multiple of 4) with bias + GELU-tanh, and vec4 loads with bias +
     * in-place residual. Awkward shapes: 1x1x1, K below 4, non-multiples of every block (8 .. 128 rows
     * and columns), a classifier head (M = 1), batches with shared and per-batch weights. */
    const matmul_epilogue TANH = MATMUL_EPI_GELU_TANH, RES = MATMUL_EPI_RESIDUAL;
    const tcase awkward[] = {
        {1, 1, 1, 1, TANH, true, false},     {1, 7, 13, 5, TANH, true, false},   {1, 33, 65, 17, TANH, true, false},
        {1, 65, 63, 31, TANH, true, false},  {1, 9, 10, 3, TANH, true, false},   {2, 19, 21, 15, TANH, true, true},
        {1, 129, 257, 68, RES, true, false}, {1, 1, 1000, 768, RES, true, false}, {3, 17, 33, 20, RES, true, false},
        {2, 5, 7, 12, RES, true, true},
    };
    /* ViT: ViT-B/16 QKV and MLP-down shapes in fp32; ViT-B out-proj and ViT-Ti MLP-up in fp16 (the
     * fp16 tiled kernel is slow on lavapipe, which emulates fp16 arithmetic). */
    const tcase vit32[] = {{1, 197, 2304, 768, RES, true, false}, {1, 197, 768, 3072, RES, true, false}};
    const tcase vit16[] = {{1, 197, 768, 768, RES, true, false}, {1, 197, 768, 192, RES, true, false}};
    for (int dt = OP_F32; dt <= OP_F16; dt++) {
        if (dt == OP_F16 && !test_fp16(ctx))
            break;
        const tcase *vit = dt == OP_F16 ? vit16 : vit32;
        for (int k = 0; k < MATMUL_KERNELS; k++) {
            if (!kernel_runs(ctx, (matmul_kernel)k, (op_dtype)dt))
                continue;
            uint32_t runs = 0;
            for (size_t i = 0; i < sizeof awkward / sizeof *awkward; i++)
                runs += check_candidates(ctx, &awkward[i], (matmul_kernel)k, (op_dtype)dt, rng);
            for (size_t i = 0; i < 2; i++)
                runs += check_candidates(ctx, &vit[i], (matmul_kernel)k, (op_dtype)dt, rng);
            printf("%s %s: %u candidate runs checked\n", dt == OP_F16 ? "fp16" : "fp32", matmul_kernel_names[k], runs);
        }
    }
}

/* ---- contexts of their own, with a message log -------------------------------------------------------------- */

static int validation_count, warning_count;
static char last_warning[1024];

static void on_message(void *user, vkvit_message_severity sev, const char *msg)
{
    (void)user;
    if (strncmp(msg, "validation:", 11) == 0) {
        validation_count++;
        fprintf(stderr, "VALIDATION %s: %s\n", sev == VKVIT_MESSAGE_ERROR ? "ERROR" : "WARNING", msg);
    } else if (sev != VKVIT_MESSAGE_INFO) {
        warning_count++;
        snprintf(last_warning, sizeof last_warning, "%s", msg);
        printf("     (warning) %s\n", msg);
    } else if (strncmp(msg, "tune:", 5) == 0) {
        printf("     %s\n", msg);
    }
}

/* A validated context persisting to `dir` with tuning `tune`; the message counters reset. */
static vkvit_context *context_at(const char *dir, vkvit_tune tune)
{
    vkvit_context_options opt = {.validation = 1, .on_message = on_message, .pipeline_cache_dir = dir, .tune = tune};
    vkvit_context *ctx = NULL;
    warning_count = 0;
    last_warning[0] = '\0';
    test_ok(vkvit_context_create(&opt, &ctx), "context");
    return ctx;
}

static void context_done(vkvit_context *ctx)
{
    vkvit_context_destroy(ctx);
    test_expect(validation_count == 0, "no validation messages (%d)", validation_count);
    validation_count = 0;
}

/* ---- 3. the tuner -------------------------------------------------------------------------------------------- */

/* Records (never submits) op_matmul on `n` shapes, fresh spans each time: the op's choice as recorded. */
static void record_shapes(vkvit_context *ctx, const tcase *cases, size_t n, op_dtype dt, matmul_config *chosen)
{
    vk_cmd *cmd;
    vk_buffer bufs[8];   /* alive until the recording ends */
    test_ok(n <= 8 ? VKVIT_OK : VKVIT_ERROR_INVALID_ARGUMENT, "at most 8 shapes");
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_ok(vk_cmd_begin(cmd), "begin");
    for (size_t i = 0; i < n; i++) {
        const tcase *c = &cases[i];
        const VkDeviceSize es = dt == OP_F16 ? 2 : 4;
        uint64_t big = (uint64_t)c->batch * c->M * c->K + (uint64_t)c->N * c->K + (uint64_t)c->batch * c->M * c->N;
        vk_buffer b;
        test_ok(vk_buffer_create(ctx, big * es + 256, VK_MEM_DEVICE, &b), "buffer");
        bufs[i] = b;
        matmul_args a = {.batch = c->batch, .M = c->M, .N = c->N, .K = c->K, .epilogue = c->epi, .dtype = dt,
                         .x = vk_span_of(&b, 0, (VkDeviceSize)c->batch * c->M * c->K * es),
                         .w = vk_span_of(&b, 0, (VkDeviceSize)c->N * c->K * es),
                         .y = vk_span_of(&b, 0, (VkDeviceSize)c->batch * c->M * c->N * es)};
        a.bias = c->bias ? vk_span_of(&b, 0, c->N * es) : (vk_span){0};
        a.residual = c->epi == MATMUL_EPI_RESIDUAL ? a.y : (vk_span){0};
        test_ok(op_matmul(cmd, ctx, &a), "record");
        matmul_kernel k;
        test_ok(matmul_pick_kernel(ctx, dt, &k), "kernel");
        test_ok(matmul_choose_config(ctx, &a, k, c->K % 4 == 0, &chosen[i]), "config");
    }
    test_ok(vk_cmd_end(cmd), "end");
    vk_cmd_destroy(cmd);
    for (size_t i = 0; i < n; i++)
        vk_buffer_destroy(ctx, &bufs[i]);
}

static uint64_t runs_of(const vkvit_context *ctx) { return ctx->tune ? ctx->tune->runs_timed : 0; }
static uint32_t shapes_of(const vkvit_context *ctx) { return ctx->tune ? ctx->tune->shapes_timed : 0; }

/* One epilogue for all: on lavapipe every candidate configuration of every epilogue is a pipeline
 * compiled for seconds, and the keys differ by shape anyway (every_candidate covers the epilogues). */
static const tcase tune_cases[] = {
    {1, 64, 128, 64, MATMUL_EPI_NONE, true, false},
    {1, 33, 65, 17, MATMUL_EPI_NONE, true, false},
    {2, 19, 21, 16, MATMUL_EPI_NONE, true, false},
    {1, 64, 128, 64, MATMUL_EPI_NONE, true, false},   /* again: must not be timed twice */
};
#define N_TUNE (sizeof tune_cases / sizeof *tune_cases)
#define N_DISTINCT 3u
static const tcase planted_case = {1, 40, 72, 24, MATMUL_EPI_NONE, false, false};

/* Tunes tune_cases in a fresh directory; fills path (the tune file) and the chosen configurations. */
static void tune_first(const char *dir, char *path, size_t path_size, matmul_config *chosen)
{
    vkvit_context *a = context_at(dir, VKVIT_TUNE_ON);
    test_expect(a->tune && a->tune->path && strncmp(a->tune->path, dir, strlen(dir)) == 0,
                "tuning on: the tune file is in the pipeline cache's directory: %s", a->tune ? a->tune->path : "(none)");
    snprintf(path, path_size, "%s", a->tune && a->tune->path ? a->tune->path : "");
    record_shapes(a, tune_cases, N_TUNE, OP_F32, chosen);
    uint64_t runs = runs_of(a);
    test_expect(shapes_of(a) == N_DISTINCT && runs > 0, "first context timed %u shapes (want %u) in %llu submissions",
                shapes_of(a), N_DISTINCT, (unsigned long long)runs);
    record_shapes(a, tune_cases, N_TUNE, OP_F32, chosen);
    test_expect(runs_of(a) == runs, "recording the same shapes again times nothing (%llu more submissions)",
                (unsigned long long)(runs_of(a) - runs));
    test_expect(warning_count == 0, "no warnings while tuning (%s)", last_warning);
    context_done(a);

    char *text = test_read_file(path, NULL);
    uint32_t lines = 0;
    for (const char *p = text; p && (p = strstr(p, "\nmatmul.")); p++)
        lines++;
    test_expect(text && strncmp(text, "vkvit-tune 1 ", 13) == 0 && lines == N_DISTINCT,
                "the tune file has the header and %u entries (want %u)", lines, N_DISTINCT);
    printf("     tune file %s:\n%s", path, text ? text : "(unreadable)\n");
    free(text);
}

/* A later context with tuning on reads the winners back: same configurations, nothing timed. Also
 * a planted, non-default entry is used as written. */
static void read_back(const char *dir, const char *path, const matmul_config *chosen)
{
    vkvit_context *b = context_at(dir, VKVIT_TUNE_ON);
    matmul_config got[N_TUNE];
    record_shapes(b, tune_cases, N_TUNE, OP_F32, got);
    bool all = true;
    for (size_t i = 0; i < N_TUNE; i++)
        all = all && same(&got[i], &chosen[i]);
    test_expect(all && runs_of(b) == 0 && shapes_of(b) == 0,
                "second context: the same %zu configurations, %llu timing submissions (want 0)", N_TUNE,
                (unsigned long long)runs_of(b));
    /* Plant the last valid candidate (not the default) for a shape nobody tuned. */
    matmul_device d = matmul_device_of(b);
    matmul_kernel k;
    test_ok(matmul_pick_kernel(b, OP_F32, &k), "kernel");
    matmul_shape s = {planted_case.batch, planted_case.M, planted_case.N, planted_case.K};
    matmul_config cand[MATMUL_MAX_CANDIDATES];
    uint32_t n = matmul_candidates(&d, k, &s, cand, MATMUL_MAX_CANDIDATES);
    context_done(b);
    char line[160];
    const matmul_config *p = &cand[n - 1];
    snprintf(line, sizeof line, "matmul.%s.f32.v4.b1.40x72x24.none %u %u %u %u %u 1234\n", matmul_kernel_names[k],
             p->wg_x, p->wg_y, p->tm, p->tn, p->bk);
    FILE *f = fopen(path, "a");
    test_ok(f && fputs(line, f) >= 0 && fclose(f) == 0 ? VKVIT_OK : VKVIT_ERROR_IO, "planting an entry");

    vkvit_context *c = context_at(dir, VKVIT_TUNE_AUTO);
    matmul_config planted;
    record_shapes(c, &planted_case, 1, OP_F32, &planted);
    test_expect(n > 1 && same(&planted, p) && runs_of(c) == 0 && warning_count == 0,
                "a planted entry is used as written: %s (want %s), nothing timed", cfg_text(&planted), cfg_text(p));
    context_done(c);

    vkvit_context *off = context_at(dir, VKVIT_TUNE_OFF);
    record_shapes(off, &planted_case, 1, OP_F32, &planted);
    matmul_config def = matmul_default_config(&d, k, &s);
    test_expect(!off->tune && same(&planted, &def), "tuning off (VKVIT_TUNE_OFF): the default %s, no tune table", cfg_text(&planted));
    context_done(off);
}

/* VKVIT_TUNE decides where the option is 0; "" persists nothing. */
static void modes(const char *dir)
{
    setenv("VKVIT_TUNE", "1", 1);
    vkvit_context *c = context_at(dir, VKVIT_TUNE_AUTO);
    test_expect(c->tune_mode == VKVIT_TUNE_ON, "VKVIT_TUNE=1 turns tuning on (%d)", c->tune_mode);
    context_done(c);
    setenv("VKVIT_TUNE", "0", 1);
    c = context_at(dir, VKVIT_TUNE_AUTO);
    test_expect(c->tune_mode == VKVIT_TUNE_OFF && !c->tune, "VKVIT_TUNE=0 turns it off (%d)", c->tune_mode);
    context_done(c);
    c = context_at(dir, VKVIT_TUNE_ON);
    test_expect(c->tune_mode == VKVIT_TUNE_ON, "the option wins over VKVIT_TUNE (%d)", c->tune_mode);
    context_done(c);
    unsetenv("VKVIT_TUNE");

    c = context_at("", VKVIT_TUNE_ON);
    matmul_config got;
    record_shapes(c, &planted_case, 1, OP_F32, &got);
    test_expect(c->tune && !c->tune->path && shapes_of(c) == 1,
                "pipeline_cache_dir \"\": tuned in memory (%u shape), no tune file", shapes_of(c));
    context_done(c);
}

/* ---- 4. bad tune files ------------------------------------------------------------------------------------------ */

static void bad_files(const char *dir, const char *path)
{
    char *good = test_read_file(path, NULL);
    char header[160] = "", other[160], line[1200];
    const char *eol = good ? strchr(good, '\n') : NULL;
    if (eol && (size_t)(eol - good) < sizeof header)
        memcpy(header, good, (size_t)(eol - good)), header[eol - good] = '\0';
    test_expect(header[0] != '\0', "read the tune file's header: %s", header);

    static char text[(1 << 20) + 4096];
    unsigned char noise[2048];
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)test_uniform(&rng, 0, 256);
    struct {
        const char *what, *body;   /* body after the header line (NULL: the whole file is `text`) */
        size_t size;
    } cases[] = {
        {"binary noise", NULL, sizeof noise},
        {"empty", NULL, 0},
        {"truncated header", NULL, 8},
        {"another device", "", 0},
        {"another driver", "", 0},
        {"format version 2", "", 0},
        {"a value past 32 bits", "matmul.direct.f32.v4.b1.40x72x24.none 8 1 16 16 4 99999999999\n", 0},
        {"nine values", "matmul.x 1 2 3 4 5 6 7 8 9\n", 0},
        {"a negative value", "matmul.x 8 1 16 -16 4 1\n", 0},
        {"not a number", "matmul.x 8 1 16 sixteen 4 1\n", 0},
        {"a key without values", "matmul.x\n", 0},
        {"a 200-character key", NULL, 0},
        {"over 1 MiB", NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = 0;
        if (i == 0)
            memcpy(text, noise, n = sizeof noise);
        else if (i <= 2)
            memcpy(text, header, n = cases[i].size);
        else if (i <= 5) {
            snprintf(other, sizeof other, "%s", header);
            char *uuid = strchr(other + 13, ' ') - 1, *drv = strrchr(other, ' ') + 1;
            if (i == 3)
                *uuid = *uuid == '0' ? '1' : '0';
            else if (i == 4)
                snprintf(drv, 16, "%u", (unsigned)strtoul(drv, NULL, 10) + 1);
            else
                other[11] = '2';
            n = (size_t)snprintf(text, sizeof text, "%s\n", other);
        } else if (cases[i].body)
            n = (size_t)snprintf(text, sizeof text, "%s\n%s", header, cases[i].body);
        else if (i == 11) {
            memset(line, 'k', 200);
            line[200] = '\0';
            n = (size_t)snprintf(text, sizeof text, "%s\n%s 1 2 3\n", header, line);
        } else {
            n = (size_t)snprintf(text, sizeof text, "%s\n", header);
            while (n < (1u << 20) + 100)
                n += (size_t)snprintf(text + n, sizeof text - n, "# padding padding padding padding padding\n");
        }
        test_write_file(path, text, n);
        vkvit_context *c = context_at(dir, VKVIT_TUNE_AUTO);
        matmul_config got;
        record_shapes(c, &planted_case, 1, OP_F32, &got);
        matmul_device d = matmul_device_of(c);
        matmul_shape s = {planted_case.batch, planted_case.M, planted_case.N, planted_case.K};
        matmul_kernel k;
        test_ok(matmul_pick_kernel(c, OP_F32, &k), "kernel");
        matmul_config def = matmul_default_config(&d, k, &s);
        test_expect(warning_count >= 1 && strstr(last_warning, path) && strstr(last_warning, "ignoring") &&
                        same(&got, &def) && runs_of(c) == 0,
                    "tune file with %s: ignored with a warning (\"%s\"), the default used", cases[i].what, last_warning);
        context_done(c);
    }

    /* A stale entry (a configuration this device cannot run): a warning, the default, and a tuning
     * context times the shape again and replaces the entry; after that, no more warnings. */
    size_t n = (size_t)snprintf(text, sizeof text, "%s\nmatmul.direct.f32.v4.b1.40x72x24.none 8 1 12 16 4 1\n"
                                "matmul.tiled.f32.v4.b1.40x72x24.none 16 16 4 4 6 1\n", header);
    test_write_file(path, text, n);
    vkvit_context *c = context_at(dir, VKVIT_TUNE_ON);
    matmul_config got;
    record_shapes(c, &planted_case, 1, OP_F32, &got);
    test_expect(warning_count == 1 && strstr(last_warning, "not usable") && shapes_of(c) == 1,
                "a stale entry: warned (\"%s\") and timed again (%u shape)", last_warning, shapes_of(c));
    context_done(c);
    c = context_at(dir, VKVIT_TUNE_AUTO);
    record_shapes(c, &planted_case, 1, OP_F32, &got);
    test_expect(warning_count == 0 && runs_of(c) == 0, "the re-tuned file reads without warnings (%s)", last_warning);
    context_done(c);

    /* Random damage to a valid file (bytes replaced, lines cut short, digits added): never a crash
     * (ASan builds run this too), and whatever is chosen is valid on the device. */
    char *valid = test_read_file(path, NULL);
    size_t vn = valid ? strlen(valid) : 0;
    bool all_valid = vn > 0;
    for (int m = 0; m < 24 && vn; m++) {
        memcpy(text, valid, vn);
        size_t n = vn, at = (size_t)test_uniform(&rng, 0, (float)vn);
        at = at < vn ? at : vn - 1;
        if (m % 3 == 0)
            text[at] = (char)(int)test_uniform(&rng, 0, 256);
        else if (m % 3 == 1)
            n = at;
        else
            n = at + (size_t)snprintf(text + at, sizeof text - at, "%u%s", (unsigned)test_uniform(&rng, 0, 4e9f),
                                      valid + at);
        test_write_file(path, text, n);
        c = context_at(dir, VKVIT_TUNE_AUTO);
        record_shapes(c, &planted_case, 1, OP_F32, &got);
        matmul_device d = matmul_device_of(c);
        all_valid = all_valid && !matmul_config_invalid(&d, &got) && runs_of(c) == 0;
        context_done(c);
    }
    test_expect(all_valid, "24 randomly damaged tune files: no crash, only valid configurations chosen");
    free(valid);

    /* Noise again, then a tuning run: the file is replaced by a valid one. */
    test_write_file(path, noise, sizeof noise);
    c = context_at(dir, VKVIT_TUNE_ON);
    record_shapes(c, &planted_case, 1, OP_F32, &got);
    context_done(c);
    c = context_at(dir, VKVIT_TUNE_AUTO);
    record_shapes(c, &planted_case, 1, OP_F32, &got);
    test_expect(warning_count == 0 && runs_of(c) == 0, "a corrupt file is replaced by the next tuning run (%s)",
                last_warning);
    context_done(c);
    free(good);
}

/* Usage: test_tune [candidates|file]: the device classes and every candidate against the C reference
 * (slow on lavapipe: a pipeline each), or the tuner and its file; both by default. CI's sanitizer
 * stage runs only the second (the host code: parsing, writing), the first runs in the normal stage. */
int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "";
    const bool candidates = !*part || !strcmp(part, "candidates"), file = !*part || !strcmp(part, "file");
    unsetenv("VKVIT_TUNE");
    unsetenv("VKVIT_MATMUL");
    vkvit_context *ctx = test_context();
    if (!candidates && !file) {
        fprintf(stderr, "usage: %s [candidates|file]\n", argv[0]);
        return 2;
    }
    if (candidates) {
        device_classes();
        uint64_t rng = test_seed();
        every_candidate(ctx, &rng);
    }
    if (!file)
        return test_finish(ctx);

    const char *dir = test_temp_dir("test-tune");   /* removed at exit */
    char path[1024];
    matmul_config chosen[N_TUNE];
    tune_first(dir, path, sizeof path, chosen);
    read_back(dir, path, chosen);
    modes(dir);
    bad_files(dir, path);
    return test_finish(ctx);
}
