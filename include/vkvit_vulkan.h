/*
 * vkvit_vulkan.h — vkvit inside an application that owns Vulkan: a game engine, a renderer, a video
 * pipeline. Everything here is optional; vkvit.h alone creates its own instance and device.
 *
 *   - vkvit_context_adopt: vkvit on the application's VkInstance / VkDevice / VkQueue, with the
 *     features vkvit_query_device_requirements asks for (vkvit_context_paths says what is on);
 *   - vkvit_record: preprocessing and the forward pass recorded into the application's command buffer,
 *     from its VkImages or VkBuffers, into its VkBuffers;
 *   - vkvit_submit_signal: the application's fence / semaphore signalled by vkvit_run(_images);
 *   - vkvit_context_options.allocator: a VkAllocationCallbacks passed as pAllocator for every Vulkan
 *     object vkvit creates and destroys (its instance and device when it makes them, buffers, device
 *     memory, pipelines, command pools, fences, image views, ...). The struct is copied; it and its
 *     pUserData must stay valid until vkvit_context_destroy. vkvit's own host memory (malloc) does not
 *     go through it.
 *
 * In short, for a game that renders into `target` and wants a label for it every N frames:
 *
 *     vkvit_adopt_info ad = {instance, physical_device, device, family, queue};
 *     vkvit_context_adopt(&ad, NULL, &ctx);  vkvit_model_load(ctx, dir, NULL, &model);
 *     vkvit_plan_create(model, NULL, &plan);
 *     vkvit_gpu_image in = {.image = target, .format = VK_FORMAT_B8G8R8A8_SRGB,
 *                           .width = w, .height = h};                    // in SHADER_READ_ONLY_OPTIMAL
 *     vkvit_record_outputs out = {.probabilities = {probs_buffer, 0}};
 *     vkvit_record(plan, frame_cb, &in, 1, &out);                     // after your barrier
 *     ... submit frame_cb with your fence; when it has signalled:
 *     vkvit_record_complete(plan);  vkvit_top_k(plan, 0, 5, top);      // or read probs_buffer
 *
 * docs/embedding.md has the decisions behind this and the synchronisation contract in full.
 * If your application loads Vulkan with volk, include volk.h before this header.
 */
#ifndef VKVIT_VULKAN_H
#define VKVIT_VULKAN_H

#include <vulkan/vulkan_core.h>

#include "vkvit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the application's device ---------------------------------------------------------------------- */

/* The application's Vulkan objects, for embedding vkvit in a renderer. vkvit never destroys them.
 * The device must be Vulkan 1.1 or later. Core Vulkan 1.1 is all vkvit needs (fp32 inference,
 * images, vkvit_record); the optional paths (fp16, timeline semaphores, cooperative matrices) are
 * used where the application enabled what they need and says so in enabled_features /
 * enabled_extensions: vkvit_query_device_requirements tells what to enable. The queue must support compute; vkvit submits to it from the thread that calls
 * vkvit, so the application must not use it concurrently (Vulkan's external synchronisation rule). */
typedef struct vkvit_adopt_info {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t queue_family;
    VkQueue queue;
    /* Optional: the application's loader entry point (e.g. from volk or SDL). NULL = the system
     * Vulkan loader. Passing one re-points vkvit's private loader-level entry points, so make that
     * vkvit_context_adopt call while no other thread is inside a vkvit call. */
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    /* Optional: what the application enabled on the device. enabled_features is the pNext chain it
     * gave VkDeviceCreateInfo (e.g. its VkPhysicalDeviceFeatures2): vkvit reads the
     * VkPhysicalDeviceVulkan11Features, VkPhysicalDeviceVulkan12Features,
     * VkPhysicalDevice16BitStorageFeatures, VkPhysicalDeviceShaderFloat16Int8Features and
     * VkPhysicalDeviceTimelineSemaphoreFeatures in it and skips any other structure. The fp16 path (VKVIT_PRECISION_FP16) is on where shaderFloat16 and
     * storageBuffer16BitAccess are enabled (before Vulkan 1.2 also VK_KHR_shader_float16_int8 in
     * enabled_extensions), timeline semaphores where timelineSemaphore is (before 1.2 with
     * VK_KHR_timeline_semaphore); vkvit_context_paths reports the result. NULL / 0 = none. */
    const void *enabled_features;
    uint32_t enabled_extension_count;
    const char *const *enabled_extensions;
} vkvit_adopt_info;

/* Builds a context on the application's device. options->device and options->validation are
 * ignored (the application chose them). */
VKVIT_API vkvit_status vkvit_context_adopt(const vkvit_adopt_info *adopt,
                                           const vkvit_context_options *options, vkvit_context **out);

/* Optional vkvit paths that need device features or extensions beyond core Vulkan 1.1. */
typedef enum vkvit_path {
    /* fp16 storage and arithmetic (VKVIT_PRECISION_FP16): shaderFloat16, storageBuffer16BitAccess;
     * before Vulkan 1.2 the extension VK_KHR_shader_float16_int8. */
    VKVIT_PATH_FP16 = 1u << 0,
    /* A run signalling a timeline semaphore (vkvit_submit_signal.value): timelineSemaphore; before Vulkan 1.2 the
     * extension VK_KHR_timeline_semaphore. */
    VKVIT_PATH_TIMELINE = 1u << 1,
    /* Tensor cores: VK_KHR_cooperative_matrix (preferred, where this build has its kernel) or
     * VK_NV_cooperative_matrix, feature cooperativeMatrix, with vulkanMemoryModel (before Vulkan 1.2
     * VK_KHR_vulkan_memory_model) and the fp16 path; on devices whose subgroup size varies
     * (minSubgroupSize < maxSubgroupSize) also subgroupSizeControl and computeFullSubgroups (Vulkan
     * 1.3, or VK_EXT_subgroup_size_control), so that the kernel's subgroup size can be pinned. */
    VKVIT_PATH_COOPMAT = 1u << 2,
    VKVIT_PATH_ALL = 0x7u
} vkvit_path;

#define VKVIT_MAX_REQUIRED_EXTENSIONS 8

typedef struct vkvit_device_requirements {
    uint32_t supported;              /* the requested VKVIT_PATH_* bits this physical device supports */
    uint32_t extension_count;
    const char *extensions[VKVIT_MAX_REQUIRED_EXTENSIONS];   /* to enable; static strings          */
} vkvit_device_requirements;

/* What to enable on a device you will create and hand to vkvit_context_adopt, for the VKVIT_PATH_*
 * bits in `paths` that `physical_device` supports (out->supported; the others are ignored):
 *   - the device extensions to add to ppEnabledExtensionNames (out->extensions; none on Vulkan 1.2+
 *     except the cooperative-matrix one, and VK_EXT_subgroup_size_control before 1.3);
 *   - the features, set to VK_TRUE in the structures of `features`'s pNext chain that carry them,
 *     every other member left as it is, so pass the chain you are going to give vkCreateDevice:
 *     storageBuffer16BitAccess in VkPhysicalDeviceVulkan11Features or
 *     VkPhysicalDevice16BitStorageFeatures; shaderFloat16, timelineSemaphore and vulkanMemoryModel
 *     in VkPhysicalDeviceVulkan12Features or VkPhysicalDeviceShaderFloat16Int8Features /
 *     TimelineSemaphoreFeatures / VulkanMemoryModelFeatures; cooperativeMatrix in
 *     VkPhysicalDeviceCooperativeMatrixFeaturesKHR (or ...NV where only NV is used);
 *     subgroupSizeControl and computeFullSubgroups in VkPhysicalDeviceVulkan13Features or
 *     VkPhysicalDeviceSubgroupSizeControlFeatures, where needed. features may be NULL (only report).
 * Then pass the same chain and extension list as vkvit_adopt_info.enabled_features / _extensions.
 * get_instance_proc_addr: as in vkvit_adopt_info (NULL = the system loader). Nothing is created.
 * Errors: VKVIT_ERROR_INVALID_ARGUMENT (NULL handles, a needed feature whose structure is not in the
 * chain: the detail names the structure to add), VKVIT_ERROR_NO_VULKAN. */
VKVIT_API vkvit_status vkvit_query_device_requirements(VkInstance instance, VkPhysicalDevice physical_device,
                                                       PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                       uint32_t paths, VkPhysicalDeviceFeatures2 *features,
                                                       vkvit_device_requirements *out);

/* The optional paths the context has on: VKVIT_PATH_* bits (fp16, timelines, cooperative matrices;
 * on an adopted device, those the application enabled as vkvit_query_device_requirements says). */
VKVIT_API vkvit_status vkvit_context_paths(const vkvit_context *ctx, uint32_t *paths);

/* ---- recording into the application's command buffer ------------------------------------------- */

/* An image the GPU holds: a VkImage, or RGBA8 pixels in a VkBuffer (set `buffer`, leave `image`). */
typedef struct vkvit_gpu_image {
    /* A 2D colour image created with VK_IMAGE_USAGE_SAMPLED_BIT, single-sampled, of any format the
     * device supports VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT for (no filtering is needed): vkvit reads
     * its texels with texelFetch and takes each as an 8-bit RGB image would hold it (R, G, B
     * clamped to [0, 1], _SRGB formats re-encoded to sRGB, rounded to 8 bits; alpha ignored), then
     * preprocesses exactly as vkvit_run_images does (PIL's resampling, bit for bit): an
     * R8G8B8A8/B8G8R8A8 image gives the logits its pixels give through vkvit_run_images. */
    VkImage image;
    /* Optional: the view to read (a 2D view of one mip level and layer, identity swizzle unless you
     * want otherwise). VK_NULL_HANDLE = vkvit creates one of mip 0, layer 0 with `format`, and
     * destroys it when the plan is recorded again or destroyed. */
    VkImageView view;
    VkFormat format;             /* the view's format (vkvit needs it for its _SRGB-ness and checks) */
    /* Its layout while the command buffer executes: VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL (0, the
     * default, means that) or VK_IMAGE_LAYOUT_GENERAL. vkvit makes no layout transition. */
    VkImageLayout layout;
    /* Or: RGBA8 pixels (R, G, B, A bytes) in a buffer created with VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
     * the first at byte `offset`, rows `row_pitch` bytes apart (0 = width * 4). */
    VkBuffer buffer;
    VkDeviceSize offset;
    VkDeviceSize row_pitch;
    /* The size in pixels (of the view's mip level), 1..VKVIT_MAX_IMAGE_SIDE each. */
    uint32_t width, height;
} vkvit_gpu_image;

/* Where a result goes on the GPU: `buffer` (VK_BUFFER_USAGE_TRANSFER_DST_BIT) at byte `offset`
 * (a multiple of 4). buffer VK_NULL_HANDLE = not wanted. */
typedef struct vkvit_gpu_buffer {
    VkBuffer buffer;
    VkDeviceSize offset;
} vkvit_gpu_buffer;

/* Results written into the application's buffers, fp32, for the recording's n images, laid out as
 * the vkvit_get_* functions return them. All optional. */
typedef struct vkvit_record_outputs {
    vkvit_gpu_buffer logits;          /* [n][num_classes]                                          */
    vkvit_gpu_buffer probabilities;   /* [n][num_classes], softmax computed on the GPU              */
    vkvit_gpu_buffer embeddings;      /* [n][embedding_size] (vkvit_model_info)                    */
    vkvit_gpu_buffer attention;       /* [n][layers][tokens]; needs plan option attention_maps      */
} vkvit_record_outputs;

/* Records preprocessing and the forward pass of n <= batch images into `cb`, a primary command
 * buffer the application has begun, outside a render pass, allocated from a pool of the context's
 * queue family; the application ends it and submits it, to that queue family, with its own fence
 * or semaphores, and may submit it any number of times (each execution reads the images anew).
 * vkvit_record itself submits nothing and waits for nothing (except a pending run of this plan, which
 * it completes first).
 *
 * Synchronisation (the full contract: docs/embedding.md, "Synchronisation"): vkvit's commands start
 * with a global compute/transfer barrier; they read a VkImage in COMPUTE_SHADER / SHADER_READ (in the
 * layout you state, which you transition to), a VkBuffer in TRANSFER / TRANSFER_READ; they write your
 * output buffers in TRANSFER / TRANSFER_WRITE and end with a barrier to HOST / HOST_READ; they leave
 * your compute bindings and push constants changed (bind yours again) and graphics state alone.
 *
 * Results through the getters: every execution also copies the outputs into the plan's host-visible
 * memory. After an execution has completed (your fence signalled), call vkvit_record_complete; then
 * vkvit_get_*, vkvit_top_k and vkvit_verify return its results until the plan runs again.
 *
 * Lifetimes: the plan (with its model and context) and the images, views and buffers you passed must
 * outlive every execution of the recording, which is valid until vkvit_record is called again on this
 * plan or the plan is destroyed: do neither, and run nothing on the plan, while an execution is
 * pending. For frames in flight use a plan per frame (plans can share the model).
 *
 * Errors: VKVIT_ERROR_INVALID_ARGUMENT (NULL plan or cb, n = 0, an image with both or neither of
 * image and buffer, an unsupported layout, a row_pitch below width * 4 or not a multiple of 4, an
 * output offset not a multiple of 4, attention without attention_maps), VKVIT_ERROR_BATCH_TOO_LARGE,
 * VKVIT_ERROR_BAD_IMAGE (a side of 0 or above VKVIT_MAX_IMAGE_SIDE), VKVIT_ERROR_UNSUPPORTED (a format
 * the device cannot sample, logits/probabilities of a backbone, a model of other than 1 or 3
 * channels), VKVIT_ERROR_INPUT_SIZE (as vkvit_run_images), VKVIT_ERROR_OUT_OF_*_MEMORY. The detail
 * names the image's index or the output. On failure `cb` may hold part of a recording: reset it. */
VKVIT_API vkvit_status vkvit_record(vkvit_plan *plan, VkCommandBuffer cb, const vkvit_gpu_image *images, uint32_t n,
                                    const vkvit_record_outputs *outputs);

/* Tells vkvit that an execution of the plan's recording has completed, so that the getters return
 * its results. Errors: VKVIT_ERROR_INVALID_ARGUMENT (nothing recorded). */
VKVIT_API vkvit_status vkvit_record_complete(vkvit_plan *plan);

/* ---- signalling the application ----------------------------------------------------------------- */

/* What a run given a signal (vkvit_run / vkvit_run_images) signals when it completes, besides vkvit's
 * own fence (vkvit_wait). A zeroed one signals nothing: the run is then only left pending. */
typedef struct vkvit_submit_signal {
    VkFence fence;            /* optional, yours, unsignalled: signalled once the run has completed */
    VkSemaphore semaphore;    /* optional, yours: a binary semaphore, or a timeline semaphore ...    */
    uint64_t value;           /* ... signalled to this value (> 0; 0 for a binary semaphore). Needs
                               * VKVIT_PATH_TIMELINE on the context (vkvit_context_paths).           */
} vkvit_submit_signal;

#ifdef __cplusplus
}
#endif
#endif /* VKVIT_VULKAN_H */
