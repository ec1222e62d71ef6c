/* The viewer's frame, composed on the CPU into RGBA8 pixels: the photo letterboxed on the left with
 * the attention heat map blended over the part the model saw, the top-5 labels with probability
 * bars on the right and under them the patch features' principal components as RGB, a title line and
 * a help line. Pure pixels in, pixels out: no Vulkan, no window. */
#ifndef VIEWER_FRAME_H
#define VIEWER_FRAME_H

#include <stdint.h>

#include "vkvit.h"

#define VIEWER_TOP_K 5

/* What a frame shows. Every pointer may be NULL (the part is then left out). */
typedef struct viewer_scene {
    const vkvit_image *image;        /* the photo, RGBA8                                             */
    /* The rectangle of the photo the model saw (its centre crop), in photo pixels [x0, x1) x [y0, y1). */
    float view_x0, view_y0, view_x1, view_y1;
    /* Attention over the patch grid, [grid][grid_w] row-major (grid rows of grid_w cells; grid_w 0: square),
     * normalised to [0, 1]; NULL = no overlay. */
    const float *heat;
    uint32_t grid, grid_w; /* the patch grid: rows, columns (0: square) */
    /* The patch tokens' first three principal components as RGB, [grid][grid_w][3] (viewer_pca_rgb); NULL =
     * none. Drawn under the labels at the grid's aspect, one block per patch; where the help lines leave too
     * little room it takes their place. */
    const uint8_t *pca;
    const vkvit_prediction *top;     /* [top_count], most probable first                             */
    uint32_t top_count;
    const char *title;               /* first line, e.g. "chelsea.png  (1/7)"                         */
    const char *subtitle;            /* second line, e.g. "layer 12/12   overlay on"                  */
    const char *error;               /* shown instead of the photo, e.g. why it could not be decoded  */
    const char *footer;              /* last line: model, device                                      */
    const char *help;                /* lines ('\n'-separated) at the bottom of the label panel       */
} viewer_scene;

/* Where compose() puts things, in frame pixels; the tests use it to find them. */
typedef struct viewer_layout {
    int image_x, image_y, image_w, image_h;   /* the letterboxed photo                              */
    int labels_x, labels_y, labels_w, labels_h; /* the label text and bars                          */
} viewer_layout;

/* The layout of a width x height frame for a photo of image_w x image_h pixels. */
viewer_layout viewer_layout_for(uint32_t width, uint32_t height, uint32_t image_w, uint32_t image_h);

/* Draws `scene` into `rgba` ([height][width][4], R G B A, alpha 255). */
void viewer_compose(const viewer_scene *scene, uint8_t *rgba, uint32_t width, uint32_t height);

#endif
