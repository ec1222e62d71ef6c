/* The measurement behind op_conv2d's design (bench/README.md, "conv2d: im2col + matmul or an implicit
 * GEMM"): at the R50+ViT stem's convolution shapes, times, interleaved round by round,
 *   conv2d   op_conv2d as built: im2col (shaders/im2col.comp) + op_matmul on the patch matrix
 *   matmul   op_matmul alone on the same patch matrix with the same tile: conv2d - matmul = im2col
 *   igemm    igemm.comp (NHWC, Cin % 4 == 0): matmul.comp's direct kernel (the one op_matmul runs on CPU
 *            devices) with the im2col address computed in its loader, the same tile; its output must
 *            equal conv2d's bit for bit (same products, same order), which is checked
 * and prints the median GPU time of each. Not built by meson; against a build directory:
 *   glslangValidator -V --target-env vulkan1.1 --vn spv_igemm -o build/igemm.spv.h bench/conv_igemm/igemm.comp
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -DVK_NO_PROTOTYPES -Isrc -Iinclude -Ibuild/shaders -Ibuild \
 *      bench/conv_igemm/conv_igemm.c build/libvkvit-internal.a -lcjson -lm -ldl -lpthread -o build/conv_igemm
 *   XDG_CACHE_HOME=$(mktemp -d) build/conv_igemm [rounds]       (no saved tuning: the built-in tiles)
 * The implicit GEMM runs NHWC inputs with Cin % 4 == 0 only (the measured kernel has no scalar path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/matmul.h"

#include "igemm.spv.h"

static void check(vkvit_status s, const char *what)
{
    if (s) {
        fprintf(stderr, "%s: %s\n", what, vkvit_last_error());
        exit(1);
    }
}

static const vk_shader igemm_shader = {"igemm", spv_igemm, sizeof spv_igemm, 3, 13 * 4, false};

typedef struct conv_shape {
    const char *what;
    uint32_t batch, Cin, H, Cout, k, stride;
    conv_layout layout;   /* CONV_NCHW: the stem on the image; conv2d only (no igemm column) */
} conv_shape;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n floats, uniform in [-1, 1) when random, else zero */
static vk_buffer buffer(vkvit_context *ctx, uint64_t n, bool random)
{
    vk_buffer b;
    check(vk_buffer_create(ctx, n * 4, VK_MEM_DEVICE, &b), "buffer");
    float *v = calloc(n, sizeof *v);
    for (uint64_t i = 0; random && i < n; i++)
        v[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    check(vk_buffer_write(ctx, &b, 0, v, n * 4), "upload");
    free(v);
    return b;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 9;
    static const conv_shape shapes[] = {
        {"stem 7x7/2 3->64 224 NCHW", 1, 3, 224, 64, 7, 2, CONV_NCHW},
        {"stage1 3x3 64->64 @56", 1, 64, 56, 64, 3, 1, CONV_NHWC},
        {"stage2 3x3/2 128 56->28", 1, 128, 56, 128, 3, 2, CONV_NHWC},
        {"stage2 3x3 128 @28", 1, 128, 28, 128, 3, 1, CONV_NHWC},
        {"stage3 3x3/2 256 28->14", 1, 256, 28, 256, 3, 2, CONV_NHWC},
        {"stage3 3x3 256 @14", 1, 256, 14, 256, 3, 1, CONV_NHWC},
        {"stage1 3x3 64->64 @56 b2", 2, 64, 56, 64, 3, 1, CONV_NHWC},
        {"stage3 3x3 256 @14 b2", 2, 256, 14, 256, 3, 1, CONV_NHWC},
        {"stage3 1x1/2 512->1024", 1, 512, 28, 1024, 1, 2, CONV_NHWC},
    };
    vkvit_context *ctx;
    vkvit_context_options opt = {0};
    check(vkvit_context_create(&opt, &ctx), "context");
    printf("%s; median GPU ms of %d interleaved rounds\n", ctx->info.name, rounds);
    printf("%-26s %6s %5s %5s  %9s %9s %9s  %s\n", "shape", "M", "N", "K", "conv2d", "matmul", "igemm", "igemm/conv2d");
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const conv_shape *c = &shapes[si];
        conv2d_args a = {.batch = c->batch, .Cin = c->Cin, .H = c->H, .W = c->H, .Cout = c->Cout, .kh = c->k,
                         .kw = c->k, .stride = c->stride, .x_layout = c->layout};
        conv_same_pads(c->H, c->k, c->stride, &a.pad_top, &a.pad_bottom);
        a.pad_left = a.pad_top, a.pad_right = a.pad_bottom;
        const uint32_t Ho = (c->H + c->stride - 1) / c->stride, K = conv2d_row(c->k, c->k, c->Cin);
        const bool igemm = c->layout == CONV_NHWC && c->Cin % 4 == 0;
        const uint64_t M = (uint64_t)c->batch * Ho * Ho;
        uint64_t all, least;
        conv2d_scratch(&a, &all, &least);
        vk_buffer bx = buffer(ctx, (uint64_t)c->batch * c->H * c->H * c->Cin, true),
                  bw = buffer(ctx, (uint64_t)c->Cout * K, true), bs = buffer(ctx, all, false),
                  by = buffer(ctx, M * c->Cout, false), bz = buffer(ctx, M * c->Cout, false);
        a.x = vk_whole(&bx), a.w = vk_whole(&bw), a.scratch = vk_whole(&bs), a.y = vk_whole(&by);
        /* the tile op_matmul picks for the patch matrix, given to the implicit GEMM too */
        matmul_device dev = matmul_device_of(ctx);
        const matmul_shape ms = {1, (uint32_t)M, c->Cout, K};
        const matmul_config mc = matmul_default_config(&dev, MATMUL_DIRECT, &ms);
        const matmul_args mm = {.batch = 1, .M = (uint32_t)M, .N = c->Cout, .K = K, .x = vk_whole(&bs),
                                .w = vk_whole(&bw), .y = vk_whole(&by)};
        const uint32_t spec[4] = {mc.wg_x, 1, mc.tm, mc.tn};
        vk_pipeline *pipe;
        check(vk_pipeline_get(ctx, &igemm_shader, spec, 4, &pipe), "igemm pipeline");
        const uint32_t push[13] = {(uint32_t)M, c->Cout, K, c->Cin, c->H, c->H, Ho, Ho, c->k, c->k, c->stride,
                                   a.pad_top, a.pad_left};
        vk_cmd *cmd[3];
        const int variants = igemm ? 3 : 2;
        for (int v = 0; v < variants; v++) {
            check(vk_cmd_create(ctx, 2, &cmd[v]), "cmd");
            check(vk_cmd_begin(cmd[v]), "begin");
            vk_cmd_timestamp(cmd[v], 0);
            if (v == 0)
                check(op_conv2d(cmd[v], ctx, &a), "conv2d");
            else if (v == 1)
                check(op_matmul_with(cmd[v], ctx, &mm, &mc, false), "matmul");
            else {
                vk_dispatch d = {.pipe = pipe, .bufs = {a.x, a.w, vk_whole(&bz)}, .push = push,
                                 .groups = {(c->Cout + mc.wg_x * mc.tn - 1) / (mc.wg_x * mc.tn),
                                            (uint32_t)((M + mc.tm - 1) / mc.tm), 1}};
                check(vk_cmd_dispatch(cmd[v], &d), "igemm");
                vk_cmd_barrier(cmd[v]);
            }
            vk_cmd_timestamp(cmd[v], 1);
            check(vk_cmd_end(cmd[v]), "end");
        }
        double *t = calloc(3 * (size_t)rounds, sizeof *t);
        for (int r = -1; r < rounds; r++)   /* round -1: warm-up */
            for (int v = 0; v < variants; v++) {
                double ns[2];
                check(vk_cmd_submit_wait(cmd[v]), "submit");
                check(vk_cmd_timestamps_ns(cmd[v], 2, ns), "timestamps");
                if (r >= 0)
                    t[v * rounds + r] = ns[1] * 1e-6;
            }
        float *y = malloc(M * c->Cout * 4), *z = malloc(M * c->Cout * 4);
        vk_cmd_submit_wait(cmd[0]);   /* y = conv2d's output again (the matmul run overwrote it alike) */
        check(vk_buffer_read(ctx, &by, 0, y, M * c->Cout * 4), "read");
        check(vk_buffer_read(ctx, &bz, 0, z, M * c->Cout * 4), "read");
        const bool same = !igemm || memcmp(y, z, M * c->Cout * 4) == 0;
        double med[3] = {0, 0, 0};
        for (int v = 0; v < variants; v++) {
            qsort(t + v * rounds, rounds, sizeof *t, cmp_double);
            med[v] = t[v * rounds + rounds / 2];
        }
        if (igemm)
            printf("%-26s %6llu %5u %5u  %9.2f %9.2f %9.2f  %.2f%s\n", c->what, (unsigned long long)M, c->Cout, K,
                   med[0], med[1], med[2], med[2] / med[0], same ? "" : "  OUTPUTS DIFFER");
        else
            printf("%-26s %6llu %5u %5u  %9.2f %9.2f %9s  -\n", c->what, (unsigned long long)M, c->Cout, K, med[0],
                   med[1], "-");
        fflush(stdout);
        for (int v = 0; v < variants; v++)
            vk_cmd_destroy(cmd[v]);
        vk_buffer_destroy(ctx, &bx), vk_buffer_destroy(ctx, &bw), vk_buffer_destroy(ctx, &bs);
        vk_buffer_destroy(ctx, &by), vk_buffer_destroy(ctx, &bz);
        free(t), free(y), free(z);
    }
    vkvit_context_destroy(ctx);
    return 0;
}
