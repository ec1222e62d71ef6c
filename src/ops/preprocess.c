#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "preprocess_copy.spv.h"
#include "preprocess_h.spv.h"
#include "preprocess_h_image.spv.h"
#include "preprocess_v.spv.h"

/* Pass 1's push constants: the first batch slot of the dispatch (slot + z), and the image's
 * format is _SRGB (IMAGE variant only). */
typedef struct h_push {
    uint32_t slot, srgb;
} h_push;

static const vk_shader copy_shader = {"preprocess (upload)", spv_preprocess_copy, sizeof spv_preprocess_copy, 4, 0, false};
static const vk_shader h_shader = {"preprocess (horizontal)", spv_preprocess_h, sizeof spv_preprocess_h, 3,
                                   sizeof(h_push), false};
/* Binding 1 is the application's image (vkvit_record): a sampled image. */
static const vk_shader h_image_shader = {"preprocess (horizontal, image)", spv_preprocess_h_image,
                                         sizeof spv_preprocess_h_image, 3, sizeof(h_push), false};

typedef struct v_push {
    float mean[4], std[4];
    uint32_t S, batch;             /* S: the output's height */
    float rescale;
    uint32_t W;                    /* the output's width */
} v_push;
static const vk_shader v_shader = {"preprocess (vertical)", spv_preprocess_v, sizeof spv_preprocess_v, 3,
                                   sizeof(v_push), false};

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

/* Adds one image's coefficient and scratch words to the sizes. */
static void measure_slot(const pre_geom *g, preprocess_sizes *sz)
{
    sz->meta += pre_coeff_words(&g->x) + pre_coeff_words(&g->y);
    sz->scratch += (uint64_t)(g->y.last - g->y.first) * g->x.kept;
}

static preprocess_sizes finish_sizes(preprocess_sizes sz)
{
    return (preprocess_sizes){round4(sz.meta), round4(sz.pixels), sz.scratch ? sz.scratch : 1};
}

vkvit_status preprocess_measure(const preprocess_spec *spec, const vkvit_image *im, uint32_t n, uint32_t batch,
                                preprocess_sizes *out)
{
    preprocess_sizes sz = {HEADER + (uint64_t)IMAGE_WORDS * batch, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        pre_geom g;
        vkvit_status s = geometry(spec, &im[i], i, &g);
        if (s)
            return s;
        measure_slot(&g, &sz);
        sz.pixels += (uint64_t)im[i].width * im[i].height;
    }
    *out = finish_sizes(sz);
    return VKVIT_OK;
}

/* Writes batch slot i's words: its pixels at word `pix` of the pixel buffer, rows `stride` words
 * apart; its resampled rows at scratch word `tmp`; its coefficient tables at meta word *co. */
static void pack_slot(uint32_t *meta, uint32_t i, const pre_geom *g, uint64_t pix, uint32_t stride, uint64_t tmp,
                      uint64_t *co)
{
    uint32_t *p = meta + HEADER + (size_t)IMAGE_WORDS * i;
    p[P_PIX] = (uint32_t)pix;
    p[P_WIDTH] = stride;
    p[P_ROW0] = g->y.first;
    p[P_ROWS] = g->y.last - g->y.first;
    p[P_TMP] = (uint32_t)tmp;
    p[P_KX0] = g->x.kept0;
    p[P_KW] = g->x.kept;
    p[P_KY0] = g->y.kept0;
    p[P_KH] = g->y.kept;
    p[P_HCO] = (uint32_t)*co;
    p[P_HTAPS] = g->x.taps;
    pre_coefficients(&g->x, (int32_t *)meta + *co);
    *co += pre_coeff_words(&g->x);
    p[P_VCO] = (uint32_t)*co;
    p[P_VTAPS] = g->y.taps;
    pre_coefficients(&g->y, (int32_t *)meta + *co);
    *co += pre_coeff_words(&g->y);
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
        uint32_t rows = g.y.last - g.y.first;
        pack_slot(meta, i, &g, pix, im[i].width, tmp, &co);
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

/* What both ops need: a spec the shaders handle, and meta/out spans that hold the header words and
 * the batch's output. */
static vkvit_status check_args(vkvit_context *ctx, const preprocess_spec *sp, uint32_t batch, vk_span staging_meta,
                               vk_span meta, vk_span out)
{
    if (sp->channels != 1 && sp->channels != 3)
        return fail(VKVIT_ERROR_UNSUPPORTED, "preprocess: %u channels (1 or 3)", sp->channels);
    if (batch == 0 || batch > ctx->max_workgroup_count[2] || sp->size == 0 || sp->size > ctx->max_workgroup_count[1])
        return fail(VKVIT_ERROR_UNSUPPORTED, "preprocess: batch %u of %ux%u images exceeds the device's workgroup "
                    "counts (%u, %u)", batch, preprocess_width(sp), sp->size, ctx->max_workgroup_count[2],
                    ctx->max_workgroup_count[1]);
    if (staging_meta.size < (uint64_t)(HEADER + IMAGE_WORDS * batch) * 4 || meta.size < staging_meta.size ||
        out.size < (uint64_t)batch * sp->channels * sp->size * preprocess_width(sp) * 4)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "preprocess: spans too small for batch %u", batch);
    return VKVIT_OK;
}

/* Pass 2 over every batch slot: meta + scratch -> out. */
static vkvit_status record_vertical(vk_cmd *cmd, vkvit_context *ctx, const preprocess_spec *sp, uint32_t batch,
                                    vk_span meta, vk_span scratch, vk_span out)
{
    const uint32_t spec = sp->channels;
    vk_pipeline *pv;
    vkvit_status s = vk_pipeline_get(ctx, &v_shader, &spec, 1, &pv);
    if (s)
        return s;
    v_push push = {.S = sp->size, .batch = batch, .rescale = sp->rescale, .W = preprocess_width(sp)};
    memcpy(push.mean, sp->mean, sizeof push.mean);
    memcpy(push.std, sp->std, sizeof push.std);
    vk_dispatch v = {.pipe = pv, .bufs = {meta, scratch, out}, .push = &push,
                     .groups = {div_up(preprocess_width(sp), WG), sp->size, batch}};
    if ((s = vk_cmd_dispatch(cmd, &v)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

vkvit_status op_preprocess(vk_cmd *cmd, vkvit_context *ctx, const preprocess_args *a)
{
    const preprocess_spec *sp = a->spec;
    vkvit_status s = check_args(ctx, sp, a->batch, a->staging_meta, a->meta, a->out);
    if (s)
        return s;
    if (a->pixels.size < a->staging_pixels.size)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "preprocess: pixel span smaller than its staging");
    const uint32_t spec = sp->channels;
    vk_pipeline *pc, *ph;
    if ((s = vk_pipeline_get(ctx, &copy_shader, &spec, 1, &pc)) || (s = vk_pipeline_get(ctx, &h_shader, &spec, 1, &ph)))
        return s;

    vk_dispatch copy = {.pipe = pc, .bufs = {a->staging_meta, a->staging_pixels, a->meta, a->pixels}};
    vk_span args = a->staging_meta;
    args.size = sizeof(VkDispatchIndirectCommand);
    if ((s = vk_cmd_dispatch_indirect(cmd, &copy, args)))
        return s;
    vk_cmd_barrier(cmd);

    h_push hp = {0, 0};
    vk_dispatch h = {.pipe = ph, .bufs = {a->meta, a->pixels, a->scratch}, .push = &hp};
    args.offset += H_RESIZE_GROUPS * 4;
    if ((s = vk_cmd_dispatch_indirect(cmd, &h, args)))
        return s;
    vk_cmd_barrier(cmd);
    return record_vertical(cmd, ctx, sp, a->batch, a->meta, a->scratch, a->out);
}

/* ---- images already on the device (vkvit_record) --------------------------------------------------- */

static vkvit_status source_geometry(const preprocess_spec *spec, const preprocess_source *src, uint32_t i,
                                    pre_geom *g)
{
    vkvit_status s = pre_geometry(spec, src->width, src->height, g);
    return s ? fail(s, "image %u: %s", i, vkvit_last_error()) : VKVIT_OK;
}

vkvit_status preprocess_measure_sources(const preprocess_spec *spec, const preprocess_source *src, uint32_t n,
                                        uint32_t batch, preprocess_sizes *out)
{
    preprocess_sizes sz = {HEADER + (uint64_t)IMAGE_WORDS * batch, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        pre_geom g;
        vkvit_status s = source_geometry(spec, &src[i], i, &g);
        if (s)
            return s;
        measure_slot(&g, &sz);
        if (src[i].buffer)
            sz.pixels += (uint64_t)src[i].width * src[i].height;
    }
    *out = finish_sizes(sz);
    return VKVIT_OK;
}

void preprocess_pack_sources(const preprocess_spec *spec, const preprocess_source *src, uint32_t n, uint32_t batch,
                             uint32_t *meta)
{
    uint64_t co = HEADER + (uint64_t)IMAGE_WORDS * batch, pix = 0, tmp = 0;
    memset(meta, 0, co * sizeof *meta);
    for (uint32_t i = 0; i < n; i++) {
        pre_geom g;
        (void)pre_geometry(spec, src[i].width, src[i].height, &g); /* checked by preprocess_measure_sources */
        pack_slot(meta, i, &g, pix, src[i].width, tmp, &co);
        if (src[i].buffer)
            pix += (uint64_t)src[i].width * src[i].height;
        tmp += (uint64_t)(g.y.last - g.y.first) * g.x.kept;
    }
    memset(meta + co, 0, (round4(co) - co) * sizeof *meta);
    meta[H_META_WORDS] = (uint32_t)round4(co);
    meta[H_IMAGES] = n;
}

/* vkCmdCopyBuffer of a buffer source's rows into `pixels` at word `pix`, packed (one region when
 * the rows already are). */
static vkvit_status copy_rows(vk_cmd *cmd, vkvit_context *ctx, const preprocess_source *src, vk_span pixels,
                              uint64_t pix)
{
    const VkDeviceSize row = (VkDeviceSize)src->width * 4, pitch = src->row_pitch ? src->row_pitch : row;
    const uint32_t n = pitch == row ? 1 : src->height;
    VkBufferCopy *r = malloc(n * sizeof *r);
    if (!r)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "preprocess: %u copy regions", n);
    for (uint32_t y = 0; y < n; y++)
        r[y] = (VkBufferCopy){src->offset + y * pitch, pixels.offset + pix * 4 + y * row,
                              n == 1 ? row * src->height : row};
    ctx->vk.vkCmdCopyBuffer(vk_cmd_handle(cmd), src->buffer, pixels.buf, n, r);
    free(r);
    return VKVIT_OK;
}

vkvit_status op_preprocess_sources(vk_cmd *cmd, vkvit_context *ctx, const preprocess_sources_args *a)
{
    const preprocess_spec *sp = a->spec;
    vkvit_status s = check_args(ctx, sp, a->batch, a->staging_meta, a->meta, a->out);
    if (s)
        return s;
    if (a->n == 0 || a->n > a->batch)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "preprocess: %u images in a batch of %u", a->n, a->batch);
    const uint32_t spec = sp->channels;
    vk_pipeline *ph, *phi;
    if ((s = vk_pipeline_get(ctx, &h_shader, &spec, 1, &ph)) ||
        (s = vk_pipeline_get_sampling(ctx, &h_image_shader, 1u << 1, &spec, 1, &phi)))
        return s;

    /* The coefficients (written at record time) and the buffer sources' pixels, every execution. */
    vk_cmd_copy(cmd, a->staging_meta, a->meta);
    uint64_t pix = 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->src[i].buffer) {
            if ((s = copy_rows(cmd, ctx, &a->src[i], a->pixels, pix)))
                return s;
            pix += (uint64_t)a->src[i].width * a->src[i].height;
        }
    vk_cmd_barrier(cmd);

    /* Pass 1, one dispatch per image: rows x kept columns, as the indirect dispatch of op_preprocess. */
    for (uint32_t i = 0; i < a->n; i++) {
        const preprocess_source *src = &a->src[i];
        pre_geom g;
        if ((s = source_geometry(sp, src, i, &g)))
            return s;
        h_push hp = {i, src->srgb ? 1u : 0u};
        vk_dispatch h = {.pipe = src->buffer ? ph : phi, .bufs = {a->meta, src->buffer ? a->pixels : a->meta, a->scratch},
                         .view = src->view, .view_layout = src->layout, .push = &hp,
                         .groups = {div_up(g.y.last - g.y.first, WG), g.x.kept, 1}};
        if (g.x.kept && (s = vk_cmd_dispatch(cmd, &h)))
            return s;
    }
    vk_cmd_barrier(cmd);
    return record_vertical(cmd, ctx, sp, a->batch, a->meta, a->scratch, a->out);
}
