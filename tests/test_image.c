/* Decoding (src/image.c): JPEG through libjpeg and every other format stb_image reads, made in memory
 * (stb_image_write for PNG, BMP, TGA, JPEG; by hand for 16-bit PNG, GIF and PNM), every pixel layout (grey,
 * grey + alpha, RGB, RGBA), and the bad files (missing, empty, truncated, not an image, too large) with their exact
 * status and message; a progressive JPEG bomb refused by libjpeg's memory budget. No GPU. */
#include "common.h"

#include <math.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h */

/* ---- a growable byte buffer ------------------------------------------------------------------------------- */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void put8(bytes *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void put16le(bytes *b, unsigned v) { put8(b, v & 0xff), put8(b, v >> 8); }
static void put32be(bytes *b, uint32_t v) { put8(b, v >> 24), put8(b, (v >> 16) & 0xff), put8(b, (v >> 8) & 0xff), put8(b, v & 0xff); }
static void write_cb(void *ctx, void *data, int size) { put(ctx, data, (size_t)size); }

static bytes png8(const unsigned char *px, uint32_t w, uint32_t h, int channels) /* stb_image_write */
{
    bytes b = {0};
    stbi_write_png_to_func(write_cb, &b, (int)w, (int)h, channels, px, (int)w * channels);
    return b;
}

/* ---- PNG by hand (any bit depth stb_image_write does not write): stored deflate blocks ------------------- */
static uint32_t crc32_of(const unsigned char *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static void chunk(bytes *b, const char *type, const unsigned char *data, size_t n)
{
    put32be(b, (uint32_t)n);
    size_t at = b->n;
    put(b, type, 4);
    if (n)
        put(b, data, n);
    put32be(b, crc32_of(b->p + at, n + 4, 0));
}

/* width x height, `channels` samples of `depth` bits (8 or 16) per pixel; raw: rows without filter bytes. */
static bytes png(uint32_t w, uint32_t h, int channels, int depth, const unsigned char *raw)
{
    static const int type[] = {0, 0, 4, 2, 6};
    bytes b = {0}, ihdr = {0}, z = {0};
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    put32be(&ihdr, w), put32be(&ihdr, h), put8(&ihdr, (unsigned)depth), put8(&ihdr, (unsigned)type[channels]);
    put8(&ihdr, 0), put8(&ihdr, 0), put8(&ihdr, 0);
    chunk(&b, "IHDR", ihdr.p, ihdr.n);
    if (raw) {
        size_t row = (size_t)w * channels * depth / 8;
        bytes data = {0};
        for (uint32_t y = 0; y < h; y++)
            put8(&data, 0), put(&data, raw + y * row, row);
        put8(&z, 0x78), put8(&z, 0x01);
        uint32_t a = 1, s2 = 0;
        for (size_t i = 0; i < data.n; i++)
            a = (a + data.p[i]) % 65521, s2 = (s2 + a) % 65521;
        for (size_t at = 0; at < data.n || at == 0; at += 65535) {
            size_t len = data.n - at < 65535 ? data.n - at : 65535;
            put8(&z, at + len >= data.n), put16le(&z, (unsigned)len), put16le(&z, (unsigned)~len & 0xffff);
            put(&z, data.p + at, len);
            if (!data.n)
                break;
        }
        put32be(&z, s2 << 16 | a);
        chunk(&b, "IDAT", z.p, z.n);
        free(data.p);
    }
    chunk(&b, "IEND", NULL, 0);
    free(ihdr.p), free(z.p);
    return b;
}

typedef struct bitsink {
    bytes *out;
    uint32_t acc;
    int bits;
} bitsink;

static void emit9(bitsink *s, unsigned code) /* LSB first, as GIF packs codes */
{
    s->acc |= (uint32_t)code << s->bits;
    s->bits += 9;
    while (s->bits >= 8) {
        put8(s->out, s->acc & 0xff);
        s->acc >>= 8;
        s->bits -= 8;
    }
}

/* ---- GIF by hand: 256-colour palette, 9-bit LZW codes with a clear code every 254 pixels (so the code
 * width never grows), `frames` frames of w x h indices ------------------------------------------------------- */
static bytes gif(uint32_t w, uint32_t h, const unsigned char *palette, const unsigned char *const *frames, int nframes)
{
    bytes b = {0};
    put(&b, "GIF89a", 6);
    put16le(&b, w), put16le(&b, h), put8(&b, 0xF7), put8(&b, 0), put8(&b, 0);
    put(&b, palette, 768);
    for (int f = 0; f < nframes; f++) {
        put8(&b, 0x2C), put16le(&b, 0), put16le(&b, 0), put16le(&b, w), put16le(&b, h), put8(&b, 0);
        put8(&b, 8);
        bytes codes = {0};
        bitsink sink = {&codes, 0, 0};
        for (size_t i = 0; i < (size_t)w * h; i++) {
            if (i % 254 == 0)
                emit9(&sink, 256); /* clear: the table restarts before the code width could grow */
            emit9(&sink, frames[f][i]);
        }
        emit9(&sink, 257);
        if (sink.bits)
            put8(&codes, sink.acc & 0xff);
        for (size_t at = 0; at < codes.n; at += 255) {
            size_t len = codes.n - at < 255 ? codes.n - at : 255;
            put8(&b, (unsigned)len), put(&b, codes.p + at, len);
        }
        put8(&b, 0);
        free(codes.p);
    }
    put8(&b, 0x3B);
    return b;
}

static bytes pnm(uint32_t w, uint32_t h, int channels, const unsigned char *px)
{
    bytes b = {0};
    char head[64];
    int n = snprintf(head, sizeof head, "P%d\n# a comment\n%u %u\n255\n", channels == 1 ? 5 : 6, w, h);
    put(&b, head, (size_t)n);
    put(&b, px, (size_t)w * h * channels);
    return b;
}

/* ---- checks ----------------------------------------------------------------------------------------------- */

/* Expected RGBA of source pixel i with `channels` samples (grey, grey+alpha, RGB, RGBA). */
static void expand(const unsigned char *src, int channels, size_t i, unsigned char rgba[4])
{
    const unsigned char *s = src + i * channels;
    rgba[0] = s[0];
    rgba[1] = channels >= 3 ? s[1] : s[0];
    rgba[2] = channels >= 3 ? s[2] : s[0];
    rgba[3] = channels == 2 ? s[1] : channels == 4 ? s[3] : 255;
}

/* Decodes and compares with `want` (RGBA); tolerance = largest allowed |difference| per sample. */
static void decode_check(const char *name, const bytes *file, uint32_t w, uint32_t h, const unsigned char *want,
                         int tolerance)
{
    vkvit_image im;
    vkvit_status s = vkvit_image_decode(file->p, file->n, name, &im);
    if (!test_expect(s == VKVIT_OK && im.width == w && im.height == h, "decode %s (%zu bytes): %s %ux%u %s", name,
                     file->n, vkvit_status_string(s), im.width, im.height, s ? vkvit_last_error() : ""))
        return;
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < (size_t)w * h * 4; i++) {
        int d = abs((int)im.rgba[i] - want[i]);
        worst = d > worst ? d : worst;
        sum += d;
    }
    test_expect(worst <= tolerance, "decode %s: max |RGBA - expected| %d (allowed %d), mean %.3f", name, worst,
                tolerance, sum / ((double)w * h * 4));
    vkvit_image_destroy(&im);
    test_expect(!im.rgba && !im.width, "vkvit_image_destroy zeroes the image");
}

static unsigned char *random_bytes(size_t n, uint64_t *rng)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)test_uniform(rng, 0, 256);
    return p;
}

/* A smooth picture (JPEG-friendly): channels samples per pixel. */
static unsigned char *smooth(uint32_t w, uint32_t h, int channels)
{
    unsigned char *p = malloc((size_t)w * h * channels);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < channels; c++)
                p[((size_t)y * w + x) * channels + c] = (unsigned char)(128 + 100 * sin(0.1 * x * (c + 1) + 0.07 * y));
    return p;
}

static void test_formats(uint64_t *rng)
{
    const uint32_t w = 37, h = 23;
    for (int ch = 1; ch <= 4; ch++) {
        unsigned char *src = random_bytes((size_t)w * h * ch, rng), *want = malloc((size_t)w * h * 4);
        for (size_t i = 0; i < (size_t)w * h; i++)
            expand(src, ch, i, want + 4 * i);
        static const char *const names[] = {"", "grey", "grey+alpha", "RGB", "RGBA"};
        char name[64];
        bytes f = png8(src, w, h, ch);
        snprintf(name, sizeof name, "PNG %s", names[ch]);
        decode_check(name, &f, w, h, want, 0);
        free(f.p);
        bytes bmp = {0}, tga = {0};
        stbi_write_bmp_to_func(write_cb, &bmp, w, h, ch, src); /* BMP drops alpha: 24-bit for 1..3, 32 for 4 */
        unsigned char *want_bmp = malloc((size_t)w * h * 4);
        memcpy(want_bmp, want, (size_t)w * h * 4);
        if (ch == 2)
            for (size_t i = 0; i < (size_t)w * h; i++)
                want_bmp[4 * i + 3] = 255;
        snprintf(name, sizeof name, "BMP %s", names[ch]);
        decode_check(name, &bmp, w, h, want_bmp, 0);
        stbi_write_tga_with_rle = ch & 1;
        stbi_write_tga_to_func(write_cb, &tga, w, h, ch, src);
        snprintf(name, sizeof name, "TGA %s%s", names[ch], ch & 1 ? " RLE" : "");
        decode_check(name, &tga, w, h, want, 0);
        if (ch == 1 || ch == 3) {
            bytes p = pnm(w, h, ch, src);
            snprintf(name, sizeof name, "PNM %s", ch == 1 ? "P5 grey" : "P6 RGB");
            decode_check(name, &p, w, h, want, 0);
            free(p.p);
            unsigned char *sm = smooth(64, 48, ch), *want_sm = malloc(64 * 48 * 4);
            for (size_t i = 0; i < 64 * 48; i++)
                expand(sm, ch, i, want_sm + 4 * i);
            bytes j = {0};
            stbi_write_jpg_to_func(write_cb, &j, 64, 48, ch, sm, 95);
            snprintf(name, sizeof name, "JPEG %s (lossy, quality 95)", names[ch]);
            decode_check(name, &j, 64, 48, want_sm, 24);
            free(j.p), free(sm), free(want_sm);
        }
        free(bmp.p), free(tga.p), free(src), free(want), free(want_bmp);
    }

    /* 16-bit PNG (grey and RGB): reduced to the high byte */
    for (int ch = 1; ch <= 3; ch += 2) {
        unsigned char *src = random_bytes((size_t)w * h * ch * 2, rng), *want = malloc((size_t)w * h * 4);
        unsigned char *hi = malloc((size_t)w * h * ch);
        for (size_t i = 0; i < (size_t)w * h * ch; i++)
            hi[i] = src[2 * i]; /* PNG samples are big-endian */
        for (size_t i = 0; i < (size_t)w * h; i++)
            expand(hi, ch, i, want + 4 * i);
        bytes f = png(w, h, ch, 16, src);
        decode_check(ch == 1 ? "PNG 16-bit grey" : "PNG 16-bit RGB", &f, w, h, want, 0);
        free(f.p), free(src), free(want), free(hi);
    }

    /* GIF: two frames, the first comes back */
    unsigned char palette[768], *want = malloc((size_t)w * h * 4);
    for (int i = 0; i < 256; i++)
        palette[3 * i] = (unsigned char)i, palette[3 * i + 1] = (unsigned char)(255 - i),
        palette[3 * i + 2] = (unsigned char)(i * 7);
    unsigned char *f0 = random_bytes((size_t)w * h, rng), *f1 = random_bytes((size_t)w * h, rng);
    for (size_t i = 0; i < (size_t)w * h; i++)
        memcpy(want + 4 * i, palette + 3 * f0[i], 3), want[4 * i + 3] = 255;
    const unsigned char *frames[] = {f0, f1};
    bytes g = gif(w, h, palette, frames, 2);
    decode_check("GIF (first of 2 frames)", &g, w, h, want, 0);
    free(g.p), free(f0), free(f1), free(want);

    /* 1x1 is fine; the application's stb flip setting does not leak into vkvit */
    unsigned char px[8] = {10, 20, 30, 40, 50, 60, 70, 80};
    bytes f = png8(px, 1, 1, 4);
    decode_check("PNG 1x1", &f, 1, 1, px, 0);
    free(f.p);
    bytes f2 = png8(px, 1, 2, 4);
    stbi_set_flip_vertically_on_load(1);
    decode_check("PNG 1x2 with the application's stbi_set_flip_vertically_on_load(1)", &f2, 1, 2, px, 0);
    stbi_set_flip_vertically_on_load(0);
    free(f2.p);
}

/* ---- bad files ---------------------------------------------------------------------------------------------- */

static void expect_error(const char *what, vkvit_status got, vkvit_status want, const char *needle1, const char *needle2)
{
    const char *msg = vkvit_last_error();
    test_expect(got == want && strstr(msg, needle1) && (!needle2 || strstr(msg, needle2)), "%s -> %s: %s", what,
                vkvit_status_string(got), msg);
}

static void test_bad(uint64_t *rng)
{
    vkvit_image im;
    /* truncated files of every format, cut in the pixel data */
    unsigned char *src = random_bytes(40 * 30 * 3, rng), *sm = smooth(40, 30, 3);
    bytes files[6] = {{0}};
    files[0] = png8(src, 40, 30, 3);
    stbi_write_bmp_to_func(write_cb, &files[1], 40, 30, 3, src);
    stbi_write_tga_with_rle = 0;
    stbi_write_tga_to_func(write_cb, &files[2], 40, 30, 3, src);
    stbi_write_jpg_to_func(write_cb, &files[3], 40, 30, 3, sm, 90);
    unsigned char palette[768] = {0}, *idx = random_bytes(40 * 30, rng);
    const unsigned char *frames[] = {idx};
    files[4] = gif(40, 30, palette, frames, 1);
    files[5] = pnm(40, 30, 3, src);
    static const char *const names[] = {"cut.png", "cut.bmp", "cut.tga", "cut.jpg", "cut.gif", "cut.ppm"};
    for (int i = 0; i < 6; i++) {
        for (int k = 1; k <= 3; k++) {
            size_t n = files[i].n * k / 4;
            vkvit_status s = vkvit_image_decode(files[i].p, n, names[i], &im);
            char what[128];
            snprintf(what, sizeof what, "%s cut to %zu of %zu bytes", names[i], n, files[i].n);
            const char *needle = strstr(vkvit_last_error(), "truncated") ? "truncated" : "cannot decode";
            expect_error(what, s, VKVIT_ERROR_BAD_IMAGE, names[i], needle);
            test_expect(!im.rgba, "%s: no pixels on error", what);
        }
    }
    /* JPEG errors leave libjpeg by longjmp (its own error_exit would exit): a Huffman table of class 5, a file of
     * markers only; damaged entropy-coded data decodes, with libjpeg's warning, as Pillow decodes it. */
    bytes jb = {0};
    stbi_write_jpg_to_func(write_cb, &jb, 40, 30, 3, sm, 90);
    for (size_t at = 2; at + 4 < jb.n; at++)
        if (jb.p[at] == 0xFF && jb.p[at + 1] == 0xC4) {
            unsigned char keep = jb.p[at + 4];
            jb.p[at + 4] = 0x55;
            expect_error("JPEG with a Huffman table of class 5", vkvit_image_decode(jb.p, jb.n, "dht.jpg", &im),
                         VKVIT_ERROR_BAD_IMAGE, "dht.jpg: corrupt or unsupported JPEG (libjpeg: ", NULL);
            jb.p[at + 4] = keep;
            break;
        }
    expect_error("JPEG of SOI and EOI only", vkvit_image_decode("\xff\xd8\xff\xd9", 4, "markers.jpg", &im),
                 VKVIT_ERROR_BAD_IMAGE, "markers.jpg: ", "libjpeg");
    /* 0xD8 after fill bytes is a JPEG to stb_image, whose decoder overflows on bad Huffman tables: libjpeg's. */
    expect_error("JPEG after fill bytes", vkvit_image_decode("\xff\xff\xff\xd8\xff\xd9", 6, "fill.jpg", &im),
                 VKVIT_ERROR_BAD_IMAGE, "fill.jpg: corrupt or unsupported JPEG (libjpeg: Not a JPEG file", NULL);
    jb.p[jb.n - 40] ^= 0x5A;
    vkvit_status ds = vkvit_image_decode(jb.p, jb.n, "damaged.jpg", &im);
    test_expect(ds == VKVIT_OK && im.width == 40 && im.height == 30, "JPEG with damaged entropy-coded data: %s",
                vkvit_status_string(ds));
    vkvit_image_destroy(&im);
    free(jb.p);
    for (int i = 0; i < 6; i++)
        free(files[i].p);
    free(src), free(sm), free(idx);

    expect_error("empty", vkvit_image_decode("", 0, "empty.png", &im), VKVIT_ERROR_BAD_IMAGE, "empty.png: empty", NULL);
    const char *text = "# Not an image\nJust some text that is long enough to be probed by every decoder.\n";
    expect_error("not an image", vkvit_image_decode(text, strlen(text), "notes.md", &im), VKVIT_ERROR_BAD_IMAGE,
                 "notes.md: not an image stb_image can read (", "unknown image type");
    expect_error("NULL name", vkvit_image_decode(text, strlen(text), NULL, &im), VKVIT_ERROR_BAD_IMAGE,
                 "(image in memory)", NULL);
    expect_error("NULL out", vkvit_image_decode(text, 4, "x", NULL), VKVIT_ERROR_INVALID_ARGUMENT, "out is NULL", NULL);

    /* sizes: read from the header, refused before any decoding or allocation */
    bytes huge = png(20000, 20000, 4, 8, NULL), wide = png(16385, 1, 3, 8, NULL), zero = png(0, 5, 3, 8, NULL);
    double t0 = test_now();
    vkvit_status s = vkvit_image_decode(huge.p, huge.n, "huge.png", &im);
    double ms = (test_now() - t0) * 1e3;
    expect_error("20000x20000 PNG", s, VKVIT_ERROR_BAD_IMAGE, "huge.png: 20000x20000 pixels", "1..16384");
    test_expect(ms < 50, "20000x20000 refused in %.3f ms (from the header, nothing decoded)", ms);
    expect_error("16385x1 PNG", vkvit_image_decode(wide.p, wide.n, "wide.png", &im), VKVIT_ERROR_BAD_IMAGE,
                 "16385x1 pixels", NULL);
    expect_error("0x5 PNG", vkvit_image_decode(zero.p, zero.n, "zero.png", &im), VKVIT_ERROR_BAD_IMAGE, "zero.png",
                 NULL);
    free(huge.p), free(wide.p), free(zero.p);
    unsigned char *line = calloc(16384, 1);
    bytes edge = png(16384, 1, 1, 8, line);
    s = vkvit_image_decode(edge.p, edge.n, "edge.png", &im);
    test_expect(s == VKVIT_OK && im.width == 16384 && im.height == 1, "16384x1 (the largest side) decodes: %s",
                vkvit_status_string(s));
    vkvit_image_destroy(&im);
    free(edge.p), free(line);

    /* files */
    const char *dir = test_temp_dir("test-image");   /* removed at exit */
    char path[512];
    snprintf(path, sizeof path, "%s/missing.png", dir);
    expect_error("missing file", vkvit_image_load(path, &im), VKVIT_ERROR_IO, path, "No such file");
    expect_error("a directory", vkvit_image_load(dir, &im), VKVIT_ERROR_IO, dir, "not a regular file");
    snprintf(path, sizeof path, "%s/empty.jpg", dir);
    test_write_file(path, "", 0);
    expect_error("empty file", vkvit_image_load(path, &im), VKVIT_ERROR_BAD_IMAGE, path, "empty (0 bytes)");
    snprintf(path, sizeof path, "%s/ok.png", dir);
    unsigned char px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    stbi_write_png(path, 3, 1, 4, px, 12);
    s = vkvit_image_load(path, &im);
    test_expect(s == VKVIT_OK && im.width == 3 && im.height == 1 && !memcmp(im.rgba, px, 12), "load %s: %s", path,
                vkvit_status_string(s));
    vkvit_image_destroy(&im);
    vkvit_image_destroy(NULL);
    expect_error("NULL path", vkvit_image_load(NULL, &im), VKVIT_ERROR_INVALID_ARGUMENT, "path is NULL", NULL);
}

/* A decompression bomb: a progressive JPEG of 16 x 16 pixels (a few hundred bytes, written by libjpeg) whose frame
 * header is patched to claim 16384 x 16384. Libjpeg would want 1.5 GB for its coefficients before decoding a pixel;
 * its memory budget (src/image.c) refuses it at once, before our 1 GiB of RGBA is allocated. */
static void test_bomb(void)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *jpg = NULL, row[16 * 3];
    unsigned long n = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &jpg, &n);
    c.image_width = c.image_height = 16;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    for (int i = 0; i < 16 * 3; i++)
        row[i] = (unsigned char)(i * 5);
    while (c.next_scanline < 16) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    vkvit_image im;
    vkvit_status s = vkvit_image_decode(jpg, n, "small.jpg", &im);
    test_expect(s == VKVIT_OK && im.width == 16, "progressive 16x16 (%lu bytes) decodes: %s", n,
                vkvit_status_string(s));
    vkvit_image_destroy(&im);
    size_t at = 2;
    while (at + 9 < n && !(jpg[at] == 0xFF && jpg[at + 1] == 0xC2))
        at++;
    test_expect(at + 9 < n, "libjpeg wrote a progressive frame header (SOF2)");
    if (at + 9 >= n)
        return;
    jpg[at + 5] = jpg[at + 7] = 0x40, jpg[at + 6] = jpg[at + 8] = 0x00; /* height, width: 16384 */
    double t0 = test_now();
    expect_error("16384x16384 progressive JPEG of a few hundred bytes", vkvit_image_decode(jpg, n, "bomb.jpg", &im),
                 VKVIT_ERROR_BAD_IMAGE, "bomb.jpg: a 16384x16384 progressive or multi-scan JPEG needs more than "
                 "the 576 MiB", "Backing store not supported");
    double dt = test_now() - t0;
    test_expect(dt < 1.0, "the bomb is refused before it is decoded: %.3f s", dt);
    free(jpg);
}

int main(void)
{
    uint64_t rng = test_seed();
    test_formats(&rng);
    test_bad(&rng);
    test_bomb();
    return test_finish(NULL);
}
