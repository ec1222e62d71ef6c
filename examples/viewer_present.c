/* Swapchain presentation of CPU-composed frames by buffer-to-image copies. */
#include "viewer_present.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 8-bit RGBA formats the frame's bytes can be copied into unchanged (R and B swapped for BGRA). sRGB
 * and UNORM both keep the bytes as they are: the frame's bytes are already sRGB-encoded. */
static const VkFormat FORMATS[] = {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_B8G8R8A8_SRGB,
                                   VK_FORMAT_R8G8B8A8_SRGB};

static int choose_format(viewer_presenter *p)
{
    const viewer_gpu *g = p->gpu;
    uint32_t n = 0;
    if (viewer_vk_check(vkGetPhysicalDeviceSurfaceFormatsKHR(g->phys, g->surface, &n, NULL),
                        "vkGetPhysicalDeviceSurfaceFormatsKHR"))
        return -1;
    VkSurfaceFormatKHR *f = calloc(n ? n : 1, sizeof *f);
    if (!f || vkGetPhysicalDeviceSurfaceFormatsKHR(g->phys, g->surface, &n, f) < 0)
        n = 0;
    p->format = VK_FORMAT_UNDEFINED;
    for (size_t k = 0; k < sizeof FORMATS / sizeof *FORMATS && !p->format; k++)
        for (uint32_t i = 0; i < n; i++)
            if (f[i].format == FORMATS[k] && f[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR)
                p->format = FORMATS[k];
    free(f);
    if (!p->format) {
        fprintf(stderr, "vkvit-viewer: the window surface offers no 8-bit RGBA or BGRA format\n");
        return -1;
    }
    p->bgra = p->format == VK_FORMAT_B8G8R8A8_UNORM || p->format == VK_FORMAT_B8G8R8A8_SRGB;
    return 0;
}

static VkCompositeAlphaFlagBitsKHR choose_alpha(VkCompositeAlphaFlagsKHR supported)
{
    static const VkCompositeAlphaFlagBitsKHR order[] = {
        VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR, VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR,
        VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR, VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (supported & order[i])
            return order[i];
    return VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
}

static uint32_t clampu(uint32_t v, uint32_t lo, uint32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void destroy_semaphores(viewer_presenter *p)
{
    for (uint32_t i = 0; i < VIEWER_MAX_IMAGES; i++)
        if (p->copied[i]) {
            vkDestroySemaphore(p->gpu->device, p->copied[i], NULL);
            p->copied[i] = VK_NULL_HANDLE;
        }
}

/* (Re)creates the swapchain at the surface's size (or width x height where the surface leaves it to
 * us), replacing the old one. 1 if the window has no area (minimised): nothing created. */
static int create_swapchain(viewer_presenter *p, uint32_t width, uint32_t height)
{
    const viewer_gpu *g = p->gpu;
    VkSurfaceCapabilitiesKHR caps;
    if (viewer_vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(g->phys, g->surface, &caps),
                        "vkGetPhysicalDeviceSurfaceCapabilitiesKHR"))
        return -1;
    VkExtent2D extent = caps.currentExtent;
    if (extent.width == UINT32_MAX)
        extent = (VkExtent2D){clampu(width, caps.minImageExtent.width, caps.maxImageExtent.width),
                              clampu(height, caps.minImageExtent.height, caps.maxImageExtent.height)};
    if (extent.width == 0 || extent.height == 0)
        return 1;
    if (!(caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_DST_BIT)) {
        fprintf(stderr, "vkvit-viewer: the window's swapchain images cannot be transfer destinations, "
                        "and this viewer copies its frames into them\n");
        return -1;
    }
    p->readable = (caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount)
        count = caps.maxImageCount;
    VkSwapchainKHR old = p->swapchain;
    VkSwapchainCreateInfoKHR ci = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
        .surface = g->surface,
        .minImageCount = count,
        .imageFormat = p->format,
        .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
        .imageExtent = extent,
        .imageArrayLayers = 1,
        .imageUsage = VK_IMAGE_USAGE_TRANSFER_DST_BIT | (p->readable ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0),
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .preTransform = caps.currentTransform,
        .compositeAlpha = choose_alpha(caps.supportedCompositeAlpha),
        .presentMode = VK_PRESENT_MODE_FIFO_KHR, /* always supported; paced by the display */
        .clipped = VK_TRUE,
        .oldSwapchain = old,
    };
    VkResult r = vkCreateSwapchainKHR(g->device, &ci, NULL, &p->swapchain);
    if (old)
        vkDestroySwapchainKHR(g->device, old, NULL);
    if (viewer_vk_check(r, "vkCreateSwapchainKHR")) {
        p->swapchain = VK_NULL_HANDLE;
        return -1;
    }
    p->extent = extent;
    p->stale = 0;
    p->image_count = 0;
    if (viewer_vk_check(vkGetSwapchainImagesKHR(g->device, p->swapchain, &p->image_count, NULL), "vkGetSwapchainImagesKHR"))
        return -1;
    if (p->image_count > VIEWER_MAX_IMAGES) {
        fprintf(stderr, "vkvit-viewer: the swapchain has %u images; at most %d are handled\n", p->image_count,
                VIEWER_MAX_IMAGES);
        return -1;
    }
    if (viewer_vk_check(vkGetSwapchainImagesKHR(g->device, p->swapchain, &p->image_count, p->images),
                        "vkGetSwapchainImagesKHR"))
        return -1;
    destroy_semaphores(p);
    VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    for (uint32_t i = 0; i < p->image_count; i++)
        if (viewer_vk_check(vkCreateSemaphore(g->device, &sci, NULL, &p->copied[i]), "vkCreateSemaphore"))
            return -1;
    return 0;
}

static int create_slots(viewer_presenter *p)
{
    VkDevice dev = p->gpu->device;
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = p->gpu->queue_family,
    };
    if (viewer_vk_check(vkCreateCommandPool(dev, &pci, NULL, &p->pool), "vkCreateCommandPool"))
        return -1;
    for (int i = 0; i < VIEWER_FRAMES_IN_FLIGHT; i++) {
        viewer_frame_slot *s = &p->frames[i];
        VkCommandBufferAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = p->pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT};
        VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        if (viewer_vk_check(vkAllocateCommandBuffers(dev, &ai, &s->cmd), "vkAllocateCommandBuffers") ||
            viewer_vk_check(vkCreateFence(dev, &fci, NULL, &s->done), "vkCreateFence") ||
            viewer_vk_check(vkCreateSemaphore(dev, &sci, NULL, &s->acquired), "vkCreateSemaphore"))
            return -1;
    }
    return 0;
}

/* A host-visible, host-coherent buffer of `size` bytes, mapped. */
static int host_buffer(const viewer_gpu *g, VkDeviceSize size, VkBufferUsageFlags usage, VkBuffer *buf,
                       VkDeviceMemory *mem, void **map)
{
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage};
    if (viewer_vk_check(vkCreateBuffer(g->device, &bci, NULL, buf), "vkCreateBuffer"))
        return -1;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(g->device, *buf, &req);
    const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type = viewer_gpu_memory_type(g, req.memoryTypeBits, coherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (type < 0)
        type = viewer_gpu_memory_type(g, req.memoryTypeBits, coherent);
    if (type < 0) {
        fprintf(stderr, "vkvit-viewer: no host-visible coherent memory for a %llu-byte buffer\n",
                (unsigned long long)size);
        return -1;
    }
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type};
    if (viewer_vk_check(vkAllocateMemory(g->device, &mai, NULL, mem), "vkAllocateMemory") ||
        viewer_vk_check(vkBindBufferMemory(g->device, *buf, *mem, 0), "vkBindBufferMemory") ||
        viewer_vk_check(vkMapMemory(g->device, *mem, 0, VK_WHOLE_SIZE, 0, map), "vkMapMemory"))
        return -1;
    return 0;
}

static void free_buffer(const viewer_gpu *g, VkBuffer *buf, VkDeviceMemory *mem)
{
    if (*buf)
        vkDestroyBuffer(g->device, *buf, NULL);
    if (*mem)
        vkFreeMemory(g->device, *mem, NULL);
    *buf = VK_NULL_HANDLE, *mem = VK_NULL_HANDLE;
}

/* Grows the slot's staging buffer to `size` bytes; the slot's fence has been waited for. */
static int ensure_staging(viewer_presenter *p, viewer_frame_slot *s, VkDeviceSize size)
{
    if (s->staging_size >= size)
        return 0;
    free_buffer(p->gpu, &s->staging, &s->staging_mem);
    s->staging_size = 0;
    if (host_buffer(p->gpu, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &s->staging, &s->staging_mem, &s->staging_map))
        return -1;
    s->staging_size = size;
    return 0;
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

int viewer_presenter_create(viewer_presenter *p, const viewer_gpu *gpu, uint32_t width, uint32_t height)
{
    memset(p, 0, sizeof *p);
    p->gpu = gpu;
    if (choose_format(p) || create_slots(p))
        return -1;
    return create_swapchain(p, width, height) < 0 ? -1 : 0;
}

int viewer_presenter_resize(viewer_presenter *p, uint32_t width, uint32_t height)
{
    if (viewer_vk_check(vkDeviceWaitIdle(p->gpu->device), "vkDeviceWaitIdle"))
        return -1;
    return create_swapchain(p, width, height) < 0 ? -1 : 0;
}

void viewer_presenter_destroy(viewer_presenter *p)
{
    if (!p->gpu)
        return;
    VkDevice dev = p->gpu->device;
    vkDeviceWaitIdle(dev);
    for (int i = 0; i < VIEWER_FRAMES_IN_FLIGHT; i++) {
        viewer_frame_slot *s = &p->frames[i];
        free_buffer(p->gpu, &s->staging, &s->staging_mem);
        if (s->done)
            vkDestroyFence(dev, s->done, NULL);
        if (s->acquired)
            vkDestroySemaphore(dev, s->acquired, NULL);
    }
    if (p->pool)
        vkDestroyCommandPool(dev, p->pool, NULL);
    destroy_semaphores(p);
    if (p->swapchain)
        vkDestroySwapchainKHR(dev, p->swapchain, NULL);
    memset(p, 0, sizeof *p);
}

static void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to,
                          VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src_stage,
                          VkPipelineStageFlags dst_stage)
{
    VkImageMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
        .oldLayout = from,
        .newLayout = to,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .image = image,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
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
        .imageExtent = {p->extent.width, p->extent.height, 1},
    };
    image_barrier(cmd, image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                  VK_ACCESS_TRANSFER_WRITE_BIT, T, T);
    vkCmdCopyBufferToImage(cmd, s->staging, image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    VkImageLayout layout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    VkAccessFlags pending = VK_ACCESS_TRANSFER_WRITE_BIT;
    if (readback) {
        image_barrier(cmd, image, layout, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, pending, VK_ACCESS_TRANSFER_READ_BIT,
                      T, T);
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
    /* Presentation needs no access mask; the "copied" semaphore orders it after this submission. */
    image_barrier(cmd, image, layout, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, pending, 0, T,
                  VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
}

/* Submits slot `s` for swapchain image `index` and presents it. */
static int submit_and_present(viewer_presenter *p, viewer_frame_slot *s, uint32_t index)
{
    const viewer_gpu *g = p->gpu;
    VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .waitSemaphoreCount = 1,
        .pWaitSemaphores = &s->acquired,
        .pWaitDstStageMask = &wait_stage,
        .commandBufferCount = 1,
        .pCommandBuffers = &s->cmd,
        .signalSemaphoreCount = 1,
        .pSignalSemaphores = &p->copied[index],
    };
    if (viewer_vk_check(vkQueueSubmit(g->queue, 1, &si, s->done), "vkQueueSubmit"))
        return -1;
    VkPresentInfoKHR pi = {
        .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
        .waitSemaphoreCount = 1,
        .pWaitSemaphores = &p->copied[index],
        .swapchainCount = 1,
        .pSwapchains = &p->swapchain,
        .pImageIndices = &index,
    };
    VkResult r = vkQueuePresentKHR(g->queue, &pi);
    if (r == VK_SUBOPTIMAL_KHR || r == VK_ERROR_OUT_OF_DATE_KHR)
        p->stale = 1;
    else if (viewer_vk_check(r, "vkQueuePresentKHR"))
        return -1;
    return 0;
}

int viewer_present(viewer_presenter *p, const uint8_t *rgba, uint8_t *screenshot)
{
    const viewer_gpu *g = p->gpu;
    viewer_frame_slot *s = &p->frames[p->frame];
    VkBuffer readback = VK_NULL_HANDLE;
    VkDeviceMemory readback_mem = VK_NULL_HANDLE;
    void *readback_map = NULL;
    int rc = -1;
    if (!p->swapchain)
        p->stale = 1;
    if (p->stale)
        return 1;
    VK_TRY(vkWaitForFences(g->device, 1, &s->done, VK_TRUE, UINT64_MAX));
    uint32_t index = 0;
    VkResult r = vkAcquireNextImageKHR(g->device, p->swapchain, UINT64_MAX, s->acquired, VK_NULL_HANDLE, &index);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) {
        p->stale = 1;
        return 1;
    }
    VK_TRY(r); /* VK_SUBOPTIMAL_KHR still acquired the image and signals the semaphore: present it */
    size_t pixels = (size_t)p->extent.width * p->extent.height;
    if (ensure_staging(p, s, pixels * 4))
        goto fail;
    copy_pixels(s->staging_map, rgba, pixels, p->bgra);
    if (screenshot && p->readable &&
        host_buffer(g, pixels * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &readback, &readback_mem, &readback_map))
        goto fail;

    VK_TRY(vkResetFences(g->device, 1, &s->done));
    VK_TRY(vkResetCommandBuffer(s->cmd, 0));
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_TRY(vkBeginCommandBuffer(s->cmd, &bi));
    record(p, s, p->images[index], readback);
    VK_TRY(vkEndCommandBuffer(s->cmd));
    if (submit_and_present(p, s, index))
        goto fail;
    p->frame = (p->frame + 1) % VIEWER_FRAMES_IN_FLIGHT;
    if (screenshot) {
        VK_TRY(vkWaitForFences(g->device, 1, &s->done, VK_TRUE, UINT64_MAX));
        /* Without TRANSFER_SRC on the swapchain, the bytes that were copied into it. */
        copy_pixels(screenshot, readback_map ? readback_map : s->staging_map, pixels, p->bgra);
    }
    rc = 0;
fail:
    free_buffer(g, &readback, &readback_mem);
    return rc;
}
