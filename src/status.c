#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char detail[2048];

vkvit_status fail(vkvit_status status, const char *fmt, ...)
{
    /* Formatted aside first: callers prefix the previous detail, fail(s, "layer %u: %s", l,
     * vkvit_last_error()), and vsnprintf must not read the buffer it writes. */
    char tmp[sizeof detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(detail, tmp, sizeof detail);
    return status;
}

void clear_error(void) { detail[0] = '\0'; }

const char *vkvit_last_error(void) { return detail; }

const char *vkvit_status_string(vkvit_status s)
{
    static const char *const names[VKVIT_STATUS_COUNT] = {
        [VKVIT_OK] = "VKVIT_OK",
        [VKVIT_ERROR_INVALID_ARGUMENT] = "VKVIT_ERROR_INVALID_ARGUMENT",
        [VKVIT_ERROR_OUT_OF_HOST_MEMORY] = "VKVIT_ERROR_OUT_OF_HOST_MEMORY",
        [VKVIT_ERROR_OUT_OF_DEVICE_MEMORY] = "VKVIT_ERROR_OUT_OF_DEVICE_MEMORY",
        [VKVIT_ERROR_NO_VULKAN] = "VKVIT_ERROR_NO_VULKAN",
        [VKVIT_ERROR_NO_DEVICE] = "VKVIT_ERROR_NO_DEVICE",
        [VKVIT_ERROR_UNSUPPORTED] = "VKVIT_ERROR_UNSUPPORTED",
        [VKVIT_ERROR_VULKAN] = "VKVIT_ERROR_VULKAN",
        [VKVIT_ERROR_DEVICE_LOST] = "VKVIT_ERROR_DEVICE_LOST",
        [VKVIT_ERROR_IO] = "VKVIT_ERROR_IO",
        [VKVIT_ERROR_FILE_TRUNCATED] = "VKVIT_ERROR_FILE_TRUNCATED",
        [VKVIT_ERROR_BAD_HEADER] = "VKVIT_ERROR_BAD_HEADER",
        [VKVIT_ERROR_BAD_TENSOR_RANGE] = "VKVIT_ERROR_BAD_TENSOR_RANGE",
        [VKVIT_ERROR_UNKNOWN_DTYPE] = "VKVIT_ERROR_UNKNOWN_DTYPE",
        [VKVIT_ERROR_MISSING_TENSOR] = "VKVIT_ERROR_MISSING_TENSOR",
        [VKVIT_ERROR_UNEXPECTED_TENSOR] = "VKVIT_ERROR_UNEXPECTED_TENSOR",
        [VKVIT_ERROR_SHAPE_MISMATCH] = "VKVIT_ERROR_SHAPE_MISMATCH",
        [VKVIT_ERROR_BAD_CONFIG] = "VKVIT_ERROR_BAD_CONFIG",
        [VKVIT_ERROR_INPUT_SIZE] = "VKVIT_ERROR_INPUT_SIZE",
        [VKVIT_ERROR_BATCH_TOO_LARGE] = "VKVIT_ERROR_BATCH_TOO_LARGE",
        [VKVIT_ERROR_BAD_IMAGE] = "VKVIT_ERROR_BAD_IMAGE",
    };
    if ((unsigned)s >= VKVIT_STATUS_COUNT)
        return "VKVIT_ERROR_(unknown status)";
    return names[s];
}

const char *vk_result_string(VkResult r)
{
    switch (r) {
#define R(x) case x: return #x
        R(VK_SUCCESS); R(VK_NOT_READY); R(VK_TIMEOUT); R(VK_INCOMPLETE);
        R(VK_ERROR_OUT_OF_HOST_MEMORY); R(VK_ERROR_OUT_OF_DEVICE_MEMORY);
        R(VK_ERROR_INITIALIZATION_FAILED); R(VK_ERROR_DEVICE_LOST); R(VK_ERROR_MEMORY_MAP_FAILED);
        R(VK_ERROR_LAYER_NOT_PRESENT); R(VK_ERROR_EXTENSION_NOT_PRESENT);
        R(VK_ERROR_FEATURE_NOT_PRESENT); R(VK_ERROR_INCOMPATIBLE_DRIVER);
        R(VK_ERROR_TOO_MANY_OBJECTS); R(VK_ERROR_FORMAT_NOT_SUPPORTED);
        R(VK_ERROR_FRAGMENTED_POOL); R(VK_ERROR_OUT_OF_POOL_MEMORY); R(VK_ERROR_UNKNOWN);
#undef R
    default: return "VkResult(other)";
    }
}

vkvit_status vk_fail(VkResult r, const char *what)
{
    if (r >= 0)
        return VKVIT_OK;
    vkvit_status s = VKVIT_ERROR_VULKAN;
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY)
        s = VKVIT_ERROR_OUT_OF_HOST_MEMORY;
    else if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
        s = VKVIT_ERROR_OUT_OF_DEVICE_MEMORY;
    else if (r == VK_ERROR_DEVICE_LOST)
        s = VKVIT_ERROR_DEVICE_LOST;
    return fail(s, "%s failed: %s (%d)", what, vk_result_string(r), (int)r);
}
