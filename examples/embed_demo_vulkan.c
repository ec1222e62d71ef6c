/* embed_demo's Vulkan plumbing: instance, device choice, buffers, images, framebuffers, swapchain. */
#include "embed_demo_vulkan.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

int demo_vk_check(VkResult r, const char *call)
{
    if (r >= 0)
        return 0;
    fprintf(stderr, "embed_demo: %s failed: VkResult %d\n", call, (int)r);
    return -1;
}

/* ---- instance ----------------------------------------------------------------------------------------- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)type;
    demo_vulkan *vk = user;
    vk->validation_messages++;
    fprintf(stderr, "embed_demo: validation %s: %s\n",
            severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

static bool has_validation_layer(void)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) < 0)
        return false;
    VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
    bool found = false;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, VALIDATION_LAYER) == 0;
    free(props);
    return found;
}

int demo_instance_create(demo_vulkan *vk, const char *const *exts, uint32_t n_exts, int validation)
{
    if (demo_vk_check(volkInitialize(), "volkInitialize (is libvulkan1 installed?)"))
        return -1;
    if (validation && !has_validation_layer()) {
        fprintf(stderr, "embed_demo: validation asked for, but %s is not installed (Debian: vulkan-validationlayers)\n",
                VALIDATION_LAYER);
        return -1;
    }
    uint32_t loader = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion && vkEnumerateInstanceVersion(&loader) < 0)
        loader = VK_API_VERSION_1_0;
    if (loader < VK_API_VERSION_1_1) {
        fprintf(stderr, "embed_demo: the Vulkan loader is 1.0; vkvit needs Vulkan 1.1\n");
        return -1;
    }
    vk->instance_api = loader < VK_API_VERSION_1_3 ? loader : VK_API_VERSION_1_3;
    const char *all[16];
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_exts && n < 15; i++)
        all[n++] = exts[i];
    if (validation)
        all[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    const char *layers[] = {VALIDATION_LAYER};
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "embed_demo", .apiVersion = vk->instance_api};
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation,
        .pUserData = vk,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &dbg : NULL, /* also covers vkCreateInstance / vkDestroyInstance */
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n,
        .ppEnabledExtensionNames = all,
    };
    if (demo_vk_check(vkCreateInstance(&ci, NULL, &vk->instance), "vkCreateInstance"))
        return -1;
    volkLoadInstanceOnly(vk->instance);
    if (validation && demo_vk_check(vkCreateDebugUtilsMessengerEXT(vk->instance, &dbg, NULL, &vk->messenger),
                                    "vkCreateDebugUtilsMessengerEXT"))
        return -1;
    return 0;
}

/* ---- device choice ------------------------------------------------------------------------------------ */

/* A graphics + compute family (vkCmdBlitImage needs graphics; vkvit needs compute) that can present
 * to `surface` if there is one; -1 if none. */
static int pick_family(VkPhysicalDevice phys, VkSurfaceKHR surface)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    int found = -1;
    if (!q)
        return -1;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, q);
    const VkQueueFlags need = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
    for (uint32_t i = 0; i < n && found < 0; i++) {
        VkBool32 present = VK_TRUE;
        if (surface && vkGetPhysicalDeviceSurfaceSupportKHR(phys, i, surface, &present) < 0)
            present = VK_FALSE;
        if ((q[i].queueFlags & need) == need && q[i].queueCount > 0 && present)
            found = (int)i;
    }
    free(q);
    return found;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    for (size_t i = 0; hay[i]; i++) {
        size_t k = 0;
        while (needle[k] && hay[i + k] && tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k]))
            k++;
        if (!needle[k])
            return true;
    }
    return false;
}

static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

int demo_pick_device(demo_vulkan *vk, const char *want)
{
    if (!want || !*want)
        want = getenv("VKVIT_DEVICE");
    if (want && !*want)
        want = NULL;
    bool by_index = want && strspn(want, "0123456789") == strlen(want);
    uint32_t n = 0;
    if (demo_vk_check(vkEnumeratePhysicalDevices(vk->instance, &n, NULL), "vkEnumeratePhysicalDevices"))
        return -1;
    VkPhysicalDevice *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs || vkEnumeratePhysicalDevices(vk->instance, &n, devs) < 0)
        n = 0;
    int best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        int family = pick_family(devs[i], vk->surface), rank = type_rank(p.deviceType);
        bool wanted = !want || (by_index ? strtoul(want, NULL, 10) == i : contains_nocase(p.deviceName, want));
        if (wanted && family >= 0 && p.apiVersion >= VK_API_VERSION_1_1 && rank > best_rank) {
            best_rank = rank;
            vk->phys = devs[i];
            vk->family = (uint32_t)family;
            vk->api = p.apiVersion < vk->instance_api ? p.apiVersion : vk->instance_api;
            snprintf(vk->name, sizeof vk->name, "%s", p.deviceName);
        }
    }
    free(devs);
    if (best_rank < 0) {
        fprintf(stderr, "embed_demo: no Vulkan 1.1 device%s%s%s with a graphics + compute queue%s\n",
                want ? " matching \"" : "", want ? want : "", want ? "\"" : "",
                vk->surface ? " that can present to the window" : "");
        return -1;
    }
    return 0;
}

int demo_device_ready(demo_vulkan *vk)
{
    volkLoadDevice(vk->device);
    vkGetDeviceQueue(vk->device, vk->family, 0, &vk->queue);
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = vk->family,
    };
    return demo_vk_check(vkCreateCommandPool(vk->device, &pci, NULL, &vk->pool), "vkCreateCommandPool");
}

void demo_vulkan_destroy(demo_vulkan *vk)
{
    if (vk->device) {
        vkDeviceWaitIdle(vk->device);
        if (vk->pool)
            vkDestroyCommandPool(vk->device, vk->pool, NULL);
        vkDestroyDevice(vk->device, NULL);
    }
    if (vk->surface)
        vkDestroySurfaceKHR(vk->instance, vk->surface, NULL);
    if (vk->messenger)
        vkDestroyDebugUtilsMessengerEXT(vk->instance, vk->messenger, NULL);
    if (vk->instance)
        vkDestroyInstance(vk->instance, NULL);
    unsigned messages = vk->validation_messages;
    memset(vk, 0, sizeof *vk);
    vk->validation_messages = messages;
}

/* ---- memory ------------------------------------------------------------------------------------------- */

static int memory_type(demo_vulkan *vk, uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags nice)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &mp);
    for (int pass = 0; pass < 2; pass++) {
        VkMemoryPropertyFlags flags = pass == 0 ? want | nice : want;
        for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
            if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & flags) == flags)
                return (int)i;
    }
    fprintf(stderr, "embed_demo: no memory type with properties 0x%x\n", (unsigned)want);
    return -1;
}

static int allocate(demo_vulkan *vk, VkMemoryRequirements req, VkMemoryPropertyFlags want, VkMemoryPropertyFlags nice,
                    VkDeviceMemory *out)
{
    int type = memory_type(vk, req.memoryTypeBits, want, nice);
    if (type < 0)
        return -1;
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type};
    return demo_vk_check(vkAllocateMemory(vk->device, &ai, NULL, out), "vkAllocateMemory");
}

int demo_buffer_create(demo_vulkan *vk, VkDeviceSize size, VkBufferUsageFlags usage, demo_buffer *b)
{
    memset(b, 0, sizeof *b);
    b->size = size;
    VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage};
    VkMemoryRequirements req;
    DEMO_TRY(vkCreateBuffer(vk->device, &ci, NULL, &b->buf));
    vkGetBufferMemoryRequirements(vk->device, b->buf, &req);
    if (allocate(vk, req, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                 VK_MEMORY_PROPERTY_HOST_CACHED_BIT, &b->mem))
        goto fail;
    DEMO_TRY(vkBindBufferMemory(vk->device, b->buf, b->mem, 0));
    DEMO_TRY(vkMapMemory(vk->device, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map));
    return 0;
fail:
    demo_buffer_destroy(vk, b);
    return -1;
}

void demo_buffer_destroy(demo_vulkan *vk, demo_buffer *b)
{
    if (b->buf)
        vkDestroyBuffer(vk->device, b->buf, NULL);
    if (b->mem)
        vkFreeMemory(vk->device, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

static int view_of(demo_vulkan *vk, VkImage image, VkFormat format, VkImageView *out)
{
    VkImageViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    return demo_vk_check(vkCreateImageView(vk->device, &ci, NULL, out), "vkCreateImageView");
}

int demo_image_create(demo_vulkan *vk, VkFormat format, uint32_t width, uint32_t height, VkImageUsageFlags usage,
                      demo_image *im)
{
    memset(im, 0, sizeof *im);
    im->format = format, im->width = width, im->height = height;
    VkImageCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = {width, height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = usage,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkMemoryRequirements req;
    DEMO_TRY(vkCreateImage(vk->device, &ci, NULL, &im->image));
    vkGetImageMemoryRequirements(vk->device, im->image, &req);
    if (allocate(vk, req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, &im->mem))
        goto fail;
    DEMO_TRY(vkBindImageMemory(vk->device, im->image, im->mem, 0));
    if (view_of(vk, im->image, format, &im->view))
        goto fail;
    return 0;
fail:
    demo_image_destroy(vk, im);
    return -1;
}

void demo_image_destroy(demo_vulkan *vk, demo_image *im)
{
    if (im->view)
        vkDestroyImageView(vk->device, im->view, NULL);
    if (im->image)
        vkDestroyImage(vk->device, im->image, NULL);
    if (im->mem)
        vkFreeMemory(vk->device, im->mem, NULL);
    memset(im, 0, sizeof *im);
}

void demo_image_barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
                        VkPipelineStageFlags src_stage, VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                        VkAccessFlags dst_access)
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
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

int demo_framebuffer(demo_vulkan *vk, VkRenderPass render_pass, VkImageView view, VkExtent2D extent,
                     VkFramebuffer *out)
{
    VkFramebufferCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
        .renderPass = render_pass,
        .attachmentCount = 1,
        .pAttachments = &view,
        .width = extent.width,
        .height = extent.height,
        .layers = 1,
    };
    return demo_vk_check(vkCreateFramebuffer(vk->device, &ci, NULL, out), "vkCreateFramebuffer");
}

int demo_image_upload(demo_vulkan *vk, demo_image *im, const uint8_t *rgba)
{
    demo_buffer staging;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    int rc = -1;
    size_t bytes = (size_t)im->width * im->height * 4;
    if (demo_buffer_create(vk, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging))
        return -1;
    memcpy(staging.map, rgba, bytes);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = vk->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {im->width, im->height, 1}};
    DEMO_TRY(vkAllocateCommandBuffers(vk->device, &ai, &cb));
    DEMO_TRY(vkBeginCommandBuffer(cb, &bi));
    demo_image_barrier(cb, im->image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                       VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    vkCmdCopyBufferToImage(cb, staging.buf, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    demo_image_barrier(cb, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    DEMO_TRY(vkEndCommandBuffer(cb));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    DEMO_TRY(vkQueueSubmit(vk->queue, 1, &si, VK_NULL_HANDLE));
    DEMO_TRY(vkQueueWaitIdle(vk->queue));
    rc = 0;
fail:
    if (cb)
        vkFreeCommandBuffers(vk->device, vk->pool, 1, &cb);
    demo_buffer_destroy(vk, &staging);
    return rc;
}

/* ---- swapchain ---------------------------------------------------------------------------------------- */

int demo_swapchain_format(demo_vulkan *vk, demo_swapchain *sc)
{
    /* sRGB first: the target is then sRGB too, so the shader reads and writes linear light. */
    static const VkFormat order[] = {VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_SRGB, VK_FORMAT_B8G8R8A8_UNORM,
                                     VK_FORMAT_R8G8B8A8_UNORM};
    uint32_t n = 0;
    if (demo_vk_check(vkGetPhysicalDeviceSurfaceFormatsKHR(vk->phys, vk->surface, &n, NULL),
                      "vkGetPhysicalDeviceSurfaceFormatsKHR"))
        return -1;
    VkSurfaceFormatKHR *f = calloc(n ? n : 1, sizeof *f);
    if (!f || vkGetPhysicalDeviceSurfaceFormatsKHR(vk->phys, vk->surface, &n, f) < 0)
        n = 0;
    sc->format = VK_FORMAT_UNDEFINED;
    for (size_t k = 0; k < sizeof order / sizeof *order && !sc->format; k++)
        for (uint32_t i = 0; i < n; i++)
            if (f[i].format == order[k] && f[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR)
                sc->format = order[k];
    free(f);
    if (!sc->format) {
        fprintf(stderr, "embed_demo: the window surface offers no 8-bit RGBA or BGRA format\n");
        return -1;
    }
    return 0;
}

/* The per-image objects: semaphores, framebuffers, views. */
static void destroy_per_image(demo_vulkan *vk, demo_swapchain *sc)
{
    for (uint32_t i = 0; i < DEMO_MAX_SWAPCHAIN_IMAGES; i++) {
        if (sc->rendered[i])
            vkDestroySemaphore(vk->device, sc->rendered[i], NULL);
        if (sc->framebuffers[i])
            vkDestroyFramebuffer(vk->device, sc->framebuffers[i], NULL);
        if (sc->views[i])
            vkDestroyImageView(vk->device, sc->views[i], NULL);
    }
    memset(sc->rendered, 0, sizeof sc->rendered);
    memset(sc->framebuffers, 0, sizeof sc->framebuffers);
    memset(sc->views, 0, sizeof sc->views);
}

static uint32_t clampu(uint32_t v, uint32_t lo, uint32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

int demo_swapchain_build(demo_vulkan *vk, demo_swapchain *sc, VkRenderPass render_pass, uint32_t width,
                         uint32_t height)
{
    VkSurfaceCapabilitiesKHR caps;
    if (demo_vk_check(vkDeviceWaitIdle(vk->device), "vkDeviceWaitIdle") ||
        demo_vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(vk->phys, vk->surface, &caps),
                      "vkGetPhysicalDeviceSurfaceCapabilitiesKHR"))
        return -1;
    VkExtent2D extent = caps.currentExtent;
    if (extent.width == UINT32_MAX)
        extent = (VkExtent2D){clampu(width, caps.minImageExtent.width, caps.maxImageExtent.width),
                              clampu(height, caps.minImageExtent.height, caps.maxImageExtent.height)};
    if (extent.width == 0 || extent.height == 0)
        return 1;
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount)
        count = caps.maxImageCount;
    VkSwapchainKHR old = sc->swapchain;
    VkSwapchainCreateInfoKHR ci = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
        .surface = vk->surface,
        .minImageCount = count,
        .imageFormat = sc->format,
        .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
        .imageExtent = extent,
        .imageArrayLayers = 1,
        .imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .preTransform = caps.currentTransform,
        .compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
        .presentMode = VK_PRESENT_MODE_FIFO_KHR,
        .clipped = VK_TRUE,
        .oldSwapchain = old,
    };
    if (!(caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR))
        ci.compositeAlpha = VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR;
    VkResult r = vkCreateSwapchainKHR(vk->device, &ci, NULL, &sc->swapchain);
    if (old)
        vkDestroySwapchainKHR(vk->device, old, NULL);
    if (demo_vk_check(r, "vkCreateSwapchainKHR")) {
        sc->swapchain = VK_NULL_HANDLE;
        return -1;
    }
    sc->extent = extent, sc->stale = 0, sc->count = 0;
    destroy_per_image(vk, sc);
    if (demo_vk_check(vkGetSwapchainImagesKHR(vk->device, sc->swapchain, &sc->count, NULL), "vkGetSwapchainImagesKHR"))
        return -1;
    if (sc->count > DEMO_MAX_SWAPCHAIN_IMAGES) {
        fprintf(stderr, "embed_demo: the swapchain has %u images, more than %d\n", sc->count, DEMO_MAX_SWAPCHAIN_IMAGES);
        return -1;
    }
    if (demo_vk_check(vkGetSwapchainImagesKHR(vk->device, sc->swapchain, &sc->count, sc->images),
                      "vkGetSwapchainImagesKHR"))
        return -1;
    VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    for (uint32_t i = 0; i < sc->count; i++)
        if (demo_vk_check(vkCreateSemaphore(vk->device, &si, NULL, &sc->rendered[i]), "vkCreateSemaphore") ||
            view_of(vk, sc->images[i], sc->format, &sc->views[i]) ||
            demo_framebuffer(vk, render_pass, sc->views[i], extent, &sc->framebuffers[i]))
            return -1;
    return 0;
}

void demo_swapchain_destroy(demo_vulkan *vk, demo_swapchain *sc)
{
    if (!vk->device)
        return;
    vkDeviceWaitIdle(vk->device);
    destroy_per_image(vk, sc);
    if (sc->swapchain)
        vkDestroySwapchainKHR(vk->device, sc->swapchain, NULL);
    memset(sc, 0, sizeof *sc);
}
