/* Several contexts in one process, of different instance setups (with and without the validation layer), with
 * vkvit_enumerate_devices' temporary instance between them, destroyed in an order other than creation's: each
 * destroys its debug messenger through its own instance's entry point (volk's global one is the last-loaded
 * instance's; vkvit.Pool and the Python tests open contexts like this). It crashed before that.
 * Usage: test_contexts */
#include "common.h"

#include <stdio.h>

int main(void)
{
    vkvit_context *a = test_context();                      /* validation on */
    vkvit_context *b = NULL;
    vkvit_context_options plain = {0};                      /* validation off (unless VKVIT_VALIDATION=1) */
    test_ok(vkvit_context_create(&plain, &b), "a second context, without validation");
    uint32_t n = 0;
    test_ok(vkvit_enumerate_devices(NULL, &n), "vkvit_enumerate_devices with two contexts open");
    test_expect(n >= 1, "at least one device listed (%u)", n);
    vkvit_context *c = test_context();
    vkvit_device_info ia, ic;
    test_ok(vkvit_context_device_info(a, &ia), "device info of the first context");
    test_ok(vkvit_context_device_info(c, &ic), "device info of the third context");
    test_expect(ia.index == ic.index, "the same device (%u, %u)", ia.index, ic.index);
    test_ok(vkvit_enumerate_devices(NULL, &n), "vkvit_enumerate_devices again");
    vkvit_context_destroy(c);                               /* validating, after a temporary instance */
    vkvit_context_destroy(b);
    printf("ok   three contexts destroyed out of order\n");
    return test_finish(a);                                  /* validating, after two other instances */
}
