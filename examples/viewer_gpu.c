/* The viewer's own instance and device: one queue family for graphics, compute and presentation. */
#include "viewer_gpu.h"

#include <vkvit_vulkan.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

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

int viewer_vk_check(VkResult r, const char *call)
{
    if (r >= 0)
        return 0;
    fprintf(stderr, "vkvit-viewer: %s failed: %s (%d)\n", call, result_name(r), (int)r);
    return -1;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)type;
    viewer_gpu *gpu = user;
    gpu->validation_messages++;
    fprintf(stderr, "vkvit-viewer: validation %s: %s\n",
            severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

static bool has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) < 0)
        n = 0;
    VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
    bool found = false;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static bool has_device_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) < 0)
        n = 0;
    VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
    bool found = false;
    if (props && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

static int create_instance(const viewer_gpu_options *o, viewer_gpu *gpu)
{
    if (o->validate && !has_layer(VALIDATION_LAYER)) {
        fprintf(stderr, "vkvit-viewer: --validate: %s is not installed (Debian: vulkan-validationlayers)\n",
                VALIDATION_LAYER);
        return -1;
    }
    uint32_t version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion && vkEnumerateInstanceVersion(&version) < 0)
        version = VK_API_VERSION_1_0;
    if (version < VK_API_VERSION_1_1) {
        fprintf(stderr, "vkvit-viewer: the Vulkan loader is 1.0; vkvit needs Vulkan 1.1\n");
        return -1;
    }
    const char *exts[16];
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->instance_extension_count && n < 14; i++)
        exts[n++] = o->instance_extensions[i];
    if (o->validate)
        exts[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    const char *layers[] = {VALIDATION_LAYER};
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkvit-viewer",
        .apiVersion = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version,
    };
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation,
        .pUserData = gpu,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = o->validate ? &dbg : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = o->validate ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n,
        .ppEnabledExtensionNames = exts,
    };
    if (viewer_vk_check(vkCreateInstance(&ci, NULL, &gpu->instance), "vkCreateInstance"))
        return -1;
    volkLoadInstance(gpu->instance);
    if (o->validate &&
        viewer_vk_check(vkCreateDebugUtilsMessengerEXT(gpu->instance, &dbg, NULL, &gpu->messenger),
                        "vkCreateDebugUtilsMessengerEXT"))
        return -1;
    return 0;
}

/* The queue family to use on `phys`: graphics + compute, able to present to the surface if any; -1 if none. */
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

static bool name_matches(const char *name, const char *want)
{
    size_t nw = strlen(want);
    for (const char *p = name; *p; p++) {
        size_t i = 0;
        while (i < nw && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)want[i]))
            i++;
        if (i == nw)
            return true;
    }
    return false;
}

/* The chosen device: `want` by index or name, else the best type (discrete > integrated > virtual > CPU). */
static int pick_device(const char *want, viewer_gpu *gpu)
{
    static const int rank[] = {[VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU] = 4, [VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU] = 3,
                               [VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU] = 2, [VK_PHYSICAL_DEVICE_TYPE_CPU] = 1};
    uint32_t n = 0;
    if (viewer_vk_check(vkEnumeratePhysicalDevices(gpu->instance, &n, NULL), "vkEnumeratePhysicalDevices"))
        return -1;
    VkPhysicalDevice *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs || vkEnumeratePhysicalDevices(gpu->instance, &n, devs) < 0)
        n = 0;
    bool by_index = want && *want && strspn(want, "0123456789") == strlen(want);
    int best = -1, best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        int family = pick_family(devs[i], gpu->surface);
        bool wanted = !want || !*want || (by_index ? strtoul(want, NULL, 10) == i : name_matches(p.deviceName, want));
        int r = p.deviceType <= VK_PHYSICAL_DEVICE_TYPE_CPU ? rank[p.deviceType] : 0;
        if (wanted && family >= 0 && p.apiVersion >= VK_API_VERSION_1_1 && r > best_rank) {
            best = (int)i, best_rank = r;
            gpu->phys = devs[i];
            gpu->queue_family = (uint32_t)family;
            snprintf(gpu->name, sizeof gpu->name, "%s", p.deviceName);
        }
    }
    free(devs);
    if (best < 0) {
        fprintf(stderr, "vkvit-viewer: no Vulkan 1.1 device%s%s%s with a graphics+compute queue%s\n",
                want && *want ? " matching \"" : "", want && *want ? want : "", want && *want ? "\"" : "",
                gpu->surface ? " that can present to the window" : "");
        return -1;
    }
    return 0;
}

static int create_device(viewer_gpu *gpu)
{
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(gpu->phys, &props);
    gpu->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    uint32_t paths = 0;
    if (props.apiVersion >= VK_API_VERSION_1_2) { /* on Vulkan 1.1 vkvit runs fp32 only: a short chain */
        gpu->features12 = (VkPhysicalDeviceVulkan12Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
        gpu->features11 = (VkPhysicalDeviceVulkan11Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                                             .pNext = &gpu->features12};
        gpu->features.pNext = &gpu->features11;
        paths = VKVIT_PATH_FP16;
    }
    /* Turns on, in our chain, what vkvit's fp16 path needs where the device has it. */
    vkvit_device_requirements req;
    if (vkvit_query_device_requirements(gpu->instance, gpu->phys, vkGetInstanceProcAddr, paths, &gpu->features, &req)) {
        fprintf(stderr, "vkvit-viewer: vkvit_query_device_requirements: %s\n", vkvit_last_error());
        return -1;
    }
    uint32_t n = 0;
    if (gpu->surface)
        gpu->extensions[n++] = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
    if (has_device_extension(gpu->phys, "VK_KHR_portability_subset"))
        gpu->extensions[n++] = "VK_KHR_portability_subset";
    for (uint32_t i = 0; i < req.extension_count && n < sizeof gpu->extensions / sizeof *gpu->extensions; i++)
        gpu->extensions[n++] = req.extensions[i];
    gpu->extension_count = n;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = gpu->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &gpu->features,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n,
        .ppEnabledExtensionNames = gpu->extensions,
    };
    if (viewer_vk_check(vkCreateDevice(gpu->phys, &ci, NULL, &gpu->device), "vkCreateDevice"))
        return -1;
    volkLoadDevice(gpu->device);
    vkGetDeviceQueue(gpu->device, gpu->queue_family, 0, &gpu->queue);
    return 0;
}

int viewer_gpu_create(const viewer_gpu_options *o, viewer_gpu *gpu)
{
    memset(gpu, 0, sizeof *gpu);
    if (viewer_vk_check(volkInitialize(), "volkInitialize (is libvulkan1 installed?)") || create_instance(o, gpu))
        return -1;
    if (o->create_surface &&
        viewer_vk_check(o->create_surface(gpu->instance, o->user, &gpu->surface), "glfwCreateWindowSurface"))
        return -1;
    const char *want = o->device && *o->device ? o->device : getenv("VKVIT_DEVICE");
    return pick_device(want, gpu) || create_device(gpu) ? -1 : 0;
}

void viewer_gpu_destroy(viewer_gpu *gpu)
{
    if (gpu->device) {
        vkDeviceWaitIdle(gpu->device);
        vkDestroyDevice(gpu->device, NULL);
    }
    if (gpu->surface)
        vkDestroySurfaceKHR(gpu->instance, gpu->surface, NULL);
    if (gpu->messenger)
        vkDestroyDebugUtilsMessengerEXT(gpu->instance, gpu->messenger, NULL);
    if (gpu->instance)
        vkDestroyInstance(gpu->instance, NULL);
    unsigned messages = gpu->validation_messages;
    memset(gpu, 0, sizeof *gpu);
    gpu->validation_messages = messages;
}

int viewer_gpu_memory_type(const viewer_gpu *gpu, uint32_t type_bits, VkMemoryPropertyFlags flags)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(gpu->phys, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & flags) == flags)
            return (int)i;
    return -1;
}
