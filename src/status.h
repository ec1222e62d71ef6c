/* The per-thread error detail behind vkvit_last_error(). Everything below api.c reports errors
 * through fail(): it records a detail message and returns the status, so a call site reads
 *     return fail(VKVIT_ERROR_BAD_HEADER, "%s: header is not JSON", path);                       */
#ifndef VKVIT_STATUS_H
#define VKVIT_STATUS_H

#include "vkvit_vulkan.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

vkvit_status fail(vkvit_status status, const char *fmt, ...) PRINTF_LIKE(2, 3);
void clear_error(void);

/* Maps a failed VkResult to a status and records "<what>: VK_ERROR_...". Returns VKVIT_OK for
 * VK_SUCCESS (and other non-negative results). */
vkvit_status vk_fail(VkResult r, const char *what);
const char *vk_result_string(VkResult r);

#endif
