/* Image preprocessing on the host side: what a checkpoint wants done to a photo (the spec), and the
 * geometry + resampling coefficients of one image under that spec. The pixels themselves are
 * processed on the GPU (src/ops/preprocess.c, shaders/preprocess.comp); src/ref/preprocess.c is
 * the plain-C reference. Both use the coefficients computed here.
 *
 * The pipeline, as Hugging Face image processors and timm run it with PIL:
 *     RGBA8 -> (grey models: luma) -> resize -> centre crop -> x * rescale -> (x - mean[c]) / std[c]
 *
 * Resampling is PIL's (Pillow's Resample.c), reproduced bit for bit: separable, horizontal pass
 * first; each output pixel is a weighted sum of source pixels, weights = filter((src + 0.5 -
 * centre) / max(scale, 1)) normalised to sum 1, where centre = (out + 0.5) * scale and scale =
 * in / out, so downscaling antialiases (the filter's support widens by the scale). Weights are
 * quantised to 22-bit fixed point (computed in double, rounded half away from zero) and each pass
 * rounds its result to 8 bits with clamping, exactly as PIL does for 8-bit images. Nearest picks
 * source pixel floor(centre), with centre accumulated in double as PIL's affine path does.
 * Filters: bicubic (a = -0.5, support 2), bilinear (triangle, support 1), nearest.
 *
 * Usage:
 *     preprocess_spec spec;
 *     s = preprocess_spec_load(model_dir, &cfg, &spec);   // preprocessor_config.json, timm, defaults
 *     pre_geom g;
 *     s = pre_geometry(&spec, width, height, &g);          // sizes, crop, kept rows/columns
 *     int32_t *cx = malloc(pre_coeff_words(&g.x) * 4);
 *     pre_coefficients(&g.x, spec.filter, cx);             // per kept column: start, count, taps
 */
#ifndef VKVIT_PREPROCESS_H
#define VKVIT_PREPROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Fixed-point precision of the resampling weights: PIL's PRECISION_BITS for 8-bit images. */
#define PRE_PRECISION_BITS 22

typedef enum pre_filter {
    PRE_NEAREST = 0,   /* PIL 0 (NEAREST)                                                      */
    PRE_BILINEAR = 1,  /* PIL 2 (BILINEAR); also what PIL 4 (BOX) and 5 (HAMMING) map to       */
    PRE_BICUBIC = 2,   /* PIL 3 (BICUBIC); also what PIL 1 (LANCZOS) maps to                    */
} pre_filter;

typedef enum pre_resize {
    PRE_RESIZE_NONE = 0,     /* keep the image's size                                          */
    PRE_RESIZE_EXACT,        /* to resize_w x resize_h, aspect not kept                       */
    PRE_RESIZE_SHORTEST,     /* shorter side to resize_w, longer side int(n * long / short)    */
    PRE_RESIZE_KEEP_RATIO,   /* timm's ResizeKeepRatio for a non-square target resize_h x resize_w: both
                              * sides divided by r = min(h / resize_h, w / resize_w), rounded half to even */
} pre_resize;

/* How the centre crop's origin is rounded when (resized - crop) is odd. */
typedef enum pre_crop_round {
    PRE_CROP_FLOOR = 0,      /* Hugging Face: (size - crop) // 2 (also when padding)          */
    PRE_CROP_HALF_EVEN,      /* torchvision / timm: int(round((size - crop) / 2)), Python's round
                              * half to even; padding puts (crop - size) // 2 zeros first      */
} pre_crop_round;

typedef struct preprocess_spec {
    pre_resize resize;
    uint32_t resize_w, resize_h;   /* EXACT: the size; SHORTEST: resize_w is the shorter side    */
    pre_filter filter;
    bool crop;                     /* centre crop to crop_w x crop_h (zeros where it overhangs)  */
    uint32_t crop_w, crop_h;
    pre_crop_round crop_round;
    /* output[c] = (pixel * rescale - mean[c]) / std[c], pixel in 0..255 */
    float rescale;
    float mean[CONFIG_MAX_CHANNELS], std[CONFIG_MAX_CHANNELS];
    uint32_t channels;             /* the model's: 3 = RGB, 1 = luma (ITU-R 601-2 as PIL's "L"); images
                                    * cannot feed other channel counts                           */
    uint32_t size;                 /* the model's input height: the result is channels x size x width */
    uint32_t size_w;               /* the model's input width when it differs from size; 0 = size */
    double crop_pct;               /* timm: the crop_pct the resize came from (floor(size / crop_pct)); 0 else */
    pre_filter timm_filter;        /* timm: its interpolation, which only a square size's resize uses (below) */
    char source[160];              /* where the spec came from, for messages                     */
    char summary[320];             /* one line: "resize shortest edge to 256 (bicubic), ..."     */
} preprocess_spec;

/* The spec for a model whose config is `cfg` (complete and validated) and whose files are in `dir`:
 *   1. dir/preprocessor_config.json when present (Hugging Face image processor keys: do_resize,
 *      size {height, width} | {shortest_edge} | int, resample, do_center_crop, crop_size
 *      {height, width} | int, do_rescale, rescale_factor, do_normalize, image_mean, image_std;
 *      absent keys take ViTImageProcessor's defaults: resize to the model's size, bilinear, no
 *      crop, x/255, mean = std = 0.5);
 *   2. else, for a timm config.json, its pretrained_cfg: resize the shorter side to
 *      floor(size / crop_pct), centre crop size x size (torchvision rounding), interpolation,
 *      (a non-square model h x w: timm's ResizeKeepRatio to floor(h / crop_pct) x floor(w / crop_pct),
 *      centre crop h x w, as timm's transforms_imagenet_eval does for a tuple img_size; that resize is
 *      bilinear whatever the interpolation, since timm does not pass it to ResizeKeepRatio)
 *      mean, std; timm's defaults for absent keys (crop_pct 0.875, bicubic, ImageNet mean/std);
 *   3. else Hugging Face ViT's defaults: resize to size x size bilinear, x/255, mean = std = 0.5.
 * Errors: VKVIT_ERROR_BAD_CONFIG naming the file and the key (not JSON, a wrong type, a value out
 * of range, a result that is not the model's size x size, mean/std not one per channel or a
 * single number, std <= 0), VKVIT_ERROR_IO. Any channel count is accepted here; the image path
 * itself feeds 1- and 3-channel models only. */
vkvit_status preprocess_spec_load(const char *dir, const vit_config *cfg, preprocess_spec *out);
/* Step 1 from a file held in memory; `name` stands for it in messages. */
vkvit_status preprocess_spec_parse(const char *json, size_t len, const char *name, const vit_config *cfg,
                                   preprocess_spec *out);
/* Steps 2-3 (no preprocessor_config.json). */
vkvit_status preprocess_spec_default(const vit_config *cfg, preprocess_spec *out);

/* The same spec for a model run at `size` x `size` (vkvit_model_options.image_size): a timm crop_pct spec
 * resizes to floor(size / crop_pct) and crops size x size; a resize to the model's size becomes one to the new
 * size; a resize followed by a crop keeps its proportions (resize sides x size / old size, floored) and crops
 * size x size. The summary says so. Errors: check_output's (VKVIT_ERROR_BAD_CONFIG). */
vkvit_status preprocess_spec_resize(preprocess_spec *spec, uint32_t size);
/* The same for `height` x `width`: a timm crop_pct spec resizes as timm does for that input_size (the shorter
 * side to floor(size / crop_pct) when square, else ResizeKeepRatio to floor(height / crop_pct) x
 * floor(width / crop_pct)) and crops height x width; a resize to the model's size becomes one to height x width;
 * a resize followed by a crop scales each resize side by the new size over the old on its axis (a shorter-side
 * resize by the larger of the two ratios, so the crop fits) and crops height x width. */
vkvit_status preprocess_spec_resize_rect(preprocess_spec *spec, uint32_t height, uint32_t width);

/* The model's input width. */
static inline uint32_t preprocess_width(const preprocess_spec *s) { return s->size_w ? s->size_w : s->size; }

/* One axis of one image: source length `in` -> resized length `resized`; output position i in
 * [0, out) shows resized position origin + i, which exists for i in [kept0, kept0 + kept). */
typedef struct pre_axis {
    uint32_t in, resized, out;
    int64_t origin;
    uint32_t kept0, kept;
    uint32_t taps;           /* coefficients per kept position (PIL's ksize; 1 for nearest)    */
    uint32_t first, last;    /* the source range [first, last) the kept positions read from    */
    pre_filter filter;
} pre_axis;

typedef struct pre_geom {
    pre_axis x, y;
} pre_geom;

/* Geometry of a width x height image under `spec` (sizes already checked: 1..VKVIT_MAX_IMAGE_SIDE).
 * Errors: VKVIT_ERROR_INPUT_SIZE when the spec neither resizes nor crops and the image is not the
 * model's size. */
vkvit_status pre_geometry(const preprocess_spec *spec, uint32_t width, uint32_t height, pre_geom *out);

/* Words pre_coefficients writes: kept x (taps + 2). */
static inline uint64_t pre_coeff_words(const pre_axis *a) { return (uint64_t)a->kept * (a->taps + 2); }

/* For each kept position, in order: [start, count, w_0 .. w_{taps-1}]: the output is
 * sum_{j < count} w_j * src[start + j] in PRE_PRECISION_BITS fixed point (w_j = 0 for j >= count). */
void pre_coefficients(const pre_axis *a, int32_t *out);

/* PIL's clip8: rounds a fixed-point sum that already holds the +0.5 bias to 0..255. */
static inline uint32_t pre_clip8(int32_t v)
{
    if (v >= (1 << PRE_PRECISION_BITS << 8))
        return 255;
    if (v <= 0)
        return 0;
    return (uint32_t)v >> PRE_PRECISION_BITS;
}

/* ITU-R 601-2 luma as PIL's convert("L"): (R 19595 + G 38470 + B 7471 + 2^15) >> 16, i.e.
 * R 299/1000 + G 587/1000 + B 114/1000 in 16-bit fixed point, rounded. */
static inline uint32_t pre_luma(uint32_t rgba)
{
    return ((rgba & 0xff) * 19595u + ((rgba >> 8) & 0xff) * 38470u + ((rgba >> 16) & 0xff) * 7471u + 0x8000u) >> 16;
}

#endif
