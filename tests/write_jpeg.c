/* Writes a JPEG with libjpeg's encoder, for what Pillow 9.4's encoder cannot write: restart intervals, YCCK
 * (Adobe transform 2), CMYK and RGB without colour transform, arbitrary sampling factors. The picture is a fixed,
 * photo-like pattern (smooth gradients plus hashed noise), so the same arguments give the same file. Used by
 * python/tests/test_jpeg.py, which decodes the file with vkvit and with PIL and wants the same pixels.
 *   write_jpeg OUT.jpg WIDTH HEIGHT SPACE QUALITY [RESTART_ROWS [PROGRESSIVE [HSAMP VSAMP]]]
 * SPACE: ycc (YCbCr, the usual), rgb, gray, cmyk, ycck. RESTART_ROWS: a restart marker every that many MCU rows
 * (0: none). PROGRESSIVE: 1 for libjpeg's progressive script. HSAMP x VSAMP: the first component's sampling
 * factors (default 2 2: 4:2:0), the others 1 x 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static unsigned sample(uint32_t x, uint32_t y, int c)
{
    uint32_t h = x * 374761393u + y * 668265263u + (uint32_t)c * 2246822519u; /* noise: a few levels */
    h = (h ^ (h >> 13)) * 1274126177u;
    int v = (int)((x * (3 + c) + y * (5 - c)) % 256) / 2 + 60 + (int)(h >> 28) - 8;
    return (unsigned)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: write_jpeg OUT.jpg WIDTH HEIGHT ycc|rgb|gray|cmyk|ycck QUALITY [RESTART_ROWS "
                        "[PROGRESSIVE [HSAMP VSAMP]]]\n");
        return 2;
    }
    uint32_t w = (uint32_t)atoi(argv[2]), h = (uint32_t)atoi(argv[3]);
    const char *space = argv[4];
    int quality = atoi(argv[5]), restart = argc > 6 ? atoi(argv[6]) : 0, progressive = argc > 7 && atoi(argv[7]);
    int hs = argc > 9 ? atoi(argv[8]) : 2, vs = argc > 9 ? atoi(argv[9]) : 2;
    int gray = !strcmp(space, "gray"), four = !strcmp(space, "cmyk") || !strcmp(space, "ycck");
    int comps = gray ? 1 : four ? 4 : 3;
    if (w < 1 || h < 1 || (!gray && !four && strcmp(space, "ycc") && strcmp(space, "rgb"))) {
        fprintf(stderr, "write_jpeg: bad arguments\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err); /* exits on an error: a test tool with its own arguments */
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = gray ? JCS_GRAYSCALE : four ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, gray               ? JCS_GRAYSCALE
                            : !strcmp(space, "ycck") ? JCS_YCCK
                            : !strcmp(space, "cmyk") ? JCS_CMYK
                            : !strcmp(space, "rgb")  ? JCS_RGB
                                                     : JCS_YCbCr);
    jpeg_set_quality(&c, quality, TRUE);
    c.comp_info[0].h_samp_factor = gray ? 1 : hs;
    c.comp_info[0].v_samp_factor = gray ? 1 : vs;
    c.restart_in_rows = restart;
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * comps);
    while (c.next_scanline < h) {
        for (uint32_t x = 0; x < w; x++)
            for (int k = 0; k < comps; k++)
                row[(size_t)x * comps + k] = (unsigned char)sample(x, c.next_scanline, k);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f) != 0;
}
