#include "ref.h"

#include <stdlib.h>
#include <string.h>

#include "../status.h"

/* One output of one pass: clip8(sum_j w_j * in[(start - first + j) * stride]), co = [start, count, w...]. */
static uint8_t resample(const int32_t *co, const uint8_t *in, size_t stride, uint32_t first)
{
    int32_t acc = 1 << (PRE_PRECISION_BITS - 1);
    for (int32_t j = 0; j < co[1]; j++)
        acc += co[2 + j] * (int32_t)in[(size_t)(co[0] - (int32_t)first + j) * stride];
    return (uint8_t)pre_clip8(acc);
}

vkvit_status ref_preprocess(const preprocess_spec *spec, const vkvit_image *im, uint8_t *levels, float *out)
{
    pre_geom g;
    vkvit_status s = pre_geometry(spec, im->width, im->height, &g);
    if (s)
        return s;
    const uint32_t C = spec->channels, S = spec->size, SW = preprocess_width(spec), W = im->width, H = im->height;
    const uint32_t rows = g.y.last - g.y.first, kw = g.x.kept;
    uint8_t *plane = malloc((size_t)W * H), *tmp = malloc((size_t)rows * kw);
    int32_t *cx = malloc(pre_coeff_words(&g.x) * 4), *cy = malloc(pre_coeff_words(&g.y) * 4);
    if (!plane || !tmp || !cx || !cy) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "ref_preprocess: %ux%u image", W, H);
        goto done;
    }
    pre_coefficients(&g.x, cx);
    pre_coefficients(&g.y, cy);
    memset(levels, 0, (size_t)C * S * SW);
    for (uint32_t c = 0; c < C; c++) {
        for (size_t i = 0; i < (size_t)W * H; i++) {
            const uint8_t *p = im->rgba + 4 * i;
            uint32_t rgba = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            plane[i] = C == 1 ? (uint8_t)pre_luma(rgba) : p[c];
        }
        for (uint32_t r = 0; r < rows; r++)
            for (uint32_t x = 0; x < kw; x++)
                tmp[(size_t)r * kw + x] = resample(cx + (size_t)x * (g.x.taps + 2), plane + (size_t)(g.y.first + r) * W, 1, 0);
        for (uint32_t y = 0; y < g.y.kept; y++)
            for (uint32_t x = 0; x < kw; x++)
                levels[((size_t)c * S + g.y.kept0 + y) * SW + g.x.kept0 + x] =
                    resample(cy + (size_t)y * (g.y.taps + 2), tmp + x, kw, g.y.first);
    }
    if (out)
        for (uint32_t c = 0; c < C; c++)
            for (size_t i = 0; i < (size_t)S * SW; i++)
                out[(size_t)c * S * SW + i] =
                    (float)(((double)levels[(size_t)c * S * SW + i] * spec->rescale - spec->mean[c]) / spec->std[c]);
done:
    free(plane);
    free(tmp);
    free(cx);
    free(cy);
    return s;
}
