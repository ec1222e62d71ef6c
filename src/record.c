/* vkvit_record: the preprocessing and the forward pass recorded into the application's command buffer,
 * from its VkImages or VkBuffers, into its buffers; vkvit_record_complete. A plan's state for it lives
 * in p->rec, made on first use. The recording is the plan's forward pass (plan_record_compute) between
 * a preprocessing of GPU-resident images (op_preprocess_sources) and copies of the outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "plan.h"
#include "record.h"

struct plan_record {
    vk_cmd *cmd;                   /* wraps the application's command buffer (vk_cmd_create_external) */
    vk_buffer staging_meta;        /* host-visible: resampling coefficients, written at record time   */
    vk_buffer meta, pixels, scratch;   /* device: preprocessing (pixels: copied buffer inputs)        */
    vk_buffer probs;               /* device: [batch][K] softmax, when asked for                     */
    VkImageView *views;            /* made for image inputs given without a view                     */
    uint32_t n_views;
    uint32_t recorded;             /* images in the current recording; 0 = none                      */
};

static vkvit_status record_state(struct vkvit_plan *p, struct plan_record **out)
{
    if (!p->rec && !(p->rec = calloc(1, sizeof *p->rec)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "plan: vkvit_record's state");
    *out = p->rec;
    return VKVIT_OK;
}

static void destroy_views(vkvit_context *ctx, struct plan_record *e)
{
    for (uint32_t i = 0; i < e->n_views; i++)
        ctx->vk.vkDestroyImageView(ctx->device, e->views[i], ctx->alloc);
    free(e->views);
    e->views = NULL;
    e->n_views = 0;
}

void record_free(struct vkvit_plan *p)
{
    struct plan_record *e = p->rec;
    if (!e)
        return;
    vk_cmd_destroy(e->cmd);
    destroy_views(p->ctx, e);
    vk_buffer *bufs[] = {&e->staging_meta, &e->meta, &e->pixels, &e->scratch, &e->probs};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        vk_buffer_destroy(p->ctx, bufs[i]);
    free(e);
    p->rec = NULL;
}

uint32_t record_recorded(const struct vkvit_plan *p) { return p->rec ? p->rec->recorded : 0; }

/* ---- vkvit_record: checking the application's inputs and outputs ---------------------------------------- */

static bool is_srgb(VkFormat f)
{
    switch (f) {
    case VK_FORMAT_R8_SRGB: case VK_FORMAT_R8G8_SRGB: case VK_FORMAT_R8G8B8_SRGB: case VK_FORMAT_B8G8R8_SRGB:
    case VK_FORMAT_R8G8B8A8_SRGB: case VK_FORMAT_B8G8R8A8_SRGB: case VK_FORMAT_A8B8G8R8_SRGB_PACK32:
    case VK_FORMAT_BC1_RGB_SRGB_BLOCK: case VK_FORMAT_BC1_RGBA_SRGB_BLOCK: case VK_FORMAT_BC2_SRGB_BLOCK:
    case VK_FORMAT_BC3_SRGB_BLOCK: case VK_FORMAT_BC7_SRGB_BLOCK: case VK_FORMAT_ETC2_R8G8B8_SRGB_BLOCK:
    case VK_FORMAT_ETC2_R8G8B8A1_SRGB_BLOCK: case VK_FORMAT_ETC2_R8G8B8A8_SRGB_BLOCK:
        return true;
    default: /* the ASTC sRGB formats are the even ones from 4x4 to 12x12 */
        return f >= VK_FORMAT_ASTC_4x4_SRGB_BLOCK && f <= VK_FORMAT_ASTC_12x12_SRGB_BLOCK && f % 2 == 0;
    }
}

static bool is_depth_stencil(VkFormat f)
{
    return f == VK_FORMAT_D16_UNORM || f == VK_FORMAT_X8_D24_UNORM_PACK32 || f == VK_FORMAT_D32_SFLOAT ||
           f == VK_FORMAT_S8_UINT || f == VK_FORMAT_D16_UNORM_S8_UINT || f == VK_FORMAT_D24_UNORM_S8_UINT ||
           f == VK_FORMAT_D32_SFLOAT_S8_UINT;
}

/* Checks image i and describes it as a preprocessing source (a view is made later). */
static vkvit_status check_input(const struct vkvit_plan *p, const vkvit_gpu_image *im, uint32_t i,
                                preprocess_source *src)
{
    if (!im->image == !im->buffer)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: image %u: set exactly one of image and buffer", i);
    if (!im->width || !im->height || im->width > VKVIT_MAX_IMAGE_SIDE || im->height > VKVIT_MAX_IMAGE_SIDE)
        return fail(VKVIT_ERROR_BAD_IMAGE, "vkvit_record: image %u is %ux%u; each side must be 1..%d", i, im->width,
                    im->height, VKVIT_MAX_IMAGE_SIDE);
    *src = (preprocess_source){.width = im->width, .height = im->height};
    if (im->buffer) {
        if (im->row_pitch && im->row_pitch < (VkDeviceSize)im->width * 4)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: image %u: row_pitch %llu is less than a row of "
                        "%u RGBA8 pixels (%u bytes)", i, (unsigned long long)im->row_pitch, im->width, im->width * 4);
        src->buffer = im->buffer;
        src->offset = im->offset;
        src->row_pitch = im->row_pitch;
        return VKVIT_OK;
    }
    VkImageLayout layout = im->layout ? im->layout : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    if (layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL && layout != VK_IMAGE_LAYOUT_GENERAL)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: image %u: layout %d; vkvit samples images in "
                    "VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL or VK_IMAGE_LAYOUT_GENERAL", i, (int)layout);
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(p->ctx->phys, im->format, &fp);
    if (im->format == VK_FORMAT_UNDEFINED || is_depth_stencil(im->format) ||
        !((fp.optimalTilingFeatures | fp.linearTilingFeatures) & VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT))
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_record: image %u: format %d is not a colour format '%s' can "
                    "sample (VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT)", i, (int)im->format, p->ctx->info.name);
    src->view = im->view;
    src->layout = layout;
    src->srgb = is_srgb(im->format);
    return VKVIT_OK;
}

static vkvit_status check_outputs(const struct vkvit_plan *p, const vkvit_record_outputs *o)
{
    const vkvit_gpu_buffer *b[4] = {&o->logits, &o->probabilities, &o->embeddings, &o->attention};
    static const char *const names[4] = {"logits", "probabilities", "embeddings", "attention"};
    for (int i = 0; i < 4; i++)
        if (b[i]->buffer && b[i]->offset % 4)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: the %s output's offset %llu is not a multiple "
                        "of 4", names[i], (unsigned long long)b[i]->offset);
    if ((o->logits.buffer || o->probabilities.buffer) && !p->model->dims.K)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_record: %s asked for, but the model is a backbone (no "
                    "classifier)", o->logits.buffer ? "logits" : "probabilities");
    if (o->attention.buffer && !p->maps)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: the attention output needs a plan made with "
                    "attention_maps");
    return VKVIT_OK;
}

/* ---- vkvit_record: resources ------------------------------------------------------------------------------- */

/* `b` of at least `bytes` (kept when big enough; the previous recording is invalid by now). */
static vkvit_status ensure(struct vkvit_plan *p, vk_buffer *b, uint64_t bytes, vk_mem_kind kind, const char *what)
{
    if (b->buf && b->size >= bytes)
        return VKVIT_OK;
    if (kind == VK_MEM_DEVICE && bytes > p->ctx->info.max_storage_buffer_range)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_record: these images need %llu bytes of %s in one binding, more "
                    "than this device's maxStorageBufferRange (%u); pass fewer or smaller images",
                    (unsigned long long)bytes, what, p->ctx->info.max_storage_buffer_range);
    vk_buffer_destroy(p->ctx, b);
    char name[96];
    snprintf(name, sizeof name, "vkvit_record's %s", what);
    return vk_buffer_create_named(p->ctx, bytes, kind, name, b);
}

static vkvit_status make_view(struct vkvit_plan *p, struct plan_record *e, const vkvit_gpu_image *im,
                              uint32_t i, preprocess_source *src)
{
    vkvit_context *ctx = p->ctx;
    /* Only sampling: an image with other usages (storage, attachment) may have a format whose view
     * could not have them. */
    VkImageViewUsageCreateInfo sampled = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_USAGE_CREATE_INFO,
                                          .usage = VK_IMAGE_USAGE_SAMPLED_BIT};
    VkImageViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .pNext = &sampled,
        .image = im->image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = im->format,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    VkResult r = ctx->vk.vkCreateImageView(ctx->device, &ci, ctx->alloc, &e->views[e->n_views]);
    if (r != VK_SUCCESS) {
        vkvit_status s = vk_fail(r, "vkCreateImageView");
        return fail(s, "vkvit_record: image %u: a view of the image could not be made: %s", i, vk_result_string(r));
    }
    src->view = e->views[e->n_views++];
    return VKVIT_OK;
}

/* Sources for the preprocessing op, views made where needed, buffers sized, coefficients packed. */
static vkvit_status prepare(struct vkvit_plan *p, struct plan_record *e, const vkvit_gpu_image *images, uint32_t n,
                            const vkvit_record_outputs *out, preprocess_source *src, preprocess_sizes *sz)
{
    const preprocess_spec *spec = &p->model->pre;
    vkvit_status s;
    for (uint32_t i = 0; i < n; i++)
        if ((s = check_input(p, &images[i], i, &src[i])))
            return s;
    if ((s = preprocess_measure_sources(spec, src, n, p->batch, sz)))
        return fail(s, "vkvit_record: %s", vkvit_last_error());
    if (!(e->views = calloc(n, sizeof *e->views)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "vkvit_record: image views");
    for (uint32_t i = 0; i < n; i++)
        if (images[i].image && !images[i].view && (s = make_view(p, e, &images[i], i, &src[i])))
            return s;
    const uint64_t probs = out->probabilities.buffer ? (uint64_t)p->batch * p->model->dims.K * 4 : 0;
    if ((s = ensure(p, &e->staging_meta, sz->meta * 4, VK_MEM_HOST, "resampling coefficients (staging)")) ||
        (s = ensure(p, &e->meta, sz->meta * 4, VK_MEM_DEVICE, "resampling coefficients")) ||
        (s = ensure(p, &e->scratch, sz->scratch * 4, VK_MEM_DEVICE, "resampled rows")) ||
        (sz->pixels && (s = ensure(p, &e->pixels, sz->pixels * 4, VK_MEM_DEVICE, "RGBA pixels"))) ||
        (probs && (s = ensure(p, &e->probs, probs, VK_MEM_DEVICE, "probabilities"))))
        return s;
    preprocess_pack_sources(spec, src, n, p->batch, e->staging_meta.map);
    return VKVIT_OK;
}

/* ---- vkvit_record: the commands ---------------------------------------------------------------------------- */

static void copy(vk_cmd *cmd, const struct vkvit_plan *p, VkBuffer src, VkBuffer dst, const VkBufferCopy *r,
                 uint32_t n)
{
    p->ctx->vk.vkCmdCopyBuffer(vk_cmd_handle(cmd), src, dst, n, r);
}

/* The outputs into the plan's io buffer (for the getters and vkvit_verify) and the application's. */
static vkvit_status record_outputs(struct vkvit_plan *p, struct plan_record *e, uint32_t n,
                                   const vkvit_record_outputs *o)
{
    const vit_dims *d = &p->model->dims;
    vk_cmd *c = e->cmd;
    VkBuffer arena = p->arena.buf, io = p->io.buf;
    VkBufferCopy r[5] = {{p->input.offset, p->io_input, p->input.size},
                         {p->pooled.offset, p->io_pooled, p->pooled.size},
                         {p->logits.offset, p->io_logits, p->logits.size},
                         {p->pre.offset, p->io_pre, p->pre.size},
                         {p->attn.offset, p->io_attn, p->attn.size}};
    copy(c, p, arena, io, r, 2 + (d->K ? 1 : 0));
    if (d->R)
        copy(c, p, arena, io, &r[3], 1);
    if (p->maps)
        copy(c, p, arena, io, &r[4], 1);
    if (p->all_tokens)
        copy(c, p, arena, io, &(VkBufferCopy){p->tokens.offset, p->io_tokens, p->tokens.size}, 1);
    const VkDeviceSize per_k = (VkDeviceSize)d->K * 4;
    const VkBufferCopy logits = {p->logits.offset, o->logits.offset, n * per_k},
                       probs = {0, o->probabilities.offset, n * per_k};
    if (o->logits.buffer)
        copy(c, p, arena, o->logits.buffer, &logits, 1);
    if (o->probabilities.buffer)
        copy(c, p, e->probs.buf, o->probabilities.buffer, &probs, 1);
    /* embeddings: plan_embedding_span (a pre-logits row, or the class token of pooled [B][prefix*D]);
     * attention: [L][stride] -> [n][L][T] */
    uint32_t regions = n * (o->embeddings.buffer ? 1 : 0) + n * d->L * (o->attention.buffer ? 1 : 0);
    VkBufferCopy *rr = regions ? malloc(regions * sizeof *rr) : NULL;
    if (regions && !rr)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "vkvit_record: %u copy regions", regions);
    if (o->embeddings.buffer) {
        for (uint32_t i = 0; i < n; i++)
            rr[i] = (VkBufferCopy){plan_embedding_span(p, i).offset, o->embeddings.offset + (VkDeviceSize)i * d->E * 4,
                                   (VkDeviceSize)d->E * 4};
        copy(c, p, arena, o->embeddings.buffer, rr, n);
    }
    if (o->attention.buffer) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t l = 0; l < d->L; l++)
                rr[i * d->L + l] = (VkBufferCopy){
                    p->attn.offset + ((VkDeviceSize)l * p->attn_layer_stride + (VkDeviceSize)i * d->T) * 4,
                    o->attention.offset + ((VkDeviceSize)i * d->L + l) * d->T * 4, (VkDeviceSize)d->T * 4};
        copy(c, p, arena, o->attention.buffer, rr, n * d->L);
    }
    free(rr);
    /* Everything written -> the host (io, and host-visible application buffers) after the fence. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    p->ctx->vk.vkCmdPipelineBarrier(vk_cmd_handle(c), VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                    VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    return VKVIT_OK;
}

static vkvit_status record_commands(struct vkvit_plan *p, struct plan_record *e, VkCommandBuffer cb,
                                    const preprocess_source *src, const preprocess_sizes *sz, uint32_t n,
                                    const vkvit_record_outputs *out)
{
    vkvit_status s = vk_cmd_attach(e->cmd, cb);
    if (s)
        return s;
    vk_cmd_barrier(e->cmd); /* after earlier compute/transfer work in the queue (an earlier execution) */
    preprocess_sources_args pa = {
        .spec = &p->model->pre, .batch = p->batch, .n = n, .src = src,
        .staging_meta = vk_span_of(&e->staging_meta, 0, sz->meta * 4), .meta = vk_whole(&e->meta),
        .pixels = e->pixels.buf ? vk_whole(&e->pixels) : (vk_span){0}, .scratch = vk_whole(&e->scratch),
        .out = p->input};
    softmax_args sm = {.rows = n, .K = p->model->dims.K, .x = p->logits, .y = e->probs.buf ? vk_whole(&e->probs)
                                                                                         : (vk_span){0}};
    if ((s = op_preprocess_sources(e->cmd, p->ctx, &pa)))
        s = fail(s, "vkvit_record: preprocessing: %s", vkvit_last_error());
    else if ((s = plan_record_compute(p, e->cmd)))
        s = fail(s, "vkvit_record: %s", vkvit_last_error());
    else if (out->probabilities.buffer && (s = op_softmax(e->cmd, p->ctx, &sm)))
        s = fail(s, "vkvit_record: probabilities: %s", vkvit_last_error());
    else
        s = record_outputs(p, e, n, out);
    vk_cmd_detach(e->cmd);
    return s;
}

VKVIT_API vkvit_status vkvit_record(vkvit_plan *p, VkCommandBuffer cb, const vkvit_gpu_image *images, uint32_t n,
                                    const vkvit_record_outputs *outputs)
{
    if (!p || !cb || !images)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: NULL %s", !p ? "plan" : !cb ? "command buffer" : "images");
    if (n == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record: no images (n = 0)");
    if (n > p->batch)
        return fail(VKVIT_ERROR_BATCH_TOO_LARGE, "vkvit_record: %u images, but the plan was made for batch %u", n,
                    p->batch);
    if (p->model->pre.channels != 1 && p->model->pre.channels != 3)
        return fail(VKVIT_ERROR_UNSUPPORTED, "vkvit_record: the model takes %u channels; images can feed 1-channel "
                    "(luma) and 3-channel (RGB) models", p->model->pre.channels);
    const vkvit_record_outputs none = {0}, *out = outputs ? outputs : &none;
    struct plan_record *e = NULL;
    vkvit_status s;
    if ((s = check_outputs(p, out)) || (s = record_state(p, &e)) || (s = plan_wait(p)))
        return s;
    /* The previous recording ends here (it must not be pending: see vkvit.h). */
    destroy_views(p->ctx, e);
    e->recorded = 0;
    p->last_n = 0;
    if (!e->cmd && (s = vk_cmd_create_external(p->ctx, &e->cmd)))
        return s;
    preprocess_source *src = calloc(n, sizeof *src);
    if (!src)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "vkvit_record: %u images", n);
    preprocess_sizes sz;
    if (!(s = prepare(p, e, images, n, out, src, &sz)) && !(s = record_commands(p, e, cb, src, &sz, n, out)))
        e->recorded = n;
    free(src);
    return s;
}

VKVIT_API vkvit_status vkvit_record_complete(vkvit_plan *p)
{
    if (!p)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record_complete: plan is NULL");
    if (!p->rec || !p->rec->recorded)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_record_complete: nothing has been recorded with vkvit_record "
                    "on this plan");
    p->last_n = p->rec->recorded;
    return VKVIT_OK;
}
