/* Embedding vkvit in an application that owns Vulkan (issue 6, what works today):
 *   1. a context adopted from an instance + device the test created itself (its own validation
 *      messenger, volk in the test) gives the same logits as a vkvit_context_create context, and
 *      both match the torchvision fixture;
 *   2. vkvit never destroys what it did not create: after vkvit_context_destroy the test keeps using
 *      its device (its own buffer, command buffer, fence), then destroys device and instance itself;
 *   3. one context, two threads, each with its own plan (two models loaded concurrently; then one
 *      model shared by both), 50 runs each, every run checked against the fixture.
 * Any validation message (vkvit's own instance or the test's) fails the test. */
#include <volk.h>

#include "common.h"
#include "safetensors.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define THREAD_RUNS 50

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer (GCC 12 / clang 14) does not intercept glibc's C11 threads: a thread started by
 * thrd_create has no TSan state (it crashes on entry) and mtx_lock is invisible to it (every access
 * under vkvit's context lock would look like a race). Under -Db_sanitize=thread this executable, and
 * the vkvit objects linked into it, therefore get C11 threads built on the intercepted pthreads. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

typedef struct tsan_start { thrd_start_t fn; void *arg; } tsan_start;

static void *tsan_trampoline(void *p)
{
    tsan_start st = *(tsan_start *)p;
    free(p);
    return (void *)(intptr_t)st.fn(st.arg);
}

int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
    tsan_start *st = malloc(sizeof *st);
    if (!st)
        return thrd_nomem;
    *st = (tsan_start){fn, arg};
    if (pthread_create((pthread_t *)t, NULL, tsan_trampoline, st) != 0) {
        free(st);
        return thrd_error;
    }
    return thrd_success;
}

int thrd_join(thrd_t t, int *res)
{
    void *r = NULL;
    if (pthread_join((pthread_t)t, &r) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)r;
    return thrd_success;
}

void thrd_yield(void) { sched_yield(); }

int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int r = pthread_mutex_init((pthread_mutex_t *)m, &a);
    pthread_mutexattr_destroy(&a);
    return r ? thrd_error : thrd_success;
}
int mtx_lock(mtx_t *m) { return pthread_mutex_lock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
int mtx_unlock(mtx_t *m) { return pthread_mutex_unlock((pthread_mutex_t *)m) ? thrd_error : thrd_success; }
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }
void call_once(once_flag *f, void (*fn)(void)) { pthread_once((pthread_once_t *)f, fn); }
#endif

/* ---- fixtures ------------------------------------------------------------------------------------- */

typedef struct fixture {
    const char *name;
    char model_dir[1024];
    float *input, *logits;
    uint32_t B, C, H, W, K;
} fixture;

static float *read_tensor(st_file *f, const char *name, const st_tensor **out)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "FATAL: fixture tensor '%s' missing\n", name);
        exit(1);
    }
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), name);
    *out = t;
    return v;
}

static void load_fixture(fixture *fx, const char *name)
{
    memset(fx, 0, sizeof *fx);
    fx->name = name;
    snprintf(fx->model_dir, sizeof fx->model_dir, "%s/tests/data/%s", VKVIT_SOURCE_ROOT, name);
    char path[1100];
    snprintf(path, sizeof path, "%s/expected.safetensors", fx->model_dir);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    const st_tensor *ti, *tl;
    fx->input = read_tensor(f, "input", &ti);
    fx->logits = read_tensor(f, "logits", &tl);
    fx->B = (uint32_t)ti->shape[0], fx->C = (uint32_t)ti->shape[1];
    fx->H = (uint32_t)ti->shape[2], fx->W = (uint32_t)ti->shape[3];
    fx->K = (uint32_t)tl->shape[1];
    st_close(f);
}

static void free_fixture(fixture *fx)
{
    free(fx->input);
    free(fx->logits);
}

/* Loads the fixture's model on ctx, plans batch B, runs the fixture input once; logits into out
 * (B x K floats). Returns false (with the reason printed) on any vkvit error. */
static bool run_once(vkvit_context *ctx, const fixture *fx, float *out)
{
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = fx->B};
    vkvit_tensor in = {fx->input, fx->B, fx->C, fx->H, fx->W};
    vkvit_status s;
    if ((s = vkvit_model_load(ctx, fx->model_dir, NULL, &m)) || (s = vkvit_plan_create(m, &po, &p)) ||
        (s = vkvit_run(p, &in)) || (s = vkvit_get_logits(p, out, (size_t)fx->B * fx->K)))
        fprintf(stderr, "%s: %s: %s\n", fx->name, vkvit_status_string(s), vkvit_last_error());
    vkvit_plan_destroy(p);
    vkvit_model_free(m);
    return s == VKVIT_OK;
}

/* ---- the application's own Vulkan ------------------------------------------------------------------ */

static atomic_int app_messages;

static VKAPI_ATTR VkBool32 VKAPI_CALL app_debug(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT types,
                                                const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types, (void)user;
    atomic_fetch_add(&app_messages, 1);
    fprintf(stderr, "APP VALIDATION %s: %s\n",
            (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "ERROR" : "WARNING",
            data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

typedef struct app_vulkan {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    uint32_t family;
    VkQueue queue;
    struct VolkDeviceTable vk; /* the application's own device table */
} app_vulkan;

static void app_check(VkResult r, const char *what)
{
    if (r != VK_SUCCESS) {
        fprintf(stderr, "FATAL: %s failed: VkResult %d\n", what, (int)r);
        exit(1);
    }
}

static bool has_instance_extension(const char *name)
{
    uint32_t n = 0;
    vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
    bool found = false;
    if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

static bool has_device_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
    VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
    bool found = false;
    if (p && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

/* Instance with the validation layer and a messenger, the physical device named `device_name` (the
 * one vkvit_context_create chose, so both paths run on the same device), a device with one compute
 * queue and no optional features or extensions. */
static void app_create(app_vulkan *app, const char *device_name)
{
    memset(app, 0, sizeof *app);
    app_check(volkInitialize(), "volkInitialize");
    uint32_t version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion)
        vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_1) {
        fprintf(stderr, "FATAL: the Vulkan loader is 1.0\n");
        exit(1);
    }
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *exts[2] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    uint32_t n_exts = 1;
    VkInstanceCreateFlags flags = 0;
    if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    VkApplicationInfo ai = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "test_embed",
        .apiVersion = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version,
    };
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = app_debug,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = &dbg,
        .flags = flags,
        .pApplicationInfo = &ai,
        .enabledLayerCount = 1,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    app_check(vkCreateInstance(&ci, NULL, &app->instance), "vkCreateInstance (validation layer installed?)");
    volkLoadInstance(app->instance);
    app_check(vkCreateDebugUtilsMessengerEXT(app->instance, &dbg, NULL, &app->messenger),
              "vkCreateDebugUtilsMessengerEXT");

    uint32_t n = 0;
    app_check(vkEnumeratePhysicalDevices(app->instance, &n, NULL), "vkEnumeratePhysicalDevices");
    VkPhysicalDevice *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs)
        exit(1);
    app_check(vkEnumeratePhysicalDevices(app->instance, &n, devs), "vkEnumeratePhysicalDevices");
    for (uint32_t i = 0; i < n && !app->phys; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        if (strcmp(p.deviceName, device_name) == 0 && p.apiVersion >= VK_API_VERSION_1_1)
            app->phys = devs[i];
    }
    free(devs);
    if (!app->phys) {
        fprintf(stderr, "FATAL: the test's own instance does not see a Vulkan 1.1 device '%s'\n", device_name);
        exit(1);
    }

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(app->phys, &nq, NULL);
    VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
    if (!q)
        exit(1);
    vkGetPhysicalDeviceQueueFamilyProperties(app->phys, &nq, q);
    int family = -1;
    for (uint32_t i = 0; i < nq && family < 0; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].queueCount > 0)
            family = (int)i;
    free(q);
    if (family < 0) {
        fprintf(stderr, "FATAL: '%s' has no compute queue\n", device_name);
        exit(1);
    }
    app->family = (uint32_t)family;

    const char *dev_exts[1];
    uint32_t n_dev_exts = 0;
    if (has_device_extension(app->phys, "VK_KHR_portability_subset"))
        dev_exts[n_dev_exts++] = "VK_KHR_portability_subset";
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = app->family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    /* No optional features: the header says an adopted device needs only core Vulkan 1.1. */
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = n_dev_exts,
        .ppEnabledExtensionNames = dev_exts,
    };
    app_check(vkCreateDevice(app->phys, &dci, NULL, &app->device), "vkCreateDevice");
    volkLoadDeviceTable(&app->vk, app->device);
    app->vk.vkGetDeviceQueue(app->device, app->family, 0, &app->queue);
}

static int find_memory(const app_vulkan *app, uint32_t type_bits, VkMemoryPropertyFlags want)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(app->phys, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

/* The application's own work on its device: fill a buffer of its own on the GPU, read it back with
 * its own fence. True if every word holds the pattern. */
static bool app_fill_and_read(app_vulkan *app, uint32_t pattern)
{
    const uint32_t words = 4096;
    const VkDeviceSize size = words * sizeof(uint32_t);
    struct VolkDeviceTable *vk = &app->vk;
    VkDevice dev = app->device;

    VkBuffer buf;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                              .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT, .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    app_check(vk->vkCreateBuffer(dev, &bci, NULL, &buf), "app vkCreateBuffer");
    VkMemoryRequirements req;
    vk->vkGetBufferMemoryRequirements(dev, buf, &req);
    int type = find_memory(app, req.memoryTypeBits,
                           VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (type < 0) {
        fprintf(stderr, "FATAL: no host-visible coherent memory\n");
        exit(1);
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                .memoryTypeIndex = (uint32_t)type};
    VkDeviceMemory mem;
    app_check(vk->vkAllocateMemory(dev, &mai, NULL, &mem), "app vkAllocateMemory");
    app_check(vk->vkBindBufferMemory(dev, buf, mem, 0), "app vkBindBufferMemory");
    uint32_t *mapped = NULL;
    app_check(vk->vkMapMemory(dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&mapped), "app vkMapMemory");
    memset(mapped, 0, size);

    VkCommandPool pool;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = app->family};
    app_check(vk->vkCreateCommandPool(dev, &pci, NULL, &pool), "app vkCreateCommandPool");
    VkCommandBuffer cb;
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    app_check(vk->vkAllocateCommandBuffers(dev, &cai, &cb), "app vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    app_check(vk->vkBeginCommandBuffer(cb, &bi), "app vkBeginCommandBuffer");
    vk->vkCmdFillBuffer(cb, buf, 0, VK_WHOLE_SIZE, pattern);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vk->vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0,
                             NULL);
    app_check(vk->vkEndCommandBuffer(cb), "app vkEndCommandBuffer");
    VkFence fence;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    app_check(vk->vkCreateFence(dev, &fci, NULL, &fence), "app vkCreateFence");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    app_check(vk->vkQueueSubmit(app->queue, 1, &si, fence), "app vkQueueSubmit");
    app_check(vk->vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX), "app vkWaitForFences");

    bool ok = true;
    for (uint32_t i = 0; i < words && ok; i++)
        ok = mapped[i] == pattern;

    vk->vkDestroyFence(dev, fence, NULL);
    vk->vkDestroyCommandPool(dev, pool, NULL);
    vk->vkUnmapMemory(dev, mem);
    vk->vkDestroyBuffer(dev, buf, NULL);
    vk->vkFreeMemory(dev, mem, NULL);
    return ok;
}

static void app_destroy(app_vulkan *app)
{
    app->vk.vkDestroyDevice(app->device, NULL);
    vkDestroyDebugUtilsMessengerEXT(app->instance, app->messenger, NULL);
    vkDestroyInstance(app->instance, NULL);
}

/* ---- 1 + 2: adopted context ----------------------------------------------------------------------- */

static void test_adopted(vkvit_context *created, const fixture *fx)
{
    vkvit_device_info info;
    test_ok(vkvit_context_device_info(created, &info), "device info");
    size_t n = (size_t)fx->B * fx->K;
    float *via_created = test_alloc(n), *via_adopted = test_alloc(n);
    test_expect(run_once(created, fx, via_created), "%s through vkvit_context_create runs", fx->name);

    app_vulkan app;
    app_create(&app, info.name);
    printf("application device: %s, queue family %u, validation on (its own messenger)\n", info.name, app.family);
    test_expect(app_fill_and_read(&app, 0x12345678u), "the application's own fill works before adoption");

    vkvit_adopt_info ad = {
        .instance = app.instance,
        .physical_device = app.phys,
        .device = app.device,
        .queue_family = app.family,
        .queue = app.queue,
        .get_instance_proc_addr = vkGetInstanceProcAddr,
    };
    vkvit_context *adopted = NULL;
    vkvit_status s = vkvit_context_adopt(&ad, NULL, &adopted);
    if (test_expect(s == VKVIT_OK, "vkvit_context_adopt (%s%s%s)", vkvit_status_string(s), s ? ": " : "",
                    s ? vkvit_last_error() : "")) {
        vkvit_device_info ainfo;
        test_ok(vkvit_context_device_info(adopted, &ainfo), "adopted device info");
        test_expect(strcmp(ainfo.name, info.name) == 0, "adopted context reports the application's device (%s)",
                    ainfo.name);
        if (test_expect(run_once(adopted, fx, via_adopted), "%s through the adopted context runs", fx->name)) {
            char label[256];
            snprintf(label, sizeof label, "%s: adopted-context logits [%u x %u] vs torchvision", fx->name, fx->B, fx->K);
            test_check(label, via_adopted, fx->logits, n, TOL_FORWARD);
            snprintf(label, sizeof label, "%s: adopted-context logits == self-created-context logits (%s)", fx->name,
                     memcmp(via_adopted, via_created, n * sizeof *via_adopted) == 0 ? "bitwise" : "not bitwise");
            test_check(label, via_adopted, via_created, n, 1e-6);
        }
        /* The application's queue still works between vkvit runs (vkvit left it idle and usable). */
        test_expect(app_fill_and_read(&app, 0x0badf00du), "the application's fill works while vkvit holds its device");
        vkvit_context_destroy(adopted);
    }
    /* 2. vkvit destroyed nothing of the application's: its device, queue and instance still work. */
    test_expect(app_fill_and_read(&app, 0xcafe1234u),
                "after vkvit_context_destroy the application's device, queue and fence still work");
    test_expect(app_fill_and_read(&app, 0x5a5a5a5au), "... and again (a second submission)");
    app_destroy(&app);
    int msgs = atomic_load(&app_messages);
    test_expect(msgs == 0, "no validation message on the application's instance (%d)", msgs);
    free(via_created);
    free(via_adopted);
}

/* ---- 3: one context, two threads --------------------------------------------------------------------- */

typedef struct worker {
    vkvit_context *ctx;
    const fixture *fx;
    vkvit_model *shared_model; /* non-NULL: plan on this model (shared with the other thread) */
    atomic_int *start;         /* both threads wait here, so their runs overlap */
    int runs_ok, runs_bad, failed_setup;
    double worst_rel;
    bool bitwise_stable; /* every run gave the first run's bits */
    char error[512];
} worker;

static int worker_main(void *arg)
{
    worker *w = arg;
    const fixture *fx = w->fx;
    size_t n = (size_t)fx->B * fx->K;
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_plan_options po = {.batch = fx->B};
    vkvit_tensor in = {fx->input, fx->B, fx->C, fx->H, fx->W};
    float *out = test_alloc(n), *first = test_alloc(n);
    w->bitwise_stable = true;
    atomic_fetch_sub(w->start, 1);
    while (atomic_load(w->start) > 0)
        thrd_yield();
    vkvit_status s = VKVIT_OK;
    if ((!w->shared_model && (s = vkvit_model_load(w->ctx, fx->model_dir, NULL, &m))) ||
        (s = vkvit_plan_create(w->shared_model ? w->shared_model : m, &po, &p))) {
        snprintf(w->error, sizeof w->error, "setup: %s: %s", vkvit_status_string(s), vkvit_last_error());
        w->failed_setup = 1;
    } else {
        for (int r = 0; r < THREAD_RUNS; r++) {
            memset(out, 0xff, n * sizeof *out); /* NaN: a run that writes nothing cannot pass */
            if ((s = vkvit_run(p, &in)) || (s = vkvit_get_logits(p, out, n))) {
                snprintf(w->error, sizeof w->error, "run %d: %s: %s", r, vkvit_status_string(s), vkvit_last_error());
                w->runs_bad++;
                continue;
            }
            test_cmp c = test_compare(out, fx->logits, n);
            if (c.rel > w->worst_rel || !c.finite)
                w->worst_rel = c.finite ? c.rel : 1e30;
            if (c.finite && c.rel <= TOL_FORWARD)
                w->runs_ok++;
            else
                w->runs_bad++;
            if (r == 0)
                memcpy(first, out, n * sizeof *out);
            else if (memcmp(first, out, n * sizeof *out) != 0)
                w->bitwise_stable = false;
        }
    }
    vkvit_plan_destroy(p);
    vkvit_model_free(m);
    free(out);
    free(first);
    return 0;
}

static void test_threads(vkvit_context *ctx, const fixture *a, const fixture *b, vkvit_model *shared)
{
    atomic_int start = 2;
    worker w[2] = {{.ctx = ctx, .fx = a, .shared_model = shared, .start = &start},
                   {.ctx = ctx, .fx = b, .shared_model = shared, .start = &start}};
    thrd_t t[2];
    bool started[2];
    for (int i = 0; i < 2; i++)
        started[i] = thrd_create(&t[i], worker_main, &w[i]) == thrd_success;
    for (int i = 0; i < 2; i++)
        if (started[i])
            thrd_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (!test_expect(started[i], "thread %d started", i))
            continue;
        test_expect(!w[i].failed_setup && w[i].runs_ok == THREAD_RUNS,
                    "thread %d (%s, own plan, shared context%s): %d/%d runs within %.0e of torchvision, worst rel=%.3e%s%s",
                    i, w[i].fx->name, shared ? " and model" : "", w[i].runs_ok, THREAD_RUNS, TOL_FORWARD, w[i].worst_rel,
                    w[i].error[0] ? "; " : "", w[i].error);
        test_expect(w[i].bitwise_stable, "thread %d (%s): every run bitwise identical to its first", i, w[i].fx->name);
    }
}

int main(void)
{
    vkvit_context *ctx = test_context();
    fixture hf, timm;
    load_fixture(&hf, "hf-vit");
    load_fixture(&timm, "timm-vit");
    printf("fixtures: hf-vit batch %u, %u classes; timm-vit batch %u, %u classes\n", hf.B, hf.K, timm.B, timm.K);

    test_adopted(ctx, &hf);
    /* A fresh context (validation on), so that the two threads also build the context's pipelines
     * concurrently (vk_pipeline_get on an empty list) besides submitting to its one queue. */
    vkvit_context *shared = test_context();
    /* Two models loaded concurrently, a plan each. */
    test_threads(shared, &hf, &timm, NULL);
    /* One model shared by both threads, a plan each. */
    vkvit_model *m = NULL;
    test_ok(vkvit_model_load(shared, hf.model_dir, NULL, &m), "load hf-vit");
    test_threads(shared, &hf, &hf, m);
    vkvit_model_free(m);
    vkvit_context_destroy(shared);

    free_fixture(&hf);
    free_fixture(&timm);
    return test_finish(ctx);
}
