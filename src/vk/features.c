/* Optional device features: what each vkvit path needs enabled on a device (the query for
 * applications that create their own), what an adopted device has (read from the feature chain the
 * application passed), and what a context has on. */
#include "vk.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"

/* Every optional feature vkvit uses (vk_feature), and the feature structures that may carry it: the
 * per-feature structure last, the one vk_feature_chain holds. */
enum { F_STORAGE16 = VK_F_STORAGE16, F_FLOAT16 = VK_F_FLOAT16, F_TIMELINE = VK_F_TIMELINE,
       F_MEMORY_MODEL = VK_F_MEMORY_MODEL, F_COOPMAT = VK_F_COOPMAT_NV, F_COOPMAT_KHR = VK_F_COOPMAT_KHR,
       F_SG_CONTROL = VK_F_SG_CONTROL, F_FULL_SUBGROUPS = VK_F_FULL_SUBGROUPS, F_COUNT = VK_F_COUNT };

typedef struct feature_home {
    VkStructureType type;
    size_t offset;            /* of the VkBool32 member */
} feature_home;

typedef struct feature {
    const char *name;
    feature_home home[2];
    uint32_t n_homes;
    const char *structs;      /* for messages: where to put it */
} feature;

#define HOME(T, stype, member) {VK_STRUCTURE_TYPE_##stype, offsetof(T, member)}
/* VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR (Vulkan headers 1.3.255+) */
#define COOPMAT_KHR_FEATURES ((VkStructureType)1000506000)

static const feature features[F_COUNT] = {
    [F_STORAGE16] = {"storageBuffer16BitAccess",
                     {HOME(VkPhysicalDeviceVulkan11Features, PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, storageBuffer16BitAccess),
                      HOME(VkPhysicalDevice16BitStorageFeatures, PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                           storageBuffer16BitAccess)},
                     2, "VkPhysicalDeviceVulkan11Features or VkPhysicalDevice16BitStorageFeatures"},
    [F_FLOAT16] = {"shaderFloat16",
                   {HOME(VkPhysicalDeviceVulkan12Features, PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, shaderFloat16),
                    HOME(VkPhysicalDeviceShaderFloat16Int8Features, PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
                         shaderFloat16)},
                   2, "VkPhysicalDeviceVulkan12Features or VkPhysicalDeviceShaderFloat16Int8Features"},
    [F_TIMELINE] = {"timelineSemaphore",
                    {HOME(VkPhysicalDeviceVulkan12Features, PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, timelineSemaphore),
                     HOME(VkPhysicalDeviceTimelineSemaphoreFeatures, PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
                          timelineSemaphore)},
                    2, "VkPhysicalDeviceVulkan12Features or VkPhysicalDeviceTimelineSemaphoreFeatures"},
    [F_MEMORY_MODEL] = {"vulkanMemoryModel",
                        {HOME(VkPhysicalDeviceVulkan12Features, PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, vulkanMemoryModel),
                         HOME(VkPhysicalDeviceVulkanMemoryModelFeatures,
                              PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, vulkanMemoryModel)},
                        2, "VkPhysicalDeviceVulkan12Features or VkPhysicalDeviceVulkanMemoryModelFeatures"},
    [F_COOPMAT] = {"cooperativeMatrix",
                   {HOME(VkPhysicalDeviceCooperativeMatrixFeaturesNV, PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
                         cooperativeMatrix)},
                   1, "VkPhysicalDeviceCooperativeMatrixFeaturesNV"},
    /* The KHR structure has the NV one's layout; its sType is spelled as a number so that builds
     * with older headers (and no KHR kernel) still see it in an application's chain. */
    [F_COOPMAT_KHR] = {"cooperativeMatrix",
                       {{COOPMAT_KHR_FEATURES, offsetof(VkPhysicalDeviceCooperativeMatrixFeaturesNV, cooperativeMatrix)}},
                       1, "VkPhysicalDeviceCooperativeMatrixFeaturesKHR"},
    [F_SG_CONTROL] = {"subgroupSizeControl",
                      {HOME(VkPhysicalDeviceVulkan13Features, PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, subgroupSizeControl),
                       HOME(VkPhysicalDeviceSubgroupSizeControlFeatures, PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
                            subgroupSizeControl)},
                      2, "VkPhysicalDeviceVulkan13Features or VkPhysicalDeviceSubgroupSizeControlFeatures"},
    [F_FULL_SUBGROUPS] = {"computeFullSubgroups",
                          {HOME(VkPhysicalDeviceVulkan13Features, PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, computeFullSubgroups),
                           HOME(VkPhysicalDeviceSubgroupSizeControlFeatures,
                                PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES, computeFullSubgroups)},
                          2, "VkPhysicalDeviceVulkan13Features or VkPhysicalDeviceSubgroupSizeControlFeatures"},
};

/* The member of structure `s` that holds feature f, or NULL if s does not carry it. */
static VkBool32 *feature_in(const VkBaseOutStructure *s, int f)
{
    for (uint32_t i = 0; i < features[f].n_homes; i++)
        if (s->sType == features[f].home[i].type)
            return (VkBool32 *)((char *)s + features[f].home[i].offset);
    return NULL;
}

/* on[f]: some structure of the chain enables feature f. */
static void read_chain(const void *chain, bool on[F_COUNT])
{
    memset(on, 0, F_COUNT * sizeof *on);
    for (const VkBaseOutStructure *s = chain; s; s = s->pNext)
        for (int f = 0; f < F_COUNT; f++) {
            const VkBool32 *b = feature_in(s, f);
            if (b && *b)
                on[f] = true;
        }
}

/* ---- chains of per-feature structures ------------------------------------------------------------- */

static void chain_init(vk_feature_chain *c)
{
    *c = (vk_feature_chain){
        .head = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2},
        .storage16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES},
        .float16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES},
        .timeline = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES},
        .memory_model = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES},
        .coopmat_nv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV},
        .coopmat_khr = {.sType = COOPMAT_KHR_FEATURES},
        .subgroup_control = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES},
    };
}

/* Links behind c->head the structures that carry the features in `carry`, each once. */
static VkPhysicalDeviceFeatures2 *chain_link(vk_feature_chain *c, const bool carry[F_COUNT])
{
    VkBaseOutStructure *const all[] = {
        (VkBaseOutStructure *)&c->storage16, (VkBaseOutStructure *)&c->float16, (VkBaseOutStructure *)&c->timeline,
        (VkBaseOutStructure *)&c->memory_model, (VkBaseOutStructure *)&c->coopmat_nv,
        (VkBaseOutStructure *)&c->coopmat_khr, (VkBaseOutStructure *)&c->subgroup_control};
    bool linked[sizeof all / sizeof *all] = {0};
    VkBaseOutStructure **tail = (VkBaseOutStructure **)&c->head.pNext;
    for (int f = 0; f < F_COUNT; f++) {
        const VkStructureType t = features[f].home[features[f].n_homes - 1].type;
        for (size_t i = 0; carry[f] && i < sizeof all / sizeof *all; i++)
            if (all[i]->sType == t && !linked[i]) {
                linked[i] = true;
                *tail = all[i];
                tail = &all[i]->pNext;
            }
    }
    *tail = NULL;
    return &c->head;
}

static bool offer(VkPhysicalDeviceFeatures2 *chain, int f);

const VkPhysicalDeviceFeatures2 *vk_feature_chain_enable(vk_feature_chain *c, const bool on[VK_F_COUNT])
{
    chain_init(c);
    VkPhysicalDeviceFeatures2 *head = chain_link(c, on);
    for (int f = 0; f < F_COUNT; f++)
        if (on[f])
            (void)offer(head, f);
    return head;
}

/* ---- what a physical device supports ------------------------------------------------------------------ */

/* Instance-level entry points, fetched for the query (the application's loader) or volk's. */
typedef struct inst_fns {
    PFN_vkGetPhysicalDeviceProperties properties;
    PFN_vkGetPhysicalDeviceFeatures2 features2;
    PFN_vkEnumerateDeviceExtensionProperties extensions;
} inst_fns;

enum { X_FLOAT16, X_TIMELINE, X_MEMORY_MODEL, X_COOPMAT, X_COOPMAT_KHR, X_SG_CONTROL, X_COUNT };
static const char *const ext_names[X_COUNT] = {
    [X_FLOAT16] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME,
    [X_TIMELINE] = VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME,
    [X_MEMORY_MODEL] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME,
    [X_COOPMAT] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME,
    [X_COOPMAT_KHR] = "VK_KHR_cooperative_matrix",
    [X_SG_CONTROL] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME,
};

typedef struct support {
    bool v12;                 /* device API 1.2+: the KHR extensions above are core */
    bool v13;                 /* device API 1.3+: subgroup size control is core */
    bool ext[X_COUNT];        /* the device offers the extension */
    bool has[F_COUNT];        /* the device supports the feature */
} support;

static vkvit_status query_support(const inst_fns *fn, VkPhysicalDevice phys, support *out)
{
    memset(out, 0, sizeof *out);
    VkPhysicalDeviceProperties props;
    fn->properties(phys, &props);
    out->v12 = props.apiVersion >= VK_API_VERSION_1_2;
    out->v13 = props.apiVersion >= VK_API_VERSION_1_3;
    uint32_t n = 0;
    VK_CHECK(fn->extensions(phys, NULL, &n, NULL));
    VkExtensionProperties *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "device extension list");
    VkResult r = fn->extensions(phys, NULL, &n, e);
    for (uint32_t i = 0; r >= 0 && i < n; i++)
        for (int x = 0; x < X_COUNT; x++)
            out->ext[x] |= strcmp(e[i].extensionName, ext_names[x]) == 0;
    free(e);
    if (r < 0)
        return vk_fail(r, "vkEnumerateDeviceExtensionProperties");

    /* Only structures the device knows may go into the chain. */
    const bool carry[F_COUNT] = {
        [F_STORAGE16] = true,
        [F_FLOAT16] = out->v12 || out->ext[X_FLOAT16],
        [F_TIMELINE] = out->v12 || out->ext[X_TIMELINE],
        [F_MEMORY_MODEL] = out->v12 || out->ext[X_MEMORY_MODEL],
        [F_COOPMAT] = out->ext[X_COOPMAT],
        [F_COOPMAT_KHR] = out->ext[X_COOPMAT_KHR],
        [F_SG_CONTROL] = out->v13 || out->ext[X_SG_CONTROL],
        [F_FULL_SUBGROUPS] = out->v13 || out->ext[X_SG_CONTROL],
    };
    vk_feature_chain c;
    chain_init(&c);
    VkPhysicalDeviceFeatures2 *f2 = chain_link(&c, carry);
    fn->features2(phys, f2);
    read_chain(f2->pNext, out->has);
    return VKVIT_OK;
}

/* The cooperative-matrix feature vkvit would use on a device with `sup`: KHR where this build has its
 * kernel, else NV; -1 for neither. */
static int coopmat_feature(const support *sup)
{
    if (VKVIT_HAVE_COOPMAT_KHR && sup->ext[X_COOPMAT_KHR] && sup->has[F_COOPMAT_KHR])
        return F_COOPMAT_KHR;
    return sup->ext[X_COOPMAT] && sup->has[F_COOPMAT] ? F_COOPMAT : -1;
}

/* The paths a device with `sup` supports. */
static uint32_t supported_paths(const support *sup)
{
    uint32_t paths = 0;
    if (sup->has[F_FLOAT16] && sup->has[F_STORAGE16])
        paths |= VKVIT_PATH_FP16;
    if (sup->has[F_TIMELINE])
        paths |= VKVIT_PATH_TIMELINE;
    if ((paths & VKVIT_PATH_FP16) && coopmat_feature(sup) >= 0 && sup->has[F_MEMORY_MODEL])
        paths |= VKVIT_PATH_COOPMAT;
    return paths;
}

bool vk_timeline_supported(VkPhysicalDevice phys)
{
    inst_fns fn = {vkGetPhysicalDeviceProperties, vkGetPhysicalDeviceFeatures2, vkEnumerateDeviceExtensionProperties};
    support sup;
    return query_support(&fn, phys, &sup) == VKVIT_OK && sup.has[F_TIMELINE];
}

/* ---- the query for applications ---------------------------------------------------------------------- */

static vkvit_status require(VkPhysicalDeviceFeatures2 *chain, int f)
{
    return offer(chain, f) ? VKVIT_OK
                  : fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_query_device_requirements: %s is needed, but the "
                         "feature chain has no structure for it: add %s", features[f].name, features[f].structs);
}

/* Sets feature f wherever the chain has a structure for it; whether it had one. */
static bool offer(VkPhysicalDeviceFeatures2 *chain, int f)
{
    bool placed = false;
    for (VkBaseOutStructure *s = (VkBaseOutStructure *)chain; s; s = s->pNext) {
        VkBool32 *b = feature_in(s, f);
        if (b) {
            *b = VK_TRUE;
            placed = true;
        }
    }
    return placed;
}

static void add_extension(vkvit_device_requirements *out, const char *name)
{
    for (uint32_t i = 0; i < out->extension_count; i++)
        if (strcmp(out->extensions[i], name) == 0)
            return;
    if (out->extension_count < VKVIT_MAX_REQUIRED_EXTENSIONS)
        out->extensions[out->extension_count++] = name;
}

VKVIT_API vkvit_status vkvit_query_device_requirements(VkInstance instance, VkPhysicalDevice phys,
                                                       PFN_vkGetInstanceProcAddr gipa, uint32_t paths,
                                                       VkPhysicalDeviceFeatures2 *chain,
                                                       vkvit_device_requirements *out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_query_device_requirements: out is NULL");
    memset(out, 0, sizeof *out);
    if (!instance || !phys)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_query_device_requirements: NULL %s",
                    instance ? "physical device" : "instance");
    if (chain && chain->sType != VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_query_device_requirements: features is not a "
                    "VkPhysicalDeviceFeatures2 (sType %d)", (int)chain->sType);
    if (!gipa) { /* the system loader, through volk; the application's own entry point stays untouched */
        vkvit_status s = vk_loader_init(NULL);
        if (s)
            return s;
        gipa = vkGetInstanceProcAddr;
    }
    inst_fns fn = {(PFN_vkGetPhysicalDeviceProperties)gipa(instance, "vkGetPhysicalDeviceProperties"),
                   (PFN_vkGetPhysicalDeviceFeatures2)gipa(instance, "vkGetPhysicalDeviceFeatures2"),
                   (PFN_vkEnumerateDeviceExtensionProperties)gipa(instance, "vkEnumerateDeviceExtensionProperties")};
    if (!fn.properties || !fn.features2 || !fn.extensions)
        return fail(VKVIT_ERROR_NO_VULKAN, "vkvit_query_device_requirements: the instance has no "
                    "vkGetPhysicalDeviceFeatures2 (it needs Vulkan 1.1)");
    support sup;
    vkvit_status s = query_support(&fn, phys, &sup);
    if (s)
        return s;
    out->supported = supported_paths(&sup) & paths;
    const int cm = coopmat_feature(&sup);
    static const struct {
        uint32_t path;
        int feature, ext; /* ext: needed below Vulkan 1.2 (-1 none) */
    } needs[] = {
        {VKVIT_PATH_FP16, F_STORAGE16, -1},       {VKVIT_PATH_FP16, F_FLOAT16, X_FLOAT16},
        {VKVIT_PATH_TIMELINE, F_TIMELINE, X_TIMELINE}, {VKVIT_PATH_COOPMAT, F_MEMORY_MODEL, X_MEMORY_MODEL},
        {VKVIT_PATH_COOPMAT, F_STORAGE16, -1}, {VKVIT_PATH_COOPMAT, F_FLOAT16, X_FLOAT16},
    };
    for (size_t i = 0; i < sizeof needs / sizeof *needs; i++) {
        if (!(out->supported & needs[i].path))
            continue;
        if (needs[i].ext >= 0 && !sup.v12)
            add_extension(out, ext_names[needs[i].ext]);
        if (chain && (s = require(chain, needs[i].feature)))
            return s;
    }
    if (out->supported & VKVIT_PATH_COOPMAT) {
        add_extension(out, ext_names[cm == F_COOPMAT_KHR ? X_COOPMAT_KHR : X_COOPMAT]);
        if (chain && (s = require(chain, cm)))
            return s;
        /* Subgroup size control lets vkvit pin the kernel's subgroup size. Set where the chain has a
         * structure for it: needed only on devices whose subgroup size varies (AMD, Intel), where the
         * cooperative-matrix path stays off without it (vkvit_context_device_info says so). */
        if (sup.has[F_SG_CONTROL] && sup.has[F_FULL_SUBGROUPS] && chain && offer(chain, F_SG_CONTROL) &&
            offer(chain, F_FULL_SUBGROUPS) && !sup.v13)
            add_extension(out, ext_names[X_SG_CONTROL]);
    }
    return VKVIT_OK;
}

/* ---- an adopted device --------------------------------------------------------------------------------- */

static bool listed(const vkvit_adopt_info *a, const char *name)
{
    for (uint32_t i = 0; a->enabled_extensions && i < a->enabled_extension_count; i++)
        if (a->enabled_extensions[i] && strcmp(a->enabled_extensions[i], name) == 0)
            return true;
    return false;
}

void vk_adopt_features(vkvit_context *ctx, const vkvit_adopt_info *adopt, vk_enabled *out)
{
    bool on[F_COUNT];
    read_chain(adopt->enabled_features, on);
    const bool v12 = ctx->info.api_version >= VK_API_VERSION_1_2, v13 = ctx->info.api_version >= VK_API_VERSION_1_3;
    const bool fp16 = on[F_FLOAT16] && on[F_STORAGE16] && (v12 || listed(adopt, ext_names[X_FLOAT16]));
    ctx->fp16 = fp16 && !(ctx->paths_off & VK_PATH_FP16);
    ctx->timeline = on[F_TIMELINE] && (v12 || listed(adopt, ext_names[X_TIMELINE]));
    *out = (vk_enabled){
        .coopmat_khr = on[F_COOPMAT_KHR] && listed(adopt, ext_names[X_COOPMAT_KHR]),
        .coopmat_nv = on[F_COOPMAT] && listed(adopt, ext_names[X_COOPMAT]),
        .memory_model = on[F_MEMORY_MODEL] && (v12 || listed(adopt, ext_names[X_MEMORY_MODEL])),
        .subgroup_control = on[F_SG_CONTROL] && on[F_FULL_SUBGROUPS] && (v13 || listed(adopt, ext_names[X_SG_CONTROL])),
    };
    vk_message(ctx, VKVIT_MESSAGE_INFO, "adopted device '%s': fp16 path %s, timeline semaphores %s (from the "
               "features the application enabled)", ctx->info.name,
               ctx->fp16 ? "on" : fp16 ? "off (driver-quirk table)" : "off", ctx->timeline ? "on" : "off");
}

VKVIT_API vkvit_status vkvit_context_paths(const vkvit_context *ctx, uint32_t *paths)
{
    if (!ctx || !paths)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_context_paths: NULL argument");
    *paths = (ctx->fp16 ? VKVIT_PATH_FP16 : 0u) | (ctx->timeline ? VKVIT_PATH_TIMELINE : 0u) |
             (ctx->coopmat_shape_count ? VKVIT_PATH_COOPMAT : 0u);
    return VKVIT_OK;
}
