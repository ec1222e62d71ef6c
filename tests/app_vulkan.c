#include "app_vulkan.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int messages;

int app_validation_messages(void) { return atomic_load(&messages); }

static VKAPI_ATTR VkBool32 VKAPI_CALL app_debug(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT types,
                                                const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types, (void)user;
    atomic_fetch_add(&messages, 1);
    fprintf(stderr, "APP VALIDATION %s: %s\n",
            (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "ERROR" : "WARNING",
            data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

void app_check(VkResult r, const char *what)
{
    if (r != VK_SUCCESS) {
        fprintf(stderr, "FATAL: %s failed: VkResult %d\n", what, (int)r);
        exit(1);
    }
}

static void *app_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    return p;
}

static bool has_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (phys)
        vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
    else
        vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    VkExtensionProperties *p = app_calloc(n, sizeof *p);
    VkResult r = phys ? vkEnumerateDeviceExtensionProperties(phys, NULL, &n, p)
                      : vkEnumerateInstanceExtensionProperties(NULL, &n, p);
    bool found = false;
    for (uint32_t i = 0; r == VK_SUCCESS && i < n && !found; i++)
        found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

void app_create_instance(app_vulkan *app, const char *device_name)
{
    memset(app, 0, sizeof *app);
    app_check(volkInitialize(), "volkInitialize");
    uint32_t version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion)
        vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_1) {
        fprintf(stderr, "FATAL: the Vulkan loader is 1.0\n");
        exit(1);
    }
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *exts[2] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    uint32_t n_exts = 1;
    VkInstanceCreateFlags flags = 0;
    if (has_extension(NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    VkApplicationInfo ai = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkvit embedding test",
        .apiVersion = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version,
    };
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = app_debug,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = &dbg,
        .flags = flags,
        .pApplicationInfo = &ai,
        .enabledLayerCount = 1,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    app_check(vkCreateInstance(&ci, NULL, &app->instance), "vkCreateInstance (validation layer installed?)");
    volkLoadInstance(app->instance);
    app_check(vkCreateDebugUtilsMessengerEXT(app->instance, &dbg, NULL, &app->messenger),
              "vkCreateDebugUtilsMessengerEXT");

    uint32_t n = 0;
    app_check(vkEnumeratePhysicalDevices(app->instance, &n, NULL), "vkEnumeratePhysicalDevices");
    VkPhysicalDevice *devs = app_calloc(n, sizeof *devs);
    app_check(vkEnumeratePhysicalDevices(app->instance, &n, devs), "vkEnumeratePhysicalDevices");
    for (uint32_t i = 0; i < n && !app->phys; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        if (strcmp(p.deviceName, device_name) == 0 && p.apiVersion >= VK_API_VERSION_1_1)
            app->phys = devs[i];
    }
    free(devs);
    if (!app->phys) {
        fprintf(stderr, "FATAL: the application's instance does not see a Vulkan 1.1 device '%s'\n", device_name);
        exit(1);
    }
}

bool app_has_extension(const app_vulkan *app, const char *name) { return has_extension(app->phys, name); }

void app_create_device(app_vulkan *app, const void *features, const char *const *exts, uint32_t n_exts)
{
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(app->phys, &nq, NULL);
    VkQueueFamilyProperties *q = app_calloc(nq, sizeof *q);
    vkGetPhysicalDeviceQueueFamilyProperties(app->phys, &nq, q);
    int family = -1;
    for (uint32_t i = 0; i < nq && family < 0; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].queueCount > 0)
            family = (int)i;
    free(q);
    if (family < 0) {
        fprintf(stderr, "FATAL: the application's device has no compute queue\n");
        exit(1);
    }
    app->family = (uint32_t)family;
    const char **all = app_calloc(n_exts + 1, sizeof *all);
    for (uint32_t i = 0; i < n_exts; i++)
        all[i] = exts[i];
    uint32_t n_all = n_exts;
    if (has_extension(app->phys, "VK_KHR_portability_subset"))
        all[n_all++] = "VK_KHR_portability_subset";
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = app->family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = features,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n_all,
        .ppEnabledExtensionNames = all,
    };
    app_check(vkCreateDevice(app->phys, &dci, NULL, &app->device), "vkCreateDevice");
    free(all);
    volkLoadDeviceTable(&app->vk, app->device);
    app->vk.vkGetDeviceQueue(app->device, app->family, 0, &app->queue);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = app->family};
    app_check(app->vk.vkCreateCommandPool(app->device, &pci, NULL, &app->pool), "app vkCreateCommandPool");
}

void app_destroy(app_vulkan *app)
{
    if (app->device) {
        app->vk.vkDestroyCommandPool(app->device, app->pool, NULL);
        app->vk.vkDestroyDevice(app->device, NULL);
    }
    vkDestroyDebugUtilsMessengerEXT(app->instance, app->messenger, NULL);
    vkDestroyInstance(app->instance, NULL);
    memset(app, 0, sizeof *app);
}

static uint32_t memory_type(const app_vulkan *app, uint32_t type_bits, VkMemoryPropertyFlags want)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(app->phys, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            return i;
    fprintf(stderr, "FATAL: no memory type with properties 0x%x\n", (unsigned)want);
    exit(1);
}

static VkDeviceMemory allocate(app_vulkan *app, VkMemoryRequirements req, VkMemoryPropertyFlags want)
{
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                .memoryTypeIndex = memory_type(app, req.memoryTypeBits, want)};
    VkDeviceMemory mem;
    app_check(app->vk.vkAllocateMemory(app->device, &mai, NULL, &mem), "app vkAllocateMemory");
    return mem;
}

app_buffer app_buffer_create(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage)
{
    app_buffer b = {.size = size};
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    app_check(app->vk.vkCreateBuffer(app->device, &bci, NULL, &b.buf), "app vkCreateBuffer");
    VkMemoryRequirements req;
    app->vk.vkGetBufferMemoryRequirements(app->device, b.buf, &req);
    b.mem = allocate(app, req, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    app_check(app->vk.vkBindBufferMemory(app->device, b.buf, b.mem, 0), "app vkBindBufferMemory");
    app_check(app->vk.vkMapMemory(app->device, b.mem, 0, VK_WHOLE_SIZE, 0, &b.map), "app vkMapMemory");
    return b;
}

void app_buffer_destroy(app_vulkan *app, app_buffer *b)
{
    app->vk.vkDestroyBuffer(app->device, b->buf, NULL);
    app->vk.vkFreeMemory(app->device, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

app_image app_image_create(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height)
{
    app_image im = {.format = format, .width = width, .height = height};
    VkImageCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = {width, height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    app_check(app->vk.vkCreateImage(app->device, &ci, NULL, &im.image), "app vkCreateImage");
    VkMemoryRequirements req;
    app->vk.vkGetImageMemoryRequirements(app->device, im.image, &req);
    im.mem = allocate(app, req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    app_check(app->vk.vkBindImageMemory(app->device, im.image, im.mem, 0), "app vkBindImageMemory");
    return im;
}

static void layout_barrier(app_vulkan *app, VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
                           VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src,
                           VkPipelineStageFlags dst)
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
    app->vk.vkCmdPipelineBarrier(cb, src, dst, 0, 0, NULL, 0, NULL, 1, &b);
}

void app_image_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes)
{
    VkDeviceSize bytes = (VkDeviceSize)im->width * im->height * texel_bytes;
    app_buffer staging = app_buffer_create(app, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    memcpy(staging.map, texels, bytes);
    VkCommandBuffer cb = app_begin(app, false);
    /* The earlier contents (and any earlier compute reads of them) are replaced. */
    layout_barrier(app, cb, im->image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                   VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {im->width, im->height, 1}};
    app->vk.vkCmdCopyBufferToImage(cb, staging.buf, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    /* What vkvit_record asks of an image input: visible to compute-shader reads, in the stated layout. */
    layout_barrier(app, cb, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                   VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    app_submit_wait(app, cb, true);
    app_free(app, cb);
    app_buffer_destroy(app, &staging);
}

void app_image_destroy(app_vulkan *app, app_image *im)
{
    app->vk.vkDestroyImage(app->device, im->image, NULL);
    app->vk.vkFreeMemory(app->device, im->mem, NULL);
    memset(im, 0, sizeof *im);
}

VkCommandBuffer app_begin(app_vulkan *app, bool reusable)
{
    VkCommandBuffer cb;
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = app->pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    app_check(app->vk.vkAllocateCommandBuffers(app->device, &cai, &cb), "app vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = reusable ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    app_check(app->vk.vkBeginCommandBuffer(cb, &bi), "app vkBeginCommandBuffer");
    return cb;
}

void app_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end)
{
    if (end)
        app_check(app->vk.vkEndCommandBuffer(cb), "app vkEndCommandBuffer");
    VkFence fence;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    app_check(app->vk.vkCreateFence(app->device, &fci, NULL, &fence), "app vkCreateFence");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    app_check(app->vk.vkQueueSubmit(app->queue, 1, &si, fence), "app vkQueueSubmit");
    app_check(app->vk.vkWaitForFences(app->device, 1, &fence, VK_TRUE, UINT64_MAX), "app vkWaitForFences");
    app->vk.vkDestroyFence(app->device, fence, NULL);
}

void app_free(app_vulkan *app, VkCommandBuffer cb) { app->vk.vkFreeCommandBuffers(app->device, app->pool, 1, &cb); }

bool app_fill_and_read(app_vulkan *app, uint32_t pattern)
{
    const uint32_t words = 4096;
    app_buffer b = app_buffer_create(app, words * sizeof(uint32_t), VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    uint32_t *mapped = b.map;
    memset(mapped, 0, b.size);
    VkCommandBuffer cb = app_begin(app, false);
    app->vk.vkCmdFillBuffer(cb, b.buf, 0, VK_WHOLE_SIZE, pattern);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    app->vk.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL,
                                 0, NULL);
    app_submit_wait(app, cb, true);
    app_free(app, cb);
    bool ok = true;
    for (uint32_t i = 0; i < words && ok; i++)
        ok = mapped[i] == pattern;
    app_buffer_destroy(app, &b);
    return ok;
}
