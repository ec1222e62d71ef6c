/*
 * vkvit — Vision Transformers on any GPU through Vulkan compute.
 *
 * Usage in short:
 *
 *     vkvit_context *ctx = NULL;
 *     vkvit_context_options opt = {0};           // zero = good defaults
 *     if (vkvit_context_create(&opt, &ctx) != VKVIT_OK)
 *         fprintf(stderr, "vkvit: %s\n", vkvit_last_error());
 *     ...
 *     vkvit_context_destroy(ctx);
 *
 * Conventions
 *   - Every call that can fail returns a vkvit_status. On failure a human-readable detail (what went
 *     wrong and where: file, tensor, byte offset) is kept per thread; read it with vkvit_last_error().
 *   - Handles are opaque. Whoever creates a handle destroys it; destroy functions accept NULL.
 *   - Option structs zero-initialise to sensible defaults.
 *   - No global state: contexts are independent. A context may be used from several threads at once;
 *     objects created from it (plans) are used by one thread at a time.
 *   - If your application loads Vulkan with volk, include volk.h before this header.
 */
#ifndef VKVIT_H
#define VKVIT_H

#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan_core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(VKVIT_BUILD_SHARED)
#define VKVIT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define VKVIT_API __attribute__((visibility("default")))
#else
#define VKVIT_API
#endif

#define VKVIT_VERSION_MAJOR 0
#define VKVIT_VERSION_MINOR 1
#define VKVIT_VERSION_PATCH 0

/* ---- status codes ------------------------------------------------------------------------------ */

typedef enum vkvit_status {
    VKVIT_OK = 0,
    VKVIT_ERROR_INVALID_ARGUMENT,     /* a NULL pointer, an out-of-range option, a bad call order   */
    VKVIT_ERROR_OUT_OF_HOST_MEMORY,
    VKVIT_ERROR_OUT_OF_DEVICE_MEMORY,
    VKVIT_ERROR_NO_VULKAN,            /* the Vulkan loader could not be found or initialised        */
    VKVIT_ERROR_NO_DEVICE,            /* no (matching) Vulkan device                                */
    VKVIT_ERROR_UNSUPPORTED,          /* the device lacks a required feature, limit or layer        */
    VKVIT_ERROR_VULKAN,               /* a Vulkan call failed; the detail names the call and VkResult */
    VKVIT_ERROR_DEVICE_LOST,
    VKVIT_ERROR_IO,                   /* a file could not be opened, read or written               */
    VKVIT_ERROR_FILE_TRUNCATED,       /* a file ends before the data its header announces          */
    VKVIT_ERROR_BAD_HEADER,           /* a safetensors header that is not valid JSON / not the format */
    VKVIT_ERROR_BAD_TENSOR_RANGE,     /* a tensor's byte range outside the data, overlapping, or not dtype x shape */
    VKVIT_ERROR_UNKNOWN_DTYPE,
    VKVIT_ERROR_MISSING_TENSOR,       /* a tensor the model needs is absent                          */
    VKVIT_ERROR_UNEXPECTED_TENSOR,    /* a tensor the naming map does not know                       */
    VKVIT_ERROR_SHAPE_MISMATCH,       /* a tensor has the wrong shape for the configuration          */
    VKVIT_ERROR_BAD_CONFIG,           /* config.json invalid, inconsistent, zero or absurd dimensions */
    VKVIT_ERROR_INPUT_SIZE,           /* an input of the wrong size                                  */
    VKVIT_ERROR_BATCH_TOO_LARGE,      /* more images than the plan was made for                      */
    VKVIT_ERROR_BAD_IMAGE,            /* an image that cannot be decoded or is unusable              */
    VKVIT_STATUS_COUNT
} vkvit_status;

/* A short constant name for a status, e.g. "VKVIT_ERROR_FILE_TRUNCATED". Never NULL. */
VKVIT_API const char *vkvit_status_string(vkvit_status status);

/* The detail of the last failure on the calling thread ("" if none). Valid until the next vkvit
 * call on this thread. */
VKVIT_API const char *vkvit_last_error(void);

/* ---- devices ----------------------------------------------------------------------------------- */

typedef enum vkvit_device_type {
    VKVIT_DEVICE_OTHER = 0,
    VKVIT_DEVICE_INTEGRATED_GPU,
    VKVIT_DEVICE_DISCRETE_GPU,
    VKVIT_DEVICE_VIRTUAL_GPU,
    VKVIT_DEVICE_CPU
} vkvit_device_type;

/* One supported VK_NV_cooperative_matrix shape: D[MxN] (type d) = A[MxK] (a) * B[KxN] (b) + C (c).
 * Types are VkComponentTypeNV values (e.g. 1 = FLOAT16, 2 = FLOAT32). */
typedef struct vkvit_coopmat_shape {
    uint32_t m, n, k;
    uint32_t a_type, b_type, c_type, d_type;
} vkvit_coopmat_shape;

#define VKVIT_MAX_COOPMAT_SHAPES 16

typedef struct vkvit_device_info {
    uint32_t index;                  /* position in vkEnumeratePhysicalDevices order                */
    char name[256];
    uint32_t vendor_id, device_id;
    const char *vendor;              /* "NVIDIA", "AMD", "Intel", "Mesa (llvmpipe)", ... static string */
    vkvit_device_type type;
    uint32_t api_version;            /* VK_MAKE_API_VERSION form                                     */
    uint32_t driver_version;         /* raw, vendor-encoded                                          */
    char driver_name[256], driver_info[256];
    uint32_t subgroup_size;
    uint32_t subgroup_ops;           /* VkSubgroupFeatureFlags supported in compute shaders           */
    int shader_float16;              /* VkPhysicalDeviceShaderFloat16Int8Features.shaderFloat16      */
    int storage_buffer_16bit;        /* storageBuffer16BitAccess                                      */
    int cooperative_matrix_nv;       /* VK_NV_cooperative_matrix present and its feature enabled-able */
    uint32_t coopmat_shape_count;
    vkvit_coopmat_shape coopmat_shapes[VKVIT_MAX_COOPMAT_SHAPES];
    uint32_t max_shared_memory;      /* maxComputeSharedMemorySize, bytes                             */
    uint32_t max_storage_buffer_range;
    float timestamp_period;          /* nanoseconds per timestamp tick; 0 if compute timestamps unsupported */
    uint64_t device_local_bytes;     /* largest device-local heap                                     */
} vkvit_device_info;

/* Fills up to *count entries of `infos` with every Vulkan device the loader reports, and sets *count
 * to the number of devices. Pass infos = NULL to only count. Creates and destroys a temporary
 * instance. */
VKVIT_API vkvit_status vkvit_enumerate_devices(vkvit_device_info *infos, uint32_t *count);

/* ---- context ----------------------------------------------------------------------------------- */

typedef struct vkvit_context vkvit_context;

/* Severity passed to a message callback. */
typedef enum vkvit_message_severity {
    VKVIT_MESSAGE_INFO = 0,
    VKVIT_MESSAGE_WARNING,
    VKVIT_MESSAGE_ERROR
} vkvit_message_severity;

typedef void (*vkvit_message_fn)(void *user, vkvit_message_severity severity, const char *message);

typedef struct vkvit_context_options {
    /* Which device: NULL = the VKVIT_DEVICE environment variable if set, else the best device
     * (discrete > integrated > virtual > CPU). A string of digits picks by index, anything else by
     * case-insensitive substring of the device name. */
    const char *device;
    /* Non-zero: enable the Khronos validation layer (VK_LAYER_KHRONOS_validation) and route its
     * messages to on_message. Fails with VKVIT_ERROR_UNSUPPORTED if the layer is not installed.
     * The environment variable VKVIT_VALIDATION=1 has the same effect. */
    int validation;
    /* Receives validation-layer messages (and vkvit's own warnings). NULL = print errors and
     * warnings to stderr. */
    vkvit_message_fn on_message;
    void *user;
    /* Where the VkPipelineCache is persisted. NULL = $XDG_CACHE_HOME/vkvit (or ~/.cache/vkvit),
     * one file per device UUID; "" = no persistence. */
    const char *pipeline_cache_dir;
} vkvit_context_options;

/* Creates an instance and a device of its own. */
VKVIT_API vkvit_status vkvit_context_create(const vkvit_context_options *options, vkvit_context **out);

/* The application's Vulkan objects, for embedding vkvit in a renderer. vkvit never destroys them.
 * The device must have been created with the features vkvit_required_features() reports (Vulkan
 * 1.1 or later). The queue must support compute; vkvit submits to it from the thread that calls
 * vkvit, so the application must not use it concurrently (Vulkan's external synchronisation rule). */
typedef struct vkvit_adopt_info {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t queue_family;
    VkQueue queue;
    /* Optional: the application's loader entry point (e.g. from volk or SDL). NULL = the system
     * Vulkan loader. */
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
} vkvit_adopt_info;

/* Builds a context on the application's device. options->device and options->validation are
 * ignored (the application chose them). */
VKVIT_API vkvit_status vkvit_context_adopt(const vkvit_adopt_info *adopt,
                                           const vkvit_context_options *options, vkvit_context **out);

/* Waits for the device to be idle, releases everything the context created, saves the pipeline
 * cache. Accepts NULL. */
VKVIT_API void vkvit_context_destroy(vkvit_context *ctx);

/* The device the context runs on. */
VKVIT_API vkvit_status vkvit_context_device_info(const vkvit_context *ctx, vkvit_device_info *out);

#ifdef __cplusplus
}
#endif
#endif /* VKVIT_H */
