/* The application of the embedding tests (test_embed, test_record): examples/base/app_vulkan.c with
 * the tests' choices (the validation layer always on, portability devices enumerated, the device vkvit
 * chose with its first compute queue family) and every failure fatal: each call here exits the test
 * with the call that failed. Release with app_vulkan.h's *_destroy / app_commands_free. */
#ifndef VKVIT_TEST_EMBED_APP_H
#define VKVIT_TEST_EMBED_APP_H

#include "app_vulkan.h"

/* Exits with "FATAL: <what> failed: VkResult <r>" unless r is VK_SUCCESS. */
void embed_app_check(VkResult r, const char *what);

/* The instance, and app->phys = the Vulkan 1.1 device called `device_name` (the one vkvit chose, so
 * that both sides run on the same device). */
void embed_app_create(app_vulkan *app, const char *device_name);
/* app_device_create: `features` (NULL: no optional feature) and the extensions exts[0..n_exts). */
void embed_app_device(app_vulkan *app, const VkPhysicalDeviceFeatures2 *features, const char *const *exts,
                      uint32_t n_exts);

app_buffer embed_app_buffer(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage);
/* A w x h image of `format` for vkvit to read (SAMPLED | TRANSFER_DST). */
app_image embed_app_image(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height);
/* app_image_upload for compute-shader readers: what vkvit_record asks of an image input. */
void embed_app_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes);

VkCommandBuffer embed_app_begin(app_vulkan *app, bool reusable);
void embed_app_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end);

/* The application's own work on its device: fills a buffer of its own on the GPU and reads it back
 * with its own fence. True if every word holds the pattern. */
bool embed_app_fill_and_read(app_vulkan *app, uint32_t pattern);

#endif
