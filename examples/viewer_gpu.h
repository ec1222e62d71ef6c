/* The viewer's Vulkan instance and device, created by the viewer (not by vkvit) so that one VkDevice
 * both presents to the window and runs vkvit, which adopts it (vkvit_context_adopt). Vulkan is
 * loaded through volk: include volk.h before this header. */
#ifndef VIEWER_GPU_H
#define VIEWER_GPU_H

#include <volk.h>

typedef struct viewer_gpu {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    uint32_t queue_family;            /* graphics + compute (+ present when there is a surface)   */
    VkQueue queue;
    VkSurfaceKHR surface;             /* VK_NULL_HANDLE when headless                              */
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    unsigned validation_messages;     /* warnings and errors the validation layer reported         */
    /* What the device was created with, for vkvit_adopt_info.enabled_features / _extensions: the
     * features vkvit_query_device_requirements asks for its fp16 path (Vulkan 1.2+ devices). */
    VkPhysicalDeviceFeatures2 features;
    VkPhysicalDeviceVulkan11Features features11;
    VkPhysicalDeviceVulkan12Features features12;
    const char *extensions[12];
    uint32_t extension_count;
} viewer_gpu;

/* Makes the window's surface once the instance exists (glfwCreateWindowSurface). */
typedef VkResult (*viewer_surface_fn)(VkInstance instance, void *user, VkSurfaceKHR *out);

typedef struct viewer_gpu_options {
    const char *const *instance_extensions;   /* the window system's (glfwGetRequiredInstanceExtensions) */
    uint32_t instance_extension_count;
    int validate;                             /* enable VK_LAYER_KHRONOS_validation, count its messages */
    const char *device;                       /* index or name substring; NULL = $VKVIT_DEVICE or best  */
    viewer_surface_fn create_surface;         /* NULL = headless: no surface, no swapchain              */
    void *user;
} viewer_gpu_options;

/* Creates instance, surface (if asked), device and queue; `gpu` must stay at its address while it
 * lives (the validation callback counts into it). Prints the reason and returns -1 on failure,
 * leaving `gpu` for viewer_gpu_destroy. */
int viewer_gpu_create(const viewer_gpu_options *options, viewer_gpu *gpu);
void viewer_gpu_destroy(viewer_gpu *gpu);

/* A memory type with all of `flags` among `type_bits`, or -1. */
int viewer_gpu_memory_type(const viewer_gpu *gpu, uint32_t type_bits, VkMemoryPropertyFlags flags);

/* Prints "vkvit-viewer: <call> failed: <VkResult>" and returns -1 when r < 0, else 0. */
int viewer_vk_check(VkResult r, const char *call);
#define VK_TRY(call) do { if (viewer_vk_check((call), #call)) goto fail; } while (0)

#endif
