#include "ops.h"

#include <string.h>

#include "preprocess_copy.spv.h"
#include "preprocess_h.spv.h"
#include "preprocess_v.spv.h"

static const vk_shader copy_shader = {"preprocess (upload)", spv_preprocess_copy, sizeof spv_preprocess_copy, 4, 0};
static const vk_shader h_shader = {"preprocess (horizontal)", spv_preprocess_h, sizeof spv_preprocess_h, 3, 0};

typedef struct v_push {
    float mean[4], std[4];
    uint32_t S, batch;
    float rescale;
    uint32_t pad;
} v_push;
static const vk_shader v_shader = {"preprocess (vertical)", spv_preprocess_v, sizeof spv_preprocess_v, 3,
                                   sizeof(v_push)};

enum { WG = 64, HEADER = 16, IMAGE_WORDS = 16 };
/* header words */
enum { H_COPY_GROUPS = 0, H_RESIZE_GROUPS = 3, H_META_WORDS = 6, H_PIXEL_WORDS = 7, H_IMAGES = 8 };
/* per-image words, as in shaders/preprocess.comp */
enum { P_PIX, P_WIDTH, P_ROW0, P_ROWS, P_TMP, P_KX0, P_KW, P_KY0, P_KH, P_HCO, P_HTAPS, P_VCO, P_VTAPS };

static uint64_t round4(uint64_t w) { return (w + 3) / 4 * 4; }

static vkvit_status geometry(const preprocess_spec *spec, const vkvit_image *im, uint32_t i, pre_geom *g)
{
    vkvit_status s = pre_geometry(spec, im->width, im->height, g);
    return s ? fail(s, "image %u: %s", i, vkvit_last_error()) : VKVIT_OK;
}

vkvit_status preprocess_measure(const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch,
                                preprocess_sizes *out)
{
    uint64_t meta = HEADER + (uint64_t)IMAGE_WORDS * batch, pixels = 0, scratch = 0;
    for (uint32_t i = 0; i < n; i++) {
        pre_geom g;
        vkvit_status s = geometry(spec, &im[i], i, &g);
        if (s)
            return s;
        meta += pre_coeff_words(&g.x) + pre_coeff_words(&g.y);
        pixels += (uint64_t)im[i].width * im[i].height;
        scratch += (uint64_t)(g.y.last - g.y.first) * g.x.kept;
    }
    *out = (preprocess_sizes){round4(meta), round4(pixels), scratch ? scratch : 1};
    return VKVIT_OK;
}

void preprocess_pack(const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch, uint32_t *meta,
                     uint32_t *pixels)
{
    uint64_t co = HEADER + (uint64_t)IMAGE_WORDS * batch, pix = 0, tmp = 0;
    uint32_t max_kw = 1, max_rows = 1;
    memset(meta, 0, co * sizeof *meta);
    for (uint32_t i = 0; i < n; i++) {
        pre_geom g;
        (void)pre_geometry(spec, im[i].width, im[i].height, &g); /* checked by preprocess_measure */
        uint32_t *p = meta + HEADER + (size_t)IMAGE_WORDS * i, rows = g.y.last - g.y.first;
        p[P_PIX] = (uint32_t)pix;
        p[P_WIDTH] = im[i].width;
        p[P_ROW0] = g.y.first;
        p[P_ROWS] = rows;
        p[P_TMP] = (uint32_t)tmp;
        p[P_KX0] = g.x.kept0;
        p[P_KW] = g.x.kept;
        p[P_KY0] = g.y.kept0;
        p[P_KH] = g.y.kept;
        p[P_HCO] = (uint32_t)co;
        p[P_HTAPS] = g.x.taps;
        pre_coefficients(&g.x, (int32_t *)meta + co);
        co += pre_coeff_words(&g.x);
        p[P_VCO] = (uint32_t)co;
        p[P_VTAPS] = g.y.taps;
        pre_coefficients(&g.y, (int32_t *)meta + co);
        co += pre_coeff_words(&g.y);
        size_t words = (size_t)im[i].width * im[i].height;
        memcpy(pixels + pix, im[i].rgba, words * 4);
        pix += words;
        tmp += (uint64_t)rows * g.x.kept;
        max_kw = g.x.kept > max_kw ? g.x.kept : max_kw;
        max_rows = rows > max_rows ? rows : max_rows;
    }
    memset(meta + co, 0, (round4(co) - co) * sizeof *meta);
    memset(pixels + pix, 0, (round4(pix) - pix) * sizeof *pixels);
    co = round4(co);
    pix = round4(pix);
    groups_1d(div_up((uint32_t)((co + pix) / 4), WG), meta + H_COPY_GROUPS);
    meta[H_RESIZE_GROUPS + 0] = div_up(max_rows, WG); /* workgroups of 64 rows x 1 column */
    meta[H_RESIZE_GROUPS + 1] = max_kw;
    meta[H_RESIZE_GROUPS + 2] = n;
    meta[H_META_WORDS] = (uint32_t)co;
    meta[H_PIXEL_WORDS] = (uint32_t)pix;
    meta[H_IMAGES] = n;
}

vkvit_status op_preprocess(vk_cmd *cmd, vkvit_context *ctx, const preprocess_args *a)
{
    const preprocess_spec *sp = a->spec;
    if (sp->channels != 1 && sp->channels != 3)
        return fail(VKVIT_ERROR_UNSUPPORTED, "preprocess: %u channels (1 or 3)", sp->channels);
    if (a->batch == 0 || a->batch > ctx->max_workgroup_count[2] || sp->size == 0 ||
        sp->size > ctx->max_workgroup_count[1])
        return fail(VKVIT_ERROR_UNSUPPORTED, "preprocess: batch %u of %ux%u images exceeds the device's workgroup "
                    "counts (%u, %u)", a->batch, sp->size, sp->size, ctx->max_workgroup_count[2],
                    ctx->max_workgroup_count[1]);
    uint64_t header_bytes = (uint64_t)(HEADER + IMAGE_WORDS * a->batch) * 4;
    if (a->staging_meta.size < header_bytes || a->meta.size < a->staging_meta.size ||
        a->pixels.size < a->staging_pixels.size || a->out.size < (uint64_t)a->batch * sp->channels * sp->size * sp->size * 4)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "preprocess: spans too small for batch %u", a->batch);
    const uint32_t spec = sp->channels;
    vk_pipeline *pc, *ph, *pv;
    vkvit_status s;
    if ((s = vk_pipeline_get(ctx, &copy_shader, &spec, 1, &pc)) || (s = vk_pipeline_get(ctx, &h_shader, &spec, 1, &ph)) ||
        (s = vk_pipeline_get(ctx, &v_shader, &spec, 1, &pv)))
        return s;

    vk_dispatch copy = {.pipe = pc, .bufs = {a->staging_meta, a->staging_pixels, a->meta, a->pixels}};
    vk_span args = a->staging_meta;
    args.size = sizeof(VkDispatchIndirectCommand);
    if ((s = vk_cmd_dispatch_indirect(cmd, &copy, args)))
        return s;
    vk_cmd_barrier(cmd);

    vk_dispatch h = {.pipe = ph, .bufs = {a->meta, a->pixels, a->scratch}};
    args.offset += H_RESIZE_GROUPS * 4;
    if ((s = vk_cmd_dispatch_indirect(cmd, &h, args)))
        return s;
    vk_cmd_barrier(cmd);

    v_push push = {.S = sp->size, .batch = a->batch, .rescale = sp->rescale};
    memcpy(push.mean, sp->mean, sizeof push.mean);
    memcpy(push.std, sp->std, sizeof push.std);
    vk_dispatch v = {.pipe = pv, .bufs = {a->meta, a->scratch, a->out}, .push = &push,
                     .groups = {div_up(sp->size, WG), sp->size, a->batch}};
    if ((s = vk_cmd_dispatch(cmd, &v)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}
