/* What the command-line examples (vkvit-classify, vkvit-embed) share: which files are images, number
 * arguments, a progress bar. Plain C, no vkvit. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether a file name has an extension stb_image decodes (.png, .jpg, .jpeg, .bmp, .tga, .gif, .pnm, .ppm,
 * .pgm, .psd; any case). */
bool cli_is_image_name(const char *name);
/* qsort comparator for an array of char *: strcmp order. */
int cli_cmp_str(const void *a, const void *b);
/* A decimal number in lo..hi, the whole string; false otherwise. */
bool cli_parse_uint(const char *s, uint32_t *out, uint32_t lo, uint32_t hi);
/* "\r[=====     ] done/total" on stderr, a newline once done == total. */
void cli_progress(size_t done, size_t total);

#endif
