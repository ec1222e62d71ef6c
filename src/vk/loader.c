/* The bottom of src/vk: the Vulkan loader (volk) and the context's message channel, which every
 * other vk file may use and which use none of them. */
#include "vk.h"

#include <stdarg.h>
#include <stdio.h>

void vk_message(vkvit_context *ctx, vkvit_message_severity sev, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ctx && ctx->on_message)
        ctx->on_message(ctx->user, sev, buf);
    else if (sev != VKVIT_MESSAGE_INFO)
        fprintf(stderr, "vkvit: %s\n", buf);
}

static once_flag volk_once = ONCE_FLAG_INIT;
static VkResult volk_result = VK_ERROR_INITIALIZATION_FAILED;
static void volk_init(void) { volk_result = volkInitialize(); }

/* volk keeps the loader's global entry points process-wide (they are the same for every instance);
 * everything device-level goes through per-context tables. */
vkvit_status vk_loader_init(PFN_vkGetInstanceProcAddr gipa)
{
    if (gipa) {
        volkInitializeCustom(gipa);
        return VKVIT_OK;
    }
    call_once(&volk_once, volk_init);
    if (volk_result != VK_SUCCESS)
        return fail(VKVIT_ERROR_NO_VULKAN, "the Vulkan loader (libvulkan.so.1) could not be loaded: "
                                           "install libvulkan1 and a driver (e.g. mesa-vulkan-drivers)");
    return VKVIT_OK;
}
