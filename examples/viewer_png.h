/* The viewer's PNG output: stb_image_write's per-row filter choice with zlib's deflate at level 9
 * (a third smaller than stb's own deflate on photos), RGB since the frame is opaque. */
#ifndef VIEWER_PNG_H
#define VIEWER_PNG_H

#include <stdint.h>

/* Writes `rgba` ([height][width][4]) to `path`; prints the reason and returns -1 on failure. */
int viewer_write_png(const char *path, const uint8_t *rgba, uint32_t width, uint32_t height);

#endif
