/* Driver quirks as data: rows of (vendor, driver, device, driver-version range) -> kernel paths that
 * are turned off on matching devices, each with the public evidence that put it there.
 *
 * context.c consults the built-in table once, when a context is created (self-created or adopted),
 * before it enables device features; every matching row is reported through vk_message (INFO) and
 * its paths land in ctx->paths_off, which the ops read. VKVIT_NO_QUIRKS=1 ignores the table (to check
 * whether a newer driver still needs a row). Matching is plain C on a vkvit_device_info, so
 * tests/test_quirks.c checks it on fake devices without a GPU. */
#ifndef VKVIT_QUIRKS_H
#define VKVIT_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkvit_vulkan.h"

typedef enum vk_path {
    VK_PATH_COOPMAT_NV = 1u << 0, /* the VK_NV_cooperative_matrix kernel (shaders/matmul_coopmat.comp) */
    VK_PATH_FP16 = 1u << 1,       /* fp16 storage + arithmetic: every OP_F16 kernel */
    VK_PATH_SUBGROUP = 1u << 2,   /* subgroup-operation kernels: matmul direct, attention subgroup,
                                   * LayerNorm subgroup reduction (the shared-memory ones remain) */
    VK_PATH_COOPMAT_KHR = 1u << 3, /* the VK_KHR_cooperative_matrix kernel (the same shader) */
} vk_path;
#define VK_PATH_COOPMAT (VK_PATH_COOPMAT_NV | VK_PATH_COOPMAT_KHR)   /* both cooperative-matrix kernels */
#define VK_PATH_ALL (VK_PATH_COOPMAT | VK_PATH_FP16 | VK_PATH_SUBGROUP)

typedef struct vk_quirk {
    uint32_t vendor_id;      /* PCI vendor id (0x10DE NVIDIA, 0x1002 AMD, 0x8086 Intel, ...); 0: any */
    const char *driver;      /* case-insensitive substring of driverName (VK_KHR_driver_properties,
                              * e.g. "NVIDIA", "radv", "Intel open-source Mesa driver"); NULL: any */
    const char *device;      /* case-insensitive substring of deviceName; NULL: any */
    uint32_t version_min;    /* driverVersion in [version_min, version_max), the vendor's raw encoding */
    uint32_t version_max;    /* (macros below); version_max 0: no upper bound, i.e. no known fix */
    uint32_t paths_off;      /* vk_path bits */
    const char *evidence;    /* what goes wrong and where it was reported (URL); NULL ends a table */
} vk_quirk;

/* driverVersion encodings, for the bounds: NVIDIA packs major.minor into 10.8 bits at bit 22; Mesa
 * and AMD use VK_MAKE_API_VERSION; Intel's Windows driver packs build numbers as (a << 14) | b. */
#define VK_QUIRK_NVIDIA_VERSION(major, minor) (((uint32_t)(major) << 22) | ((uint32_t)(minor) << 14))
#define VK_QUIRK_MESA_VERSION(major, minor, patch) VK_MAKE_API_VERSION(0, major, minor, patch)

/* The built-in table, ended by a row whose evidence is NULL. */
extern const vk_quirk vk_quirk_table[];

bool vk_quirk_matches(const vk_quirk *q, const vkvit_device_info *info);
/* The union of paths_off over the rows of `table` (ended by evidence NULL) that match `info`. */
uint32_t vk_quirk_paths(const vk_quirk *table, const vkvit_device_info *info);
/* "coopmat (NV), fp16" etc. for messages; returns buf. */
const char *vk_path_names(uint32_t paths, char *buf, size_t size);

#endif
