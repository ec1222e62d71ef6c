/* op_conv2d against ref_conv2d (double sums) on fresh random data, fp32 (bound 1e-5) and fp16 (3e-3),
 * outputs poisoned first:
 *   (default)  awkward shapes: odd grids (13x11), one pixel, Cin 3 (the stem's padded weight row),
 *              Cout 1, every path (1x1 matmul without im2col, im2col from NHWC and from the NCHW
 *              image, fp16 patches from the fp32 image), TF "SAME" and explicit asymmetric pads,
 *              stride 3, the patch matrix in passes; all of it on the device's matmul kernel and again on
 *              the tiled one (VKVIT_MATMUL=tiled, the GPUs'); conv_same_pads against timm's numbers;
 *              refusals.
 *   real       the R50+ViT stem's convolutions at 224 px, batch 1 and 2 (meson suite 'slow').
 * ./test_conv [real] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops/ops.h"
#include "ref/ref.h"

typedef struct conv_case {
    const char *what;
    uint32_t batch, Cin, H, W, Cout, k, stride;
    int explicit_pads;             /* 0: TF SAME (conv_same_pads); 1: the four below */
    uint32_t pt, pl, pb, pr;
    conv_layout layout;            /* CONV_NCHW: the fp32 image (x_f32) */
    int bias;
    uint32_t pass_rows;            /* 0: scratch for one pass; else scratch for this many rows */
} conv_case;

static const conv_case small_cases[] = {
    {"1x1 (no im2col)", 1, 64, 7, 7, 32, 1, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"1x1 +bias (projection)", 2, 32, 7, 5, 24, 1, 1, 0, 0, 0, 0, 0, CONV_NHWC, 1, 0},
    {"1x1 Cin 3", 2, 3, 5, 7, 5, 1, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"1x1/2 downsample", 1, 16, 13, 11, 24, 1, 2, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"3x3 13x11", 2, 8, 13, 11, 12, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"3x3/2 13x11", 1, 12, 13, 11, 7, 3, 2, 0, 0, 0, 0, 0, CONV_NHWC, 1, 0},
    {"3x3 Cin 5 Cout 1", 3, 5, 7, 7, 1, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 1, 0},
    {"3x3 one pixel", 1, 4, 1, 1, 3, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"3x3/2 one pixel", 2, 4, 1, 1, 8, 3, 2, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"7x7/2 stem NCHW 13x11", 2, 3, 13, 11, 8, 7, 2, 0, 0, 0, 0, 0, CONV_NCHW, 0, 0},
    {"7x7/2 Cin 3 NHWC", 1, 3, 17, 17, 16, 7, 2, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"5x5/3", 1, 6, 16, 14, 10, 5, 3, 0, 0, 0, 0, 0, CONV_NHWC, 1, 0},
    {"3x3/2 pads 2,0,1,2", 1, 8, 9, 10, 8, 3, 2, 1, 2, 0, 1, 2, CONV_NHWC, 0, 0},
    {"3x3/2 unpadded", 1, 4, 8, 8, 4, 3, 2, 1, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"3x3 in passes of 512", 1, 16, 40, 40, 16, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 1, 512},
    {"7x7/2 NCHW in passes of 256", 1, 3, 45, 43, 8, 7, 2, 0, 0, 0, 0, 0, CONV_NCHW, 0, 256},
};

/* timm vit_base_r50_s16_224: ResNetV2 (3, 4, 9), StdConv2dSame, 224 px -> 112 (stem) -> 56 -> 28 -> 14. */
static const conv_case real_cases[] = {
    {"stem 7x7/2 3->64 224", 1, 3, 224, 224, 64, 7, 2, 0, 0, 0, 0, 0, CONV_NCHW, 0, 0},
    {"stem 7x7/2 224 in passes", 1, 3, 224, 224, 64, 7, 2, 0, 0, 0, 0, 0, CONV_NCHW, 0, 4096},
    {"stage1 1x1 256->64 56", 1, 256, 56, 56, 64, 1, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"stage1 3x3 64->64 56", 1, 64, 56, 56, 64, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"stage2 3x3/2 128 56->28", 2, 128, 56, 56, 128, 3, 2, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"stage3 3x3 256 14", 2, 256, 14, 14, 256, 3, 1, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"stage3 1x1/2 512->1024 28->14", 1, 512, 28, 28, 1024, 1, 2, 0, 0, 0, 0, 0, CONV_NHWC, 0, 0},
    {"projection 1x1 1024->768 14", 2, 1024, 14, 14, 768, 1, 1, 0, 0, 0, 0, 0, CONV_NHWC, 1, 0},
};

static conv2d_args args_of(const conv_case *c, op_dtype t)
{
    conv2d_args a = {
        .batch = c->batch, .Cin = c->Cin, .H = c->H, .W = c->W, .Cout = c->Cout, .kh = c->k, .kw = c->k,
        .stride = c->stride, .x_layout = c->layout, .x_f32 = c->layout == CONV_NCHW, .dtype = t,
    };
    if (c->explicit_pads) {
        a.pad_top = c->pt, a.pad_left = c->pl, a.pad_bottom = c->pb, a.pad_right = c->pr;
    } else {
        conv_same_pads(c->H, c->k, c->stride, &a.pad_top, &a.pad_bottom);
        conv_same_pads(c->W, c->k, c->stride, &a.pad_left, &a.pad_right);
    }
    return a;
}

static void run_case(vkvit_context *ctx, const conv_case *c, op_dtype t, uint64_t *rng)
{
    const bool f16 = t == OP_F16;
    conv2d_args a = args_of(c, t);
    const ref_window g = {c->batch, c->Cin, c->H, c->W, c->k, c->k, c->stride,
                          a.pad_top, a.pad_left, a.pad_bottom, a.pad_right};
    uint32_t Ho, Wo;
    ref_window_out(&g, &Ho, &Wo);
    const uint32_t Kp = conv2d_row(c->k, c->k, c->Cin), K = c->k * c->k * c->Cin;
    const size_t nx = (size_t)c->batch * c->Cin * c->H * c->W, nw = (size_t)c->Cout * Kp,
                 ny = (size_t)c->batch * Ho * Wo * c->Cout;
    float *x = test_alloc(nx), *w = test_alloc(nw), *bias = test_alloc(c->Cout), *out = test_alloc(ny),
          *ref = test_alloc(ny);
    /* Weights ~ U(-1, 1) / sqrt(K), the scale of a standardised conv's; the columns past K of each row
     * are zero, as op_conv2d's weight layout says. */
    test_fill(x, nx, rng, -1.0f, 1.0f);
    const float ws = 1.0f / sqrtf((float)K);
    test_fill(w, nw, rng, -ws, ws);
    test_fill(bias, c->Cout, rng, -0.5f, 0.5f);
    if (f16) {
        if (!a.x_f32)
            test_round_f16(x, nx);
        test_round_f16(w, nw);
        test_round_f16(bias, c->Cout);
    }
    for (uint32_t o = 0; o < c->Cout; o++)
        for (uint32_t k = K; k < Kp; k++)
            w[(size_t)o * Kp + k] = 0.0f;
    ref_conv2d(&g, c->Cout, c->layout == CONV_NCHW, x, w, c->bias ? bias : NULL, ref);

    uint64_t all, least;
    conv2d_scratch(&a, &all, &least);
    const uint64_t n_scratch = c->pass_rows ? (uint64_t)c->pass_rows * Kp : all;
    vk_buffer bx = test_upload_as(ctx, a.x_f32 ? OP_F32 : t, x, nx), bw = test_upload_as(ctx, t, w, nw),
              bb = test_upload_as(ctx, t, bias, c->Cout), by = test_poisoned(ctx, t, ny),
              bs = test_poisoned(ctx, t, n_scratch ? n_scratch : 1);
    a.x = vk_whole(&bx), a.w = vk_whole(&bw), a.y = vk_whole(&by);
    if (c->bias)
        a.bias = vk_whole(&bb);
    if (n_scratch)
        a.scratch = vk_span_of(&bs, 0, n_scratch * (f16 ? 2 : 4));
    test_run(ctx, test_record_conv2d, &a);
    test_download_as(ctx, t, &by, out, ny);

    char name[160];
    snprintf(name, sizeof name, "conv2d %s %-30s B=%u %ux%ux%u -> %ux%ux%u k%u/%u pads %u,%u,%u,%u%s%s",
             f16 ? "fp16" : "fp32", c->what, c->batch, c->H, c->W, c->Cin, Ho, Wo, c->Cout, c->k, c->stride,
             a.pad_top, a.pad_left, a.pad_bottom, a.pad_right, all ? "" : " (matmul only)",
             c->pass_rows ? " (passes)" : "");
    test_check(name, out, ref, ny, f16 ? TOL_F16 : TOL_F32);
    vk_buffer_destroy(ctx, &bx);
    vk_buffer_destroy(ctx, &bw);
    vk_buffer_destroy(ctx, &bb);
    vk_buffer_destroy(ctx, &by);
    vk_buffer_destroy(ctx, &bs);
    free(x), free(w), free(bias), free(out), free(ref);
}

/* conv_same_pads against timm's get_same_padding / pad_same (dilation 1), values printed by
 *   PYTHONPATH=/tmp/timm-src python3 -c "from timm.layers.padding import get_same_padding as g; \
 *     print([(i, k, s, g(i, k, s, 1) // 2, g(i, k, s, 1) - g(i, k, s, 1) // 2) for i, k, s in CASES])" */
static void check_same_pads(void)
{
    static const uint32_t timm[][5] = {
        {224, 7, 2, 2, 3}, {384, 7, 2, 2, 3}, {112, 3, 2, 0, 1}, {192, 3, 2, 0, 1}, {56, 3, 1, 1, 1},
        {56, 3, 2, 0, 1},  {28, 3, 2, 0, 1},  {56, 1, 2, 0, 0},  {13, 3, 2, 1, 1},  {11, 7, 2, 3, 3},
        {1, 3, 2, 1, 1},   {1, 7, 2, 3, 3},   {2, 3, 2, 0, 1},   {5, 1, 3, 0, 0},   {15, 3, 1, 1, 1},
        {16, 3, 2, 0, 1},  {7, 7, 1, 3, 3},   {3, 5, 4, 1, 1},
    };
    for (size_t i = 0; i < sizeof timm / sizeof *timm; i++) {
        uint32_t before, after;
        conv_same_pads(timm[i][0], timm[i][1], timm[i][2], &before, &after);
        test_expect(before == timm[i][3] && after == timm[i][4], "SAME pads of %u, kernel %u, stride %u: %u, %u "
                    "(timm: %u, %u)", timm[i][0], timm[i][1], timm[i][2], before, after, timm[i][3], timm[i][4]);
    }
}

static void check_refusals(vkvit_context *ctx)
{
    vk_buffer b = test_upload(ctx, NULL, 4096);
    /* 8x8x4 -> 8x8x4, 3x3 SAME: 64 rows of Kp = 36 */
    const conv2d_args good = {
        .batch = 1, .Cin = 4, .H = 8, .W = 8, .Cout = 4, .kh = 3, .kw = 3, .stride = 1, .pad_top = 1, .pad_left = 1,
        .pad_bottom = 1, .pad_right = 1, .x = vk_whole(&b), .w = vk_whole(&b), .bias = vk_whole(&b),
        .y = vk_whole(&b), .scratch = vk_whole(&b),
    };
    conv2d_args f16 = good;
    f16.dtype = OP_F16;
    test_refuses_fp16(ctx, "conv2d", test_record_conv2d, &f16);
    struct {
        const char *what;
        conv2d_args a;
    } bad[] = {
        {"stride 0", good}, {"batch 0", good}, {"a 0x3 kernel", good}, {"Cout 0", good},
        {"a pad as large as the kernel", good}, {"a kernel larger than the padded input", good},
        {"an unknown layout", good}, {"an x span too small", good}, {"a weight without its padded row", good},
        {"a bias span too small", good}, {"a y span too small", good}, {"no scratch", good},
        {"a scratch of 63 of 64 rows", good}, {"a scratch offset off a vec4", good},
    };
    bad[0].a.stride = 0;
    bad[1].a.batch = 0;
    bad[2].a.kh = 0;
    bad[3].a.Cout = 0;
    bad[4].a.pad_bottom = 3;
    bad[5].a.H = 1, bad[5].a.pad_top = bad[5].a.pad_bottom = 0;
    bad[6].a.x_layout = (conv_layout)2;
    bad[7].a.x.size = 8 * 8 * 4 * 4 - 4;
    bad[8].a.Cin = 3, bad[8].a.w.size = 4 * 27 * 4;   /* rows of 27, but Kp = 28 */
    bad[9].a.bias.size = 12;
    bad[10].a.y.size = 8 * 8 * 4 * 4 - 4;
    bad[11].a.scratch = (vk_span){0};
    bad[12].a.scratch.size = 63 * 36 * 4;
    bad[13].a.scratch = vk_span_of(&b, 4, b.size - 4);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        test_refuses(ctx, "conv2d", test_record_conv2d, &bad[i].a, bad[i].what, "conv2d:");
    test_expect(test_record_status(ctx, test_record_conv2d, &good) == VKVIT_OK, "conv2d accepts the valid arguments");

    /* The 1x1 path needs no scratch and asks for none. */
    conv2d_args one = good;
    one.kh = one.kw = 1, one.pad_top = one.pad_left = one.pad_bottom = one.pad_right = 0, one.scratch = (vk_span){0};
    uint64_t all, least;
    conv2d_scratch(&one, &all, &least);
    test_expect(all == 0 && least == 0 && test_record_status(ctx, test_record_conv2d, &one) == VKVIT_OK,
                "conv2d 1x1 runs without scratch (conv2d_scratch: %llu, %llu)", (unsigned long long)all,
                (unsigned long long)least);
    conv2d_scratch(&good, &all, &least);
    test_expect(all == 64 * 36 && least == 64 * 36, "conv2d_scratch of 64 rows of 36: %llu, %llu",
                (unsigned long long)all, (unsigned long long)least);
    vk_buffer_destroy(ctx, &b);
}

int main(int argc, char **argv)
{
    const bool real = argc > 1 && strcmp(argv[1], "real") == 0;
    vkvit_context *ctx = test_context();
    uint64_t rng = test_seed();
    const conv_case *cases = real ? real_cases : small_cases;
    const size_t n = real ? sizeof real_cases / sizeof *real_cases : sizeof small_cases / sizeof *small_cases;
    const bool fp16 = test_fp16(ctx);
    for (size_t i = 0; i < n; i++) {
        run_case(ctx, &cases[i], OP_F32, &rng);
        if (fp16)
            run_case(ctx, &cases[i], OP_F16, &rng);
    }
    if (!real) {
        /* The small cases again on the matmul kernel GPUs run (the device's own is direct on CPU devices,
         * so the patch matrices and the per-pass slices of y reach both kernels). */
        char force[sizeof ctx->matmul_force];
        memcpy(force, ctx->matmul_force, sizeof force);
        snprintf(ctx->matmul_force, sizeof ctx->matmul_force, "tiled");
        printf("VKVIT_MATMUL=tiled:\n");
        for (size_t i = 0; i < n; i++) {
            run_case(ctx, &cases[i], OP_F32, &rng);
            if (fp16)
                run_case(ctx, &cases[i], OP_F16, &rng);
        }
        memcpy(ctx->matmul_force, force, sizeof force);
        check_same_pads();
        check_refusals(ctx);
    }
    return test_finish(ctx);
}
