/* Position-embedding resampling: a ViT's learned position embedding taken from the checkpoint's patch grid to the
 * grid of another input size, once, at load, the way the reference implementations do it when they run a model
 * at another resolution:
 *   - timm (resample_abs_pos_embed, which timm's checkpoint_filter_fn calls when a checkpoint is loaded into a
 *     model of another img_size): F.interpolate(mode='bicubic', align_corners=False, antialias=True), in float32;
 *   - Hugging Face (ViTEmbeddings / DeiTEmbeddings.interpolate_pos_encoding, current transformers):
 *     F.interpolate(size=(new_h, new_w), mode='bicubic', align_corners=False), no antialias. Older releases
 *     (DINO's code) passed scale_factor = (new + 0.1) / old instead of a size, which moves every sample point
 *     slightly: not reproduced here;
 *   - Google's vit_jax / big_vision checkpoints: scipy.ndimage.zoom(grid, zoom, order=1).
 * The class (and distillation) token rows are kept as they are. Computed in double: equal to PyTorch's algorithm
 * run in float64 to float rounding (~1e-7 relative); PyTorch's float32 run, which timm's loader does, differs from
 * both by its own rounding, up to ~1e-6 (tests/test_posembed.c against tests/data/posembed.safetensors).
 *
 * Usage:
 *     s = posembed_resize(POSEMBED_BICUBIC_AA, pos, prefix, 14, 14, dim, out, 24, 24);   // [1 + 14*14][dim] ->
 *                                                                                         // [1 + 24*24][dim] */
#ifndef VKVIT_POSEMBED_H
#define VKVIT_POSEMBED_H

#include <stdint.h>

#include "status.h"

#define POSEMBED_MAX_SIDE 4096 /* grid cells per side */

typedef enum posembed_filter {
    /* F.interpolate(mode='bicubic', align_corners=False): Keys' cubic convolution with a = -0.75 over the 4
     * samples around src = (dst + 0.5) * in / out - 0.5, indices clamped to the grid. */
    POSEMBED_BICUBIC = 0,
    /* The same with antialias=True (Pillow's algorithm): the cubic with a = -0.5, stretched by max(in / out, 1)
     * so that shrinking averages; the weights of the samples inside the grid normalised to sum 1. */
    POSEMBED_BICUBIC_AA,
    /* scipy.ndimage.zoom(order=1): linear, corners aligned: src = dst * (in - 1) / (out - 1). */
    POSEMBED_BILINEAR_ZOOM,
} posembed_filter;

/* Resamples `in` [gh][gw][dim] (row-major, a token's channels contiguous, as the embedding stores them) to `out`
 * [oh][ow][dim], along the width first, then the height. Sides 1..POSEMBED_MAX_SIDE; in and out must not
 * overlap. Errors: VKVIT_ERROR_INVALID_ARGUMENT (a side of 0 or too large, dim 0, an unknown filter),
 * VKVIT_ERROR_OUT_OF_HOST_MEMORY. */
vkvit_status posembed_resample(posembed_filter f, const float *in, uint32_t gh, uint32_t gw, uint32_t dim,
                               float *out, uint32_t oh, uint32_t ow);

/* A whole position embedding [prefix + gh*gw][dim] -> [prefix + oh*ow][dim]: the first `prefix` rows (class and
 * distillation tokens) copied, the grid resampled. Errors as posembed_resample. */
vkvit_status posembed_resize(posembed_filter f, const float *in, uint32_t prefix, uint32_t gh, uint32_t gw,
                             uint32_t dim, float *out, uint32_t oh, uint32_t ow);

#endif
