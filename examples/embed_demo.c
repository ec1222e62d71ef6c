/*
 * embed_demo: a renderer that asks a Vision Transformer what it is showing, on its own device, in its
 * own frames, with no CPU round trip of the image.
 *
 *   embed_demo [--model DIR] [--images DIR|FILE] [--every N] [options]
 *   embed_demo --headless --frames F --png OUT.png [...]
 *
 * The application owns everything Vulkan: it creates the instance and the device itself, with the
 * features vkvit_query_device_requirements asks for (fp16 where the device has it;
 * base/app_vulkan.c, shared with the viewer), and hands them to vkvit (vkvit_context_adopt). Every
 * frame it renders its scene into an offscreen colour image, `target`, with a graphics pipeline: a
 * photo on a textured quad, slowly panning and zooming (embed_demo_quad.c). Every --every frames it
 * records vkvit's preprocessing and forward pass into the same command buffer, right after the
 * scene, reading `target` on the GPU and writing the class probabilities into a host-visible buffer
 * of its own. The frame is submitted with the application's fence on its queue; when that fence has
 * signalled (SLOTS frames later), the probabilities are read from the buffer and the top-1 label is
 * drawn into the frames that follow. The frame is then drawn into the window's swapchain image, or
 * with --headless kept offscreen; --png writes the last one.
 *
 * One frame's command buffer:
 *   render pass: the photo quad -> target (left in COLOR_ATTACHMENT_OPTIMAL)          the scene
 *   every N frames:
 *     target -> SHADER_READ_ONLY_OPTIMAL, colour-attachment writes -> compute reads    vkvit.h's rule
 *     vkvit_record(plan, cb, &target, 1, &probabilities)
 *   target -> TRANSFER_DST; copy the label's pixels into it                           after vkvit: unseen
 *   [target -> TRANSFER_SRC; copy it into the PNG buffer]                             --png, last frame
 *   target -> SHADER_READ_ONLY; render pass: target quad -> swapchain image           windowed
 */
#include <volk.h> /* before vkvit.h and glfw3.h: Vulkan through volk, VK_NO_PROTOTYPES */

#include "vkvit_vulkan.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "app_vulkan.h"
#include "embed_demo_label.h"
#include "embed_demo_quad.h"

#ifndef VKVIT_SOURCE_ROOT
#define VKVIT_SOURCE_ROOT "."
#endif

#define SLOTS 2          /* frames in flight */
#define MAX_PHOTOS 32
#define LABEL_MARGIN 12  /* pixels between the label and the frame's bottom-left corner */

typedef struct options {
    const char *model, *images, *device, *png;
    uint32_t width, height;
    long every, frames, hold;
    int headless, validation;
} options;

/* A frame in flight. Each has its own vkvit plan: a recording stays pending on its plan until the
 * frame's fence has signalled, so a plan cannot serve two frames in flight. */
typedef struct slot {
    VkCommandBuffer cb;
    VkFence done;                /* the application's fence for the frame's submission          */
    VkSemaphore acquired;        /* the swapchain image is ready to be written (windowed)       */
    vkvit_plan *plan;
    app_buffer probabilities;    /* [num_classes] fp32, written by vkvit's commands             */
    app_buffer label;             /* the label box, RGBA8, copied into the frame                 */
    VkQueryPool timer;           /* timestamps 0 and 1 around vkvit's commands                  */
    long classified;             /* the frame whose image the pending recording reads; -1 none  */
    uint32_t photo;
} slot;

/* The latest classification, as the label shows it. */
typedef struct result {
    long frame;                  /* -1: none yet */
    const char *label;
    float probability;
    double gpu_ms;               /* < 0: not measured */
} result;

typedef struct demo {
    options opt;
    app_vulkan vk;               /* instance, device (with what vkvit asks for), queue          */
    GLFWwindow *window;          /* NULL when headless */
    app_swapchain sc;
    VkImageView window_views[APP_MAX_SWAPCHAIN_IMAGES];
    VkFramebuffer window_framebuffers[APP_MAX_SWAPCHAIN_IMAGES]; /* for window_pass             */
    vkvit_context *ctx;
    vkvit_model *model;
    vkvit_model_info info;
    demo_quads quads;
    demo_quad_pass scene_pass;   /* into target                                                 */
    demo_quad_pass window_pass;  /* into a swapchain image                                      */
    char *photo_names[MAX_PHOTOS];
    app_image photos[MAX_PHOTOS];  /* textures, SHADER_READ_ONLY_OPTIMAL                          */
    VkDescriptorSet photo_sets[MAX_PHOTOS];
    uint32_t photo_count;
    app_image target;            /* the frame: colour attachment, sampled (by vkvit, by the window
                                  * pass), transfer source (PNG) and destination (label)         */
    VkFramebuffer target_framebuffer;
    VkDescriptorSet target_set;
    struct {                     /* the target's last use in the frame being recorded           */
        VkImageLayout layout;
        VkPipelineStageFlags stage;
        VkAccessFlags access;
    } target_use;
    slot slots[SLOTS];
    app_buffer readback;         /* the last frame's pixels, for --png                          */
    double tick_ms;              /* milliseconds per timestamp tick; 0 = no timestamps          */
    uint64_t tick_mask;
    result shown;
    struct {                     /* the label of the last frame recorded, as drawn              */
        int x, y, w, h, scale;
        char title[128], detail[128];
    } drawn;
} demo;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* ---- vkvit on the application's device --------------------------------------------------------------- */

static void on_vkvit_message(void *user, vkvit_message_severity severity, const char *message)
{
    (void)user;
    if (severity != VKVIT_MESSAGE_INFO)
        fprintf(stderr, "embed_demo: vkvit: %s\n", message);
}

/* vkvit on our device and queue, the model, and a plan (batch 1) per frame in flight. */
static int start_vkvit(demo *d)
{
    vkvit_adopt_info adopt = app_adopt_info(&d->vk);
    vkvit_context_options co = {.on_message = on_vkvit_message};
    uint32_t paths = 0;
    vkvit_status s;
    if ((s = vkvit_context_adopt(&adopt, &co, &d->ctx)) || (s = vkvit_context_paths(d->ctx, &paths)) ||
        (s = vkvit_model_load(d->ctx, d->opt.model, NULL, &d->model)) || (s = vkvit_model_get_info(d->model, &d->info)))
        goto fail;
    if (d->info.num_classes == 0) {
        fprintf(stderr, "embed_demo: %s is a backbone: no classes to show\n", d->opt.model);
        return -1;
    }
    for (int i = 0; i < SLOTS; i++)
        if ((s = vkvit_plan_create(d->model, NULL, &d->slots[i].plan)))
            goto fail;
    printf("device %s | fp16 path %s | model %s (%s, %ux%u, %u classes, %s)\n", d->vk.name,
           paths & VKVIT_PATH_FP16 ? "on" : "off", d->opt.model, d->info.family, d->info.image_height,
           d->info.image_width,
           d->info.num_classes, vkvit_precision_string(d->info.precision));
    return 0;
fail:
    fprintf(stderr, "embed_demo: %s: %s: %s\n", d->opt.model, vkvit_status_string(s), vkvit_last_error());
    return -1;
}

/* ---- the scene's resources: photos, the target, the frames in flight --------------------------------- */

/* 8-bit RGBA (every use here is mandatory for it), sRGB when the window's images are, so that shaders
 * read and write linear light; headless: sRGB. vkvit reads either. */
static VkFormat scene_format(const demo *d)
{
    bool srgb = !d->window || d->sc.format == VK_FORMAT_B8G8R8A8_SRGB || d->sc.format == VK_FORMAT_R8G8B8A8_SRGB;
    return srgb ? VK_FORMAT_R8G8B8A8_SRGB : VK_FORMAT_R8G8B8A8_UNORM;
}

static bool is_image_name(const char *name)
{
    static const char *exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".ppm", ".pgm"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof *exts; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return true;
    return false;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* --images: a file, or a folder's images in name order (at most MAX_PHOTOS). */
static int list_photos(const char *path, char **names, uint32_t *count)
{
    struct stat st;
    *count = 0;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) /* a file; one that is not there fails to load */
        return (names[0] = strdup(path)) ? (*count = 1, 0) : -1;
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "embed_demo: cannot read folder %s\n", path);
        return -1;
    }
    for (struct dirent *e; (e = readdir(dir)) && *count < MAX_PHOTOS;) {
        char full[4096];
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (!(names[*count] = strdup(full)))
            break;
        (*count)++;
    }
    closedir(dir);
    qsort(names, *count, sizeof *names, compare_names);
    return 0;
}

/* Decodes each photo and uploads it into a texture the scene draws; unreadable files are skipped. */
static int load_photos(demo *d, VkFormat format)
{
    char *names[MAX_PHOTOS];
    uint32_t n = 0;
    int rc = list_photos(d->opt.images, names, &n);
    for (uint32_t i = 0; i < n; i++) {
        vkvit_image im = {0};
        if (rc != 0 || vkvit_image_load(names[i], &im) != VKVIT_OK) {
            if (rc == 0)
                fprintf(stderr, "embed_demo: skipping %s: %s\n", names[i], vkvit_last_error());
            free(names[i]);
            continue;
        }
        app_image *t = &d->photos[d->photo_count];
        d->photo_names[d->photo_count++] = names[i];
        rc = app_image_create(&d->vk, format, im.width, im.height,
                              VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT, t) ||
             app_image_upload(&d->vk, t, im.rgba, 4, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT) ||
             demo_quads_texture(&d->vk, &d->quads, t->view, &d->photo_sets[d->photo_count - 1]);
        vkvit_image_destroy(&im);
    }
    if (rc == 0 && d->photo_count == 0) {
        fprintf(stderr, "embed_demo: no images to show in %s\n", d->opt.images);
        rc = -1;
    }
    return rc;
}

/* Pixels per font unit of the label's title: 3 in a 480-line frame. */
static int label_scale(uint32_t height)
{
    int s = (int)height / 160;
    return s < 1 ? 1 : s > 4 ? 4 : s;
}

/* Where the queue family has timestamps: vkvit's GPU time per inference, for the label. */
static void find_timestamps(demo *d)
{
    VkPhysicalDeviceProperties props;
    VkQueueFamilyProperties families[16];
    uint32_t n = 0;
    vkGetPhysicalDeviceProperties(d->vk.phys, &props);
    vkGetPhysicalDeviceQueueFamilyProperties(d->vk.phys, &n, NULL);
    n = n < 16 ? n : 16;
    vkGetPhysicalDeviceQueueFamilyProperties(d->vk.phys, &n, families);
    uint32_t bits = d->vk.family < n ? families[d->vk.family].timestampValidBits : 0;
    if (bits > 0 && props.limits.timestampPeriod > 0) {
        d->tick_ms = props.limits.timestampPeriod * 1e-6;
        d->tick_mask = bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
    }
}

/* The target image (with its framebuffer and descriptor set) and, per frame in flight, a command
 * buffer, a fence, a semaphore, the buffer vkvit writes the probabilities into, the label's pixels and
 * a timestamp pool. */
static int create_frames(demo *d, VkFormat format)
{
    app_vulkan *vk = &d->vk;
    const VkImageUsageFlags target_usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT |
                                           VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    VkExtent2D extent = {d->opt.width, d->opt.height};
    if (app_image_create(vk, format, d->opt.width, d->opt.height, target_usage, &d->target) ||
        demo_quad_framebuffer(vk, &d->scene_pass, d->target.view, extent, &d->target_framebuffer) ||
        demo_quads_texture(vk, &d->quads, d->target.view, &d->target_set))
        return -1;
    find_timestamps(d);
    demo_label tallest = {.title = "M", .detail = "M", .scale = label_scale(d->opt.height)};
    uint32_t label_w, label_h;
    demo_label_measure(&tallest, d->opt.width, &label_w, &label_h);
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &d->slots[i];
        s->classified = -1;
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = vk->pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, .flags = VK_FENCE_CREATE_SIGNALED_BIT};
        VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        VkQueryPoolCreateInfo qci = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
        APP_TRY(vkAllocateCommandBuffers(vk->device, &ai, &s->cb));
        APP_TRY(vkCreateFence(vk->device, &fci, NULL, &s->done));
        APP_TRY(vkCreateSemaphore(vk->device, &sci, NULL, &s->acquired));
        if (d->tick_ms > 0)
            APP_TRY(vkCreateQueryPool(vk->device, &qci, NULL, &s->timer));
        if (app_buffer_create(vk, (VkDeviceSize)d->info.num_classes * sizeof(float), VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              &s->probabilities) ||
            app_buffer_create(vk, (VkDeviceSize)d->opt.width * label_h * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                              &s->label))
            goto fail;
    }
    if (d->opt.png && app_buffer_create(vk, (VkDeviceSize)d->opt.width * d->opt.height * 4,
                                        VK_BUFFER_USAGE_TRANSFER_DST_BIT, &d->readback))
        goto fail;
    return 0;
fail:
    return -1; /* stop() releases what exists */
}

/* ---- one frame ---------------------------------------------------------------------------------------- */

/* The photo and the rectangle of it (u0, v0, u1, v1) that frame `frame` shows: the largest one of the
 * frame's aspect ratio (the photo cropped to fill the frame), zoomed in by up to 30% and back out
 * over the photo's --hold frames while drifting across what the zoom leaves. */
static uint32_t scene_view(const demo *d, long frame, float uv[4])
{
    uint32_t photo = (uint32_t)(frame / d->opt.hold % d->photo_count);
    const app_image *p = &d->photos[photo];
    double aspect = ((double)d->target.width / d->target.height) / ((double)p->width / p->height);
    double w = aspect < 1 ? aspect : 1, h = aspect < 1 ? 1 : 1 / aspect; /* in texture coordinates */
    double phase = 2 * M_PI * (double)(frame % d->opt.hold) / (double)d->opt.hold, zoom = 1.15 - 0.15 * cos(phase);
    w /= zoom, h /= zoom;
    double u = (1 - w) * (0.5 + 0.45 * sin(phase)), v = (1 - h) * (0.5 - 0.45 * sin(phase));
    uv[0] = (float)u, uv[1] = (float)v, uv[2] = (float)(u + w), uv[3] = (float)(v + h);
    return photo;
}

/* The next use of the target: one barrier from its last use. */
static void use_target(demo *d, VkCommandBuffer cb, VkImageLayout layout, VkPipelineStageFlags stage,
                       VkAccessFlags access)
{
    const VkAccessFlags writes = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    app_image_barrier(cb, d->target.image, d->target_use.layout, layout, d->target_use.stage,
                      d->target_use.access & writes, stage, access);
    d->target_use.layout = layout, d->target_use.stage = stage, d->target_use.access = access;
}

/* Records vkvit's preprocessing + forward pass on the target, after the barrier vkvit.h asks for. */
static int record_classify(demo *d, slot *s, long frame, uint32_t photo)
{
    /* Our colour-attachment writes, visible to vkvit's compute-shader reads, in the layout we tell it. */
    use_target(d, s->cb, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
               VK_ACCESS_SHADER_READ_BIT);
    if (s->timer) {
        vkCmdResetQueryPool(s->cb, s->timer, 0, 2);
        vkCmdWriteTimestamp(s->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->timer, 0);
    }
    vkvit_gpu_image input = {
        .image = d->target.image,
        .view = d->target.view,
        .format = d->target.format,
        .layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
        .width = d->target.width,
        .height = d->target.height,
    };
    vkvit_record_outputs outputs = {.probabilities = {s->probabilities.buf, 0}};
    vkvit_status st = vkvit_record(s->plan, s->cb, &input, 1, &outputs);
    if (st != VKVIT_OK) {
        fprintf(stderr, "embed_demo: vkvit_record: %s: %s\n", vkvit_status_string(st), vkvit_last_error());
        return -1;
    }
    if (s->timer)
        vkCmdWriteTimestamp(s->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->timer, 1);
    /* vkvit's last command makes its writes to our host-visible buffer visible to the host: nothing
     * to add for reading it after the fence. */
    s->classified = frame, s->photo = photo;
    return 0;
}

/* The label's text: the class up to its first comma ("tabby, tabby cat" -> "tabby"), its probability. */
static void label_lines(const demo *d, char *title, size_t title_size, char *detail, size_t detail_size)
{
    const result *r = &d->shown;
    if (r->frame < 0) {
        snprintf(title, title_size, "looking...");
        snprintf(detail, detail_size, "every %ld frames", d->opt.every);
        return;
    }
    const char *label = r->label ? r->label : "?";
    snprintf(title, title_size, "%.*s  %.1f%%", (int)strcspn(label, ","), label, 100.0 * r->probability);
    if (r->gpu_ms >= 0)
        snprintf(detail, detail_size, "seen in frame %ld, %.1f ms on the GPU", r->frame, r->gpu_ms);
    else
        snprintf(detail, detail_size, "seen in frame %ld", r->frame);
}

/* Draws the label into the slot's buffer and records its copy into the target's bottom-left corner. */
static void record_label(demo *d, slot *s)
{
    char *title = d->drawn.title, *detail = d->drawn.detail;
    label_lines(d, title, sizeof d->drawn.title, detail, sizeof d->drawn.detail);
    demo_label l = {.title = title, .detail = detail, .scale = label_scale(d->target.height)};
    uint32_t w, h;
    demo_label_measure(&l, d->target.width - 2 * LABEL_MARGIN, &w, &h);
    demo_label_draw(&l, s->label.map, w, h);
    int32_t x = LABEL_MARGIN, y = (int32_t)d->target.height - LABEL_MARGIN - (int32_t)h;
    VkBufferImageCopy region = {
        .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
        .imageOffset = {x, y > 0 ? y : 0, 0},
        .imageExtent = {w, h, 1},
    };
    use_target(d, s->cb, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
               VK_ACCESS_TRANSFER_WRITE_BIT);
    vkCmdCopyBufferToImage(s->cb, s->label.buf, d->target.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    d->drawn.x = region.imageOffset.x, d->drawn.y = region.imageOffset.y;
    d->drawn.w = (int)w, d->drawn.h = (int)h, d->drawn.scale = l.scale;
}

/* The target's pixels into the readback buffer, for the host once the fence has signalled. */
static void record_readback(demo *d, slot *s)
{
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {d->target.width, d->target.height, 1}};
    use_target(d, s->cb, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
               VK_ACCESS_TRANSFER_READ_BIT);
    vkCmdCopyImageToBuffer(s->cb, d->target.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, d->readback.buf, 1, &region);
    VkMemoryBarrier to_host = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                               .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(s->cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0,
                         NULL);
}

/* The target, letterboxed, into swapchain image `index`, left ready to present. */
static void record_window(demo *d, slot *s, uint32_t index)
{
    VkExtent2D e = d->sc.extent;
    double fit = fmin((double)e.width / d->target.width, (double)e.height / d->target.height);
    uint32_t w = (uint32_t)(d->target.width * fit), h = (uint32_t)(d->target.height * fit);
    VkRect2D where = {{(int32_t)(e.width - w) / 2, (int32_t)(e.height - h) / 2}, {w, h}};
    const float whole[4] = {0, 0, 1, 1};
    use_target(d, s->cb, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
               VK_ACCESS_SHADER_READ_BIT);
    demo_quad_draw(s->cb, &d->quads, &d->window_pass, d->window_framebuffers[index], e, d->target_set, whole, where);
}

/* The frame's commands: scene, [vkvit], label, [PNG readback], [window]. */
static int record_frame(demo *d, slot *s, long frame, const uint32_t *window_image, bool readback)
{
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    APP_TRY(vkResetCommandBuffer(s->cb, 0));
    APP_TRY(vkBeginCommandBuffer(s->cb, &bi));
    float uv[4];
    uint32_t photo = scene_view(d, frame, uv);
    VkRect2D all = {{0, 0}, {d->target.width, d->target.height}};
    demo_quad_draw(s->cb, &d->quads, &d->scene_pass, d->target_framebuffer, all.extent, d->photo_sets[photo], uv, all);
    d->target_use.layout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL; /* the scene pass's final layout */
    d->target_use.stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    d->target_use.access = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    if (frame % d->opt.every == 0 && record_classify(d, s, frame, photo))
        goto fail;
    record_label(d, s); /* after vkvit has read the frame: the model never sees the label */
    if (readback)
        record_readback(d, s);
    if (window_image)
        record_window(d, s, *window_image);
    APP_TRY(vkEndCommandBuffer(s->cb));
    return 0;
fail:
    return -1;
}

/* After the slot's fence: the probabilities its frame's vkvit commands wrote into our buffer. */
static void take_result(demo *d, slot *s)
{
    const float *p = s->probabilities.map;
    uint32_t best = 0;
    for (uint32_t i = 1; i < d->info.num_classes; i++)
        best = p[i] > p[best] ? i : best;
    double gpu_ms = -1;
    uint64_t t[2];
    if (s->timer && vkGetQueryPoolResults(d->vk.device, s->timer, 0, 2, sizeof t, t, sizeof *t,
                                          VK_QUERY_RESULT_64_BIT) == VK_SUCCESS)
        gpu_ms = (double)((t[1] - t[0]) & d->tick_mask) * d->tick_ms;
    d->shown = (result){.frame = s->classified, .label = vkvit_model_label(d->model, best), .probability = p[best],
                        .gpu_ms = gpu_ms};
    printf("frame %ld %s: %s (%.2f%%)", s->classified, base_name(d->photo_names[s->photo]),
           d->shown.label ? d->shown.label : "?", 100.0 * p[best]);
    if (gpu_ms >= 0)
        printf(", %.1f ms GPU", gpu_ms);
    printf("\n");
    s->classified = -1;
}

/* ---- the window's swapchain --------------------------------------------------------------------------- */

static void destroy_window_framebuffers(demo *d)
{
    for (uint32_t i = 0; i < APP_MAX_SWAPCHAIN_IMAGES; i++) {
        if (d->window_framebuffers[i])
            vkDestroyFramebuffer(d->vk.device, d->window_framebuffers[i], NULL);
        if (d->window_views[i])
            vkDestroyImageView(d->vk.device, d->window_views[i], NULL);
        d->window_framebuffers[i] = VK_NULL_HANDLE, d->window_views[i] = VK_NULL_HANDLE;
    }
}

/* (Re)creates the swapchain for a width x height window, with a view and a window-pass framebuffer
 * per image: 0 ready, 1 the window has no area (nothing created), -1 error. */
static int build_swapchain(demo *d, uint32_t width, uint32_t height)
{
    int r = app_swapchain_build(&d->vk, &d->sc, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT, 0, width, height);
    if (r != 0)
        return r;
    destroy_window_framebuffers(d);
    for (uint32_t i = 0; i < d->sc.count; i++)
        if (app_image_view(&d->vk, d->sc.images[i], d->sc.format, &d->window_views[i]) ||
            demo_quad_framebuffer(&d->vk, &d->window_pass, d->window_views[i], d->sc.extent,
                                  &d->window_framebuffers[i]))
            return -1;
    return 0;
}

/* ---- the frame loop ----------------------------------------------------------------------------------- */

/* The next swapchain image into *index: 0 acquired; 1 the swapchain was rebuilt or the window has no
 * area (try again); -1 error. */
static int acquire(demo *d, slot *s, uint32_t *index)
{
    if (!d->sc.stale) {
        VkResult r = vkAcquireNextImageKHR(d->vk.device, d->sc.swapchain, UINT64_MAX, s->acquired, VK_NULL_HANDLE, index);
        if (r == VK_SUCCESS || r == VK_SUBOPTIMAL_KHR) /* suboptimal: acquired all the same; rebuilt after present */
            return 0;
        if (r != VK_ERROR_OUT_OF_DATE_KHR)
            return app_vk_check(r < 0 ? r : VK_ERROR_UNKNOWN, "vkAcquireNextImageKHR");
    }
    int w, h, r = 1;
    glfwGetFramebufferSize(d->window, &w, &h);
    if (w > 0 && h > 0)
        r = build_swapchain(d, (uint32_t)w, (uint32_t)h);
    d->sc.stale = r != 0;
    if (r > 0)
        glfwWaitEvents(); /* minimised */
    return r < 0 ? -1 : 1;
}

/* Submits the slot's frame with its fence, and presents it when `index` names a swapchain image. */
static int submit(demo *d, slot *s, const uint32_t *index)
{
    VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT; /* the window pass's */
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cb};
    if (index) {
        si.waitSemaphoreCount = 1, si.pWaitSemaphores = &s->acquired, si.pWaitDstStageMask = &wait_stage;
        si.signalSemaphoreCount = 1, si.pSignalSemaphores = &d->sc.presentable[*index];
    }
    APP_TRY(vkResetFences(d->vk.device, 1, &s->done));
    APP_TRY(vkQueueSubmit(d->vk.queue, 1, &si, s->done));
    if (!index)
        return 0;
    VkPresentInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
                           .waitSemaphoreCount = 1,
                           .pWaitSemaphores = &d->sc.presentable[*index],
                           .swapchainCount = 1,
                           .pSwapchains = &d->sc.swapchain,
                           .pImageIndices = index};
    VkResult r = vkQueuePresentKHR(d->vk.queue, &pi);
    if (r == VK_SUBOPTIMAL_KHR || r == VK_ERROR_OUT_OF_DATE_KHR)
        d->sc.stale = 1;
    else
        APP_TRY(r);
    return 0;
fail:
    return -1;
}

/* Frames until --frames (or the window closes): wait for the slot's fence, show what its vkvit run
 * found, record and submit the next frame on it. Then the last frame as PNG. */
static int run(demo *d)
{
    long frame = 0;
    for (; d->opt.frames == 0 || frame < d->opt.frames; frame++) {
        slot *s = &d->slots[frame % SLOTS];
        uint32_t index = 0;
        if (d->window) {
            glfwPollEvents();
            if (glfwWindowShouldClose(d->window))
                break;
        }
        APP_TRY(vkWaitForFences(d->vk.device, 1, &s->done, VK_TRUE, UINT64_MAX));
        if (s->classified >= 0)
            take_result(d, s);
        int r = d->window ? acquire(d, s, &index) : 0;
        if (r < 0)
            goto fail;
        if (r > 0) {
            frame--; /* the same frame again, on the rebuilt swapchain */
            continue;
        }
        bool last = frame + 1 == d->opt.frames;
        if (record_frame(d, s, frame, d->window ? &index : NULL, last && d->opt.png) ||
            submit(d, s, d->window ? &index : NULL))
            goto fail;
    }
    APP_TRY(vkDeviceWaitIdle(d->vk.device));
    for (long f = frame; f < frame + SLOTS; f++) /* the results still pending, oldest first */
        if (d->slots[f % SLOTS].classified >= 0)
            take_result(d, &d->slots[f % SLOTS]);
    /* What the last frame shows, for tests/test_embed_demo.sh to check the PNG against. */
    printf("%ld frames\nlabel at %d %d %d %d scale %d\nlabel title: %s\nlabel detail: %s\n", frame, d->drawn.x,
           d->drawn.y, d->drawn.w, d->drawn.h, d->drawn.scale, d->drawn.title, d->drawn.detail);
    if (!d->opt.png)
        return 0;
    if (frame != d->opt.frames) {
        fprintf(stderr, "embed_demo: --png: the window closed after %ld of %ld frames\n", frame, d->opt.frames);
        return -1;
    }
    if (!stbi_write_png(d->opt.png, (int)d->target.width, (int)d->target.height, 4, d->readback.map,
                        (int)d->target.width * 4)) {
        fprintf(stderr, "embed_demo: cannot write %s\n", d->opt.png);
        return -1;
    }
    printf("wrote %s (%ux%u)\n", d->opt.png, d->target.width, d->target.height);
    return 0;
fail:
    return -1;
}

/* ---- setting up and tearing down ---------------------------------------------------------------------- */

/* Window (unless headless), instance, device, vkvit, renderer, photos, frames. */
static int start(demo *d)
{
    const char **exts = NULL;
    uint32_t n_exts = 0;
    if (!d->opt.headless) {
        if (!glfwInit()) {
            fprintf(stderr, "embed_demo: cannot initialise GLFW (no display? try --headless)\n");
            return -1;
        }
        glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
        if (!glfwVulkanSupported() ||
            !(d->window = glfwCreateWindow((int)d->opt.width, (int)d->opt.height, "vkvit embed_demo", NULL, NULL))) {
            fprintf(stderr, "embed_demo: cannot open a Vulkan window\n");
            return -1;
        }
        exts = glfwGetRequiredInstanceExtensions(&n_exts);
    }
    app_vulkan_options vo = {
        .name = "embed_demo", .instance_extensions = exts, .instance_extension_count = n_exts,
        .validation = d->opt.validation};
    /* sRGB first: the target is then sRGB too, so the shader reads and writes linear light. */
    static const VkFormat window_formats[] = {VK_FORMAT_B8G8R8A8_SRGB, VK_FORMAT_R8G8B8A8_SRGB,
                                              VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM};
    if (app_instance_create(&d->vk, &vo))
        return -1;
    if (d->window && app_vk_check(glfwCreateWindowSurface(d->vk.instance, d->window, NULL, &d->vk.surface),
                                   "glfwCreateWindowSurface"))
        return -1;
    /* Graphics for the scene, compute for vkvit, on one queue. */
    if (app_device_pick(&d->vk, d->opt.device, VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT) ||
        app_device_create_for_vkvit(&d->vk) || start_vkvit(d) ||
        (d->window && app_swapchain_format(&d->vk, window_formats, 4, &d->sc)))
        return -1;
    VkFormat format = scene_format(d);
    if (demo_quads_create(&d->vk, MAX_PHOTOS + 1, &d->quads) ||
        demo_quad_pass_create(&d->vk, &d->quads, format, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, &d->scene_pass) ||
        (d->window && demo_quad_pass_create(&d->vk, &d->quads, d->sc.format, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                                            &d->window_pass)))
        return -1;
    if (d->window) {
        int w, h, r = 1;
        glfwGetFramebufferSize(d->window, &w, &h);
        if (w > 0 && h > 0 &&
            (r = build_swapchain(d, (uint32_t)w, (uint32_t)h)) < 0)
            return -1;
        d->sc.stale = r > 0;
    }
    return load_photos(d, format) || create_frames(d, format) ? -1 : 0;
}

static void stop(demo *d)
{
    app_vulkan *vk = &d->vk;
    if (vk->device)
        vkDeviceWaitIdle(vk->device);
    for (int i = 0; i < SLOTS; i++)
        vkvit_plan_destroy(d->slots[i].plan);
    vkvit_model_destroy(d->model);
    vkvit_context_destroy(d->ctx); /* leaves our device alone */
    for (int i = 0; i < SLOTS && vk->device; i++) {
        slot *s = &d->slots[i];
        app_buffer_destroy(vk, &s->probabilities);
        app_buffer_destroy(vk, &s->label);
        if (s->timer)
            vkDestroyQueryPool(vk->device, s->timer, NULL);
        if (s->acquired)
            vkDestroySemaphore(vk->device, s->acquired, NULL);
        if (s->done)
            vkDestroyFence(vk->device, s->done, NULL);
    }
    if (vk->device) {
        app_buffer_destroy(vk, &d->readback);
        if (d->target_framebuffer)
            vkDestroyFramebuffer(vk->device, d->target_framebuffer, NULL);
        app_image_destroy(vk, &d->target);
        for (uint32_t i = 0; i < d->photo_count; i++)
            app_image_destroy(vk, &d->photos[i]);
        destroy_window_framebuffers(d);
        app_swapchain_destroy(vk, &d->sc);
        demo_quad_pass_destroy(vk, &d->window_pass);
        demo_quad_pass_destroy(vk, &d->scene_pass);
        demo_quads_destroy(vk, &d->quads); /* with the descriptor sets */
    }
    for (uint32_t i = 0; i < d->photo_count; i++)
        free(d->photo_names[i]);
    app_vulkan_destroy(vk);
    if (d->window)
        glfwDestroyWindow(d->window);
    if (!d->opt.headless)
        glfwTerminate();
}

/* ---- command line ------------------------------------------------------------------------------------- */

#define SHARED_MODEL VKVIT_SOURCE_ROOT "/../shared/models/deit-tiny-imagenet"
#define SHARED_IMAGES VKVIT_SOURCE_ROOT "/../shared/images"
#define BUNDLED_MODEL VKVIT_SOURCE_ROOT "/models/fashion-vit"
#define BUNDLED_IMAGES VKVIT_SOURCE_ROOT "/examples/images"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: embed_demo [options]\n"
            "  --model DIR        checkpoint (default: ../shared's DeiT-Tiny if present, else the bundled\n"
            "                     models/fashion-vit)\n"
            "  --images DIR|FILE  what the scene shows, a photo every --hold frames (default: ../shared/images,\n"
            "                     or examples/images with the bundled model)\n"
            "  --every N          classify every N-th frame (default 30)\n"
            "  --hold N           frames per photo (default 240)\n"
            "  --size WxH         the frame's size (default 640x480)\n"
            "  --device I|NAME    Vulkan device by index or name (default: $VKVIT_DEVICE, else the best)\n"
            "  --validation       the Khronos validation layer on the demo's instance; exit 1 on any message\n"
            "                     (also VKVIT_VALIDATION=1)\n"
            "  --headless         no window: render offscreen\n"
            "  --frames N         stop after N frames (default: until the window closes; headless 60)\n"
            "  --png FILE         write the last frame as PNG (with --headless or --frames)\n");
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int parse_count(const char *opt, const char *val, long *out)
{
    char *end = NULL;
    long v = strtol(val, &end, 10);
    if (end == val || *end || v < 1) {
        fprintf(stderr, "embed_demo: %s %s: expected a positive count\n", opt, val);
        return -1;
    }
    *out = v;
    return 0;
}

/* 0, 1 for --help, -1 (printed) for a bad command line. */
static int parse_options(int argc, char **argv, options *o)
{
    const char *env = getenv("VKVIT_VALIDATION");
    *o = (options){.width = 640, .height = 480, .every = 30, .hold = 240, .validation = env && strcmp(env, "1") == 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--headless") == 0 || strcmp(a, "--validation") == 0) {
            *(a[2] == 'h' ? &o->headless : &o->validation) = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 == argc) {
            fprintf(stderr, "embed_demo: %s: %s\n", a, strncmp(a, "--", 2) ? "unexpected argument" : "needs a value");
            return -1;
        }
        v = argv[++i];
        if (strcmp(a, "--model") == 0)
            o->model = v;
        else if (strcmp(a, "--images") == 0)
            o->images = v;
        else if (strcmp(a, "--device") == 0)
            o->device = v;
        else if (strcmp(a, "--png") == 0)
            o->png = v;
        else if (strcmp(a, "--every") == 0 || strcmp(a, "--hold") == 0 || strcmp(a, "--frames") == 0) {
            if (parse_count(a, v, a[2] == 'e' ? &o->every : a[2] == 'h' ? &o->hold : &o->frames))
                return -1;
        } else if (strcmp(a, "--size") == 0) {
            if (sscanf(v, "%ux%u", &o->width, &o->height) != 2 || o->width < 128 || o->height < 96 ||
                o->width > 8192 || o->height > 8192) {
                fprintf(stderr, "embed_demo: --size %s: expected WxH from 128x96 to 8192x8192\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "embed_demo: unknown option %s\n", a);
            return -1;
        }
    }
    if (o->headless && !o->frames)
        o->frames = 60;
    if (o->png && !o->frames) {
        fprintf(stderr, "embed_demo: --png needs --frames (or --headless)\n");
        return -1;
    }
    bool shared = exists(SHARED_MODEL) && exists(SHARED_IMAGES);
    if (!o->model)
        o->model = shared ? SHARED_MODEL : BUNDLED_MODEL;
    if (!o->images)
        o->images = strcmp(o->model, BUNDLED_MODEL) != 0 && exists(SHARED_IMAGES) ? SHARED_IMAGES : BUNDLED_IMAGES;
    return 0;
}

int main(int argc, char **argv)
{
    demo d = {.shown = {.frame = -1}};
    setvbuf(stdout, NULL, _IOLBF, 0); /* results as they come, also into a pipe */
    int parsed = parse_options(argc, argv, &d.opt);
    if (parsed > 0)
        usage(stdout);
    else if (parsed < 0)
        fprintf(stderr, "(embed_demo --help for usage)\n");
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    int rc = start(&d) || run(&d) ? 1 : 0;
    stop(&d);
    unsigned messages = app_validation_messages(&d.vk);
    if (messages) {
        fprintf(stderr, "embed_demo: the validation layer reported %u message(s)\n", messages);
        rc = 1;
    }
    return rc;
}
