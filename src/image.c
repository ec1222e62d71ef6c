/* Image files -> RGBA8: JPEG with libjpeg-turbo (Debian's libjpeg62-turbo, through the libjpeg API), everything
 * else with stb_image (Debian's libstb). See vkvit_image_load in include/vkvit.h.
 *
 * JPEG goes to libjpeg because that is what Pillow decodes with, so the pixels are PIL's to the bit and the
 * PIL-exact preprocessing starts from what a PIL/timm/torchvision pipeline starts from (stb_image's IDCT, chroma
 * upsampling and colour conversion round differently: about 3% of the bytes of a photo differ, by up to 11
 * levels). Pillow's settings are libjpeg's defaults (islow DCT, fancy upsampling, no scaling); grey JPEGs come
 * out as R = G = B (PIL's "L" then convert("RGB")), 4-component ones as PIL's "CMYK;I" (always Adobe's inverted
 * polarity) then its CMYK -> RGB. Errors longjmp out of libjpeg (its default error_exit calls exit()); one
 * decompress struct per call, so decoding is thread-safe. A file whose data ends before the image's (libjpeg's
 * "premature end" warning while scanlines are still owed) is refused as truncated, as PIL refuses it unless
 * ImageFile.LOAD_TRUNCATED_IMAGES; libjpeg's other warnings (corrupt data it decodes past) are accepted, as
 * Pillow accepts them.
 *
 * The size is read from the header (our own look at PNG, GIF, BMP, JPEG and PNM headers, then
 * stbi_info or jpeg_read_header) and checked before anything is decoded, so a 20000 x 20000 PNG is refused without
 * allocating its 1.6 GB. stb's decoding goes through its
 * callback reader so that truncation is seen: stb's BMP, TGA, GIF and PNM decoders quietly fill
 * what is missing with zeros, but they have to ask the reader for those bytes first. A file is
 * truncated when the decoder asks to read at the end of the data, skips past it, or asks for a
 * block (other than a refill of stb's 128-byte buffer, which may legitimately come up short at
 * the end) that the file cannot fill. Complete files never do that (checked on every format).
 * Libjpeg's memory for a progressive JPEG is bounded (JPEG_MEMORY_BUDGET below): a small file cannot make it
 * allocate gigabytes. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t without including them */
#include <jerror.h>

#include "status.h"
#include "util/fs.h"

typedef struct reader {
    const unsigned char *data;
    size_t size, at;
    int past_end;
} reader;

enum { STB_REFILL = 128 }; /* sizeof stbi__context.buffer_start: stb's buffered reads ask for this */

static int read_cb(void *user, char *dst, int size)
{
    reader *r = user;
    size_t left = r->size - r->at, n = size > 0 ? (size_t)size : 0;
    if (left == 0 || (n > left && size != STB_REFILL))
        r->past_end = 1;
    if (n > left)
        n = left;
    if (n) /* stb asks for 0 bytes into a NULL buffer after an empty PNG IDAT chunk */
        memcpy(dst, r->data + r->at, n);
    r->at += n;
    return (int)n;
}

static void skip_cb(void *user, int n)
{
    reader *r = user;
    if (n < 0) { /* stb rewinds only within its buffer, but be exact */
        r->at = (size_t)-(long long)n > r->at ? 0 : r->at - (size_t)-(long long)n;
        return;
    }
    if ((size_t)n > r->size - r->at) {
        r->past_end = 1;
        r->at = r->size;
    } else {
        r->at += (size_t)n;
    }
}

static int eof_cb(void *user)
{
    const reader *r = user;
    return r->at >= r->size;
}

/* The size a header announces, for the formats with a fixed place for it (PNG, GIF, BMP, JPEG, PNM):
 * stb's own header scan refuses images over 2^30 bytes without saying their size. */
static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[1] << 8 | p[0]; }
static int64_t le32s(const unsigned char *p) { return (int32_t)(le16(p + 2) << 16 | le16(p)); }

static int pnm_int(const unsigned char *p, size_t n, size_t *at, int64_t *v)
{
    while (*at < n && (p[*at] == ' ' || p[*at] == '\t' || p[*at] == '\n' || p[*at] == '\r' || p[*at] == '#')) {
        if (p[*at] == '#')
            while (*at < n && p[*at] != '\n')
                (*at)++;
        else
            (*at)++;
    }
    if (*at >= n || p[*at] < '0' || p[*at] > '9')
        return 0;
    for (*v = 0; *at < n && p[*at] >= '0' && p[*at] <= '9' && *v < INT32_MAX; (*at)++)
        *v = *v * 10 + (p[*at] - '0');
    return 1;
}

static int sniff_size(const unsigned char *p, size_t n, int64_t *w, int64_t *h)
{
    if (n >= 24 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8) && !memcmp(p + 12, "IHDR", 4)) {
        *w = be32(p + 16), *h = be32(p + 20);
        return 1;
    }
    if (n >= 10 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6))) {
        *w = le16(p + 6), *h = le16(p + 8);
        return 1;
    }
    if (n >= 26 && p[0] == 'B' && p[1] == 'M') {
        *w = le32s(p + 18), *h = le32s(p + 22);
        *h = *h < 0 ? -*h : *h;
        return 1;
    }
    if (n >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '6') {
        size_t at = 2;
        return pnm_int(p, n, &at, w) && pnm_int(p, n, &at, h);
    }
    if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) { /* JPEG: walk the segments to the frame header */
        for (size_t at = 2; at + 9 <= n;) {
            if (p[at] != 0xFF)
                return 0;
            unsigned m = p[at + 1];
            if (m == 0xFF) {
                at++;
                continue;
            }
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
                *h = be16(p + at + 5), *w = be16(p + at + 7);
                return 1;
            }
            at += 2 + be16(p + at + 2);
        }
    }
    return 0;
}

/* ---- JPEG: libjpeg-turbo ----------------------------------------------------------------------------------- */

typedef struct jpeg_errors {
    struct jpeg_error_mgr pub; /* first: libjpeg hands back &pub as cinfo->err */
    jmp_buf jump;
    int data_ended; /* JWRN_JPEG_EOF: libjpeg ran out of bytes and made up an end-of-image marker */
} jpeg_errors;

static void jpeg_error_exit(j_common_ptr c)
{
    longjmp(((jpeg_errors *)(void *)c->err)->jump, 1);
}

/* Warnings (level < 0) and trace messages: nothing printed (libjpeg's default writes to stderr); only the end of
 * the data is remembered. */
static void jpeg_emit_message(j_common_ptr c, int level)
{
    jpeg_errors *e = (jpeg_errors *)(void *)c->err;
    if (level < 0) {
        e->pub.num_warnings++;
        if (e->pub.msg_code == JWRN_JPEG_EOF)
            e->data_ended = 1;
    }
}

/* Pillow's CMYK -> RGB (its Convert.c, on the "CMYK;I" pixels it unpacks from libjpeg: c = 255 - raw):
 * r = (255 - k) - (c (255 - k) + 128) * 257 / 65536 rounded as PIL's MULDIV255, which is raw_k - muldiv(255 - raw_c,
 * raw_k). In place: RGBA from the 4 bytes CMYK libjpeg wrote. */
static void cmyk_to_rgba(unsigned char *px, size_t n)
{
    for (size_t i = 0; i < n; i++, px += 4) {
        unsigned nk = px[3];
        for (int ch = 0; ch < 3; ch++) {
            unsigned t = (255u - px[ch]) * nk + 128;
            px[ch] = (unsigned char)(nk - (((t >> 8) + t) >> 8));
        }
        px[3] = 255;
    }
}

/* What libjpeg may hold besides our RGBA output. A baseline (sequential) JPEG needs only a few MCU rows of buffers
 * (a few MB at 16384 wide); a progressive or multi-scan one keeps every DCT coefficient of the image (2 bytes per
 * sample: 6 bytes a pixel at 4:4:4, 3 at 4:2:0, 8 for CMYK) from jpeg_start_decompress to the end, and a tiny file
 * can declare 16384 x 16384, asking for 1.5 GB before a pixel is decoded. Libjpeg-turbo's jmemnobs hands out no
 * more than max_memory_to_use for those whole-image arrays and then fails with JERR_NO_BACKING_STORE ("Backing store
 * not supported"), which the error manager below turns into VKVIT_ERROR_BAD_IMAGE. 512 MiB holds the coefficients
 * of a 4:4:4 progressive image of 89.5 Mpx (PIL's Image.MAX_IMAGE_PIXELS, where Pillow starts warning of a
 * decompression bomb; PIL refuses outright at twice that, and so also every progressive 16384 x 16384); 64 MiB
 * more covers libjpeg's other buffers at 16384 wide. Measured (PIL-written files, peak RSS with our RGBA): a
 * progressive 4000 x 3000 decodes in 117 MB at 4:4:4, a progressive 9459 x 9459 (89.5 Mpx) 4:4:4 in 859 MB, a
 * baseline 16384 x 16384 in 1041 MB; a progressive 16384 x 16384 (4:2:0, 768 MiB of coefficients) is refused in
 * 0.04 s. */
#define JPEG_MEMORY_BUDGET ((512L + 64L) << 20)

static vkvit_status decode_jpeg(const unsigned char *data, size_t size, const char *name, vkvit_image *out)
{
    struct jpeg_decompress_struct c;
    jpeg_errors err;
    unsigned char *volatile px = NULL; /* volatile: read after a longjmp */
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_error_exit;
    err.pub.emit_message = jpeg_emit_message;
    err.data_ended = 0;
    if (setjmp(err.jump)) {
        char why[JMSG_LENGTH_MAX];
        err.pub.format_message((j_common_ptr)&c, why);
        int oom = err.pub.msg_code == JERR_OUT_OF_MEMORY;
        int ended = err.data_ended, bomb = err.pub.msg_code == JERR_NO_BACKING_STORE;
        unsigned c_w = c.image_width, c_h = c.image_height; /* 0 before the header is read */
        jpeg_destroy_decompress(&c);
        free(px);
        if (oom)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory decoding the JPEG (libjpeg: %s)", name,
                        why);
        if (ended)
            return fail(VKVIT_ERROR_BAD_IMAGE, "%s: truncated: the file (%zu bytes) ends before the JPEG data does "
                        "(libjpeg: %s)", name, size, why);
        if (bomb)
            return fail(VKVIT_ERROR_BAD_IMAGE, "%s: a %ux%u progressive or multi-scan JPEG needs more than the %ld MiB "
                        "libjpeg is allowed for its coefficients (a decompression bomb?) (libjpeg: %s)", name,
                        c_w, c_h, (long)(JPEG_MEMORY_BUDGET >> 20), why);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: corrupt or unsupported JPEG (libjpeg: %s)", name, why);
    }
    jpeg_create_decompress(&c);
    c.mem->max_memory_to_use = JPEG_MEMORY_BUDGET;
    jpeg_mem_src(&c, data, (unsigned long)size);
    jpeg_read_header(&c, TRUE);
    uint32_t w = c.image_width, h = c.image_height;
    if (w == 0 || h == 0 || w > VKVIT_MAX_IMAGE_SIDE || h > VKVIT_MAX_IMAGE_SIDE) {
        jpeg_destroy_decompress(&c);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: %ux%u pixels; each side must be 1..%d", name, w, h,
                    VKVIT_MAX_IMAGE_SIDE);
    }
    const int cmyk = c.num_components == 4;
    /* Pillow's mode by component count: 1 "L", 3 "RGB", 4 "CMYK"; libjpeg converts (grey is replicated, YCbCr or
     * RGB to RGB; YCCK to CMYK) and 2 components fail here as libjpeg cannot convert them. */
    c.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBA;
    jpeg_start_decompress(&c);
    if (c.output_width != w || c.output_height != h || c.output_components != 4) {
        jpeg_destroy_decompress(&c);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: libjpeg gives %ux%u pixels of %d components for a %ux%u JPEG", name,
                    c.output_width, c.output_height, c.output_components, w, h);
    }
    px = malloc((size_t)w * h * 4);
    if (!px) {
        jpeg_destroy_decompress(&c);
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for %ux%u pixels", name, w, h);
    }
    while (c.output_scanline < h && !err.data_ended) {
        JSAMPROW rows[4];
        JDIMENSION n = h - c.output_scanline < 4 ? h - c.output_scanline : 4;
        for (JDIMENSION i = 0; i < n; i++)
            rows[i] = px + (size_t)(c.output_scanline + i) * w * 4;
        jpeg_read_scanlines(&c, rows, n);
    }
    /* The data ran out while pixels were still owed: libjpeg made the rest up (grey or repeated rows). */
    if (err.data_ended) {
        JDIMENSION at = c.output_scanline;
        jpeg_destroy_decompress(&c);
        free(px);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: truncated: the file (%zu bytes) ends before the %ux%u JPEG's data "
                    "does (libjpeg ran out of data with %u of its rows read)", name, size, w, h, at);
    }
    jpeg_finish_decompress(&c); /* reads to the end-of-image marker; a file that lacks only that is whole */
    jpeg_destroy_decompress(&c);
    if (cmyk)
        cmyk_to_rgba(px, (size_t)w * h);
    out->rgba = px;
    out->width = w;
    out->height = h;
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_image_decode(const void *data, size_t size, const char *name, vkvit_image *out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_image_decode: out is NULL");
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(image in memory)";
    if (!data && size)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: data is NULL", name);
    if (size == 0)
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: empty (0 bytes)", name);
    if (size > INT_MAX)
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: %zu bytes, more than stb_image reads (%d)", name, size, INT_MAX);
    int w = 0, h = 0, comp = 0;
    int64_t hw = 0, hh = 0;
    int sniffed = sniff_size(data, size, &hw, &hh);
    if (sniffed && (hw <= 0 || hh <= 0 || hw > VKVIT_MAX_IMAGE_SIDE || hh > VKVIT_MAX_IMAGE_SIDE))
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: %lldx%lld pixels; each side must be 1..%d", name, (long long)hw,
                    (long long)hh, VKVIT_MAX_IMAGE_SIDE);
    /* JPEG: what stb_image would take for one too (0xD8 after any number of 0xFF fill bytes; no other format it
     * reads starts so) goes to libjpeg, which refuses a file that does not start with FF D8, as PIL does. stb's own
     * JPEG decoder is never reached: it writes past a Huffman table whose code counts add up to more than 256
     * (stb_image.h 2.27's stbi__build_huffman, found by tests/fuzz_image; tests/fuzz_image_corpus/stb-dht.jpg). */
    const unsigned char *bytes = data;
    size_t fill = 0;
    while (fill < size && bytes[fill] == 0xFF)
        fill++;
    if (fill >= 1 && fill < size && bytes[fill] == 0xD8)
        return decode_jpeg(bytes, size, name, out);
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        if (sniffed)
            return fail(VKVIT_ERROR_BAD_IMAGE, "%s: a %lldx%lld image stb_image cannot read (%s)", name, (long long)hw,
                        (long long)hh, stbi_failure_reason());
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: not an image stb_image can read (%s)", name, stbi_failure_reason());
    }
    if (w <= 0 || h <= 0 || w > VKVIT_MAX_IMAGE_SIDE || h > VKVIT_MAX_IMAGE_SIDE)
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: %dx%d pixels; each side must be 1..%d", name, w, h,
                    VKVIT_MAX_IMAGE_SIDE);
    stbi_set_flip_vertically_on_load_thread(0); /* whatever the application set for itself */
    reader r = {data, size, 0, 0};
    const stbi_io_callbacks cb = {read_cb, skip_cb, eof_cb};
    int dw = 0, dh = 0;
    unsigned char *px = stbi_load_from_callbacks(&cb, &r, &dw, &dh, &comp, 4);
    /* Truncation first: a decoder that ran out of data may report a stale reason from a format probe. */
    if (r.past_end) {
        stbi_image_free(px);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: truncated: the file (%zu bytes) ends before the %dx%d image's data "
                    "does", name, size, w, h);
    }
    if (!px) {
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "outofmem"))
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory decoding %dx%d pixels", name, w, h);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: cannot decode the %dx%d image (stb_image: %s): corrupt or truncated",
                    name, w, h, why ? why : "?");
    }
    if (dw != w || dh != h) {
        stbi_image_free(px);
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: the header says %dx%d, the data %dx%d", name, w, h, dw, dh);
    }
    out->rgba = px; /* stb allocates with malloc (STBI_MALLOC's default), as decode_jpeg does */
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    return VKVIT_OK;
}

VKVIT_API vkvit_status vkvit_image_load(const char *path, vkvit_image *out)
{
    if (!out)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_image_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "vkvit_image_load: path is NULL");
    char *buf = NULL;
    size_t size = 0;
    vkvit_status s;
    switch (fs_read_file(path, INT_MAX, &buf, &size)) {
    case FS_OK:
        s = vkvit_image_decode(buf, size, path, out);
        free(buf);
        return s;
    case FS_NOT_FOUND:
    case FS_CANNOT_OPEN:
        return fail(VKVIT_ERROR_IO, "%s: cannot open (%s)", path, strerror(errno));
    case FS_NOT_REGULAR:
        return fail(VKVIT_ERROR_IO, "%s: not a regular file", path);
    case FS_TOO_BIG:
        return fail(VKVIT_ERROR_BAD_IMAGE, "%s: more bytes than stb_image reads (%d)", path, INT_MAX);
    case FS_NO_MEMORY:
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: reading the file", path);
    case FS_READ_ERROR:
        break;
    }
    return fail(VKVIT_ERROR_IO, "%s: cannot read (%s)", path, strerror(errno));
}

VKVIT_API void vkvit_image_destroy(vkvit_image *image)
{
    if (!image)
        return;
    free(image->rgba); /* stb_image's pixels (STBI_FREE's default is free) or decode_jpeg's */
    memset(image, 0, sizeof *image);
}
