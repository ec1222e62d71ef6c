/* The Vulkan layer: context, buffers, pipelines, command recording. Knows nothing about ViT.
 *
 * Device-level functions are called through the context's own VolkDeviceTable (ctx->vk.vkXxx), never
 * through volk's globals, so an embedding application's function pointers are left alone. */
#ifndef VKVIT_VK_H
#define VKVIT_VK_H

#include <volk.h>
#include <stdbool.h>
#include <threads.h>

#include "status.h"
#include "vkvit.h"

#define VK_CHECK(call)                                                                            \
    do {                                                                                          \
        VkResult vk_check_r_ = (call);                                                            \
        if (vk_check_r_ < 0)                                                                      \
            return vk_fail(vk_check_r_, #call);                                                   \
    } while (0)

typedef struct vk_pipeline vk_pipeline;

struct vkvit_context {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    struct VolkDeviceTable vk;
    bool owns_instance, owns_device;
    VkDebugUtilsMessengerEXT messenger;
    vkvit_message_fn on_message;
    void *user;

    vkvit_device_info info;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t min_storage_align;            /* minStorageBufferOffsetAlignment */
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    bool timestamps;                       /* compute queue supports timestamps */
    bool fp16;                             /* shaderFloat16 + storageBuffer16BitAccess enabled */
    bool subgroup_arith;                   /* basic + arithmetic subgroup ops in compute */

    VkPipelineCache pcache;
    char *pcache_path;                     /* NULL = not persisted */

    mtx_t lock;                            /* guards the queue, the pipeline list, transfer pool */
    vk_pipeline *pipelines;                /* created lazily, owned by the context */
    VkCommandPool transfer_pool;           /* one-shot uploads/readbacks, under lock */
    uint64_t bytes_allocated;              /* live vk_buffer_create bytes (requested sizes), under lock */
    uint32_t allocations;                  /* live vk_buffer_create buffers, under lock */
};

/* ---- context.c --------------------------------------------------------------------------------- */
/* Emits a message through the context's callback (or stderr). */
void vk_message(vkvit_context *ctx, vkvit_message_severity sev, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* ---- memory.c ---------------------------------------------------------------------------------- */
typedef enum vk_mem_kind {
    VK_MEM_DEVICE,   /* device-local; written through a staging buffer unless it happens to be mappable */
    VK_MEM_HOST,     /* host-visible + coherent (cached if possible): inputs, readback */
} vk_mem_kind;

typedef struct vk_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map;        /* non-NULL when host-visible (persistently mapped) */
} vk_buffer;

/* A bound range of a buffer: what a shader binding sees. size must be > 0. */
typedef struct vk_span {
    VkBuffer buf;
    VkDeviceSize offset, size;
} vk_span;

vkvit_status vk_buffer_create(vkvit_context *ctx, VkDeviceSize size, vk_mem_kind kind, vk_buffer *out);
void vk_buffer_destroy(vkvit_context *ctx, vk_buffer *b);   /* zeroes *b; accepts a zeroed buffer */
/* Host <-> buffer copies, through a temporary staging buffer and a one-shot submit when the buffer is
 * not mapped. Blocking. */
vkvit_status vk_buffer_write(vkvit_context *ctx, vk_buffer *dst, VkDeviceSize offset, const void *src,
                             size_t bytes);
vkvit_status vk_buffer_read(vkvit_context *ctx, vk_buffer *src, VkDeviceSize offset, void *dst,
                            size_t bytes);
/* Fills with a repeated 32-bit pattern (e.g. a NaN to poison outputs). offset, bytes multiples of 4. */
vkvit_status vk_buffer_fill(vkvit_context *ctx, vk_buffer *b, VkDeviceSize offset, VkDeviceSize bytes,
                            uint32_t pattern);
static inline vk_span vk_span_of(const vk_buffer *b, VkDeviceSize offset, VkDeviceSize size)
{
    vk_span s = {b->buf, offset, size};
    return s;
}
static inline vk_span vk_whole(const vk_buffer *b) { return vk_span_of(b, 0, b->size); }

/* ---- pipeline.c -------------------------------------------------------------------------------- */
/* A compute pipeline whose descriptor set 0 holds `n_buffers` storage buffers at bindings 0..n-1,
 * with `push_size` bytes of push constants. Specialization constants: constant_id i = spec[i], all
 * 32-bit. Pipelines are created on first request and cached in the context (key: code pointer +
 * spec values), so asking again is cheap. The returned pointer lives as long as the context. */
#define VK_MAX_SPEC 16
#define VK_MAX_BINDINGS 8

typedef struct vk_shader {
    const char *name;
    const uint32_t *code;
    size_t code_size;     /* bytes */
    uint32_t n_buffers;
    uint32_t push_size;
} vk_shader;

struct vk_pipeline {
    vk_pipeline *next;
    const uint32_t *code;
    uint32_t spec[VK_MAX_SPEC];
    uint32_t n_spec;
    const char *name;
    uint32_t n_buffers, push_size;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline pipe;
};

vkvit_status vk_pipeline_get(vkvit_context *ctx, const vk_shader *shader, const uint32_t *spec,
                             uint32_t n_spec, vk_pipeline **out);
void vk_pipelines_destroy(vkvit_context *ctx);
/* Pipeline cache: created at context start from disk, saved at destroy. */
vkvit_status vk_pipeline_cache_open(vkvit_context *ctx, const char *dir);
void vk_pipeline_cache_close(vkvit_context *ctx);

/* ---- command.c --------------------------------------------------------------------------------- */
/* A command buffer recorded once and submitted many times, with the descriptor sets its dispatches
 * use (allocated at record time, kept until the next vk_cmd_begin or destroy), a fence, and an
 * optional timestamp query pool. One thread at a time. */
typedef struct vk_cmd vk_cmd;

typedef struct vk_dispatch {
    vk_pipeline *pipe;
    vk_span bufs[VK_MAX_BINDINGS];   /* bufs[i] -> binding i; pipe->n_buffers of them */
    const void *push;                /* pipe->push_size bytes */
    uint32_t groups[3];              /* workgroup counts; 0 is treated as 1 for y and z */
} vk_dispatch;

vkvit_status vk_cmd_create(vkvit_context *ctx, uint32_t n_timestamps, vk_cmd **out);
void vk_cmd_destroy(vk_cmd *cmd);
VkCommandBuffer vk_cmd_handle(const vk_cmd *cmd);
vkvit_status vk_cmd_begin(vk_cmd *cmd);                            /* resets; starts recording */
vkvit_status vk_cmd_dispatch(vk_cmd *cmd, const vk_dispatch *d);  /* binds, pushes, dispatches */
/* As vk_cmd_dispatch, but the workgroup counts are read at execution time from a
 * VkDispatchIndirectCommand at `args` (offset multiple of 4): a command buffer recorded once can
 * still size its dispatch per submit (the host writes the counts before each submit). The buffer
 * needs VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, which vk_buffer_create always sets. */
vkvit_status vk_cmd_dispatch_indirect(vk_cmd *cmd, const vk_dispatch *d, vk_span args);
void vk_cmd_barrier(vk_cmd *cmd);               /* compute/transfer writes -> compute/transfer reads+writes */
void vk_cmd_fill(vk_cmd *cmd, vk_span dst, uint32_t pattern);
void vk_cmd_copy(vk_cmd *cmd, vk_span src, vk_span dst);           /* dst.size ignored */
void vk_cmd_timestamp(vk_cmd *cmd, uint32_t index);                /* no-op without timestamps */
vkvit_status vk_cmd_end(vk_cmd *cmd);
vkvit_status vk_cmd_submit_wait(vk_cmd *cmd);                      /* submit, wait on the fence */
/* Reads timestamps [0, n) in nanoseconds relative to the first; fails if unsupported. */
vkvit_status vk_cmd_timestamps_ns(vk_cmd *cmd, uint32_t n, double *ns);

/* ---- helpers ------------------------------------------------------------------------------------ */
static inline uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

#endif
