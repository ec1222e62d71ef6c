/* Which part of a photo the model sees. Its preprocessing resizes and centre-crops, so the patch
 * grid (and the attention heat map over it) covers only that part. vkvit's public API does not
 * expose the crop, so the viewer reads the files vkvit preprocesses by, with vkvit's rules
 * (src/preprocess.h): preprocessor_config.json (Hugging Face image processor keys), else a timm
 * config.json's pretrained_cfg (shorter side to floor(size / crop_pct), centre crop, crop_pct
 * 0.875 if absent), else resize to size x size. */
#ifndef VIEWER_VIEW_H
#define VIEWER_VIEW_H

#include <stdint.h>

typedef enum viewer_resize { VIEW_RESIZE_NONE, VIEW_RESIZE_EXACT, VIEW_RESIZE_SHORTEST } viewer_resize;

typedef struct viewer_view {
    viewer_resize resize;
    uint32_t resize_w, resize_h;   /* EXACT: the size; SHORTEST: resize_w is the shorter side */
    int crop;                      /* centre crop to crop_w x crop_h after resizing            */
    uint32_t crop_w, crop_h;
} viewer_view;

/* The preprocessing geometry of the checkpoint at `model_path` (a directory or a file in it) whose
 * input is `size` x `size`. Unreadable or odd files give the plain resize to size x size. */
viewer_view viewer_view_read(const char *model_path, uint32_t size);

/* The rectangle [x0, x1) x [y0, y1) of a width x height photo, in photo pixels, that becomes the
 * model's input (it may reach past the photo where a crop is larger than the resized image). */
void viewer_view_rect(const viewer_view *view, uint32_t width, uint32_t height, float rect[4]);

#endif
