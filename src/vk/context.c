/* Instance and device: creation or adoption, device choice, feature queries, validation messages. */
#include "vk.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT types,
                                                     const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                     void *user)
{
    (void)types;
    vkvit_context *ctx = user;
    vkvit_message_severity sev = VKVIT_MESSAGE_INFO;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)
        sev = VKVIT_MESSAGE_ERROR;
    else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
        sev = VKVIT_MESSAGE_WARNING;
    /* Newer layers leave the message's name (e.g. SYNC-HAZARD-WRITE-AFTER-WRITE) out of its text. */
    const char *id = data->pMessageIdName, *msg = data->pMessage ? data->pMessage : "(no message)";
    if (id && *id && !strstr(msg, id))
        vk_message(ctx, sev, "validation: [%s] %s", id, msg);
    else
        vk_message(ctx, sev, "validation: %s", msg);
    return VK_FALSE;
}


static bool has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *props = calloc(n, sizeof *props);
    bool found = false;
    if (props && vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static bool has_instance_extension(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    bool found = false;
    if (props && vkEnumerateInstanceExtensionProperties(NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

static bool has_device_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    bool found = false;
    if (props && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

static vkvit_status create_instance(vkvit_context *ctx, bool validation)
{
    if (validation && !has_layer(VALIDATION_LAYER))
        return fail(VKVIT_ERROR_UNSUPPORTED, "validation requested but %s is not installed "
                                             "(Debian: vulkan-validationlayers)", VALIDATION_LAYER);
    uint32_t version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion)
        vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_1)
        return fail(VKVIT_ERROR_UNSUPPORTED, "the Vulkan loader is 1.0; vkvit needs Vulkan 1.1");

    const char *exts[2];
    uint32_t n_exts = 0;
    VkInstanceCreateFlags flags = 0;
    if (validation)
        exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    const char *layers[] = {VALIDATION_LAYER};
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkvit",
        .pEngineName = "vkvit",
        .engineVersion = VK_MAKE_API_VERSION(0, VKVIT_VERSION_MAJOR, VKVIT_VERSION_MINOR, VKVIT_VERSION_PATCH),
        .apiVersion = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version,
    };
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = debug_callback,
        .pUserData = ctx,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &dbg : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VK_CHECK(vkCreateInstance(&ci, ctx->alloc, &ctx->instance));
    ctx->owns_instance = true;
    volkLoadInstanceOnly(ctx->instance);
    if (validation)
        VK_CHECK(vkCreateDebugUtilsMessengerEXT(ctx->instance, &dbg, ctx->alloc, &ctx->messenger));
    return VKVIT_OK;
}

/* ---- device info ------------------------------------------------------------------------------------ */

static const char *vendor_name(uint32_t id, const char *device_name)
{
    switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106B: return "Apple";
    case 0x1010: return "Imagination";
    case 0x10005: return strstr(device_name, "llvmpipe") ? "Mesa (llvmpipe)" : "Mesa";
    default: return "unknown";
    }
}

static vkvit_device_type map_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKVIT_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKVIT_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKVIT_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKVIT_DEVICE_CPU;
    default: return VKVIT_DEVICE_OTHER;
    }
}

#define KHR_COOPMAT_NAME "VK_KHR_cooperative_matrix"   /* a literal: older headers lack the macro */

static void add_shape(vkvit_device_info *info, vkvit_coopmat_shape shape)
{
    if (info->coopmat_shape_count < VKVIT_MAX_COOPMAT_SHAPES)
        info->coopmat_shapes[info->coopmat_shape_count++] = shape;
}

/* The KHR shapes of subgroup scope (builds with the KHR kernel; others only see the extension). */
static void query_coopmat_khr(VkPhysicalDevice phys, vkvit_device_info *info)
{
    bool listed = has_device_extension(phys, KHR_COOPMAT_NAME);
#if VKVIT_HAVE_COOPMAT_KHR
    if (!listed || !vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)
        return;
    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &cm};
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    info->cooperative_matrix_khr = cm.cooperativeMatrix ? 1 : 0;
    uint32_t n = 0;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(phys, &n, NULL) != VK_SUCCESS || n == 0)
        return;
    VkCooperativeMatrixPropertiesKHR *p = calloc(n, sizeof *p);
    if (!p)
        return;
    for (uint32_t i = 0; i < n; i++)
        p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(phys, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (p[i].scope == VK_SCOPE_SUBGROUP_KHR)
                add_shape(info, (vkvit_coopmat_shape){p[i].MSize, p[i].NSize, p[i].KSize, p[i].AType, p[i].BType,
                                                      p[i].CType, p[i].ResultType, VKVIT_COOPMAT_KHR,
                                                      p[i].saturatingAccumulation ? 1 : 0});
    free(p);
#else
    info->cooperative_matrix_khr = listed;
#endif
}

static void query_coopmat_nv(VkPhysicalDevice phys, vkvit_device_info *info)
{
    if (!has_device_extension(phys, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) ||
        !vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
        return;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &cm};
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    info->cooperative_matrix_nv = cm.cooperativeMatrix ? 1 : 0;
    uint32_t n = 0;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(phys, &n, NULL) != VK_SUCCESS || n == 0)
        return;
    VkCooperativeMatrixPropertiesNV *p = calloc(n, sizeof *p);
    if (!p)
        return;
    for (uint32_t i = 0; i < n; i++)
        p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(phys, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (p[i].scope == VK_SCOPE_SUBGROUP_NV)
                add_shape(info, (vkvit_coopmat_shape){p[i].MSize, p[i].NSize, p[i].KSize, p[i].AType, p[i].BType,
                                                      p[i].CType, p[i].DType, VKVIT_COOPMAT_NV, 0});
    free(p);
}

static void query_coopmat(VkPhysicalDevice phys, vkvit_device_info *info)
{
    info->cooperative_matrix_nv = info->cooperative_matrix_khr = 0;
    info->coopmat_shape_count = 0;
    query_coopmat_khr(phys, info);
    query_coopmat_nv(phys, info);
}

/* The device's queue families (malloc'd, *n entries; NULL when out of memory). */
static VkQueueFamilyProperties *queue_families(VkPhysicalDevice phys, uint32_t *n)
{
    *n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, n, NULL);
    VkQueueFamilyProperties *q = calloc(*n ? *n : 1, sizeof *q);
    if (q)
        vkGetPhysicalDeviceQueueFamilyProperties(phys, n, q);
    else
        *n = 0;
    return q;
}

static void query_info(VkPhysicalDevice phys, uint32_t index, vkvit_device_info *info)
{
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(phys, &props);
    bool v12 = props.apiVersion >= VK_API_VERSION_1_2;

    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    bool has_drv = v12 || has_device_extension(phys, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    sg.pNext = has_drv ? &drv : NULL;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    vkGetPhysicalDeviceProperties2(phys, &p2);

    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    bool has_f16 = v12 || has_device_extension(phys, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    s16.pNext = has_f16 ? &f16 : NULL;
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(phys, &f2);

    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    info->vendor_id = props.vendorID;
    info->device_id = props.deviceID;
    info->vendor = vendor_name(props.vendorID, props.deviceName);
    info->type = map_type(props.deviceType);
    info->api_version = props.apiVersion;
    info->driver_version = props.driverVersion;
    if (has_drv) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", drv.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", drv.driverInfo);
    }
    info->subgroup_size = sg.subgroupSize;
    info->subgroup_ops = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? sg.supportedOperations : 0;
    info->shader_float16 = has_f16 && f16.shaderFloat16;
    info->storage_buffer_16bit = s16.storageBuffer16BitAccess ? 1 : 0;
    info->max_shared_memory = props.limits.maxComputeSharedMemorySize;
    info->max_storage_buffer_range = props.limits.maxStorageBufferRange;
    query_coopmat(phys, info);

    uint32_t nq;
    VkQueueFamilyProperties *q = queue_families(phys, &nq);
    for (uint32_t i = 0; i < nq; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].timestampValidBits > 0)
            info->timestamp_period = props.limits.timestampPeriod;
    free(q);
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(phys, &mem);
    for (uint32_t i = 0; i < mem.memoryHeapCount; i++)
        if ((mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            mem.memoryHeaps[i].size > info->device_local_bytes)
            info->device_local_bytes = mem.memoryHeaps[i].size;
}

/* ---- device choice -------------------------------------------------------------------------------- */

VKVIT_API const char *vkvit_device_type_string(vkvit_device_type t)
{
    switch (t) {
    case VKVIT_DEVICE_INTEGRATED_GPU: return "integrated GPU";
    case VKVIT_DEVICE_DISCRETE_GPU: return "discrete GPU";
    case VKVIT_DEVICE_VIRTUAL_GPU: return "virtual GPU";
    case VKVIT_DEVICE_CPU: return "CPU";
    default: return "other";
    }
}

static int type_rank(vkvit_device_type t)
{
    switch (t) {
    case VKVIT_DEVICE_DISCRETE_GPU: return 4;
    case VKVIT_DEVICE_INTEGRATED_GPU: return 3;
    case VKVIT_DEVICE_VIRTUAL_GPU: return 2;
    case VKVIT_DEVICE_CPU: return 1;
    default: return 0;
    }
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static vkvit_status pick_device(vkvit_context *ctx, const char *want)
{
    uint32_t n = 0;
    VK_CHECK(vkEnumeratePhysicalDevices(ctx->instance, &n, NULL));
    if (n == 0)
        return fail(VKVIT_ERROR_NO_DEVICE, "no Vulkan device found (for a CPU device install "
                                           "mesa-vulkan-drivers, which provides lavapipe)");
    VkPhysicalDevice *devs = calloc(n, sizeof *devs);
    if (!devs)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "device list");
    VkResult r = vkEnumeratePhysicalDevices(ctx->instance, &n, devs);
    if (r < 0) {
        free(devs);
        return vk_fail(r, "vkEnumeratePhysicalDevices");
    }
    int best = -1, best_rank = -1;
    vkvit_device_info info;
    for (uint32_t i = 0; i < n; i++) {
        query_info(devs[i], i, &info);
        if (info.api_version < VK_API_VERSION_1_1)
            continue;
        int rank;
        if (want && all_digits(want))
            rank = (strtoul(want, NULL, 10) == i) ? 1 : -1;
        else if (want)
            rank = contains_ci(info.name, want) ? type_rank(info.type) : -1;
        else
            rank = type_rank(info.type);
        if (rank > best_rank) {
            best_rank = rank;
            best = (int)i;
        }
    }
    if (best < 0) {
        free(devs);
        if (want)
            return fail(VKVIT_ERROR_NO_DEVICE, "no Vulkan 1.1 device matches '%s' (%u device(s) found; "
                                               "vkvit-info lists them)", want, n);
        return fail(VKVIT_ERROR_NO_DEVICE, "no Vulkan 1.1 device among the %u found", n);
    }
    ctx->phys = devs[best];
    free(devs);
    query_info(ctx->phys, (uint32_t)best, &ctx->info);
    return VKVIT_OK;
}

static vkvit_status find_queue_family(vkvit_context *ctx)
{
    uint32_t n;
    VkQueueFamilyProperties *q = queue_families(ctx->phys, &n);
    if (!q)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "queue families");
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
            continue;
        /* Prefer a family with timestamps; among those the first (usually the universal queue). */
        if (best < 0 || (q[best].timestampValidBits == 0 && q[i].timestampValidBits > 0))
            best = (int)i;
    }
    free(q);
    if (best < 0)
        return fail(VKVIT_ERROR_NO_DEVICE, "device '%s' has no compute queue", ctx->info.name);
    ctx->queue_family = (uint32_t)best;
    return VKVIT_OK;
}

/* ---- driver quirks, cooperative matrices ------------------------------------------------------------ */

/* Looks the device up in the driver-quirk table (quirks.c) and reports every row that matches. */
static void apply_quirks(vkvit_context *ctx)
{
    const char *no = getenv("VKVIT_NO_QUIRKS");
    bool ignore = no && *no && strcmp(no, "0") != 0;
    char names[64];
    ctx->paths_off = 0;
    for (const vk_quirk *q = vk_quirk_table; q->evidence; q++) {
        if (!vk_quirk_matches(q, &ctx->info))
            continue;
        vk_message(ctx, VKVIT_MESSAGE_INFO, "driver quirk%s: %s off on '%s' (driver %s %s, version 0x%08x): %s",
                   ignore ? " ignored (VKVIT_NO_QUIRKS)" : "", vk_path_names(q->paths_off, names, sizeof names),
                   ctx->info.name, ctx->info.driver_name, ctx->info.driver_info, ctx->info.driver_version,
                   q->evidence);
        if (!ignore)
            ctx->paths_off |= q->paths_off;
    }
}

void vk_coopmat_pick(const uint32_t (*shapes)[3], uint32_t n, uint32_t out[3])
{
    memset(out, 0, 3 * sizeof *out);
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t *c = shapes[i];
        if (!c[0] || !c[1] || !c[2] || 32 % c[0] || 32 % c[1] || 32 % c[2])
            continue;
        uint32_t v = c[0] * c[1] * c[2], best = out[0] * out[1] * out[2];
        if (v > best || (v == best && c[2] > out[2]))
            memcpy(out, c, 3 * sizeof *c);
    }
}

/* The device's subgroup size range and whether a compute pipeline can pin its size (Vulkan 1.3 or
 * VK_EXT_subgroup_size_control: subgroupSizeControl, computeFullSubgroups, compute in
 * requiredSubgroupSizeStages). Without the extension min = max = subgroupSize. */
typedef struct subgroup_control {
    uint32_t min, max;
    bool can_pin, ext;   /* ext: VK_EXT_subgroup_size_control must be enabled (before Vulkan 1.3) */
} subgroup_control;

static subgroup_control query_subgroup_control(const vkvit_context *ctx)
{
    subgroup_control c = {ctx->info.subgroup_size, ctx->info.subgroup_size, false, false};
    bool v13 = ctx->info.api_version >= VK_API_VERSION_1_3;
    c.ext = !v13 && has_device_extension(ctx->phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    if (!v13 && !c.ext)
        return c;
    VkPhysicalDeviceSubgroupSizeControlProperties p = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &p};
    vkGetPhysicalDeviceProperties2(ctx->phys, &p2);
    VkPhysicalDeviceSubgroupSizeControlFeatures f = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f};
    vkGetPhysicalDeviceFeatures2(ctx->phys, &f2);
    c.min = p.minSubgroupSize;
    c.max = p.maxSubgroupSize;
    c.can_pin = f.subgroupSizeControl && f.computeFullSubgroups &&
                (p.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT) && c.min <= ctx->info.subgroup_size &&
                ctx->info.subgroup_size <= c.max;
    return c;
}

/* Whether the kernel can use shape c of extension ext: fp16 x fp16 + fp32 -> fp32, not saturating
 * (the component-type values of KHR and NV are the same). */
static bool kernel_shape(const vkvit_coopmat_shape *c, vkvit_coopmat_extension ext)
{
    return c->extension == ext && c->a_type == VK_COMPONENT_TYPE_FLOAT16_NV && c->b_type == VK_COMPONENT_TYPE_FLOAT16_NV &&
           c->c_type == VK_COMPONENT_TYPE_FLOAT32_NV && c->d_type == VK_COMPONENT_TYPE_FLOAT32_NV && !c->saturating;
}

/* Why the coopmat matmul of extension `ext` cannot run on this context, or NULL. `app`: an adopted
 * device, and what its application enabled (NULL: vkvit creates the device and enables what is
 * needed). fp16: the fp16 path is on. */
static const char *coopmat_unusable_ext(vkvit_context *ctx, vkvit_coopmat_extension ext, bool fp16,
                                        const subgroup_control *sgc, const vk_enabled *app)
{
    const vkvit_device_info *info = &ctx->info;
    uint32_t stages = 0;
    if (ext == VKVIT_COOPMAT_KHR) {
#if VKVIT_HAVE_COOPMAT_KHR
        if (!info->cooperative_matrix_khr)
            return "the device has no VK_KHR_cooperative_matrix";
        if (ctx->paths_off & VK_PATH_COOPMAT_KHR)
            return "VK_KHR_cooperative_matrix is turned off by the driver-quirk table";
        if (app && !app->coopmat_khr)
            return "the application did not enable VK_KHR_cooperative_matrix (cooperativeMatrix) on the adopted device";
        VkPhysicalDeviceCooperativeMatrixPropertiesKHR cp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_KHR};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &cp};
        vkGetPhysicalDeviceProperties2(ctx->phys, &p2);
        stages = cp.cooperativeMatrixSupportedStages;
#else
        return info->cooperative_matrix_khr ? "the device has VK_KHR_cooperative_matrix, but this build of vkvit has "
                                              "no KHR kernel (it needs glslang >= 13 and Vulkan headers >= 1.3.255)"
                                            : "the device has no VK_KHR_cooperative_matrix";
#endif
    } else {
        if (!info->cooperative_matrix_nv)
            return "the device has no VK_NV_cooperative_matrix";
        if (ctx->paths_off & VK_PATH_COOPMAT_NV)
            return "VK_NV_cooperative_matrix is turned off by the driver-quirk table";
        if (app && !app->coopmat_nv)
            return "the application did not enable VK_NV_cooperative_matrix (cooperativeMatrix) on the adopted device";
        VkPhysicalDeviceCooperativeMatrixPropertiesNV cp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &cp};
        vkGetPhysicalDeviceProperties2(ctx->phys, &p2);
        stages = cp.cooperativeMatrixSupportedStages;
    }
    if (!(stages & VK_SHADER_STAGE_COMPUTE_BIT))
        return "the device has no cooperative matrices in compute shaders";
    if (!fp16)
        return "it needs the fp16 path (shaderFloat16 + storageBuffer16BitAccess)";
    if (!(info->subgroup_ops & VK_SUBGROUP_FEATURE_BASIC_BIT))
        return "it needs basic subgroup operations in compute shaders";
    VkPhysicalDeviceVulkanMemoryModelFeatures vmm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &vmm};
    bool vmm_ext = info->api_version < VK_API_VERSION_1_2;
    if (!vmm_ext || has_device_extension(ctx->phys, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME))
        vkGetPhysicalDeviceFeatures2(ctx->phys, &f2);
    if (!vmm.vulkanMemoryModel || (app && !app->memory_model))
        return app ? "it needs the Vulkan memory model (vulkanMemoryModel), which the application did not enable"
                   : "it needs the Vulkan memory model (vulkanMemoryModel), which the device lacks";
    /* The kernel's workgroup is WARPS_M x WARPS_N subgroups of the size the host assumes. */
    if (sgc->min != sgc->max && !(sgc->can_pin && (!app || app->subgroup_control)))
        return "its subgroup size varies per pipeline on this device and cannot be pinned (it needs "
               "subgroupSizeControl and computeFullSubgroups)";
    for (uint32_t i = 0; i < info->coopmat_shape_count; i++)
        if (kernel_shape(&info->coopmat_shapes[i], ext))
            return NULL;
    return "the device has no subgroup-scope fp16 x fp16 + fp32 -> fp32 shape";
}

/* Chooses the coopmat matmul's extension (KHR over NV) and fills ctx->coopmat_* (see vk.h), or says
 * in ctx->coopmat_off why there is none. Returns the subgroup control found (for the device's
 * features). */
static subgroup_control coopmat_check(vkvit_context *ctx, bool fp16, const vk_enabled *app)
{
    const vkvit_device_info *info = &ctx->info;
    subgroup_control sgc = query_subgroup_control(ctx);
    ctx->coopmat_shape_count = 0;
    ctx->coopmat_subgroup_size = 0;
    ctx->coopmat_ext = VKVIT_COOPMAT_NONE;
    const char *khr = coopmat_unusable_ext(ctx, VKVIT_COOPMAT_KHR, fp16, &sgc, app);
    const char *nv = khr ? coopmat_unusable_ext(ctx, VKVIT_COOPMAT_NV, fp16, &sgc, app) : NULL;
    if (khr && nv) {
        ctx->coopmat_off = !info->cooperative_matrix_khr && !info->cooperative_matrix_nv
                               ? "the device has neither VK_KHR_cooperative_matrix nor VK_NV_cooperative_matrix"
                           : info->cooperative_matrix_khr ? khr : nv;
        return sgc;
    }
    ctx->coopmat_ext = khr ? VKVIT_COOPMAT_NV : VKVIT_COOPMAT_KHR;
    for (uint32_t i = 0; i < info->coopmat_shape_count; i++) {
        const vkvit_coopmat_shape *c = &info->coopmat_shapes[i];
        if (kernel_shape(c, ctx->coopmat_ext)) {
            uint32_t *d = ctx->coopmat_shapes[ctx->coopmat_shape_count++];
            d[0] = c->m, d[1] = c->n, d[2] = c->k;
        }
    }
    ctx->coopmat_off = NULL;
    /* Pinned wherever the device can pin it (on lavapipe too, where min == max: the same code runs in CI). */
    if (sgc.can_pin && (!app || app->subgroup_control))
        ctx->coopmat_subgroup_size = info->subgroup_size;
    return sgc;
}

/* What vkvit_context_device_info reports of the coopmat path (the fragment by vk_coopmat_pick). */
static void coopmat_report(vkvit_context *ctx)
{
    vkvit_device_info *info = &ctx->info;
    uint32_t f[3];
    vk_coopmat_pick((const uint32_t(*)[3])ctx->coopmat_shapes, ctx->coopmat_shape_count, f);
    info->coopmat_extension = ctx->coopmat_ext;   /* NONE when off */
    info->coopmat_m = f[0], info->coopmat_n = f[1], info->coopmat_k = f[2];
    info->coopmat_subgroup_size = ctx->coopmat_shape_count
                                      ? (ctx->coopmat_subgroup_size ? ctx->coopmat_subgroup_size : info->subgroup_size)
                                      : 0;
    info->coopmat_status = ctx->coopmat_off;
    if (ctx->coopmat_shape_count)
        vk_message(ctx, VKVIT_MESSAGE_INFO, "cooperative matrices: %s, fragment %ux%ux%u, %u-lane subgroups%s",
                   ctx->coopmat_ext == VKVIT_COOPMAT_KHR ? KHR_COOPMAT_NAME : VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME,
                   f[0], f[1], f[2], info->coopmat_subgroup_size, ctx->coopmat_subgroup_size ? " (pinned)" : "");
    else
        vk_message(ctx, VKVIT_MESSAGE_INFO, "cooperative matrices off: %s", ctx->coopmat_off);
}

static vkvit_status create_device(vkvit_context *ctx)
{
    const vkvit_device_info *info = &ctx->info;
    const char *exts[8];
    uint32_t n_exts = 0;
    apply_quirks(ctx);
    bool v12 = info->api_version >= VK_API_VERSION_1_2;
    bool fp16 = info->shader_float16 && info->storage_buffer_16bit && !(ctx->paths_off & VK_PATH_FP16);
    subgroup_control sgc = coopmat_check(ctx, fp16, NULL);   /* coopmat implies fp16 */
    const bool coopmat = ctx->coopmat_shape_count > 0, khr = coopmat && ctx->coopmat_ext == VKVIT_COOPMAT_KHR;
    const bool pin = coopmat && ctx->coopmat_subgroup_size;
    if (fp16 && !v12)
        exts[n_exts++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
    if (coopmat)
        exts[n_exts++] = khr ? KHR_COOPMAT_NAME : VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    if (coopmat && !v12)
        exts[n_exts++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
    if (pin && sgc.ext)
        exts[n_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
    /* Required by the spec wherever it is exposed (portability implementations such as MoltenVK). */
    if (has_device_extension(ctx->phys, "VK_KHR_portability_subset"))
        exts[n_exts++] = "VK_KHR_portability_subset";

    /* Timeline semaphores (a run signalling a timeline): core 1.2, enabled wherever the device has them. */
    const bool timeline = v12 && vk_timeline_supported(ctx->phys);
    const bool on[VK_F_COUNT] = {
        [VK_F_STORAGE16] = fp16, [VK_F_FLOAT16] = fp16, [VK_F_TIMELINE] = timeline,
        [VK_F_MEMORY_MODEL] = coopmat, [VK_F_COOPMAT_NV] = coopmat && !khr, [VK_F_COOPMAT_KHR] = khr,
        [VK_F_SG_CONTROL] = pin, [VK_F_FULL_SUBGROUPS] = pin,
    };
    vk_feature_chain chain;
    const VkPhysicalDeviceFeatures2 *f2 = vk_feature_chain_enable(&chain, on);

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = f2,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VK_CHECK(vkCreateDevice(ctx->phys, &ci, ctx->alloc, &ctx->device));
    ctx->owns_device = true;
    ctx->fp16 = fp16;
    ctx->timeline = timeline;
    coopmat_report(ctx);
    return VKVIT_OK;
}

/* ---- shared setup once instance + device exist ------------------------------------------------------ */

static vkvit_status finish_setup(vkvit_context *ctx, const vkvit_context_options *opt)
{
    volkLoadDeviceTable(&ctx->vk, ctx->device);
    if (!ctx->queue)
        ctx->vk.vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);

    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(ctx->phys, &props);
    vkGetPhysicalDeviceMemoryProperties(ctx->phys, &ctx->mem_props);
    ctx->min_storage_align = (uint32_t)props.limits.minStorageBufferOffsetAlignment;
    ctx->max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++)
        ctx->max_workgroup_count[i] = props.limits.maxComputeWorkGroupCount[i];
    const uint32_t need_sg = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    ctx->subgroup_arith = (ctx->info.subgroup_ops & need_sg) == need_sg && !(ctx->paths_off & VK_PATH_SUBGROUP);

    uint32_t nq;
    VkQueueFamilyProperties *q = queue_families(ctx->phys, &nq);
    if (!q)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "queue families");
    ctx->timestamps = ctx->queue_family < nq && q[ctx->queue_family].timestampValidBits > 0 &&
                      props.limits.timestampPeriod > 0;
    free(q);
    if (!ctx->timestamps)
        ctx->info.timestamp_period = 0;

    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT | VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = ctx->queue_family,
    };
    VK_CHECK(ctx->vk.vkCreateCommandPool(ctx->device, &pci, ctx->alloc, &ctx->transfer_pool));
    vkvit_status s = vk_pipeline_cache_open(ctx, opt ? opt->pipeline_cache_dir : NULL);
    return s ? s : vk_tune_open(ctx); /* the tune file lives next to the cache */
}

static vkvit_status context_alloc(const vkvit_context_options *opt, vkvit_context **out)
{
    if (opt && opt->tune != VKVIT_TUNE_AUTO && opt->tune != VKVIT_TUNE_ON && opt->tune != VKVIT_TUNE_OFF)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "context options: tune = %d is not a vkvit_tune value", (int)opt->tune);
    vkvit_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "context");
    if (mtx_init(&ctx->lock, mtx_plain) != thrd_success) {
        free(ctx);
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "context mutex");
    }
    const char *force = getenv("VKVIT_MATMUL");
    snprintf(ctx->matmul_force, sizeof ctx->matmul_force, "%s", force ? force : "");
    if (opt) {
        ctx->on_message = opt->on_message;
        ctx->user = opt->user;
        ctx->budget = opt->device_memory_budget;
        ctx->tune_mode = opt->tune;   /* resolved with VKVIT_TUNE by vk_tune_open */
        if (opt->allocator) {
            ctx->alloc_copy = *opt->allocator;
            ctx->alloc = &ctx->alloc_copy;
        }
    }
    *out = ctx;
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_context_create(const vkvit_context_options *opt, vkvit_context **out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_context_create: out is NULL");
    *out = NULL;
    vkvit_context_options defaults = {0};
    if (!opt)
        opt = &defaults;
    vkvit_status s = vk_loader_init(NULL);
    if (s)
        return s;
    vkvit_context *ctx = NULL;
    if ((s = context_alloc(opt, &ctx)))
        return s;
    const char *env_val = getenv("VKVIT_VALIDATION");
    bool validation = opt->validation || (env_val && env_val[0] && strcmp(env_val, "0") != 0);
    const char *want = opt->device;
    if (!want || !*want)
        want = getenv("VKVIT_DEVICE");
    if (want && !*want)
        want = NULL;
    if ((s = create_instance(ctx, validation)) || (s = pick_device(ctx, want)) ||
        (s = find_queue_family(ctx)) || (s = create_device(ctx)) || (s = finish_setup(ctx, opt))) {
        vkvit_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_context_adopt(const vkvit_adopt_info *adopt, const vkvit_context_options *opt,
                                           vkvit_context **out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_context_adopt: out is NULL");
    *out = NULL;
    if (!adopt || !adopt->instance || !adopt->physical_device || !adopt->device || !adopt->queue)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT,
                    "vkvit_context_adopt: instance, physical_device, device and queue are required");
    vkvit_status s = vk_loader_init(adopt->get_instance_proc_addr);
    if (s)
        return s;
    vkvit_context *ctx = NULL;
    if ((s = context_alloc(opt, &ctx)))
        return s;
    ctx->instance = adopt->instance;
    ctx->phys = adopt->physical_device;
    ctx->device = adopt->device;
    ctx->queue = adopt->queue;
    ctx->queue_family = adopt->queue_family;
    volkLoadInstanceOnly(ctx->instance);
    query_info(ctx->phys, 0, &ctx->info);
    /* The application created the device: vkvit uses the optional features the application says it
     * enabled (adopt->enabled_features, enabled_extensions: fp16, timeline semaphores, cooperative
     * matrices and what they need; features.c). */
    apply_quirks(ctx);
    vk_enabled app;
    vk_adopt_features(ctx, adopt, &app);
    coopmat_check(ctx, ctx->fp16, &app);
    coopmat_report(ctx);
    if ((s = finish_setup(ctx, opt))) {
        vkvit_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return VKVIT_OK;
}

VKVIT_API void vkvit_context_destroy(vkvit_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->device) {
        ctx->vk.vkDeviceWaitIdle(ctx->device);
        vk_pipelines_destroy(ctx);
        vk_tune_close(ctx);
        vk_pipeline_cache_close(ctx);
        if (ctx->transfer_pool)
            ctx->vk.vkDestroyCommandPool(ctx->device, ctx->transfer_pool, ctx->alloc);
        if (ctx->owns_device)
            ctx->vk.vkDestroyDevice(ctx->device, ctx->alloc);
    }
    if (ctx->messenger) {
        /* This instance's own entry point: volk's global one is whatever instance was loaded last (another
         * context's, or vkvit_enumerate_devices' temporary one without VK_EXT_debug_utils: NULL). */
        PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy)
            destroy(ctx->instance, ctx->messenger, ctx->alloc);
    }
    if (ctx->owns_instance && ctx->instance)
        vkDestroyInstance(ctx->instance, ctx->alloc);
    mtx_destroy(&ctx->lock);
    free(ctx);
}

VKVIT_API vkvit_status vkvit_context_device_info(const vkvit_context *ctx, vkvit_device_info *out)
{
    if (!ctx || !out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_context_device_info: NULL argument");
    *out = ctx->info;
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_enumerate_devices(vkvit_device_info *infos, uint32_t *count)
{
    if (!count)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_enumerate_devices: count is NULL");
    uint32_t cap = infos ? *count : 0;
    *count = 0;
    vkvit_status s = vk_loader_init(NULL);
    if (s)
        return s;
    vkvit_context tmp = {0};
    if ((s = create_instance(&tmp, false)))
        return s;
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(tmp.instance, &n, NULL);
    VkPhysicalDevice *devs = n ? calloc(n, sizeof *devs) : NULL;
    if (r >= 0 && n && !devs)
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "device list");
    else if (r >= 0 && n)
        r = vkEnumeratePhysicalDevices(tmp.instance, &n, devs);
    if (!s && r < 0)
        s = vk_fail(r, "vkEnumeratePhysicalDevices");
    if (!s) {
        for (uint32_t i = 0; i < n && i < cap; i++)
            query_info(devs[i], i, &infos[i]);
        *count = n;
    }
    free(devs);
    vkDestroyInstance(tmp.instance, NULL);
    return s;
}
