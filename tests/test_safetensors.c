/* safetensors reader: good files parse and convert exactly; every malformed file gets its own
 * status and a message naming the problem, from memory and from disk alike. No GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "safetensors.h"
#include "status.h"


/* ---- building files --------------------------------------------------------------------------- */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

/* 8-byte length + header + data. The header is written with ' for " (readable tables); a
 * length_field of 0 means the header's true length. data NULL: data_len bytes 0, 1, 2, ... */
static blob make_st(const char *header, const void *data, size_t data_len, uint64_t length_field)
{
    size_t h = strlen(header);
    blob b = {malloc(8 + h + data_len + 1), 8 + h + data_len};
    if (!b.p)
        abort();
    uint64_t n = length_field ? length_field : h;
    for (int i = 0; i < 8; i++)
        b.p[i] = (uint8_t)(n >> (8 * i));
    for (size_t i = 0; i < h; i++)
        b.p[8 + i] = header[i] == '\'' ? '"' : (uint8_t)header[i];
    for (size_t i = 0; i < data_len; i++)
        b.p[8 + h + i] = data ? ((const uint8_t *)data)[i] : (uint8_t)i;
    return b;
}

static const char *tmp_dir;   /* test_temp_dir: removed at exit */

static char *tmp_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
    return p;
}

static void write_file(const char *name, const void *data, size_t n) { test_write_file(tmp_path(name), data, n); }

static void write_st(const char *name, const char *header, const void *data, size_t data_len)
{
    blob b = make_st(header, data, data_len, 0);
    write_file(name, b.p, b.n);
    free(b.p);
}

static void write_text(const char *name, const char *text)
{
    char *t = strdup(text);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    write_file(name, t, strlen(t));
    free(t);
}

/* ---- the bad-input table ---------------------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *header;     /* ' for "                                                      */
    size_t data_len;
    uint64_t length_field;  /* 0: the header's length                                       */
    vkvit_status want;
    const char *says;       /* the detail must contain this                                  */
} bad_case;

#define T(name, dtype, shape, b, e) "'" name "': {'dtype': '" dtype "', 'shape': " shape ", 'data_offsets': [" #b ", " #e "]}"

static const bad_case bad[] = {
    {"header length past the end", "{}", 0, 1000, VKVIT_ERROR_FILE_TRUNCATED,
     "header length 1000 runs past the end of the file (10 bytes)"},
    {"header length absurd", "{}", 0, 1ull << 40, VKVIT_ERROR_BAD_HEADER,
     "header length 1099511627776 (file bytes 0-7) is not between 2 and 100000000"},
    {"header length 1", "{}", 0, 1, VKVIT_ERROR_BAD_HEADER, "header length 1 "},
    {"header not JSON", "{'a': {'dtype': 'F32',", 0, 0, VKVIT_ERROR_BAD_HEADER, "header is not valid JSON"},
    {"header JSON not an object", "[1, 2, 3]", 0, 0, VKVIT_ERROR_BAD_HEADER, "header is JSON but not an object"},
    {"bytes after the JSON", "{}  x", 0, 0, VKVIT_ERROR_BAD_HEADER, "header has bytes after its JSON (file byte 12)"},
    {"tensor not an object", "{'w': 5}", 0, 0, VKVIT_ERROR_BAD_HEADER, "tensor 'w' is 5, not an object"},
    {"no dtype", "{'w': {'shape': [1], 'data_offsets': [0, 4]}}", 4, 0, VKVIT_ERROR_BAD_HEADER,
     "tensor 'w' has no dtype string"},
    {"unknown dtype", "{" T("w", "F33", "[1]", 0, 4) "}", 4, 0, VKVIT_ERROR_UNKNOWN_DTYPE,
     "tensor 'w' has unknown dtype 'F33'"},
    {"lowercase dtype", "{" T("w", "f32", "[1]", 0, 4) "}", 4, 0, VKVIT_ERROR_UNKNOWN_DTYPE,
     "unknown dtype 'f32'"},
    {"shape not a list", "{" T("w", "F32", "4", 0, 16) "}", 16, 0, VKVIT_ERROR_BAD_HEADER,
     "tensor 'w' has no shape list"},
    {"negative shape", "{" T("w", "F32", "[2, -3]", 0, 24) "}", 24, 0, VKVIT_ERROR_BAD_HEADER,
     "tensor 'w': shape[1] is -3, not a non-negative integer"},
    {"fractional shape", "{" T("w", "F32", "[1.5]", 0, 6) "}", 6, 0, VKVIT_ERROR_BAD_HEADER,
     "shape[0] is 1.5"},
    {"string in shape", "{" T("w", "F32", "['2']", 0, 8) "}", 8, 0, VKVIT_ERROR_BAD_HEADER,
     "shape[0] is a string"},
    {"rank 9", "{" T("w", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, 0, VKVIT_ERROR_BAD_HEADER,
     "tensor 'w' has rank 9, more than 8"},
    {"absurd shape (2^64 bytes)", "{" T("w", "F32", "[4294967296, 4294967296]", 0, 4) "}", 4, 0,
     VKVIT_ERROR_BAD_TENSOR_RANGE, "tensor 'w': F32 shape holds more than 2^64 bytes"},
    {"absurd shape dimension", "{" T("w", "F32", "[1e300]", 0, 4) "}", 4, 0, VKVIT_ERROR_BAD_HEADER,
     "shape[0] is 1.0000000000000001e+300"},
    {"one data offset", "{'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0]}}", 4, 0,
     VKVIT_ERROR_BAD_HEADER, "tensor 'w': data_offsets is not a list of two non-negative integers"},
    {"negative data offset", "{" T("w", "F32", "[1]", -4, 0) "}", 4, 0, VKVIT_ERROR_BAD_HEADER,
     "tensor 'w': data_offsets is not a list"},
    {"data offset beyond 2^53", "{" T("w", "U8", "[1]", 18014398509481984, 18014398509481985) "}", 4,
     0, VKVIT_ERROR_BAD_HEADER, "data_offsets is not a list"},
    {"begin after end", "{" T("w", "F32", "[1]", 8, 4) "}", 8, 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     "tensor 'w': data_offsets [8, 4] begin after end"},
    {"range not dtype x shape", "{" T("w", "F32", "[2, 3]", 0, 20) "}", 24, 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     "tensor 'w': F32 x 6 elements is 24 bytes but data_offsets [0, 20] span 20 (at file byte"},
    {"range not dtype x shape (F16)", "{" T("h", "F16", "[3]", 0, 12) "}", 12, 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     "tensor 'h': F16 x 3 elements is 6 bytes"},
    {"offsets out of range", "{" T("a", "F32", "[2]", 0, 8) ", " T("b", "F32", "[2]", 1000, 1008) "}", 8, 0,
     VKVIT_ERROR_BAD_TENSOR_RANGE, "tensor 'b' ends at byte 1008 (file byte "},
    {"data shorter than announced", "{" T("a", "F32", "[2]", 0, 8) ", " T("b", "F32", "[2]", 8, 16) "}", 12, 0,
     VKVIT_ERROR_FILE_TRUNCATED, "tensor 'b' ends at byte 16 of the data section, past its end (12)"},
    {"no data at all", "{" T("a", "F32", "[2]", 0, 8) "}", 0, 0, VKVIT_ERROR_FILE_TRUNCATED,
     "but its header announces"},
    {"overlapping", "{" T("a", "F32", "[2]", 0, 8) ", " T("b", "F32", "[2]", 4, 12) "}", 12, 0,
     VKVIT_ERROR_BAD_TENSOR_RANGE, "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
    {"same range twice", "{" T("a", "F32", "[2]", 0, 8) ", " T("b", "I32", "[2]", 0, 8) "}", 8, 0,
     VKVIT_ERROR_BAD_TENSOR_RANGE, "[0, 8) overlap"},
    {"duplicate names", "{" T("a", "F32", "[1]", 0, 4) ", " T("a", "F32", "[1]", 4, 8) "}", 8, 0,
     VKVIT_ERROR_BAD_HEADER, "tensor 'a' appears twice"},
    {"metadata not a map", "{'__metadata__': [1]}", 0, 0, VKVIT_ERROR_BAD_HEADER, "__metadata__ is not an object"},
    {"metadata value not a string", "{'__metadata__': {'format': 1}}", 0, 0, VKVIT_ERROR_BAD_HEADER,
     "__metadata__ value 'format' is not a string"},
    {"metadata twice", "{'__metadata__': {}, '__metadata__': {}}", 0, 0, VKVIT_ERROR_BAD_HEADER,
     "__metadata__ appears twice"},
};

static void test_bad_table(void)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const bad_case *c = &bad[i];
        blob b = make_st(c->header, NULL, c->data_len, c->length_field);
        st_file *f = (st_file *)&b; /* must be reset to NULL on failure */
        char what[160];

        clear_error();
        snprintf(what, sizeof what, "memory: %s", c->what);
        vkvit_status s = st_parse(b.p, b.n, "mem.safetensors", &f);
        test_expect_status(what, s, c->want, c->says);
        test_expect(f == NULL && strstr(vkvit_last_error(), "mem.safetensors: ") == vkvit_last_error(),
                    "memory: %s: *out NULL, message starts with the name", c->what);
        st_close(s == VKVIT_OK ? f : NULL);

        write_file("bad.safetensors", b.p, b.n);
        snprintf(what, sizeof what, "file: %s", c->what);
        clear_error();
        s = st_open(tmp_path("bad.safetensors"), &f);
        test_expect_status(what, s, c->want, c->says);
        st_close(s == VKVIT_OK ? f : NULL);
        free(b.p);
    }

    /* Files too short to hold the header length. */
    static const struct {
        const char *what;
        size_t n;
        const char *says;
    } tiny[] = {{"empty file", 0, "empty file"}, {"3-byte file", 3, "file is 3 bytes, shorter than the 8-byte header length"},
                {"7-byte file", 7, "file is 7 bytes"}};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        static const uint8_t bytes[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        st_file *f = NULL;
        char what[80];
        snprintf(what, sizeof what, "memory: %s", tiny[i].what);
        test_expect_status(what, st_parse(bytes, tiny[i].n, "mem", &f), VKVIT_ERROR_FILE_TRUNCATED,
                           tiny[i].says);
        write_file("tiny.safetensors", bytes, tiny[i].n);
        snprintf(what, sizeof what, "file: %s", tiny[i].what);
        test_expect_status(what, st_open(tmp_path("tiny.safetensors"), &f), VKVIT_ERROR_FILE_TRUNCATED,
                           tiny[i].says);
    }
}

/* ---- opening: paths, directories, errors ------------------------------------------------------ */

static void test_paths(void)
{
    st_file *f = NULL;
    test_expect_status("nonexistent file", st_open(tmp_path("nope.safetensors"), &f), VKVIT_ERROR_IO,
                       "nope.safetensors: No such file or directory");
    test_expect(f == NULL, "nonexistent file: *out NULL");
    mkdir(tmp_path("emptydir"), 0700);
    test_expect_status("directory without a model", st_open(tmp_path("emptydir"), &f), VKVIT_ERROR_IO,
                       "holds neither model.safetensors nor model.safetensors.index.json");
    rmdir(tmp_path("emptydir"));

    mkdir(tmp_path("dir"), 0700);
    write_st("dir/model.safetensors", "{" T("x", "U8", "[3]", 0, 3) "}", NULL, 3);
    vkvit_status s = st_open(tmp_path("dir"), &f);
    test_expect(s == VKVIT_OK && st_count(f) == 1 && st_find(f, "x") &&
                    strstr(st_find(f, "x")->file, "dir/model.safetensors"),
                "a directory opens its model.safetensors (%s)", vkvit_last_error());
    st_close(f);
    char dir_slash[300];
    snprintf(dir_slash, sizeof dir_slash, "%s/", tmp_path("dir"));
    s = st_open(dir_slash, &f);
    test_expect(s == VKVIT_OK && st_count(f) == 1, "a directory path ending in / (%s)", vkvit_last_error());
    st_close(f);
    unlink(tmp_path("dir/model.safetensors"));
    rmdir(tmp_path("dir"));
    st_close(NULL);
}

/* ---- good files ------------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

static bool same_float(float a, float b)
{
    /* signbit() is only "nonzero" for negatives, and the nonzero value differs between a
     * constant-folded and a computed call at -O3: compare truth values, not the raw results. */
    return (isnan(a) && isnan(b)) || (a == b && !signbit(a) == !signbit(b));
}

/* F16 -> F32 for every bit pattern, against the formula computed in double. */
static void test_f16_exhaustive(void)
{
    int bad_count = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
        double v = exp == 0 ? ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY) : ldexp(1024 + man, exp - 25);
        float want = (float)(sign ? -v : v), got = st_f16_to_f32((uint16_t)h);
        if (!same_float(got, want) && bad_count++ < 5)
            printf("  f16 0x%04x: got %a want %a\n", (unsigned)h, (double)got, (double)want);
    }
    test_expect(bad_count == 0, "F16 -> F32 exact for all 65536 patterns (%d wrong)", bad_count);
    int bf_bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        uint32_t bits = b << 16;
        float want;
        memcpy(&want, &bits, 4);
        float got = st_bf16_to_f32((uint16_t)b);
        if (memcmp(&got, &want, 4) != 0)
            bf_bad++;
    }
    test_expect(bf_bad == 0, "BF16 -> F32 bit-exact for all 65536 patterns (%d wrong)", bf_bad);
}

static void test_good_file(void)
{
    /* Data section: w F32 [2,3] at 0, h F16 [10] at 24, b BF16 [5] at 44, i I32 [] at 54, e F32 [0]
     * at 58, then 2 bytes of gap. The header is 1 byte of padding off 8-alignment, so the tensors
     * are unaligned in the file. */
    static const float w[6] = {1.0f, -2.5f, 3.14159274f, 1e-38f, -0.0f, 65504.0f};
    static const uint16_t h[10] = {0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x3c00, 0xc000, 0x7bff, 0x8000};
    const float h_want[10] = {0x1p-24f, 0x3ffp-24f, 0x1p-14f, INFINITY, -INFINITY, NAN, 1.0f, -2.0f, 65504.0f, -0.0f};
    static const uint16_t bf[5] = {0x3f80, 0xc2f7, 0x7f80, 0x0001, 0xffc1};
    const float bf_want[5] = {1.0f, -123.5f, INFINITY, 0x1p-133f, NAN};
    uint8_t data[60] = {0};
    memcpy(data, w, sizeof w); /* the test host is little-endian, as the file format */
    for (int i = 0; i < 10; i++)
        put16(data + 24 + 2 * i, h[i]);
    for (int i = 0; i < 5; i++)
        put16(data + 44 + 2 * i, bf[i]);
    data[54] = 7;
    const char *header = "{'__metadata__': {'format': 'pt', 'note': 'test'}, "
                         T("w", "F32", "[2, 3]", 0, 24) ", " T("h", "F16", "[10]", 24, 44) ", "
                         T("b", "BF16", "[5]", 44, 54) ", " T("i", "I32", "[]", 54, 58) ", "
                         T("e", "F32", "[0]", 58, 58) "}  ";
    blob file = make_st(header, data, sizeof data, 0);
    write_file("good.safetensors", file.p, file.n);

    for (int from_disk = 0; from_disk < 2; from_disk++) {
        const char *how = from_disk ? "file" : "memory";
        st_file *f = NULL;
        vkvit_status s = from_disk ? st_open(tmp_path("good.safetensors"), &f)
                                   : st_parse(file.p, file.n, "good", &f);
        if (!test_expect(s == VKVIT_OK, "%s: good file opens (%s)", how, s ? vkvit_last_error() : ""))
            continue;
        test_expect(st_count(f) == 5, "%s: 5 tensors (%zu)", how, st_count(f));
        bool sorted = true;
        for (size_t i = 1; i < st_count(f); i++)
            sorted = sorted && strcmp(st_tensor_at(f, i - 1)->name, st_tensor_at(f, i)->name) < 0;
        test_expect(sorted && st_tensor_at(f, st_count(f)) == NULL, "%s: tensors sorted by name", how);
        test_expect(st_metadata(f, "format") && strcmp(st_metadata(f, "format"), "pt") == 0 &&
                        st_metadata(f, "nope") == NULL, "%s: metadata", how);
        test_expect(st_find(f, "missing") == NULL && st_find(f, "") == NULL, "%s: absent names not found", how);

        const st_tensor *t = st_find(f, "w");
        size_t header_len = strlen(header);
        test_expect(t && t->dtype == ST_F32 && t->rank == 2 && t->shape[0] == 2 && t->shape[1] == 3 &&
                        t->count == 6 && t->size == 24 && t->offset == 8 + header_len,
                    "%s: w is F32 [2, 3] at file byte %zu", how, 8 + header_len);
        float out[10];
        s = t ? st_read_f32(t, out, 6) : VKVIT_ERROR_MISSING_TENSOR;
        test_expect(s == VKVIT_OK && memcmp(out, w, sizeof w) == 0, "%s: F32 values exact", how);

        t = st_find(f, "h");
        s = t ? st_read_f32(t, out, 10) : VKVIT_ERROR_MISSING_TENSOR;
        bool ok = s == VKVIT_OK;
        for (int i = 0; ok && i < 10; i++)
            ok = same_float(out[i], h_want[i]);
        test_expect(ok, "%s: F16 values exact (subnormals, inf, NaN, -0)", how);

        t = st_find(f, "b");
        s = t ? st_read_f32(t, out, 5) : VKVIT_ERROR_MISSING_TENSOR;
        ok = s == VKVIT_OK;
        for (int i = 0; ok && i < 5; i++)
            ok = same_float(out[i], bf_want[i]);
        test_expect(ok, "%s: BF16 values exact", how);

        t = st_find(f, "i");
        test_expect(t && t->rank == 0 && t->count == 1 && t->size == 4 && ((const uint8_t *)t->data)[0] == 7,
                    "%s: I32 scalar, rank 0", how);
        if (t)
            test_expect_status("I32 read as weights", st_read_f32(t, out, 1), VKVIT_ERROR_UNKNOWN_DTYPE,
                               "tensor 'i' has dtype I32, unsupported for weights");
        t = st_find(f, "e");
        test_expect(t && t->count == 0 && t->size == 0 && st_read_f32(t, NULL, 0) == VKVIT_OK,
                    "%s: empty tensor", how);
        if ((t = st_find(f, "w")))
            test_expect_status("read with the wrong count", st_read_f32(t, out, 5), VKVIT_ERROR_INVALID_ARGUMENT,
                               "tensor 'w' has 6 elements, not 5");
        st_close(f);
    }
    free(file.p);

    /* Every dtype of the spec is accepted, with its size. */
    static const char *const names[] = {"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32",
                                        "U32", "F32", "F64", "I64", "U64", "F8_E4M3", "F8_E5M2"};
    static const size_t sizes[] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 1, 1};
    int ok = 0;
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        char hdr[160];
        st_file *f = NULL;
        snprintf(hdr, sizeof hdr, "{'t': {'dtype': '%s', 'shape': [3], 'data_offsets': [0, %zu]}}", names[d], 3 * sizes[d]);
        blob b = make_st(hdr, NULL, 3 * sizes[d], 0);
        if (st_parse(b.p, b.n, "dtype", &f) == VKVIT_OK && st_find(f, "t")->dtype == (st_dtype)d &&
            st_dtype_size((st_dtype)d) == sizes[d] && strcmp(st_dtype_name((st_dtype)d), names[d]) == 0)
            ok++;
        st_close(f);
        free(b.p);
    }
    test_expect(ok == ST_DTYPE_COUNT, "all %d spec dtypes parse with their sizes (%d ok)", ST_DTYPE_COUNT, ok);

    /* An empty header and zero tensors is a valid file. */
    st_file *f = NULL;
    blob b = make_st("{}", NULL, 0, 0);
    test_expect(st_parse(b.p, b.n, "empty", &f) == VKVIT_OK && st_count(f) == 0 && !st_find(f, "x"),
                "'{}' is a file with no tensors");
    st_close(f);
    free(b.p);
}

/* ---- sharded checkpoints ---------------------------------------------------------------------- */

static void test_shards(void)
{
    st_file *f = NULL;
    mkdir(tmp_path("sh"), 0700);
    write_st("sh/a.safetensors", "{'__metadata__': {'format': 'pt'}, " T("x", "F32", "[2]", 0, 8) ", "
             T("y", "F32", "[1]", 8, 12) "}", NULL, 12);
    write_st("sh/b.safetensors", "{" T("z", "BF16", "[2]", 0, 4) "}", NULL, 4);
    write_text("sh/model.safetensors.index.json",
               "{'metadata': {'total_size': 16}, 'weight_map': {'x': 'a.safetensors', 'y': 'a.safetensors', "
               "'z': 'b.safetensors'}}");
    vkvit_status s = st_open(tmp_path("sh"), &f);
    test_expect(s == VKVIT_OK && st_count(f) == 3 && st_find(f, "x") && st_find(f, "z") &&
                    strstr(st_find(f, "z")->file, "sh/b.safetensors") && st_metadata(f, "format"),
                "sharded: a directory with only an index opens every shard (%s)", vkvit_last_error());
    st_close(f);
    s = st_open(tmp_path("sh/model.safetensors.index.json"), &f);
    test_expect(s == VKVIT_OK && st_count(f) == 3, "sharded: the index path opens (%s)", vkvit_last_error());
    st_close(f);

    static const struct {
        const char *what, *index;
        vkvit_status want;
        const char *says;
    } cases[] = {
        {"index not JSON", "{'weight_map': ", VKVIT_ERROR_BAD_HEADER, "bad.index.json: the index is not valid JSON (error near file byte 14)"},
        {"no weight_map", "{'metadata': {}}", VKVIT_ERROR_BAD_HEADER, "no \"weight_map\" object"},
        {"empty weight_map", "{'weight_map': {}}", VKVIT_ERROR_BAD_HEADER, "weight_map is empty"},
        {"shard name not a string", "{'weight_map': {'x': 3}}", VKVIT_ERROR_BAD_HEADER,
         "weight_map['x'] is not a file name string"},
        {"shard path escapes", "{'weight_map': {'x': '../a.safetensors'}}", VKVIT_ERROR_BAD_HEADER,
         "weight_map['x'] = '../a.safetensors' is not a file name in the index's directory"},
        {"missing shard file", "{'weight_map': {'x': 'a.safetensors', 'q': 'gone.safetensors'}}", VKVIT_ERROR_IO,
         "gone.safetensors: cannot open: No such file or directory (shard named by"},
        {"tensor missing from its shard", "{'weight_map': {'x': 'a.safetensors', 'w': 'b.safetensors'}}",
         VKVIT_ERROR_MISSING_TENSOR, "tensor 'w' is mapped to b.safetensors, which has no such tensor"},
        {"tensor in another shard", "{'weight_map': {'x': 'b.safetensors', 'z': 'b.safetensors'}}",
         VKVIT_ERROR_MISSING_TENSOR, "tensor 'x' is mapped to b.safetensors"},
        {"names collide across shards", "{'weight_map': {'x': 'a.safetensors', 'z': 'c.safetensors'}}",
         VKVIT_ERROR_BAD_HEADER, "tensor 'x' is in both"},
        {"bad shard", "{'weight_map': {'x': 'a.safetensors', 'z': 'd.safetensors'}}",
         VKVIT_ERROR_FILE_TRUNCATED, "d.safetensors: file is 3 bytes"},
    };
    write_st("sh/c.safetensors", "{" T("x", "F32", "[1]", 0, 4) ", " T("z", "U8", "[1]", 4, 5) "}", NULL, 5);
    write_file("sh/d.safetensors", "abc", 3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text("sh/bad.index.json", cases[i].index);
        f = (st_file *)cases;
        char what[120];
        snprintf(what, sizeof what, "sharded: %s", cases[i].what);
        s = st_open(tmp_path("sh/bad.index.json"), &f);
        test_expect_status(what, s, cases[i].want, cases[i].says);
        test_expect(f == NULL, "sharded: %s: *out NULL", cases[i].what);
    }
    static const char *const files[] = {"a.safetensors", "b.safetensors", "c.safetensors", "d.safetensors",
                                        "model.safetensors.index.json", "bad.index.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "sh/%s", files[i]);
        unlink(tmp_path(name));
    }
    rmdir(tmp_path("sh"));
}

/* ---- real checkpoints ------------------------------------------------------------------------- */

static void test_real(void)
{
    /* Committed fixtures (tests/data, written by tools/make_fixtures.py with its own writer). */
    static const char *const fixtures[] = {"hf-vit", "timm-vit", "f16", "bf16"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%stests/data/%s", VKVIT_SOURCE_ROOT "/", fixtures[i]);
        st_file *f = NULL;
        vkvit_status s = st_open(path, &f);
        bool ok = s == VKVIT_OK && st_count(f) > 10;
        for (size_t k = 0; ok && k < st_count(f); k++) {
            const st_tensor *t = st_tensor_at(f, k);
            float *buf = test_alloc(t->count ? t->count : 1);
            ok = st_read_f32(t, buf, t->count) == VKVIT_OK;
            for (size_t j = 0; ok && j < t->count; j++)
                ok = isfinite(buf[j]);
            free(buf);
        }
        test_expect(ok, "fixture %s: %zu tensors open and convert to finite fp32 (%s)", fixtures[i],
                    st_count(f), s ? vkvit_last_error() : "");
        st_close(f);
    }

    char model[600], timm[640];
    struct stat st;
    snprintf(model, sizeof model, "%s../shared/models/deit-tiny-imagenet", VKVIT_SOURCE_ROOT "/");
    snprintf(timm, sizeof timm, "%s/timm", model);
    if (stat(model, &st) != 0) {
        printf("note: %s not found: the real DeiT-Tiny checks are skipped (CI has it)\n", model);
        return;
    }
    const char *const layouts[][2] = {{model, "vit.embeddings.patch_embeddings.projection.weight"},
                                      {timm, "patch_embed.proj.weight"}};
    for (int i = 0; i < 2; i++) {
        st_file *f = NULL;
        vkvit_status s = st_open(layouts[i][0], &f);
        const st_tensor *t = s == VKVIT_OK ? st_find(f, layouts[i][1]) : NULL;
        test_expect(t && t->dtype == ST_F32 && t->rank == 4 && t->shape[0] == 192 && t->shape[1] == 3 &&
                        t->shape[2] == 16 && t->shape[3] == 16,
                    "DeiT-Tiny %s: %zu tensors, %s is F32 [192, 3, 16, 16] (%s)", layouts[i][0], st_count(f),
                    layouts[i][1], s ? vkvit_last_error() : "");
        st_close(f);
    }
}

int main(void)
{
    tmp_dir = test_temp_dir("st");
    test_f16_exhaustive();
    test_good_file();
    test_bad_table();
    test_paths();
    test_shards();
    test_real();
    return test_finish(NULL);
}
