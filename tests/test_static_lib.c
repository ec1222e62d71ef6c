/* An application linking the installed libvkvit.a that defines names vkvit uses inside: its own
 * `fail`, `plan_create`, `model_load`, `vk_message`, volk's `volkInitialize` and a global
 * `vkCreateInstance` (what an application with its own volk has). It must link (no duplicate
 * symbol), its calls must reach its own definitions, and vkvit must still work (it uses its own).
 * It includes vkvit.h alone, which must compile without any Vulkan header. */
#include <stdio.h>
#include <string.h>

#include "vkvit.h"

#ifdef VK_VERSION_1_0
#error "vkvit.h included a Vulkan header: the core API must not need one (interop is in vkvit_vulkan.h)"
#endif

/* The application's own, with other signatures than vkvit's. */
int fail(int x) { return x + 1; }
int plan_create(void) { return 7; }
const char *model_load = "the application's model_load";
int vk_message(void) { return 11; }
int volkInitialize(void) { return 13; }
static int marker;
void *vkCreateInstance = &marker;

int main(void)
{
    int bad = 0;
    if (fail(1) != 2 || plan_create() != 7 || vk_message() != 11 || volkInitialize() != 13 ||
        vkCreateInstance != &marker || strcmp(model_load, "the application's model_load") != 0) {
        printf("FAIL the application's own definitions were not the ones called\n");
        bad++;
    }
    /* vkvit's own fail() and loader: an error detail, then a device through its own volk. */
    vkvit_model *m = NULL;
    vkvit_status s = vkvit_model_load(NULL, "x", NULL, &m);
    if (s != VKVIT_ERROR_INVALID_ARGUMENT || !strstr(vkvit_last_error(), "vkvit_model_load")) {
        printf("FAIL vkvit's error path: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
        bad++;
    }
    uint32_t n = 0;
    s = vkvit_enumerate_devices(NULL, &n);
    if (s != VKVIT_OK || n == 0) {
        printf("FAIL vkvit_enumerate_devices through vkvit's own loader: %s (%u devices): %s\n",
               vkvit_status_string(s), n, vkvit_last_error());
        bad++;
    }
    printf("%s static library: the application's symbols and vkvit's coexist (%u Vulkan device(s))\n",
           bad ? "FAIL" : "PASS", n);
    return bad ? 1 : 0;
}
