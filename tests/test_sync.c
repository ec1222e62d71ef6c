/* Synchronization validation reaches the layer, and vkvit's barrier is what keeps it quiet.
 *
 * CI runs the suite with VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
 * in one stage; a setting that silently failed to reach the layer would make that stage prove nothing.
 * So this test records deliberate hazards: a transfer write followed by a second transfer write, and a
 * transfer write followed by a compute shader writing the same bytes (GELU), with no barrier between.
 * With the setting, the layer must report the write-after-write hazard; without it, it must report
 * nothing (so a report here comes from the setting). The same pairs with vk_cmd_barrier between them
 * must be silent either way. Any other validation message fails the test as in every test.
 *
 * The fill-then-GELU hazard: Debian 12's layer (1.3.239) reports it; Debian 13's (1.4.309) does not
 * report hazards on a compute shader's storage-buffer descriptors on lavapipe at all (seen: neither
 * write-after-write nor read-after-write), so there it is printed, not required: layers from 1.4 on
 * are only held to the transfer pair. */
#include "common.h"
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4096 };

typedef struct hazard_case {
    const char *what;
    bool barrier;   /* vk_cmd_barrier between the two writes */
    bool gelu;      /* the second write: GELU into the buffer (else a second fill) */
} hazard_case;

/* The Khronos layer's specVersion (0 if absent). */
static uint32_t layer_version(void)
{
    uint32_t n = 0, v = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (!strcmp(p[i].layerName, "VK_LAYER_KHRONOS_validation"))
                v = p[i].specVersion;
    free(p);
    return v;
}

static void run(vkvit_context *ctx, const hazard_case *c, vk_buffer *x, vk_buffer *y, bool sync, bool shader_hazards)
{
    vk_cmd *cmd;
    test_ok(vk_cmd_create(ctx, 0, &cmd), "command buffer");
    test_capture_begin();
    test_ok(vk_cmd_begin(cmd), "begin");
    vk_cmd_fill(cmd, vk_whole(y), 0x3f800000u);   /* 1.0f */
    if (c->barrier)
        vk_cmd_barrier(cmd);
    if (c->gelu) {
        const gelu_args a = {.n = N, .x = vk_whole(x), .y = vk_whole(y)};
        test_ok(op_gelu(cmd, ctx, &a), "gelu");
    } else {
        vk_cmd_fill(cmd, vk_whole(y), 0x40000000u);   /* 2.0f */
    }
    test_ok(vk_cmd_end(cmd), "end");
    test_ok(vk_cmd_submit_wait(cmd), "submit");
    int count;
    const char *msgs = test_capture_end(&count);
    vk_cmd_destroy(cmd);

    const bool want = sync && !c->barrier;
    const bool waw = strstr(msgs, "SYNC-HAZARD-WRITE-AFTER-WRITE") != NULL;
    if (count)
        printf("     layer said (%d message(s)):\n%s", count, msgs);
    if (want && c->gelu && !shader_hazards)
        printf("     %s: this layer %s the hazard (not required of layers 1.4+)\n", c->what,
               waw ? "reports" : "does not report");
    else if (want)
        test_expect(waw, "%s: the layer reports the write-after-write hazard", c->what);
    else
        test_expect(count == 0, "%s: the layer is silent (%d message(s))", c->what, count);
    /* With the barrier, y holds the second write (without it, either may win on a GPU). */
    float out[4];
    test_ok(vk_buffer_read(ctx, y, 0, out, sizeof out), "read");
    if (c->barrier)
        test_expect(out[0] == (c->gelu ? 0.0f : 2.0f), "%s: y holds the second write (%g)", c->what, (double)out[0]);
}

int main(void)
{
    const char *en = getenv("VK_LAYER_ENABLES");
    const bool sync = en && strstr(en, "VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT");
    printf("synchronization validation: %s (VK_LAYER_ENABLES=%s)\n", sync ? "on" : "off", en ? en : "");
    vkvit_context *ctx = test_context();
    const uint32_t lv = layer_version();
    const bool shader_hazards = lv < VK_MAKE_API_VERSION(0, 1, 4, 0);
    printf("validation layer %u.%u.%u\n", VK_API_VERSION_MAJOR(lv), VK_API_VERSION_MINOR(lv), VK_API_VERSION_PATCH(lv));
    float *zeros = calloc(N, sizeof *zeros);
    if (!zeros)
        return 1;
    vk_buffer x = test_upload(ctx, zeros, N), y = test_upload(ctx, NULL, N);   /* gelu(0) = 0 */
    const hazard_case cases[] = {
        {"fill, then fill the same buffer, no barrier", false, false},
        {"fill, barrier, fill", true, false},
        {"fill, then GELU writing the same buffer, no barrier", false, true},
        {"fill, barrier, GELU", true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run(ctx, &cases[i], &x, &y, sync, shader_hazards);
    vk_buffer_destroy(ctx, &x);
    vk_buffer_destroy(ctx, &y);
    free(zeros);
    return test_finish(ctx);
}
