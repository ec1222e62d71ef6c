/* The Vulkan of an application that embeds vkvit, for the embedding tests: its own instance (with the
 * validation layer and a messenger that counts), its own device (with the features and extensions
 * it chooses), its own queue, command buffers, fences, buffers and images, all through volk and the
 * application's own VolkDeviceTable. Every failure exits the test with the call that failed. */
#ifndef VKVIT_TEST_APP_VULKAN_H
#define VKVIT_TEST_APP_VULKAN_H

#include <volk.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct app_vulkan {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    uint32_t family;
    VkQueue queue;
    VkCommandPool pool;
    struct VolkDeviceTable vk; /* the application's own device table */
} app_vulkan;

/* Exits with "FATAL: <what> failed: VkResult <r>" unless r is VK_SUCCESS. */
void app_check(VkResult r, const char *what);
/* Validation messages on the applications' instances so far (each is also printed). */
int app_validation_messages(void);

/* An instance with the validation layer and a messenger, and app->phys = the Vulkan 1.1 device
 * called `device_name` (the one vkvit chose, so both sides run on the same device). Then a device
 * with one queue of its first compute family and a command pool: `features` as
 * VkDeviceCreateInfo.pNext (NULL: no optional feature), the extensions exts[0..n_exts) (plus
 * VK_KHR_portability_subset where the device has it). */
void app_create_instance(app_vulkan *app, const char *device_name);
void app_create_device(app_vulkan *app, const void *features, const char *const *exts, uint32_t n_exts);
void app_destroy(app_vulkan *app);   /* device, messenger, instance */
/* Whether app->phys offers the device extension `name`. */
bool app_has_extension(const app_vulkan *app, const char *name);

/* A host-visible, coherent, mapped buffer with `usage`. */
typedef struct app_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;
    void *map;
} app_buffer;
app_buffer app_buffer_create(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage);
void app_buffer_destroy(app_vulkan *app, app_buffer *b);

/* A w x h 2D image of `format` (SAMPLED | TRANSFER_DST, optimal tiling, device memory). */
typedef struct app_image {
    VkImage image;
    VkDeviceMemory mem;
    VkFormat format;
    uint32_t width, height;
} app_image;
app_image app_image_create(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height);
/* Copies width x height texels of texel_bytes each into the image through a staging buffer and
 * leaves it in SHADER_READ_ONLY_OPTIMAL, visible to compute shaders (from any layout: the contents
 * are replaced). Blocking. */
void app_image_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes);
void app_image_destroy(app_vulkan *app, app_image *im);

/* A primary command buffer from the application's pool, begun (ONE_TIME_SUBMIT unless reusable). */
VkCommandBuffer app_begin(app_vulkan *app, bool reusable);
/* Ends cb if `end`, submits it with a fence of the application's, waits, destroys the fence. */
void app_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end);
void app_free(app_vulkan *app, VkCommandBuffer cb);

/* The application's own work on its device: fills a buffer of its own on the GPU and reads it back
 * with its own fence. True if every word holds the pattern. */
bool app_fill_and_read(app_vulkan *app, uint32_t pattern);

#endif
