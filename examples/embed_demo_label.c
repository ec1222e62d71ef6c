/* The label box: stb_easy_font's quads filled into RGBA8 pixels. */
#include "embed_demo_label.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#define LINE_CHARS 128
#define GLYPH_HEIGHT 10   /* font units from the top of a capital to the bottom of a descender */

static const uint8_t BOX[3] = {16, 16, 20}, TITLE[3] = {255, 255, 255}, DETAIL[3] = {175, 175, 185};

static int detail_scale(int scale) { return scale > 1 ? (scale + 1) / 2 : 1; }
static int padding(int scale) { return 3 * scale; }

/* `text` cut with "..." to at most max_w pixels at `scale`, printable ASCII only (stb_easy_font's
 * glyphs); returns its width in pixels. */
static int fit_line(char out[LINE_CHARS], const char *text, int scale, int max_w)
{
    size_t n = 0;
    for (; text && text[n] && n + 1 < LINE_CHARS; n++)
        out[n] = text[n] >= 32 && text[n] <= 126 ? text[n] : '?';
    out[n] = 0;
    for (; n > 3 && stb_easy_font_width(out) * scale > max_w; n--)
        memcpy(out + n - 4, "...", 4);
    return stb_easy_font_width(out) * scale;
}

void demo_label_measure(const demo_label *l, uint32_t max_width, uint32_t *width, uint32_t *height)
{
    char line[LINE_CHARS];
    int p = padding(l->scale), ds = detail_scale(l->scale), inner = (int)max_width - 2 * p;
    int w = fit_line(line, l->title, l->scale, inner), h = GLYPH_HEIGHT * l->scale;
    if (l->detail) {
        int dw = fit_line(line, l->detail, ds, inner);
        w = dw > w ? dw : w;
        h += (3 + GLYPH_HEIGHT) * ds;
    }
    *width = (uint32_t)(w + 2 * p), *height = (uint32_t)(h + 2 * p);
}

/* Fills each of the line's quads (axis-aligned rectangles) with `color`, top-left at (x, y). */
static void draw_line(uint8_t *rgba, int w, int h, int x, int y, int scale, const uint8_t color[3], const char *line)
{
    static float quads[LINE_CHARS * 4 * 16]; /* stb_easy_font: ~270 bytes a character, 4 vertices of 16 bytes a quad */
    char text[LINE_CHARS];
    snprintf(text, sizeof text, "%s", line);
    int nq = stb_easy_font_print(0, 0, text, NULL, quads, (int)sizeof quads);
    for (int q = 0; q < nq; q++) {
        const float *top_left = quads + (size_t)q * 16, *bottom_right = top_left + 8;
        int x0 = x + (int)lroundf(top_left[0] * (float)scale), y0 = y + (int)lroundf(top_left[1] * (float)scale);
        int x1 = x + (int)lroundf(bottom_right[0] * (float)scale), y1 = y + (int)lroundf(bottom_right[1] * (float)scale);
        for (int py = y0 < 0 ? 0 : y0; py < y1 && py < h; py++)
            for (int px = x0 < 0 ? 0 : x0; px < x1 && px < w; px++)
                memcpy(rgba + ((size_t)py * (size_t)w + (size_t)px) * 4, color, 3);
    }
}

void demo_label_draw(const demo_label *l, uint8_t *rgba, uint32_t width, uint32_t height)
{
    char line[LINE_CHARS];
    int w = (int)width, h = (int)height, p = padding(l->scale), ds = detail_scale(l->scale);
    for (size_t i = 0; i < (size_t)width * height; i++)
        rgba[i * 4] = BOX[0], rgba[i * 4 + 1] = BOX[1], rgba[i * 4 + 2] = BOX[2], rgba[i * 4 + 3] = 255;
    fit_line(line, l->title, l->scale, w - 2 * p);
    draw_line(rgba, w, h, p, p, l->scale, TITLE, line);
    if (l->detail) {
        fit_line(line, l->detail, ds, w - 2 * p);
        draw_line(rgba, w, h, p, p + GLYPH_HEIGHT * l->scale + 3 * ds, ds, DETAIL, line);
    }
}
