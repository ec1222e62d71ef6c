/* vkvit-info: every Vulkan device the loader reports, with what vkvit uses of it. */
#include <stdio.h>
#include <stdlib.h>

#include "vkvit_vulkan.h"

static const char *component_name(uint32_t t)
{
    static const char *names[] = {"f16", "f32", "f64", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"};
    return t < sizeof names / sizeof *names ? names[t] : "?";
}

static void print_subgroup_ops(uint32_t ops)
{
    static const char *names[] = {"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative",
                                  "clustered", "quad"};
    int any = 0;
    for (int i = 0; i < 8; i++)
        if (ops & (1u << i))
            printf("%s%s", any++ ? " " : "", names[i]);
    printf("%s\n", any ? "" : "none");
}

static const char *ext_name(vkvit_coopmat_extension e)
{
    return e == VKVIT_COOPMAT_KHR ? "KHR" : e == VKVIT_COOPMAT_NV ? "NV" : "-";
}

/* What a context on device `index` uses: the cooperative-matrix path (extension, fragment, subgroup
 * size) or why it is off, and so the kernel of fp16 matmuls. */
static void print_context_paths(uint32_t index)
{
    char name[16];
    snprintf(name, sizeof name, "%u", index);
    vkvit_context_options o = {.device = name};
    vkvit_context *ctx;
    vkvit_device_info d;
    if (vkvit_context_create(&o, &ctx) != VKVIT_OK) {
        printf("  vkvit context      cannot be created: %s\n", vkvit_last_error());
        return;
    }
    uint32_t paths = 0;
    vkvit_context_device_info(ctx, &d);
    vkvit_context_paths(ctx, &paths);
    printf("  fp16 path          %s\n", paths & VKVIT_PATH_FP16 ? "on" : "off");
    if (d.coopmat_extension != VKVIT_COOPMAT_NONE)
        printf("  coopmat path       %s %ux%ux%u fragments, %u-lane subgroups: fp16 matmuls run on it\n",
               d.coopmat_extension == VKVIT_COOPMAT_KHR ? "VK_KHR_cooperative_matrix" : "VK_NV_cooperative_matrix",
               d.coopmat_m, d.coopmat_n, d.coopmat_k, d.coopmat_subgroup_size);
    else
        printf("  coopmat path       off: %s\n", d.coopmat_status ? d.coopmat_status : "?");
    const char *force = getenv("VKVIT_MATMUL");
    if (force && *force)
        printf("  VKVIT_MATMUL       %s (forces the matmul kernel)\n", force);
    vkvit_context_destroy(ctx);
}

int main(void)
{
    uint32_t n = 0;
    vkvit_status s = vkvit_enumerate_devices(NULL, &n);
    if (s != VKVIT_OK) {
        fprintf(stderr, "vkvit-info: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "vkvit-info: no Vulkan device found (install mesa-vulkan-drivers for lavapipe)\n");
        return 1;
    }
    vkvit_device_info *d = calloc(n, sizeof *d);
    if (!d || (s = vkvit_enumerate_devices(d, &n)) != VKVIT_OK) {
        fprintf(stderr, "vkvit-info: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
        free(d);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const vkvit_device_info *x = &d[i];
        printf("device %u: %s\n", x->index, x->name);
        printf("  type               %s\n", vkvit_device_type_string(x->type));
        printf("  vendor             %s (0x%04x), device 0x%04x\n", x->vendor, x->vendor_id, x->device_id);
        printf("  api                %u.%u.%u\n", VK_API_VERSION_MAJOR(x->api_version),
               VK_API_VERSION_MINOR(x->api_version), VK_API_VERSION_PATCH(x->api_version));
        printf("  driver             %s %s (0x%08x)\n", x->driver_name[0] ? x->driver_name : "?", x->driver_info,
               x->driver_version);
        printf("  subgroup size      %u\n", x->subgroup_size);
        printf("  subgroup ops       ");
        print_subgroup_ops(x->subgroup_ops);
        printf("  shaderFloat16      %s\n", x->shader_float16 ? "yes" : "no");
        printf("  16-bit storage     %s\n", x->storage_buffer_16bit ? "yes" : "no");
        printf("  coop. matrix (KHR) %s\n", x->cooperative_matrix_khr ? "yes" : "no");
        printf("  coop. matrix (NV)  %s\n", x->cooperative_matrix_nv ? "yes" : "no");
        for (uint32_t k = 0; k < x->coopmat_shape_count; k++) {
            const vkvit_coopmat_shape *c = &x->coopmat_shapes[k];
            printf("    %-3s %2ux%2ux%2u  A %s  B %s  C %s  D %s%s\n", ext_name(c->extension), c->m, c->n, c->k,
                   component_name(c->a_type), component_name(c->b_type), component_name(c->c_type),
                   component_name(c->d_type), c->saturating ? "  saturating" : "");
        }
        print_context_paths(x->index);
        printf("  shared memory      %u bytes\n", x->max_shared_memory);
        printf("  max buffer range   %u bytes\n", x->max_storage_buffer_range);
        if (x->timestamp_period > 0)
            printf("  timestamp period   %g ns\n", (double)x->timestamp_period);
        else
            printf("  timestamp period   (no compute timestamps)\n");
        printf("  device memory      %.1f GiB\n", (double)x->device_local_bytes / (1024.0 * 1024 * 1024));
    }
    free(d);
    return 0;
}
