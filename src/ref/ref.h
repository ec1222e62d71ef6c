/* Plain-C references of every op and (later) of the whole forward pass. Straightforward loops,
 * double accumulation, fp32 in and out. Used by the tests and by --verify. Same layouts and
 * semantics as the GPU ops in src/ops/ops.h (strides there are 0 = packed; here always packed). */
#ifndef VKVIT_REF_H
#define VKVIT_REF_H

#include <stdint.h>

#include "../preprocess.h"

double ref_gelu_erf(double x);   /* 0.5 x (1 + erf(x / sqrt 2)), via erfc */
double ref_gelu_tanh(double x);  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
double ref_quick_gelu(double x); /* x sigmoid(1.702 x) (OpenAI CLIP) */

/* form: 0 exact (erf), 1 tanh approximation, 2 quick GELU */
void ref_gelu(const float *x, float *y, uint64_t n, int form);

/* The epilogues, numbered as matmul_epilogue (src/ops/ops.h), which the reference does not include. */
enum { REF_EPI_NONE = 0, REF_EPI_GELU = 1, REF_EPI_GELU_TANH = 2, REF_EPI_RESIDUAL = 3, REF_EPI_TANH = 4,
       REF_EPI_QUICK_GELU = 5 };

/* epilogue: a REF_EPI_* value (= matmul_epilogue). bias, r may be NULL.
 * x: [batch][M][K], w: [N][K] shared across batch (w_batched = 0) or [batch][N][K]. */
void ref_matmul(const float *x, const float *w, int w_batched, const float *bias, const float *r,
                float *y, uint32_t batch, uint32_t M, uint32_t N, uint32_t K, int epilogue);

/* qkv: [B][T][3][H][dh] -> out [B][T][H*dh]; cls_probs [B][T] or NULL; scale 0 = 1/sqrt(dh). */
void ref_attention(const float *qkv, float *out, float *cls_probs, uint32_t B, uint32_t T, uint32_t H,
                   uint32_t dh, float scale);

void ref_layernorm(const float *x, const float *gamma, const float *beta, float *y, uint32_t rows,
                   uint32_t D, float eps);

/* y[r] = softmax(x[r]) for `rows` rows of K (max subtracted, double sums); y may be x. Also what
 * vkvit_get_probabilities computes on the host. */
void ref_softmax(const float *x, float *y, uint32_t rows, uint32_t K);

/* The ResNet stem ops (src/ops/ops.h: conv2d, group_norm, max_pool), NHWC activations. A window
 * geometry: input [batch][H][W][C] (or [batch][C][H][W] where a function says so), a kh x kw window
 * moved by `stride`, the pads TF "SAME" or any below the window. Output Ho = (H + pad_top +
 * pad_bottom - kh) / stride + 1, Wo likewise. */
typedef struct ref_window {
    uint32_t batch, C, H, W;
    uint32_t kh, kw, stride;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
} ref_window;

void ref_window_out(const ref_window *g, uint32_t *Ho, uint32_t *Wo);
/* y [batch][Ho][Wo][Cout] = conv(x, w) + bias: x NHWC, or NCHW when nchw; w [Cout][Kp], rows in
 * (ky, kx, c) order, Kp = kh*kw*C rounded up to a multiple of 4 (padding ignored); bias may be NULL. */
void ref_conv2d(const ref_window *g, uint32_t Cout, int nchw, const float *x, const float *w, const float *bias,
                float *y);
/* y = max over each window of x (NHWC), padded positions skipped; a NaN in a window is the result. */
void ref_max_pool(const ref_window *g, const float *x, float *y);
/* GroupNorm of x [B][HW][C] in G groups of C/G consecutive channels (two-pass mean and biased
 * variance in double), then + r (NULL: none) and ReLU when relu. y may be x. */
void ref_group_norm(const float *x, const float *gamma, const float *beta, const float *r, float *y, uint32_t B,
                    uint32_t HW, uint32_t C, uint32_t G, float eps, int relu);

/* image [B][C][S][S] -> patches [B*G*G][C*P*P]; tokens: see op_tokens in src/ops/ops.h. */
void ref_patchify(const float *img, float *patches, uint32_t B, uint32_t C, uint32_t S, uint32_t P);
/* image [B][C][H][W] -> patches [B*(H/P)*(W/P)][C*P*P], rows in raster order of the grid. */
void ref_patchify_rect(const float *img, float *patches, uint32_t B, uint32_t C, uint32_t H, uint32_t W, uint32_t P);
void ref_tokens(const float *emb, const float *cls, const float *dist, const float *pos, float *x, uint32_t B,
                uint32_t T, uint32_t D, uint32_t prefix);
/* The same with `regs` register tokens reg [regs][D] after the prefix (op_tokens' regs). */
void ref_tokens_regs(const float *emb, const float *cls, const float *dist, const float *reg, uint32_t regs,
                     const float *pos, float *x, uint32_t B, uint32_t T, uint32_t D, uint32_t prefix);
/* token_mean: see op_token_mean in src/ops/ops.h (summed in double). */
void ref_token_mean(const float *x, float *y, uint32_t B, uint32_t T, uint32_t D, uint32_t first, uint32_t count,
                    uint32_t y_stride, uint32_t y_first);

/* Preprocessing of one RGBA8 image under `spec` (src/preprocess.h; S x W: its size x width): levels [C][S][W]
 * gets the 8-bit pixels after resize and crop (0 where the crop overhangs the image), out [C][S][W] (may be NULL)
 * (level * rescale - mean) / std in double. Plain loops over whole planes: luma or R, G, B
 * planes -> horizontal pass of the rows the crop needs -> vertical pass. Errors: pre_geometry's,
 * VKVIT_ERROR_OUT_OF_HOST_MEMORY. */
vkvit_status ref_preprocess(const preprocess_spec *spec, const vkvit_image *image, uint8_t *levels, float *out);

#endif
