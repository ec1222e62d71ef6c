/* The application's Vulkan: instance, device choice and creation, buffers, images, commands, swapchain. */
#include "app_vulkan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static const char *program = "app"; /* app_vulkan_options.name, for messages */

static const char *result_name(VkResult r)
{
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_SURFACE_LOST_KHR: return "VK_ERROR_SURFACE_LOST_KHR";
    case VK_ERROR_NATIVE_WINDOW_IN_USE_KHR: return "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR";
    case VK_ERROR_OUT_OF_DATE_KHR: return "VK_ERROR_OUT_OF_DATE_KHR";
    default: return "VkResult";
    }
}

int app_vk_check(VkResult r, const char *call)
{
    if (r >= 0)
        return 0;
    fprintf(stderr, "%s: %s failed: %s (%d)\n", program, call, result_name(r), (int)r);
    return -1;
}

/* ---- instance ----------------------------------------------------------------------------------------- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)type;
    app_vulkan *app = user;
    atomic_fetch_add(&app->validation_messages, 1); /* vkvit may call from its own threads */
    fprintf(stderr, "%s: validation %s: %s\n", program,
            severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

static bool has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) < 0)
        return false;
    VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
    bool found = false;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

/* Whether the instance (phys == NULL) or the physical device offers extension `name`. */
static bool has_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    VkResult r = phys ? vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL)
                      : vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
    bool found = false;
    if (r >= 0 && props)
        r = phys ? vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props)
                 : vkEnumerateInstanceExtensionProperties(NULL, &n, props);
    for (uint32_t i = 0; r >= 0 && props && i < n && !found; i++)
        found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

bool app_has_device_extension(VkPhysicalDevice phys, const char *name) { return has_extension(phys, name); }

int app_instance_create(app_vulkan *app, const app_vulkan_options *o)
{
    memset(app, 0, sizeof *app);
    program = o->name;
    if (app_vk_check(volkInitialize(), "volkInitialize (is libvulkan1 installed?)"))
        return -1;
    if (o->validation && !has_layer(VALIDATION_LAYER)) {
        fprintf(stderr, "%s: validation asked for, but %s is not installed (Debian: vulkan-validationlayers)\n",
                program, VALIDATION_LAYER);
        return -1;
    }
    uint32_t loader = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion && vkEnumerateInstanceVersion(&loader) < 0)
        loader = VK_API_VERSION_1_0;
    if (loader < VK_API_VERSION_1_1) {
        fprintf(stderr, "%s: the Vulkan loader is 1.0; vkvit needs Vulkan 1.1\n", program);
        return -1;
    }
    app->instance_api = loader < VK_API_VERSION_1_3 ? loader : VK_API_VERSION_1_3;
    const char *exts[16];
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->instance_extension_count && n < 14; i++)
        exts[n++] = o->instance_extensions[i];
    if (o->validation)
        exts[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkInstanceCreateFlags flags = 0;
    if (o->portability && has_extension(NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    const char *layers[] = {VALIDATION_LAYER};
    VkApplicationInfo ai = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = o->name, .apiVersion = app->instance_api};
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation,
        .pUserData = app,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = o->validation ? &dbg : NULL, /* also covers vkCreateInstance / vkDestroyInstance */
        .flags = flags,
        .pApplicationInfo = &ai,
        .enabledLayerCount = o->validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n,
        .ppEnabledExtensionNames = exts,
    };
    if (app_vk_check(vkCreateInstance(&ci, NULL, &app->instance), "vkCreateInstance"))
        return -1;
    volkLoadInstanceOnly(app->instance);
    if (o->validation && app_vk_check(vkCreateDebugUtilsMessengerEXT(app->instance, &dbg, NULL, &app->messenger),
                                      "vkCreateDebugUtilsMessengerEXT"))
        return -1;
    return 0;
}

/* ---- device choice ------------------------------------------------------------------------------------ */

/* The first queue family with all of `need` that can present to `surface` if there is one; -1 if none. */
static int pick_family(VkPhysicalDevice phys, VkSurfaceKHR surface, VkQueueFlags need)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    int found = -1;
    if (!q)
        return -1;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, q);
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

int app_device_pick(app_vulkan *app, const char *want, VkQueueFlags queue_flags)
{
    if (!want || !*want)
        want = getenv("VKVIT_DEVICE");
    if (want && !*want)
        want = NULL;
    bool by_index = want && strspn(want, "0123456789") == strlen(want);
    uint32_t n = 0;
    if (app_vk_check(vkEnumeratePhysicalDevices(app->instance, &n, NULL), "vkEnumeratePhysicalDevices"))
        return -1;
    VkPhysicalDevice *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs || vkEnumeratePhysicalDevices(app->instance, &n, devs) < 0)
        n = 0;
    int best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        int family = pick_family(devs[i], app->surface, queue_flags), rank = type_rank(p.deviceType);
        bool wanted = !want || (by_index ? strtoul(want, NULL, 10) == i : contains_nocase(p.deviceName, want));
        if (wanted && family >= 0 && p.apiVersion >= VK_API_VERSION_1_1 && rank > best_rank) {
            best_rank = rank;
            app->phys = devs[i];
            app->family = (uint32_t)family;
            app->api = p.apiVersion < app->instance_api ? p.apiVersion : app->instance_api;
            snprintf(app->name, sizeof app->name, "%s", p.deviceName);
        }
    }
    free(devs);
    if (best_rank < 0) {
        fprintf(stderr, "%s: no Vulkan 1.1 device%s%s%s with a %s queue%s\n", program, want ? " matching \"" : "",
                want ? want : "", want ? "\"" : "",
                queue_flags & VK_QUEUE_GRAPHICS_BIT ? "graphics + compute" : "compute",
                app->surface ? " that can present to the window" : "");
        return -1;
    }
    return 0;
}

/* ---- the device --------------------------------------------------------------------------------------- */

int app_device_create(app_vulkan *app, const VkPhysicalDeviceFeatures2 *features, const char *const *exts,
                      uint32_t n_exts)
{
    if (n_exts > VKVIT_MAX_REQUIRED_EXTENSIONS) {
        fprintf(stderr, "%s: %u device extensions, more than %d\n", program, n_exts, VKVIT_MAX_REQUIRED_EXTENSIONS);
        return -1;
    }
    uint32_t n = 0;
    if (app->surface)
        app->extensions[n++] = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
    if (has_extension(app->phys, "VK_KHR_portability_subset"))
        app->extensions[n++] = "VK_KHR_portability_subset";
    for (uint32_t i = 0; i < n_exts; i++)
        app->extensions[n++] = exts[i];
    app->extension_count = n;
    app->enabled_features = features;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = app->family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = features,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n,
        .ppEnabledExtensionNames = app->extensions,
    };
    if (app_vk_check(vkCreateDevice(app->phys, &ci, NULL, &app->device), "vkCreateDevice"))
        return -1;
    volkLoadDevice(app->device); /* the application's one device: volk's globals call it directly */
    vkGetDeviceQueue(app->device, app->family, 0, &app->queue);
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = app->family,
    };
    return app_vk_check(vkCreateCommandPool(app->device, &pci, NULL, &app->pool), "vkCreateCommandPool");
}

int app_device_create_for_vkvit(app_vulkan *app)
{
    uint32_t paths = 0;
    app->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    if (app->api >= VK_API_VERSION_1_2) { /* on Vulkan 1.1, fp32 only: it keeps this chain short */
        app->features12 = (VkPhysicalDeviceVulkan12Features){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
        app->features11 = (VkPhysicalDeviceVulkan11Features){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &app->features12};
        app->features.pNext = &app->features11;
        paths = VKVIT_PATH_FP16;
    }
    /* Sets the features vkvit's fp16 path needs in our chain, where this device has them. */
    if (vkvit_query_device_requirements(app->instance, app->phys, vkGetInstanceProcAddr, paths, &app->features,
                                        &app->required) != VKVIT_OK) {
        fprintf(stderr, "%s: vkvit_query_device_requirements: %s\n", program, vkvit_last_error());
        return -1;
    }
    return app_device_create(app, &app->features, app->required.extensions, app->required.extension_count);
}

vkvit_adopt_info app_adopt_info(const app_vulkan *app)
{
    return (vkvit_adopt_info){
        .instance = app->instance,
        .physical_device = app->phys,
        .device = app->device,
        .queue_family = app->family,
        .queue = app->queue,
        .get_instance_proc_addr = vkGetInstanceProcAddr,
        .enabled_features = app->enabled_features,
        .enabled_extension_count = app->extension_count,
        .enabled_extensions = app->extensions,
    };
}

unsigned app_validation_messages(app_vulkan *app) { return atomic_load(&app->validation_messages); }

void app_vulkan_destroy(app_vulkan *app)
{
    if (app->device) {
        vkDeviceWaitIdle(app->device);
        if (app->pool)
            vkDestroyCommandPool(app->device, app->pool, NULL);
        vkDestroyDevice(app->device, NULL);
    }
    if (app->surface)
        vkDestroySurfaceKHR(app->instance, app->surface, NULL);
    if (app->messenger)
        vkDestroyDebugUtilsMessengerEXT(app->instance, app->messenger, NULL);
    if (app->instance)
        vkDestroyInstance(app->instance, NULL);
    unsigned messages = app_validation_messages(app);
    memset(app, 0, sizeof *app);
    atomic_store(&app->validation_messages, messages);
}

/* ---- memory ------------------------------------------------------------------------------------------- */

/* A memory type among `bits` with all of `want`, and all of `nice` too where one has them. */
static int memory_type(app_vulkan *app, uint32_t bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags nice)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(app->phys, &mp);
    for (int pass = 0; pass < 2; pass++) {
        VkMemoryPropertyFlags flags = pass == 0 ? want | nice : want;
        for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
            if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & flags) == flags)
                return (int)i;
    }
    fprintf(stderr, "%s: no memory type with properties 0x%x\n", program, (unsigned)want);
    return -1;
}

static int allocate(app_vulkan *app, VkMemoryRequirements req, VkMemoryPropertyFlags want, VkMemoryPropertyFlags nice,
                    VkDeviceMemory *out)
{
    int type = memory_type(app, req.memoryTypeBits, want, nice);
    if (type < 0)
        return -1;
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)type};
    return app_vk_check(vkAllocateMemory(app->device, &ai, NULL, out), "vkAllocateMemory");
}

int app_buffer_create(app_vulkan *app, VkDeviceSize size, VkBufferUsageFlags usage, app_buffer *b)
{
    memset(b, 0, sizeof *b);
    b->size = size;
    VkBufferCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage};
    VkMemoryRequirements req;
    APP_TRY(vkCreateBuffer(app->device, &ci, NULL, &b->buf));
    vkGetBufferMemoryRequirements(app->device, b->buf, &req);
    if (allocate(app, req, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                 VK_MEMORY_PROPERTY_HOST_CACHED_BIT, &b->mem))
        goto fail;
    APP_TRY(vkBindBufferMemory(app->device, b->buf, b->mem, 0));
    APP_TRY(vkMapMemory(app->device, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map));
    return 0;
fail:
    app_buffer_destroy(app, b);
    return -1;
}

void app_buffer_destroy(app_vulkan *app, app_buffer *b)
{
    if (b->buf)
        vkDestroyBuffer(app->device, b->buf, NULL);
    if (b->mem)
        vkFreeMemory(app->device, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

/* ---- images ------------------------------------------------------------------------------------------- */

int app_image_view(app_vulkan *app, VkImage image, VkFormat format, VkImageView *out)
{
    VkImageViewCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    return app_vk_check(vkCreateImageView(app->device, &ci, NULL, out), "vkCreateImageView");
}

int app_image_create(app_vulkan *app, VkFormat format, uint32_t width, uint32_t height, VkImageUsageFlags usage,
                     app_image *im)
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
    APP_TRY(vkCreateImage(app->device, &ci, NULL, &im->image));
    vkGetImageMemoryRequirements(app->device, im->image, &req);
    if (allocate(app, req, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, &im->mem))
        goto fail;
    APP_TRY(vkBindImageMemory(app->device, im->image, im->mem, 0));
    if (app_image_view(app, im->image, format, &im->view))
        goto fail;
    return 0;
fail:
    app_image_destroy(app, im);
    return -1;
}

void app_image_destroy(app_vulkan *app, app_image *im)
{
    if (im->view)
        vkDestroyImageView(app->device, im->view, NULL);
    if (im->image)
        vkDestroyImage(app->device, im->image, NULL);
    if (im->mem)
        vkFreeMemory(app->device, im->mem, NULL);
    memset(im, 0, sizeof *im);
}

void app_image_barrier(VkCommandBuffer cb, VkImage image, VkImageLayout from, VkImageLayout to,
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

int app_image_upload(app_vulkan *app, app_image *im, const void *texels, uint32_t texel_bytes,
                     VkPipelineStageFlags readers)
{
    app_buffer staging;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    int rc = -1;
    size_t bytes = (size_t)im->width * im->height * texel_bytes;
    if (app_buffer_create(app, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &staging))
        return -1;
    memcpy(staging.map, texels, bytes);
    if (app_commands_begin(app, false, &cb))
        goto fail;
    /* The earlier contents, and the readers' earlier reads of them, are replaced. */
    app_image_barrier(cb, im->image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, readers, 0,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {im->width, im->height, 1}};
    vkCmdCopyBufferToImage(cb, staging.buf, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    app_image_barrier(cb, im->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                      VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, readers, VK_ACCESS_SHADER_READ_BIT);
    if (app_commands_submit_wait(app, cb, true))
        goto fail;
    rc = 0;
fail:
    if (cb)
        app_commands_free(app, cb);
    app_buffer_destroy(app, &staging);
    return rc;
}

/* ---- one-off commands --------------------------------------------------------------------------------- */

int app_commands_begin(app_vulkan *app, bool reusable, VkCommandBuffer *out)
{
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = app->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = reusable ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    *out = VK_NULL_HANDLE;
    APP_TRY(vkAllocateCommandBuffers(app->device, &ai, out));
    APP_TRY(vkBeginCommandBuffer(*out, &bi));
    return 0;
fail:
    if (*out)
        app_commands_free(app, *out);
    *out = VK_NULL_HANDLE;
    return -1;
}

int app_commands_submit_wait(app_vulkan *app, VkCommandBuffer cb, bool end)
{
    VkFence fence = VK_NULL_HANDLE;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    int rc = -1;
    if (end)
        APP_TRY(vkEndCommandBuffer(cb));
    APP_TRY(vkCreateFence(app->device, &fci, NULL, &fence));
    APP_TRY(vkQueueSubmit(app->queue, 1, &si, fence));
    APP_TRY(vkWaitForFences(app->device, 1, &fence, VK_TRUE, UINT64_MAX));
    rc = 0;
fail:
    if (fence)
        vkDestroyFence(app->device, fence, NULL);
    return rc;
}

void app_commands_free(app_vulkan *app, VkCommandBuffer cb) { vkFreeCommandBuffers(app->device, app->pool, 1, &cb); }

/* ---- swapchain ---------------------------------------------------------------------------------------- */

int app_swapchain_format(app_vulkan *app, const VkFormat *formats, uint32_t count, app_swapchain *sc)
{
    uint32_t n = 0;
    if (app_vk_check(vkGetPhysicalDeviceSurfaceFormatsKHR(app->phys, app->surface, &n, NULL),
                     "vkGetPhysicalDeviceSurfaceFormatsKHR"))
        return -1;
    VkSurfaceFormatKHR *f = calloc(n ? n : 1, sizeof *f);
    if (!f || vkGetPhysicalDeviceSurfaceFormatsKHR(app->phys, app->surface, &n, f) < 0)
        n = 0;
    sc->format = VK_FORMAT_UNDEFINED;
    for (uint32_t k = 0; k < count && !sc->format; k++)
        for (uint32_t i = 0; i < n; i++)
            if (f[i].format == formats[k] && f[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR)
                sc->format = formats[k];
    free(f);
    if (!sc->format) {
        fprintf(stderr, "%s: the window surface offers no 8-bit RGBA or BGRA format\n", program);
        return -1;
    }
    return 0;
}

static void destroy_semaphores(app_vulkan *app, app_swapchain *sc)
{
    for (uint32_t i = 0; i < APP_MAX_SWAPCHAIN_IMAGES; i++)
        if (sc->presentable[i]) {
            vkDestroySemaphore(app->device, sc->presentable[i], NULL);
            sc->presentable[i] = VK_NULL_HANDLE;
        }
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

int app_swapchain_build(app_vulkan *app, app_swapchain *sc, VkImageUsageFlags usage,
                        VkImageUsageFlags optional_usage, uint32_t width, uint32_t height)
{
    VkSurfaceCapabilitiesKHR caps;
    if (app_vk_check(vkDeviceWaitIdle(app->device), "vkDeviceWaitIdle") ||
        app_vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(app->phys, app->surface, &caps),
                     "vkGetPhysicalDeviceSurfaceCapabilitiesKHR"))
        return -1;
    VkExtent2D extent = caps.currentExtent;
    if (extent.width == UINT32_MAX)
        extent = (VkExtent2D){clampu(width, caps.minImageExtent.width, caps.maxImageExtent.width),
                              clampu(height, caps.minImageExtent.height, caps.maxImageExtent.height)};
    if (extent.width == 0 || extent.height == 0)
        return 1;
    if ((caps.supportedUsageFlags & usage) != usage) {
        fprintf(stderr, "%s: the window's swapchain images cannot have usage 0x%x (they offer 0x%x)\n", program,
                (unsigned)usage, (unsigned)caps.supportedUsageFlags);
        return -1;
    }
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount)
        count = caps.maxImageCount;
    VkSwapchainKHR old = sc->swapchain;
    VkSwapchainCreateInfoKHR ci = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
        .surface = app->surface,
        .minImageCount = count,
        .imageFormat = sc->format,
        .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
        .imageExtent = extent,
        .imageArrayLayers = 1,
        .imageUsage = usage | (optional_usage & caps.supportedUsageFlags),
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .preTransform = caps.currentTransform,
        .compositeAlpha = choose_alpha(caps.supportedCompositeAlpha),
        .presentMode = VK_PRESENT_MODE_FIFO_KHR, /* always supported; paced by the display */
        .clipped = VK_TRUE,
        .oldSwapchain = old,
    };
    VkResult r = vkCreateSwapchainKHR(app->device, &ci, NULL, &sc->swapchain);
    if (old)
        vkDestroySwapchainKHR(app->device, old, NULL);
    if (app_vk_check(r, "vkCreateSwapchainKHR")) {
        sc->swapchain = VK_NULL_HANDLE;
        return -1;
    }
    sc->usage = ci.imageUsage, sc->extent = extent, sc->stale = 0, sc->count = 0;
    destroy_semaphores(app, sc);
    if (app_vk_check(vkGetSwapchainImagesKHR(app->device, sc->swapchain, &sc->count, NULL), "vkGetSwapchainImagesKHR"))
        return -1;
    if (sc->count > APP_MAX_SWAPCHAIN_IMAGES) {
        fprintf(stderr, "%s: the swapchain has %u images, more than %d\n", program, sc->count,
                APP_MAX_SWAPCHAIN_IMAGES);
        return -1;
    }
    if (app_vk_check(vkGetSwapchainImagesKHR(app->device, sc->swapchain, &sc->count, sc->images),
                     "vkGetSwapchainImagesKHR"))
        return -1;
    VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    for (uint32_t i = 0; i < sc->count; i++)
        if (app_vk_check(vkCreateSemaphore(app->device, &si, NULL, &sc->presentable[i]), "vkCreateSemaphore"))
            return -1;
    return 0;
}

void app_swapchain_destroy(app_vulkan *app, app_swapchain *sc)
{
    if (!app->device)
        return;
    vkDeviceWaitIdle(app->device);
    destroy_semaphores(app, sc);
    if (sc->swapchain)
        vkDestroySwapchainKHR(app->device, sc->swapchain, NULL);
    memset(sc, 0, sizeof *sc);
}
