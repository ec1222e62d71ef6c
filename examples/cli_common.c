/* The command-line examples' shared helpers (cli_common.h). */
#include "cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cli_is_image_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif",
                                      ".pnm", ".ppm", ".pgm", ".psd"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof ext / sizeof *ext; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return true;
    return false;
}

int cli_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool cli_parse_uint(const char *s, uint32_t *out, uint32_t lo, uint32_t hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

void cli_progress(size_t done, size_t total)
{
    int width = 40, filled = (int)(width * done / (total ? total : 1));
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu", filled, "========================================", width - filled, "", done,
            total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}
