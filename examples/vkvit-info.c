/* vkvit-info: every Vulkan device the loader reports, with what vkvit uses of it. */
#include <stdio.h>
#include <stdlib.h>

#include "vkvit.h"

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
        printf("  coop. matrix (NV)  %s\n", x->cooperative_matrix_nv ? "yes" : "no");
        for (uint32_t k = 0; k < x->coopmat_shape_count; k++) {
            const vkvit_coopmat_shape *c = &x->coopmat_shapes[k];
            printf("    %ux%ux%u  A %s  B %s  C %s  D %s\n", c->m, c->n, c->k, component_name(c->a_type),
                   component_name(c->b_type), component_name(c->c_type), component_name(c->d_type));
        }
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
