/* The Vulkan layer: context, buffers, pipelines, command recording. Knows nothing about ViT.
 *
 * Device-level functions are called through the context's own VolkDeviceTable (ctx->vk.vkXxx), never
 * through volk's globals, so an embedding application's function pointers are left alone. */
#ifndef VKVIT_VK_H
#define VKVIT_VK_H

#include <volk.h>
#include <stdbool.h>
#include <threads.h>

#include "quirks.h"
#include "status.h"
#include "vkvit_vulkan.h"

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
    bool timeline;                         /* timelineSemaphore enabled: submits may signal timelines */
    const VkAllocationCallbacks *alloc;    /* for every Vulkan object vkvit creates; NULL = the driver's */
    VkAllocationCallbacks alloc_copy;      /* what alloc points at (the caller's struct, copied) */
    uint64_t budget;                       /* device-memory budget in bytes (0 = none), see vk_buffer_create */
    uint32_t paths_off;                    /* vk_path bits the driver-quirk table turned off */
    /* The cooperative-matrix matmul: the extension whose kernel it runs (KHR where the build has it
     * and the device offers it, else NV), that extension's shapes it may use (subgroup scope,
     * fp16 x fp16 + fp32 -> fp32, as {M, N, K}), with the extension and what its shaders need enabled
     * on the device. None: coopmat_off says why (a static string). coopmat_subgroup_size: the lanes
     * per subgroup its pipelines are pinned to (REQUIRE_FULL_SUBGROUPS + requiredSubgroupSize), 0 when
     * the device has no subgroup size control (its one subgroupSize is then what the kernel gets). */
    vkvit_coopmat_extension coopmat_ext;
    uint32_t coopmat_shapes[VKVIT_MAX_COOPMAT_SHAPES][3];
    uint32_t coopmat_shape_count;
    const char *coopmat_off;
    uint32_t coopmat_subgroup_size;
    /* VKVIT_MATMUL as the environment had it when the context was made ("" = unset): the matmul kernel
     * to force (src/ops/matmul.c). Read once, not on every recorded matmul; tests set it directly. */
    char matmul_force[32];

    VkPipelineCache pcache;
    char *pcache_path;                     /* NULL = not persisted */
    vkvit_tune tune_mode;                  /* options.tune, else VKVIT_TUNE (tune.c)        */
    struct vk_tune *tune;                  /* tuned kernel configurations; NULL with VKVIT_TUNE_OFF */

    mtx_t lock;                            /* guards the queue, the pipeline list, transfer pool */
    vk_pipeline *pipelines;                /* created lazily, owned by the context */
    VkCommandPool transfer_pool;           /* one-shot uploads/readbacks, under lock */
    uint64_t bytes_allocated;              /* live vk_buffer_create bytes (requested sizes), under lock */
    uint32_t allocations;                  /* live vk_buffer_create buffers, under lock */
    uint32_t test_max_chunk;               /* tests only: caps a plan's images per pass (0 = no cap) */
    uint64_t memory_bytes, memory_peak;    /* live VkDeviceMemory (allocationSize) bytes, under lock */
};

/* ---- loader.c: the bottom; uses no other vk file ------------------------------------------------ */
/* Emits a message through the context's callback (or stderr). */
void vk_message(vkvit_context *ctx, vkvit_message_severity sev, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Loads the system Vulkan loader once (gipa NULL), or points volk at the application's entry point. */
vkvit_status vk_loader_init(PFN_vkGetInstanceProcAddr gipa);

/* ---- context.c: uses every file below ---------------------------------------------------------- */

/* The cooperative-matrix fragment shape the coopmat matmul uses among n {M, N, K} shapes: of those
 * whose M, N and K divide 32 (every coopmat block is a multiple of 32, so none of them pads), the
 * largest M*N*K (the fewest cooperative operations per block), on a tie the larger K (fewer k steps),
 * then the first listed. Zeros when none qualifies. */
void vk_coopmat_pick(const uint32_t (*shapes)[3], uint32_t n, uint32_t out[3]);

/* ---- features.c -------------------------------------------------------------------------------- */
/* Every optional feature vkvit uses (features.c has the structures that may carry each). */
typedef enum vk_feature {
    VK_F_STORAGE16, VK_F_FLOAT16, VK_F_TIMELINE, VK_F_MEMORY_MODEL, VK_F_COOPMAT_NV, VK_F_COOPMAT_KHR,
    VK_F_SG_CONTROL, VK_F_FULL_SUBGROUPS, VK_F_COUNT
} vk_feature;
/* Storage for a feature chain of the per-feature structures (valid from Vulkan 1.1 with their
 * extensions): what vkvit queries, and what it enables on the devices it creates. */
typedef struct vk_feature_chain {
    VkPhysicalDeviceFeatures2 head;
    VkPhysicalDevice16BitStorageFeatures storage16;
    VkPhysicalDeviceShaderFloat16Int8Features float16;
    VkPhysicalDeviceTimelineSemaphoreFeatures timeline;
    VkPhysicalDeviceVulkanMemoryModelFeatures memory_model;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat_nv, coopmat_khr;   /* the KHR one has the NV layout */
    VkPhysicalDeviceSubgroupSizeControlFeatures subgroup_control;
} vk_feature_chain;
/* The chain for vkCreateDevice that enables the features in `on` (and carries no other structure). */
const VkPhysicalDeviceFeatures2 *vk_feature_chain_enable(vk_feature_chain *c, const bool on[VK_F_COUNT]);
/* Whether the device supports timelineSemaphore (vkvit enables it on the devices it creates). */
bool vk_timeline_supported(VkPhysicalDevice phys);
/* What the application enabled on an adopted device, for the cooperative-matrix path (context.c
 * decides with it): the feature and extension of each coopmat extension, vulkanMemoryModel, and
 * subgroupSizeControl + computeFullSubgroups. */
typedef struct vk_enabled {
    bool coopmat_khr, coopmat_nv, memory_model, subgroup_control;
} vk_enabled;
/* An adopted device: ctx->fp16 and ctx->timeline from what the application says it enabled, and
 * *out for the cooperative-matrix check. */
void vk_adopt_features(vkvit_context *ctx, const vkvit_adopt_info *adopt, vk_enabled *out);

/* ---- memory.c ---------------------------------------------------------------------------------- */
typedef enum vk_mem_kind {
    VK_MEM_DEVICE,   /* device-local; written through a staging buffer unless it happens to be mappable */
    VK_MEM_HOST,     /* host-visible + coherent (cached if possible): inputs, readback */
} vk_mem_kind;

typedef struct vk_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    VkDeviceSize mem_size;   /* the VkDeviceMemory's allocationSize (what the budget counts) */
    void *map;        /* non-NULL when host-visible (persistently mapped) */
} vk_buffer;

/* A bound range of a buffer: what a shader binding sees. size must be > 0. */
typedef struct vk_span {
    VkBuffer buf;
    VkDeviceSize offset, size;
} vk_span;

vkvit_status vk_buffer_create(vkvit_context *ctx, VkDeviceSize size, vk_mem_kind kind, vk_buffer *out);
/* The same; `what` (e.g. "the weights of model.safetensors") names the buffer in the messages of
 * failures, such as VKVIT_ERROR_OUT_OF_DEVICE_MEMORY when the allocation would take the context's
 * VkDeviceMemory past its budget (ctx->budget). NULL = "a buffer". */
vkvit_status vk_buffer_create_named(vkvit_context *ctx, VkDeviceSize size, vk_mem_kind kind, const char *what,
                                    vk_buffer *out);
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
    bool pin_subgroup;    /* assumes ctx->coopmat_subgroup_size lanes: pinned where that is set */
} vk_shader;

struct vk_pipeline {
    vk_pipeline *next;
    const uint32_t *code;
    uint32_t spec[VK_MAX_SPEC];
    uint32_t n_spec;
    const char *name;
    uint32_t n_buffers, push_size, image_mask;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipeline pipe;
};

vkvit_status vk_pipeline_get(vkvit_context *ctx, const vk_shader *shader, const uint32_t *spec,
                             uint32_t n_spec, vk_pipeline **out);
/* The same for a shader whose bindings in `image_mask` (bit i: binding i) are sampled images
 * (VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, read with texelFetch) instead of storage buffers. */
vkvit_status vk_pipeline_get_sampling(vkvit_context *ctx, const vk_shader *shader, uint32_t image_mask,
                                      const uint32_t *spec, uint32_t n_spec, vk_pipeline **out);
void vk_pipelines_destroy(vkvit_context *ctx);
/* Pipeline cache: created at context start from disk, saved at destroy. The tune file (tune.c) lives
 * next to it: opened after it, closed before it. */
vkvit_status vk_pipeline_cache_open(vkvit_context *ctx, const char *dir);
void vk_pipeline_cache_close(vkvit_context *ctx);

/* ---- tune.c ------------------------------------------------------------------------------------ */
/* Kernel configurations chosen by timing (the matmul autotuner, src/ops/matmul_tune.c), each under
 * a key naming the kernel and shape, kept next to the pipeline cache (same directory) in a text file
 * named <deviceUUID>-<driverVersion>.tune; tune.c describes the format. Nothing is read or written
 * when the pipeline cache is not persisted (pipeline_cache_dir ""): winners then last as long as the
 * context. A file that does not parse or names another device is ignored with a warning.
 * ctx->tune_mode is the public vkvit_tune, resolved: VKVIT_TUNE_AUTO (saved winners where there are
 * some, else defaults), _ON (also time the candidates of a shape with no saved winner, save it) or
 * _OFF (built-in defaults only; no file read). */

#define VK_TUNE_KEY 64        /* bytes of a key, NUL included: printable ASCII, no spaces */
#define VK_TUNE_VALUES 8      /* unsigned 32-bit values per key, at most */

typedef struct vk_tune_entry {
    char key[VK_TUNE_KEY];
    uint32_t n, vals[VK_TUNE_VALUES];
    bool reported;            /* the user was told this context uses it */
} vk_tune_entry;

typedef struct vk_tune {
    mtx_t lock;               /* the entries */
    mtx_t timing;             /* held while one shape's candidates are timed: one at a time */
    vk_tune_entry *entries;
    uint32_t count, cap;
    char *path;               /* the file; NULL = not persisted */
    uint32_t shapes_timed;    /* what this context timed (tests count them) */
    uint64_t runs_timed;      /* timed (and warm-up) submissions */
} vk_tune;

/* At context setup, after vk_pipeline_cache_open: resolves ctx->tune_mode (VKVIT_TUNE=1 / 0 where
 * the options left it 0) and reads the file. Fails only when out of host memory. */
vkvit_status vk_tune_open(vkvit_context *ctx);
void vk_tune_close(vkvit_context *ctx);
/* The values stored under `key` (how many; 0 = none), the first `cap` copied to vals. *reported (may
 * be NULL) returns the entry's flag and then sets it. */
uint32_t vk_tune_get(vkvit_context *ctx, const char *key, uint32_t *vals, uint32_t cap, bool *reported);
/* Stores (replaces) `key`; where persisted, rewrites the file: what is on disk now (if it is valid
 * for this device) merged with this context's entries, which win. Write failures are warnings. */
vkvit_status vk_tune_put(vkvit_context *ctx, const char *key, const uint32_t *vals, uint32_t n);

/* ---- command.c --------------------------------------------------------------------------------- */
/* A command buffer recorded once and submitted many times, with the descriptor sets its dispatches
 * use (allocated at record time, kept until the next vk_cmd_begin or destroy), a fence, and an
 * optional timestamp query pool. One thread at a time. */
typedef struct vk_cmd vk_cmd;

/* What one dispatch costs, as the op recording it states (the roofline account: vkvit-bench --ops and
 * --roofline). flops: floating-point operations (an FMA is 2); min_bytes: device-memory bytes it must
 * move at the least, each input read and each output written once; tiled_bytes: what its tiling reads
 * and writes (re-reads across workgroups included, e.g. a tiled GEMM's X once per column block).
 * matrix: the flops run on cooperative-matrix (tensor) units, fp16 x fp16 + fp32; else on the fp32 FMA
 * units. wg_size: invocations per workgroup; shared_bytes: its shared memory. */
typedef struct vk_cost {
    double flops, min_bytes, tiled_bytes;
    bool matrix;
    uint32_t wg_size, shared_bytes;
    uint32_t shape[3];   /* for reports, 0 where unused: a GEMM's M, N, K; attention's T, H, dh; rows, D */
} vk_cost;

typedef struct vk_dispatch {
    vk_pipeline *pipe;
    vk_span bufs[VK_MAX_BINDINGS];   /* bufs[i] -> binding i; pipe->n_buffers of them */
    VkImageView view;                /* the bindings in pipe->image_mask: this view, in view_layout */
    VkImageLayout view_layout;
    const void *push;                /* pipe->push_size bytes */
    uint32_t groups[3];              /* workgroup counts; 0 is treated as 1 for y and z */
    const vk_cost *cost;             /* optional: kept per dispatch when accounting (vk_cmd_set_accounting) */
} vk_dispatch;

/* One command of an accounted recording: the shader's name ("copy", "fill"), its cost where the op
 * stated one (copies and fills: their bytes), its workgroup counts (0 for an indirect dispatch). */
typedef struct vk_account {
    const char *name;
    vk_cost cost;
    bool has_cost;
    uint32_t groups[3];
} vk_account;

vkvit_status vk_cmd_create(vkvit_context *ctx, uint32_t n_timestamps, vk_cmd **out);
void vk_cmd_destroy(vk_cmd *cmd);
/* The VkCommandBuffer, for commands vk_cmd does not record: a barrier asked for is recorded first with
 * every scope, and the next one waits for everything (what the caller records is not known). */
VkCommandBuffer vk_cmd_handle(vk_cmd *cmd);
vkvit_status vk_cmd_begin(vk_cmd *cmd);                            /* resets; starts recording */
vkvit_status vk_cmd_dispatch(vk_cmd *cmd, const vk_dispatch *d);  /* binds, pushes, dispatches */
/* As vk_cmd_dispatch, but the workgroup counts are read at execution time from a
 * VkDispatchIndirectCommand at `args` (offset multiple of 4): a command buffer recorded once can
 * still size its dispatch per submit (the host writes the counts before each submit). The buffer
 * needs VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, which vk_buffer_create always sets. */
vkvit_status vk_cmd_dispatch_indirect(vk_cmd *cmd, const vk_dispatch *d, vk_span args);
/* Everything recorded so far -> what is recorded next: recorded lazily with the smallest scope that covers
 * both sides (command.c), at most one between two commands, none at the end (vk_cmd_end's covers it). */
void vk_cmd_barrier(vk_cmd *cmd);
/* Between these, the commands touch disjoint memory (none reads what another writes, none writes what
 * another reads or writes): the barriers their ops ask for are dropped, and one is asked for at the end.
 * The barrier before the group is the caller's (the op before it asked for one). Nests. */
void vk_cmd_disjoint_begin(vk_cmd *cmd);
void vk_cmd_disjoint_end(vk_cmd *cmd);
/* In the current recording: dispatches (direct and indirect), pipeline barriers (vk_cmd_end's device->host
 * one included; none for raw commands the caller records itself), copies and fills (transfers may be NULL). */
void vk_cmd_counts(const vk_cmd *cmd, uint32_t *dispatches, uint32_t *barriers, uint32_t *transfers);
/* Accounting, for benchmarks: with it on, the next recording keeps a vk_account per dispatch, copy and
 * fill, in the order recorded (entry i is profiling mark i + 1's command). Takes effect at the next
 * vk_cmd_begin; off by default. */
void vk_cmd_set_accounting(vk_cmd *cmd, bool on);
uint32_t vk_cmd_account_count(const vk_cmd *cmd);
const vk_account *vk_cmd_account(const vk_cmd *cmd);   /* NULL when none */
void vk_cmd_fill(vk_cmd *cmd, vk_span dst, uint32_t pattern);
void vk_cmd_copy(vk_cmd *cmd, vk_span src, vk_span dst);           /* dst.size ignored */
void vk_cmd_timestamp(vk_cmd *cmd, uint32_t index);                /* no-op without timestamps */
vkvit_status vk_cmd_end(vk_cmd *cmd);
vkvit_status vk_cmd_submit_wait(vk_cmd *cmd);                      /* submit, wait on the fence */
/* What a submit signals besides the command buffer's own fence (a run given a vkvit_submit_signal). */
typedef struct vk_signal {
    VkFence fence;          /* the application's (unsignalled): an empty submit right after signals it */
    VkSemaphore semaphore;  /* binary, or timeline (signalled to `value`; needs ctx->timeline) */
    uint64_t value;
} vk_signal;
/* Submits without waiting (first completing a pending submit); sig may be NULL. */
vkvit_status vk_cmd_submit(vk_cmd *cmd, const vk_signal *sig);
vkvit_status vk_cmd_wait(vk_cmd *cmd);                   /* waits for a pending submit; none: OK */
vkvit_status vk_cmd_poll(vk_cmd *cmd, bool *done);       /* *done: nothing pending (any more) */
/* Recording into a command buffer the application owns (vkvit_record): no pool, fence or
 * timestamps of its own, only the descriptor pools, reset by each attach and kept until then (or
 * destroy), so the application's recording stays valid meanwhile. */
vkvit_status vk_cmd_create_external(vkvit_context *ctx, vk_cmd **out);
vkvit_status vk_cmd_attach(vk_cmd *cmd, VkCommandBuffer cb);   /* cb: begun by the application */
void vk_cmd_detach(vk_cmd *cmd);                               /* no vkEndCommandBuffer */
/* Reads timestamps [0, n) in nanoseconds relative to the first; fails if unsupported. */
vkvit_status vk_cmd_timestamps_ns(vk_cmd *cmd, uint32_t n, double *ns);
/* Profiling, for benchmarks. With it on, the next recording writes a timestamp in vk_cmd_begin
 * (mark 0, tagged "begin") and one after every dispatch, indirect dispatch, copy and fill, tagged
 * with the pipeline's shader name ("copy", "fill"). Mark i minus mark i-1 is then command i's time,
 * binding and the barrier before it included; the marks tile the recording, so they sum to mark n-1.
 * Off by default, and then nothing is recorded and nothing costs. Takes effect at the next
 * vk_cmd_begin. VKVIT_ERROR_UNSUPPORTED without compute-queue timestamps. */
vkvit_status vk_cmd_set_profiling(vk_cmd *cmd, bool on);
/* Marks in the current recording (0 when it was recorded without profiling). */
uint32_t vk_cmd_profile_count(const vk_cmd *cmd);
/* After a completed submit: tags[i] (static strings) and ns[i] (nanoseconds since mark 0) for the
 * vk_cmd_profile_count() marks. */
vkvit_status vk_cmd_profile_read(vk_cmd *cmd, const char **tags, double *ns);

/* ---- helpers ------------------------------------------------------------------------------------ */
static inline uint32_t div_up(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

#endif
