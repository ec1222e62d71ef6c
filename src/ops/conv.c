/* conv2d (semantics and layouts in ops.h): im2col (shaders/im2col.comp) into a patch matrix, then
 * op_matmul on it, so convolutions get every matmul kernel (direct on CPU devices, tiled, the
 * cooperative-matrix one for fp16) and its autotuning. A 1x1, stride-1, unpadded conv of an NHWC
 * input skips the im2col: its input already is the patch matrix.
 *
 * Why not an implicit GEMM (the im2col addressing inside the matmul's loader): on lavapipe, a
 * direct-kernel implicit GEMM with the same tile ran the R50 3x3 convs in 0.85-1.33x the time of
 * im2col + matmul (no consistent gain: the im2col writes whole taps, at most ~25% of a 3x3 conv), and
 * on GPUs it would need its own tiled and cooperative-matrix kernels and tuning to match op_matmul.
 * bench/README.md, "conv2d", has the figures and bench/conv_igemm/ the kernel that was measured.
 *
 * The patch matrix of a large input is big (the stem at 224 px: 12,544 x 148 values per image), so
 * a scratch smaller than all of it is used in passes of whole multiples of 256 output pixels
 * (each pass's slice of y then starts on a 256-byte boundary, the largest binding alignment Vulkan
 * allows a device to ask for). */
#include "ops.h"
#include "cost.h"

#include "im2col_f16.spv.h"
#include "im2col_f16_x32.spv.h"
#include "im2col_f32.spv.h"

/* Push constants, as `Push` in im2col.comp. */
typedef struct im2col_push {
    uint32_t rows, m_first, K, Kp, Cin;
    uint32_t H, W, Ho, Wo;
    uint32_t kh, kw, stride, pad_top, pad_left;
    uint32_t sb, sc, sy, sx;
} im2col_push;

#define SHADER(name, spv) {name, spv, sizeof spv, 2, sizeof(im2col_push), false}
/* [dtype][x_f32]: fp32; fp16 patches from an fp16 input or from the fp32 image. */
static const vk_shader im2col_shaders[2][2] = {
    {SHADER("im2col", spv_im2col_f32), SHADER("im2col", spv_im2col_f32)},
    {SHADER("im2col_f16", spv_im2col_f16), SHADER("im2col_f16_x32", spv_im2col_f16_x32)},
};
#undef SHADER

enum { IM2COL_WG = 64, PASS_ROWS = 256 };

void conv_same_pads(uint32_t in, uint32_t k, uint32_t stride, uint32_t *before, uint32_t *after)
{
    const uint64_t out = stride ? ((uint64_t)in + stride - 1) / stride : 0;
    const int64_t total = out ? (int64_t)((out - 1) * stride + k) - (int64_t)in : 0;
    const uint32_t pad = total > 0 ? (uint32_t)total : 0;
    *before = pad / 2;
    *after = pad - pad / 2;
}

uint32_t conv2d_row(uint32_t kh, uint32_t kw, uint32_t Cin)
{
    return (uint32_t)(((uint64_t)kh * kw * Cin + 3) / 4 * 4);
}

/* The derived sizes of a conv: output grid, rows (output pixels), weight row. Valid only after the
 * shape checks of validate(). */
typedef struct conv_dims {
    uint32_t Ho, Wo, Kp;
    uint64_t M;
    bool direct;   /* 1x1 / stride 1 / unpadded, NHWC input of y's dtype, Kp == Cin: no im2col */
} conv_dims;

static conv_dims dims_of(const conv2d_args *a)
{
    conv_dims d;
    d.Ho = (a->H + a->pad_top + a->pad_bottom - a->kh) / a->stride + 1;
    d.Wo = (a->W + a->pad_left + a->pad_right - a->kw) / a->stride + 1;
    d.Kp = conv2d_row(a->kh, a->kw, a->Cin);
    d.M = (uint64_t)a->batch * d.Ho * d.Wo;
    d.direct = a->kh == 1 && a->kw == 1 && a->stride == 1 && !a->pad_top && !a->pad_left && !a->pad_bottom &&
               !a->pad_right && a->x_layout == CONV_NHWC && !(a->x_f32 && a->dtype == OP_F16) && d.Kp == a->Cin;
    return d;
}

void conv2d_scratch(const conv2d_args *a, uint64_t *all, uint64_t *least)
{
    *all = *least = 0;
    if (!a->batch || !a->Cin || !a->kh || !a->kw || !a->stride ||
        (uint64_t)a->H + a->pad_top + a->pad_bottom < a->kh || (uint64_t)a->W + a->pad_left + a->pad_right < a->kw)
        return;
    const conv_dims d = dims_of(a);
    if (d.direct)
        return;
    *all = d.M * d.Kp;
    *least = (d.M < PASS_ROWS ? d.M : PASS_ROWS) * d.Kp;
}

static vkvit_status validate_shape(const conv2d_args *a)
{
    if (!a->batch || !a->Cin || !a->H || !a->W || !a->Cout || !a->kh || !a->kw)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: zero dimension (batch %u, Cin %u, H %u, W %u, Cout "
                    "%u, kernel %ux%u)", a->batch, a->Cin, a->H, a->W, a->Cout, a->kh, a->kw);
    if (!a->stride)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: stride 0");
    if ((unsigned)a->x_layout > CONV_NCHW)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: unknown input layout %d", (int)a->x_layout);
    if (a->pad_top >= a->kh || a->pad_bottom >= a->kh || a->pad_left >= a->kw || a->pad_right >= a->kw)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: padding (top %u, left %u, bottom %u, right %u) not "
                    "below the %ux%u kernel", a->pad_top, a->pad_left, a->pad_bottom, a->pad_right, a->kh, a->kw);
    if ((uint64_t)a->H + a->pad_top + a->pad_bottom < a->kh || (uint64_t)a->W + a->pad_left + a->pad_right < a->kw)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: the %ux%u kernel is larger than the padded %ux%u "
                    "input", a->kh, a->kw, a->H + a->pad_top + a->pad_bottom, a->W + a->pad_left + a->pad_right);
    return VKVIT_OK;
}

/* Output pixels per pass: all of them when the scratch holds the whole patch matrix, else the most
 * whole multiples of PASS_ROWS that fit it (and one binding, and 32-bit indexing). */
static vkvit_status pass_rows(const vkvit_context *ctx, const conv2d_args *a, const conv_dims *d, uint64_t es,
                              uint64_t *rows)
{
    if (d->direct) {
        *rows = d->M;
        return VKVIT_OK;
    }
    uint64_t cap = a->scratch.buf ? a->scratch.size / es : 0;
    const uint64_t range = ctx->info.max_storage_buffer_range / es;
    cap = cap < range ? cap : range;
    cap = cap < UINT32_MAX ? cap : UINT32_MAX;
    *rows = d->M * d->Kp <= cap ? d->M : cap / d->Kp / PASS_ROWS * PASS_ROWS;
    if (!*rows) {
        const uint64_t least = d->M < PASS_ROWS ? d->M : PASS_ROWS;
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: scratch span of %llu bytes, less than the %llu of one "
                    "pass (%llu of the %llu rows of %u patch values; all rows: %llu bytes)",
                    (unsigned long long)(a->scratch.buf ? a->scratch.size : 0),
                    (unsigned long long)(least * d->Kp * es), (unsigned long long)least, (unsigned long long)d->M,
                    d->Kp, (unsigned long long)(d->M * d->Kp * es));
    }
    if (a->scratch.offset % (4 * es))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: scratch offset %llu is not a multiple of %llu bytes",
                    (unsigned long long)a->scratch.offset, (unsigned long long)(4 * es));
    return VKVIT_OK;
}

static vkvit_status validate(const vkvit_context *ctx, const conv2d_args *a, conv_dims *d, uint64_t *rows)
{
    vkvit_status s = op_check_dtype(ctx, a->dtype, "conv2d");
    if (s || (s = validate_shape(a)))
        return s;
    *d = dims_of(a);
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4, xes = a->x_f32 ? 4 : es;
    const char *op = "conv2d";
    if ((s = op_check_span(op, "x", a->x, (uint64_t)a->batch * a->Cin * a->H * a->W, xes)) ||
        (s = op_check_span(op, "w", a->w, (uint64_t)a->Cout * d->Kp, es)) ||
        (a->bias.size && (s = op_check_span(op, "bias", a->bias, a->Cout, es))) ||
        (s = op_check_span(op, "y", a->y, d->M * a->Cout, es)))
        return s;
    return pass_rows(ctx, a, d, es, rows);
}

/* im2col of output pixels [m0, m0 + rows) into scratch. */
static vkvit_status record_im2col(vk_cmd *cmd, vkvit_context *ctx, const conv2d_args *a, const conv_dims *d,
                                  uint64_t m0, uint64_t rows, vk_span scratch)
{
    const bool nchw = a->x_layout == CONV_NCHW, f16 = a->dtype == OP_F16;
    const uint64_t xes = a->x_f32 || !f16 ? 4 : 2;
    const uint32_t vec4 = !nchw && a->Cin % 4 == 0 && a->x.offset % (4 * xes) == 0;
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, &im2col_shaders[f16][a->x_f32], &vec4, 1, &pipe);
    if (s)
        return s;
    const uint32_t plane = a->H * a->W;
    const im2col_push push = {
        (uint32_t)rows, (uint32_t)m0, a->kh * a->kw * a->Cin, d->Kp, a->Cin, a->H, a->W, d->Ho, d->Wo, a->kh,
        a->kw, a->stride, a->pad_top, a->pad_left, a->Cin * plane, nchw ? plane : 1, nchw ? a->W : a->W * a->Cin,
        nchw ? 1 : a->Cin,
    };
    /* A pass's share of the input once, its patch rows written; the taps overlap, so pixels are read up to
     * kh x kw times. */
    const double in = (double)xes * a->batch * a->Cin * a->H * a->W * (double)rows / (double)d->M,
                 out = (double)(f16 ? 2 : 4) * (double)rows * d->Kp;
    vk_cost cost = cost_stream(0, in, out, (double)xes * (double)rows * a->kh * a->kw * a->Cin - in);
    cost.wg_size = IM2COL_WG;
    vk_dispatch disp = {.pipe = pipe, .bufs = {a->x, scratch}, .push = &push, .cost = &cost};
    /* an invocation per (row, tap) in vec4 mode, else per (row, kernel row) */
    groups_1d((rows * (vec4 ? a->kh * a->kw : a->kh) + IM2COL_WG - 1) / IM2COL_WG, disp.groups);
    if ((s = vk_cmd_dispatch(cmd, &disp)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

vkvit_status op_conv2d(vk_cmd *cmd, vkvit_context *ctx, const conv2d_args *a)
{
    if (!cmd || !ctx || !a)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "conv2d: NULL argument");
    conv_dims d;
    uint64_t step;
    vkvit_status s = validate(ctx, a, &d, &step);
    if (s)
        return s;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4;
    for (uint64_t m0 = 0; m0 < d.M; m0 += step) {
        const uint64_t rows = d.M - m0 < step ? d.M - m0 : step;
        vk_span patches = a->x;
        if (!d.direct) {
            patches = (vk_span){a->scratch.buf, a->scratch.offset, rows * d.Kp * es};
            if ((s = record_im2col(cmd, ctx, a, &d, m0, rows, patches)))
                return s;
        }
        const matmul_args mm = {
            .batch = 1, .M = (uint32_t)rows, .N = a->Cout, .K = d.Kp, .x = patches, .w = a->w, .bias = a->bias,
            .y = {a->y.buf, a->y.offset + m0 * a->Cout * es, rows * a->Cout * es}, .dtype = a->dtype,
        };
        if ((s = op_matmul(cmd, ctx, &mm)))
            return fail(s, "conv2d: %s", vkvit_last_error());
    }
    return VKVIT_OK;
}
