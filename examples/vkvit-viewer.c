/*
 * vkvit-viewer: shows a photo, the model's top-5 labels, where its class token looked, and the first three
 * principal components of its patch tokens as RGB (what the features tell apart; docs/embeddings.md).
 *
 *   vkvit-viewer [--model DIR] [--layer N] [options] IMAGE|DIR...
 *   vkvit-viewer --headless OUT.png [--model DIR] [options] IMAGE
 *
 * One VkDevice, created here, presents to the window and runs vkvit (vkvit_context_adopt). Each
 * frame is composed on the CPU (viewer_frame.c) and copied into a swapchain image
 * (viewer_present.c). Keys: Left/Right or P/N previous/next image, K/L previous/next layer,
 * O overlay on/off, F the features picture on/off, Q or Escape quit; files or folders dropped on the
 * window are added and opened.
 */
#include <volk.h> /* before vkvit.h and glfw3.h: Vulkan through volk, VK_NO_PROTOTYPES */

#include "vkvit_vulkan.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "app_vulkan.h"
#include "viewer_frame.h"
#include "viewer_pca.h"
#include "viewer_png.h"
#include "viewer_present.h"

#ifndef VKVIT_SOURCE_ROOT
#define VKVIT_SOURCE_ROOT "."
#endif
#define DEFAULT_MODEL VKVIT_SOURCE_ROOT "/models/fashion-vit"

typedef struct options {
    const char *model, *device, *headless, *screenshot;
    uint32_t width, height;
    int layer;                     /* 1-based; 0 = the last */
    int overlay, validate, features;
    long frames;                   /* windowed: quit after this many presented frames; 0 = run until closed */
} options;

typedef struct viewer {
    options opt;
    char **files;                  /* the images to step through, in order */
    uint32_t file_count, current;
    bool need_load, dirty;

    app_vulkan vk;                 /* the viewer's instance and device, which vkvit adopts */
    vkvit_context *ctx;
    vkvit_model *model;
    vkvit_plan *plan;
    vkvit_model_info info;
    char model_name[128];

    /* The current image and what the model made of it. */
    vkvit_image image;
    vkvit_prediction top[VIEWER_TOP_K];
    uint32_t top_count;
    float *attention;              /* [layers][tokens] */
    float *heat;                   /* [grid_height][grid_width] of the shown layer, in [0, 1] */
    bool have_attention;
    float *tokens;                 /* [tokens][hidden] after the final LayerNorm */
    uint8_t *pca;                  /* [grid][grid][3]: the patch tokens' first three principal components */
    double explained[VIEWER_PCA_K];
    bool have_pca;
    uint32_t layer;                /* 0-based */
    double run_ms;
    char error[512];
} viewer;

/* ---- the list of images ------------------------------------------------------------------------------- */

static bool is_image_name(const char *name)
{
    static const char *exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pnm", ".ppm", ".pgm", ".psd"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof *exts; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return true;
    return false;
}

static int add_file(viewer *v, const char *path)
{
    char **files = realloc(v->files, (v->file_count + 1) * sizeof *files);
    if (!files || !(files[v->file_count] = strdup(path))) {
        if (files)
            v->files = files;
        fprintf(stderr, "vkvit-viewer: out of memory\n");
        return -1;
    }
    v->files = files;
    v->file_count++;
    return 0;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds a file, or a folder's images in name order. A path that does not exist is added too: opening
 * it shows why. */
static int add_path(viewer *v, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return add_file(v, path);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "vkvit-viewer: cannot read folder %s: %s\n", path, strerror(errno));
        return 0;
    }
    uint32_t first = v->file_count;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(dir));) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        rc = add_file(v, full);
    }
    closedir(dir);
    if (v->file_count > first)
        qsort(v->files + first, v->file_count - first, sizeof *v->files, compare_names);
    else
        fprintf(stderr, "vkvit-viewer: no images in folder %s\n", path);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* ---- inference ---------------------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* The shown layer's class-token attention over the patches, min-max normalised. */
static void update_heat(viewer *v)
{
    const vkvit_model_info *mi = &v->info;
    /* the patches are the last grid cells' tokens, after the class, distillation and register tokens */
    uint32_t cells = mi->grid_height * mi->grid_width, first = mi->tokens - cells;
    const float *a = v->attention + (size_t)v->layer * mi->tokens + first;
    float lo = a[0], hi = a[0];
    for (uint32_t i = 1; i < cells; i++)
        lo = a[i] < lo ? a[i] : lo, hi = a[i] > hi ? a[i] : hi;
    for (uint32_t i = 0; i < cells; i++)
        v->heat[i] = hi > lo ? (a[i] - lo) / (hi - lo) : 0;
    v->dirty = true;
}

/* PCA of the patch tokens (those after the class and any distillation token) on the host, as RGB per patch. */
static void update_pca(viewer *v)
{
    const vkvit_model_info *mi = &v->info;
    const uint32_t n = mi->grid_height * mi->grid_width;
    double *scores = malloc((size_t)n * VIEWER_PCA_K * sizeof *scores);
    v->have_pca = scores && vkvit_get_patch_tokens(v->plan, v->tokens, (size_t)mi->tokens * mi->hidden) == VKVIT_OK &&
                  viewer_pca(v->tokens + (size_t)(mi->tokens - n) * mi->hidden, n, mi->hidden, NULL, scores,
                             v->explained) == 0;
    if (v->have_pca)
        viewer_pca_rgb(scores, n, v->pca);
    free(scores);
}

/* Decodes the current file and runs the model on it; a failure is kept in v->error and shown. */
static void load_current(viewer *v)
{
    const char *path = v->files[v->current];
    vkvit_image_destroy(&v->image);
    v->top_count = 0;
    v->have_attention = false;
    v->have_pca = false;
    v->error[0] = 0;
    v->need_load = false;
    v->dirty = true;
    vkvit_status s = vkvit_image_load(path, &v->image);
    if (s == VKVIT_OK) {
        double t0 = now_ms();
        s = vkvit_run_images(v->plan, &v->image, 1, NULL);
        v->run_ms = now_ms() - t0;
    }
    uint32_t k = v->info.num_classes < VIEWER_TOP_K ? v->info.num_classes : VIEWER_TOP_K;
    if (s == VKVIT_OK && k > 0)
        s = vkvit_top_k(v->plan, 0, k, v->top);
    if (s == VKVIT_OK)
        s = vkvit_get_attention(v->plan, v->attention, (size_t)v->info.layers * v->info.tokens);
    if (s != VKVIT_OK) {
        snprintf(v->error, sizeof v->error, "%s: %s", base_name(path), vkvit_last_error());
        fprintf(stderr, "vkvit-viewer: %s: %s: %s\n", path, vkvit_status_string(s), vkvit_last_error());
        return;
    }
    v->top_count = k;
    v->have_attention = true;
    update_heat(v);
    update_pca(v);
}

static void on_vkvit_message(void *user, vkvit_message_severity severity, const char *message)
{
    (void)user;
    if (severity != VKVIT_MESSAGE_INFO)
        fprintf(stderr, "vkvit-viewer: vkvit: %s\n", message);
}

/* The viewer's instance and device (base/app_vulkan.c), with the window's surface unless headless:
 * one queue family for graphics, compute and presentation, the device made with what vkvit asks for. */
static int start_vulkan(viewer *v, GLFWwindow *window)
{
    uint32_t n_exts = 0;
    const char **exts = window ? glfwGetRequiredInstanceExtensions(&n_exts) : NULL;
    app_vulkan_options vo = {.name = "vkvit-viewer", .instance_extensions = exts, .instance_extension_count = n_exts,
                             .validation = v->opt.validate};
    if (app_instance_create(&v->vk, &vo))
        return -1;
    if (window && app_vk_check(glfwCreateWindowSurface(v->vk.instance, window, NULL, &v->vk.surface),
                               "glfwCreateWindowSurface"))
        return -1;
    if (app_device_pick(&v->vk, v->opt.device, VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT) ||
        app_device_create_for_vkvit(&v->vk))
        return -1;
    return 0;
}

/* Builds vkvit on the viewer's device and loads the model and a plan that records attention maps. */
static int start_vkvit(viewer *v)
{
    vkvit_adopt_info adopt = app_adopt_info(&v->vk);
    vkvit_context_options co = {.on_message = on_vkvit_message};
    vkvit_plan_options po = {.batch = 1, .attention_maps = 1, .patch_tokens = 1};
    vkvit_status s;
    if ((s = vkvit_context_adopt(&adopt, &co, &v->ctx)) || (s = vkvit_model_load(v->ctx, v->opt.model, NULL, &v->model)) ||
        (s = vkvit_model_get_info(v->model, &v->info)) || (s = vkvit_plan_create(v->model, &po, &v->plan))) {
        fprintf(stderr, "vkvit-viewer: %s: %s: %s\n", v->opt.model, vkvit_status_string(s), vkvit_last_error());
        return -1;
    }
    v->attention = calloc((size_t)v->info.layers * v->info.tokens, sizeof *v->attention);
    v->heat = calloc((size_t)v->info.grid_height * v->info.grid_width, sizeof *v->heat);
    v->tokens = calloc((size_t)v->info.tokens * v->info.hidden, sizeof *v->tokens);
    v->pca = calloc((size_t)v->info.grid_height * v->info.grid_width * 3, 1);
    if (!v->attention || !v->heat || !v->tokens || !v->pca) {
        fprintf(stderr, "vkvit-viewer: out of memory\n");
        return -1;
    }
    if (v->opt.layer > (int)v->info.layers) {
        fprintf(stderr, "vkvit-viewer: --layer %d: the model has %u layers\n", v->opt.layer, v->info.layers);
        return -1;
    }
    v->layer = v->opt.layer > 0 ? (uint32_t)v->opt.layer - 1 : v->info.layers - 1;
    char trimmed[4096];
    snprintf(trimmed, sizeof trimmed, "%s", v->opt.model);
    for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
        trimmed[n - 1] = 0;
    snprintf(v->model_name, sizeof v->model_name, "%s", base_name(trimmed));
    return 0;
}

static void stop_vkvit(viewer *v)
{
    vkvit_image_destroy(&v->image);
    vkvit_plan_destroy(v->plan);
    vkvit_model_destroy(v->model);
    vkvit_context_destroy(v->ctx);
    v->plan = NULL, v->model = NULL, v->ctx = NULL;
    free(v->attention);
    free(v->heat);
    free(v->tokens);
    free(v->pca);
    v->attention = v->heat = v->tokens = NULL;
    v->pca = NULL;
}

/* ---- the frame ---------------------------------------------------------------------------------------- */

static void compose(viewer *v, uint8_t *rgba, uint32_t width, uint32_t height)
{
    char title[512] = "", subtitle[256] = "", footer[512];
    if (v->file_count)
        snprintf(title, sizeof title, "%s  (%u/%u)", base_name(v->files[v->current]), v->current + 1, v->file_count);
    if (v->have_attention)
        snprintf(subtitle, sizeof subtitle, "layer %u/%u   overlay %s   %.0f ms", v->layer + 1, v->info.layers,
                 v->opt.overlay ? "on" : "off", v->run_ms);
    snprintf(footer, sizeof footer, "%s on %s", v->model_name[0] ? v->model_name : "vkvit", v->vk.name);
    float rect[4] = {0, 0, 0, 0};
    if (v->image.rgba && vkvit_model_input_rect(v->model, v->image.width, v->image.height, rect) != VKVIT_OK)
        rect[2] = (float)v->image.width, rect[3] = (float)v->image.height; /* the whole image */
    viewer_scene scene = {
        .image = v->image.rgba ? &v->image : NULL,
        .view_x0 = rect[0], .view_y0 = rect[1], .view_x1 = rect[2], .view_y1 = rect[3],
        .heat = v->opt.overlay && v->have_attention ? v->heat : NULL,
        .pca = v->opt.features && v->have_pca ? v->pca : NULL,
        .grid = v->info.grid_height,
        .grid_w = v->info.grid_width,
        .top = v->top,
        .top_count = v->top_count,
        .title = title,
        .subtitle = subtitle,
        .error = v->error[0] ? v->error : NULL,
        .footer = footer,
        .help = "<- ->\timage\nK L\tlayer\nO\toverlay\nF\tfeatures\nQ\tquit\ndrop files to open them",
    };
    viewer_compose(&scene, rgba, width, height);
}

/* ---- headless ----------------------------------------------------------------------------------------- */

static int run_headless(viewer *v)
{
    uint32_t w = v->opt.width, h = v->opt.height;
    uint8_t *rgba = malloc((size_t)w * h * 4);
    int rc = 1;
    if (!rgba || start_vulkan(v, NULL) || start_vkvit(v))
        goto done;
    load_current(v);
    compose(v, rgba, w, h);
    if (viewer_write_png(v->opt.headless, rgba, w, h))
        goto done;
    viewer_layout l = viewer_layout_for(w, h, v->image.width, v->image.height);
    printf("wrote %s (%ux%u)\nlayout image %d %d %d %d labels %d %d %d %d\n", v->opt.headless, w, h, l.image_x,
           l.image_y, l.image_w, l.image_h, l.labels_x, l.labels_y, l.labels_w, l.labels_h);
    if (v->have_pca)
        printf("pca: the first three principal components of the %u patch tokens explain %.1f%%, %.1f%%, %.1f%% "
               "of their variance\n", v->info.grid_height * v->info.grid_width, 100 * v->explained[0], 100 * v->explained[1],
               100 * v->explained[2]);
    for (uint32_t i = 0; i < v->top_count; i++)
        printf("top %u %.4f %s\n", i + 1, (double)v->top[i].probability, v->top[i].label ? v->top[i].label : "?");
    rc = v->error[0] ? 1 : 0;
done:
    free(rgba);
    stop_vkvit(v);
    app_vulkan_destroy(&v->vk);
    return rc;
}

/* ---- windowed ----------------------------------------------------------------------------------------- */

static void on_key(GLFWwindow *window, int key, int scancode, int action, int mods)
{
    (void)scancode, (void)mods;
    viewer *v = glfwGetWindowUserPointer(window);
    if (action == GLFW_RELEASE)
        return;
    uint32_t n = v->file_count, layers = v->info.layers;
    switch (key) {
    case GLFW_KEY_RIGHT: case GLFW_KEY_N:
        v->current = (v->current + 1) % n, v->need_load = true;
        break;
    case GLFW_KEY_LEFT: case GLFW_KEY_P:
        v->current = (v->current + n - 1) % n, v->need_load = true;
        break;
    case GLFW_KEY_L: case GLFW_KEY_K:
        if (layers) {
            v->layer = (v->layer + (key == GLFW_KEY_L ? 1 : layers - 1)) % layers;
            if (v->have_attention)
                update_heat(v);
            v->dirty = true;
        }
        break;
    case GLFW_KEY_O:
        v->opt.overlay = !v->opt.overlay, v->dirty = true;
        break;
    case GLFW_KEY_F:
        v->opt.features = !v->opt.features, v->dirty = true;
        break;
    case GLFW_KEY_Q: case GLFW_KEY_ESCAPE:
        glfwSetWindowShouldClose(window, GLFW_TRUE);
        break;
    default: break;
    }
}

static void on_drop(GLFWwindow *window, int count, const char **paths)
{
    viewer *v = glfwGetWindowUserPointer(window);
    uint32_t first = v->file_count;
    for (int i = 0; i < count; i++)
        add_path(v, paths[i]);
    if (v->file_count > first)
        v->current = first, v->need_load = true;
}

static void on_refresh(GLFWwindow *window)
{
    viewer *v = glfwGetWindowUserPointer(window);
    v->dirty = true;
}

/* The CPU-side frame and the screenshot it may become, at the swapchain's size. */
typedef struct frame_pixels {
    uint8_t *canvas, *shot;
    uint32_t width, height;
} frame_pixels;

/* Makes the swapchain fit a fw x fh framebuffer: 0 ready, 1 not now (no area yet), -1 error. The
 * swapchain's extent is the surface's and need not equal GLFW's framebuffer size, so it is
 * rebuilt when that size changes (asked[] remembers it) or when the last present said so. */
static int fit_swapchain(viewer_presenter *p, int fw, int fh, uint32_t asked[2])
{
    if (p->sc.stale || (uint32_t)fw != asked[0] || (uint32_t)fh != asked[1]) {
        asked[0] = (uint32_t)fw, asked[1] = (uint32_t)fh;
        if (viewer_presenter_resize(p, asked[0], asked[1]))
            return -1;
    }
    if (!p->sc.swapchain || p->sc.stale) {
        p->sc.stale = 1;
        return 1;
    }
    return 0;
}

/* (Re)allocates the frame for the swapchain's extent; true if it changed (compose again). */
static int fit_pixels(frame_pixels *f, VkExtent2D extent, bool *changed)
{
    *changed = false;
    if (f->canvas && f->width == extent.width && f->height == extent.height)
        return 0;
    free(f->canvas), free(f->shot);
    f->width = extent.width, f->height = extent.height;
    f->canvas = malloc((size_t)f->width * f->height * 4), f->shot = malloc((size_t)f->width * f->height * 4);
    *changed = true;
    if (f->canvas && f->shot)
        return 0;
    fprintf(stderr, "vkvit-viewer: out of memory for a %ux%u frame\n", f->width, f->height);
    return -1;
}

/* Presents frames until the window closes or --frames are done; the last one is screenshotted. A
 * frame is composed only when something changed; between changes the loop sleeps in glfwWaitEvents
 * (with --frames it keeps presenting the same frame). */
static int frame_loop(viewer *v, GLFWwindow *window, viewer_presenter *p)
{
    frame_pixels f = {0};
    uint32_t asked[2] = {p->sc.extent.width, p->sc.extent.height};
    long presented = 0;
    bool shot_taken = false;
    int rc = -1;
    for (;;) {
        bool closing = glfwWindowShouldClose(window), changed;
        if (closing && !v->opt.screenshot)
            break;
        if (v->need_load && !closing)
            load_current(v);
        bool last = closing || (v->opt.frames > 0 && presented + 1 >= v->opt.frames);
        int fw, fh, r;
        glfwGetFramebufferSize(window, &fw, &fh);
        if (closing && (fw <= 0 || fh <= 0))
            break; /* closed while minimised: no frame to take */
        if (fw <= 0 || fh <= 0 || (!v->dirty && !last && !p->sc.stale && v->opt.frames == 0)) {
            glfwWaitEvents(); /* minimised, or nothing changed */
            continue;
        }
        if ((r = fit_swapchain(p, fw, fh, asked)) > 0) {
            glfwWaitEventsTimeout(0.1);
            continue;
        }
        if (r < 0 || fit_pixels(&f, p->sc.extent, &changed))
            goto done;
        if (v->dirty || changed)
            compose(v, f.canvas, f.width, f.height);
        v->dirty = false;
        if ((r = viewer_present(p, f.canvas, last && v->opt.screenshot ? f.shot : NULL)) < 0)
            goto done;
        if (r > 0)
            continue; /* the swapchain went stale before presenting: rebuild, compose, try again */
        presented++;
        if (last) {
            shot_taken = v->opt.screenshot != NULL;
            break;
        }
        glfwPollEvents();
    }
    if (v->opt.screenshot) {
        if (!shot_taken) {
            fprintf(stderr, "vkvit-viewer: --screenshot: the window closed before a frame could be taken\n");
            goto done;
        }
        if (viewer_write_png(v->opt.screenshot, f.shot, f.width, f.height))
            goto done;
        printf("screenshot %s (%ux%u) after %ld frames\n", v->opt.screenshot, f.width, f.height, presented);
    }
    rc = 0;
done:
    free(f.canvas);
    free(f.shot);
    return rc;
}

static int run_window(viewer *v)
{
    GLFWwindow *window = NULL;
    viewer_presenter presenter = {0};
    int rc = 1;
    if (!glfwInit()) {
        fprintf(stderr, "vkvit-viewer: cannot initialise GLFW (no display? use --headless OUT.png)\n");
        return 1;
    }
    if (!glfwVulkanSupported()) {
        fprintf(stderr, "vkvit-viewer: GLFW finds no Vulkan loader with window-system support\n");
        goto done;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    window = glfwCreateWindow((int)v->opt.width, (int)v->opt.height, "vkvit-viewer", NULL, NULL);
    if (!window) {
        fprintf(stderr, "vkvit-viewer: cannot create a window\n");
        goto done;
    }
    glfwSetWindowUserPointer(window, v);
    int fw, fh;
    glfwGetFramebufferSize(window, &fw, &fh);
    if (start_vulkan(v, window) ||
        viewer_presenter_create(&presenter, &v->vk, (uint32_t)(fw > 0 ? fw : 1), (uint32_t)(fh > 0 ? fh : 1)) ||
        start_vkvit(v))
        goto done;
    glfwSetKeyCallback(window, on_key);
    glfwSetDropCallback(window, on_drop);
    glfwSetWindowRefreshCallback(window, on_refresh);
    v->need_load = true;
    rc = frame_loop(v, window, &presenter) ? 1 : 0;
done:
    viewer_presenter_destroy(&presenter);
    stop_vkvit(v);
    app_vulkan_destroy(&v->vk);
    if (window)
        glfwDestroyWindow(window);
    glfwTerminate();
    return rc;
}

/* ---- command line ------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkvit-viewer [--model DIR] [--layer N] [options] IMAGE|DIR...\n"
            "       vkvit-viewer --headless OUT.png [--model DIR] [options] IMAGE\n"
            "  --model DIR|FILE   checkpoint (default: %s)\n"
            "  --layer N          attention of layer N, 1-based (default: the last)\n"
            "  --no-overlay       start with the heat map off\n"
            "  --no-features      start without the patch features' PCA picture\n"
            "  --size WxH         window or image size (default 960x640)\n"
            "  --device I|NAME    Vulkan device by index or name (default: $VKVIT_DEVICE, else the best)\n"
            "  --validate         enable the Khronos validation layer; exit 1 if it reports anything\n"
            "  --headless FILE    render the first image into a PNG, no window\n"
            "  --frames N         quit after N presented frames\n"
            "  --screenshot FILE  save the last presented frame (read back from the swapchain) as PNG\n"
            "keys: Left/Right or P/N image, K/L layer, O overlay, F features, Q/Escape quit; drop files to open them\n",
            DEFAULT_MODEL);
}

/* 0, 1 for --help, -1 (printed) for a bad command line. */
static int parse_options(int argc, char **argv, viewer *v)
{
    options *o = &v->opt;
    *o = (options){.width = 960, .height = 640, .overlay = 1, .features = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--model") == 0 || strcmp(a, "--layer") == 0 || strcmp(a, "--size") == 0 ||
                     strcmp(a, "--device") == 0 || strcmp(a, "--headless") == 0 || strcmp(a, "--frames") == 0 ||
                     strcmp(a, "--screenshot") == 0;
        if (takes && !val) {
            fprintf(stderr, "vkvit-viewer: %s needs a value\n", a);
            return -1;
        }
        char *end = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else if (strcmp(a, "--model") == 0) {
            o->model = val;
        } else if (strcmp(a, "--layer") == 0) {
            o->layer = (int)strtol(val, &end, 10);
            if (*end || o->layer < 1) {
                fprintf(stderr, "vkvit-viewer: --layer %s: expected a layer number from 1\n", val);
                return -1;
            }
        } else if (strcmp(a, "--size") == 0) {
            if (sscanf(val, "%ux%u", &o->width, &o->height) != 2 || o->width < 64 || o->height < 64 ||
                o->width > 8192 || o->height > 8192) {
                fprintf(stderr, "vkvit-viewer: --size %s: expected WxH between 64 and 8192\n", val);
                return -1;
            }
        } else if (strcmp(a, "--frames") == 0) {
            o->frames = strtol(val, &end, 10);
            if (*end || o->frames < 1) {
                fprintf(stderr, "vkvit-viewer: --frames %s: expected a positive count\n", val);
                return -1;
            }
        } else if (strcmp(a, "--device") == 0) {
            o->device = val;
        } else if (strcmp(a, "--headless") == 0) {
            o->headless = val;
        } else if (strcmp(a, "--screenshot") == 0) {
            o->screenshot = val;
        } else if (strcmp(a, "--no-overlay") == 0) {
            o->overlay = 0;
        } else if (strcmp(a, "--no-features") == 0) {
            o->features = 0;
        } else if (strcmp(a, "--validate") == 0) {
            o->validate = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vkvit-viewer: unknown option %s\n", a);
            return -1;
        } else if (add_path(v, a)) {
            return -1;
        }
        i += takes;
    }
    if (v->file_count == 0) {
        fprintf(stderr, "vkvit-viewer: no images given\n");
        return -1;
    }
    return 0;
}

/* --model, or the bundled default, which must exist. */
static int resolve_model(options *o)
{
    struct stat st;
    if (o->model)
        return 0;
    if (stat(DEFAULT_MODEL, &st) != 0) {
        fprintf(stderr,
                "vkvit-viewer: the default model %s is missing (tools/train_fashion_mnist.py makes it);\n"
                "  pass --model DIR, e.g. --model ../shared/models/deit-tiny-imagenet\n",
                DEFAULT_MODEL);
        return -1;
    }
    o->model = DEFAULT_MODEL;
    return 0;
}

int main(int argc, char **argv)
{
    viewer v = {0};
    int rc = 2;
    int parsed = parse_options(argc, argv, &v);
    if (parsed > 0) {
        usage(stdout);
        rc = 0;
        goto done;
    }
    if (parsed < 0 || resolve_model(&v.opt)) {
        fprintf(stderr, "(vkvit-viewer --help for usage)\n");
        goto done;
    }
    rc = v.opt.headless ? run_headless(&v) : run_window(&v);
    unsigned messages = app_validation_messages(&v.vk);
    if (v.opt.validate && messages) {
        fprintf(stderr, "vkvit-viewer: the validation layer reported %u message(s)\n", messages);
        rc = 1;
    }
done:
    for (uint32_t i = 0; i < v.file_count; i++)
        free(v.files[i]);
    free(v.files);
    return rc;
}
