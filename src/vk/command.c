/* A recorded-once command buffer: dispatches with their descriptor sets, barriers, timestamps. */
#include "vk.h"

#include <stdlib.h>
#include <string.h>

#define SETS_PER_POOL 256

struct vk_cmd {
    vkvit_context *ctx;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool *dpools;   /* grown on demand; all reset by vk_cmd_begin */
    uint32_t n_dpools, cur_dpool;
    VkQueryPool queries;
    uint32_t n_queries;
    VkPipeline bound;
    bool recording, submitted;
};

static vkvit_status add_descriptor_pool(vk_cmd *cmd)
{
    vkvit_context *ctx = cmd->ctx;
    VkDescriptorPool *grown = realloc(cmd->dpools, (cmd->n_dpools + 1) * sizeof *grown);
    if (!grown)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "descriptor pools");
    cmd->dpools = grown;
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * VK_MAX_BINDINGS};
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    VK_CHECK(ctx->vk.vkCreateDescriptorPool(ctx->device, &ci, NULL, &cmd->dpools[cmd->n_dpools]));
    cmd->n_dpools++;
    return VKVIT_OK;
}

vkvit_status vk_cmd_create(vkvit_context *ctx, uint32_t n_timestamps, vk_cmd **out)
{
    *out = NULL;
    vk_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "command buffer");
    cmd->ctx = ctx;
    vkvit_status s;
    VkResult r;
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
    };
    if ((r = ctx->vk.vkCreateCommandPool(ctx->device, &pci, NULL, &cmd->pool)) != VK_SUCCESS) {
        s = vk_fail(r, "vkCreateCommandPool");
        goto fail;
    }
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = cmd->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    if ((r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &ai, &cmd->cb)) != VK_SUCCESS) {
        s = vk_fail(r, "vkAllocateCommandBuffers");
        goto fail;
    }
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = ctx->vk.vkCreateFence(ctx->device, &fci, NULL, &cmd->fence)) != VK_SUCCESS) {
        s = vk_fail(r, "vkCreateFence");
        goto fail;
    }
    if (n_timestamps && ctx->timestamps) {
        VkQueryPoolCreateInfo qci = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = n_timestamps,
        };
        if ((r = ctx->vk.vkCreateQueryPool(ctx->device, &qci, NULL, &cmd->queries)) != VK_SUCCESS) {
            s = vk_fail(r, "vkCreateQueryPool");
            goto fail;
        }
        cmd->n_queries = n_timestamps;
    }
    if ((s = add_descriptor_pool(cmd)))
        goto fail;
    *out = cmd;
    return VKVIT_OK;
fail:
    vk_cmd_destroy(cmd);
    return s;
}

void vk_cmd_destroy(vk_cmd *cmd)
{
    if (!cmd)
        return;
    vkvit_context *ctx = cmd->ctx;
    if (cmd->submitted && cmd->fence)
        ctx->vk.vkWaitForFences(ctx->device, 1, &cmd->fence, VK_TRUE, UINT64_MAX);
    for (uint32_t i = 0; i < cmd->n_dpools; i++)
        ctx->vk.vkDestroyDescriptorPool(ctx->device, cmd->dpools[i], NULL);
    free(cmd->dpools);
    if (cmd->queries)
        ctx->vk.vkDestroyQueryPool(ctx->device, cmd->queries, NULL);
    if (cmd->fence)
        ctx->vk.vkDestroyFence(ctx->device, cmd->fence, NULL);
    if (cmd->pool)
        ctx->vk.vkDestroyCommandPool(ctx->device, cmd->pool, NULL); /* frees cb */
    free(cmd);
}

VkCommandBuffer vk_cmd_handle(const vk_cmd *cmd) { return cmd->cb; }

vkvit_status vk_cmd_begin(vk_cmd *cmd)
{
    vkvit_context *ctx = cmd->ctx;
    if (cmd->submitted) {
        VK_CHECK(ctx->vk.vkWaitForFences(ctx->device, 1, &cmd->fence, VK_TRUE, UINT64_MAX));
        cmd->submitted = false;
    }
    VK_CHECK(ctx->vk.vkResetCommandPool(ctx->device, cmd->pool, 0));
    for (uint32_t i = 0; i < cmd->n_dpools; i++)
        VK_CHECK(ctx->vk.vkResetDescriptorPool(ctx->device, cmd->dpools[i], 0));
    cmd->cur_dpool = 0;
    cmd->bound = VK_NULL_HANDLE;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_CHECK(ctx->vk.vkBeginCommandBuffer(cmd->cb, &bi));
    if (cmd->queries)
        ctx->vk.vkCmdResetQueryPool(cmd->cb, cmd->queries, 0, cmd->n_queries);
    cmd->recording = true;
    return VKVIT_OK;
}

static vkvit_status alloc_set(vk_cmd *cmd, VkDescriptorSetLayout dsl, VkDescriptorSet *set)
{
    vkvit_context *ctx = cmd->ctx;
    for (;;) {
        VkDescriptorSetAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = cmd->dpools[cmd->cur_dpool],
            .descriptorSetCount = 1,
            .pSetLayouts = &dsl,
        };
        VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &ai, set);
        if (r == VK_SUCCESS)
            return VKVIT_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return vk_fail(r, "vkAllocateDescriptorSets");
        if (++cmd->cur_dpool == cmd->n_dpools) {
            vkvit_status s = add_descriptor_pool(cmd);
            if (s)
                return s;
        }
    }
}

/* Allocates and writes the dispatch's descriptor set, binds pipeline, set and push constants. */
static vkvit_status bind(vk_cmd *cmd, const vk_dispatch *d)
{
    vkvit_context *ctx = cmd->ctx;
    const vk_pipeline *p = d->pipe;
    VkDescriptorSet set;
    vkvit_status s = alloc_set(cmd, p->dsl, &set);
    if (s)
        return s;
    VkDescriptorBufferInfo bi[VK_MAX_BINDINGS];
    VkWriteDescriptorSet w[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < p->n_buffers; i++) {
        if (!d->bufs[i].buf || d->bufs[i].size == 0)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: binding %u has no buffer", p->name, i);
        if (d->bufs[i].offset % ctx->min_storage_align)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: binding %u offset %llu is not a multiple of %u",
                        p->name, i, (unsigned long long)d->bufs[i].offset, ctx->min_storage_align);
        bi[i] = (VkDescriptorBufferInfo){d->bufs[i].buf, d->bufs[i].offset, d->bufs[i].size};
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &bi[i],
        };
    }
    ctx->vk.vkUpdateDescriptorSets(ctx->device, p->n_buffers, w, 0, NULL);
    if (cmd->bound != p->pipe) {
        ctx->vk.vkCmdBindPipeline(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipe);
        cmd->bound = p->pipe;
    }
    ctx->vk.vkCmdBindDescriptorSets(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (p->push_size)
        ctx->vk.vkCmdPushConstants(cmd->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size, d->push);
    return VKVIT_OK;
}

vkvit_status vk_cmd_dispatch(vk_cmd *cmd, const vk_dispatch *d)
{
    vkvit_context *ctx = cmd->ctx;
    uint32_t g[3] = {d->groups[0], d->groups[1] ? d->groups[1] : 1, d->groups[2] ? d->groups[2] : 1};
    for (int i = 0; i < 3; i++)
        if (g[i] > ctx->max_workgroup_count[i])
            return fail(VKVIT_ERROR_UNSUPPORTED, "%s: %u workgroups in dimension %d exceed the device limit %u",
                        d->pipe->name, g[i], i, ctx->max_workgroup_count[i]);
    if (g[0] == 0)
        return VKVIT_OK; /* nothing to do */
    vkvit_status s = bind(cmd, d);
    if (s)
        return s;
    ctx->vk.vkCmdDispatch(cmd->cb, g[0], g[1], g[2]);
    return VKVIT_OK;
}

vkvit_status vk_cmd_dispatch_indirect(vk_cmd *cmd, const vk_dispatch *d, vk_span args)
{
    if (args.offset % 4 || args.size < sizeof(VkDispatchIndirectCommand))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: indirect arguments at offset %llu (%llu bytes)", d->pipe->name,
                    (unsigned long long)args.offset, (unsigned long long)args.size);
    vkvit_status s = bind(cmd, d);
    if (s)
        return s;
    cmd->ctx->vk.vkCmdDispatchIndirect(cmd->cb, args.buf, args.offset);
    return VKVIT_OK;
}

void vk_cmd_barrier(vk_cmd *cmd)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_INDIRECT_COMMAND_READ_BIT,
    };
    const VkPipelineStageFlags src = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    const VkPipelineStageFlags dst = src | VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT;
    cmd->ctx->vk.vkCmdPipelineBarrier(cmd->cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

void vk_cmd_fill(vk_cmd *cmd, vk_span dst, uint32_t pattern)
{
    cmd->ctx->vk.vkCmdFillBuffer(cmd->cb, dst.buf, dst.offset, dst.size, pattern);
}

void vk_cmd_copy(vk_cmd *cmd, vk_span src, vk_span dst)
{
    VkBufferCopy region = {src.offset, dst.offset, src.size};
    cmd->ctx->vk.vkCmdCopyBuffer(cmd->cb, src.buf, dst.buf, 1, &region);
}

void vk_cmd_timestamp(vk_cmd *cmd, uint32_t index)
{
    if (cmd->queries && index < cmd->n_queries)
        cmd->ctx->vk.vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->queries, index);
}

vkvit_status vk_cmd_end(vk_cmd *cmd)
{
    /* Device writes -> host reads after the fence (the fence alone does not make them visible). */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    cmd->ctx->vk.vkCmdPipelineBarrier(cmd->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                      VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    cmd->recording = false;
    VK_CHECK(cmd->ctx->vk.vkEndCommandBuffer(cmd->cb));
    return VKVIT_OK;
}

vkvit_status vk_cmd_submit_wait(vk_cmd *cmd)
{
    vkvit_context *ctx = cmd->ctx;
    if (cmd->recording)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "command buffer submitted while still recording");
    VK_CHECK(ctx->vk.vkResetFences(ctx->device, 1, &cmd->fence));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd->cb};
    mtx_lock(&ctx->lock);
    VkResult r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, cmd->fence);
    mtx_unlock(&ctx->lock);
    if (r != VK_SUCCESS)
        return vk_fail(r, "vkQueueSubmit");
    cmd->submitted = true;
    r = ctx->vk.vkWaitForFences(ctx->device, 1, &cmd->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS)
        return vk_fail(r, "vkWaitForFences");
    cmd->submitted = false;
    return VKVIT_OK;
}

vkvit_status vk_cmd_timestamps_ns(vk_cmd *cmd, uint32_t n, double *ns)
{
    vkvit_context *ctx = cmd->ctx;
    if (!cmd->queries || n > cmd->n_queries || n == 0)
        return fail(VKVIT_ERROR_UNSUPPORTED, "timestamps are not available on '%s'", ctx->info.name);
    uint64_t *t = calloc(n, sizeof *t);
    if (!t)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "timestamps");
    VkResult r = ctx->vk.vkGetQueryPoolResults(ctx->device, cmd->queries, 0, n, n * sizeof *t, t, sizeof *t,
                                               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            ns[i] = (double)(t[i] - t[0]) * ctx->info.timestamp_period;
    free(t);
    return vk_fail(r, "vkGetQueryPoolResults");
}
