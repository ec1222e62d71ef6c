/* Compute pipelines from embedded SPIR-V, cached per context; the VkPipelineCache on disk. */
#include "vk.h"
#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pipeline_free(vkvit_context *ctx, vk_pipeline *p)
{
    if (p->pipe)
        ctx->vk.vkDestroyPipeline(ctx->device, p->pipe, ctx->alloc);
    if (p->layout)
        ctx->vk.vkDestroyPipelineLayout(ctx->device, p->layout, ctx->alloc);
    if (p->dsl)
        ctx->vk.vkDestroyDescriptorSetLayout(ctx->device, p->dsl, ctx->alloc);
    free(p);
}

static vkvit_status pipeline_build(vkvit_context *ctx, const vk_shader *sh, vk_pipeline *p)
{
    VkDescriptorSetLayoutBinding b[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < sh->n_buffers; i++)
        b[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = (p->image_mask >> i) & 1 ? VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE
                                                       : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = sh->n_buffers,
        .pBindings = b,
    };
    VK_CHECK(ctx->vk.vkCreateDescriptorSetLayout(ctx->device, &dci, ctx->alloc, &p->dsl));
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sh->push_size};
    VkPipelineLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->dsl,
        .pushConstantRangeCount = sh->push_size ? 1 : 0,
        .pPushConstantRanges = &pr,
    };
    VK_CHECK(ctx->vk.vkCreatePipelineLayout(ctx->device, &lci, ctx->alloc, &p->layout));

    VkShaderModuleCreateInfo mci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = sh->code_size,
        .pCode = sh->code,
    };
    VkShaderModule module;
    VK_CHECK(ctx->vk.vkCreateShaderModule(ctx->device, &mci, ctx->alloc, &module));
    VkSpecializationMapEntry map[VK_MAX_SPEC];
    for (uint32_t i = 0; i < p->n_spec; i++)
        map[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo spec = {p->n_spec, map, p->n_spec * 4u, p->spec};
    /* A kernel that sizes its workgroup in subgroups gets exactly the subgroup size it was built for,
     * in full subgroups, where the device can pin it (context.c decides; Vulkan 1.3 or
     * VK_EXT_subgroup_size_control). */
    const bool pin = sh->pin_subgroup && ctx->coopmat_subgroup_size;
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfo sgsize = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
        .requiredSubgroupSize = ctx->coopmat_subgroup_size,
    };
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .pNext = pin ? &sgsize : NULL,
                .flags = pin ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT : 0,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = p->n_spec ? &spec : NULL,
            },
        .layout = p->layout,
    };
    VkResult r = ctx->vk.vkCreateComputePipelines(ctx->device, ctx->pcache, 1, &ci, ctx->alloc, &p->pipe);
    ctx->vk.vkDestroyShaderModule(ctx->device, module, ctx->alloc);
    if (r != VK_SUCCESS) {
        vkvit_status s = vk_fail(r, "vkCreateComputePipelines");
        return fail(s, "creating the '%s' pipeline failed: %s", sh->name, vk_result_string(r));
    }
    return VKVIT_OK;
}

vkvit_status vk_pipeline_get(vkvit_context *ctx, const vk_shader *sh, const uint32_t *spec, uint32_t n_spec,
                             vk_pipeline **out)
{
    return vk_pipeline_get_sampling(ctx, sh, 0, spec, n_spec, out);
}

vkvit_status vk_pipeline_get_sampling(vkvit_context *ctx, const vk_shader *sh, uint32_t image_mask,
                                      const uint32_t *spec, uint32_t n_spec, vk_pipeline **out)
{
    if (n_spec > VK_MAX_SPEC || sh->n_buffers > VK_MAX_BINDINGS)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "pipeline '%s': too many specialization constants or "
                                                  "bindings", sh->name);
    mtx_lock(&ctx->lock);
    for (vk_pipeline *p = ctx->pipelines; p; p = p->next) {
        if (p->code == sh->code && p->n_spec == n_spec &&
            (n_spec == 0 || memcmp(p->spec, spec, n_spec * sizeof *spec) == 0)) {
            mtx_unlock(&ctx->lock);
            *out = p;
            return VKVIT_OK;
        }
    }
    vk_pipeline *p = calloc(1, sizeof *p);
    vkvit_status s = VKVIT_OK;
    if (!p) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "pipeline '%s'", sh->name);
        goto done;
    }
    p->code = sh->code;
    p->name = sh->name;
    p->n_spec = n_spec;
    if (n_spec)
        memcpy(p->spec, spec, n_spec * sizeof *spec);
    p->n_buffers = sh->n_buffers;
    p->push_size = sh->push_size;
    p->image_mask = image_mask;
    if ((s = pipeline_build(ctx, sh, p))) {
        pipeline_free(ctx, p);
        goto done;
    }
    p->next = ctx->pipelines;
    ctx->pipelines = p;
    *out = p;
done:
    mtx_unlock(&ctx->lock);
    return s;
}

void vk_pipelines_destroy(vkvit_context *ctx)
{
    while (ctx->pipelines) {
        vk_pipeline *next = ctx->pipelines->next;
        pipeline_free(ctx, ctx->pipelines);
        ctx->pipelines = next;
    }
}

/* ---- the on-disk pipeline cache ------------------------------------------------------------------ */

static char *cache_path(const vkvit_context *ctx, const char *dir)
{
    char base[1024];
    if (dir) {
        snprintf(base, sizeof base, "%s", dir);
    } else {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(base, sizeof base, "%s/vkvit", xdg);
        else if (home && *home)
            snprintf(base, sizeof base, "%s/.cache/vkvit", home);
        else
            return NULL;
    }
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(ctx->phys, &props);
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
        snprintf(uuid + 2 * i, 3, "%02x", props.pipelineCacheUUID[i]);
    size_t n = strlen(base) + strlen(uuid) + 32;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/pipelines-%s.bin", base, uuid);
    return path;
}

/* Only feed the driver data whose header says it was made by this very device and driver. */
static bool cache_header_ok(const vkvit_context *ctx, const unsigned char *data, size_t size)
{
    if (size < 16 + VK_UUID_SIZE)
        return false;
    uint32_t len, version, vendor, device;
    memcpy(&len, data, 4);
    memcpy(&version, data + 4, 4);
    memcpy(&vendor, data + 8, 4);
    memcpy(&device, data + 12, 4);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(ctx->phys, &props);
    return len >= 16 + VK_UUID_SIZE && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           vendor == props.vendorID && device == props.deviceID &&
           memcmp(data + 16, props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

vkvit_status vk_pipeline_cache_open(vkvit_context *ctx, const char *dir)
{
    unsigned char *data = NULL;
    size_t size = 0;
    if (!dir || *dir)
        ctx->pcache_path = cache_path(ctx, dir);
    /* Anything unreadable or foreign starts an empty cache. */
    if (ctx->pcache_path && fs_read_file(ctx->pcache_path, 1u << 30, (char **)&data, &size) == FS_OK &&
        !cache_header_ok(ctx, data, size))
        size = 0;
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = size ? data : NULL,
    };
    VkResult r = ctx->vk.vkCreatePipelineCache(ctx->device, &ci, ctx->alloc, &ctx->pcache);
    if (r != VK_SUCCESS && size) { /* a stale or corrupt file: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = ctx->vk.vkCreatePipelineCache(ctx->device, &ci, ctx->alloc, &ctx->pcache);
    }
    free(data);
    return vk_fail(r, "vkCreatePipelineCache");
}

struct blob {
    const void *data;
    size_t size;
};

static bool write_blob(FILE *f, const void *user)
{
    const struct blob *b = user;
    return fwrite(b->data, 1, b->size, f) == b->size;
}

void vk_pipeline_cache_close(vkvit_context *ctx)
{
    if (!ctx->pcache)
        return;
    size_t size = 0;
    void *data = NULL;
    if (ctx->pcache_path && ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pcache, &size, NULL) == VK_SUCCESS &&
        size > 0 && (data = malloc(size)) &&
        ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pcache, &size, data) == VK_SUCCESS) {
        const struct blob b = {data, size};
        (void)fs_write_atomic(ctx->pcache_path, write_blob, &b);
    }
    free(data);
    ctx->vk.vkDestroyPipelineCache(ctx->device, ctx->pcache, ctx->alloc);
    ctx->pcache = VK_NULL_HANDLE;
    free(ctx->pcache_path);
    ctx->pcache_path = NULL;
}
