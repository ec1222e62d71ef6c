/* rss-cycles: how much resident memory a bare Vulkan create/destroy cycle leaves behind, without vkvit.
 *
 * Each cycle creates and destroys, up to --level: an instance (with the Khronos validation layer if
 * --validation), a device with one compute queue, a host-visible buffer, a compute pipeline (vkvit's GELU
 * shader; on lavapipe this is llvmpipe's LLVM JIT), and a submitted dispatch. After --warmup cycles it
 * prints RSS (/proc/self/status VmRSS) and glibc's heap in use (mallinfo2: bytes handed out by malloc and not
 * freed, over every arena) per cycle, and the average growth per cycle of both. RSS growing while the heap in
 * use stays flat is memory malloc keeps (fragmentation, arenas), not a leak; --trim calls malloc_trim(0)
 * before each reading to tell the two apart. Run it with MALLOC_ARENA_MAX=1 to rule per-thread arenas out.
 * docs/memory.md has the measurements that explain the Python test's per-context bound.
 *
 * Usage: rss-cycles [--level instance|device|buffer|pipeline|submit] [--cycles N] [--warmup W]
 *                   [--pipelines K] [--validation] [--trim] [--device INDEX|SUBSTRING] [--quiet]
 * --device: a device index, or the first physical device whose name contains SUBSTRING (default: VKVIT_DEVICE,
 * else device 0).
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <volk.h>

#include "rss_cycles_gelu.spv.h"

enum level { LEVEL_INSTANCE, LEVEL_DEVICE, LEVEL_BUFFER, LEVEL_PIPELINE, LEVEL_SUBMIT };
static const char *const level_names[] = {"instance", "device", "buffer", "pipeline", "submit"};

#define CHECK(call)                                                                                           \
    do {                                                                                                      \
        VkResult r_ = (call);                                                                                 \
        if (r_ != VK_SUCCESS) {                                                                               \
            fprintf(stderr, "rss-cycles: %s failed: VkResult %d\n", #call, (int)r_);                           \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

static struct {
    enum level level;
    int cycles, warmup, pipelines;
    bool validation, trim, quiet;
    const char *device;
    unsigned messages;
    int device_threads;   /* the process's threads while a device is open (the driver's worker threads) */
} opt = {LEVEL_SUBMIT, 60, 20, 1, false, false, false, NULL, 0, 0};

/* A numeric field of /proc/self/status ("VmRSS:" in KiB, "Threads:"), -1 where it cannot be read. */
static long status_field(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    const size_t n = strlen(key);
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0)
            v = strtol(line + n, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static long rss_kib(void) { return status_field("VmRSS:"); }
static int threads(void) { return (int)status_field("Threads:"); }

static long heap_kib(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)((mi.uordblks + mi.hblkhd) / 1024);   /* in use from the arenas + mmapped chunks */
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)severity, (void)type, (void)user;
    opt.messages++;
    fprintf(stderr, "validation: %s\n", data->pMessage);
    return VK_FALSE;
}

static uint32_t find_memory(VkPhysicalDevice phys, uint32_t bits, VkMemoryPropertyFlags want)
{
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(phys, &mp);
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want)
            return i;
    fprintf(stderr, "rss-cycles: no host-visible coherent memory type\n");
    exit(1);
}

static VkPhysicalDevice pick_device(VkInstance instance)
{
    VkPhysicalDevice devs[16];
    uint32_t n = 16;
    CHECK(vkEnumeratePhysicalDevices(instance, &n, devs));
    if (n == 0) {
        fprintf(stderr, "rss-cycles: no Vulkan device\n");
        exit(1);
    }
    if (opt.device && opt.device[strspn(opt.device, "0123456789")] == '\0') {   /* an index, as VKVIT_DEVICE */
        uint32_t k = (uint32_t)strtoul(opt.device, NULL, 10);
        if (k < n)
            return devs[k];
        fprintf(stderr, "rss-cycles: no device %u (%u found)\n", k, n);
        exit(1);
    }
    for (uint32_t i = 0; opt.device && i < n; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        if (strstr(p.deviceName, opt.device))
            return devs[i];
    }
    if (opt.device) {
        fprintf(stderr, "rss-cycles: no device named like '%s'\n", opt.device);
        exit(1);
    }
    return devs[0];
}

/* The objects of one cycle beyond the device: a buffer, the GELU pipeline(s), one dispatch over the buffer. */
static void device_work(VkPhysicalDevice phys, VkDevice dev, uint32_t family)
{
    enum { N = 1 << 18 };                                        /* floats: x and y, 1 MiB each */
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 2 * N * sizeof(float),
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer buf;
    CHECK(vkCreateBuffer(dev, &bci, NULL, &buf));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
        .memoryTypeIndex = find_memory(phys, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)};
    VkDeviceMemory mem;
    CHECK(vkAllocateMemory(dev, &mai, NULL, &mem));
    CHECK(vkBindBufferMemory(dev, buf, mem, 0));
    float *x;
    CHECK(vkMapMemory(dev, mem, 0, VK_WHOLE_SIZE, 0, (void **)&x));
    for (int i = 0; i < N; i++)
        x[i] = (float)(i % 97) / 16.0f - 3.0f;

    VkShaderModule module = VK_NULL_HANDLE;
    VkDescriptorSetLayout dsl = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipes[64] = {0};
    if (opt.level >= LEVEL_PIPELINE) {
        VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                         .codeSize = sizeof spv_rss_cycles_gelu, .pCode = spv_rss_cycles_gelu};
        CHECK(vkCreateShaderModule(dev, &smci, NULL, &module));
        VkDescriptorSetLayoutBinding b[2] = {
            {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
            {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL}};
        VkDescriptorSetLayoutCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                               .bindingCount = 2, .pBindings = b};
        CHECK(vkCreateDescriptorSetLayout(dev, &dci, NULL, &dsl));
        VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(uint32_t)};
        VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                           .setLayoutCount = 1, .pSetLayouts = &dsl,
                                           .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
        CHECK(vkCreatePipelineLayout(dev, &plci, NULL, &layout));
        for (int k = 0; k < opt.pipelines; k++) {
            /* Distinct specialization constants (workgroup size, GELU form) make distinct JIT compiles. */
            uint32_t spec[2] = {32u << (k % 4), (uint32_t)(k / 4 % 3)};
            VkSpecializationMapEntry me[2] = {{0, 0, 4}, {1, 4, 4}};
            VkSpecializationInfo si = {2, me, sizeof spec, spec};
            VkComputePipelineCreateInfo cci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                          .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = module, .pName = "main",
                          .pSpecializationInfo = &si},
                .layout = layout};
            CHECK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cci, NULL, &pipes[k]));
        }
    }
    if (opt.level >= LEVEL_SUBMIT) {
        VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
        VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                           .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps};
        VkDescriptorPool pool;
        CHECK(vkCreateDescriptorPool(dev, &dpci, NULL, &pool));
        VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                            .descriptorPool = pool, .descriptorSetCount = 1, .pSetLayouts = &dsl};
        VkDescriptorSet set;
        CHECK(vkAllocateDescriptorSets(dev, &dsai, &set));
        VkDescriptorBufferInfo bi[2] = {{buf, 0, N * sizeof(float)}, {buf, N * sizeof(float), N * sizeof(float)}};
        VkWriteDescriptorSet w[2] = {
            {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 0, .descriptorCount = 1,
             .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[0]},
            {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = 1, .descriptorCount = 1,
             .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[1]}};
        vkUpdateDescriptorSets(dev, 2, w, 0, NULL);
        VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                        .queueFamilyIndex = family};
        VkCommandPool cpool;
        CHECK(vkCreateCommandPool(dev, &cpci, NULL, &cpool));
        VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                            .commandPool = cpool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                            .commandBufferCount = 1};
        VkCommandBuffer cb;
        CHECK(vkAllocateCommandBuffers(dev, &cbai, &cb));
        VkCommandBufferBeginInfo cbbi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                         .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        CHECK(vkBeginCommandBuffer(cb, &cbbi));
        uint32_t n = N;
        vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
        vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof n, &n);
        for (int k = 0; k < opt.pipelines; k++) {
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipes[k]);
            vkCmdDispatch(cb, N / 4 / (32u << (k % 4)), 1, 1);
        }
        CHECK(vkEndCommandBuffer(cb));
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        VkFence fence;
        CHECK(vkCreateFence(dev, &fci, NULL, &fence));
        VkQueue q;
        vkGetDeviceQueue(dev, family, 0, &q);
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
        CHECK(vkQueueSubmit(q, 1, &si, fence));
        CHECK(vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX));
        if (!(x[N + 100] > 0.0f || x[N + 100] < 0.0f)) {   /* gelu(x) of a nonzero x is nonzero */
            fprintf(stderr, "rss-cycles: the dispatch wrote nothing\n");
            exit(1);
        }
        vkDestroyFence(dev, fence, NULL);
        vkDestroyCommandPool(dev, cpool, NULL);
        vkDestroyDescriptorPool(dev, pool, NULL);
    }
    for (int k = 0; k < opt.pipelines; k++)
        vkDestroyPipeline(dev, pipes[k], NULL);
    vkDestroyPipelineLayout(dev, layout, NULL);
    vkDestroyDescriptorSetLayout(dev, dsl, NULL);
    vkDestroyShaderModule(dev, module, NULL);
    vkUnmapMemory(dev, mem);
    vkDestroyBuffer(dev, buf, NULL);
    vkFreeMemory(dev, mem, NULL);
}

static void cycle(void)
{
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
        .pfnUserCallback = on_message};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "rss-cycles",
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
                                .pNext = opt.validation ? &dbg : NULL,
                                .enabledLayerCount = opt.validation, .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = opt.validation, .ppEnabledExtensionNames = &ext};
    VkInstance instance;
    CHECK(vkCreateInstance(&ici, NULL, &instance));
    volkLoadInstanceOnly(instance);
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    if (opt.validation)
        CHECK(vkCreateDebugUtilsMessengerEXT(instance, &dbg, NULL, &messenger));
    VkPhysicalDevice phys = pick_device(instance);
    if (opt.level >= LEVEL_DEVICE) {
        uint32_t nf = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(phys, &nf, NULL);
        VkQueueFamilyProperties fam[16];
        nf = nf < 16 ? nf : 16;
        vkGetPhysicalDeviceQueueFamilyProperties(phys, &nf, fam);
        uint32_t family = 0;
        while (family < nf && !(fam[family].queueFlags & VK_QUEUE_COMPUTE_BIT))
            family++;
        float prio = 1.0f;
        VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                       .queueFamilyIndex = family, .queueCount = 1, .pQueuePriorities = &prio};
        VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                                  .pQueueCreateInfos = &qci};
        VkDevice dev;
        CHECK(vkCreateDevice(phys, &dci, NULL, &dev));
        volkLoadDevice(dev);
        opt.device_threads = threads();
        if (opt.level >= LEVEL_BUFFER)
            device_work(phys, dev, family);
        vkDestroyDevice(dev, NULL);
    }
    if (messenger)
        vkDestroyDebugUtilsMessengerEXT(instance, messenger, NULL);
    vkDestroyInstance(instance, NULL);
}

static int usage(void)
{
    fprintf(stderr, "usage: rss-cycles [--level instance|device|buffer|pipeline|submit] [--cycles N] [--warmup W]\n"
                    "                  [--pipelines K (1..64)] [--validation] [--trim] [--device INDEX|SUBSTRING]"
                    " [--quiet]\n");
    return 2;
}

int main(int argc, char **argv)
{
    opt.device = getenv("VKVIT_DEVICE");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--validation"))
            opt.validation = true;
        else if (!strcmp(a, "--trim"))
            opt.trim = true;
        else if (!strcmp(a, "--quiet"))
            opt.quiet = true;
        else if (v && !strcmp(a, "--cycles"))
            opt.cycles = atoi(argv[++i]);
        else if (v && !strcmp(a, "--warmup"))
            opt.warmup = atoi(argv[++i]);
        else if (v && !strcmp(a, "--pipelines"))
            opt.pipelines = atoi(argv[++i]);
        else if (v && !strcmp(a, "--device"))
            opt.device = argv[++i];
        else if (v && !strcmp(a, "--level")) {
            int k = 0;
            while (k <= LEVEL_SUBMIT && strcmp(level_names[k], v))
                k++;
            if (k > LEVEL_SUBMIT)
                return usage();
            opt.level = (enum level)k;
            i++;
        } else
            return usage();
    }
    if (opt.cycles < 1 || opt.warmup < 0 || opt.pipelines < 1 || opt.pipelines > 64)
        return usage();
    if (opt.device && !opt.device[0])
        opt.device = NULL;
    if (volkInitialize() != VK_SUCCESS) {
        fprintf(stderr, "rss-cycles: no Vulkan loader\n");
        return 1;
    }
    for (int i = 0; i < opt.warmup; i++)
        cycle();
    if (opt.trim)
        malloc_trim(0);
    long rss0 = rss_kib(), heap0 = heap_kib(), prev = rss0;
    int steps = 0;
    printf("level %s, %d pipeline(s), validation %s, trim %s; after %d warm-up cycles: RSS %ld KiB, heap in use "
           "%ld KiB; threads %d, %d while a device is open\n", level_names[opt.level], opt.pipelines,
           opt.validation ? "on" : "off", opt.trim ? "on" : "off", opt.warmup, rss0, heap0, threads(),
           opt.device_threads);
    for (int i = 1; i <= opt.cycles; i++) {
        cycle();
        if (opt.trim)
            malloc_trim(0);
        long rss = rss_kib(), heap = heap_kib();
        steps += rss - prev >= 1024;
        if (!opt.quiet)
            printf("cycle %4d  RSS %+7ld KiB (%+6ld)  heap in use %+7ld KiB\n", i, rss - rss0, rss - prev,
                   heap - heap0);
        prev = rss;
    }
    long rss = rss_kib(), heap = heap_kib();
    printf("over %d cycles: RSS %+ld KiB (%+.1f KiB/cycle, %d steps of >= 1 MiB), heap in use %+ld KiB "
           "(%+.1f KiB/cycle)%s\n", opt.cycles, rss - rss0, (double)(rss - rss0) / opt.cycles, steps, heap - heap0,
           (double)(heap - heap0) / opt.cycles, opt.messages ? "; validation messages!" : "");
    return opt.messages ? 1 : 0;
}
