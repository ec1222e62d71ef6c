/* Buffers and their memory; blocking host <-> device copies for uploads and readback. */
#include "vk.h"

#include <string.h>

static int find_memory_type(const vkvit_context *ctx, uint32_t type_bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++)
        if ((type_bits & (1u << i)) && (ctx->mem_props.memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

vkvit_status vk_buffer_create(vkvit_context *ctx, VkDeviceSize size, vk_mem_kind kind, vk_buffer *out)
{
    return vk_buffer_create_named(ctx, size, kind, NULL, out);
}

/* Counts `bytes` of VkDeviceMemory against the budget; false (nothing counted) if over it. */
static bool budget_take(vkvit_context *ctx, VkDeviceSize bytes, uint64_t *in_use)
{
    mtx_lock(&ctx->lock);
    *in_use = ctx->memory_bytes;
    bool ok = !ctx->budget || (bytes <= ctx->budget && ctx->memory_bytes <= ctx->budget - bytes);
    if (ok) {
        ctx->memory_bytes += bytes;
        if (ctx->memory_bytes > ctx->memory_peak)
            ctx->memory_peak = ctx->memory_bytes;
    }
    mtx_unlock(&ctx->lock);
    return ok;
}

static void budget_give(vkvit_context *ctx, VkDeviceSize bytes)
{
    mtx_lock(&ctx->lock);
    ctx->memory_bytes -= bytes;
    mtx_unlock(&ctx->lock);
}

vkvit_status vk_buffer_create_named(vkvit_context *ctx, VkDeviceSize size, vk_mem_kind kind, const char *what,
                                    vk_buffer *out)
{
    memset(out, 0, sizeof *out);
    if (!what)
        what = "a buffer";
    if (size == 0)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s of 0 bytes", what);
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VK_CHECK(ctx->vk.vkCreateBuffer(ctx->device, &bci, ctx->alloc, &out->buf));
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, out->buf, &req);

    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type;
    if (kind == VK_MEM_DEVICE) {
        type = find_memory_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    } else {
        type = find_memory_type(ctx, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0)
            type = find_memory_type(ctx, req.memoryTypeBits, host);
    }
    if (type < 0)
        type = find_memory_type(ctx, req.memoryTypeBits, 0);
    if (type < 0) {
        vk_buffer_destroy(ctx, out);
        return fail(VKVIT_ERROR_UNSUPPORTED, "no memory type for a %s buffer",
                    kind == VK_MEM_DEVICE ? "device" : "host");
    }
    uint64_t in_use;
    if (!budget_take(ctx, req.size, &in_use)) {
        vk_buffer_destroy(ctx, out);
        return fail(VKVIT_ERROR_OUT_OF_DEVICE_MEMORY, "%s: allocating %llu bytes of %s memory would take vkvit's "
                    "device memory from %llu to %llu bytes, past the budget of %llu bytes "
                    "(vkvit_context_options.device_memory_budget)", what, (unsigned long long)req.size,
                    kind == VK_MEM_DEVICE ? "device" : "host-visible", (unsigned long long)in_use,
                    (unsigned long long)(in_use + req.size), (unsigned long long)ctx->budget);
    }
    out->mem_size = req.size;
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    VkResult r = ctx->vk.vkAllocateMemory(ctx->device, &ai, ctx->alloc, &out->mem);
    if (r == VK_SUCCESS)
        r = ctx->vk.vkBindBufferMemory(ctx->device, out->buf, out->mem, 0);
    VkMemoryPropertyFlags flags = ctx->mem_props.memoryTypes[type].propertyFlags;
    if (r == VK_SUCCESS && (flags & host) == host)
        r = ctx->vk.vkMapMemory(ctx->device, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map);
    if (r != VK_SUCCESS) {
        vk_buffer_destroy(ctx, out);
        vkvit_status s = vk_fail(r, "allocating buffer memory");
        return fail(s, "%s: allocating %llu bytes of %s memory failed: %s", what, (unsigned long long)size,
                    kind == VK_MEM_DEVICE ? "device" : "host", vk_result_string(r));
    }
    out->size = size;
    mtx_lock(&ctx->lock);
    ctx->bytes_allocated += size;
    ctx->allocations++;
    mtx_unlock(&ctx->lock);
    return VKVIT_OK;
}

void vk_buffer_destroy(vkvit_context *ctx, vk_buffer *b)
{
    if (b->size) { /* set only once vk_buffer_create succeeded */
        mtx_lock(&ctx->lock);
        ctx->bytes_allocated -= b->size;
        ctx->allocations--;
        mtx_unlock(&ctx->lock);
    }
    if (b->mem_size) /* counted by budget_take */
        budget_give(ctx, b->mem_size);
    if (b->buf)
        ctx->vk.vkDestroyBuffer(ctx->device, b->buf, ctx->alloc);
    if (b->mem)
        ctx->vk.vkFreeMemory(ctx->device, b->mem, ctx->alloc); /* unmaps implicitly */
    memset(b, 0, sizeof *b);
}

/* Records `record` into a one-shot command buffer on the context's queue and waits. */
typedef void (*oneshot_fn)(vkvit_context *ctx, VkCommandBuffer cb, const void *arg);

static vkvit_status oneshot(vkvit_context *ctx, oneshot_fn record, const void *arg)
{
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    vkvit_status s = VKVIT_OK;
    VkResult r;
    mtx_lock(&ctx->lock);
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->transfer_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    if ((r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &ai, &cb)) != VK_SUCCESS) {
        s = vk_fail(r, "vkAllocateCommandBuffers (transfer)");
        goto done;
    }
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = ctx->vk.vkCreateFence(ctx->device, &fci, ctx->alloc, &fence)) != VK_SUCCESS) {
        s = vk_fail(r, "vkCreateFence (transfer)");
        goto done;
    }
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    ctx->vk.vkBeginCommandBuffer(cb, &bi);
    record(ctx, cb, arg);
    /* Make the transfer's writes visible to later compute work and to the host. */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    };
    ctx->vk.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb,
                                 0, NULL, 0, NULL);
    if ((r = ctx->vk.vkEndCommandBuffer(cb)) != VK_SUCCESS) {
        s = vk_fail(r, "vkEndCommandBuffer (transfer)");
        goto done;
    }
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    if ((r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, fence)) != VK_SUCCESS) {
        s = vk_fail(r, "vkQueueSubmit (transfer)");
        goto done;
    }
    if ((r = ctx->vk.vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX)) != VK_SUCCESS)
        s = vk_fail(r, "vkWaitForFences (transfer)");
done:
    if (fence)
        ctx->vk.vkDestroyFence(ctx->device, fence, ctx->alloc);
    if (cb)
        ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->transfer_pool, 1, &cb);
    mtx_unlock(&ctx->lock);
    return s;
}

typedef struct copy_arg {
    VkBuffer src, dst;
    VkBufferCopy region;
} copy_arg;

static void record_copy(vkvit_context *ctx, VkCommandBuffer cb, const void *arg)
{
    const copy_arg *c = arg;
    ctx->vk.vkCmdCopyBuffer(cb, c->src, c->dst, 1, &c->region);
}

typedef struct fill_arg {
    VkBuffer buf;
    VkDeviceSize offset, size;
    uint32_t pattern;
} fill_arg;

static void record_fill(vkvit_context *ctx, VkCommandBuffer cb, const void *arg)
{
    const fill_arg *f = arg;
    ctx->vk.vkCmdFillBuffer(cb, f->buf, f->offset, f->size, f->pattern);
}

static vkvit_status check_range(const vk_buffer *b, VkDeviceSize offset, size_t bytes, const char *what)
{
    if (offset > b->size || bytes > b->size - offset)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s of %zu bytes at offset %llu outside a %llu-byte buffer",
                    what, bytes, (unsigned long long)offset, (unsigned long long)b->size);
    return VKVIT_OK;
}

vkvit_status vk_buffer_write(vkvit_context *ctx, vk_buffer *dst, VkDeviceSize offset, const void *src,
                             size_t bytes)
{
    vkvit_status s = check_range(dst, offset, bytes, "buffer write");
    if (s || bytes == 0)
        return s;
    if (dst->map) {
        memcpy((char *)dst->map + offset, src, bytes);
        return VKVIT_OK;
    }
    vk_buffer staging;
    if ((s = vk_buffer_create(ctx, bytes, VK_MEM_HOST, &staging)))
        return s;
    memcpy(staging.map, src, bytes);
    copy_arg c = {staging.buf, dst->buf, {0, offset, bytes}};
    s = oneshot(ctx, record_copy, &c);
    vk_buffer_destroy(ctx, &staging);
    return s;
}

vkvit_status vk_buffer_read(vkvit_context *ctx, vk_buffer *src, VkDeviceSize offset, void *dst, size_t bytes)
{
    vkvit_status s = check_range(src, offset, bytes, "buffer read");
    if (s || bytes == 0)
        return s;
    if (src->map) {
        memcpy(dst, (const char *)src->map + offset, bytes);
        return VKVIT_OK;
    }
    vk_buffer staging;
    if ((s = vk_buffer_create(ctx, bytes, VK_MEM_HOST, &staging)))
        return s;
    copy_arg c = {src->buf, staging.buf, {offset, 0, bytes}};
    if (!(s = oneshot(ctx, record_copy, &c)))
        memcpy(dst, staging.map, bytes);
    vk_buffer_destroy(ctx, &staging);
    return s;
}

vkvit_status vk_buffer_fill(vkvit_context *ctx, vk_buffer *b, VkDeviceSize offset, VkDeviceSize bytes,
                            uint32_t pattern)
{
    vkvit_status s = check_range(b, offset, (size_t)bytes, "buffer fill");
    if (s || bytes == 0)
        return s;
    if (offset % 4 || bytes % 4)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "buffer fill: offset and size must be multiples of 4");
    fill_arg f = {b->buf, offset, bytes, pattern};
    return oneshot(ctx, record_fill, &f);
}

VKVIT_API vkvit_status vkvit_context_memory(const vkvit_context *cctx, vkvit_memory_info *out)
{
    if (!cctx || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_context_memory: NULL argument");
    vkvit_context *ctx = (vkvit_context *)cctx; /* only its lock changes */
    mtx_lock(&ctx->lock);
    *out = (vkvit_memory_info){ctx->memory_bytes, ctx->memory_peak, ctx->budget, ctx->allocations};
    mtx_unlock(&ctx->lock);
    return VKVIT_OK;
}
