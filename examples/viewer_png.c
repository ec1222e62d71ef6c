/* PNG files from the viewer's frames, through libstb's stb_image_write. */
#include "viewer_png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb_image_write.h> /* Debian's libstb provides the implementation */

int viewer_write_png(const char *path, const uint8_t *rgba, uint32_t width, uint32_t height)
{
    size_t pixels = (size_t)width * height;
    uint8_t *rgb = malloc(pixels * 3);
    int ok = rgb != NULL;
    for (size_t i = 0; ok && i < pixels; i++)
        memcpy(rgb + i * 3, rgba + i * 4, 3);
    ok = ok && stbi_write_png(path, (int)width, (int)height, 3, rgb, (int)width * 3);
    free(rgb);
    if (!ok)
        fprintf(stderr, "vkvit-viewer: cannot write %s\n", path);
    return ok ? 0 : -1;
}
