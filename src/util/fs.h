/* Files read or written whole: config.json, labels.txt, preprocessor_config.json, image files, the
 * pipeline cache, the tune file. The one place that opens them, so that size limits, short reads and
 * half-written files are handled once. No vkvit status here: each caller names the failure in its
 * own terms (fs_result + errno). */
#ifndef VKVIT_UTIL_FS_H
#define VKVIT_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum fs_result {
    FS_OK = 0,
    FS_NOT_FOUND,      /* no such file (ENOENT)                                  */
    FS_CANNOT_OPEN,    /* exists but cannot be opened; errno says why             */
    FS_NOT_REGULAR,    /* a directory, a device, ...                              */
    FS_TOO_BIG,        /* more than max_bytes                                     */
    FS_NO_MEMORY,
    FS_READ_ERROR      /* errno says why                                          */
} fs_result;

/* Reads the regular file `path` of at most max_bytes into *data (malloc'd, *size bytes, followed by a
 * NUL that *size does not count, so text can be parsed in place). On failure *data is NULL, *size 0,
 * and errno is that of the failing call (FS_CANNOT_OPEN, FS_READ_ERROR). */
fs_result fs_read_file(const char *path, size_t max_bytes, char **data, size_t *size);

/* Replaces `path` as a whole: `write` fills a temporary file beside it, which is then renamed over
 * `path`, so that a concurrent reader sees the old file or the new one, never half of one. The
 * directories leading to it are made first. false: it could not (nothing is left behind). */
bool fs_write_atomic(const char *path, bool (*write)(FILE *f, const void *user), const void *user);

/* mkdir -p, mode 0755. 0 on success (also when it exists), -1 with errno. */
int fs_mkdir_p(const char *path);

#endif
