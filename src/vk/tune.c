/* The tune file: kernel configurations the autotuner chose on this device (vk.h, "tune.c").
 *
 * <directory of the pipeline cache>/<deviceUUID, 32 hex digits>-<driverVersion, decimal>.tune:
 *     vkvit-tune 1 <deviceUUID> <driverVersion>
 *     # comment lines and blank lines are skipped
 *     <key> <value> ... <value>
 * A key is 1..63 printable ASCII characters without spaces; 1..8 values, decimal digits only, each
 * < 2^32; at most 4096 entries and 1 MiB. Anything else — a byte that is not printable ASCII, tab or
 * newline (NUL included), an overlong line, key or number, a header naming another device or driver
 * (a file copied from another machine) — has the whole file ignored, with a warning naming the file,
 * the line and the problem; the next save replaces it. A later line replaces an earlier one with
 * the same key. What the values mean is the key owner's business: matmul_tune.c checks every saved
 * configuration against the device before it uses one. */
#include "vk.h"

#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUNE_FILE_MAX (1u << 20)   /* bytes */
#define TUNE_MAX_ENTRIES 4096u
#define TUNE_VERSION "1"

typedef struct entry_list {
    vk_tune_entry *e;
    uint32_t count, cap;
} entry_list;

/* Replaces the entry with e->key, or appends a copy. false: out of memory or too many entries. */
static bool list_put(entry_list *l, const vk_tune_entry *e)
{
    for (uint32_t i = 0; i < l->count; i++) {
        if (strcmp(l->e[i].key, e->key) == 0) {
            bool reported = l->e[i].reported;
            l->e[i] = *e;
            l->e[i].reported = reported;
            return true;
        }
    }
    if (l->count >= TUNE_MAX_ENTRIES)
        return false;
    if (l->count == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 16;
        vk_tune_entry *n = realloc(l->e, cap * sizeof *n);
        if (!n)
            return false;
        l->e = n;
        l->cap = cap;
    }
    l->e[l->count++] = *e;
    return true;
}

/* ---- parsing ---------------------------------------------------------------------------------------- */

/* The next space-separated token of [*p, end): false at the end of the line. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *len)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    const char *t = s;
    while (t < end && *t != ' ' && *t != '\t' && *t != '\r')
        t++;
    *tok = s, *len = (size_t)(t - s), *p = t;
    return t > s;
}

static bool token_is(const char *tok, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(tok, want, len) == 0;
}

/* "vkvit-tune 1 <uuid> <driver>", against this device's `uuid` and `driver`. NULL = it matches. */
static const char *parse_header(const char *p, const char *end, const char *uuid, const char *driver,
                                char *why, size_t why_size)
{
    const char *t[5];
    size_t n[5];
    int k = 0;
    while (k < 5 && next_token(&p, end, &t[k], &n[k]))
        k++;
    if (k < 1 || !token_is(t[0], n[0], "vkvit-tune"))
        return "not a vkvit tune file (the first line is not 'vkvit-tune 1 <device UUID> <driver version>')";
    if (k != 4)
        return "the header line does not have 4 fields";
    if (!token_is(t[1], n[1], TUNE_VERSION))
        return "format version is not " TUNE_VERSION;
    if (!token_is(t[2], n[2], uuid) || !token_is(t[3], n[3], driver)) {
        snprintf(why, why_size, "written for device %.*s driver %.*s, but this is device %s driver %s",
                 (int)(n[2] < 32 ? n[2] : 32), t[2], (int)(n[3] < 10 ? n[3] : 10), t[3], uuid, driver);
        return why;
    }
    return NULL;
}

/* "<key> <value>..." into *e. NULL = parsed. */
static const char *parse_entry(const char *p, const char *end, vk_tune_entry *e)
{
    const char *tok;
    size_t len;
    memset(e, 0, sizeof *e);
    next_token(&p, end, &tok, &len);
    if (len >= VK_TUNE_KEY)
        return "key longer than 63 characters";
    memcpy(e->key, tok, len);
    while (next_token(&p, end, &tok, &len)) {
        if (e->n == VK_TUNE_VALUES)
            return "more than 8 values";
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            if (tok[i] < '0' || tok[i] > '9')
                return "a value is not an unsigned decimal integer";
            v = v * 10 + (uint64_t)(tok[i] - '0');
            if (v > UINT32_MAX)
                return "a value does not fit 32 bits";
        }
        e->vals[e->n++] = (uint32_t)v;
    }
    return e->n ? NULL : "a key without values";
}

/* The whole file into *out. NULL = valid; else why not, and *line the line (0 = the whole file). */
static const char *parse(const char *text, size_t size, const char *uuid, const char *driver, entry_list *out,
                         uint32_t *line, char *why, size_t why_size)
{
    *line = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c >= 0x7f)
            return "not text (a byte that is not printable ASCII)";
    }
    const char *p = text, *end = text + size;
    for (*line = 1; p < end; (*line)++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *tok;
        size_t len;
        const char *q = p, *err = NULL;
        if (*line == 1) {
            err = parse_header(p, eol, uuid, driver, why, why_size);
        } else if (next_token(&q, eol, &tok, &len) && tok[0] != '#') {
            vk_tune_entry e;
            if (!(err = parse_entry(p, eol, &e)) && !list_put(out, &e))
                err = "more than 4096 entries (or out of memory)";
        }
        if (err)
            return err;
        p = eol + (eol < end);
    }
    if (*line == 1) {
        *line = 0;
        return "empty";
    }
    return NULL;
}

/* ---- the file --------------------------------------------------------------------------------------- */

/* This device's identity as the file names it: deviceUUID in hex, driverVersion in decimal. */
static void device_id(const vkvit_context *ctx, char uuid[2 * VK_UUID_SIZE + 1], char driver[16])
{
    VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &id};
    vkGetPhysicalDeviceProperties2(ctx->phys, &p2);
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
        snprintf(uuid + 2 * i, 3, "%02x", id.deviceUUID[i]);
    snprintf(driver, 16, "%u", p2.properties.driverVersion);
}

/* The file's contents (malloc'd, *size bytes), or NULL: absent (*err NULL) or unreadable / too big. */
static char *read_file(const char *path, size_t *size, const char **err)
{
    char *buf = NULL;
    fs_result r = fs_read_file(path, TUNE_FILE_MAX, &buf, size);
    *err = r == FS_OK || r == FS_NOT_FOUND ? NULL
         : r == FS_TOO_BIG                 ? "larger than 1 MiB"
         : r == FS_NO_MEMORY               ? "out of host memory"
         : r == FS_NOT_REGULAR             ? "not a regular file"
                                           : "read error";
    return buf;
}

/* Reads tune->path into *out; a bad file is a warning and leaves *out as it was. */
static void load(vkvit_context *ctx, entry_list *out)
{
    vk_tune *t = ctx->tune;
    char uuid[2 * VK_UUID_SIZE + 1], driver[16], why[160];
    device_id(ctx, uuid, driver);
    size_t size;
    const char *err;
    char *text = read_file(t->path, &size, &err);
    uint32_t line = 0;
    entry_list got = {0};
    if (text)
        err = parse(text, size, uuid, driver, &got, &line, why, sizeof why);
    free(text);
    if (err) {
        if (line)
            vk_message(ctx, VKVIT_MESSAGE_WARNING, "tune: ignoring %s: line %u: %s", t->path, line, err);
        else
            vk_message(ctx, VKVIT_MESSAGE_WARNING, "tune: ignoring %s: %s", t->path, err);
        free(got.e);
        return;
    }
    for (uint32_t i = 0; i < got.count; i++)
        if (!list_put(out, &got.e[i]))
            break;
    free(got.e);
}

struct tune_text {
    const vkvit_context *ctx;
    const entry_list *l;
};

static bool write_text(FILE *f, const void *user)
{
    const struct tune_text *t = user;
    char uuid[2 * VK_UUID_SIZE + 1], driver[16];
    device_id(t->ctx, uuid, driver);
    bool ok = fprintf(f, "vkvit-tune " TUNE_VERSION " %s %s\n# kernel configurations timed by vkvit's "
                         "autotuner (VKVIT_TUNE=1); delete this file to time them again\n", uuid, driver) > 0;
    for (uint32_t i = 0; ok && i < t->l->count; i++) {
        ok = fputs(t->l->e[i].key, f) >= 0;
        for (uint32_t v = 0; ok && v < t->l->e[i].n; v++)
            ok = fprintf(f, " %u", t->l->e[i].vals[v]) > 0;
        ok = ok && fputc('\n', f) != EOF;
    }
    return ok;
}

/* Replaces the tune file as a whole (a concurrent reader never sees half a file). false: could not
 * (the caller warns). */
static bool write_file(const vkvit_context *ctx, const entry_list *l)
{
    const struct tune_text t = {ctx, l};
    return fs_write_atomic(ctx->tune->path, write_text, &t);
}

/* <directory of the pipeline cache>/<uuid>-<driver>.tune, or NULL (not persisted, no memory). */
static char *tune_path(const vkvit_context *ctx)
{
    const char *slash = ctx->pcache_path ? strrchr(ctx->pcache_path, '/') : NULL;
    if (!slash)
        return NULL;
    char uuid[2 * VK_UUID_SIZE + 1], driver[16];
    device_id(ctx, uuid, driver);
    size_t dir = (size_t)(slash - ctx->pcache_path), n = dir + strlen(uuid) + strlen(driver) + 16;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%.*s/%s-%s.tune", (int)dir, ctx->pcache_path, uuid, driver);
    return path;
}

/* ---- the interface ---------------------------------------------------------------------------------- */

vkvit_status vk_tune_open(vkvit_context *ctx)
{
    const char *env = getenv("VKVIT_TUNE");
    if (ctx->tune_mode == VKVIT_TUNE_AUTO && env && *env) {
        if (strcmp(env, "1") == 0 || strcmp(env, "0") == 0)
            ctx->tune_mode = env[0] == '1' ? VKVIT_TUNE_ON : VKVIT_TUNE_OFF;
        else
            vk_message(ctx, VKVIT_MESSAGE_WARNING, "tune: VKVIT_TUNE='%.32s' is neither 1 nor 0: ignored", env);
    }
    if (ctx->tune_mode == VKVIT_TUNE_OFF)
        return VKVIT_OK;
    vk_tune *t = calloc(1, sizeof *t);
    bool lock = t && mtx_init(&t->lock, mtx_plain) == thrd_success;
    if (!lock || mtx_init(&t->timing, mtx_plain) != thrd_success) {
        if (lock)
            mtx_destroy(&t->lock);
        free(t);
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "tune table");
    }
    ctx->tune = t;
    t->path = tune_path(ctx);
    if (t->path) {
        entry_list l = {0};
        load(ctx, &l);
        t->entries = l.e, t->count = l.count, t->cap = l.cap;
        if (t->count)
            vk_message(ctx, VKVIT_MESSAGE_INFO, "tune: %u saved configuration(s) from %s", t->count, t->path);
    }
    return VKVIT_OK;
}

void vk_tune_close(vkvit_context *ctx)
{
    vk_tune *t = ctx->tune;
    if (!t)
        return;
    mtx_destroy(&t->timing);
    mtx_destroy(&t->lock);
    free(t->entries);
    free(t->path);
    free(t);
    ctx->tune = NULL;
}

uint32_t vk_tune_get(vkvit_context *ctx, const char *key, uint32_t *vals, uint32_t cap, bool *reported)
{
    vk_tune *t = ctx->tune;
    uint32_t n = 0;
    if (!t)
        return 0;
    mtx_lock(&t->lock);
    for (uint32_t i = 0; i < t->count; i++) {
        if (strcmp(t->entries[i].key, key) == 0) {
            n = t->entries[i].n;
            memcpy(vals, t->entries[i].vals, (n < cap ? n : cap) * sizeof *vals);
            if (reported)
                *reported = t->entries[i].reported;
            t->entries[i].reported = true;
            break;
        }
    }
    mtx_unlock(&t->lock);
    return n;
}

vkvit_status vk_tune_put(vkvit_context *ctx, const char *key, const uint32_t *vals, uint32_t n)
{
    vk_tune *t = ctx->tune;
    vk_tune_entry e = {.n = n, .reported = true};
    if (!t)
        return VKVIT_OK;
    if (n == 0 || n > VK_TUNE_VALUES || strlen(key) >= VK_TUNE_KEY || strpbrk(key, " \t\r\n"))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "tune: bad key '%s' or %u values", key, n);
    memcpy(e.key, key, strlen(key) + 1);
    memcpy(e.vals, vals, n * sizeof *vals);
    mtx_lock(&t->lock);
    entry_list l = {t->entries, t->count, t->cap};
    bool ok = list_put(&l, &e);
    if (ok && t->path) {
        /* Another process may have saved winners since this context read the file: keep them. */
        entry_list disk = {0};
        load(ctx, &disk);
        for (uint32_t i = 0; i < disk.count; i++) {
            bool have = false;
            for (uint32_t j = 0; j < l.count && !have; j++)
                have = strcmp(l.e[j].key, disk.e[i].key) == 0;
            if (!have)
                list_put(&l, &disk.e[i]);
        }
        free(disk.e);
        if (!write_file(ctx, &l))
            vk_message(ctx, VKVIT_MESSAGE_WARNING, "tune: could not write %s; the tuned configurations last as "
                       "long as this context", t->path);
    }
    t->entries = l.e, t->count = l.count, t->cap = l.cap;
    mtx_unlock(&t->lock);
    return ok ? VKVIT_OK : fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "tune table: '%s'", key);
}
