/* The label embed_demo draws over its frame: a dark box with one line in large type (the top-1 class
 * and its probability) and one in small type (which frame it was seen in, the GPU time), rasterised
 * on the CPU with stb_easy_font into RGBA8 pixels that the frame copies into its image. */
#ifndef EMBED_DEMO_LABEL_H
#define EMBED_DEMO_LABEL_H

#include <stdint.h>

typedef struct demo_label {
    const char *title;      /* large type, e.g. "espresso  84.7%"               */
    const char *detail;     /* small type, e.g. "frame 6, 690.1 ms GPU"; may be NULL */
    int scale;              /* pixels per font unit of the title, 1..8           */
} demo_label;

/* The box's size for `label`, at most max_width wide (longer lines are cut with "..."). */
void demo_label_measure(const demo_label *label, uint32_t max_width, uint32_t *width, uint32_t *height);

/* Draws the box into rgba ([height][width][4], R G B A) of the size demo_label_measure gave. */
void demo_label_draw(const demo_label *label, uint8_t *rgba, uint32_t width, uint32_t height);

#endif
