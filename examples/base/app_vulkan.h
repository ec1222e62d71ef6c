/* The Vulkan of an application that embeds vkvit, the part any renderer already has, shared by the
 * examples (embed_demo, vkvit-viewer) and the embedding tests: an instance (with the Khronos validation
 * layer on request and a messenger that prints and counts), the choice of a physical device and queue
 * family, a device made with the features vkvit_query_device_requirements asks for, host-visible
 * buffers, 2D images, one-off command buffers and a swapchain. It plays the application: it uses vkvit's
 * public API only (vkvit_vulkan.h), and Vulkan through volk's global entry points, loaded for its one device.
 * Include volk.h before this header.
 *
 * Every function that can fail prints "<name>: <what> failed: <why>" (name: the one given to
 * app_instance_create) and returns -1; 0 on success. Typical order:
 *   app_instance_create -> [the window's surface into app->surface] -> app_device_pick
 *   -> app_device_create_for_vkvit -> vkvit_context_adopt(app_adopt_info(app)) ... app_vulkan_destroy */
#ifndef APP_VULKAN_H
#define APP_VULKAN_H

#include <volk.h>

#include "vkvit_vulkan.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct app_vulkan_options {
    const char *name;                         /* VkApplicationInfo's, and the prefix of every message */
    const char *const *instance_extensions;   /* the window system's (glfwGetRequiredInstanceExtensions) */
    uint32_t instance_extension_count;
    bool validation;                          /* VK_LAYER_KHRONOS_validation + a counting messenger     */
    bool portability;                         /* VK_KHR_portability_enumeration where the loader has it */
} app_vulkan_options;

/* Must stay at its address from app_instance_create on: the messenger counts into it, and the
 * feature chain points into it. */
typedef struct app_vulkan {
    VkInstance instance;
    uint32_t instance_api;            /* the apiVersion the instance was created with: min(loader, 1.3) */
    VkDebugUtilsMessengerEXT messenger;
    atomic_uint validation_messages;  /* warnings and errors from the layer; vkvit's calls on this
                                       * instance count too. Kept by app_vulkan_destroy. */
    VkSurfaceKHR surface;             /* the window's, made by the application; VK_NULL_HANDLE headless */
    VkPhysicalDevice phys;
    uint32_t api;                     /* min(instance_api, the device's apiVersion)                     */
    uint32_t family;                  /* has the queue flags asked for (+ present when there is a surface) */
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    /* What app_device_create_for_vkvit makes the device with, and tells vkvit about. */
    VkPhysicalDeviceFeatures2 features;
    VkPhysicalDeviceVulkan11Features features11;
    VkPhysicalDeviceVulkan12Features features12;
    vkvit_device_requirements required;
    /* What the device was made with: the feature chain (NULL: no optional feature) and extensions. */
    const VkPhysicalDeviceFeatures2 *enabled_features;
    const char *extensions[2 + VKVIT_MAX_REQUIRED_EXTENSIONS];
    uint32_t extension_count;
    VkDevice device;
    VkQueue queue;
    VkCommandPool pool;               /* resettable command buffers */
} app_vulkan;

/* Prints "<name>: <call> failed: <VkResult>" and returns -1 when r < 0, else 0. */
int app_vk_check(VkResult r, const char *call);
#define APP_TRY(call) do { if (app_vk_check((call), #call)) goto fail; } while (0)

/* volk, then the instance. Zeroes *app first. */
int app_instance_create(app_vulkan *app, const app_vulkan_options *options);

/* app->phys, app->family, app->api and app->name: `want` by index or case-insensitive name substring
 * (NULL or "" = $VKVIT_DEVICE, else the best type: discrete > integrated > virtual > CPU), Vulkan 1.1+,
 * with a queue family that has all of `queue_flags` and can present to app->surface when there is one. */
int app_device_pick(app_vulkan *app, const char *want, VkQueueFlags queue_flags);

/* Whether `phys` offers the device extension `name`. */
bool app_has_device_extension(VkPhysicalDevice phys, const char *name);

/* The device, with one queue of app->family and a command pool: `features` as VkDeviceCreateInfo.pNext
 * (NULL: no optional feature; kept for app_adopt_info, so it must live as long as that is used), the
 * extensions exts[0..n_exts) (at most VKVIT_MAX_REQUIRED_EXTENSIONS), VK_KHR_swapchain when there is a
 * surface and VK_KHR_portability_subset where the device has it. */
int app_device_create(app_vulkan *app, const VkPhysicalDeviceFeatures2 *features, const char *const *exts,
                      uint32_t n_exts);

/* app_device_create with what vkvit asks for: on a Vulkan 1.2+ device the 1.1 + 1.2 feature structures
 * (app->features), with what vkvit's fp16 path needs turned on where the device has it, and its
 * extensions; on Vulkan 1.1, where vkvit runs fp32 only, no feature chain. */
int app_device_create_for_vkvit(app_vulkan *app);

/* What vkvit_context_adopt needs to know about the application's instance, device and queue. */
vkvit_adopt_info app_adopt_info(const app_vulkan *app);

/* The layer's count so far. */
unsigned app_validation_messages(app_vulkan *app);

/* Device (after waiting for it to be idle), surface, messenger, instance: what exists. Keeps the
 * validation count. */
void app_vulkan_destroy(app_vulkan *app);

/* A host-visible, coherent (cached where there is such memory), mapped buffer. */
typedef struct app_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map;
} app_buffer;
int app_buffer_create(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage, app_buffer *out);
void app_buffer_destroy(app_vulkan *app, app_buffer *b);

/* A single-sampled 2D image, optimal tiling, device-local memory, and a view of it. */
typedef struct app_image {
    VkImage image;
    VkDeviceMemory mem;
    VkImageView view;
    VkFormat format;
    uint32_t width, height;
} app_image;
int app_image_create(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height, VkImageUsageFlags usage,
                     app_image *out);
void app_image_destroy(app_vulkan *app, app_image *im);
/* A 2D view of the colour aspect of mip 0, layer 0. */
int app_image_view(app_vulkan *app, VkImage image, VkFormat format, VkImageView *out);

/* Replaces the image's contents with width x height texels of texel_bytes each, through a staging
 * buffer, and leaves it in SHADER_READ_ONLY_OPTIMAL, visible to shader reads at `readers` (after
 * their earlier reads of it). Blocking. Needs TRANSFER_DST usage. */
int app_image_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes,
                     VkPipelineStageFlags readers);

/* One image memory barrier over the colour aspect of mip 0, layer 0. */
void app_image_barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
                       VkPipelineStageFlags src_stage, VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                       VkAccessFlags dst_access);

/* A primary command buffer from app->pool, begun (ONE_TIME_SUBMIT unless `reusable`). */
int app_commands_begin(app_vulkan *app, bool reusable, VkCommandBuffer *out);
/* Ends cb if `end`, submits it on app->queue with a fence of its own and waits for the fence. */
int app_commands_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end);
void app_commands_free(app_vulkan *app, VkCommandBuffer cb);

/* The window's swapchain: its images, and per image a semaphore that the frame's submission signals
 * and its present waits for (one per image, not per frame: an image's semaphore is only reused once
 * the image has been acquired again, which implies its previous present has consumed it). */
#define APP_MAX_SWAPCHAIN_IMAGES 8
typedef struct app_swapchain {
    VkSwapchainKHR swapchain;
    VkFormat format;                  /* 8-bit, with the SRGB_NONLINEAR colour space              */
    VkImageUsageFlags usage;          /* what the images were made with                           */
    VkExtent2D extent;
    uint32_t count;
    VkImage images[APP_MAX_SWAPCHAIN_IMAGES];
    VkSemaphore presentable[APP_MAX_SWAPCHAIN_IMAGES];
    int stale;                        /* acquire or present said it no longer fits the window     */
} app_swapchain;

/* sc->format: the first of formats[0..n) that the surface offers with SRGB_NONLINEAR. */
int app_swapchain_format(app_vulkan *app, const VkFormat *formats, uint32_t n, app_swapchain *sc);
/* (Re)creates the swapchain for a width x height window (the surface's own extent where it has one),
 * after waiting for the device to be idle, replacing the old one: images with all of `usage` and
 * what of `optional_usage` the surface supports. 0 ready, 1 the window has no area (nothing created),
 * -1 error. */
int app_swapchain_build(app_vulkan *app, app_swapchain *sc, VkImageUsageFlags usage,
                        VkImageUsageFlags optional_usage, uint32_t width, uint32_t height);
void app_swapchain_destroy(app_vulkan *app, app_swapchain *sc);

#endif
