/* The viewer's frame composed on the CPU: letterboxed photo, attention heat map, labels, bars, the features'
 * PCA picture, text. */
#include "viewer_frame.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

typedef struct canvas {
    uint8_t *px;            /* [h][w][4] RGBA */
    int w, h;
} canvas;

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

static const rgb BACKGROUND = {22, 22, 26}, LETTERBOX = {10, 10, 12}, TEXT = {235, 235, 235},
                 DIM_TEXT = {150, 150, 160}, BAR_TRACK = {48, 48, 56}, BAR_TOP = {255, 170, 40},
                 BAR_OTHER = {90, 150, 230}, ERROR_TEXT = {255, 110, 90};

/* The heat map's weight over the photo rises with the attention (HEAT_ALPHA0 at none, + HEAT_ALPHA1
 * at the most), on a square-root scale so that the few strongest patches do not hide the rest; the
 * part of the photo the model did not see is darkened to OUTSIDE_VIEW. */
#define HEAT_ALPHA0 0.25f
#define HEAT_ALPHA1 0.65f
#define OUTSIDE_VIEW 0.3f

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void fill_rect(canvas *c, int x0, int y0, int x1, int y1, rgb color)
{
    x0 = imax(x0, 0), y0 = imax(y0, 0), x1 = imin(x1, c->w), y1 = imin(y1, c->h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 4;
            p[0] = color.r, p[1] = color.g, p[2] = color.b, p[3] = 255;
        }
}

/* ---- text: stb_easy_font's quads, each an axis-aligned rectangle, filled at `scale` pixels per unit ---- */

#define TEXT_MAX 160

/* Pixels per font unit for a frame `height` pixels high, and the line pitch (stb_easy_font's 12 units). */
static int font_scale(uint32_t height) { return imax(1, imin(4, (int)height / 320)); }
static int line_height(int scale) { return 12 * scale; }

/* stb_easy_font indexes its glyph table by (c - 32) and knows printable ASCII only: anything else
 * (UTF-8 bytes of a file name, a tab) becomes '?'. */
static void printable_copy(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = src[i] >= 32 && src[i] <= 126 ? src[i] : '?';
    dst[i] = 0;
}

static int text_width(const char *text, int scale)
{
    char buf[TEXT_MAX];
    printable_copy(buf, sizeof buf, text);
    return stb_easy_font_width(buf) * scale;
}

/* Draws one line with its top-left at (x, y), cut with "..." to at most max_w pixels. */
static void draw_text(canvas *c, int x, int y, int scale, rgb color, const char *text, int max_w)
{
    char buf[TEXT_MAX];
    printable_copy(buf, sizeof buf, text);
    for (size_t n = strlen(buf); n > 3 && stb_easy_font_width(buf) * scale > max_w; n--)
        memcpy(buf + n - 4, "...", 4);
    /* Quads of 4 vertices of {float x, y, z; uint8 rgba[4]}, ~270 bytes per character. */
    static float quads[TEXT_MAX * 80];
    int nq = stb_easy_font_print(0, 0, buf, NULL, quads, (int)sizeof quads);
    for (int q = 0; q < nq; q++) {
        const float *v0 = quads + (size_t)q * 16;     /* vertex 0: the top-left corner      */
        const float *v2 = quads + (size_t)q * 16 + 8; /* vertex 2: the bottom-right corner  */
        fill_rect(c, x + (int)lroundf(v0[0] * (float)scale), y + (int)lroundf(v0[1] * (float)scale),
                  x + (int)lroundf(v2[0] * (float)scale), y + (int)lroundf(v2[1] * (float)scale), color);
    }
}

/* Draws `text` over as many lines as it needs at most max_w wide, breaking at spaces where it can. */
static void draw_wrapped(canvas *c, int x, int y, int scale, rgb color, const char *text, int max_w)
{
    char line[TEXT_MAX];
    while (*text && y < c->h) {
        size_t n = 0, fit = 0, last_space = 0;
        for (; text[n] && n + 1 < sizeof line; n++) {
            memcpy(line, text, n + 1);
            line[n + 1] = 0;
            if (text_width(line, scale) > max_w)
                break;
            fit = n + 1;
            if (text[n] == ' ')
                last_space = n + 1;
        }
        if (text[fit] && last_space)
            fit = last_space;
        if (fit == 0)
            fit = 1;
        snprintf(line, sizeof line, "%.*s", (int)fit, text);
        draw_text(c, x, y, scale, color, line, max_w);
        text += fit;
        y += line_height(scale);
    }
}

/* ---- the photo ------------------------------------------------------------------------------------------ */

/* The photo's colour over the source rectangle [x0, x1) x [y0, y1) (in photo pixels): a box average
 * when it covers several pixels (downscaling), bilinear when it is smaller than one (mild
 * upscaling), the nearest pixel for large upscaling (tiny images such as 28x28 stay crisp). */
static void sample_photo(const vkvit_image *im, float x0, float y0, float x1, float y1, float out[3])
{
    int w = (int)im->width, h = (int)im->height;
    float fw = x1 - x0;
    if (fw >= 1.5f) {
        int ix0 = (int)x0, iy0 = (int)y0, ix1 = imax(ix0 + 1, (int)ceilf(x1)), iy1 = imax(iy0 + 1, (int)ceilf(y1));
        ix1 = imin(ix1, w), iy1 = imin(iy1, h);
        float sum[3] = {0, 0, 0};
        for (int y = iy0; y < iy1; y++)
            for (int x = ix0; x < ix1; x++)
                for (int k = 0; k < 3; k++)
                    sum[k] += im->rgba[((size_t)y * (size_t)w + (size_t)x) * 4 + (size_t)k];
        float n = (float)((ix1 - ix0) * (iy1 - iy0));
        for (int k = 0; k < 3; k++)
            out[k] = sum[k] / n;
        return;
    }
    float cx = (x0 + x1) * 0.5f - 0.5f, cy = (y0 + y1) * 0.5f - 0.5f;
    if (fw < 1.0f / 3) {
        cx = floorf(cx + 0.5f), cy = floorf(cy + 0.5f);
    }
    cx = clampf(cx, 0, (float)(w - 1)), cy = clampf(cy, 0, (float)(h - 1));
    int xa = (int)cx, ya = (int)cy, xb = imin(xa + 1, w - 1), yb = imin(ya + 1, h - 1);
    float tx = cx - (float)xa, ty = cy - (float)ya;
    for (int k = 0; k < 3; k++) {
#define PX(x, y) ((float)im->rgba[((size_t)(y) * (size_t)w + (size_t)(x)) * 4 + (size_t)k])
        float top = PX(xa, ya) + (PX(xb, ya) - PX(xa, ya)) * tx;
        float bottom = PX(xa, yb) + (PX(xb, yb) - PX(xa, yb)) * tx;
#undef PX
        out[k] = top + (bottom - top) * ty;
    }
}

/* A perceptually ordered dark-to-bright map (after matplotlib's "inferno"), v in [0, 1]. */
static void heat_colour(float v, float out[3])
{
    static const float stops[8][3] = {{0, 0, 4},       {40, 11, 84},   {101, 21, 110}, {159, 42, 99},
                                      {212, 72, 66},   {245, 125, 21}, {250, 193, 39}, {252, 255, 164}};
    float t = clampf(v, 0, 1) * 7;
    int i = imin((int)t, 6);
    float f = t - (float)i;
    for (int k = 0; k < 3; k++)
        out[k] = stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f;
}

/* The heat map at photo position (px, py), bilinear between patch centres; < 0 outside the view. */
static float heat_at(const viewer_scene *s, float px, float py)
{
    if (px < s->view_x0 || px >= s->view_x1 || py < s->view_y0 || py >= s->view_y1)
        return -1;
    const int rows = (int)s->grid, cols = s->grid_w ? (int)s->grid_w : rows;
    float u = clampf((px - s->view_x0) / (s->view_x1 - s->view_x0) * (float)cols - 0.5f, 0, (float)cols - 1);
    float v = clampf((py - s->view_y0) / (s->view_y1 - s->view_y0) * (float)rows - 0.5f, 0, (float)rows - 1);
    int ua = (int)u, va = (int)v, ub = imin(ua + 1, cols - 1), vb = imin(va + 1, rows - 1);
    float tu = u - (float)ua, tv = v - (float)va;
    const float *h = s->heat;
    float top = h[va * cols + ua] * (1 - tu) + h[va * cols + ub] * tu;
    float bottom = h[vb * cols + ua] * (1 - tu) + h[vb * cols + ub] * tu;
    return top * (1 - tv) + bottom * tv;
}

static void draw_photo(canvas *c, const viewer_scene *s, const viewer_layout *l)
{
    const vkvit_image *im = s->image;
    float step_x = (float)im->width / (float)l->image_w, step_y = (float)im->height / (float)l->image_h;
    for (int y = 0; y < l->image_h; y++) {
        float sy0 = (float)y * step_y, sy1 = sy0 + step_y;
        uint8_t *row = c->px + ((size_t)(l->image_y + y) * (size_t)c->w + (size_t)l->image_x) * 4;
        for (int x = 0; x < l->image_w; x++) {
            float sx0 = (float)x * step_x, sx1 = sx0 + step_x, px[3];
            sample_photo(im, sx0, sy0, sx1, sy1, px);
            if (s->heat) {
                float h = heat_at(s, (sx0 + sx1) * 0.5f, (sy0 + sy1) * 0.5f);
                if (h < 0) {
                    for (int k = 0; k < 3; k++)
                        px[k] *= OUTSIDE_VIEW;
                } else {
                    float hc[3];
                    h = sqrtf(h);
                    heat_colour(h, hc);
                    for (int k = 0; k < 3; k++)
                        px[k] += (hc[k] - px[k]) * (HEAT_ALPHA0 + HEAT_ALPHA1 * h);
                }
            }
            for (int k = 0; k < 3; k++)
                row[x * 4 + k] = (uint8_t)lroundf(clampf(px[k], 0, 255));
            row[x * 4 + 3] = 255;
        }
    }
}

/* ---- labels and bars ------------------------------------------------------------------------------------ */

static void draw_labels(canvas *c, const viewer_scene *s, const viewer_layout *l, int scale)
{
    int lh = line_height(scale), y = l->labels_y;
    for (uint32_t i = 0; i < s->top_count && i < VIEWER_TOP_K; i++) {
        const vkvit_prediction *p = &s->top[i];
        char pct[32], name[TEXT_MAX];
        snprintf(pct, sizeof pct, "%.1f%%", (double)p->probability * 100);
        if (p->label) /* the first of ImageNet's synonyms: "tabby, tabby cat" -> "tabby" */
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p->label, ","), p->label);
        else
            snprintf(name, sizeof name, "class %u", p->index);
        int pct_w = text_width(pct, scale);
        draw_text(c, l->labels_x, y, scale, i == 0 ? TEXT : DIM_TEXT, name, l->labels_w - pct_w - 2 * scale);
        draw_text(c, l->labels_x + l->labels_w - pct_w, y, scale, DIM_TEXT, pct, pct_w);
        y += lh;
        int bar_h = 5 * scale, fill = (int)lroundf(clampf(p->probability, 0, 1) * (float)l->labels_w);
        fill_rect(c, l->labels_x, y, l->labels_x + l->labels_w, y + bar_h, BAR_TRACK);
        fill_rect(c, l->labels_x, y, l->labels_x + fill, y + bar_h, i == 0 ? BAR_TOP : BAR_OTHER);
        y += bar_h + lh;
    }
}

static int help_lines(const char *help)
{
    int lines = 1;
    for (const char *p = help; *p; p++)
        lines += *p == '\n';
    return lines;
}

/* The PCA picture under the labels (below `above`), a caption over it, as large as fits above the help
 * lines (help_top), or, when that is less than 4 lines high, down to `bottom` in place of the help; one
 * block per patch (nearest neighbour). Returns the lowest y it used (`above` when nothing was drawn). */
static int draw_pca(canvas *c, const viewer_scene *s, const viewer_layout *l, int above, int help_top, int bottom,
                    int scale)
{
    const int lh = line_height(scale), top = above + lh / 2 + lh;
    const int rows = (int)s->grid, cols = s->grid_w ? (int)s->grid_w : rows;
    int room = help_top - lh - top;
    if (imin(l->labels_w, room) < 4 * lh)
        room = bottom - top;
    int w = l->labels_w, h = (int)((int64_t)w * rows / cols); /* the grid's aspect, as wide as the panel */
    if (h > room)
        h = room, w = (int)((int64_t)h * cols / rows);
    if (w < cols || h < rows)
        return above;
    draw_text(c, l->labels_x, top - lh, scale, DIM_TEXT, "patch tokens: PCA as RGB", l->labels_w);
    for (int y = 0; y < h; y++) {
        const int gy = (int)((int64_t)y * rows / h);
        uint8_t *row = c->px + ((size_t)(top + y) * (size_t)c->w + (size_t)l->labels_x) * 4;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = s->pca + ((size_t)gy * (size_t)cols + (size_t)((int64_t)x * cols / w)) * 3;
            row[x * 4 + 0] = p[0], row[x * 4 + 1] = p[1], row[x * 4 + 2] = p[2], row[x * 4 + 3] = 255;
        }
    }
    return top + h;
}

/* The help lines, bottom-aligned at `bottom` in the label panel if they fit below `above` (the lowest y
 * used there); a tab starts the second column (the font is proportional, so columns are placed, not padded). */
static void draw_help(canvas *c, const char *help, const viewer_layout *l, int above, int bottom, int scale)
{
    int lines = help_lines(help), lh = line_height(scale), column = 8 * 6 * scale;
    int y = bottom - lines * lh;
    if (y < above + lh)
        return;
    for (const char *p = help; *p; y += lh) {
        size_t n = strcspn(p, "\n"), key = strcspn(p, "\t\n");
        char text[TEXT_MAX];
        snprintf(text, sizeof text, "%.*s", (int)(key < TEXT_MAX - 1 ? key : TEXT_MAX - 1), p);
        draw_text(c, l->labels_x, y, scale, key < n ? TEXT : DIM_TEXT, text, l->labels_w);
        if (key < n) {
            snprintf(text, sizeof text, "%.*s", (int)(n - key - 1 < TEXT_MAX - 1 ? n - key - 1 : TEXT_MAX - 1),
                     p + key + 1);
            draw_text(c, l->labels_x + column, y, scale, DIM_TEXT, text, l->labels_w - column);
        }
        p += n + (p[n] == '\n');
    }
}

/* ---- layout and composition ----------------------------------------------------------------------------- */

viewer_layout viewer_layout_for(uint32_t width, uint32_t height, uint32_t image_w, uint32_t image_h)
{
    int w = (int)width, h = (int)height, scale = font_scale(height), lh = line_height(scale);
    int margin = imax(8, h / 40), header = margin + 2 * lh + margin / 2, footer = lh + margin;
    int panel = imax(120, w * 34 / 100);
    viewer_layout l = {0};
    int box_x = margin, box_y = header, box_w = imax(1, w - panel - 2 * margin), box_h = imax(1, h - header - footer);
    l.labels_x = w - panel;
    l.labels_y = header;
    l.labels_w = imax(1, panel - margin);
    l.labels_h = VIEWER_TOP_K * (2 * lh + 5 * scale);
    if (image_w == 0 || image_h == 0) {
        l.image_x = box_x, l.image_y = box_y, l.image_w = box_w, l.image_h = box_h;
        return l;
    }
    /* Letterbox: the largest rectangle of the photo's aspect ratio that fits the box, centred. */
    double fit = fmin((double)box_w / image_w, (double)box_h / image_h);
    l.image_w = imax(1, (int)lround(image_w * fit));
    l.image_h = imax(1, (int)lround(image_h * fit));
    l.image_x = box_x + (box_w - l.image_w) / 2;
    l.image_y = box_y + (box_h - l.image_h) / 2;
    return l;
}

void viewer_compose(const viewer_scene *s, uint8_t *rgba, uint32_t width, uint32_t height)
{
    canvas c = {rgba, (int)width, (int)height};
    int scale = font_scale(height), lh = line_height(scale);
    const vkvit_image *im = s->error ? NULL : s->image;
    viewer_layout l = viewer_layout_for(width, height, im ? im->width : 0, im ? im->height : 0);
    viewer_layout box = viewer_layout_for(width, height, 0, 0);
    int margin = box.image_x;

    fill_rect(&c, 0, 0, c.w, c.h, BACKGROUND);
    fill_rect(&c, box.image_x, box.image_y, box.image_x + box.image_w, box.image_y + box.image_h, LETTERBOX);
    if (im)
        draw_photo(&c, s, &l);
    else if (s->error)
        draw_wrapped(&c, box.image_x + margin, box.image_y + margin, scale, ERROR_TEXT, s->error, box.image_w - 2 * margin);
    if (s->title)
        draw_text(&c, margin, margin, scale, TEXT, s->title, c.w - 2 * margin);
    if (s->subtitle)
        draw_text(&c, margin, margin + lh, scale, DIM_TEXT, s->subtitle, c.w - 2 * margin);
    if (s->top && !s->error)
        draw_labels(&c, s, &l, scale);
    if (s->footer)
        draw_text(&c, margin, c.h - margin - lh + 2 * scale, scale, DIM_TEXT, s->footer, c.w - 2 * margin);
    const int bottom = box.image_y + box.image_h, help_top = bottom - (s->help ? help_lines(s->help) * lh : 0);
    int above = l.labels_y + l.labels_h;
    if (s->pca && s->grid && !s->error)
        above = draw_pca(&c, s, &l, above, help_top, bottom, scale);
    if (s->help)
        draw_help(&c, s->help, &l, above, bottom, scale);
}
