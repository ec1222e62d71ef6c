/* Whole-file reads and atomic writes (fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fs_result fs_read_file(const char *path, size_t max_bytes, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? FS_NOT_FOUND : FS_CANNOT_OPEN;
    struct stat st;
    fs_result r = FS_OK;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fileno(f), &st) != 0) {
        r = FS_READ_ERROR;
    } else if (!S_ISREG(st.st_mode)) {
        r = FS_NOT_REGULAR;
    } else if ((uint64_t)st.st_size > max_bytes) {
        r = FS_TOO_BIG;
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        r = FS_NO_MEMORY;
    } else {
        /* One byte more than stat said: a file that grew since is noticed rather than cut short. */
        n = fread(buf, 1, (size_t)st.st_size + 1, f);
        if (ferror(f))
            r = FS_READ_ERROR;
        else if (n > (size_t)st.st_size)
            r = FS_TOO_BIG;
    }
    int err = errno;
    fclose(f);
    if (r) {
        free(buf);
        errno = err;
        return r;
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return FS_OK;
}

int fs_mkdir_p(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    int r = 0;
    for (char *p = dir + 1; *p && r == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            r = -1;
        *p = '/';
    }
    if (r == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST)
        r = -1;
    free(dir);
    return r;
}

bool fs_write_atomic(const char *path, bool (*write)(FILE *f, const void *user), const void *user)
{
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp)
        return false;
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        memcpy(tmp, path, (size_t)(slash - path));
        tmp[slash - path] = '\0';
        (void)fs_mkdir_p(tmp); /* a failure shows as the fopen below failing */
    }
    /* Unique per process and per caller's object: concurrent writers never share a temporary. */
    snprintf(tmp, n, "%s.%lu.%lx.tmp", path, (unsigned long)getpid(), (unsigned long)(uintptr_t)user);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && write(f, user);
    if (f)
        ok = (fclose(f) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        remove(tmp);
    free(tmp);
    return ok;
}
