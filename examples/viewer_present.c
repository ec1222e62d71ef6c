/* Swapchain presentation of CPU-composed frames by buffer-to-image copies. */
#include "viewer_present.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 8-bit RGBA formats the frame's bytes can be copied into unchanged (R and B swapped for BGRA). sRGB
 * and UNORM both keep the bytes as they are: the frame's bytes are already sRGB-encoded. */
static const VkFormat FORMATS[] = {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_B8G8R8A8_SRGB,
                                   VK_FORMAT_R8G8B8A8_SRGB};

static int create_slots(viewer_presenter *p)
{
    VkDevice dev = p->vk->device;
    for (int i = 0; i < VIEWER_FRAMES_IN_FLIGHT; i++) {
        viewer_frame_slot *s = &p->frames[i];
        VkCommandBufferAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = p->vk->pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT};
        VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        if (app_vk_check(vkAllocateCommandBuffers(dev, &ai, &s->cmd), "vkAllocateCommandBuffers") ||
            app_vk_check(vkCreateFence(dev, &fci, NULL, &s->done), "vkCreateFence") ||
            app_vk_check(vkCreateSemaphore(dev, &sci, NULL, &s->acquired), "vkCreateSemaphore"))
            return -1;
    }
    return 0;
}

/* Grows the slot's staging buffer to `size` bytes; the slot's fence has been waited for. */
static int ensure_staging(viewer_presenter *p, viewer_frame_slot *s, VkDeviceSize size)
{
    if (s->staging.size >= size)
        return 0;
    app_buffer_destroy(p->vk, &s->staging);
    return app_buffer_create(p->vk, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &s->staging);
}

/* Copies width*height pixels, swapping bytes 0 and 2 when `swap`. */
static void copy_pixels(uint8_t *dst, const uint8_t *src, size_t pixels, int swap)
{
    if (!swap) {
        memcpy(dst, src, pixels * 4);
        return;
    }
    for (size_t i = 0; i < pixels * 4; i += 4) {
        dst[i] = src[i + 2], dst[i + 1] = src[i + 1], dst[i + 2] = src[i], dst[i + 3] = src[i + 3];
    }
}

/* The swapchain for a width x height window: images the frames are copied into, and read back from
 * for screenshots where the surface allows it. */
static int build_swapchain(viewer_presenter *p, uint32_t width, uint32_t height)
{
    return app_swapchain_build(p->vk, &p->sc, VK_IMAGE_USAGE_TRANSFER_DST_BIT, VK_IMAGE_USAGE_TRANSFER_SRC_BIT, width,
                               height);
}

int viewer_presenter_create(viewer_presenter *p, app_vulkan *vk, uint32_t width, uint32_t height)
{
    memset(p, 0, sizeof *p);
    p->vk = vk;
    if (app_swapchain_format(vk, FORMATS, sizeof FORMATS / sizeof *FORMATS, &p->sc) || create_slots(p))
        return -1;
    p->bgra = p->sc.format == VK_FORMAT_B8G8R8A8_UNORM || p->sc.format == VK_FORMAT_B8G8R8A8_SRGB;
    return build_swapchain(p, width, height) < 0 ? -1 : 0;
}

int viewer_presenter_resize(viewer_presenter *p, uint32_t width, uint32_t height)
{
    return build_swapchain(p, width, height) < 0 ? -1 : 0;
}

void viewer_presenter_destroy(viewer_presenter *p)
{
    if (!p->vk)
        return;
    VkDevice dev = p->vk->device;
    vkDeviceWaitIdle(dev);
    for (int i = 0; i < VIEWER_FRAMES_IN_FLIGHT; i++) {
        viewer_frame_slot *s = &p->frames[i];
        app_buffer_destroy(p->vk, &s->staging);
        if (s->cmd)
            app_commands_free(p->vk, s->cmd);
        if (s->done)
            vkDestroyFence(dev, s->done, NULL);
        if (s->acquired)
            vkDestroySemaphore(dev, s->acquired, NULL);
    }
    app_swapchain_destroy(p->vk, &p->sc);
    memset(p, 0, sizeof *p);
}

/* staging -> swapchain image [-> readback buffer] -> ready to present. The transition out of
 * UNDEFINED waits at TRANSFER, the stage the submission waits for "image acquired" at, so the copy
 * cannot start before the presentation engine has released the image. */
static void record(viewer_presenter *p, viewer_frame_slot *s, VkImage image, VkBuffer readback)
{
    VkCommandBuffer cmd = s->cmd;
    const VkPipelineStageFlags T = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkBufferImageCopy region = {
        .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
        .imageExtent = {p->sc.extent.width, p->sc.extent.height, 1},
    };
    app_image_barrier(cmd, image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, T, 0, T,
                      VK_ACCESS_TRANSFER_WRITE_BIT);
    vkCmdCopyBufferToImage(cmd, s->staging.buf, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    VkImageLayout layout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    VkAccessFlags pending = VK_ACCESS_TRANSFER_WRITE_BIT;
    if (readback) {
        app_image_barrier(cmd, image, layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, T, pending, T,
                          VK_ACCESS_TRANSFER_READ_BIT);
        vkCmdCopyImageToBuffer(cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback, 1, &region);
        VkBufferMemoryBarrier to_host = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
            .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
            .buffer = readback,
            .size = VK_WHOLE_SIZE,
        };
        vkCmdPipelineBarrier(cmd, T, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, NULL, 1, &to_host, 0, NULL);
        layout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        pending = 0; /* reads leave nothing to make available */
    }
    /* Presentation needs no access mask; the "presentable" semaphore orders it after this submission. */
    app_image_barrier(cmd, image, layout, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, T, pending,
                      VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0);
}

/* Submits slot `s` for swapchain image `index` and presents it. */
static int submit_and_present(viewer_presenter *p, viewer_frame_slot *s, uint32_t index)
{
    VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .waitSemaphoreCount = 1,
        .pWaitSemaphores = &s->acquired,
        .pWaitDstStageMask = &wait_stage,
        .commandBufferCount = 1,
        .pCommandBuffers = &s->cmd,
        .signalSemaphoreCount = 1,
        .pSignalSemaphores = &p->sc.presentable[index],
    };
    if (app_vk_check(vkQueueSubmit(p->vk->queue, 1, &si, s->done), "vkQueueSubmit"))
        return -1;
    VkPresentInfoKHR pi = {
        .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
        .waitSemaphoreCount = 1,
        .pWaitSemaphores = &p->sc.presentable[index],
        .swapchainCount = 1,
        .pSwapchains = &p->sc.swapchain,
        .pImageIndices = &index,
    };
    VkResult r = vkQueuePresentKHR(p->vk->queue, &pi);
    if (r == VK_SUBOPTIMAL_KHR || r == VK_ERROR_OUT_OF_DATE_KHR)
        p->sc.stale = 1;
    else if (app_vk_check(r, "vkQueuePresentKHR"))
        return -1;
    return 0;
}

int viewer_present(viewer_presenter *p, const uint8_t *rgba, uint8_t *screenshot)
{
    VkDevice dev = p->vk->device;
    viewer_frame_slot *s = &p->frames[p->frame];
    app_buffer readback = {0};
    int rc = -1;
    if (!p->sc.swapchain)
        p->sc.stale = 1;
    if (p->sc.stale)
        return 1;
    APP_TRY(vkWaitForFences(dev, 1, &s->done, VK_TRUE, UINT64_MAX));
    uint32_t index = 0;
    VkResult r = vkAcquireNextImageKHR(dev, p->sc.swapchain, UINT64_MAX, s->acquired, VK_NULL_HANDLE, &index);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) {
        p->sc.stale = 1;
        return 1;
    }
    APP_TRY(r); /* VK_SUBOPTIMAL_KHR still acquired the image and signals the semaphore: present it */
    size_t pixels = (size_t)p->sc.extent.width * p->sc.extent.height;
    if (ensure_staging(p, s, pixels * 4))
        goto fail;
    copy_pixels(s->staging.map, rgba, pixels, p->bgra);
    bool readable = p->sc.usage & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    if (screenshot && readable && app_buffer_create(p->vk, pixels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &readback))
        goto fail;

    APP_TRY(vkResetFences(dev, 1, &s->done));
    APP_TRY(vkResetCommandBuffer(s->cmd, 0));
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    APP_TRY(vkBeginCommandBuffer(s->cmd, &bi));
    record(p, s, p->sc.images[index], readback.buf);
    APP_TRY(vkEndCommandBuffer(s->cmd));
    if (submit_and_present(p, s, index))
        goto fail;
    p->frame = (p->frame + 1) % VIEWER_FRAMES_IN_FLIGHT;
    if (screenshot) {
        APP_TRY(vkWaitForFences(dev, 1, &s->done, VK_TRUE, UINT64_MAX));
        /* Without TRANSFER_SRC on the swapchain, the bytes that were copied into it. */
        copy_pixels(screenshot, readback.map ? readback.map : s->staging.map, pixels, p->bgra);
    }
    rc = 0;
fail:
    app_buffer_destroy(p->vk, &readback);
    return rc;
}
