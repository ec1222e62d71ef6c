/* The embedding tests' application: app_vulkan.c with the tests' choices, every failure fatal. */
#include "embed_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void embed_app_check(VkResult r, const char *what)
{
    if (r != VK_SUCCESS) {
        fprintf(stderr, "FATAL: %s failed: VkResult %d\n", what, (int)r);
        exit(1);
    }
}

/* app_vulkan.c has printed why. */
static void must(int rc)
{
    if (rc != 0)
        exit(1);
}

void embed_app_create(app_vulkan *app, const char *device_name)
{
    app_vulkan_options o = {.name = "vkvit embedding test", .validation = true, .portability = true};
    must(app_instance_create(app, &o));
    must(app_device_pick(app, device_name, VK_QUEUE_COMPUTE_BIT));
}

void embed_app_device(app_vulkan *app, const VkPhysicalDeviceFeatures2 *features, const char *const *exts,
                      uint32_t n_exts)
{
    must(app_device_create(app, features, exts, n_exts));
}

app_buffer embed_app_buffer(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage)
{
    app_buffer b;
    must(app_buffer_create(app, size, usage, &b));
    return b;
}

app_image embed_app_image(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height)
{
    app_image im;
    must(app_image_create(app, format, width, height, VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                          &im));
    return im;
}

void embed_app_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes)
{
    must(app_image_upload(app, im, texels, texel_bytes, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT));
}

VkCommandBuffer embed_app_begin(app_vulkan *app, bool reusable)
{
    VkCommandBuffer cb;
    must(app_commands_begin(app, reusable, &cb));
    return cb;
}

void embed_app_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end)
{
    must(app_commands_submit_wait(app, cb, end));
}

bool embed_app_fill_and_read(app_vulkan *app, uint32_t pattern)
{
    const uint32_t words = 4096;
    app_buffer b = embed_app_buffer(app, words * sizeof(uint32_t), VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    uint32_t *mapped = b.map;
    memset(mapped, 0, b.size);
    VkCommandBuffer cb = embed_app_begin(app, false);
    vkCmdFillBuffer(cb, b.buf, 0, VK_WHOLE_SIZE, pattern);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    embed_app_submit_wait(app, cb, true);
    app_commands_free(app, cb);
    bool ok = true;
    for (uint32_t i = 0; i < words && ok; i++)
        ok = mapped[i] == pattern;
    app_buffer_destroy(app, &b);
    return ok;
}
