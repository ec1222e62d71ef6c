/*
 * Checks a frame written by embed_demo --png against what the demo says it drew.
 *
 *   check_embed_png FRAME.png WIDTH HEIGHT X Y W H SCALE TITLE DETAIL
 *
 * X Y W H SCALE TITLE DETAIL are the demo's "label at ..." / "label title:" / "label detail:" lines.
 * Checks, each printed:
 *   size   the PNG is WIDTH x HEIGHT
 *   label  the box at X Y W H equals the label drawn again here from TITLE and DETAIL by the demo's own
 *          code (examples/embed_demo_label.c), pixel for pixel, and it has text in it: the frame shows
 *          that label, legibly, where the demo says
 *   scene  the rest of the frame is a picture, not a blank or a clear colour (its grey levels spread)
 * Exit status 0 when all pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "embed_demo_label.h"

static int failures;

static void report(int ok, const char *what, const char *detail)
{
    printf("%-5s %s (%s)\n", ok ? "ok" : "FAIL", what, detail);
    failures += !ok;
}

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: check_embed_png FRAME.png WIDTH HEIGHT X Y W H SCALE TITLE DETAIL\n");
        return 2;
    }
    int want_w = atoi(argv[2]), want_h = atoi(argv[3]), x = atoi(argv[4]), y = atoi(argv[5]);
    int w = atoi(argv[6]), h = atoi(argv[7]), c;
    demo_label label = {.title = argv[9], .detail = argv[10], .scale = atoi(argv[8])};
    int fw, fh;
    unsigned char *px = stbi_load(argv[1], &fw, &fh, &c, 4);
    char detail[256];
    if (!px) {
        fprintf(stderr, "check_embed_png: cannot read %s: %s\n", argv[1], stbi_failure_reason());
        return 1;
    }
    snprintf(detail, sizeof detail, "%dx%d, expected %dx%d", fw, fh, want_w, want_h);
    report(fw == want_w && fh == want_h, "size", detail);

    /* The label, drawn again at the size the demo reports. */
    uint32_t lw, lh;
    demo_label_measure(&label, (uint32_t)w, &lw, &lh);
    int inside = x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= fw && y + h <= fh;
    int same_size = (int)lw == w && (int)lh == h;
    unsigned char *ref = inside && same_size ? malloc((size_t)w * h * 4) : NULL;
    long differ = 0, text = 0;
    if (ref) {
        demo_label_draw(&label, ref, lw, lh);
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++) {
                const unsigned char *a = px + ((size_t)(y + j) * fw + (x + i)) * 4, *b = ref + ((size_t)j * w + i) * 4;
                differ += memcmp(a, b, 3) != 0;
                text += b[0] > 128; /* the box is dark, the text light */
            }
    }
    if (ref)
        snprintf(detail, sizeof detail, "\"%s\" / \"%s\" at %d %d %d %d: %ld of %ld pixels differ, %ld text pixels",
                 label.title, label.detail, x, y, w, h, differ, (long)w * h, text);
    else
        snprintf(detail, sizeof detail, "\"%s\" / \"%s\": drawn again it is %ux%u; the box at %d %d is %dx%d%s",
                 label.title, label.detail, lw, lh, x, y, w, h, inside ? "" : ", not inside the frame");
    report(ref && differ == 0 && text > 50, "label", detail);
    free(ref);

    /* The scene: the grey levels outside the label spread like a photo's. */
    double sum = 0, sum2 = 0;
    long n = 0;
    for (int j = 0; j < fh; j++)
        for (int i = 0; i < fw; i++) {
            if (i >= x && i < x + w && j >= y && j < y + h)
                continue;
            const unsigned char *p = px + ((size_t)j * fw + i) * 4;
            double grey = (p[0] + p[1] + p[2]) / 3.0;
            sum += grey, sum2 += grey * grey, n++;
        }
    double mean = n ? sum / n : 0, sd = n ? sqrt(fmax(0, sum2 / n - mean * mean)) : 0;
    snprintf(detail, sizeof detail, "grey level mean %.1f, standard deviation %.1f (> 10)", mean, sd);
    report(sd > 10, "scene", detail);
    stbi_image_free(px);
    return failures ? 1 : 0;
}
