/*
 * Checks a frame rendered by vkvit-viewer against what it must show.
 *
 *   check_viewer_png FRAME.png NO_OVERLAY.png SOURCE_IMAGE IX IY IW IH LX LY LW LH [SAME.png]
 *
 * FRAME is a render with the heat map, NO_OVERLAY the same frame with --no-overlay, SOURCE the photo
 * it shows; IX IY IW IH is where the viewer drew the photo and LX LY LW LH its labels (the
 * "layout" line of --headless). Checks, each printed:
 *   labels   every one of the five label rows has text pixels; the top-1 bar has its colour; the
 *            label region is the same in both renders
 *   overlay  the photo area differs between the renders over at least a quarter of its pixels,
 *            and the heat map's hot end (yellow-white) appears in FRAME more than in NO_OVERLAY
 *            (so the photo should not be yellow-white itself: the tests use a cat and grey
 *            Fashion-MNIST items)
 *   photo    NO_OVERLAY's photo area matches SOURCE reduced to 32x32 cells (mean error per channel),
 *            and the pixels around it are background
 *   same     (with SAME.png, e.g. a windowed screenshot) SAME's photo and label areas equal FRAME's
 * Exit status 0 when all pass.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <stb_image.h>

typedef struct image {
    unsigned char *px; /* RGBA */
    int w, h;
} image;

typedef struct rect {
    int x, y, w, h;
} rect;

static int failures;

static void check(int ok, const char *what, const char *detail_fmt, double a, double b)
{
    printf("%-5s %s (", ok ? "ok" : "FAIL", what);
    printf(detail_fmt, a, b);
    printf(")\n");
    failures += !ok;
}

static image load(const char *path)
{
    image im = {0};
    int c;
    im.px = stbi_load(path, &im.w, &im.h, &c, 4);
    if (!im.px) {
        fprintf(stderr, "check_viewer_png: cannot read %s: %s\n", path, stbi_failure_reason());
        exit(1);
    }
    return im;
}

static const unsigned char *at(const image *im, int x, int y) { return im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 4; }

static int inside(const image *im, rect r) { return r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0 && r.x + r.w <= im->w && r.y + r.h <= im->h; }

/* Text is drawn in light greys; bars and the photo are coloured or darker. */
static int is_text(const unsigned char *p)
{
    int lo = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
    int hi = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
    return lo >= 130 && hi - lo <= 20;
}

/* The top-1 bar's orange. */
static int is_top_bar(const unsigned char *p) { return p[0] > 200 && p[1] > 120 && p[1] < 220 && p[2] < 100; }

/* The hot end of the heat map: yellow-white, blue clearly below red and green. */
static int is_hot(const unsigned char *p) { return p[0] > 200 && p[1] > 190 && p[2] < p[0] - 50; }

static double max_abs_diff(const image *a, const image *b, rect r)
{
    int worst = 0;
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++)
            for (int k = 0; k < 3; k++) {
                int d = abs(at(a, x, y)[k] - at(b, x, y)[k]);
                worst = d > worst ? d : worst;
            }
    return worst;
}

static void check_labels(const image *frame, const image *plain, rect l)
{
    int band_h = l.h / 5, weakest = 1 << 30, bar = 0;
    for (int band = 0; band < 5; band++) {
        int text = 0;
        for (int y = l.y + band * band_h; y < l.y + (band + 1) * band_h; y++)
            for (int x = l.x; x < l.x + l.w; x++) {
                text += is_text(at(frame, x, y));
                bar += band == 0 && is_top_bar(at(frame, x, y));
            }
        weakest = text < weakest ? text : weakest;
    }
    check(weakest >= 20, "labels: text in each of the 5 label rows", "fewest text pixels in a row %.0f, need %.0f",
          weakest, 20);
    check(bar >= 10, "labels: the top-1 probability bar", "%.0f bar pixels, need %.0f", bar, 10);
    check(max_abs_diff(frame, plain, l) == 0, "labels: identical with and without the overlay",
          "largest difference %.0f, want %.0f", max_abs_diff(frame, plain, l), 0);
}

static void check_overlay(const image *frame, const image *plain, rect r)
{
    long changed = 0, hot = 0, hot_plain = 0, n = (long)r.w * r.h;
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) {
            const unsigned char *a = at(frame, x, y), *b = at(plain, x, y);
            changed += abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]) > 24;
            hot += is_hot(a);
            hot_plain += is_hot(b);
        }
    /* Not all of it: where attention is lowest the map is near black, which leaves black unchanged. */
    check(changed * 4 > n, "overlay: the photo area changes with the heat map", "%.1f%% of pixels, need %.0f%%",
          100.0 * (double)changed / (double)n, 25);
    check(hot >= hot_plain + 20, "overlay: the heat map's hot colour appears",
          "%.0f hot pixels with the overlay, %.0f without", (double)hot, (double)hot_plain);
}

/* The area-weighted mean of channel k over [x0, x1) x [y0, y1) in photo pixels (fractional edges). */
static double source_mean(const image *src, double x0, double y0, double x1, double y1, int k)
{
    double sum = 0, area = 0;
    for (int y = (int)floor(y0); y < (int)ceil(y1) && y < src->h; y++)
        for (int x = (int)floor(x0); x < (int)ceil(x1) && x < src->w; x++) {
            double wx = fmin(x1, x + 1.0) - fmax(x0, x), wy = fmin(y1, y + 1.0) - fmax(y0, y);
            sum += wx * wy * at(src, x, y)[k], area += wx * wy;
        }
    return area > 0 ? sum / area : 0;
}

static void check_photo(const image *plain, const image *src, rect r)
{
    const int cells = 32;
    double err = 0;
    for (int cy = 0; cy < cells; cy++)
        for (int cx = 0; cx < cells; cx++) {
            int x0 = r.x + r.w * cx / cells, x1 = r.x + r.w * (cx + 1) / cells;
            int y0 = r.y + r.h * cy / cells, y1 = r.y + r.h * (cy + 1) / cells;
            for (int k = 0; k < 3; k++) {
                double sum = 0;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        sum += at(plain, x, y)[k];
                double shown = sum / ((x1 - x0) * (y1 - y0));
                double sx = (double)src->w / r.w, sy = (double)src->h / r.h;
                double want = source_mean(src, (x0 - r.x) * sx, (y0 - r.y) * sy, (x1 - r.x) * sx, (y1 - r.y) * sy, k);
                err += fabs(shown - want);
            }
        }
    err /= cells * cells * 3;
    check(err < 3, "photo: the photo where the layout puts it", "mean error %.2f per channel over 32x32 cells, need < %.0f",
          err, 3);
    /* Around the photo: the dark letterbox or background, not more photo. */
    int brightest = 0;
    for (int y = r.y - 1; y <= r.y + r.h; y++)
        for (int x = r.x - 1; x <= r.x + r.w; x++) {
            bool ring = y == r.y - 1 || y == r.y + r.h || x == r.x - 1 || x == r.x + r.w;
            if (!ring || x < 0 || y < 0 || x >= plain->w || y >= plain->h)
                continue;
            for (int k = 0; k < 3; k++)
                brightest = at(plain, x, y)[k] > brightest ? at(plain, x, y)[k] : brightest;
        }
    check(brightest <= 40, "photo: nothing but background around it", "brightest channel %.0f, allowed %.0f",
          brightest, 40);
}

int main(int argc, char **argv)
{
    if (argc != 12 && argc != 13) {
        fprintf(stderr, "usage: check_viewer_png FRAME.png NO_OVERLAY.png SOURCE IX IY IW IH LX LY LW LH [SAME.png]\n");
        return 2;
    }
    image frame = load(argv[1]), plain = load(argv[2]), src = load(argv[3]);
    rect img = {atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7])};
    rect lab = {atoi(argv[8]), atoi(argv[9]), atoi(argv[10]), atoi(argv[11])};
    if (frame.w != plain.w || frame.h != plain.h || !inside(&frame, img) || !inside(&frame, lab)) {
        fprintf(stderr, "check_viewer_png: frames of different sizes, or the layout lies outside them\n");
        return 1;
    }
    check_labels(&frame, &plain, lab);
    check_overlay(&frame, &plain, img);
    check_photo(&plain, &src, img);
    if (argc == 13) {
        image same = load(argv[12]);
        if (same.w != frame.w || same.h != frame.h) {
            check(0, "same: the size of the frame", "%.0f x %.0f", same.w, same.h);
        } else {
            check(max_abs_diff(&same, &frame, img) <= 2, "same: the photo area as in the frame",
                  "largest difference %.0f, allowed %.0f", max_abs_diff(&same, &frame, img), 2);
            check(max_abs_diff(&same, &frame, lab) <= 2, "same: the labels as in the frame",
                  "largest difference %.0f, allowed %.0f", max_abs_diff(&same, &frame, lab), 2);
        }
        stbi_image_free(same.px);
    }
    stbi_image_free(frame.px);
    stbi_image_free(plain.px);
    stbi_image_free(src.px);
    return failures ? 1 : 0;
}
