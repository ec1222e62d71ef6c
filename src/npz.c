/* .npz reader: the zip archive through libzip, each member's .npy header parsed strictly, the data
 * read (and inflated) only when a tensor is asked for. See npz.h. */
#include "npz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "status.h"

typedef unsigned long long ull; /* for printf */

/* A tensor and the zip entry it is read from; t first, so that npz_read_f32 finds the entry. */
typedef struct entry {
    st_tensor t;
    zip_uint64_t index;
} entry;

struct npz_file {
    char *path;
    zip_t *zip;
    entry *entries;      /* sorted by name */
    size_t count;
};

/* Deflate expands at most 1032 to 1 (RFC 1951: a 258-byte match costs at least 2 bits); a member
 * announcing more lies, and would make us allocate for it. */
#define DEFLATE_MAX_RATIO 1032u

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ---- the .npy header ------------------------------------------------------------------------------- */

/* A cursor over the header text; offsets in messages are member bytes. */
typedef struct cursor {
    const char *p, *end;
    const uint8_t *member_start;
    const char *file, *member;
} cursor;

static ull at(const cursor *c) { return (ull)((const uint8_t *)c->p - c->member_start); }

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static vkvit_status expect(cursor *c, char ch, const char *what)
{
    skip_space(c);
    if (c->p >= c->end || *c->p != ch)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header: expected %s at member byte %llu",
                    c->file, c->member, what, at(c));
    c->p++;
    return VKVIT_OK;
}

/* s[0 .. n) for a message: at most 32 characters, anything but printable ASCII as '?'. */
static const char *quoted(const char *s, size_t n, char buf[40])
{
    size_t k = 0;
    for (; k < n && k < 32; k++)
        buf[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
    snprintf(buf + k, 40 - k, "%s", n > 32 ? "..." : "");
    return buf;
}

/* A Python string literal without escapes: '...' or "...". *s points into the header, *n its length. */
static vkvit_status string_literal(cursor *c, const char **s, size_t *n, const char *what)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header: expected %s (a quoted string) at "
                    "member byte %llu", c->file, c->member, what, at(c));
    char q = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != q && *c->p != '\\' && *c->p != '\n')
        c->p++;
    if (c->p >= c->end || *c->p != q) {
        c->p = start - 1;
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header: the string at member byte %llu is "
                    "not closed (or has an escape)", c->file, c->member, at(c));
    }
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return VKVIT_OK;
}

static bool word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    const char *after = c->p + n;
    if (after < c->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') ||
                           (*after >= '0' && *after <= '9') || *after == '_'))
        return false;
    c->p = after;
    return true;
}

/* 'descr': '<f4' | '<f2' | '<f8'; any other string is a dtype we do not read, a list a structured one. */
static vkvit_status parse_descr(cursor *c, npy_header *h)
{
    static const struct {
        const char *descr;
        st_dtype dtype;
    } known[] = {{"<f4", ST_F32}, {"<f2", ST_F16}, {"<f8", ST_F64}};
    skip_space(c);
    if (c->p < c->end && *c->p == '[')
        return fail(VKVIT_ERROR_UNKNOWN_DTYPE, "%s: member '%s': 'descr' at member byte %llu is a structured dtype "
                    "(a list); only '<f4', '<f2' and '<f8' arrays are read", c->file, c->member, at(c));
    ull where = at(c);
    const char *s;
    size_t n;
    vkvit_status st = string_literal(c, &s, &n, "the 'descr' string");
    if (st)
        return st;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (n == strlen(known[i].descr) && memcmp(s, known[i].descr, n) == 0) {
            h->dtype = known[i].dtype;
            return VKVIT_OK;
        }
    char q[40];
    return fail(VKVIT_ERROR_UNKNOWN_DTYPE, "%s: member '%s': 'descr' is '%s' (member byte %llu); only little-endian "
                "floats are read: '<f4', '<f2', '<f8'", c->file, c->member, quoted(s, n, q), where);
}

static vkvit_status parse_fortran(cursor *c, bool *fortran)
{
    skip_space(c);
    ull where = at(c);
    if (word(c, "False")) {
        *fortran = false;
        return VKVIT_OK;
    }
    if (word(c, "True")) {
        *fortran = true;
        return VKVIT_OK;
    }
    return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'fortran_order' at member byte %llu is not True or False",
                c->file, c->member, where);
}

/* A non-negative Python integer literal: no sign, no leading zeros, below 2^63. */
static vkvit_status parse_dim(cursor *c, uint64_t *v)
{
    ull where = at(c);
    const char *start = c->p;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        uint64_t digit = (uint64_t)(*c->p++ - '0');
        if (x > ((uint64_t)INT64_MAX - digit) / 10) /* numpy's dimensions are intp */
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'shape' has a dimension of 2^63 or more "
                        "(member byte %llu)", c->file, c->member, where);
        x = x * 10 + digit;
    }
    if (c->p == start || (c->p - start > 1 && *start == '0'))
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'shape' holds something other than a non-negative "
                    "integer at member byte %llu", c->file, c->member, where);
    *v = x;
    return VKVIT_OK;
}

/* 'shape': () | (n,) | (n, m) | (n, m,) ...: a tuple, so one element needs its comma. */
static vkvit_status parse_shape(cursor *c, npy_header *h)
{
    vkvit_status s = expect(c, '(', "'(' opening the 'shape' tuple");
    if (s)
        return s;
    h->rank = 0;
    bool comma = false;
    for (;;) {
        skip_space(c);
        if (c->p < c->end && *c->p == ')')
            break;
        if (h->rank && !comma)
            return expect(c, ',', "',' between dimensions in 'shape'");
        if (h->rank == ST_MAX_RANK)
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'shape' has more than %d dimensions (member byte "
                        "%llu)", c->file, c->member, ST_MAX_RANK, at(c));
        if ((s = parse_dim(c, &h->shape[h->rank++])))
            return s;
        skip_space(c);
        comma = c->p < c->end && *c->p == ',';
        if (comma)
            c->p++;
    }
    if (h->rank == 1 && !comma)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'shape' is (%llu), a number, not a tuple: (%llu,) "
                    "(member byte %llu)", c->file, c->member, (ull)h->shape[0], (ull)h->shape[0], at(c));
    c->p++;
    return VKVIT_OK;
}

/* The dict: exactly the keys 'descr', 'fortran_order', 'shape', each once, in any order. */
static vkvit_status parse_dict(cursor *c, npy_header *h)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    bool seen[3] = {false, false, false}, fortran = false;
    vkvit_status s = expect(c, '{', "'{' opening the header dict");
    for (bool first = true; !s; first = false) {
        skip_space(c);
        if (c->p < c->end && *c->p == '}')
            break;
        if (!first && (s = expect(c, ',', "',' or '}' after a value")))
            return s;
        skip_space(c);
        if (c->p < c->end && *c->p == '}')
            break;
        ull where = at(c);
        const char *k;
        size_t n;
        int key = 0;
        if ((s = string_literal(c, &k, &n, "a key")))
            return s;
        while (key < 3 && !(strlen(keys[key]) == n && memcmp(keys[key], k, n) == 0))
            key++;
        char q[40];
        if (key == 3 || seen[key])
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header: %s key '%s' at member byte %llu "
                        "(a .npy header has 'descr', 'fortran_order' and 'shape', once each)", c->file, c->member,
                        key == 3 ? "unexpected" : "repeated", quoted(k, n, q), where);
        seen[key] = true;
        if ((s = expect(c, ':', "':' after a key")))
            return s;
        s = key == 0 ? parse_descr(c, h) : key == 1 ? parse_fortran(c, &fortran) : parse_shape(c, h);
    }
    if (s)
        return s;
    c->p++;
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header has no '%s' key", c->file, c->member,
                        keys[k]);
    if (fortran)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': 'fortran_order' is True: column-major arrays are not "
                    "read (NumPy writes C order unless the array was transposed)", c->file, c->member);
    skip_space(c);
    if (c->p != c->end)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header has bytes after its dict (member byte %llu)",
                    c->file, c->member, at(c));
    return VKVIT_OK;
}

vkvit_status npy_parse_header(const uint8_t *b, size_t n, uint64_t member_size, const char *file,
                              const char *member, npy_header *out)
{
    if (!b || !out || !file || !member)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npy_parse_header: NULL argument");
    memset(out, 0, sizeof *out);
    if (n > member_size)
        n = (size_t)member_size;
    if (memcmp(b, npy_magic, n < 6 ? n : 6) != 0)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s' is not a .npy array: it does not start with "
                    "\"\\x93NUMPY\" (member bytes 0-5)", file, member);
    if (n < 8)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: member '%s' is %llu bytes, shorter than a .npy header", file,
                    member, (ull)member_size);
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy version %u.%u (member bytes 6-7); 1.0, 2.0 and "
                    "3.0 are read", file, member, b[6], b[7]);
    size_t len_bytes = b[6] == 1 ? 2 : 4, start = 8 + len_bytes;
    if (n < start)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: member '%s' is %llu bytes, shorter than a version %u.0 .npy "
                    "header", file, member, (ull)member_size, b[6]);
    uint64_t hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8;
    if (len_bytes == 4)
        hlen |= (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s': .npy header length %llu (member bytes 8-%zu) is more "
                    "than %u", file, member, (ull)hlen, start - 1, NPY_MAX_HEADER);
    if (start + hlen > member_size)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: member '%s': the .npy header of %llu bytes from member byte %zu "
                    "runs past the member's end (%llu bytes)", file, member, (ull)hlen, start, (ull)member_size);
    if (start + hlen > n)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npy_parse_header: %s: member '%s': %zu bytes given, the header "
                    "needs %llu", file, member, n, (ull)(start + hlen));
    cursor c = {(const char *)b + start, (const char *)b + start + hlen, b, file, member};
    vkvit_status s = parse_dict(&c, out);
    if (s)
        return s;
    out->data_offset = start + hlen;
    out->count = 1;
    bool overflow = false;
    for (uint32_t i = 0; i < out->rank; i++) {
        uint64_t prod = out->count * out->shape[i];
        overflow = overflow || (out->shape[i] && prod / out->shape[i] != out->count);
        out->count = prod;
    }
    uint64_t item = st_dtype_size(out->dtype);
    if (overflow || out->count > UINT64_MAX / item)
        return fail(VKVIT_ERROR_BAD_TENSOR_RANGE, "%s: member '%s': its 'shape' holds more than 2^64 bytes", file,
                    member);
    out->data_size = out->count * item;
    uint64_t held = member_size - out->data_offset;
    if (out->data_size != held)
        return fail(VKVIT_ERROR_BAD_TENSOR_RANGE, "%s: member '%s': shape and dtype %s give %llu elements = %llu "
                    "bytes, but the member holds %llu bytes of data after its %llu-byte header (member bytes "
                    "%llu-%llu)", file, member, st_dtype_name(out->dtype), (ull)out->count, (ull)out->data_size,
                    (ull)held, (ull)out->data_offset, (ull)out->data_offset, (ull)member_size);
    return VKVIT_OK;
}

/* ---- the archive ----------------------------------------------------------------------------------- */

static vkvit_status zip_fail(const char *path, int code, const char *what)
{
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    vkvit_status s = code == ZIP_ER_MEMORY ? VKVIT_ERROR_OUT_OF_HOST_MEMORY
                     : code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_SEEK || code == ZIP_ER_NOENT ||
                             code == ZIP_ER_TELL
                         ? VKVIT_ERROR_IO
                         : VKVIT_ERROR_BAD_HEADER;
    s = fail(s, "%s: %s: %s", path, what, zip_error_strerror(&e));
    zip_error_fini(&e);
    return s;
}

#define EOCD_MAX (22u + 65535u) /* the end-of-central-directory record with the longest comment */

/* Whether `tail` (the file's last tail_n bytes) ends with a whole end-of-central-directory record
 * ("PK\5\6", 22 bytes, then its comment). Decided from the bytes rather than from libzip's error,
 * whose code for a cut-off archive differs between versions (NOZIP in 1.7, INCONS or TRUNCATED_ZIP
 * in 1.10+). */
static bool eocd_complete(const uint8_t *tail, size_t tail_n)
{
    for (size_t i = tail_n >= 4 ? tail_n - 4 + 1 : 0; i-- > 0;) {
        if (memcmp(tail + i, "PK\5\6", 4) != 0)
            continue;
        if (tail_n - i < 22)
            return false;
        const size_t comment = (size_t)tail[i + 20] | (size_t)tail[i + 21] << 8;
        return tail_n - i >= 22 + comment;
    }
    return false;
}

/* libzip could not open it: cut off, or not a zip at all? A zip starts with a local file header
 * ("PK\3\4") and ends with the end-of-central-directory record; with the first and without a whole
 * second, the end is missing. */
static vkvit_status open_failed(const char *path, int code, const uint8_t *head, size_t head_n, const uint8_t *tail,
                                size_t tail_n, uint64_t size)
{
    if (head_n >= 4 && memcmp(head, "PK\3\4", 4) == 0 && !eocd_complete(tail, tail_n))
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: starts like a zip archive but has no end-of-central-directory "
                    "record in its %llu bytes: the file was cut off", path, (ull)size);
    if (code == ZIP_ER_EXISTS)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: two members of the zip archive have the same name", path);
    if (code == ZIP_ER_NOZIP)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: not a zip archive, which an .npz is (first bytes %s)", path,
                    head_n >= 4 && !memcmp(head, "\x93NUMPY", 4) ? "\"\\x93NUMPY\": a single .npy, not an .npz"
                    : "are not \"PK\\3\\4\"");
    return zip_fail(path, code, "cannot open the zip archive");
}

/* Reads n bytes of member `name` from zf; a short read is an IO error naming where it stopped. */
static vkvit_status read_exact(const char *path, const char *name, zip_file_t *zf, void *buf, uint64_t n,
                               uint64_t member_at)
{
    uint8_t *p = buf;
    while (n) {
        zip_int64_t got = zip_fread(zf, p, n);
        if (got < 0)
            return fail(VKVIT_ERROR_IO, "%s: member '%s.npy': cannot read at member byte %llu: %s", path, name,
                        (ull)member_at, zip_file_strerror(zf));
        if (got == 0)
            return fail(VKVIT_ERROR_IO, "%s: member '%s.npy' ends at member byte %llu, before the %llu bytes its "
                        "zip entry announces", path, name, (ull)member_at, (ull)(member_at + n));
        p += got;
        n -= (uint64_t)got;
        member_at += (uint64_t)got;
    }
    return VKVIT_OK;
}

/* Where the header of a .npy starting with pre[0 .. n) ends, from its preamble; 0 when the preamble
 * is not one (npy_parse_header then says why). */
static uint64_t header_end(const uint8_t *pre, size_t n)
{
    if (n < 10 || memcmp(pre, npy_magic, 6) != 0 || pre[7] != 0 || pre[6] < 1 || pre[6] > 3)
        return 0;
    if (pre[6] == 1)
        return 10 + ((uint64_t)pre[8] | (uint64_t)pre[9] << 8);
    if (n < 12)
        return 0;
    return 12 + ((uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24);
}

/* Checks entry i of the directory and parses its .npy header into e. */
static vkvit_status read_member(npz_file *f, zip_uint64_t i, entry *e)
{
    zip_stat_t st;
    const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
                              ZIP_STAT_ENCRYPTION_METHOD;
    if (zip_stat_index(f->zip, i, 0, &st) != 0 || (st.valid & need) != need)
        return zip_fail(f->path, zip_error_code_zip(zip_get_error(f->zip)), "cannot read the zip directory");
    const char *name = st.name;
    size_t len = strlen(name);
    if (len <= 4 || strcmp(name + len - 4, ".npy") != 0)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s' (zip entry %llu) is not a .npy array: an .npz holds "
                    "only <name>.npy members", f->path, name, (ull)i);
    if (st.encryption_method != ZIP_EM_NONE)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s' is encrypted", f->path, name);
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s' uses zip compression method %u; an .npz member is "
                    "stored (0) or deflated (8)", f->path, name, st.comp_method);
    if (st.comp_method == ZIP_CM_DEFLATE ? st.size / DEFLATE_MAX_RATIO > st.comp_size : st.size != st.comp_size)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s' announces %llu bytes from %llu %s bytes, more than "
                    "%s", f->path, name, (ull)st.size, (ull)st.comp_size,
                    st.comp_method == ZIP_CM_DEFLATE ? "deflated" : "stored",
                    st.comp_method == ZIP_CM_DEFLATE ? "deflate can produce" : "it stores");
    if (!(e->t.name = strndup(name, len - 4)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", f->path);
    e->t.file = f->path;
    e->index = i;

    /* The preamble tells the header's length; then the header itself. */
    uint8_t pre[12], *head = NULL;
    uint64_t got = st.size < sizeof pre ? st.size : sizeof pre;
    zip_file_t *zf = zip_fopen_index(f->zip, i, 0);
    if (!zf)
        return zip_fail(f->path, zip_error_code_zip(zip_get_error(f->zip)), name);
    vkvit_status s = read_exact(f->path, e->t.name, zf, pre, got, 0);
    uint64_t end = header_end(pre, (size_t)got);
    if (!s && end > got && end <= st.size && end <= 12 + NPY_MAX_HEADER) {
        if (!(head = malloc(end)))
            s = fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", f->path);
        else
            memcpy(head, pre, got);
        if (!s && !(s = read_exact(f->path, e->t.name, zf, head + got, end - got, got)))
            got = end;
    }
    npy_header h;
    if (!s) /* with a header too long or past the member, its length alone gives the error */
        s = npy_parse_header(head ? head : pre, (size_t)got, st.size, f->path, name, &h);
    zip_fclose(zf);
    free(head);
    if (s)
        return s;
    e->t.dtype = h.dtype;
    e->t.rank = h.rank;
    memcpy(e->t.shape, h.shape, sizeof h.shape);
    e->t.count = h.count;
    e->t.size = h.data_size;
    e->t.offset = h.data_offset;
    return VKVIT_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->t.name, ((const entry *)b)->t.name);
}

/* The archive is open: every member's header, then the table sorted, names unique. */
static vkvit_status read_directory(npz_file *f)
{
    zip_int64_t n = zip_get_num_entries(f->zip, 0);
    if (n < 0)
        return fail(VKVIT_ERROR_BAD_HEADER, "%s: cannot count the zip entries", f->path);
    if (!(f->entries = calloc(n ? (size_t)n : 1, sizeof *f->entries)))
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory for %llu members", f->path, (ull)n);
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
        vkvit_status s = read_member(f, i, &f->entries[f->count]);
        if (f->entries[f->count].t.name)
            f->count++;
        if (s)
            return s;
    }
    if (f->count)
        qsort(f->entries, f->count, sizeof *f->entries, entry_cmp);
    for (size_t i = 1; i < f->count; i++)
        if (strcmp(f->entries[i - 1].t.name, f->entries[i].t.name) == 0)
            return fail(VKVIT_ERROR_BAD_HEADER, "%s: member '%s.npy' appears twice (zip entries %llu and %llu)",
                        f->path, f->entries[i].t.name, (ull)f->entries[i - 1].index, (ull)f->entries[i].index);
    return VKVIT_OK;
}

void npz_close(npz_file *f)
{
    if (!f)
        return;
    if (f->zip)
        zip_discard(f->zip);
    for (size_t i = 0; i < f->count; i++)
        free((char *)f->entries[i].t.name);
    free(f->entries);
    free(f->path);
    free(f);
}

/* Opens the archive from src (taken over, also on failure) and reads its directory. */
static vkvit_status open_source(const char *name, zip_source_t *src, const uint8_t *head, size_t head_n,
                                const uint8_t *tail, size_t tail_n, uint64_t size, npz_file **out)
{
    npz_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(name))) {
        free(f);
        zip_source_free(src);
        return fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", name);
    }
    zip_error_t err;
    zip_error_init(&err);
    vkvit_status s = VKVIT_OK;
    if (!(f->zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err))) {
        zip_source_free(src);
        s = open_failed(name, zip_error_code_zip(&err), head, head_n, tail, tail_n, size);
    }
    zip_error_fini(&err);
    if (!s)
        s = read_directory(f);
    if (s) {
        npz_close(f);
        return s;
    }
    *out = f;
    return VKVIT_OK;
}

vkvit_status npz_parse(const void *data, size_t size, const char *name, npz_file **out)
{
    if (!out || (!data && size) || !name)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npz_parse: NULL argument");
    *out = NULL;
    if (size == 0)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: empty file", name);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &err);
    const size_t tail_n = size < EOCD_MAX ? size : EOCD_MAX;
    vkvit_status s = src ? open_source(name, src, data, size, (const uint8_t *)data + size - tail_n, tail_n, size, out)
                         : zip_fail(name, zip_error_code_zip(&err), "cannot read the buffer");
    zip_error_fini(&err);
    return s;
}

vkvit_status npz_open(const char *path, npz_file **out)
{
    if (!out || !path)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npz_open: NULL argument");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(VKVIT_ERROR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(VKVIT_ERROR_IO, "%s: not a regular file", path);
    if (st.st_size == 0)
        return fail(VKVIT_ERROR_FILE_TRUNCATED, "%s: empty file", path);
    uint8_t head[4];
    size_t head_n = 0, tail_n = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fail(VKVIT_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    head_n = fread(head, 1, sizeof head, fp);
    /* The end, where the end-of-central-directory record must be: whether a failure is a cut-off file. */
    uint8_t *tail = malloc(EOCD_MAX);
    const uint64_t from = (uint64_t)st.st_size > EOCD_MAX ? (uint64_t)st.st_size - EOCD_MAX : 0;
    if (tail && fseeko(fp, (off_t)from, SEEK_SET) == 0)
        tail_n = fread(tail, 1, EOCD_MAX, fp);
    fclose(fp);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_file_create(path, 0, -1, &err);
    vkvit_status s = src ? open_source(path, src, head, head_n, tail ? tail : head, tail ? tail_n : 0,
                                       (uint64_t)st.st_size, out)
                         : zip_fail(path, zip_error_code_zip(&err), "cannot open");
    zip_error_fini(&err);
    free(tail);
    return s;
}

/* ---- access ---------------------------------------------------------------------------------------- */

size_t npz_count(const npz_file *f) { return f ? f->count : 0; }

const st_tensor *npz_tensor_at(const npz_file *f, size_t i)
{
    return f && i < f->count ? &f->entries[i].t : NULL;
}

const st_tensor *npz_find(const npz_file *f, const char *name)
{
    if (!f || !name || !f->count)
        return NULL;
    entry key = {.t.name = name};
    const entry *e = bsearch(&key, f->entries, f->count, sizeof key, entry_cmp);
    return e ? &e->t : NULL;
}

/* One little-endian element of a member to fp32. */
static float decode(st_dtype dtype, const uint8_t *p)
{
    uint64_t bits = 0;
    for (size_t i = st_dtype_size(dtype); i-- > 0;)
        bits = bits << 8 | p[i];
    if (dtype == ST_F16)
        return st_f16_to_f32((uint16_t)bits);
    if (dtype == ST_F64) {
        double d;
        memcpy(&d, &bits, sizeof d);
        return (float)d;
    }
    uint32_t b32 = (uint32_t)bits;
    float v;
    memcpy(&v, &b32, sizeof v);
    return v;
}

vkvit_status npz_read_f32(const npz_file *f, const st_tensor *t, float *out, size_t count)
{
    if (!f || !t || (!out && count))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npz_read_f32: NULL argument");
    uintptr_t first = (uintptr_t)f->entries, at = (uintptr_t)t;
    size_t i = at >= first ? (at - first) / sizeof *f->entries : f->count;
    if (i >= f->count || &f->entries[i].t != t)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "npz_read_f32: tensor '%s' is not one of %s's", t->name, f->path);
    if (count != t->count)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "%s: tensor '%s' has %llu elements, not %zu", f->path, t->name,
                    (ull)t->count, count);
    zip_file_t *zf = zip_fopen_index(f->zip, f->entries[i].index, 0);
    if (!zf)
        return zip_fail(f->path, zip_error_code_zip(zip_get_error(f->zip)), t->name);
    enum { CHUNK = 1 << 16 }; /* bytes: a multiple of every element size */
    uint8_t *buf = malloc(CHUNK);
    vkvit_status s = buf ? VKVIT_OK : fail(VKVIT_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", f->path);
    uint8_t skip[64];
    for (uint64_t left = t->offset; !s && left;) { /* past the header, which zip cannot seek over when deflated */
        uint64_t n = left < sizeof skip ? left : sizeof skip;
        s = read_exact(f->path, t->name, zf, skip, n, t->offset - left);
        left -= n;
    }
    const size_t item = st_dtype_size(t->dtype);
    for (uint64_t done = 0; !s && done < t->count;) {
        uint64_t n = t->count - done < CHUNK / item ? t->count - done : CHUNK / item;
        if ((s = read_exact(f->path, t->name, zf, buf, n * item, t->offset + done * item)))
            break;
        for (uint64_t k = 0; k < n; k++)
            out[done + k] = decode(t->dtype, buf + k * item);
        done += n;
    }
    /* Read to the end so that libzip checks the CRC (it does when the last byte is read). */
    if (!s) {
        zip_int64_t extra = zip_fread(zf, skip, 1);
        if (extra != 0)
            s = extra < 0 ? fail(VKVIT_ERROR_IO, "%s: member '%s.npy': %s", f->path, t->name, zip_file_strerror(zf))
                          : fail(VKVIT_ERROR_IO, "%s: member '%s.npy' holds more than its header announces",
                                 f->path, t->name);
    }
    free(buf);
    zip_fclose(zf);
    return s;
}
