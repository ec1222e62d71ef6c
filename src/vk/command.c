/* A recorded-once command buffer: dispatches with their descriptor sets, barriers, timestamps.
 *
 * Barriers are recorded lazily: vk_cmd_barrier only asks for one, and it is recorded just before the
 * next command, when both of its sides are known: the source is what was recorded since the last
 * barrier (shader writes of dispatches, transfer writes of copies and fills), the destination what
 * the next command is (shader reads and writes; transfer reads and writes; the indirect-command read
 * of an indirect dispatch besides its shader's). Requests with no command between them merge into
 * one, a request with nothing after it (vk_cmd_end: the device->host barrier covers everything) is
 * dropped. A later command of another kind than the barrier covered, with no request between (the
 * author's word that it does not depend on the commands since that barrier), gets a barrier of the
 * same source for its kind. Raw commands (vk_cmd_handle) and the application's (vk_cmd_detach) get
 * the full scope. Every dispatch and barrier recorded is counted (vk_cmd_counts). */
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
    bool ran;                   /* a submit of the current recording has completed */
    /* Profiling (vk_cmd_set_profiling): one timestamp after each command, in pools of PROFILE_CHUNK
     * queries created as a recording needs them and kept for the next. */
    bool profiling, profiled;   /* asked for; on in the current recording */
    VkQueryPool *prof_pools;
    uint32_t n_prof_pools, prof_pools_used;
    const char **prof_tags;     /* [n_marks] static strings */
    uint32_t n_marks, cap_marks;
    vkvit_status prof_error;    /* from a mark recorded by a void function; vk_cmd_end returns it */
    /* Lazy barriers (above): kinds (KIND_*) recorded since the last barrier; a barrier asked for and its
     * source; what the last one recorded made visible and from what; disjoint groups open; a barrier asked
     * for inside them. */
    uint32_t seg, pending_src, covered, last_src, disjoint;
    bool pending, held;
    uint32_t n_dispatches, n_barriers, n_transfers;   /* in the current recording */
    /* Accounting (vk_cmd_set_accounting): one entry per command, as the marks. */
    bool accounting, accounted;
    vk_account *acct;
    uint32_t n_acct, cap_acct;
};

enum { KIND_COMPUTE = 1, KIND_TRANSFER = 2, KIND_INDIRECT = 4, KIND_ALL = 7 };

#define PROFILE_CHUNK 256

static vkvit_status add_descriptor_pool(vk_cmd *cmd)
{
    vkvit_context *ctx = cmd->ctx;
    VkDescriptorPool *grown = realloc(cmd->dpools, (cmd->n_dpools + 1) * sizeof *grown);
    if (!grown)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "descriptor pools");
    cmd->dpools = grown;
    /* Sampled images only come from vkvit_record's inputs: a few per recording. */
    VkDescriptorPoolSize size[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * VK_MAX_BINDINGS},
                                    {VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, SETS_PER_POOL / 4}};
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 2,
        .pPoolSizes = size,
    };
    VK_CHECK(ctx->vk.vkCreateDescriptorPool(ctx->device, &ci, ctx->alloc, &cmd->dpools[cmd->n_dpools]));
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
    if ((r = ctx->vk.vkCreateCommandPool(ctx->device, &pci, ctx->alloc, &cmd->pool)) != VK_SUCCESS) {
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
    if ((r = ctx->vk.vkCreateFence(ctx->device, &fci, ctx->alloc, &cmd->fence)) != VK_SUCCESS) {
        s = vk_fail(r, "vkCreateFence");
        goto fail;
    }
    if (n_timestamps && ctx->timestamps) {
        VkQueryPoolCreateInfo qci = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = n_timestamps,
        };
        if ((r = ctx->vk.vkCreateQueryPool(ctx->device, &qci, ctx->alloc, &cmd->queries)) != VK_SUCCESS) {
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
        ctx->vk.vkDestroyDescriptorPool(ctx->device, cmd->dpools[i], ctx->alloc);
    free(cmd->dpools);
    if (cmd->queries)
        ctx->vk.vkDestroyQueryPool(ctx->device, cmd->queries, ctx->alloc);
    for (uint32_t i = 0; i < cmd->n_prof_pools; i++)
        ctx->vk.vkDestroyQueryPool(ctx->device, cmd->prof_pools[i], ctx->alloc);
    free(cmd->prof_pools);
    free(cmd->prof_tags);
    free(cmd->acct);
    if (cmd->fence)
        ctx->vk.vkDestroyFence(ctx->device, cmd->fence, ctx->alloc);
    if (cmd->pool)
        ctx->vk.vkDestroyCommandPool(ctx->device, cmd->pool, ctx->alloc); /* frees cb */
    free(cmd);
}

/* ---- barriers and counts ---------------------------------------------------------------------------------- */

static void record_barrier(vk_cmd *cmd, uint32_t src, uint32_t dst)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    VkPipelineStageFlags ss = 0, ds = 0;
    if (src & KIND_COMPUTE)
        ss |= VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, mb.srcAccessMask |= VK_ACCESS_SHADER_WRITE_BIT;
    if (src & KIND_TRANSFER)
        ss |= VK_PIPELINE_STAGE_TRANSFER_BIT, mb.srcAccessMask |= VK_ACCESS_TRANSFER_WRITE_BIT;
    if (dst & KIND_COMPUTE)
        ds |= VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, mb.dstAccessMask |= VK_ACCESS_SHADER_READ_BIT |
                                                                        VK_ACCESS_SHADER_WRITE_BIT;
    if (dst & KIND_TRANSFER)
        ds |= VK_PIPELINE_STAGE_TRANSFER_BIT, mb.dstAccessMask |= VK_ACCESS_TRANSFER_READ_BIT |
                                                                  VK_ACCESS_TRANSFER_WRITE_BIT;
    if (dst & KIND_INDIRECT)
        ds |= VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT, mb.dstAccessMask |= VK_ACCESS_INDIRECT_COMMAND_READ_BIT;
    cmd->ctx->vk.vkCmdPipelineBarrier(cmd->cb, ss, ds, 0, 1, &mb, 0, NULL, 0, NULL);
    cmd->n_barriers++;
    cmd->last_src = src;
    cmd->covered = dst;
    cmd->seg = 0;
}

/* Before a command of kinds `k`: the barrier asked for, or one for a kind the last did not cover. */
static void before(vk_cmd *cmd, uint32_t k)
{
    if (cmd->pending) {
        cmd->pending = false;
        if (cmd->pending_src) /* nothing recorded before it in this command buffer: nothing to wait for */
            record_barrier(cmd, cmd->pending_src, k);
        cmd->pending_src = 0;
    } else if (cmd->last_src && (k & ~cmd->covered)) {
        const uint32_t seg = cmd->seg;
        record_barrier(cmd, cmd->last_src, k | cmd->covered);
        cmd->seg = seg;
    }
    cmd->seg |= k & (KIND_COMPUTE | KIND_TRANSFER);
}

/* Whatever is asked for, with every destination: what follows is not known. */
static void flush_full(vk_cmd *cmd)
{
    if (cmd->pending) {
        cmd->pending = false;
        record_barrier(cmd, cmd->pending_src ? cmd->pending_src : KIND_COMPUTE | KIND_TRANSFER, KIND_ALL);
        cmd->pending_src = 0;
    }
}

VkCommandBuffer vk_cmd_handle(vk_cmd *cmd)
{
    flush_full(cmd);
    cmd->seg = KIND_COMPUTE | KIND_TRANSFER; /* the caller may record anything */
    cmd->covered = KIND_ALL;
    return cmd->cb;
}

void vk_cmd_counts(const vk_cmd *cmd, uint32_t *dispatches, uint32_t *barriers, uint32_t *transfers)
{
    *dispatches = cmd->n_dispatches;
    *barriers = cmd->n_barriers;
    if (transfers)
        *transfers = cmd->n_transfers;
}

void vk_cmd_disjoint_begin(vk_cmd *cmd) { cmd->disjoint++; }

void vk_cmd_disjoint_end(vk_cmd *cmd)
{
    if (cmd->disjoint && --cmd->disjoint == 0 && cmd->held) {
        cmd->held = false;
        vk_cmd_barrier(cmd);
    }
}

/* ---- accounting ------------------------------------------------------------------------------------------- */

void vk_cmd_set_accounting(vk_cmd *cmd, bool on) { cmd->accounting = on; }

uint32_t vk_cmd_account_count(const vk_cmd *cmd) { return cmd->accounted ? cmd->n_acct : 0; }

const vk_account *vk_cmd_account(const vk_cmd *cmd) { return cmd->accounted ? cmd->acct : NULL; }

static void account(vk_cmd *cmd, const char *name, const vk_cost *cost, const uint32_t groups[3])
{
    if (!cmd->accounted || cmd->prof_error)
        return;
    if (cmd->n_acct == cmd->cap_acct) {
        uint32_t cap = cmd->cap_acct ? 2 * cmd->cap_acct : 128;
        vk_account *a = realloc(cmd->acct, cap * sizeof *a);
        if (!a) {
            cmd->prof_error = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "the dispatch account");
            return;
        }
        cmd->acct = a;
        cmd->cap_acct = cap;
    }
    vk_account *e = &cmd->acct[cmd->n_acct++];
    *e = (vk_account){.name = name, .has_cost = cost != NULL};
    if (cost)
        e->cost = *cost;
    if (groups)
        memcpy(e->groups, groups, sizeof e->groups);
}

/* Profiling: see vk.h. */

vkvit_status vk_cmd_set_profiling(vk_cmd *cmd, bool on)
{
    if (on && !cmd->ctx->timestamps)
        return fail(VKVIT_ERROR_UNSUPPORTED, "profiling needs compute-queue timestamps, which '%s' lacks",
                    cmd->ctx->info.name);
    cmd->profiling = on;
    return VKVIT_OK;
}

static vkvit_status add_mark(vk_cmd *cmd, const char *tag)
{
    vkvit_context *ctx = cmd->ctx;
    uint32_t i = cmd->n_marks, pool = i / PROFILE_CHUNK;
    if (i == cmd->cap_marks) {
        uint32_t cap = cmd->cap_marks ? 2 * cmd->cap_marks : PROFILE_CHUNK;
        const char **tags = realloc(cmd->prof_tags, cap * sizeof *tags);
        if (!tags)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "profiling marks");
        cmd->prof_tags = tags;
        cmd->cap_marks = cap;
    }
    if (pool == cmd->prof_pools_used) { /* first mark in this pool: reset it, creating it if new */
        if (pool == cmd->n_prof_pools) {
            VkQueryPool *pools = realloc(cmd->prof_pools, (pool + 1) * sizeof *pools);
            if (!pools)
                return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "profiling query pools");
            cmd->prof_pools = pools;
            VkQueryPoolCreateInfo qci = {
                .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                .queryCount = PROFILE_CHUNK,
            };
            VK_CHECK(ctx->vk.vkCreateQueryPool(ctx->device, &qci, ctx->alloc, &cmd->prof_pools[pool]));
            cmd->n_prof_pools++;
        }
        ctx->vk.vkCmdResetQueryPool(cmd->cb, cmd->prof_pools[pool], 0, PROFILE_CHUNK);
        cmd->prof_pools_used++;
    }
    ctx->vk.vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->prof_pools[pool],
                                i % PROFILE_CHUNK);
    cmd->prof_tags[i] = tag;
    cmd->n_marks++;
    return VKVIT_OK;
}

/* A timestamp after everything recorded so far, when profiling: free when it is off. */
static void mark(vk_cmd *cmd, const char *tag)
{
    if (cmd->profiled && !cmd->prof_error)
        cmd->prof_error = add_mark(cmd, tag);
}

uint32_t vk_cmd_profile_count(const vk_cmd *cmd) { return cmd->profiled ? cmd->n_marks : 0; }

vkvit_status vk_cmd_profile_read(vk_cmd *cmd, const char **tags, double *ns)
{
    vkvit_context *ctx = cmd->ctx;
    if (!cmd->profiled || !cmd->ran)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "no profile: %s", !cmd->profiled ?
                    "the command buffer was recorded without profiling" : "it has not run since it was recorded");
    uint64_t t[PROFILE_CHUNK], t0 = 0;
    for (uint32_t pool = 0; pool < cmd->prof_pools_used; pool++) {
        uint32_t first = pool * PROFILE_CHUNK, n = cmd->n_marks - first < PROFILE_CHUNK ? cmd->n_marks - first
                                                                                        : PROFILE_CHUNK;
        VK_CHECK(ctx->vk.vkGetQueryPoolResults(ctx->device, cmd->prof_pools[pool], 0, n, sizeof t, t, sizeof *t,
                                               VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
        if (pool == 0)
            t0 = t[0];
        for (uint32_t i = 0; i < n; i++) {
            tags[first + i] = cmd->prof_tags[first + i];
            ns[first + i] = (double)(t[i] - t0) * ctx->info.timestamp_period;
        }
    }
    return VKVIT_OK;
}

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
    cmd->ran = false;
    cmd->profiled = cmd->profiling;
    cmd->prof_pools_used = cmd->n_marks = 0;
    cmd->prof_error = VKVIT_OK;
    cmd->seg = cmd->pending_src = cmd->covered = cmd->last_src = cmd->disjoint = 0;
    cmd->pending = cmd->held = false;
    cmd->n_dispatches = cmd->n_barriers = cmd->n_transfers = 0;
    cmd->accounted = cmd->accounting;
    cmd->n_acct = 0;
    mark(cmd, "begin");
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
    VkDescriptorImageInfo ii = {VK_NULL_HANDLE, d->view, d->view_layout};
    VkWriteDescriptorSet w[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < p->n_buffers; i++) {
        const bool image = (p->image_mask >> i) & 1;
        if (image && !d->view)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: binding %u has no image view", p->name, i);
        if (!image && (!d->bufs[i].buf || d->bufs[i].size == 0))
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: binding %u has no buffer", p->name, i);
        if (!image && d->bufs[i].offset % ctx->min_storage_align)
            return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: binding %u offset %llu is not a multiple of %u",
                        p->name, i, (unsigned long long)d->bufs[i].offset, ctx->min_storage_align);
        bi[i] = (VkDescriptorBufferInfo){d->bufs[i].buf, d->bufs[i].offset, d->bufs[i].size};
        w[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = image ? VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pImageInfo = image ? &ii : NULL,
            .pBufferInfo = image ? NULL : &bi[i],
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
    before(cmd, KIND_COMPUTE);
    ctx->vk.vkCmdDispatch(cmd->cb, g[0], g[1], g[2]);
    cmd->n_dispatches++;
    account(cmd, d->pipe->name, d->cost, g);
    mark(cmd, d->pipe->name);
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
    before(cmd, KIND_COMPUTE | KIND_INDIRECT);
    cmd->ctx->vk.vkCmdDispatchIndirect(cmd->cb, args.buf, args.offset);
    cmd->n_dispatches++;
    account(cmd, d->pipe->name, d->cost, NULL); /* workgroup counts: known when it runs */
    mark(cmd, d->pipe->name);
    return VKVIT_OK;
}

void vk_cmd_barrier(vk_cmd *cmd)
{
    if (cmd->disjoint) {
        cmd->held = true;
        return;
    }
    cmd->pending = true;
    cmd->pending_src |= cmd->seg;
    cmd->seg = 0;
}

void vk_cmd_fill(vk_cmd *cmd, vk_span dst, uint32_t pattern)
{
    before(cmd, KIND_TRANSFER);
    cmd->ctx->vk.vkCmdFillBuffer(cmd->cb, dst.buf, dst.offset, dst.size, pattern);
    cmd->n_transfers++;
    account(cmd, "fill", &(vk_cost){.min_bytes = (double)dst.size, .tiled_bytes = (double)dst.size}, NULL);
    mark(cmd, "fill");
}

void vk_cmd_copy(vk_cmd *cmd, vk_span src, vk_span dst)
{
    VkBufferCopy region = {src.offset, dst.offset, src.size};
    before(cmd, KIND_TRANSFER);
    cmd->ctx->vk.vkCmdCopyBuffer(cmd->cb, src.buf, dst.buf, 1, &region);
    cmd->n_transfers++;
    account(cmd, "copy", &(vk_cost){.min_bytes = 2.0 * (double)src.size, .tiled_bytes = 2.0 * (double)src.size},
            NULL);
    mark(cmd, "copy");
}

void vk_cmd_timestamp(vk_cmd *cmd, uint32_t index)
{
    if (cmd->queries && index < cmd->n_queries)
        cmd->ctx->vk.vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->queries, index);
}

vkvit_status vk_cmd_end(vk_cmd *cmd)
{
    cmd->pending = cmd->held = false; /* nothing after it: the barrier below covers what it would */
    cmd->pending_src = cmd->disjoint = 0;
    /* Device writes -> host reads after the fence (the fence alone does not make them visible). */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    cmd->ctx->vk.vkCmdPipelineBarrier(cmd->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                      VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    cmd->n_barriers++;
    cmd->recording = false;
    VK_CHECK(cmd->ctx->vk.vkEndCommandBuffer(cmd->cb));
    return cmd->prof_error;
}

vkvit_status vk_cmd_submit_wait(vk_cmd *cmd)
{
    vkvit_status s = vk_cmd_submit(cmd, NULL);
    return s ? s : vk_cmd_wait(cmd);
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

/* ---- submitting without waiting -------------------------------------------------------------------- */

vkvit_status vk_cmd_submit(vk_cmd *cmd, const vk_signal *sig)
{
    vkvit_context *ctx = cmd->ctx;
    if (cmd->recording || !cmd->fence)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "command buffer submitted while %s",
                    cmd->recording ? "still recording" : "owned by the application");
    vkvit_status s = vk_cmd_wait(cmd); /* the fence of a pending submit must not be reset */
    if (s)
        return s;
    bool has_sem = sig && sig->semaphore;
    if (has_sem && sig->value && !ctx->timeline)
        return fail(VKVIT_ERROR_UNSUPPORTED, "signalling timeline semaphore value %llu: timeline semaphores are not "
                    "enabled on this context's device", (unsigned long long)sig->value);
    VK_CHECK(ctx->vk.vkResetFences(ctx->device, 1, &cmd->fence));
    /* Binary semaphores ignore the value; the chain exists only where timelines are enabled. */
    VkTimelineSemaphoreSubmitInfo ts = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .signalSemaphoreValueCount = 1,
        .pSignalSemaphoreValues = has_sem ? &sig->value : NULL,
    };
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .pNext = has_sem && ctx->timeline ? &ts : NULL,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd->cb,
        .signalSemaphoreCount = has_sem ? 1 : 0,
        .pSignalSemaphores = has_sem ? &sig->semaphore : NULL,
    };
    mtx_lock(&ctx->lock);
    VkResult r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, cmd->fence);
    if (r == VK_SUCCESS)
        cmd->submitted = true;
    /* The application's fence: an empty submit signals it once all earlier work on the queue,
     * this submit included, has completed. */
    VkResult rf = r == VK_SUCCESS && sig && sig->fence ? ctx->vk.vkQueueSubmit(ctx->queue, 0, NULL, sig->fence)
                                                       : VK_SUCCESS;
    mtx_unlock(&ctx->lock);
    if (r != VK_SUCCESS)
        return vk_fail(r, "vkQueueSubmit");
    return vk_fail(rf, "vkQueueSubmit (signalling the application's fence)");
}

vkvit_status vk_cmd_wait(vk_cmd *cmd)
{
    vkvit_context *ctx = cmd->ctx;
    if (!cmd->submitted)
        return VKVIT_OK;
    VK_CHECK(ctx->vk.vkWaitForFences(ctx->device, 1, &cmd->fence, VK_TRUE, UINT64_MAX));
    cmd->submitted = false;
    cmd->ran = true;
    return VKVIT_OK;
}

vkvit_status vk_cmd_poll(vk_cmd *cmd, bool *done)
{
    vkvit_context *ctx = cmd->ctx;
    *done = !cmd->submitted;
    if (*done)
        return VKVIT_OK;
    VkResult r = ctx->vk.vkGetFenceStatus(ctx->device, cmd->fence);
    if (r == VK_NOT_READY)
        return VKVIT_OK;
    if (r != VK_SUCCESS)
        return vk_fail(r, "vkGetFenceStatus");
    *done = true;
    return vk_cmd_wait(cmd);
}

/* ---- recording into the application's command buffer ------------------------------------------------ */

vkvit_status vk_cmd_create_external(vkvit_context *ctx, vk_cmd **out)
{
    *out = NULL;
    vk_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "command recorder");
    cmd->ctx = ctx;
    vkvit_status s = add_descriptor_pool(cmd);
    if (s) {
        vk_cmd_destroy(cmd);
        return s;
    }
    *out = cmd;
    return VKVIT_OK;
}

vkvit_status vk_cmd_attach(vk_cmd *cmd, VkCommandBuffer cb)
{
    vkvit_context *ctx = cmd->ctx;
    if (cmd->pool)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vk_cmd_attach on a command buffer vkvit owns");
    for (uint32_t i = 0; i < cmd->n_dpools; i++)
        VK_CHECK(ctx->vk.vkResetDescriptorPool(ctx->device, cmd->dpools[i], 0));
    cmd->cur_dpool = 0;
    cmd->bound = VK_NULL_HANDLE; /* whatever the application bound is unknown: always bind */
    cmd->cb = cb;
    cmd->recording = true;
    cmd->profiled = cmd->accounted = false;
    /* The application's commands before: what a first barrier must wait for is not known. */
    cmd->seg = KIND_COMPUTE | KIND_TRANSFER;
    cmd->pending_src = cmd->last_src = cmd->disjoint = 0;
    cmd->covered = KIND_ALL;
    cmd->pending = cmd->held = false;
    cmd->n_dispatches = cmd->n_barriers = cmd->n_transfers = 0;
    return VKVIT_OK;
}

void vk_cmd_detach(vk_cmd *cmd)
{
    flush_full(cmd); /* the application's commands follow */
    cmd->cb = VK_NULL_HANDLE;
    cmd->recording = false;
}
