/* safetensors reader: mmap, header through cJSON, strict bounds checks. See safetensors.h. */
#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

typedef unsigned long long ull; /* for printf */

/* One file image: mapped from disk, or borrowed from the caller (map == NULL). */
typedef struct shard {
    char *path;                 /* name used in messages                                     */
    const uint8_t *bytes;       /* the whole file                                            */
    size_t size;
    void *map;                  /* what munmap() takes back; NULL if borrowed                */
    cJSON *header;              /* tensor names and metadata strings point into it          */
    uint64_t data_start;        /* 8 + header length                                         */
} shard;

struct st_file {
    shard *shards;
    size_t shard_count;
    st_tensor *tensors;         /* sorted by name once complete                              */
    size_t count, capacity;
};

static const struct {
    const char *name;
    uint8_t size;
} dtypes[ST_DTYPE_COUNT] = {
    [ST_BOOL] = {"BOOL", 1},  [ST_U8] = {"U8", 1},          [ST_I8] = {"I8", 1},
    [ST_I16] = {"I16", 2},    [ST_U16] = {"U16", 2},        [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2},  [ST_I32] = {"I32", 4},        [ST_U32] = {"U32", 4},
    [ST_F32] = {"F32", 4},    [ST_F64] = {"F64", 8},        [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8},    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(st_dtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].name : "?"; }
size_t st_dtype_size(st_dtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].size : 0; }

float st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    float f;
    if (exp == 0) { /* zero or subnormal: man x 2^-24, exact in fp32 */
        f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    if (exp == 0x1f) /* inf, or NaN keeping its payload */
        bits = sign | 0x7f800000u | (man << 13);
    else             /* rebias 15 -> 127 */
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t st_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xFFu, man = x & 0x7FFFFFu;
    if (exp == 0xFF) /* inf / NaN */
        return (uint16_t)(sign | 0x7C00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7C00u); /* overflow -> inf */
    if (e <= 0) { /* subnormal or zero: shift the implicit bit in, round to nearest even */
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e), half = man >> shift, rest = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13), rest = man & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
        h++; /* may carry into the exponent, which is still correct (up to inf) */
    return (uint16_t)h;
}

float st_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- small helpers ---------------------------------------------------------------------------- */

static bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* A JSON number that is a non-negative integer small enough to be exact in a double. */
static bool json_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= 9007199254740992.0) || v != floor(v))
        return false;
    *out = (uint64_t)v;
    return true;
}

/* Describes a JSON value for a message: the number, or its kind. */
static const char *json_kind(const cJSON *item, char *buf, size_t n)
{
    if (cJSON_IsNumber(item))
        snprintf(buf, n, "%.17g", item->valuedouble);
    else
        snprintf(buf, n, "%s", cJSON_IsString(item) ? "a string" : cJSON_IsArray(item) ? "a list"
                               : cJSON_IsObject(item) ? "an object" : cJSON_IsBool(item) ? "a boolean"
                               : cJSON_IsNull(item) ? "null" : "not a value");
    return buf;
}

static uint64_t read_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- one tensor entry ------------------------------------------------------------------------- */

/* Fills t from {"dtype", "shape", "data_offsets"}; offsets are relative to the data section and
 * checked against it later (check_ranges), once all tensors of the file are known. */
static vkvit_status parse_tensor(const shard *sh, const cJSON *item, st_tensor *t, uint64_t *begin,
                                 uint64_t *end)
{
    const char *file = sh->path, *name = item->string;
    char kind[64];
    if (!cJSON_IsObject(item))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: tensor '%s' is %s, not an object", file, name,
                    json_kind(item, kind, sizeof kind));
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");

    if (!cJSON_IsString(dtype))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: tensor '%s' has no dtype string", file, name);
    int d = 0;
    while (d < ST_DTYPE_COUNT && strcmp(dtype->valuestring, dtypes[d].name) != 0)
        d++;
    if (d == ST_DTYPE_COUNT)
        return fail(VKVIT_ERROR_UNKNOWN_DTYPE, "%s: tensor '%s' has unknown dtype '%.64s'", file, name,
                    dtype->valuestring);
    t->dtype = (st_dtype)d;

    if (!cJSON_IsArray(shape))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: tensor '%s' has no shape list", file, name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > ST_MAX_RANK)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: tensor '%s' has rank %d, more than %d", file, name,
                    rank, ST_MAX_RANK);
    t->rank = (uint32_t)rank;
    t->count = 1;
    bool overflow = false;
    int i = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, i++) {
        if (!json_u64(dim, &t->shape[i]))
            return fail(VKVIT_ERROR_BAD_HEADER,
                        "%s: tensor '%s': shape[%d] is %s, not a non-negative integer", file, name, i,
                        json_kind(dim, kind, sizeof kind));
        overflow = overflow || !mul_u64(t->count, t->shape[i], &t->count);
    }

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_u64(offs->child, begin) ||
        !json_u64(offs->child->next, end))
        return fail(VKVIT_ERROR_BAD_HEADER,
                    "%s: tensor '%s': data_offsets is not a list of two non-negative integers", file,
                    name);
    if (*begin > *end)
        return fail(VKVIT_ERROR_BAD_TENSOR_RANGE,
                    "%s: tensor '%s': data_offsets [%llu, %llu] begin after end", file, name,
                    (ull)*begin, (ull)*end);
    if (overflow || !mul_u64(t->count, dtypes[d].size, &t->size))
        return fail(VKVIT_ERROR_BAD_TENSOR_RANGE,
                    "%s: tensor '%s': %s shape holds more than 2^64 bytes (data_offsets [%llu, %llu])",
                    file, name, dtypes[d].name, (ull)*begin, (ull)*end);
    if (t->size != *end - *begin)
        return fail(VKVIT_ERROR_BAD_TENSOR_RANGE,
                    "%s: tensor '%s': %s x %llu elements is %llu bytes but data_offsets [%llu, %llu] "
                    "span %llu (at file byte %llu)",
                    file, name, dtypes[d].name, (ull)t->count, (ull)t->size, (ull)*begin, (ull)*end,
                    (ull)(*end - *begin), (ull)(sh->data_start + *begin));
    return VKVIT_OK;
}

/* ---- ranges within one file ------------------------------------------------------------------- */

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* No two non-empty tensors share a byte; all end inside the data section. When the tensors tile
 * [0, last end) exactly and only the file is short, the file was cut off: FILE_TRUNCATED. */
static vkvit_status check_ranges(const shard *sh, span *s, size_t n)
{
    uint64_t data_size = sh->size - sh->data_start, covered = 0;
    const span *prev = NULL; /* the last non-empty span: sorted and disjoint, it reaches furthest */
    qsort(s, n, sizeof *s, span_cmp);
    for (size_t i = 0; i < n; i++) {
        if (s[i].begin == s[i].end)
            continue;
        if (prev && s[i].begin < prev->end)
            return fail(VKVIT_ERROR_BAD_TENSOR_RANGE,
                        "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap (data section "
                        "offsets; it starts at file byte %llu)",
                        sh->path, prev->name, (ull)prev->begin, (ull)prev->end, s[i].name,
                        (ull)s[i].begin, (ull)s[i].end, (ull)sh->data_start);
        covered += s[i].end - s[i].begin;
        prev = &s[i];
    }
    const span *far = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i].end > data_size && (!far || s[i].end > far->end))
            far = &s[i];
    if (!far)
        return VKVIT_OK;
    if (covered == far->end)
        return fail(VKVIT_ERROR_FILE_TRUNCATED,
                    "%s: file is %llu bytes but its header announces %llu: tensor '%s' ends at byte "
                    "%llu of the data section, past its end (%llu)",
                    sh->path, (ull)sh->size, (ull)(sh->data_start + far->end), far->name,
                    (ull)far->end, (ull)data_size);
    return fail(VKVIT_ERROR_BAD_TENSOR_RANGE,
                "%s: tensor '%s' ends at byte %llu (file byte %llu), past the end of the data "
                "section (%llu)",
                sh->path, far->name, (ull)far->end, (ull)(sh->data_start + far->end), (ull)data_size);
}

/* ---- one file --------------------------------------------------------------------------------- */

static vkvit_status reserve(st_file *f, size_t more)
{
    if (more <= f->capacity - f->count)
        return VKVIT_OK;
    size_t cap = f->capacity ? f->capacity : 16;
    while (cap - f->count < more) {
        if (cap > SIZE_MAX / 2 / sizeof *f->tensors)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "safetensors: too many tensors");
        cap *= 2;
    }
    st_tensor *t = realloc(f->tensors, cap * sizeof *t);
    if (!t)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "safetensors: no memory for %zu tensors", cap);
    f->tensors = t;
    f->capacity = cap;
    return VKVIT_OK;
}

static vkvit_status parse_metadata(const shard *sh, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: __metadata__ is not an object", sh->path);
    for (const cJSON *m = meta->child; m; m = m->next)
        if (!cJSON_IsString(m))
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: __metadata__ value '%s' is not a string",
                        sh->path, m->string);
    return VKVIT_OK;
}

/* Parses bytes[0 .. n) as one JSON value followed by nothing but whitespace (the spec pads headers
 * with spaces). cJSON gets a NUL-terminated copy, so it never reads past the end. Errors name
 * `path`, `what` ("header", "the index") and the byte, counted from `file_offset` (where bytes start). */
static vkvit_status parse_json(const char *path, const char *what, const uint8_t *bytes, size_t n,
                               uint64_t file_offset, cJSON **out)
{
    vkvit_status s = VKVIT_OK;
    const char *end = NULL;
    char *text = malloc(n + 1);
    if (!text)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %zu bytes of JSON", path, n);
    if (n)
        memcpy(text, bytes, n);
    text[n] = '\0';
    if (!(*out = cJSON_ParseWithLengthOpts(text, n, &end, 0))) {
        s = fail(VKVIT_ERROR_BAD_HEADER, "%s: %s is not valid JSON (error near file byte %llu)", path,
                 what, (ull)(file_offset + (end ? (uint64_t)(end - text) : 0)));
        goto fail;
    }
    for (const char *p = end; p < text + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            s = fail(VKVIT_ERROR_BAD_HEADER, "%s: %s has bytes after its JSON (file byte %llu)", path,
                     what, (ull)(file_offset + (uint64_t)(p - text)));
            cJSON_Delete(*out);
            *out = NULL;
            goto fail;
        }
fail:
    free(text);
    return s;
}

/* Parses the header of sh (bytes already in place) and appends its tensors to f. */
static vkvit_status parse_shard(st_file *f, shard *sh)
{
    vkvit_status s = VKVIT_OK;
    span *spans = NULL;
    size_t first = f->count;

    if (sh->size == 0)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: empty file", sh->path);
    if (sh->size < 8)
        return fail(VKVIT_ERROR_FILE_TRUNCATED,
                    "%s: file is %zu bytes, shorter than the 8-byte header length", sh->path, sh->size);
    uint64_t n = read_u64le(sh->bytes);
    if (n < 2 || n > ST_MAX_HEADER)
        return fail(VKVIT_ERROR_BAD_HEADER,
                    "%s: header length %llu (file bytes 0-7) is not between 2 and %u: not a "
                    "safetensors file",
                    sh->path, (ull)n, ST_MAX_HEADER);
    if (n > sh->size - 8)
        return fail(VKVIT_ERROR_FILE_TRUNCATED,
                    "%s: header length %llu runs past the end of the file (%zu bytes)", sh->path,
                    (ull)n, sh->size);
    sh->data_start = 8 + n;

    if ((s = parse_json(sh->path, "header", sh->bytes + 8, (size_t)n, 8, &sh->header)) != VKVIT_OK)
        goto fail;
    if (!cJSON_IsObject(sh->header)) {
        s = fail(VKVIT_ERROR_BAD_HEADER, "%s: header is JSON but not an object", sh->path);
        goto fail;
    }

    size_t entries = 0;
    for (const cJSON *e = sh->header->child; e; e = e->next)
        entries++;
    if ((s = reserve(f, entries)) != VKVIT_OK)
        goto fail;
    if (!(spans = malloc((entries ? entries : 1) * sizeof *spans))) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %zu tensors", sh->path, entries);
        goto fail;
    }
    size_t n_spans = 0;
    bool have_meta = false;
    for (const cJSON *e = sh->header->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (have_meta) {
                s = fail(VKVIT_ERROR_BAD_HEADER, "%s: __metadata__ appears twice", sh->path);
                goto fail;
            }
            have_meta = true;
            if ((s = parse_metadata(sh, e)) != VKVIT_OK)
                goto fail;
            continue;
        }
        st_tensor *t = &f->tensors[f->count];
        memset(t, 0, sizeof *t);
        span *sp = &spans[n_spans];
        if ((s = parse_tensor(sh, e, t, &sp->begin, &sp->end)) != VKVIT_OK)
            goto fail;
        t->name = sp->name = e->string;
        t->file = sh->path;
        t->offset = sh->data_start + sp->begin;
        n_spans++;
        f->count++;
    }
    if ((s = check_ranges(sh, spans, n_spans)) != VKVIT_OK)
        goto fail;
    for (size_t i = first; i < f->count; i++)
        f->tensors[i].data = sh->bytes + f->tensors[i].offset;

fail:
    if (s != VKVIT_OK)
        f->count = first;
    free(spans);
    return s;
}

/* ---- the tensor table ------------------------------------------------------------------------- */

static int tensor_cmp(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

/* Sorts by name for st_find and rejects a name that appears twice. */
static vkvit_status sort_tensors(st_file *f)
{
    if (f->count)
        qsort(f->tensors, f->count, sizeof *f->tensors, tensor_cmp);
    for (size_t i = 1; i < f->count; i++) {
        const st_tensor *a = &f->tensors[i - 1], *b = &f->tensors[i];
        if (strcmp(a->name, b->name) != 0)
            continue;
        if (a->file == b->file)
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: tensor '%s' appears twice (file bytes %llu and %llu)",
                        a->file, a->name, (ull)a->offset, (ull)b->offset);
        return fail(VKVIT_ERROR_BAD_HEADER, "tensor '%s' is in both %s and %s", a->name, a->file,
                    b->file);
    }
    return VKVIT_OK;
}

static vkvit_status add_shard(st_file *f, const char *path, shard **out)
{
    if (f->shard_count >= ST_MAX_SHARDS)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: more than %d shards", path, ST_MAX_SHARDS);
    shard *sh = realloc(f->shards, (f->shard_count + 1) * sizeof *sh);
    if (!sh)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    f->shards = sh;
    sh = &f->shards[f->shard_count];
    memset(sh, 0, sizeof *sh);
    if (!(sh->path = strdup(path)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    f->shard_count++;
    *out = sh;
    return VKVIT_OK;
}

/* Maps path read-only into sh. */
static vkvit_status map_file(shard *sh)
{
    vkvit_status s = VKVIT_OK;
    struct stat st;
    int fd = open(sh->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(VKVIT_ERROR_IO, "%s: cannot open: %s", sh->path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        s = fail(VKVIT_ERROR_IO, "%s: cannot stat: %s", sh->path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        s = fail(VKVIT_ERROR_IO, "%s: not a regular file", sh->path);
        goto fail;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        s = fail(VKVIT_ERROR_IO, "%s: %llu bytes do not fit in the address space", sh->path,
                 (ull)st.st_size);
        goto fail;
    }
    sh->size = (size_t)st.st_size;
    if (sh->size > 0) {
        void *p = mmap(NULL, sh->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            s = fail(VKVIT_ERROR_IO, "%s: cannot map %zu bytes: %s", sh->path, sh->size,
                     strerror(errno));
            goto fail;
        }
        sh->map = p;
        sh->bytes = p;
    }
fail:
    close(fd);
    return s;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->shard_count; i++) {
        shard *sh = &f->shards[i];
        if (sh->map)
            munmap(sh->map, sh->size);
        cJSON_Delete(sh->header);
        free(sh->path);
    }
    free(f->shards);
    free(f->tensors);
    free(f);
}

vkvit_status st_parse(const void *data, size_t size, const char *name, st_file **out)
{
    vkvit_status s;
    shard *sh = NULL;
    st_file *f = NULL;
    if (!out || (!data && size) || !name)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "st_parse: NULL argument");
    *out = NULL;
    if (!(f = calloc(1, sizeof *f)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", name);
    if ((s = add_shard(f, name, &sh)) != VKVIT_OK)
        goto fail;
    sh->bytes = data;
    sh->size = size;
    if ((s = parse_shard(f, sh)) != VKVIT_OK || (s = sort_tensors(f)) != VKVIT_OK)
        goto fail;
    *out = f;
    return VKVIT_OK;
fail:
    st_close(f);
    return s;
}

static vkvit_status open_file(const char *path, st_file **out)
{
    vkvit_status s;
    shard *sh = NULL;
    st_file *f = calloc(1, sizeof *f);
    if (!f)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    if ((s = add_shard(f, path, &sh)) != VKVIT_OK || (s = map_file(sh)) != VKVIT_OK ||
        (s = parse_shard(f, sh)) != VKVIT_OK || (s = sort_tensors(f)) != VKVIT_OK)
        goto fail;
    *out = f;
    return VKVIT_OK;
fail:
    st_close(f);
    return s;
}

/* ---- sharded checkpoints ---------------------------------------------------------------------- */

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct shard names of weight_map, sorted; each a plain file name. */
static vkvit_status shard_names(const char *index_path, const cJSON *map, const char ***names,
                                size_t *count)
{
    size_t n = 0, k = 0;
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: weight_map['%s'] is not a file name string",
                        index_path, e->string);
        const char *v = e->valuestring;
        if (!v[0] || strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
            return fail(VKVIT_ERROR_BAD_HEADER,
                        "%s: weight_map['%s'] = '%s' is not a file name in the index's directory",
                        index_path, e->string, v);
        n++;
    }
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", index_path);
    for (const cJSON *e = map->child; e; e = e->next)
        v[k++] = e->valuestring;
    qsort(v, n, sizeof *v, str_ptr_cmp);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
            v[k++] = v[i];
    *names = v;
    *count = k;
    return VKVIT_OK;
}

vkvit_status st_open_index(const char *index_path, st_file **out)
{
    vkvit_status s;
    char *path = NULL;
    size_t n_shards = 0;
    const char **shards = NULL;
    cJSON *index = NULL;
    st_file *f = NULL;
    shard file = {.path = (char *)index_path};
    if (!out || !index_path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "st_open_index: NULL argument");
    *out = NULL;
    if ((s = map_file(&file)) != VKVIT_OK)
        return s;
    if (file.size > ST_MAX_HEADER) {
        s = fail(VKVIT_ERROR_BAD_HEADER, "%s: %zu bytes, more than %u", index_path, file.size,
                 ST_MAX_HEADER);
        goto fail;
    }
    if ((s = parse_json(index_path, "the index", file.bytes, file.size, 0, &index)) != VKVIT_OK)
        goto fail;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    if (!cJSON_IsObject(map)) {
        s = fail(VKVIT_ERROR_BAD_HEADER, "%s: no \"weight_map\" object", index_path);
        goto fail;
    }
    if ((s = shard_names(index_path, map, &shards, &n_shards)) != VKVIT_OK)
        goto fail;
    if (n_shards == 0) {
        s = fail(VKVIT_ERROR_BAD_HEADER, "%s: weight_map is empty", index_path);
        goto fail;
    }

    /* Shards live next to the index. */
    const char *slash = strrchr(index_path, '/');
    size_t dir_len = slash ? (size_t)(slash - index_path) + 1 : 0;
    if (!(f = calloc(1, sizeof *f))) {
        s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", index_path);
        goto fail;
    }
    for (size_t i = 0; i < n_shards; i++) {
        shard *sh = NULL;
        size_t name_len = strlen(shards[i]);
        free(path);
        if (!(path = malloc(dir_len + name_len + 1))) {
            s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", index_path);
            goto fail;
        }
        memcpy(path, index_path, dir_len);
        memcpy(path + dir_len, shards[i], name_len + 1);
        if ((s = add_shard(f, path, &sh)) != VKVIT_OK)
            goto fail;
        if ((s = map_file(sh)) != VKVIT_OK || (s = parse_shard(f, sh)) != VKVIT_OK) {
            char detail[1024];
            snprintf(detail, sizeof detail, "%s", vkvit_last_error());
            s = fail(s, "%s (shard named by %s)", detail, index_path);
            goto fail;
        }
    }
    if ((s = sort_tensors(f)) != VKVIT_OK)
        goto fail;

    /* Every mapped tensor is in the shard the map names. */
    for (const cJSON *e = map->child; e; e = e->next) {
        const st_tensor *t = st_find(f, e->string);
        const char *base = t ? strrchr(t->file, '/') : NULL;
        base = base ? base + 1 : t ? t->file : NULL;
        if (!t || strcmp(base, e->valuestring) != 0) {
            s = fail(VKVIT_ERROR_MISSING_TENSOR, "%s: tensor '%s' is mapped to %s, which has no such tensor",
                     index_path, e->string, e->valuestring);
            goto fail;
        }
    }
    *out = f;
    f = NULL;
fail:
    st_close(f);
    free(path);
    free(shards);
    cJSON_Delete(index);
    if (file.map)
        munmap(file.map, file.size);
    return s;
}

vkvit_status st_open(const char *path, st_file **out)
{
    static const char *const in_dir[] = {"model.safetensors", "model.safetensors.index.json"};
    static const char index_suffix[] = ".index.json";
    struct stat st;
    if (!out || !path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "st_open: NULL argument");
    *out = NULL;
    if (stat(path, &st) != 0)
        return fail(VKVIT_ERROR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        vkvit_status s = VKVIT_OK;
        size_t len = strlen(path), cap = len + 1 + strlen(in_dir[1]) + 1;
        char *p = malloc(cap);
        if (!p)
            return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
        const char *sep = len && path[len - 1] == '/' ? "" : "/";
        snprintf(p, cap, "%s%s%s", path, sep, in_dir[0]);
        if (stat(p, &st) == 0) {
            s = open_file(p, out);
            goto done;
        }
        snprintf(p, cap, "%s%s%s", path, sep, in_dir[1]);
        if (stat(p, &st) == 0) {
            s = st_open_index(p, out);
            goto done;
        }
        s = fail(VKVIT_ERROR_IO, "%s: holds neither %s nor %s", path, in_dir[0], in_dir[1]);
    done:
        free(p);
        return s;
    }
    size_t len = strlen(path), suf = sizeof index_suffix - 1;
    if (len >= suf && strcmp(path + len - suf, index_suffix) == 0)
        return st_open_index(path, out);
    return open_file(path, out);
}

/* ---- access ----------------------------------------------------------------------------------- */

size_t st_count(const st_file *f) { return f ? f->count : 0; }

const st_tensor *st_tensor_at(const st_file *f, size_t i)
{
    return f && i < f->count ? &f->tensors[i] : NULL;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    if (!f || !name || !f->count)
        return NULL;
    st_tensor key = {.name = name};
    return bsearch(&key, f->tensors, f->count, sizeof key, tensor_cmp);
}

const char *st_metadata(const st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (size_t i = 0; i < f->shard_count; i++) {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(f->shards[i].header, "__metadata__");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
        if (cJSON_IsString(v))
            return v->valuestring;
    }
    return NULL;
}

vkvit_status st_read_f32(const st_tensor *t, float *out, size_t count)
{
    if (!t || (!out && count))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "st_read_f32: NULL argument");
    if (count != t->count)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: tensor '%s' has %llu elements, not %zu",
                    t->file, t->name, (ull)t->count, count);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        for (size_t i = 0; i < count; i++, p += 4) {
            uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                            (uint32_t)p[3] << 24;
            memcpy(&out[i], &bits, sizeof bits);
        }
        return VKVIT_OK;
    case ST_F16:
        for (size_t i = 0; i < count; i++, p += 2)
            out[i] = st_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        return VKVIT_OK;
    case ST_BF16:
        for (size_t i = 0; i < count; i++, p += 2)
            out[i] = st_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
        return VKVIT_OK;
    default:
        return fail(VKVIT_ERROR_UNKNOWN_DTYPE,
                    "%s: tensor '%s' has dtype %s, unsupported for weights (F32, F16, BF16 are)",
                    t->file, t->name, st_dtype_name(t->dtype));
    }
}
