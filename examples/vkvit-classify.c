/* vkvit-classify: label images with a ViT on the GPU.
 *
 *   vkvit-classify [--model DIR|FILE] [--top K] [--batch N] [--size N|HxW] [--fp16|--fp32] [--device I|NAME]
 *                  [--threads N] [--timing] [--json] [--verify] IMAGE|DIR...
 *
 * Prints each image's top-K labels, then a summary (device, model, batch, images/s, latency).
 * Images that cannot be read are reported on stderr with the reason; the others still get their
 * answers, and the exit status is 1. Images are decoded on --threads worker threads while the GPU runs the
 * previous batch (cli_decode.h); the output does not depend on their number. Uses only the public API. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_decode.h"
#include "vkvit.h"
#include "vkvit_vulkan.h"

#ifndef VKVIT_DEFAULT_MODEL
#define VKVIT_DEFAULT_MODEL "models/fashion-vit"
#endif

typedef struct options {
    const char *model, *device;
    uint32_t top, batch, height, width; /* --size: 0 = the checkpoint's */
    uint32_t threads;                   /* decode threads */
    bool json, verify, fp16, fp32, timing;
    char **paths;
    size_t n_paths;
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: vkvit-classify [--model DIR|FILE] [--top K] [--batch N] [--size N|HxW] [--fp16|--fp32]\n"
               "                      [--device I|NAME] [--threads N] [--timing] [--json] [--verify] IMAGE|DIR...\n"
               "  --model   a Hugging Face or timm checkpoint, or a Google .npz (default: the bundled %s)\n"
               "  --top     labels per image (default 5)\n"
               "  --batch   images per GPU run (default 8)\n"
               "  --size    run the model at N x N pixels, or H x W (height first, as timm's img_size and\n"
               "            Hugging Face's image_size: 224x320 is 224 high, 320 wide); each side a multiple of its\n"
               "            patch size (default: the checkpoint's); its position embedding is resampled at load\n"
               "  --fp16, --fp32  weights and activations in fp16 or fp32 (default: fp16 on GPUs\n"
               "            that support it, fp32 on CPU devices and elsewhere)\n"
               "  --device  device index or name substring (see vkvit-info); default: the best\n"
               "  --threads decode images on N threads while the GPU runs the previous batch (default: the\n"
               "            online CPUs, at most 8); the output is the same for any N\n"
               "  --timing  print on stderr where the time went: decode (summed over the threads), waiting\n"
               "            for decoded images, waiting for the GPU, wall\n"
               "  --json    machine-readable output on stdout\n"
               "  --verify  also run the CPU reference forward pass and report the difference\n",
            VKVIT_DEFAULT_MODEL);
}

/* Appends path, or the image files of a directory (sorted), to the list. */
static bool add_path(options *o, size_t *cap, const char *path)
{
    struct stat st;
    char **names = NULL;
    size_t n = 0, ncap = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.' || !cli_is_image_name(e->d_name))
                continue;
            if (n == ncap) {
                ncap = ncap ? 2 * ncap : 16;
                char **g = realloc(names, ncap * sizeof *g);
                if (!g)
                    break;
                names = g;
            }
            size_t len = strlen(path) + strlen(e->d_name) + 2;
            if (!(names[n] = malloc(len)))
                break;
            snprintf(names[n++], len, "%s/%s", path, e->d_name);
        }
        if (d)
            closedir(d);
        qsort(names, n, sizeof *names, cli_cmp_str);
    } else {
        names = malloc(sizeof *names);
        if (names && (names[0] = strdup(path)))
            n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (o->n_paths == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            char **g = realloc(o->paths, *cap * sizeof *g);
            if (!g)
                return false;
            o->paths = g;
        }
        o->paths[o->n_paths++] = names[i];
    }
    free(names);
    return true;
}

/* "N" (square) or "HxW", each 1..4096. */
static bool parse_size(const char *s, uint32_t *height, uint32_t *width)
{
    char h[16];
    const char *x = strchr(s, 'x');
    if (!x)
        return cli_parse_uint(s, height, 1, 4096) && cli_parse_uint(s, width, 1, 4096);
    if (x == s || (size_t)(x - s) >= sizeof h)
        return false;
    memcpy(h, s, (size_t)(x - s));
    h[x - s] = '\0';
    return cli_parse_uint(h, height, 1, 4096) && cli_parse_uint(x + 1, width, 1, 4096);
}

static int parse_args(int argc, char **argv, options *o)
{
    size_t cap = 0;
    *o = (options){.top = 5, .batch = 8, .threads = cli_default_threads()};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--model") && has_value) {
            o->model = argv[++i];
        } else if (!strcmp(a, "--device") && has_value) {
            o->device = argv[++i];
        } else if (!strcmp(a, "--top") && has_value) {
            if (!cli_parse_uint(argv[++i], &o->top, 1, 1000000))
                return fprintf(stderr, "vkvit-classify: --top wants a positive number, not '%s'\n", argv[i]), 2;
        } else if (!strcmp(a, "--batch") && has_value) {
            if (!cli_parse_uint(argv[++i], &o->batch, 1, 4096))
                return fprintf(stderr, "vkvit-classify: --batch wants 1..4096, not '%s'\n", argv[i]), 2;
        } else if (!strcmp(a, "--threads") && has_value) {
            if (!cli_parse_uint(argv[++i], &o->threads, 1, 64))
                return fprintf(stderr, "vkvit-classify: --threads wants 1..64, not '%s'\n", argv[i]), 2;
        } else if (!strcmp(a, "--timing")) {
            o->timing = true;
        } else if (!strcmp(a, "--size") && has_value) {
            if (!parse_size(argv[++i], &o->height, &o->width))
                return fprintf(stderr, "vkvit-classify: --size wants N or HxW, 1..4096 pixels each, not '%s'\n",
                               argv[i]), 2;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--verify")) {
            o->verify = true;
        } else if (!strcmp(a, "--fp16")) {
            o->fp16 = true;
        } else if (!strcmp(a, "--fp32")) {
            o->fp32 = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vkvit-classify: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        } else if (!add_path(o, &cap, a)) {
            return fprintf(stderr, "vkvit-classify: out of memory\n"), 2;
        }
    }
    if (o->n_paths == 0) {
        usage(stderr);
        return 2;
    }
    if (o->fp16 && o->fp32)
        return fprintf(stderr, "vkvit-classify: --fp16 and --fp32 exclude each other\n"), 2;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Takes up to `batch` decoded images in input order into images / names, naming the unreadable ones on stderr
 * (failures counted); returns how many. *wait_time: seconds spent waiting for the decoder. */
static uint32_t gather(cli_decoder *dec, char *const *paths, size_t *taken, uint32_t batch, vkvit_image *images,
                       const char **names, int *failures, double *wait_time)
{
    uint32_t n = 0;
    cli_decoded r;
    const double t0 = now();
    while (n < batch && cli_decoder_take(dec, &r)) {
        const char *path = paths[(*taken)++];
        if (r.status != VKVIT_OK) {
            fprintf(stderr, "vkvit-classify: %s\n", r.error); /* names the file */
            (*failures)++;
            continue;
        }
        images[n] = r.image;
        names[n++] = path;
    }
    *wait_time += now() - t0;
    return n;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_result(const options *o, const char *path, const vkvit_prediction *top, uint32_t k, bool first)
{
    if (o->json) {
        printf("%s\n    {\"image\": ", first ? "" : ",");
        json_string(path);
        printf(", \"top\": [");
        for (uint32_t j = 0; j < k; j++) {
            printf("%s{\"index\": %u, \"probability\": %.6f, \"label\": ", j ? ", " : "", top[j].index,
                   (double)top[j].probability);
            if (top[j].label)
                json_string(top[j].label);
            else
                printf("null");
            printf("}");
        }
        printf("]}");
        return;
    }
    printf("%s\n", path);
    for (uint32_t j = 0; j < k; j++)
        if (top[j].label)
            printf("  %6.2f%%  %s\n", 100.0 * top[j].probability, top[j].label);
        else
            printf("  %6.2f%%  class %u\n", 100.0 * top[j].probability, top[j].index);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (!o.model)
        o.model = getenv("VKVIT_MODEL") ? getenv("VKVIT_MODEL") : VKVIT_DEFAULT_MODEL;

    vkvit_context *ctx = NULL;
    vkvit_model *model = NULL;
    vkvit_plan *plan = NULL;
    vkvit_image *images = NULL;
    const char **names = NULL, **run_names = NULL;
    vkvit_prediction *top = NULL;
    cli_decoder *dec = NULL;
    int failures = 0;
    vkvit_status s;
    vkvit_context_options copt = {.device = o.device};
    if ((s = vkvit_context_create(&copt, &ctx)) != VKVIT_OK) {
        fprintf(stderr, "vkvit-classify: no Vulkan device: %s\n", vkvit_last_error());
        return 1;
    }
    vkvit_device_info dev;
    vkvit_context_device_info(ctx, &dev);
    vkvit_model_options mopt = {.keep_host_weights = o.verify, .image_height = o.height, .image_width = o.width,
                                .precision = o.fp16 ? VKVIT_PRECISION_FP16
                                             : o.fp32 ? VKVIT_PRECISION_FP32 : VKVIT_PRECISION_AUTO};
    if ((s = vkvit_model_load(ctx, o.model, &mopt, &model)) != VKVIT_OK) {
        fprintf(stderr, "vkvit-classify: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
        rc = 1;
        goto done;
    }
    vkvit_model_info info;
    vkvit_model_get_info(model, &info);
    if (info.num_classes == 0) {
        fprintf(stderr, "vkvit-classify: %s is a backbone without a classifier: nothing to label\n", o.model);
        rc = 1;
        goto done;
    }
    uint32_t k = o.top < info.num_classes ? o.top : info.num_classes;
    uint32_t batch = o.batch < o.n_paths ? o.batch : (uint32_t)o.n_paths;
    vkvit_plan_options popt = {.batch = batch};
    if ((s = vkvit_plan_create(model, &popt, &plan)) != VKVIT_OK) {
        fprintf(stderr, "vkvit-classify: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
        rc = 1;
        goto done;
    }
    vkvit_plan_info pinfo = {0};
    vkvit_plan_get_info(plan, &pinfo);
    /* "fp16, coopmat matmuls": the tensor-core path (or the scalar kernel) an fp16 model runs on */
    char prec[64];
    snprintf(prec, sizeof prec, "%s%s%s%s", vkvit_precision_string(info.precision),
             info.precision == VKVIT_PRECISION_FP16 ? ", " : "",
             info.precision == VKVIT_PRECISION_FP16 ? pinfo.matmul_kernel : "",
             info.precision == VKVIT_PRECISION_FP16 ? " matmuls" : "");
    images = calloc(batch, sizeof *images);
    names = calloc(batch, sizeof *names);
    run_names = calloc(batch, sizeof *run_names);
    top = calloc(k, sizeof *top);
    /* room for the batch being gathered and one image in work per thread */
    dec = cli_decoder_start(o.paths, o.n_paths, o.threads, (size_t)batch + o.threads);
    if (!images || !names || !run_names || !top || !dec) {
        fprintf(stderr, "vkvit-classify: out of memory\n");
        rc = 1;
        goto done;
    }
    bool show_progress = !o.json && isatty(2) && o.n_paths > batch;
    double gpu_time = 0, worst_verify = 0, decode_wait = 0, gpu_wait = 0, t_start = now();
    size_t done_images = 0, taken = 0;
    bool first = true;
    const vkvit_submit_signal pending = {0}; /* zeroed: the run is left pending until vkvit_wait */
    if (o.json)
        printf("{\n  \"results\": [");
    /* batch j runs on the GPU while the threads decode batch j + 1 */
    uint32_t n = gather(dec, o.paths, &taken, batch, images, names, &failures, &decode_wait);
    while (n) {
        const double t0 = now();
        s = vkvit_run_images(plan, images, n, &pending); /* copies the pixels: they can go */
        const double t1 = now();
        for (uint32_t i = 0; i < n; i++)
            vkvit_image_destroy(&images[i]);
        const uint32_t ran = n;
        memcpy(run_names, names, n * sizeof *names);
        n = gather(dec, o.paths, &taken, batch, images, names, &failures, &decode_wait);
        const double t2 = now();
        int gpu_done = 0;
        if (s == VKVIT_OK && (s = vkvit_poll(plan, &gpu_done)) == VKVIT_OK)
            s = vkvit_wait(plan);
        const double t3 = now();
        /* GPU time: the submission and the wait, and the decode of the next batch when the GPU was still
         * running after it (when it was done by then, the part of that decode it ran for is not counted) */
        gpu_time += (t1 - t0) + (gpu_done ? 0 : t2 - t1) + (t3 - t2);
        gpu_wait += t3 - t2;
        if (s != VKVIT_OK) {
            fprintf(stderr, "vkvit-classify: %s: %s\n", vkvit_status_string(s), vkvit_last_error());
            failures += (int)ran;
        } else {
            for (uint32_t i = 0; i < ran; i++) {
                vkvit_top_k(plan, i, k, top);
                print_result(&o, run_names[i], top, k, first);
                first = false;
            }
            done_images += ran;
            double rel = 0;
            if (o.verify && (s = vkvit_verify(plan, &rel)) == VKVIT_OK) {
                worst_verify = rel > worst_verify ? rel : worst_verify;
            } else if (o.verify) {
                fprintf(stderr, "vkvit-classify: --verify: %s\n", vkvit_last_error());
                failures++;
            }
        }
        if (show_progress)
            cli_progress(taken, o.n_paths);
    }
    const double wall = now() - t_start;
    if (o.timing)
        fprintf(stderr, "vkvit-classify: timing: %zu images, wall %.3f s (%.1f images/s end to end); decode %.3f s "
                "on %u threads; waiting for decoded images %.3f s, for the GPU %.3f s\n", done_images, wall,
                wall > 0 ? (double)done_images / wall : 0, cli_decoder_busy(dec), o.threads, decode_wait, gpu_wait);
    double ips = gpu_time > 0 ? (double)done_images / gpu_time : 0;
    double latency_ms = done_images ? 1000.0 * gpu_time / (double)done_images : 0;
    /* the whole-forward bounds of ../shared/design/TESTING.md */
    const double verify_bound = info.precision == VKVIT_PRECISION_FP16 ? 2e-2 : 1e-4;
    if (o.json) {
        printf("\n  ],\n  \"device\": ");
        json_string(dev.name);
        printf(",\n  \"model\": ");
        json_string(o.model);
        printf(",\n  \"family\": \"%s\", \"precision\": \"%s\", \"matmul_kernel\": \"%s\", \"parameters\": %llu, "
               "\"batch\": %u, \"images\": %zu, \"failed\": %d,\n  \"images_per_second\": %.3f, \"ms_per_image\": %.3f",
               info.family, vkvit_precision_string(info.precision), pinfo.matmul_kernel ? pinfo.matmul_kernel : "?",
               (unsigned long long)info.parameters, batch, done_images, failures, ips, latency_ms);
        if (o.verify)
            printf(",\n  \"verify_rel_err\": %.3e", worst_verify);
        printf("\n}\n");
    } else {
        printf("\ndevice %s | model %s (%s, %.2fM params, %ux%u, %u classes, %s) | batch %u | %zu images in %.3f s: "
               "%.1f images/s, %.2f ms per image (decode excluded, preprocessing on the GPU included)\n",
               dev.name, o.model, info.family, (double)info.parameters / 1e6, info.image_height, info.image_width,
               info.num_classes, prec, batch, done_images, gpu_time, ips, latency_ms);
        if (o.verify)
            printf("verify: GPU vs CPU reference logits, worst relative difference %.3e (%s, bound %.0e)\n",
                   worst_verify, worst_verify <= verify_bound ? "ok" : "TOO LARGE", verify_bound);
    }
    if (o.verify && worst_verify > verify_bound)
        failures++;
    rc = failures ? 1 : 0;
done:
    cli_decoder_stop(dec);
    free(images);
    free(names);
    free(run_names);
    free(top);
    for (size_t i = 0; i < o.n_paths; i++)
        free(o.paths[i]);
    free(o.paths);
    vkvit_plan_destroy(plan);
    vkvit_model_destroy(model);
    vkvit_context_destroy(ctx);
    return rc;
}
