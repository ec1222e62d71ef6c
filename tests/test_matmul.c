/* matmul (both kernels: tiled and direct) against the double-precision reference: ViT-B shapes,
 * awkward shapes, every epilogue, in-place residual, batches with shared and per-batch weights,
 * padded batch strides and offset spans; plus argument validation.
 * fp16 (dtype OP_F16) on both kernels: ViT-B shapes and awkward shapes, every epilogue, against the
 * same reference computed from the fp16-rounded inputs, at TOL_F16; the same through the
 * cooperative-matrix kernel where the device has one, else the fallback (coopmat_section).
 * A forced kernel the device cannot run is reported as not run, by name, with the reason.
 * The normalised input (norm_x, the fused LayerNorm: docs/fusion.md) on every kernel, fp32 and fp16:
 * rows whose mean (50..150) is large compared with their spread (uniform +-1), against ref_layernorm
 * (gamma 1, beta 0) then ref_matmul, at ViT shapes and awkward ones (M 1, 7, 197; K 1, 3, 5, 17, ...;
 * batches with padded strides); and the fold (model_fold_layernorm: real gamma and beta folded into W
 * and b) against LayerNorm-then-matmul with the unfolded weights (norm_cases).
 *
 * VKVIT_MATMUL_BENCH=1 instead times the ViT-B shapes on both kernels and prints GFLOP/s. */
#include "common.h"
#include "model.h"
#include "ops/ops.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct mm_case {
    uint32_t batch, M, N, K;
    matmul_epilogue epi;
    bool bias;
    bool in_place;       /* RESIDUAL with the residual span == the y span */
    bool w_batched;      /* per-batch weights (w_stride != 0) */
    uint32_t x_pad, w_pad, y_pad;   /* extra elements between batches */
    uint32_t offset;     /* byte offset of every span in its buffer */
    bool norm;           /* norm_x: X's rows normalised by the op (LN0), rows with large means */
    bool fold;           /* norm + random gamma, beta folded into W and bias (needs bias, shared W) */
} mm_case;

/* Table rows: MM(batch, M, N, K, epilogue: NONE, GELU, GTANH (tanh GELU), RES, TANH or QGELU (quick GELU))
 * then the designated options. */
#define MM(b, m, n, k, e) .batch = (b), .M = (m), .N = (n), .K = (k), .epi = (matmul_epilogue)EPI_##e
enum { EPI_NONE = MATMUL_EPI_NONE, EPI_GELU = MATMUL_EPI_GELU, EPI_GTANH = MATMUL_EPI_GELU_TANH,
       EPI_RES = MATMUL_EPI_RESIDUAL, EPI_TANH = MATMUL_EPI_TANH, EPI_QGELU = MATMUL_EPI_QUICK_GELU };

#define NORM_EPS 1e-6f   /* norm_x's epsilon (timm's LayerNorm eps) */

static const char *const epi_names[] = {"none", "gelu", "gelu_tanh", "residual", "tanh", "quick_gelu"};

/* ViT-B/16 (T = 197, D = 768, MLP 3072) on the path the device picks: QKV, attention output
 * (+= x in place), MLP up (GELU), MLP down (+= x in place); batch 3 on QKV only (the reference
 * is the slow part); the pre-logits layer of the ImageNet-21k models (tanh, 7 images). */
static const mm_case vit[] = {
    {MM(1, 197, 2304, 768, NONE), .bias = true},
    {MM(1, 197, 768, 768, RES), .bias = true, .in_place = true},
    {MM(1, 197, 3072, 768, GELU), .bias = true},
    {MM(1, 197, 768, 3072, RES), .bias = true, .in_place = true},
    {MM(3, 197, 2304, 768, NONE), .bias = true},
    {MM(1, 7, 768, 768, TANH), .bias = true},
    {MM(1, 50, 3072, 768, QGELU), .bias = true}, /* OpenAI CLIP ViT-B/32's MLP up */
};
/* One big shape through each kernel explicitly. */
static const mm_case big = {MM(1, 197, 3072, 768, GTANH), .bias = true};

/* Awkward shapes: non-multiples of every tile (direct 16 x 8*16, k by 4; tiled 64 x 64, k by 16),
 * K below 4 and not a multiple of 4 (scalar loads), M = 1 (a classifier head), tiny N. */
static const mm_case odd[] = {
    {MM(1, 1, 1, 1, NONE)},
    {MM(1, 7, 13, 5, GELU), .bias = true},
    {MM(1, 33, 65, 17, GTANH), .bias = true},
    {MM(1, 65, 63, 31, RES), .bias = true},
    {MM(1, 9, 10, 1, NONE), .bias = true},
    {MM(1, 9, 10, 2, GELU)},
    {MM(1, 9, 10, 3, RES), .bias = true, .in_place = true},
    {MM(1, 9, 10, 5, NONE)},
    {MM(1, 17, 200, 4, GTANH), .bias = true},
    {MM(1, 129, 257, 68, RES), .bias = true, .in_place = true},
    {MM(1, 1, 1000, 768, NONE), .bias = true},
    {MM(1, 197, 3, 64, GELU), .bias = true},
    {MM(1, 64, 128, 64, NONE)},
    {MM(1, 64, 128, 64, GELU), .bias = true},
    {MM(1, 64, 128, 64, GTANH), .bias = true},
    {MM(1, 64, 128, 64, RES), .bias = true},
    {MM(1, 64, 128, 64, RES), .in_place = true},
    /* batched: shared W (w_stride 0), per-batch W, odd K per batch, padded strides and offset
     * spans (vec4 loads kept: pads multiple of 4), padding that forces scalar loads */
    {MM(3, 17, 33, 20, GELU), .bias = true},
    {MM(2, 31, 45, 12, RES), .bias = true, .in_place = true, .w_batched = true},
    {MM(3, 5, 7, 9, NONE), .w_batched = true},
    {MM(2, 19, 21, 16, GTANH), .bias = true, .w_batched = true, .x_pad = 4, .w_pad = 8, .y_pad = 3, .offset = 256},
    {MM(2, 19, 21, 16, RES), .bias = true, .w_batched = true, .x_pad = 1, .w_pad = 1, .y_pad = 5},
    {MM(4, 3, 130, 8, RES), .in_place = true, .y_pad = 2, .offset = 256},
    /* tanh (pre-logits): R != D at batch 1; K = 2 and 3 keep |x.w| below 1 (the series near 0);
     * K = 3072 takes it past 44, where exp(2x) overflows (saturation, never NaN); one row per image
     * read from a strided x, as a distilled backbone's class tokens are ([cls | dist] rows) */
    {MM(1, 1, 40, 48, TANH), .bias = true},
    {MM(1, 65, 63, 2, TANH), .bias = true},
    {MM(1, 13, 7, 3, TANH)},
    {MM(1, 5, 300, 3072, TANH), .bias = true},
    {MM(3, 1, 40, 48, TANH), .bias = true, .x_pad = 48},
    /* quick GELU (OpenAI CLIP): odd shapes, large |z| at K = 3072 (the tails: z and -0), batched with padded
     * strides */
    {MM(1, 7, 13, 5, QGELU), .bias = true},
    {MM(1, 33, 65, 17, QGELU)},
    {MM(1, 5, 300, 3072, QGELU), .bias = true},
    {MM(2, 19, 21, 16, QGELU), .bias = true, .w_batched = true, .x_pad = 4, .w_pad = 8, .y_pad = 3, .offset = 256},
};

/* fp16, every kernel: ViT-B QKV and MLP down (+= x in place), then awkward shapes as in the fp32 table:
 * K below 4 and odd (scalar loads), odd N, non-multiples of every tile, batches, offset spans (vec4 and
 * scalar). */
static const mm_case cases_f16[] = {
    {MM(1, 197, 2304, 768, NONE), .bias = true},
    {MM(1, 197, 768, 3072, RES), .bias = true, .in_place = true},
    {MM(1, 1, 1, 1, NONE)},
    {MM(1, 7, 13, 5, GELU), .bias = true},
    {MM(1, 33, 65, 17, GTANH), .bias = true},
    {MM(1, 65, 63, 31, RES), .bias = true},
    {MM(1, 9, 11, 3, RES), .bias = true, .in_place = true},
    {MM(1, 9, 7, 2, GELU)},
    {MM(1, 17, 201, 4, GTANH), .bias = true},
    {MM(1, 129, 257, 68, RES), .bias = true, .in_place = true},
    {MM(1, 64, 128, 64, NONE), .bias = true},
    {MM(1, 64, 128, 64, GELU), .bias = true},
    {MM(3, 17, 33, 20, GELU), .bias = true, .offset = 256},
    {MM(2, 5, 7, 9, RES), .bias = true, .in_place = true, .offset = 256},
    {MM(1, 7, 768, 768, TANH), .bias = true},
    {MM(1, 13, 40, 3, TANH), .bias = true},
    {MM(1, 5, 300, 3072, TANH)},
    {MM(1, 13, 40, 3, QGELU), .bias = true},
    {MM(1, 33, 65, 17, QGELU)},
    {MM(1, 5, 300, 3072, QGELU), .bias = true},
};

/* coopmat only: shapes past 1,024 rows (its large blocks). */
static const mm_case large_f16[] = {
    {MM(1, 1576, 768, 768, RES), .bias = true, .in_place = true},   /* ViT-B batch 8 */
    {MM(1, 591, 2304, 768, NONE), .bias = true},                    /* ViT-B QKV, batch 3 as rows */
    {MM(3, 197, 2304, 768, GELU), .bias = true},                    /* ... and as a batch */
    {MM(1, 1100, 33, 17, GTANH), .bias = true},                      /* scalar loads */
    {MM(2, 600, 72, 40, GELU), .bias = true, .offset = 256},
    {MM(1, 1025, 130, 8, NONE)},
};

/* The normalised input (norm_x), every kernel and dtype: ViT-S/16's QKV and fc1 at batch 1 (shapes the fused
 * LayerNorm runs at; ViT-B's QKV, norm_vit_b, on the fp32 kernels only: emulated cooperative matrices make it
 * slow on lavapipe); awkward shapes: K = 1 (every row normalises to 0: Y = bias), 3
 * and 5 (scalar loads, k past K within one vec4), non-multiples of every tile and k stage, M = 1 and 7,
 * batches with padded strides and offset spans; and the fold with real gamma and beta. */
static const mm_case norm_vit_b = {MM(1, 197, 2304, 768, NONE), .bias = true, .norm = true};
static const mm_case norm_cases[] = {
    {MM(1, 197, 1152, 384, NONE), .bias = true, .norm = true},
    {MM(1, 197, 1536, 384, GELU), .bias = true, .norm = true, .fold = true},
    {MM(1, 1, 1, 1, NONE), .bias = true, .norm = true},
    {MM(1, 7, 13, 3, GELU), .bias = true, .norm = true},
    {MM(1, 7, 13, 5, NONE), .norm = true},
    {MM(1, 197, 65, 17, GTANH), .bias = true, .norm = true},
    {MM(1, 33, 65, 31, RES), .bias = true, .norm = true},
    {MM(1, 65, 63, 68, NONE), .bias = true, .norm = true},
    {MM(1, 129, 257, 20, QGELU), .bias = true, .norm = true, .fold = true},
    {MM(1, 1, 130, 768, NONE), .bias = true, .norm = true, .fold = true},
    {MM(1, 7, 40, 3, TANH), .bias = true, .norm = true, .fold = true},
    {MM(2, 19, 21, 16, RES), .bias = true, .norm = true, .in_place = true, .x_pad = 4, .y_pad = 3, .offset = 256},
    {MM(3, 17, 33, 9, GELU), .bias = true, .norm = true, .x_pad = 1, .w_batched = true},
};

/* VKVIT_MATMUL as the context read it at creation: what op_matmul obeys. */
static void set_path(vkvit_context *ctx, const char *path)
{
    snprintf(ctx->matmul_force, sizeof ctx->matmul_force, "%s", path);
}

/* Whether the forced kernel `path` runs `dtype` on this device. One it cannot run (the direct kernel
 * wants 4 to 16 lanes, NVIDIA has 32; coopmat wants VK_NV_cooperative_matrix) is refused by op_matmul
 * with UNSUPPORTED: say so, rather than let test_run abort the whole test. */
static bool path_runs(vkvit_context *ctx, const char *path, op_dtype dtype)
{
    set_path(ctx, path);
    if (op_matmul_kernel(ctx, dtype))
        return true;
    printf("%s %s: not run on this device: %s\n", dtype == OP_F16 ? "fp16" : "fp32", path, vkvit_last_error());
    return false;
}

/* A device buffer of `offset` bytes + n elements of `t`, poisoned, with `data` (if any; for fp16
 * already fp16-exact, converted to halves) at `offset`. */
static vk_buffer upload_at(vkvit_context *ctx, op_dtype t, const float *data, size_t n, uint32_t offset)
{
    if (t == OP_F32) {
        vk_buffer b = test_poisoned(ctx, t, offset / sizeof(float) + n);
        if (data)
            test_ok(vk_buffer_write(ctx, &b, offset, data, n * sizeof(float)), "upload");
        return b;
    }
    vk_buffer b = test_poisoned(ctx, t, offset / 2 + n + 1);   /* +1: the poison fills whole words */
    if (data) {
        uint16_t *h = malloc(n * sizeof *h);
        if (!h)
            abort();
        for (size_t i = 0; i < n; i++)
            h[i] = test_f32_to_f16(data[i]);
        test_ok(vk_buffer_write(ctx, &b, offset, h, n * sizeof *h), "upload fp16");
        free(h);
    }
    return b;
}

/* n elements of `t` at `offset` of b, as floats. */
static void download_at(vkvit_context *ctx, op_dtype t, vk_buffer *b, uint32_t offset, float *out, size_t n)
{
    if (t == OP_F32) {
        test_ok(vk_buffer_read(ctx, b, offset, out, n * sizeof(float)), "download");
        return;
    }
    uint16_t *h = malloc(n * sizeof *h);
    if (!h)
        abort();
    test_ok(vk_buffer_read(ctx, b, offset, h, n * sizeof *h), "download fp16");
    for (size_t i = 0; i < n; i++)
        out[i] = test_f16_to_f32(h[i]);
    free(h);
}

/* One case through kernel `path` in `t`. fp16 (every tensor in halves, packed batch strides and shared W
 * in the tables): the inputs are rounded to fp16 first, so the double reference starts from the values
 * the GPU sees; the only fp16 rounding it does not model is the one at the store (relative 2^-11 at
 * most), hence TOL_F16. */
static void run_case(vkvit_context *ctx, const mm_case *c, op_dtype t, const char *path, uint64_t *rng)
{
    const bool f16 = t == OP_F16;
    const VkDeviceSize es = f16 ? 2 : sizeof(float);
    const uint32_t B = c->batch, M = c->M, N = c->N, K = c->K;
    const size_t xs = (size_t)M * K + c->x_pad, ys = (size_t)M * N + c->y_pad;
    const size_t ws = c->w_batched ? (size_t)N * K + c->w_pad : 0;
    const size_t nx = (B - 1) * xs + (size_t)M * K, nw = (B - 1) * ws + (size_t)N * K;
    const size_t ny = (B - 1) * ys + (size_t)M * N;
    const bool residual = c->epi == MATMUL_EPI_RESIDUAL;

    float *x = test_alloc(nx), *w = test_alloc(nw), *bias = test_alloc(N), *r = test_alloc(ny);
    float *ref = test_alloc(ny), *out = test_alloc(ny);
    test_fill(x, nx, rng, -1.0f, 1.0f);
    test_fill(w, nw, rng, -1.0f, 1.0f);
    test_fill(bias, N, rng, -1.0f, 1.0f);
    test_fill(r, ny, rng, -4.0f, 4.0f);
    for (size_t row = 0; c->norm && row < nx / K; row++) {   /* norm_x: each row's mean in 50..150 */
        const float mean = test_uniform(rng, 50.0f, 150.0f);
        for (uint32_t k = 0; k < K; k++)
            x[row * K + k] += mean;
    }
    if (f16)
        test_round_f16(x, nx), test_round_f16(w, nw), test_round_f16(bias, N), test_round_f16(r, ny);

    /* norm_x: the reference input is the LayerNorm of x (gamma 1, beta 0; with fold, random gamma and beta,
     * folded into the weights the GPU gets: gw, gbias). */
    float *h = c->norm ? test_alloc(nx) : NULL, *gamma = test_alloc(K), *beta = test_alloc(K);
    float *gw = c->fold ? test_alloc(nw) : NULL, *gbias = c->fold ? test_alloc(N) : NULL;
    for (uint32_t k = 0; k < K; k++) {
        gamma[k] = c->fold ? test_uniform(rng, 0.5f, 1.5f) : 1.0f;
        beta[k] = c->fold ? test_uniform(rng, -0.5f, 0.5f) : 0.0f;
    }
    for (uint32_t b = 0; c->norm && b < B; b++)
        ref_layernorm(x + b * xs, gamma, beta, h + b * xs, M, K, NORM_EPS);
    if (c->fold)
        model_fold_layernorm(N, K, gamma, beta, w, bias, gw, gbias);
    const float *xr = c->norm ? h : x;

    /* The reference batch by batch, so padded strides need no repacking. Padding in y keeps
     * whatever the GPU buffer starts with (NaN, or r when in place): checked below. */
    memcpy(ref, r, ny * sizeof(float));
    for (uint32_t b = 0; b < B; b++)
        ref_matmul(xr + b * xs, w + b * ws, 0, c->bias ? bias : NULL, residual ? r + b * ys : NULL,
                   ref + b * ys, 1, M, N, K, c->epi);

    uint32_t off = c->offset;
    vk_buffer bx = upload_at(ctx, t, x, nx, off), bw = upload_at(ctx, t, c->fold ? gw : w, nw, off);
    vk_buffer bb = upload_at(ctx, t, c->fold ? gbias : bias, N, off);
    vk_buffer by = upload_at(ctx, t, c->in_place ? r : NULL, ny, off);
    vk_buffer br = upload_at(ctx, t, residual && !c->in_place ? r : NULL, ny, off);
    matmul_args a = {
        .batch = B, .M = M, .N = N, .K = K,
        .x_stride = c->x_pad ? (uint32_t)xs : 0,
        .w_stride = (uint32_t)ws,
        .y_stride = c->y_pad ? (uint32_t)ys : 0,
        .x = vk_span_of(&bx, off, nx * es), .w = vk_span_of(&bw, off, nw * es),
        .bias = c->bias ? vk_span_of(&bb, off, N * es) : (vk_span){0},
        .y = vk_span_of(&by, off, ny * es),
        .epilogue = c->epi,
        .dtype = t,
        .norm_x = c->norm,
        .norm_eps = NORM_EPS,
    };
    if (residual)
        a.residual = c->in_place ? a.y : vk_span_of(&br, off, ny * es);
    set_path(ctx, path);
    test_run(ctx, test_record_matmul, &a);
    download_at(ctx, t, &by, off, out, ny);

    /* Compare the M x N blocks; the padding between them must be untouched (bitwise). */
    size_t n_valid = (size_t)B * M * N, pad_bad = 0;
    float *got = test_alloc(n_valid), *want = test_alloc(n_valid);
    for (uint32_t b = 0; b < B; b++) {
        memcpy(got + (size_t)b * M * N, out + b * ys, (size_t)M * N * sizeof(float));
        memcpy(want + (size_t)b * M * N, ref + b * ys, (size_t)M * N * sizeof(float));
        for (size_t i = (size_t)M * N; b + 1 < B && i < ys; i++) {
            uint32_t u, v = 0x7fc00000u;
            memcpy(&u, out + b * ys + i, 4);
            if (c->in_place)
                memcpy(&v, r + b * ys + i, 4);
            pad_bad += u != v;
        }
    }
    char name[160];
    snprintf(name, sizeof name, "%s%-6s b=%u %ux%ux%u (MxNxK) %s%s%s%s%s%s%s", f16 ? "fp16 " : "", path, B, M, N,
             K, c->fold ? "layernorm(folded) " : c->norm ? "normalised-x " : "", epi_names[c->epi],
             c->in_place ? " in-place" : "", c->bias ? " +bias" : "",
             c->w_batched ? " per-batch-W" : "", c->x_pad || c->y_pad || c->w_pad ? " padded" : "",
             off ? " offset" : "");
    test_check(name, got, want, n_valid, f16 ? TOL_F16 : TOL_F32);
    if (B > 1 && c->y_pad)
        test_expect(pad_bad == 0, "%s: padding between output batches untouched (%zu changed)", name, pad_bad);

    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &bw);
    vk_buffer_destroy(ctx, &bb);
    vk_buffer_destroy(ctx, &by);
    vk_buffer_destroy(ctx, &br);
    free(x), free(w), free(bias), free(r), free(ref), free(out), free(got), free(want);
    free(h), free(gamma), free(beta), free(gw), free(gbias);
}

/* Records (never submits) a 4x4x4 fp16 matmul and returns op_matmul's status: for the refusals. */
static vkvit_status record_f16_4x4(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 64);
    const matmul_args a = {.batch = 1, .M = 4, .N = 4, .K = 4, .x = vk_whole(&b), .w = vk_whole(&b),
                           .y = vk_whole(&b), .dtype = OP_F16};
    vkvit_status st = test_record_status(ctx, test_record_matmul, &a);
    vk_buffer_destroy(ctx, &b);
    return st;
}

/* The coopmat choice on shape lists this device may not have: the context's list is swapped for each
 * check and restored (nothing is recorded, so no coopmat pipeline is ever made here). */
static void check_coopmat_choice(vkvit_context *ctx)
{
    uint32_t saved[VKVIT_MAX_COOPMAT_SHAPES][3], n = ctx->coopmat_shape_count, shared = ctx->info.max_shared_memory;
    const char *off = ctx->coopmat_off;
    memcpy(saved, ctx->coopmat_shapes, sizeof saved);
    struct {
        const char *what;
        uint32_t shapes[2][3], n, shared;
        const char *want_auto, *want_forced_error;   /* forced: NULL = accepted */
    } cases[] = {
        {"16x16x16", {{16, 16, 16}}, 1, 49152, "coopmat", NULL},
        {"16x8x16 and 16x8x8", {{16, 8, 8}, {16, 8, 16}}, 2, 49152, "coopmat", NULL},
        {"only 24x8x16 (M does not divide 32)", {{24, 8, 16}}, 1, 49152, NULL, "dividing 32"},
        /* 16 KiB holds the 64 x 64 blocks (14 KiB with 8 lanes) but not the 128 x 128 ones: those fall back */
        {"16x16x16, 16 KiB of shared memory", {{16, 16, 16}}, 1, 16384, "coopmat", NULL},
        {"16x16x16, 8 KiB of shared memory", {{16, 16, 16}}, 1, 8192, NULL, "shared-memory"},
    };
    /* As this device, and as a discrete GPU (auto picks coopmat on GPUs, never on CPU devices, whose
     * cooperative matrices are emulated; the scalar choice is the one auto makes for fp32). */
    const vkvit_device_type real = ctx->info.type;
    const vkvit_device_type types[] = {real, VKVIT_DEVICE_DISCRETE_GPU};
    for (size_t t = 0; t < 2; t++) {
        ctx->info.type = types[t];
        const bool cpu = types[t] == VKVIT_DEVICE_CPU;
        set_path(ctx, "auto");
        const char *scalar = op_matmul_kernel(ctx, OP_F32);
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            memcpy(ctx->coopmat_shapes, cases[i].shapes, sizeof cases[i].shapes);
            ctx->coopmat_shape_count = cases[i].n;
            ctx->coopmat_off = NULL;
            ctx->info.max_shared_memory = cases[i].shared;
            set_path(ctx, "auto");
            const char *got = op_matmul_kernel(ctx, OP_F16);
            const char *want = cases[i].want_auto && !cpu ? cases[i].want_auto : scalar;
            test_expect(got && strcmp(got, want) == 0, "coopmat choice on a %s, %s: auto picks %s (want %s)",
                        vkvit_device_type_string(types[t]), cases[i].what, got, want);
            set_path(ctx, "coopmat");
            got = op_matmul_kernel(ctx, OP_F16);
            const char *err = cases[i].want_forced_error;
            test_expect(err ? !got && strstr(vkvit_last_error(), err) : got && strcmp(got, "coopmat") == 0,
                        "coopmat choice on a %s, %s: forced gives %s \"%s\"", vkvit_device_type_string(types[t]),
                        cases[i].what, got ? got : "refusal", got ? "" : vkvit_last_error());
        }
    }
    ctx->info.type = real;
    memcpy(ctx->coopmat_shapes, saved, sizeof saved);
    ctx->coopmat_shape_count = n;
    ctx->coopmat_off = off;
    ctx->info.max_shared_memory = shared;
    set_path(ctx, "auto");
}

/* The cooperative-matrix kernel (fp16 only). Where the context can run it: the fp16 cases through it
 * at TOL_F16, plus shapes past 1,024 rows (its large blocks), and auto must pick it. Where it cannot
 * (Debian 12's lavapipe, every device without a cooperative-matrix extension): prints that it did not
 * run and why (and fails where VKVIT_EXPECT_COOPMAT says it must run: test_expect_coopmat),
 * and checks the fallback: auto picks a scalar kernel whose results are right, and a forced
 * VKVIT_MATMUL=coopmat is refused with UNSUPPORTED naming the reason, never silently substituted. */
static void coopmat_section(vkvit_context *ctx, uint64_t *rng)
{
    set_path(ctx, "auto");
    const char *auto_f16 = op_matmul_kernel(ctx, OP_F16), *auto_f32 = op_matmul_kernel(ctx, OP_F32);
    check_coopmat_choice(ctx);
    set_path(ctx, "coopmat");
    test_expect(auto_f32 && strcmp(op_matmul_kernel(ctx, OP_F32), auto_f32) == 0,
                "VKVIT_MATMUL=coopmat leaves fp32 matmuls to the automatic choice (%s)", auto_f32);
    const bool runs = op_matmul_kernel(ctx, OP_F16) != NULL;
    test_expect_coopmat(ctx, runs);
    if (runs) {
        const vkvit_device_info *d = &ctx->info;
        printf("coopmat: running the %s kernel, fragment %ux%ux%u, %u-lane subgroups%s\n",
               ctx->coopmat_ext == VKVIT_COOPMAT_KHR ? "KHR" : "NV", d->coopmat_m, d->coopmat_n, d->coopmat_k,
               d->coopmat_subgroup_size, ctx->coopmat_subgroup_size ? " (pinned)" : "");
        if (ctx->info.type == VKVIT_DEVICE_CPU)
            test_expect(auto_f16 && strcmp(auto_f16, "coopmat") != 0, "auto leaves the emulated coopmat kernel of a "
                        "CPU device alone for fp16 (picked %s)", auto_f16);
        else
            test_expect(auto_f16 && strcmp(auto_f16, "coopmat") == 0, "auto picks coopmat for fp16 (picked %s)",
                        auto_f16);
        for (size_t i = 0; i < sizeof cases_f16 / sizeof *cases_f16; i++)
            run_case(ctx, &cases_f16[i], OP_F16, "coopmat", rng);
        for (size_t i = 0; i < sizeof large_f16 / sizeof *large_f16; i++)
            run_case(ctx, &large_f16[i], OP_F16, "coopmat", rng);
        for (size_t i = 0; i < sizeof norm_cases / sizeof *norm_cases; i++)
            run_case(ctx, &norm_cases[i], OP_F16, "coopmat", rng);
        /* Every epilogue, with and without bias, at batch 1 and 3, on shapes that are multiples of no
         * fragment (8, 16), block (32 .. 128) or k stage: 33 x 65 x 17 and 7 x 13 x 5. */
        for (uint32_t batch = 1; batch <= 3; batch += 2)
            for (int e = MATMUL_EPI_NONE; e <= MATMUL_EPI_QUICK_GELU; e++)
                for (int bias = 0; bias < 2; bias++) {
                    const mm_case c1 = {batch, 33, 65, 17, (matmul_epilogue)e, .bias = bias};
                    const mm_case c2 = {batch, 7, 13, 5, (matmul_epilogue)e, .bias = bias,
                                        .in_place = e == MATMUL_EPI_RESIDUAL && bias};
                    run_case(ctx, &c1, OP_F16, "coopmat", rng);
                    run_case(ctx, &c2, OP_F16, "coopmat", rng);
                }
        set_path(ctx, "auto");
        return;
    }
    const char *why = ctx->coopmat_off ? ctx->coopmat_off : "(no reason recorded)";
    printf("coopmat: NOT RUN, the cooperative-matrix kernel cannot run on this device: %s\n", why);
    test_expect((ctx->info.cooperative_matrix_nv || ctx->info.cooperative_matrix_khr) == !strstr(why, "has neither"),
                "a device without cooperative matrices says so, one with them says why not: \"%s\"", why);
    vkvit_status st = record_f16_4x4(ctx);
    const char *msg = vkvit_last_error();
    test_expect(st == VKVIT_ERROR_UNSUPPORTED && strncmp(msg, "matmul: VKVIT_MATMUL=coopmat", 28) == 0 &&
                strstr(msg, why), "forced coopmat is refused: %s \"%s\"", vkvit_status_string(st), msg);
    test_expect(auto_f16 && strcmp(auto_f16, "coopmat") != 0, "auto falls back to a scalar fp16 kernel (%s)",
                auto_f16);
    run_case(ctx, &cases_f16[0], OP_F16, "auto", rng);
    run_case(ctx, &cases_f16[1], OP_F16, "auto", rng);
}

/* The fp16 section. A device without shaderFloat16 + storageBuffer16BitAccess (ctx->info says so)
 * passes by printing "fp16: not supported by this device" after checking op_matmul refuses fp16 with
 * UNSUPPORTED. A device that has both features but a context without ctx->fp16 fails: the features
 * were not enabled, which would silently hide the fp16 path (lavapipe has both, so CI runs it all). */
static void fp16_section(vkvit_context *ctx, uint64_t *rng)
{
    if (!test_fp16(ctx)) {
        vkvit_status st = record_f16_4x4(ctx);
        test_expect(st == VKVIT_ERROR_UNSUPPORTED && strncmp(vkvit_last_error(), "matmul: fp16", 12) == 0,
                    "matmul refuses fp16 without ctx->fp16: %s \"%s\"", vkvit_status_string(st),
                    vkvit_last_error());
        printf("coopmat: NOT RUN, it needs the fp16 path\n");
        return;
    }
    const char *paths[] = {"direct", "tiled"};
    for (size_t p = 0; p < 2; p++)
        if (path_runs(ctx, paths[p], OP_F16)) {
            for (size_t i = 0; i < sizeof cases_f16 / sizeof *cases_f16; i++)
                run_case(ctx, &cases_f16[i], OP_F16, paths[p], rng);
            for (size_t i = 0; i < sizeof norm_cases / sizeof *norm_cases; i++)
                run_case(ctx, &norm_cases[i], OP_F16, paths[p], rng);
        }
    set_path(ctx, "auto");
    run_case(ctx, &cases_f16[3], OP_F16, "auto", rng);
    coopmat_section(ctx, rng);
}

/* Bad arguments fail before anything is recorded, with INVALID_ARGUMENT and a "matmul: " detail. */
static void check_errors(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 64);
    vk_span s = vk_whole(&b);
    const matmul_args good = {.batch = 1, .M = 4, .N = 4, .K = 4, .x = s, .w = s, .y = s};
    struct {
        const char *what;
        matmul_args a;
        const char *path;
    } bad[] = {
        {"M = 0", good, "auto"},
        {"x span too small", good, "auto"},
        {"bias span too small", good, "auto"},
        {"residual epilogue without residual", good, "auto"},
        {"residual span without residual epilogue", good, "auto"},
        {"unknown epilogue", good, "auto"},
        {"overlapping output batches", good, "auto"},
        {"VKVIT_MATMUL=bogus", good, "bogus"},
        {"fp16 x span too small (in halves)", good, "auto"},
        {"unknown dtype", good, "auto"},
        {"normalised X with eps 0", good, "auto"},
        {"normalised X with a NaN eps", good, "auto"},
    };
    bad[0].a.M = 0;
    bad[1].a.K = 17;
    bad[2].a.bias = vk_span_of(&b, 0, 12);
    bad[3].a.epilogue = MATMUL_EPI_RESIDUAL;
    bad[4].a.residual = s;
    bad[5].a.epilogue = (matmul_epilogue)7;
    bad[6].a.batch = 2, bad[6].a.M = 2, bad[6].a.y_stride = 3;
    /* 4x4 halves need 32 bytes (too small for fp32 too, where the device has no fp16) */
    bad[8].a.dtype = ctx->fp16 ? OP_F16 : OP_F32, bad[8].a.x = vk_span_of(&b, 0, 30);
    bad[9].a.dtype = (op_dtype)9;
    bad[10].a.norm_x = true;
    bad[11].a.norm_x = true, bad[11].a.norm_eps = NAN;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_path(ctx, bad[i].path);
        test_refuses(ctx, "matmul", test_record_matmul, &bad[i].a, bad[i].what, "matmul: ");
    }
    set_path(ctx, "auto");
    vk_buffer_destroy(ctx, &b);
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Times one matmul per ViT-B shape and kernel: best and median wall time of `reps` submits after a
 * warm-up, and the best process CPU time (all driver threads; on lavapipe it is robust to other
 * load on the machine, so GFLOP/s per core is also printed). */
static void bench(vkvit_context *ctx)
{
    static const uint32_t shapes[][3] = {{197, 2304, 768}, {197, 768, 768}, {197, 3072, 768},
                                         {197, 768, 3072}, {591, 2304, 768}, {591, 3072, 768}};
    const char *paths[] = {"direct", "tiled"};
    int reps = getenv("VKVIT_MATMUL_BENCH_REPS") ? atoi(getenv("VKVIT_MATMUL_BENCH_REPS")) : 10;
    if (reps < 1)
        reps = 1;
    uint64_t rng = 1;
    printf("%-7s %-16s %10s %10s %9s %12s\n", "kernel", "MxNxK", "best ms", "median ms", "GFLOP/s",
           "GFLOP/s/core");
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
            uint32_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
            float *x = test_alloc((size_t)M * K), *w = test_alloc((size_t)N * K), *bias = test_alloc(N);
            test_fill(x, (size_t)M * K, &rng, -1, 1);
            test_fill(w, (size_t)N * K, &rng, -1, 1);
            test_fill(bias, N, &rng, -1, 1);
            vk_buffer bx = test_upload(ctx, x, (size_t)M * K), bw = test_upload(ctx, w, (size_t)N * K);
            vk_buffer bb = test_upload(ctx, bias, N), by = test_upload(ctx, NULL, (size_t)M * N);
            matmul_args a = {.batch = 1, .M = M, .N = N, .K = K, .x = vk_whole(&bx), .w = vk_whole(&bw),
                             .bias = vk_whole(&bb), .y = vk_whole(&by), .epilogue = MATMUL_EPI_GELU};
            set_path(ctx, paths[p]);
            vk_cmd *cmd;
            test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
            test_ok(vk_cmd_begin(cmd), "begin");
            test_ok(op_matmul(cmd, ctx, &a), "record");
            test_ok(vk_cmd_end(cmd), "end");
            test_ok(vk_cmd_submit_wait(cmd), "warm-up");
            double *t = calloc((size_t)reps, sizeof *t), cpu_best = 1e30;
            for (int r = 0; r < reps; r++) {
                double t0 = test_now(), c0 = cpu_s();
                test_ok(vk_cmd_submit_wait(cmd), "submit");
                t[r] = test_now() - t0;
                double c = cpu_s() - c0;
                cpu_best = c < cpu_best ? c : cpu_best;
            }
            for (int r = 1; r < reps; r++)   /* insertion sort: reps is small */
                for (int q = r; q > 0 && t[q] < t[q - 1]; q--) {
                    double tmp = t[q];
                    t[q] = t[q - 1], t[q - 1] = tmp;
                }
            double flop = 2.0 * M * N * K;
            char shape[32];
            snprintf(shape, sizeof shape, "%ux%ux%u", M, N, K);
            printf("%-7s %-16s %10.2f %10.2f %9.2f %12.2f\n", paths[p], shape, t[0] * 1e3, t[reps / 2] * 1e3,
                   flop / t[0] * 1e-9, flop / cpu_best * 1e-9);
            fflush(stdout);
            free(t);
            vk_cmd_destroy(cmd);
            vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &bw);
            vk_buffer_destroy(ctx, &bb), vk_buffer_destroy(ctx, &by);
            free(x), free(w), free(bias);
        }
    }
    set_path(ctx, "auto");
}

int main(void)
{
    vkvit_context *ctx = test_context();
    if (getenv("VKVIT_MATMUL_BENCH")) {
        bench(ctx);
        return test_finish(ctx);
    }
    uint64_t rng = test_seed();

    for (size_t i = 0; i < sizeof vit / sizeof *vit; i++)
        run_case(ctx, &vit[i], OP_F32, "auto", &rng);
    run_case(ctx, &big, OP_F32, "tiled", &rng);
    if (path_runs(ctx, "direct", OP_F32))
        run_case(ctx, &big, OP_F32, "direct", &rng);

    const char *paths[] = {"direct", "tiled"};
    for (size_t p = 0; p < 2; p++)
        if (path_runs(ctx, paths[p], OP_F32)) {
            for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
                run_case(ctx, &odd[i], OP_F32, paths[p], &rng);
            run_case(ctx, &norm_vit_b, OP_F32, paths[p], &rng);
            for (size_t i = 0; i < sizeof norm_cases / sizeof *norm_cases; i++)
                run_case(ctx, &norm_cases[i], OP_F32, paths[p], &rng);
        }

    fp16_section(ctx, &rng);
    check_errors(ctx);
    return test_finish(ctx);
}
