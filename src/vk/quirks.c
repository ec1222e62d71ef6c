/* The driver-quirk table and its matching (quirks.h). */
#include "quirks.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A row goes in only with evidence a reader can check: a public report of the failure, on that
 * vendor and driver, with the versions it was seen on (and the fix, where there is one).
 *
 * Empty so far. The only cooperative-matrix path is VK_NV_cooperative_matrix, which NVIDIA's driver
 * exposes, and no public report of wrong results from it on that driver was found. The reports that
 * exist concern VK_KHR_cooperative_matrix on other drivers; docs/coopmat.md lists them for when the
 * KHR variant is built. */
const vk_quirk vk_quirk_table[] = {
    {.evidence = NULL},
};

static bool contains(const char *hay, const char *needle)
{
    return !needle || strcasestr(hay, needle) != NULL;
}

bool vk_quirk_matches(const vk_quirk *q, const vkvit_device_info *info)
{
    return (q->vendor_id == 0 || q->vendor_id == info->vendor_id) && contains(info->driver_name, q->driver) &&
           contains(info->name, q->device) && info->driver_version >= q->version_min &&
           (q->version_max == 0 || info->driver_version < q->version_max);
}

uint32_t vk_quirk_paths(const vk_quirk *table, const vkvit_device_info *info)
{
    uint32_t off = 0;
    for (const vk_quirk *q = table; q->evidence; q++)
        if (vk_quirk_matches(q, info))
            off |= q->paths_off;
    return off;
}

const char *vk_path_names(uint32_t paths, char *buf, size_t size)
{
    static const char *const names[] = {"coopmat (NV)", "fp16", "subgroup kernels", "coopmat (KHR)"};
    size_t n = 0;
    if (size)
        buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        if (!(paths & (1u << i)) || n >= size)
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    return buf;
}
