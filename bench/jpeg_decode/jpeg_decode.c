/* JPEG decode speed: stb_image (what vkvit_image_decode used for JPEG until it moved to libjpeg) against
 * libjpeg-turbo (Debian's libjpeg62-turbo, through its libjpeg API; what Pillow decodes with) called directly,
 * and vkvit_image_decode itself (libjpeg-turbo plus vkvit's header checks and error handling), all from the
 * file's bytes in memory to RGBA8 on one thread, and how far stb_image's pixels are from libjpeg's (vkvit's must
 * be libjpeg's exactly). A measurement for bench/README.md, not a test. Not built by meson; against a build
 * directory:
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude $(pkg-config --cflags stb) bench/jpeg_decode/jpeg_decode.c \
 *      -Lbuild -lvkvit -ljpeg -lstb -Wl,-rpath,$PWD/build -o build/jpeg_decode
 *   build/jpeg_decode [--rounds N] FILE.jpg...
 * Prints per file its size, the median of N rounds (default 3) for each decoder in ms, and the largest
 * per-byte difference of the RGB channels between stb_image and libjpeg; then the totals in megapixels per
 * second. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <stb_image.h>

#include "vkvit.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n)) && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    } else if (b) {
        *size = (size_t)n;
    }
    if (f)
        fclose(f);
    return b;
}

/* libjpeg-turbo's default decode (islow DCT, fancy upsampling: Pillow's settings) straight to RGBA. */
static uint8_t *turbo_decode(const unsigned char *data, size_t size, uint32_t *w, uint32_t *h)
{
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err); /* exits on a corrupt file: the inputs are the benchmark's own JPEGs */
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, data, (unsigned long)size);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_EXT_RGBA;
    jpeg_start_decompress(&c);
    *w = c.output_width, *h = c.output_height;
    uint8_t *px = malloc((size_t)*w * *h * 4);
    while (px && c.output_scanline < c.output_height) {
        JSAMPROW row = px + (size_t)c.output_scanline * *w * 4;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    return px;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = 3, first = 1;
    if (argc > 2 && !strcmp(argv[1], "--rounds"))
        rounds = atoi(argv[2]), first = 3;
    if (rounds < 1 || first >= argc) {
        fprintf(stderr, "usage: jpeg_decode [--rounds N] FILE.jpg...\n");
        return 2;
    }
    double stb_total = 0, turbo_total = 0, vkvit_total = 0, mpix = 0, differing = 0, bytes = 0;
    int worst = 0;
    printf("%-40s %11s %10s %10s %10s %8s\n", "file", "size", "stb ms", "turbo ms", "vkvit ms", "max diff");
    for (int a = first; a < argc; a++) {
        size_t size = 0;
        unsigned char *data = read_file(argv[a], &size);
        if (!data)
            return fprintf(stderr, "jpeg_decode: %s: cannot read\n", argv[a]), 1;
        double t_stb[64], t_turbo[64], t_vkvit[64];
        vkvit_image im = {0};
        uint8_t *px = NULL;
        unsigned char *sp = NULL;
        uint32_t w = 0, h = 0;
        int sw = 0, sh = 0, sc = 0;
        for (int r = 0; r < rounds && r < 64; r++) {
            vkvit_image_destroy(&im);
            free(px);
            stbi_image_free(sp);
            double t0 = now();
            sp = stbi_load_from_memory(data, (int)size, &sw, &sh, &sc, 4);
            double t1 = now();
            px = turbo_decode(data, size, &w, &h);
            double t2 = now();
            if (vkvit_image_decode(data, size, argv[a], &im) != VKVIT_OK)
                return fprintf(stderr, "jpeg_decode: %s\n", vkvit_last_error()), 1;
            double t3 = now();
            t_stb[r] = t1 - t0, t_turbo[r] = t2 - t1, t_vkvit[r] = t3 - t2;
        }
        int n = rounds < 64 ? rounds : 64, diff = 0;
        qsort(t_stb, (size_t)n, sizeof *t_stb, cmp_double);
        qsort(t_turbo, (size_t)n, sizeof *t_turbo, cmp_double);
        qsort(t_vkvit, (size_t)n, sizeof *t_vkvit, cmp_double);
        if (!px || !sp || w != im.width || h != im.height || (uint32_t)sw != w || (uint32_t)sh != h)
            return fprintf(stderr, "jpeg_decode: %s: the decoders disagree on the size\n", argv[a]), 1;
        if (memcmp(px, im.rgba, (size_t)w * h * 4))
            return fprintf(stderr, "jpeg_decode: %s: vkvit_image_decode's pixels are not libjpeg's\n", argv[a]), 1;
        for (size_t i = 0; i < (size_t)w * h * 4; i++) {
            if (i % 4 == 3)
                continue;
            int d = abs((int)px[i] - (int)sp[i]);
            diff = d > diff ? d : diff;
            differing += d != 0;
        }
        bytes += 3.0 * w * h;
        worst = diff > worst ? diff : worst;
        char dims[32];
        snprintf(dims, sizeof dims, "%ux%u", w, h);
        printf("%-40s %11s %10.2f %10.2f %10.2f %8d\n", argv[a], dims, 1e3 * t_stb[n / 2], 1e3 * t_turbo[n / 2],
               1e3 * t_vkvit[n / 2], diff);
        stb_total += t_stb[n / 2], turbo_total += t_turbo[n / 2], vkvit_total += t_vkvit[n / 2];
        mpix += (double)w * h / 1e6;
        vkvit_image_destroy(&im);
        stbi_image_free(sp);
        free(px);
        free(data);
    }
    printf("%d files, %.1f megapixels: stb_image %.3f s (%.1f MP/s), libjpeg-turbo %.3f s (%.1f MP/s): turbo %.2fx "
           "faster; vkvit_image_decode %.3f s (%.1f MP/s, libjpeg's pixels); stb_image's RGB bytes that differ "
           "%.2f%%, largest difference %d\n",
           argc - first, mpix, stb_total, mpix / stb_total, turbo_total, mpix / turbo_total, stb_total / turbo_total,
           vkvit_total, mpix / vkvit_total, 100.0 * differing / (bytes > 0 ? bytes : 1), worst);
    return 0;
}
