/* GPU ops: one shader + one record function each. Ops know shapes, not models.
 *
 * Every op_* records its dispatch(es) into `cmd` and then a vk_cmd_barrier(), so consecutive ops
 * chain correctly, and states each dispatch's cost (vk_dispatch.cost: FLOPs, bytes, workgroups; the
 * formulas in cost.h), which an accounted recording keeps for the roofline account (vkvit-bench). Shapes are validated (VKVIT_ERROR_INVALID_ARGUMENT with a detail naming the op
 * and the bad value) before anything is recorded. Spans must be large enough for the shape; an
 * optional input is "absent" when its span has size 0.
 *
 * Element types: dtype OP_F32, or OP_F16 (IEEE halves in memory; sizes, strides and offsets counted
 * in halves) where an op's section below says so, with fp32 arithmetic inside. OP_F16 on a context
 * without ctx->fp16 (shaderFloat16 + storageBuffer16BitAccess) is VKVIT_ERROR_UNSUPPORTED. */
#ifndef VKVIT_OPS_H
#define VKVIT_OPS_H

#include "../preprocess.h"
#include "../vk/vk.h"

typedef enum op_dtype { OP_F32 = 0, OP_F16 = 1 } op_dtype;

/* Every op's first check: a known dtype, and OP_F16 only on a context with the fp16 path. */
static inline vkvit_status op_check_dtype(const vkvit_context *ctx, op_dtype t, const char *op)
{
    if (t != OP_F32 && t != OP_F16)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: unknown dtype %d", op, (int)t);
    if (t == OP_F16 && !ctx->fp16)
        return fail(VKVIT_ERROR_UNSUPPORTED, "%s: fp16 needs shaderFloat16 and storageBuffer16BitAccess, which this "
                    "device lacks (or they are not enabled)", op);
    return VKVIT_OK;
}

/* A span of `elems` elements of `esize` bytes that a shader indexes with 32-bit element offsets:
 * INVALID_ARGUMENT naming the op and the tensor when it is missing, too small, or past 2^32. */
static inline vkvit_status op_check_span(const char *op, const char *what, vk_span s, uint64_t elems, uint64_t esize)
{
    if (elems > UINT32_MAX)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: %s needs %llu elements, more than 32-bit indexing allows", op,
                    what, (unsigned long long)elems);
    if (!s.buf || s.size < elems * esize)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: %s span is %llu bytes, the shape needs %llu", op, what,
                    (unsigned long long)(s.buf ? s.size : 0), (unsigned long long)(elems * esize));
    return VKVIT_OK;
}

/* ---- matmul.c: Y[b] = epilogue(X[b] . W^T + bias) ---------------------------------------------
 * X: [batch][M][K] row-major, batch stride x_stride elements (0 = M*K)
 *   norm_x: X replaced by LN0(X), each row of K normalised without affine inside the op (the fused
 *   LayerNorm, docs/fusion.md):  Y = epilogue(LN0(X) . W^T + bias),  LN0(x) = (x - mean) / sqrt(var +
 *   norm_eps), statistics in fp32 as op_layernorm's (stable for large means). A LayerNorm's gamma and
 *   beta are the caller's to fold into W and bias (model.c: W' = W diag(gamma), b' = b + W beta).
 *   norm_eps must be finite and > 0.
 * W: [N][K] row-major (PyTorch Linear layout), batch stride w_stride (0 = shared by all batches)
 * bias: [N] or absent
 * R (residual, only for MATMUL_EPI_RESIDUAL): same layout as Y; may alias Y (in-place x += ...)
 * Y: [batch][M][N], batch stride y_stride elements (0 = M*N)
 *   NONE:        Y = X.W^T + b
 *   GELU:        Y = gelu_erf(X.W^T + b)
 *   GELU_TANH:   Y = gelu_tanh(X.W^T + b)
 *   RESIDUAL:    Y = R + X.W^T + b
 *   TANH:        Y = tanh(X.W^T + b)      (a pre-logits / pooler layer)
 *   QUICK_GELU:  Y = z * sigmoid(1.702 z), z = X.W^T + b   (OpenAI CLIP's MLP activation)
 * dtype OP_F16: X, W, bias, R, Y are halves (sizes and strides in 2-byte elements); products
 *   accumulated and the epilogue applied in fp32, one rounding at the store (every kernel, the
 *   cooperative-matrix one included).
 * Kernels and VKVIT_MATMUL=auto|tiled|direct|coopmat: src/ops/matmul.c.                             */
typedef enum matmul_epilogue {
    MATMUL_EPI_NONE = 0,
    MATMUL_EPI_GELU = 1,
    MATMUL_EPI_GELU_TANH = 2,
    MATMUL_EPI_RESIDUAL = 3,
    MATMUL_EPI_TANH = 4,
    MATMUL_EPI_QUICK_GELU = 5,
} matmul_epilogue;

typedef struct matmul_args {
    uint32_t batch, M, N, K;
    uint32_t x_stride, w_stride, y_stride;
    vk_span x, w, bias, residual, y;
    matmul_epilogue epilogue;
    op_dtype dtype;
    bool norm_x;        /* X normalised per row (above); false: X as given */
    float norm_eps;     /* the LayerNorm epsilon when norm_x */
} matmul_args;

vkvit_status op_matmul(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a);
/* The kernel op_matmul uses for `dtype` on this context as things stand ("tiled", "direct" or
 * "coopmat"; VKVIT_MATMUL included), or NULL with the error detail set where op_matmul would refuse
 * the choice. For tests and benchmarks. */
const char *op_matmul_kernel(const vkvit_context *ctx, op_dtype dtype);

/* ---- attention.c: fused multi-head self-attention ---------------------------------------------
 * qkv: [B][T][3][H][dh] (q, k, v packed as one QKV Linear produces them)
 * out: [B][T][H*dh]:  out[b,t,h,:] = softmax(q[b,t,h] . k[b,:,h]^T * scale) . v[b,:,h]
 * scale: 0 = 1/sqrt(dh). Any T >= 1, 1 <= dh <= 128.
 * cls_probs (optional): [B][T], the attention probabilities of query row 0 (the class token),
 *   averaged over heads. The T x T score matrix is never written to memory.
 * dtype OP_F16: qkv, out and cls_probs stored as halves (sizes in 2-byte elements), all math in fp32,
 *   one rounding at the store; VKVIT_ERROR_UNSUPPORTED without shaderFloat16 + 16-bit storage.
 * kernel: 0 = chosen by device (subgroup shuffles on CPU devices, shared memory elsewhere); tests
 *   force each one so both run on every device.                                               */
typedef enum attention_kernel {
    ATTENTION_AUTO = 0,
    ATTENTION_SHARED = 1,     /* K/V blocks staged in shared memory: the GPU path */
    ATTENTION_SUBGROUP = 2,   /* K/V rows exchanged by subgroupShuffle: the CPU path */
} attention_kernel;

typedef struct attention_args {
    uint32_t batch, T, H, dh;
    float scale;
    vk_span qkv, out, cls_probs;
    op_dtype dtype;
    attention_kernel kernel;
} attention_args;

vkvit_status op_attention(vk_cmd *cmd, vkvit_context *ctx, const attention_args *a);

/* ---- layernorm.c: per-row LayerNorm over D ------------------------------------------------------
 * x: rows of D elements, row i at x[x_first + i * x_stride] (x_stride 0 = D); y likewise with
 *   y_first, y_stride. (The first-element offsets let a binding start on an aligned offset while
 *   its rows do not, e.g. the distillation token's row at D halves.)
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics in fp32 (stable for large means).
 * dtype OP_F16: x, gamma, beta, y are halves (strides in halves); statistics and normalisation in
 *   fp32, one rounding at the store.                                                              */
typedef struct layernorm_args {
    uint32_t rows, D;
    uint32_t x_stride, y_stride;
    uint32_t x_first, y_first;
    float eps;
    vk_span x, gamma, beta, y;
    op_dtype dtype;
} layernorm_args;

vkvit_status op_layernorm(vk_cmd *cmd, vkvit_context *ctx, const layernorm_args *a);

/* ---- gelu.c: y = gelu(x) elementwise, n elements (y may alias x) -------------------------------
 * dtype OP_F16: x, y are halves; gelu evaluated in fp32, one rounding at the store.               */
typedef struct gelu_args {
    uint32_t n;
    int tanh_approx;     /* 0 = exact erf form */
    int quick;           /* 1 = quick GELU x sigmoid(1.702 x) (OpenAI CLIP; tanh_approx then ignored) */
    vk_span x, y;
    op_dtype dtype;
} gelu_args;

vkvit_status op_gelu(vk_cmd *cmd, vkvit_context *ctx, const gelu_args *a);

/* ---- patch_embed.c: patch embedding input, the token sequence, widening -----------------------------------
 * patchify: image [B][C][S][W] -> patches [B*G*Gw][C*P*P] (G = S/P rows, Gw = W/P columns; W = 0: W = S,
 *   square), rows in raster order of the patch grid, columns in the order of a conv weight [D][C][P][P];
 *   then patches . W^T + b is the patch embedding.
 * tokens: x[b][t] = (t == 0 ? cls : t < prefix ? dist : t < prefix + regs ? reg[t - prefix]
 *   : emb[b*N + t - prefix - regs]) + pos[t], emb [B*N][D], cls/dist [D] (dist absent when prefix == 1; both when
 *   prefix == 0: SigLIP), reg [regs][D] (absent when regs == 0: register tokens, DINOv2), pos [T][D], x [B][T][D].
 * dtype OP_F16: patchify reads the fp32 image and writes fp16 patches; tokens reads and writes
 *   halves (the sum formed in fp32, rounded once).
 * widen: y[i] = (float)x[i], x n halves, y n floats: fp16 results -> the fp32 outputs.           */
typedef struct patchify_args {
    uint32_t batch, C, S, P;
    uint32_t W;                      /* the image's width; 0 = S */
    vk_span image, patches;
    op_dtype dtype;
} patchify_args;

typedef struct tokens_args {
    uint32_t batch, T, D, prefix;
    vk_span emb, cls, dist, pos, x;
    op_dtype dtype;
    uint32_t regs;            /* register tokens after the prefix (0: none) */
    vk_span reg;
} tokens_args;

typedef struct widen_args {
    uint32_t n;
    vk_span x, y;
} widen_args;

vkvit_status op_patchify(vk_cmd *cmd, vkvit_context *ctx, const patchify_args *a);
vkvit_status op_tokens(vk_cmd *cmd, vkvit_context *ctx, const tokens_args *a);
vkvit_status op_widen(vk_cmd *cmd, vkvit_context *ctx, const widen_args *a);

/* ---- token_mean.c: the mean of a run of tokens ----------------------------------------------------------------
 * y[b*y_stride + y_first + d] = (1/count) sum_{t < count} x[b][first + t][d], x [B][T][D], y [B][y_stride]
 * (Hugging Face's DINOv2 classifier input [cls | mean of the patch tokens]); fp32 sums, in the storage type. */
typedef struct token_mean_args {
    uint32_t batch, T, D, first, count, y_stride, y_first;
    vk_span x, y;
    op_dtype dtype;
} token_mean_args;

vkvit_status op_token_mean(vk_cmd *cmd, vkvit_context *ctx, const token_mean_args *a);

/* ---- preprocess.c: RGBA8 images of any size -> normalised [batch][C][S][W] (spec size x width) -----------
 * The spec's resize (PIL-exact, src/preprocess.h), centre crop, rescale and normalisation, for up to
 * `batch` images per run, in three dispatches recorded once. What changes from run to run (image
 * sizes, resampling coefficients, dispatch sizes) is written by the host into `staging_meta` with
 * preprocess_pack() before each submit:
 *   upload      staging_meta + staging_pixels (host-visible) -> meta + pixels (device), exactly the
 *               words this run uses (indirect dispatch; vkCmdCopyBuffer sizes are fixed at record)
 *   horizontal  per image, the crop's columns x the source rows they need -> scratch, 8-bit packed
 *               (indirect: sized by the largest image of the run)
 *   vertical    per slot: the crop's pixels, x rescale, (x - mean) / std -> out; zeros for slots
 *               past the run's images
 * Word counts: preprocess_measure(); meta holds a 16-word header (indirect arguments at words 0 and
 * 3), 16 words per batch slot, then the coefficient tables; pixels the images back to back. */
typedef struct preprocess_sizes {
    uint64_t meta, pixels, scratch;    /* 32-bit words */
} preprocess_sizes;

/* Sizes the run of images im[0..n) in a plan of `batch` slots. Errors: pre_geometry's, naming the
 * image index. */
vkvit_status preprocess_measure(const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch,
                                preprocess_sizes *out);
/* Writes the run into host memory of at least the measured sizes (call preprocess_measure first). */
void preprocess_pack(const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch, uint32_t *meta,
                     uint32_t *pixels);

typedef struct preprocess_args {
    const preprocess_spec *spec;       /* channels, size, rescale, mean, std                       */
    uint32_t batch;
    vk_span staging_meta, staging_pixels;    /* host-visible, written by preprocess_pack          */
    vk_span meta, pixels, scratch;           /* device; meta/pixels at least the staging sizes    */
    vk_span out;                             /* [batch][C][S][W] floats                            */
} preprocess_args;

vkvit_status op_preprocess(vk_cmd *cmd, vkvit_context *ctx, const preprocess_args *a);

/* ---- preprocess.c: images the GPU already holds (vkvit_record) -----------------------------------
 * The same resampling, bit for bit, from the application's images: RGBA8 rows in a VkBuffer (any
 * row pitch; copied into `pixels`, packed, by each execution) or a sampled VkImage read with
 * texelFetch (pass 1's IMAGE variant: each texel clamped to [0, 1], sRGB-encoded for _SRGB formats,
 * rounded to 8 bits, so an RGBA8 UNORM image is read exactly). The sizes are known when recording:
 * preprocess_pack_sources writes the meta words once, into host-visible `staging_meta`, which each
 * execution copies into `meta`; the dispatches are direct, pass 1 one per image.                  */
typedef struct preprocess_source {
    uint32_t width, height;
    VkBuffer buffer;                 /* RGBA8 rows at offset, row_pitch bytes apart (0 = width * 4), */
    VkDeviceSize offset, row_pitch;
    VkImageView view;                /* or (buffer = VK_NULL_HANDLE) a 2D sampled image in `layout` */
    VkImageLayout layout;
    bool srgb;                       /* the view's format is _SRGB                                  */
} preprocess_source;

/* Words for src[0..n) in a plan of `batch` slots; pixels counts the buffer sources only. */
vkvit_status preprocess_measure_sources(const preprocess_spec *spec, const preprocess_source *src, uint32_t n,
                                        uint32_t batch, preprocess_sizes *out);
void preprocess_pack_sources(const preprocess_spec *spec, const preprocess_source *src, uint32_t n, uint32_t batch,
                             uint32_t *meta);

typedef struct preprocess_sources_args {
    const preprocess_spec *spec;
    uint32_t batch, n;
    const preprocess_source *src;            /* n of them                                           */
    vk_span staging_meta;                    /* host-visible, exactly the measured meta words       */
    vk_span meta, pixels, scratch;           /* device; pixels unused without buffer sources        */
    vk_span out;                             /* [batch][C][S][W] floats                             */
} preprocess_sources_args;

vkvit_status op_preprocess_sources(vk_cmd *cmd, vkvit_context *ctx, const preprocess_sources_args *a);

/* ---- conv.c, group_norm.c, max_pool.c: the ResNet stem of hybrid ViTs (R50+ViT) ---------------------
 * Activations are NHWC, [B][H][W][C] row-major: a 1x1 convolution is then a plain matmul over B*H*W
 * rows, and the last one (the patch projection) writes the tokens [B][T][D] the ViT reads.
 *
 * conv2d: y[b][oy][ox][o] = bias[o] + sum_{ky,kx,c} w[o][(ky*kw + kx)*Cin + c] *
 *                            x[b][c][oy*stride + ky - pad_top][ox*stride + kx - pad_left]   (0 in the padding)
 *   x: NHWC [B][H][W][Cin], or NCHW [B][Cin][H][W] (x_layout CONV_NCHW: the preprocessed image)
 *   w: [Cout][Kp], the PyTorch weight [Cout][Cin][kh][kw] permuted to [Cout][kh][kw][Cin] and each row
 *      zero-padded to Kp = conv2d_row(kh, kw, Cin) (K = kh*kw*Cin rounded up to a multiple of 4, so
 *      the GEMM's loads are vec4s: only the stem's Cin = 3 has padding). Weight standardisation is
 *      the loader's: w is used as given.
 *   bias: [Cout] or absent;  y: [B][Ho][Wo][Cout], Ho = (H + pad_top + pad_bottom - kh) / stride + 1
 * A 1x1, stride-1, unpadded conv of an NHWC input of y's dtype is one op_matmul on x; any other is
 * im2col into `scratch` then op_matmul on it, in passes when scratch is smaller than the
 * B*Ho*Wo x Kp patch matrix (conv2d_scratch: how much each way). Every pad must be below its kernel
 * size (TF "SAME" pads always are: conv_same_pads).
 * dtype OP_F16: x (unless x_f32: the fp32 image), w, bias, y and scratch are halves; the GEMM
 *   accumulates in fp32 (op_matmul's fp16 path), one rounding at the store.
 *
 * group_norm: over x [B][HW][C] in G groups of C/G consecutive channels; per (b, group), over its
 *   HW * C/G values, mean and biased variance in fp32 (two-pass, corrected as in layernorm.comp), then
 *   y = act((x - mean) / sqrt(var + eps) * gamma[c] + beta[c] + r),  r (optional, [B][HW][C]) the
 *   residual of a bottleneck unit, act = ReLU when relu is set. y may alias x and r.
 *   (The unit's y = relu(norm3(conv3(.)) + shortcut) is one group_norm: no separate add + ReLU op.)
 *
 * max_pool: y[b][oy][ox][c] = max over the k x k window at (oy*stride - pad_top, ox*stride -
 *   pad_left) of x [B][H][W][C], padded positions skipped (timm's MaxPool2dSame pads with -inf);
 *   Ho = (H + pad_top + pad_bottom - k) / stride + 1. Pads below k, so no window is all padding.
 *
 * dtype OP_F16 for group_norm and max_pool: every tensor halves, arithmetic fp32.                    */
typedef enum conv_layout { CONV_NHWC = 0, CONV_NCHW = 1 } conv_layout;

typedef struct conv2d_args {
    uint32_t batch, Cin, H, W;
    uint32_t Cout, kh, kw, stride;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    conv_layout x_layout;
    bool x_f32;
    vk_span x, w, bias, y, scratch;
    op_dtype dtype;
} conv2d_args;

/* TensorFlow "SAME" padding of one axis, as timm's get_same_padding / pad_same (dilation 1): output
 * ceil(in / stride), total pad max((out - 1) * stride + k - in, 0), the smaller half before (top,
 * left) and the larger after (bottom, right). */
void conv_same_pads(uint32_t in, uint32_t k, uint32_t stride, uint32_t *before, uint32_t *after);
/* Kp: the weight row length of a kh x kw x Cin kernel (K rounded up to a multiple of 4). */
uint32_t conv2d_row(uint32_t kh, uint32_t kw, uint32_t Cin);
/* Elements (of a's dtype) of scratch conv2d uses: *all for the whole patch matrix in one pass, *least
 * for the smallest it accepts (passes of 256 output pixels); both 0 when it needs none. */
void conv2d_scratch(const conv2d_args *a, uint64_t *all, uint64_t *least);
vkvit_status op_conv2d(vk_cmd *cmd, vkvit_context *ctx, const conv2d_args *a);

typedef struct group_norm_args {
    uint32_t batch, HW, C, groups;
    float eps;
    bool relu;
    vk_span x, gamma, beta, residual, y;   /* residual: size 0 = absent */
    op_dtype dtype;
} group_norm_args;

vkvit_status op_group_norm(vk_cmd *cmd, vkvit_context *ctx, const group_norm_args *a);

typedef struct max_pool_args {
    uint32_t batch, C, H, W;
    uint32_t k, stride;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
    vk_span x, y;
    op_dtype dtype;
} max_pool_args;

vkvit_status op_max_pool(vk_cmd *cmd, vkvit_context *ctx, const max_pool_args *a);

/* ---- softmax.c: y[r] = softmax(x[r]) over each of `rows` rows of K floats ------------------------ */
typedef struct softmax_args {
    uint32_t rows, K;
    vk_span x, y;
} softmax_args;

vkvit_status op_softmax(vk_cmd *cmd, vkvit_context *ctx, const softmax_args *a);

/* Workgroup counts for `n_groups` 1-D workgroups folded into x (<= 65535, the portable minimum of
 * maxComputeWorkGroupCount) and y; shaders rebuild the index as x + y * gl_NumWorkGroups.x * WG. */
static inline void groups_1d(uint64_t n_groups, uint32_t g[3])
{
    uint64_t x = n_groups < 65535 ? n_groups : 65535;
    g[0] = (uint32_t)x;
    g[1] = (uint32_t)((n_groups + x - 1) / (x ? x : 1));
    g[2] = 1;
}

#endif
