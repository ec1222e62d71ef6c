/* The Vulkan plumbing of embed_demo, the part any renderer already has: an instance (with the Khronos
 * validation layer on request), a physical device with a graphics + compute queue family, host-visible
 * buffers, 2D images, barriers, uploads, framebuffers and a swapchain. Nothing here knows about vkvit; the
 * device itself is made in embed_demo.c, with the features vkvit asks for. Vulkan comes through volk:
 * include volk.h before this header. */
#ifndef EMBED_DEMO_VULKAN_H
#define EMBED_DEMO_VULKAN_H

#include <volk.h>

#include <stdint.h>

typedef struct demo_vulkan {
    VkInstance instance;
    uint32_t instance_api;            /* the apiVersion the instance was created with              */
    VkDebugUtilsMessengerEXT messenger;
    VkSurfaceKHR surface;             /* VK_NULL_HANDLE when headless                              */
    VkPhysicalDevice phys;
    uint32_t api;                     /* min(instance_api, the device's apiVersion)                */
    uint32_t family;                  /* graphics + compute (+ present when there is a surface)    */
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    VkDevice device;
    VkQueue queue;
    VkCommandPool pool;
    unsigned validation_messages;     /* warnings and errors from the validation layer            */
} demo_vulkan;

/* Prints "embed_demo: <call> failed: <VkResult>" and returns -1 when r < 0, else 0. */
int demo_vk_check(VkResult r, const char *call);
#define DEMO_TRY(call) do { if (demo_vk_check((call), #call)) goto fail; } while (0)

/* volk, then an instance with the window system's extensions `exts` and, if `validation`, the Khronos
 * validation layer with a messenger that prints and counts into vk->validation_messages (vk must stay
 * at its address). 0 or -1 (printed). */
int demo_instance_create(demo_vulkan *vk, const char *const *exts, uint32_t n_exts, int validation);

/* vk->phys and vk->family: `want` by index or name substring (NULL or "" = $VKVIT_DEVICE, else the best
 * type: discrete > integrated > virtual > CPU), Vulkan 1.1+, with a graphics + compute family that can
 * present to vk->surface when there is one. 0 or -1 (printed). */
int demo_pick_device(demo_vulkan *vk, const char *want);

/* After the device is made: its queue and a command pool with resettable command buffers. */
int demo_device_ready(demo_vulkan *vk);

/* Device, surface, messenger, instance (what exists). Keeps validation_messages. */
void demo_vulkan_destroy(demo_vulkan *vk);

/* A host-visible, coherent, mapped buffer. */
typedef struct demo_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map;
} demo_buffer;
int demo_buffer_create(demo_vulkan *vk, VkDeviceSize size, VkBufferUsageFlags usage, demo_buffer *out);
void demo_buffer_destroy(demo_vulkan *vk, demo_buffer *b);

/* A single-sampled 2D image, optimal tiling, device-local memory, and a view of it. */
typedef struct demo_image {
    VkImage image;
    VkDeviceMemory mem;
    VkImageView view;
    VkFormat format;
    uint32_t width, height;
} demo_image;
int demo_image_create(demo_vulkan *vk, VkFormat format, uint32_t width, uint32_t height, VkImageUsageFlags usage,
                      demo_image *out);
void demo_image_destroy(demo_vulkan *vk, demo_image *im);

/* Fills the image with `rgba` ([height][width][4] bytes) through a staging buffer and leaves it in
 * SHADER_READ_ONLY_OPTIMAL for fragment shaders. Blocking (vkQueueWaitIdle). Needs TRANSFER_DST usage. */
int demo_image_upload(demo_vulkan *vk, demo_image *im, const uint8_t *rgba);

/* One image memory barrier over the colour aspect of mip 0, layer 0. */
void demo_image_barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
                        VkPipelineStageFlags src_stage, VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                        VkAccessFlags dst_access);

/* A framebuffer of one attachment, `view`, for `render_pass`. */
int demo_framebuffer(demo_vulkan *vk, VkRenderPass render_pass, VkImageView view, VkExtent2D extent,
                     VkFramebuffer *out);

/* The window's swapchain: its images with a view and a framebuffer each (for one render pass), and
 * a "rendered" semaphore per image that the present waits for. */
#define DEMO_MAX_SWAPCHAIN_IMAGES 8
typedef struct demo_swapchain {
    VkSwapchainKHR swapchain;
    VkFormat format;                  /* 8-bit RGBA or BGRA, sRGB preferred, SRGB_NONLINEAR space  */
    VkExtent2D extent;
    uint32_t count;
    VkImage images[DEMO_MAX_SWAPCHAIN_IMAGES];
    VkImageView views[DEMO_MAX_SWAPCHAIN_IMAGES];
    VkFramebuffer framebuffers[DEMO_MAX_SWAPCHAIN_IMAGES];
    VkSemaphore rendered[DEMO_MAX_SWAPCHAIN_IMAGES];
    int stale;                        /* acquire or present said it no longer fits the window      */
} demo_swapchain;

/* Picks sc->format from the surface's formats. 0 or -1 (printed). */
int demo_swapchain_format(demo_vulkan *vk, demo_swapchain *sc);
/* (Re)creates the swapchain for a width x height window, with framebuffers for `render_pass`, after
 * waiting for the device to be idle. 0 ready, 1 the window has no area (nothing created), -1 error
 * (printed). */
int demo_swapchain_build(demo_vulkan *vk, demo_swapchain *sc, VkRenderPass render_pass, uint32_t width,
                         uint32_t height);
void demo_swapchain_destroy(demo_vulkan *vk, demo_swapchain *sc);

#endif
