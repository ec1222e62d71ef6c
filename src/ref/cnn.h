/* Plain-C references of the ResNet ops a hybrid ViT's stem needs (conv2d, group_norm, max_pool), NHWC
 * activations, double accumulation. The names, signatures and semantics are those of the GPU ops' references
 * being written on branch i12-cnn (its src/ref/ref.h, conv.c, group_norm.c, max_pool.c): when both are merged,
 * theirs replace this file and cnn.c, and vit.c includes ref.h alone.
 *
 * A window geometry: input [batch][H][W][C] (or [batch][C][H][W] where a function says so), a kh x kw window
 * moved by `stride`, the pads TF "SAME" or any below the window. Output Ho = (H + pad_top + pad_bottom - kh) /
 * stride + 1, Wo likewise. */
#ifndef VKVIT_REF_CNN_H
#define VKVIT_REF_CNN_H

#include <stdint.h>

typedef struct ref_window {
    uint32_t batch, C, H, W;
    uint32_t kh, kw, stride;
    uint32_t pad_top, pad_left, pad_bottom, pad_right;
} ref_window;

void ref_window_out(const ref_window *g, uint32_t *Ho, uint32_t *Wo);
/* y [batch][Ho][Wo][Cout] = conv(x, w) + bias: x NHWC, or NCHW when nchw; w [Cout][Kp], rows in (ky, kx, c)
 * order, Kp = kh*kw*C rounded up to a multiple of 4 (padding ignored); bias may be NULL. Padded taps are 0. */
void ref_conv2d(const ref_window *g, uint32_t Cout, int nchw, const float *x, const float *w, const float *bias,
                float *y);
/* y = max over each window of x (NHWC), padded positions skipped; a NaN in a window is the result. */
void ref_max_pool(const ref_window *g, const float *x, float *y);
/* GroupNorm of x [B][HW][C] in G groups of C/G consecutive channels (two-pass mean and biased variance in
 * double), then + r (NULL: none) and ReLU when relu. y may be x. */
void ref_group_norm(const float *x, const float *gamma, const float *beta, const float *r, float *y, uint32_t B,
                    uint32_t HW, uint32_t C, uint32_t G, float eps, int relu);

#endif
