/* Position-embedding resampling (posembed.h): per axis, each output position's taps (source indices) and
 * weights, computed as PyTorch's upsample kernels and SciPy's zoom compute them, in double; then two separable
 * passes (width, then height) summed in double. */
#include "posembed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One axis: for each of `out` positions, `taps` (index, weight) pairs. */
typedef struct axis {
    uint32_t out, taps;
    uint32_t *idx;
    double *w;
} axis;

/* Keys' cubic convolution kernel: PyTorch's cubic_convolution1 (|x| <= 1) and cubic_convolution2 (1 < |x| < 2). */
static double cubic(double x, double a)
{
    x = fabs(x);
    if (x <= 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    return 0.0;
}

/* F.interpolate(mode='bicubic', align_corners=False), antialias False: 4 taps around
 * src = scale * (dst + 0.5) - 0.5, scale = in / out, indices clamped to the grid. */
static void taps_bicubic(axis *a, uint32_t in)
{
    const double scale = (double)in / a->out;
    for (uint32_t i = 0; i < a->out; i++) {
        double src = scale * (i + 0.5) - 0.5;
        double base = floor(src), t = src - base, u = 1.0 - t;
        const double k[4] = {cubic(t + 1.0, -0.75), cubic(t, -0.75), cubic(u, -0.75), cubic(u + 1.0, -0.75)};
        for (int j = 0; j < 4; j++) {
            int64_t at = (int64_t)base - 1 + j;
            a->idx[i * 4 + j] = (uint32_t)(at < 0 ? 0 : at >= (int64_t)in ? (int64_t)in - 1 : at);
            a->w[i * 4 + j] = k[j];
        }
    }
}

/* antialias=True: PyTorch's _compute_weights_aa (Pillow's precompute_coeffs) with the cubic a = -0.5: the taps
 * within support = 2 max(scale, 1) of center = scale (dst + 0.5), weighted by the cubic at
 * (src + 0.5 - center) / max(scale, 1), normalised over the taps inside the grid. Where rounding could move a tap
 * in or out, its weight is 0: the filter vanishes at the support's edge. */
static uint32_t taps_bicubic_aa_count(uint32_t in, uint32_t out)
{
    const double scale = (double)in / out, support = scale >= 1.0 ? 2.0 * scale : 2.0;
    return (uint32_t)ceil(support) * 2 + 1;
}

static void taps_bicubic_aa(axis *a, uint32_t in)
{
    const double scale = (double)in / a->out;
    const double support = scale >= 1.0 ? 2.0 * scale : 2.0, invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    for (uint32_t i = 0; i < a->out; i++) {
        const double center = scale * (i + 0.5);
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > (int64_t)in ? (int64_t)in : hi;
        uint32_t n = (uint32_t)(hi - lo);
        uint32_t *idx = a->idx + (size_t)i * a->taps;
        double *w = a->w + (size_t)i * a->taps, total = 0.0;
        for (uint32_t j = 0; j < a->taps; j++) {
            w[j] = j < n ? cubic(((double)(j + lo) - center + 0.5) * invscale, -0.5) : 0.0;
            idx[j] = (uint32_t)(j < n ? lo + j : lo);
            total += w[j];
        }
        for (uint32_t j = 0; j < a->taps; j++)
            w[j] = total != 0.0 ? w[j] / total : 0.0;
    }
}

/* scipy.ndimage.zoom(order=1), grid_mode False: src = dst * (in - 1) / (out - 1) (zoom 1 for out = 1), linear
 * between floor(src) and the next sample. */
static void taps_zoom(axis *a, uint32_t in)
{
    const double zoom = a->out > 1 ? (double)(in - 1) / (double)(a->out - 1) : 1.0;
    for (uint32_t i = 0; i < a->out; i++) {
        double src = (double)i * zoom;
        double base = floor(src);
        uint32_t i0 = (uint32_t)base >= in ? in - 1 : (uint32_t)base;
        double t = src - base;
        a->idx[i * 2] = i0;
        a->idx[i * 2 + 1] = i0 + 1 < in ? i0 + 1 : i0;
        a->w[i * 2] = 1.0 - t;
        a->w[i * 2 + 1] = t;
    }
}

static vkvit_status axis_make(posembed_filter f, uint32_t in, uint32_t out, axis *a)
{
    a->out = out;
    a->taps = f == POSEMBED_BICUBIC ? 4 : f == POSEMBED_BILINEAR_ZOOM ? 2 : taps_bicubic_aa_count(in, out);
    a->idx = malloc((size_t)out * a->taps * sizeof *a->idx);
    a->w = malloc((size_t)out * a->taps * sizeof *a->w);
    if (!a->idx || !a->w)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "position embedding: %u x %u resampling weights", out, a->taps);
    if (f == POSEMBED_BICUBIC)
        taps_bicubic(a, in);
    else if (f == POSEMBED_BICUBIC_AA)
        taps_bicubic_aa(a, in);
    else
        taps_zoom(a, in);
    return VKVIT_OK;
}

static void axis_free(axis *a)
{
    free(a->idx);
    free(a->w);
}

vkvit_status posembed_resample(posembed_filter f, const float *in, uint32_t gh, uint32_t gw, uint32_t dim,
                               float *out, uint32_t oh, uint32_t ow)
{
    if (!in || !out || f > POSEMBED_BILINEAR_ZOOM || !dim || !gh || !gw || !oh || !ow || gh > POSEMBED_MAX_SIDE ||
        gw > POSEMBED_MAX_SIDE || oh > POSEMBED_MAX_SIDE || ow > POSEMBED_MAX_SIDE)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "position embedding: cannot resample a %ux%u grid of %u to %ux%u "
                    "(filter %d)", gh, gw, dim, oh, ow, (int)f);
    axis x = {0}, y = {0};
    double *mid = malloc((size_t)gh * ow * dim * sizeof *mid); /* [gh][ow][dim]: the width resampled */
    vkvit_status s = mid ? VKVIT_OK : fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "position embedding: %ux%ux%u", gh, ow, dim);
    if (s || (s = axis_make(f, gw, ow, &x)) || (s = axis_make(f, gh, oh, &y)))
        goto done;
    for (uint32_t r = 0; r < gh; r++)
        for (uint32_t c = 0; c < ow; c++) {
            double *m = mid + ((size_t)r * ow + c) * dim;
            memset(m, 0, dim * sizeof *m);
            for (uint32_t j = 0; j < x.taps; j++) {
                const float *src = in + ((size_t)r * gw + x.idx[c * x.taps + j]) * dim;
                const double w = x.w[c * x.taps + j];
                for (uint32_t d = 0; d < dim; d++)
                    m[d] += w * src[d];
            }
        }
    for (uint32_t r = 0; r < oh; r++)
        for (uint32_t c = 0; c < ow; c++)
            for (uint32_t d = 0; d < dim; d++) {
                double v = 0.0;
                for (uint32_t j = 0; j < y.taps; j++)
                    v += y.w[r * y.taps + j] * mid[((size_t)y.idx[r * y.taps + j] * ow + c) * dim + d];
                out[((size_t)r * ow + c) * dim + d] = (float)v;
            }
done:
    axis_free(&x);
    axis_free(&y);
    free(mid);
    return s;
}

vkvit_status posembed_resize(posembed_filter f, const float *in, uint32_t prefix, uint32_t gh, uint32_t gw,
                             uint32_t dim, float *out, uint32_t oh, uint32_t ow)
{
    if (!in || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "position embedding: NULL argument");
    memcpy(out, in, (size_t)prefix * dim * sizeof *out);
    return posembed_resample(f, in + (size_t)prefix * dim, gh, gw, dim, out + (size_t)prefix * dim, oh, ow);
}
