/* Preprocessing spec (preprocessor_config.json / timm pretrained_cfg / defaults) and PIL-exact
 * resampling geometry. See preprocess.h. */
#include "preprocess.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "util/fs.h"
#include "util/json.h"

/* ---- PIL's filters (Pillow Resample.c), evaluated in double exactly as there ---------------------- */

static double bilinear_filter(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

static double bicubic_filter(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double filter_support(pre_filter f) { return f == PRE_BICUBIC ? 2.0 : 1.0; }

static double filter_eval(pre_filter f, double x) { return f == PRE_BICUBIC ? bicubic_filter(x) : bilinear_filter(x); }

static const char *filter_name(pre_filter f)
{
    return f == PRE_NEAREST ? "nearest" : f == PRE_BILINEAR ? "bilinear" : "bicubic";
}

/* ---- geometry ---------------------------------------------------------------------------------------- */

/* Nearest: PIL resizes through its affine path, which walks the source coordinate in double,
 * x_0 = scale / 2, x_{i+1} = x_i + scale, and takes floor(x_i). Accumulating (instead of computing
 * (i + 0.5) * scale) matters: it rounds differently on exact halves, and PIL is what we match. */
static uint32_t nearest_next(const pre_axis *a, double *x)
{
    int64_t i = (int64_t)*x;
    *x += (double)a->in / a->resized;
    if (i >= (int64_t)a->in)
        i = (int64_t)a->in - 1;
    return (uint32_t)(i < 0 ? 0 : i);
}

static double nearest_start(const pre_axis *a, uint32_t pos)
{
    double step = (double)a->in / a->resized, x = step * 0.5;
    for (uint32_t i = 0; i < pos; i++)
        x += step;
    return x;
}

/* Source range of resized position `pos` for the filters: PIL's precompute_coeffs. */
static void filter_bounds(const pre_axis *a, uint32_t pos, double *center, double *support, double *ss,
                          int64_t *xmin, int64_t *count)
{
    double scale = (double)a->in / a->resized, filterscale = scale < 1.0 ? 1.0 : scale;
    *support = filter_support(a->filter) * filterscale;
    *center = (pos + 0.5) * scale;
    *ss = 1.0 / filterscale;
    int64_t lo = (int64_t)(*center - *support + 0.5), hi = (int64_t)(*center + *support + 0.5);
    if (lo < 0)
        lo = 0;
    if (hi > (int64_t)a->in)
        hi = a->in;
    *xmin = lo;
    *count = hi - lo;
}

static void source_range(const pre_axis *a, uint32_t pos, uint32_t *start, uint32_t *end)
{
    if (a->filter == PRE_NEAREST) {
        double x = nearest_start(a, pos);
        *start = nearest_next(a, &x);
        *end = *start + 1;
        return;
    }
    double c, sup, ss;
    int64_t lo, n;
    filter_bounds(a, pos, &c, &sup, &ss, &lo, &n);
    *start = (uint32_t)lo;
    *end = (uint32_t)(lo + n);
}

/* Python's int(round(v / 2)) for an integer v (round half to even) and v // 2 (floor). */
static int64_t half_even(int64_t v)
{
    int64_t f = v >= 0 ? v / 2 : -((-v + 1) / 2);
    if (v % 2 != 0 && f % 2 != 0)
        f += 1;
    return f;
}

static int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

static void axis_init(pre_axis *a, const preprocess_spec *s, uint32_t in, uint32_t resized, uint32_t crop,
                      uint32_t out)
{
    memset(a, 0, sizeof *a);
    a->in = in;
    a->resized = resized;
    a->filter = s->filter;
    a->out = out;
    if (s->crop) {
        int64_t d = (int64_t)resized - crop;
        if (s->crop_round == PRE_CROP_FLOOR || d < 0)
            a->origin = s->crop_round == PRE_CROP_FLOOR ? floor_half(d) : -((-d) / 2);
        else
            a->origin = half_even(d);
    }
    int64_t lo = a->origin < 0 ? -a->origin : 0, hi = (int64_t)resized - a->origin;
    if (hi > a->out)
        hi = a->out;
    a->kept0 = (uint32_t)lo;
    a->kept = hi > lo ? (uint32_t)(hi - lo) : 0;
    if (a->filter == PRE_NEAREST) {
        a->taps = 1;
    } else {
        double scale = (double)in / resized, fs = scale < 1.0 ? 1.0 : scale;
        a->taps = (uint32_t)ceil(filter_support(a->filter) * fs) * 2 + 1;
    }
    if (a->kept) {
        uint32_t s0, e0, s1, e1;
        source_range(a, (uint32_t)(a->origin + a->kept0), &s0, &e0);
        source_range(a, (uint32_t)(a->origin + a->kept0 + a->kept - 1), &s1, &e1);
        a->first = s0;
        a->last = e1 > e0 ? e1 : e0;
    }
}

vkvit_status pre_geometry(const preprocess_spec *s, uint32_t w, uint32_t h, pre_geom *g)
{
    uint32_t rw = w, rh = h;
    if (s->resize == PRE_RESIZE_EXACT) {
        rw = s->resize_w;
        rh = s->resize_h;
    } else if (s->resize == PRE_RESIZE_SHORTEST) { /* torchvision / HF: int(n * long / short) */
        uint32_t n = s->resize_w;
        if (w <= h) {
            rw = n;
            rh = (uint32_t)((double)((uint64_t)n * h) / w);
        } else {
            rh = n;
            rw = (uint32_t)((double)((uint64_t)n * w) / h);
        }
    } else if (s->resize == PRE_RESIZE_KEEP_RATIO) { /* timm: round(side / min(h / th, w / tw)), in double */
        const double rh_ = (double)h / s->resize_h, rw_ = (double)w / s->resize_w, r = rh_ < rw_ ? rh_ : rw_;
        rh = (uint32_t)nearbyint(h / r); /* the default rounding mode: half to even, as Python's round */
        rw = (uint32_t)nearbyint(w / r);
        rh = rh ? rh : 1;
        rw = rw ? rw : 1;
    }
    const uint32_t width = preprocess_width(s);
    if (!s->crop && (rw != width || rh != s->size))
        return fail(VKVIT_ERROR_INPUT_SIZE, "a %ux%u image: the model's preprocessing (%s) neither resizes nor "
                    "crops it to %ux%u", w, h, s->source, width, s->size);
    axis_init(&g->x, s, w, rw, s->crop_w, width);
    axis_init(&g->y, s, h, rh, s->crop_h, s->size);
    return VKVIT_OK;
}

void pre_coefficients(const pre_axis *a, int32_t *out)
{
    uint32_t stride = a->taps + 2;
    double x = a->filter == PRE_NEAREST && a->kept ? nearest_start(a, (uint32_t)(a->origin + a->kept0)) : 0;
    for (uint32_t i = 0; i < a->kept; i++) {
        uint32_t pos = (uint32_t)(a->origin + a->kept0 + i);
        int32_t *o = out + (size_t)i * stride;
        memset(o, 0, stride * sizeof *o);
        if (a->filter == PRE_NEAREST) {
            o[0] = (int32_t)nearest_next(a, &x);
            o[1] = 1;
            o[2] = 1 << PRE_PRECISION_BITS;
            continue;
        }
        double center, support, ss, ww = 0.0;
        int64_t xmin, count;
        filter_bounds(a, pos, &center, &support, &ss, &xmin, &count);
        /* The weights are evaluated twice (sum, then normalise) instead of stored: the same
         * expression gives the same double both times. */
        for (int64_t j = 0; j < count; j++)
            ww += filter_eval(a->filter, ((double)(j + xmin) - center + 0.5) * ss);
        o[0] = (int32_t)xmin;
        o[1] = (int32_t)count;
        for (int64_t j = 0; j < count; j++) {
            double v = filter_eval(a->filter, ((double)(j + xmin) - center + 0.5) * ss);
            if (ww != 0.0)
                v /= ww;
            o[2 + j] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRE_PRECISION_BITS))
                             : (int32_t)(0.5 + v * (1 << PRE_PRECISION_BITS));
        }
    }
}

/* ---- the spec ---------------------------------------------------------------------------------------- */

static void summarise(preprocess_spec *s)
{
    char *p = s->summary;
    size_t n = sizeof s->summary, at = 0;
#define ADD(...) (at += (size_t)snprintf(p + at, at < n ? n - at : 0, __VA_ARGS__))
    if (s->resize == PRE_RESIZE_EXACT)
        ADD("resize to %ux%u (%s)", s->resize_w, s->resize_h, filter_name(s->filter));
    else if (s->resize == PRE_RESIZE_KEEP_RATIO)
        ADD("resize keeping the aspect to cover %ux%u (%s)", s->resize_w, s->resize_h, filter_name(s->filter));
    else if (s->resize == PRE_RESIZE_SHORTEST)
        ADD("resize shorter side to %u (%s)", s->resize_w, filter_name(s->filter));
    else
        ADD("no resize");
    if (s->crop)
        ADD(", centre crop %ux%u", s->crop_w, s->crop_h);
    ADD(", x %.8g", (double)s->rescale);
    ADD(", mean (");
    for (uint32_t c = 0; c < s->channels; c++)
        ADD("%s%.4g", c ? ", " : "", (double)s->mean[c]);
    ADD("), std (");
    for (uint32_t c = 0; c < s->channels; c++)
        ADD("%s%.4g", c ? ", " : "", (double)s->std[c]);
    ADD(")%s", s->channels == 1 ? ", luma" : "");
#undef ADD
}

/* The result must be the model's height x width (size x width). */
static vkvit_status check_output(const preprocess_spec *s, const char *name)
{
    const uint32_t width = preprocess_width(s);
    if (s->crop) {
        if (s->crop_w != width || s->crop_h != s->size)
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: crop_size %ux%u, but the model takes %ux%u images", name,
                        s->crop_w, s->crop_h, width, s->size);
    } else if (s->resize == PRE_RESIZE_SHORTEST || s->resize == PRE_RESIZE_KEEP_RATIO) {
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: size.shortest_edge without do_center_crop gives images of "
                    "varying shape; the model takes %ux%u", name, width, s->size);
    } else if (s->resize == PRE_RESIZE_EXACT && (s->resize_w != width || s->resize_h != s->size)) {
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: size %ux%u (height x width %ux%u) without a crop, but the model "
                    "takes %ux%u images", name, s->resize_w, s->resize_h, s->resize_h, s->resize_w, width, s->size);
    }
    for (uint32_t c = 0; c < s->channels; c++)
        if (!(s->std[c] > 0) || !isfinite(s->mean[c]) || !isfinite(s->std[c]))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: channel %u has mean %g, std %g (std must be > 0)", name, c,
                        (double)s->mean[c], (double)s->std[c]);
    if (!(s->rescale > 0) || !isfinite(s->rescale))
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: rescale_factor %g must be > 0", name, (double)s->rescale);
    return VKVIT_OK;
}

static void base(const vit_config *cfg, preprocess_spec *s)
{
    memset(s, 0, sizeof *s);
    s->channels = cfg->channels;
    s->size = cfg->image;
    s->size_w = cfg->image_w;
    s->resize = PRE_RESIZE_EXACT;
    s->resize_w = config_image_w(cfg);
    s->resize_h = cfg->image;
    s->filter = PRE_BILINEAR;
    s->crop_w = config_image_w(cfg);
    s->crop_h = cfg->image;
    s->rescale = 1.0f / 255.0f;
    for (uint32_t c = 0; c < CONFIG_MAX_CHANNELS; c++)
        s->mean[c] = s->std[c] = 0.5f;
}

/* timm's transforms_imagenet_eval resize for input_size height x width: the shorter side to
 * floor(size / crop_pct) with the interpolation when square (torchvision's Resize(int)), else ResizeKeepRatio to
 * floor(height / crop_pct) x floor(width / crop_pct), bilinear. */
static void timm_scale(preprocess_spec *s, uint32_t height, uint32_t width)
{
    s->resize = height == width ? PRE_RESIZE_SHORTEST : PRE_RESIZE_KEEP_RATIO;
    /* timm builds ResizeKeepRatio without its interpolation argument: bilinear, its default */
    s->filter = height == width ? s->timm_filter : PRE_BILINEAR;
    s->resize_w = (uint32_t)floor(width / s->crop_pct);
    s->resize_h = (uint32_t)floor(height / s->crop_pct);
}

static vkvit_status timm_interpolation(const char *name, const char *v, pre_filter *f)
{
    static const struct {
        const char *name;
        pre_filter f;
    } map[] = {{"bicubic", PRE_BICUBIC}, {"bilinear", PRE_BILINEAR}, {"nearest", PRE_NEAREST},
               {"lanczos", PRE_BICUBIC}, {"box", PRE_BILINEAR},       {"hamming", PRE_BILINEAR},
               {"random", PRE_BILINEAR}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(v, map[i].name)) {
            *f = map[i].f;
            return VKVIT_OK;
        }
    return fail(VKVIT_ERROR_BAD_CONFIG, "%s: pretrained_cfg.interpolation \"%s\" is not one of bicubic, bilinear, "
                "nearest, lanczos, box, hamming, random", name, v);
}

vkvit_status preprocess_spec_default(const vit_config *cfg, preprocess_spec *s)
{
    base(cfg, s);
    if (cfg->format != CONFIG_FORMAT_TIMM) {
        snprintf(s->source, sizeof s->source, "defaults (Hugging Face ViTImageProcessor's)");
        summarise(s);
        return check_output(s, s->source);
    }
    /* timm's eval transform: Resize(floor(size / crop_pct)) + CenterCrop(size). crop_pct is stored
     * as a float; re-rounding it to 6 significant digits recovers the decimal timm divides by in
     * double (224 / 0.7 must give 320, not 319). */
    snprintf(s->source, sizeof s->source, "timm pretrained_cfg in config.json");
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    double pct = (cfg->present & CONFIG_CROP_PCT) ? cfg->crop_pct : 0.875;
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", pct);
    s->crop_pct = strtod(buf, NULL);
    s->timm_filter = PRE_BICUBIC;
    if (cfg->present & CONFIG_INTERPOLATION) {
        vkvit_status e = timm_interpolation(s->source, cfg->interpolation, &s->timm_filter);
        if (e)
            return e;
    }
    timm_scale(s, cfg->image, config_image_w(cfg));
    s->crop = true;
    s->crop_round = PRE_CROP_HALF_EVEN;
    for (uint32_t c = 0; c < s->channels; c++) { /* a grey model without mean/std: the red entries */
        s->mean[c] = (cfg->present & CONFIG_MEAN) ? cfg->mean[c] : c < 3 ? imagenet_mean[c] : 0.5f;
        s->std[c] = (cfg->present & CONFIG_STD) ? cfg->std[c] : c < 3 ? imagenet_std[c] : 0.5f;
    }
    summarise(s);
    return check_output(s, s->source);
}

vkvit_status preprocess_spec_resize(preprocess_spec *s, uint32_t size)
{
    return preprocess_spec_resize_rect(s, size, size);
}

vkvit_status preprocess_spec_resize_rect(preprocess_spec *s, uint32_t height, uint32_t width)
{
    const uint32_t from_h = s->size, from_w = preprocess_width(s);
    if (s->crop_pct > 0) { /* timm: Resize(floor(size / crop_pct)) + CenterCrop(size), for the new size */
        timm_scale(s, height, width);
    } else if (s->resize == PRE_RESIZE_EXACT && !s->crop) {
        s->resize_w = width;
        s->resize_h = height;
    } else if (s->resize == PRE_RESIZE_EXACT) { /* resize, then crop: the same proportions on each axis */
        s->resize_w = (uint32_t)((uint64_t)s->resize_w * width / from_w);
        s->resize_h = (uint32_t)((uint64_t)s->resize_h * height / from_h);
    } else if (s->resize != PRE_RESIZE_NONE) { /* a shorter side: by the larger ratio, so the crop still fits */
        const bool by_w = (uint64_t)width * from_h > (uint64_t)height * from_w;
        s->resize_w = (uint32_t)((uint64_t)s->resize_w * (by_w ? width : height) / (by_w ? from_w : from_h));
        s->resize_h = (uint32_t)((uint64_t)s->resize_h * (by_w ? width : height) / (by_w ? from_w : from_h));
    }
    if (s->crop) {
        s->crop_w = width;
        s->crop_h = height;
    }
    s->size = height;
    s->size_w = width == height ? 0 : width;
    summarise(s);
    size_t at = strlen(s->summary);
    snprintf(s->summary + at, sizeof s->summary - at, " (for %ux%u; the checkpoint's spec is for %ux%u)", width,
             height, from_w, from_h);
    return check_output(s, s->source);
}

/* ---- preprocessor_config.json -------------------------------------------------------------------------- */

static bool is_side(const cJSON *j)
{
    return cJSON_IsNumber(j) && j->valuedouble >= 1 && j->valuedouble <= CONFIG_MAX_IMAGE * 4 &&
           j->valuedouble == floor(j->valuedouble);
}

/* An int (square) or {"height": h, "width": w}; with `shortest` also {"shortest_edge": n}. */
static vkvit_status get_size(const char *name, const cJSON *root, const char *key, bool shortest_ok,
                             pre_resize *mode, uint32_t *w, uint32_t *h)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j || cJSON_IsNull(j))
        return VKVIT_OK;
    const uint32_t limit = CONFIG_MAX_IMAGE * 4;
    if (is_side(j)) {
        *mode = PRE_RESIZE_EXACT;
        *w = *h = (uint32_t)j->valuedouble;
        return VKVIT_OK;
    }
    const cJSON *hh = cJSON_GetObjectItemCaseSensitive(j, "height"), *ww = cJSON_GetObjectItemCaseSensitive(j, "width"),
                *se = cJSON_GetObjectItemCaseSensitive(j, "shortest_edge");
    if (cJSON_IsObject(j) && hh && ww && is_side(hh) && is_side(ww) && !se) {
        *mode = PRE_RESIZE_EXACT;
        *w = (uint32_t)ww->valuedouble;
        *h = (uint32_t)hh->valuedouble;
        return VKVIT_OK;
    }
    if (cJSON_IsObject(j) && shortest_ok && se && is_side(se) && !hh && !ww) {
        if (cJSON_GetObjectItemCaseSensitive(j, "longest_edge"))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"%s\": longest_edge is not supported", name, key);
        *mode = PRE_RESIZE_SHORTEST;
        *w = *h = (uint32_t)se->valuedouble;
        return VKVIT_OK;
    }
    return fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"%s\" is not an integer in 1..%u or {\"height\": h, \"width\": w}%s",
                name, key, limit, shortest_ok ? " or {\"shortest_edge\": n}" : "");
}

/* A number (the same for every channel) or a list of one number per channel. */
static vkvit_status get_channels(const char *name, const cJSON *root, const char *key, uint32_t channels, float *v)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j || cJSON_IsNull(j))
        return VKVIT_OK;
    if (cJSON_IsNumber(j)) {
        for (uint32_t c = 0; c < channels; c++)
            v[c] = (float)j->valuedouble;
        return VKVIT_OK;
    }
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != (int)channels)
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"%s\" must be a number or a list of %u numbers (one per channel "
                    "of the model)", name, key, channels);
    uint32_t c = 0;
    for (const cJSON *e = j->child; e; e = e->next, c++) {
        if (!cJSON_IsNumber(e))
            return fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"%s\"[%u] is not a number", name, key, c);
        v[c] = (float)e->valuedouble;
    }
    return VKVIT_OK;
}

vkvit_status preprocess_spec_parse(const char *json, size_t len, const char *name, const vit_config *cfg,
                                   preprocess_spec *s)
{
    base(cfg, s);
    vkvit_status st;
    snprintf(s->source, sizeof s->source, "%s", name);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: not a JSON object", name);
    }
    bool do_resize = true, do_crop = false, do_rescale = true, do_normalize = true;
    pre_resize crop_mode = PRE_RESIZE_EXACT;
    const cJSON *resample = cJSON_GetObjectItemCaseSensitive(root, "resample"),
                *factor = cJSON_GetObjectItemCaseSensitive(root, "rescale_factor");
    if ((st = json_bool(name, root, "do_resize", &do_resize, NULL, 0)) || (st = json_bool(name, root, "do_center_crop", &do_crop, NULL, 0)) ||
        (st = json_bool(name, root, "do_rescale", &do_rescale, NULL, 0)) ||
        (st = json_bool(name, root, "do_normalize", &do_normalize, NULL, 0)) ||
        (st = get_size(name, root, "size", true, &s->resize, &s->resize_w, &s->resize_h)) ||
        (st = get_size(name, root, "crop_size", false, &crop_mode, &s->crop_w, &s->crop_h)) ||
        (st = get_channels(name, root, "image_mean", s->channels, s->mean)) ||
        (st = get_channels(name, root, "image_std", s->channels, s->std)))
        goto done;
    if (resample && !cJSON_IsNull(resample)) {
        /* PIL codes: 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING. The three
         * implemented filters stand in for the others by kind: LANCZOS (a windowed sinc with
         * negative lobes) -> bicubic; BOX and HAMMING (non-negative smoothing) -> bilinear. */
        static const pre_filter pil[6] = {PRE_NEAREST, PRE_BICUBIC, PRE_BILINEAR, PRE_BICUBIC, PRE_BILINEAR,
                                          PRE_BILINEAR};
        if (!cJSON_IsNumber(resample) || resample->valuedouble < 0 || resample->valuedouble > 5 ||
            resample->valuedouble != floor(resample->valuedouble)) {
            st = fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"resample\" is not a PIL filter code 0..5", name);
            goto done;
        }
        s->filter = pil[(int)resample->valuedouble];
    }
    if (factor && !cJSON_IsNull(factor)) {
        if (!cJSON_IsNumber(factor)) {
            st = fail(VKVIT_ERROR_BAD_CONFIG, "%s: \"rescale_factor\" is not a number", name);
            goto done;
        }
        s->rescale = (float)factor->valuedouble;
    }
    if (!do_resize)
        s->resize = PRE_RESIZE_NONE;
    s->crop = do_crop;
    s->crop_round = PRE_CROP_FLOOR;
    if (!do_rescale)
        s->rescale = 1.0f;
    if (!do_normalize)
        for (uint32_t c = 0; c < CONFIG_MAX_CHANNELS; c++) {
            s->mean[c] = 0.0f;
            s->std[c] = 1.0f;
        }
    summarise(s);
    st = check_output(s, name);
done:
    cJSON_Delete(root);
    return st;
}

vkvit_status preprocess_spec_load(const char *dir, const vit_config *cfg, preprocess_spec *out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    char *buf = NULL;
    size_t got = 0;
    vkvit_status s;
    switch (fs_read_file(path, 1u << 24, &buf, &got)) {
    case FS_OK:
        s = preprocess_spec_parse(buf, got, path, cfg, out);
        break;
    case FS_NOT_FOUND:
    case FS_NOT_REGULAR:
        return preprocess_spec_default(cfg, out);
    case FS_TOO_BIG:
        return fail(VKVIT_ERROR_BAD_CONFIG, "%s: more than 16 MiB is not a preprocessor config", path);
    case FS_NO_MEMORY:
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s", path);
    default:
        return fail(VKVIT_ERROR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    free(buf);
    return s;
}
