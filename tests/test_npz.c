/* Google .npz checkpoints: the .npy header parser on its own, then bad (and good) .npz files through
 * vkvit_model_load, table-driven.
 *
 * Part 1, `header_cases`: .npy headers made byte by byte (versions, lengths, every key and value
 * form numpy writes, and what it does not) go to npy_parse_header, which must return the row's
 * status and name the problem.
 * Part 2, `load_cases`: each row rewrites tests/data/google-vit/ViT-tiny_8.npz (made by timm,
 * tools/make_npz_fixtures.py) into a folder under a temporary directory (test_temp_dir) with libzip: members dropped,
 * added, re-headed, re-typed, renamed to big_vision's layout, deflated, cut, corrupted. The load must
 * return exactly the row's status, leave *out NULL and the device memory where it was, and say in
 * vkvit_last_error() what went wrong: the file and the row's substrings (the member, the byte, both
 * sizes). A row that must load has its fp32 weights compared with the fixture's: bit for bit when
 * the values are the same (deflated, <f8, other names), to fp16 rounding for <f2. The rows of
 * `pre_logits_cases` start from tests/data/google-prelogits/ViT-pre_6.npz instead (Google's pre-logits
 * layer: torchvision's representation_size model in Google's layout), under each prefix timm's loader knows.
 *
 * Nothing may crash or leak (CI runs this under ASan), and the validation layer must stay silent. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "common.h"
#include "model.h"
#include "npz.h"

#define FIXTURE VKVIT_SOURCE_ROOT "/tests/data/google-vit/ViT-tiny_8.npz"
#define LABELS VKVIT_SOURCE_ROOT "/tests/data/google-vit/labels.txt"
#define PRE_FIXTURE VKVIT_SOURCE_ROOT "/tests/data/google-prelogits/ViT-pre_6.npz"
#define PRE_LABELS VKVIT_SOURCE_ROOT "/tests/data/google-prelogits/labels.txt"
#define B0 "Transformer/encoderblock_0/"
#define B1 "Transformer/encoderblock_1/"
#define MHA "MultiHeadDotProductAttention_1/"

static const char *tmp_root;   /* test_temp_dir */

static void fatal(const char *what, const char *arg)
{
    fprintf(stderr, "FATAL: %s %s\n", what, arg);
    exit(1);
}

/* ---- part 1: the .npy header --------------------------------------------------------------------- */

/* A .npy member: magic, version, header length (2 or 4 bytes), the dict padded with spaces to a
 * multiple of 64 plus '\n' as numpy pads it, then `data` bytes of zeros. */
static size_t make_npy(uint8_t *out, size_t cap, int major, const char *dict, size_t data)
{
    size_t lb = major == 1 ? 2 : 4, pre = 8 + lb, len = strlen(dict) + 1;
    len += (64 - (pre + len) % 64) % 64;
    if (pre + len + data > cap)
        fatal("make_npy: too big for", dict);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major, out[7] = 0;
    for (size_t i = 0; i < lb; i++)
        out[8 + i] = (uint8_t)(len >> (8 * i));
    memset(out + pre, ' ', len);
    memcpy(out + pre, dict, strlen(dict));
    out[pre + len - 1] = '\n';
    memset(out + pre + len, 0, data);
    return pre + len + data;
}

typedef struct header_case {
    const char *name;
    int major;              /* 0: the raw bytes of `dict` (length `data`) are the whole member */
    const char *dict;
    size_t data;            /* data bytes after the header                                    */
    vkvit_status want;
    const char *must[2];
} header_case;

#define DICT(descr, fortran, shape) "{'descr': " descr ", 'fortran_order': " fortran ", 'shape': " shape ", }"

static const header_case header_cases[] = {
    {"v1 f4 [3, 4]", 1, DICT("'<f4'", "False", "(3, 4)"), 48, VKVIT_OK, {0}},
    {"v2 f2 [5]", 2, DICT("'<f2'", "False", "(5,)"), 10, VKVIT_OK, {0}},
    {"v3 f8 scalar", 3, DICT("'<f8'", "False", "()"), 8, VKVIT_OK, {0}},
    {"keys in another order, no trailing comma", 1, "{'shape': (2,), 'fortran_order': False, 'descr': \"<f4\"}", 8,
     VKVIT_OK, {0}},
    {"empty array", 1, DICT("'<f4'", "False", "(0, 7)"), 0, VKVIT_OK, {0}},
    {"big-endian", 1, DICT("'>f4'", "False", "(3,)"), 12, VKVIT_ERROR_UNKNOWN_DTYPE, {"'>f4'", "'<f4'"}},
    {"int32", 1, DICT("'<i4'", "False", "(3,)"), 12, VKVIT_ERROR_UNKNOWN_DTYPE, {"'<i4'"}},
    {"bfloat16 as void", 1, DICT("'|V2'", "False", "(3,)"), 6, VKVIT_ERROR_UNKNOWN_DTYPE, {"'|V2'"}},
    {"structured", 1, DICT("[('a', '<f4')]", "False", "(3,)"), 12, VKVIT_ERROR_UNKNOWN_DTYPE, {"structured"}},
    {"fortran order", 1, DICT("'<f4'", "True", "(3, 4)"), 48, VKVIT_ERROR_BAD_HEADER, {"fortran_order", "True"}},
    {"fortran order 1", 1, DICT("'<f4'", "1", "(3, 4)"), 48, VKVIT_ERROR_BAD_HEADER, {"fortran_order", "byte 44"}},
    {"shape not a tuple", 1, DICT("'<f4'", "False", "(3)"), 12, VKVIT_ERROR_BAD_HEADER, {"(3,)"}},
    {"shape a list", 1, DICT("'<f4'", "False", "[3]"), 12, VKVIT_ERROR_BAD_HEADER, {"'('"}},
    {"negative dim", 1, DICT("'<f4'", "False", "(-3,)"), 12, VKVIT_ERROR_BAD_HEADER, {"non-negative"}},
    {"leading zero", 1, DICT("'<f4'", "False", "(03,)"), 12, VKVIT_ERROR_BAD_HEADER, {"non-negative"}},
    {"dim 2^63", 1, DICT("'<f4'", "False", "(9223372036854775808,)"), 0, VKVIT_ERROR_BAD_HEADER, {"2^63"}},
    {"shape overflow", 1, DICT("'<f4'", "False", "(4294967296, 4294967296)"), 0, VKVIT_ERROR_BAD_TENSOR_RANGE,
     {"2^64"}},
    {"rank 9", 1, DICT("'<f4'", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 4, VKVIT_ERROR_BAD_HEADER, {"more than 8"}},
    {"missing key", 1, "{'descr': '<f4', 'shape': (3,), }", 12, VKVIT_ERROR_BAD_HEADER, {"no 'fortran_order'"}},
    {"unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", 12, VKVIT_ERROR_BAD_HEADER,
     {"unexpected key 'x'"}},
    {"repeated key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 12,
     VKVIT_ERROR_BAD_HEADER, {"repeated key 'descr'"}},
    {"garbage dict", 1, "{'descr' '<f4' garbage", 12, VKVIT_ERROR_BAD_HEADER, {"':'", "byte 19"}},
    {"not a dict", 1, "hello", 0, VKVIT_ERROR_BAD_HEADER, {"'{'"}},
    {"bytes after the dict", 1, DICT("'<f4'", "False", "(3,)") " x", 12, VKVIT_ERROR_BAD_HEADER, {"after its dict"}},
    {"escape in a string", 1, "{'de\\x73cr': '<f4'}", 0, VKVIT_ERROR_BAD_HEADER, {"escape"}},
    {"data 4 bytes short", 1, DICT("'<f4'", "False", "(3, 4)"), 44, VKVIT_ERROR_BAD_TENSOR_RANGE,
     {"48 bytes", "holds 44"}},
    {"data 4 bytes long", 1, DICT("'<f4'", "False", "(3, 4)"), 52, VKVIT_ERROR_BAD_TENSOR_RANGE, {"holds 52"}},
    {"version 4.0", 4, DICT("'<f4'", "False", "(3,)"), 12, VKVIT_ERROR_BAD_HEADER, {"version 4.0"}},
    {"not .npy", 0, "PK\3\4 not a numpy array", 23, VKVIT_ERROR_BAD_HEADER, {"\\x93NUMPY"}},
    {"4-byte member", 0, "\x93NUM", 4, VKVIT_ERROR_FILE_TRUNCATED, {"4 bytes"}},
    {"preamble only", 0, "\x93NUMPY\x01\x00\x40", 9, VKVIT_ERROR_FILE_TRUNCATED, {"9 bytes"}},
    {"header past the end", 0, "\x93NUMPY\x01\x00\x40\x00{}", 12, VKVIT_ERROR_FILE_TRUNCATED,
     {"64 bytes", "past the member's end"}},
    {"header too long", 0, "\x93NUMPY\x02\x00\x00\x00\x00\x01{}", 14, VKVIT_ERROR_BAD_HEADER, {"16777216"}},
};

static bool has_all(const char *msg, const char *const *must, size_t n, const char **missing)
{
    for (size_t k = 0; k < n && must[k]; k++)
        if (!strstr(msg, must[k]))
            return *missing = must[k], false;
    return true;
}

static void run_header_cases(void)
{
    printf("-- .npy headers (%zu cases)\n", sizeof header_cases / sizeof *header_cases);
    for (size_t i = 0; i < sizeof header_cases / sizeof *header_cases; i++) {
        const header_case *c = &header_cases[i];
        uint8_t buf[512];
        size_t n = c->major ? make_npy(buf, sizeof buf, c->major, c->dict, c->data) : c->data;
        if (!c->major)
            memcpy(buf, c->dict, n);
        npy_header h;
        vkvit_status s = npy_parse_header(buf, n, n, "x.npz", "m.npy", &h);
        const char *msg = s ? vkvit_last_error() : "", *missing = NULL;
        bool named = !s || (strstr(msg, "x.npz: member 'm.npy'") && has_all(msg, c->must, 2, &missing));
        test_expect(s == c->want && named, "%-40s -> %s | %s", c->name, vkvit_status_string(s), msg);
        if (s != c->want)
            printf("     expected %s\n", vkvit_status_string(c->want));
        if (!named)
            printf("     the message does not name %s\n", missing ? missing : "the file and the member");
        if (!s)
            test_expect(h.data_offset + h.data_size == n && h.data_offset % 64 == 0,
                        "%-40s    data at %llu, %llu bytes", c->name, (unsigned long long)h.data_offset,
                        (unsigned long long)h.data_size);
    }
}

/* ---- part 2: .npz files through vkvit_model_load ---------------------------------------------------- */

typedef struct member {
    char name[256];                 /* with ".npy"                                              */
    uint8_t *bytes;
    size_t n;
    zip_int32_t method;             /* ZIP_CM_STORE, ZIP_CM_DEFLATE, ...                        */
} member;

typedef struct archive {
    member m[96];
    size_t n;
} archive;

static void archive_read(const char *path, archive *a)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    if (!z)
        fatal("cannot open", path);
    memset(a, 0, sizeof *a);
    for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); i++) {
        zip_stat_t st;
        member *m = &a->m[a->n++];
        zip_file_t *f = NULL;
        if (a->n > sizeof a->m / sizeof *a->m || zip_stat_index(z, (zip_uint64_t)i, 0, &st) ||
            !(m->bytes = malloc(st.size)) || !(f = zip_fopen_index(z, (zip_uint64_t)i, 0)) ||
            zip_fread(f, m->bytes, st.size) != (zip_int64_t)st.size)
            fatal("cannot read a member of", path);
        zip_fclose(f);
        snprintf(m->name, sizeof m->name, "%s", st.name);
        m->n = st.size;
        m->method = ZIP_CM_STORE;
    }
    zip_discard(z);
}

static void archive_free(archive *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->m[i].bytes);
    a->n = 0;
}

static void archive_write(const archive *a, const char *path)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        fatal("cannot create", path);
    for (size_t i = 0; i < a->n; i++) {
        zip_source_t *src = zip_source_buffer(z, a->m[i].bytes, a->m[i].n, 0);
        zip_int64_t at = src ? zip_file_add(z, a->m[i].name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (at < 0 || zip_set_file_compression(z, (zip_uint64_t)at, a->m[i].method, 0) != 0)
            fatal("cannot add", a->m[i].name);
    }
    if (zip_close(z) != 0)
        fatal("cannot write", path);
}

static member *find_member(archive *a, const char *tensor)
{
    char name[260];
    snprintf(name, sizeof name, "%s.npy", tensor);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->m[i].name, name) == 0)
            return &a->m[i];
    fatal("the fixture has no member", name);
    return NULL;
}

/* A member's header, parsed with the reader under test (the fixture is known good: tools/). */
static npy_header header_of(const member *m)
{
    npy_header h;
    test_ok(npy_parse_header(m->bytes, m->n, m->n, "fixture", m->name, &h), m->name);
    return h;
}

/* Replaces m's .npy by one with `dict` and `data` (n bytes). */
static void set_npy(member *m, const char *dict, const void *data, size_t n)
{
    uint8_t *b = malloc(n + 512);
    if (!b)
        fatal("out of memory", "");
    size_t len = make_npy(b, n + 512, 1, dict, 0);
    memcpy(b + len, data, n);
    free(m->bytes);
    m->bytes = b;
    m->n = len + n;
}

/* m's float32 values as another float type: "<f8" or "<f2", same shape. */
static void retype(member *m, const char *descr)
{
    npy_header h = header_of(m);
    size_t count = (size_t)h.count, item = descr[2] == '8' ? 8 : 2;
    uint8_t *out = malloc(count * item + 1);
    float *v = test_alloc(count + 1);
    memcpy(v, m->bytes + h.data_offset, count * 4);
    for (size_t i = 0; i < count; i++) {
        if (item == 8) {
            double d = v[i];
            memcpy(out + 8 * i, &d, 8);
        } else {
            uint16_t x = st_f32_to_f16(v[i]);
            memcpy(out + 2 * i, &x, 2);
        }
    }
    char dict[200], shape[120] = "";
    for (uint32_t i = 0; i < h.rank; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%llu, ", (unsigned long long)h.shape[i]);
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%.*s), }", descr,
             (int)(strlen(shape) > 2 && h.rank > 1 ? strlen(shape) - 2 : strlen(shape)), shape);
    set_npy(m, dict, out, count * item);
    free(out);
    free(v);
}

/* Renames every member: `from` -> `to` wherever it appears, then `prefix` before all. */
static void rename_all(archive *a, const char *const (*map)[2], size_t n_map, const char *prefix)
{
    for (size_t i = 0; i < a->n; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", a->m[i].name);
        for (size_t k = 0; k < n_map; k++) {
            char *at = strstr(name, map[k][0]);
            if (!at)
                continue;
            char rest[256];
            snprintf(rest, sizeof rest, "%s", at + strlen(map[k][0]));
            snprintf(at, sizeof name - (size_t)(at - name), "%s%s", map[k][1], rest);
        }
        if (snprintf(a->m[i].name, sizeof a->m[i].name, "%s%s", prefix, name) >= (int)sizeof a->m[i].name)
            fatal("member name too long:", name);
    }
}

static const char *const big_vision_map[][2] = {
    {"Transformer/posembed_input/pos_embedding", "pos_embedding"},
    {"MultiHeadDotProductAttention_1", "MultiHeadDotProductAttention_0"},
    {"LayerNorm_2", "LayerNorm_1"},
    {"MlpBlock_3", "MlpBlock_0"},
};

typedef enum change {
    DO_NONE,         /* rewritten as is (stored)                                                    */
    DO_DEFLATE,      /* every member deflated; member a (if any) as <f8                            */
    DO_F16,          /* every member <f2                                                            */
    DO_PREFIX,       /* every member under the prefix a ("opt/target/")                             */
    DO_BIG_VISION,   /* big_vision's names under "params/"                                          */
    DO_DROP,         /* a: tensor                                                                   */
    DO_ADD,          /* a: tensor, b: its dict (zeros of that shape as <f4)                         */
    DO_HEADER,       /* a: tensor, b: its new dict; the data kept                                   */
    DO_CUT,          /* the stored archive minus its last atoi(a) bytes                             */
    DO_RAW,          /* the file is the first atoi(a) bytes of b                                    */
    DO_NPY_AS_NPZ,   /* the file is member a's .npy bytes                                           */
    DO_DUPLICATE,    /* member a twice (a copy renamed in the zip's bytes)                          */
    DO_CORRUPT,      /* a data byte of member a flipped in the file (a: stored, b non-NULL: deflated) */
    DO_METHOD,       /* member a compressed with method atoi(b)                                     */
    DO_OTHER_FILE,   /* a config.json and preprocessor_config.json that would break it lie beside   */
} change;

typedef struct load_case {
    const char *name;       /* also the file name, which every message must contain                */
    change op;
    const char *a, *b;
    vkvit_status want;
    const char *must[3];
} load_case;

static const load_case load_cases[] = {
    /* controls: these load, with the fixture's weights */
    {"control", DO_NONE, 0, 0, VKVIT_OK, {0}},
    {"control-deflated-f64", DO_DEFLATE, B1 MHA "value/kernel", 0, VKVIT_OK, {0}},
    {"control-f16", DO_F16, 0, 0, VKVIT_OK, {0}},
    {"control-opt-target", DO_PREFIX, "opt/target/", 0, VKVIT_OK, {0}},
    {"control-big-vision", DO_BIG_VISION, 0, 0, VKVIT_OK, {0}},
    {"control-other-files", DO_OTHER_FILE, 0, 0, VKVIT_OK, {0}},

    /* the zip */
    {"truncated", DO_CUT, "100", 0, VKVIT_ERROR_FILE_TRUNCATED, {"cut off"}},
    {"truncated-half", DO_CUT, "100000", 0, VKVIT_ERROR_FILE_TRUNCATED, {"cut off", "end-of-central-directory"}},
    {"truncated-1-byte", DO_CUT, "1", 0, VKVIT_ERROR_FILE_TRUNCATED, {"cut off"}},
    {"empty", DO_RAW, "0", "", VKVIT_ERROR_FILE_TRUNCATED, {"empty"}},
    {"not-a-zip", DO_RAW, "20", "{\"not\": \"a zip\"}   ", VKVIT_ERROR_BAD_HEADER, {"not a zip"}},
    {"single-npy", DO_NPY_AS_NPZ, "cls", 0, VKVIT_ERROR_BAD_HEADER, {"a single .npy"}},
    {"duplicate-member", DO_DUPLICATE, "cls", 0, VKVIT_ERROR_BAD_HEADER, {"same name"}},
    {"garbage-key", DO_HEADER, "cls", "{'descr': '<f4', '\x01\xff': False, 'shape': (1, 1, 48), }",
     VKVIT_ERROR_BAD_HEADER, {"member 'cls.npy'", "unexpected key '?""?'"}},
    {"not-npy-member", DO_ADD, "README.txt#", 0, VKVIT_ERROR_BAD_HEADER, {"README.txt", "not a .npy"}},
    {"bzip2-member", DO_METHOD, "head/bias", "12", VKVIT_ERROR_BAD_HEADER, {"head/bias.npy", "method 12"}},
    {"corrupt-stored", DO_CORRUPT, "head/bias", 0, VKVIT_ERROR_IO, {"head/bias.npy", "CRC"}},
    {"corrupt-deflated", DO_CORRUPT, "embedding/kernel", "deflated", VKVIT_ERROR_IO, {"embedding/kernel.npy"}},

    /* the .npy headers */
    {"header-lies-about-size", DO_HEADER, "cls", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 49), }",
     VKVIT_ERROR_BAD_TENSOR_RANGE, {"member 'cls.npy'", "196 bytes", "holds 192"}},
    {"header-short-shape", DO_HEADER, B0 "LayerNorm_0/scale", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (47,), }", VKVIT_ERROR_BAD_TENSOR_RANGE, {B0 "LayerNorm_0/scale.npy", "188 bytes", "holds 192"}},
    {"dtype-int32", DO_HEADER, "head/bias", "{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }",
     VKVIT_ERROR_UNKNOWN_DTYPE, {"member 'head/bias.npy'", "'<i4'"}},
    {"dtype-big-endian", DO_HEADER, "embedding/bias", "{'descr': '>f4', 'fortran_order': False, 'shape': (48,), }",
     VKVIT_ERROR_UNKNOWN_DTYPE, {"member 'embedding/bias.npy'", "'>f4'"}},
    {"fortran-order", DO_HEADER, B1 MHA "out/kernel", "{'descr': '<f4', 'fortran_order': True, "
     "'shape': (3, 16, 48), }", VKVIT_ERROR_BAD_HEADER, {B1 MHA "out/kernel.npy", "fortran_order"}},
    {"garbage-header", DO_HEADER, "cls", "{'descr': '<f4', 'fortran_order': Nope, 'shape': (1, 1, 48), }",
     VKVIT_ERROR_BAD_HEADER, {"member 'cls.npy'", "fortran_order", "member byte 44"}},
    {"header-not-dict", DO_HEADER, "cls", "(1, 1, 48)", VKVIT_ERROR_BAD_HEADER, {"member 'cls.npy'", "'{'"}},

    /* the tensors */
    {"missing-key-kernel", DO_DROP, B1 MHA "key/kernel", 0, VKVIT_ERROR_MISSING_TENSOR, {B1 MHA "key/kernel"}},
    {"missing-fc2-bias", DO_DROP, B0 "MlpBlock_3/Dense_1/bias", 0, VKVIT_ERROR_MISSING_TENSOR,
     {B0 "MlpBlock_3/Dense_1/bias"}},
    {"missing-cls", DO_DROP, "cls", 0, VKVIT_ERROR_MISSING_TENSOR, {"class token", "'cls'"}},
    {"missing-pos", DO_DROP, "Transformer/posembed_input/pos_embedding", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"Transformer/posembed_input/pos_embedding"}},
    {"missing-query-0", DO_DROP, B0 MHA "query/kernel", 0, VKVIT_ERROR_MISSING_TENSOR,
     {B0 MHA "query/kernel", "heads"}},
    {"missing-encoder-norm", DO_DROP, "Transformer/encoder_norm/scale", 0, VKVIT_ERROR_MISSING_TENSOR,
     {"Transformer/encoder_norm/scale"}},
    {"missing-embedding", DO_DROP, "embedding/kernel", 0, VKVIT_ERROR_MISSING_TENSOR, {"'embedding/kernel'"}},
    {"unknown-tensor", DO_ADD, B0 "MlpBlock_3/Dense_2/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (4,), }", VKVIT_ERROR_UNEXPECTED_TENSOR, {B0 "MlpBlock_3/Dense_2/kernel"}},
    /* no config says how many blocks: a stray one is a third block with tensors missing */
    {"extra-block", DO_ADD, "Transformer/encoderblock_2/LayerNorm_0/scale", "{'descr': '<f4', 'fortran_order': "
     "False, 'shape': (48,), }", VKVIT_ERROR_MISSING_TENSOR, {"Transformer/encoderblock_2/LayerNorm_0/bias"}},
    {"shape-mlp", DO_HEADER, B1 "MlpBlock_3/Dense_0/bias", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (6, 14), }", VKVIT_ERROR_SHAPE_MISMATCH, {B1 "MlpBlock_3/Dense_0/bias", "[6, 14]", "[84]"}},
    {"shape-heads", DO_HEADER, B1 MHA "query/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (48, 4, 12), }", VKVIT_ERROR_SHAPE_MISMATCH, {B1 MHA "query/kernel", "[48, 4, 12]", "[48, 3, 16]"}},
    {"shape-head-transposed", DO_HEADER, "head/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (7, 48), }", VKVIT_ERROR_SHAPE_MISMATCH, {"head/kernel", "[7, 48]", "[48, 48]"}},
    {"patch-not-square", DO_HEADER, "embedding/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (8, 4, 6, 48), }", VKVIT_ERROR_SHAPE_MISMATCH, {"embedding/kernel", "[P, P, C, D]"}},

    /* a hybrid's ResNet (tests/data/hybrid has whole ones): its tensors named when misshapen or alone */
    {"hybrid", DO_ADD, "conv_root/kernel|block1/unit1/conv1/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (4,), }", VKVIT_ERROR_SHAPE_MISMATCH, {"conv_root/kernel", "should be a conv kernel [7, 7, C, R]"}},
    {"hybrid-without-stem", DO_ADD, "block1/unit1/conv1/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (4,), }", VKVIT_ERROR_MISSING_TENSOR, {"block1/unit1/conv1/kernel", "root conv ('conv_root/kernel')"}},

    {"pre-logits-kernel-alone", DO_ADD, "pre_logits/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (48, 48), }", VKVIT_ERROR_MISSING_TENSOR, {"pre_logits/bias"}},

    /* what is refused for now, by name */
    {"scanned-blocks", DO_ADD, "Transformer/encoderblock/LayerNorm_0/scale", "{'descr': '<f4', 'fortran_order': "
     "False, 'shape': (2, 48), }", VKVIT_ERROR_UNSUPPORTED, {"Transformer/encoderblock/LayerNorm_0/scale", "scanned"}},
};

/* Google's pre-logits layer (ImageNet-21k releases), from PRE_FIXTURE: loaded under every prefix timm's loader
 * knows; its parts named when wrong. */
static const load_case pre_logits_cases[] = {
    {"control-pre-logits", DO_NONE, 0, 0, VKVIT_OK, {0}},
    {"control-pre-logits-opt-target", DO_PREFIX, "opt/target/", 0, VKVIT_OK, {0}},
    {"control-pre-logits-big-vision", DO_BIG_VISION, 0, 0, VKVIT_OK, {0}},
    {"pre-logits-without-bias", DO_DROP, "pre_logits/bias", 0, VKVIT_ERROR_MISSING_TENSOR, {"'pre_logits/bias'"}},
    {"pre-logits-head-transposed", DO_HEADER, "head/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (11, 37), }", VKVIT_ERROR_SHAPE_MISMATCH, {"head/kernel", "[11, 37]", "expected [37, "}},
    {"pre-logits-shape", DO_HEADER, "pre_logits/kernel", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (37, 60), }", VKVIT_ERROR_SHAPE_MISMATCH, {"pre_logits/kernel", "[37, 60]", "pre-logits 60"}},
};

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || (n && fwrite(p, 1, n, fp) != n) || fclose(fp) != 0)
        fatal("cannot write", path);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fatal("cannot open", path);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    if (!b || fread(b, 1, *n, fp) != *n)
        fatal("cannot read", path);
    fclose(fp);
    return b;
}

/* Replaces every occurrence of `from` in the file by `to` (same length). */
static void patch_file(const char *path, const void *from, const void *to, size_t n, bool first_only)
{
    size_t size;
    uint8_t *b = read_file(path, &size), *at = b;
    int found = 0;
    while ((at = memmem(at, size - (size_t)(at - b), from, n))) {
        memcpy(at, to, n);
        at += n;
        found++;
        if (first_only)
            break;
    }
    if (!found)
        fatal("nothing to patch in", path);
    write_file(path, b, size);
    free(b);
}

/* Builds the case's folder (with labels.txt) and returns the .npz path. */
static const char *build_case(const load_case *c, bool pre)
{
    static char path[600];
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, c->name);
    if (mkdir(dir, 0700) != 0)
        fatal("cannot create", dir);
    size_t n;
    uint8_t *labels = read_file(pre ? PRE_LABELS : LABELS, &n);
    snprintf(file, sizeof file, "%s/labels.txt", dir);
    write_file(file, labels, n);
    free(labels);
    snprintf(path, sizeof path, "%s/%s.npz", dir, c->name);
    if (c->op == DO_RAW) {
        write_file(path, c->b, (size_t)atoi(c->a));
        return path;
    }
    static archive a;
    archive_read(pre ? PRE_FIXTURE : FIXTURE, &a);
    switch (c->op) {
    case DO_DEFLATE:
        for (size_t i = 0; i < a.n; i++)
            a.m[i].method = ZIP_CM_DEFLATE;
        retype(find_member(&a, c->a), "<f8");
        break;
    case DO_F16:
        for (size_t i = 0; i < a.n; i++)
            retype(&a.m[i], "<f2");
        break;
    case DO_PREFIX:
        rename_all(&a, NULL, 0, c->a);
        break;
    case DO_BIG_VISION:
        rename_all(&a, big_vision_map, sizeof big_vision_map / sizeof *big_vision_map, "params/");
        break;
    case DO_DROP: {
        member *m = find_member(&a, c->a);
        free(m->bytes);
        *m = a.m[--a.n];
        break;
    }
    case DO_ADD: { /* a: names joined by '|'; a name ending in '#' is added as is, not as <name>.npy */
        char names[256];
        snprintf(names, sizeof names, "%s", c->a);
        for (char *save = NULL, *t = strtok_r(names, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
            member *m = &a.m[a.n++];
            size_t len = strlen(t);
            if (t[len - 1] == '#')
                snprintf(m->name, sizeof m->name, "%.*s", (int)(len - 1), t);
            else
                snprintf(m->name, sizeof m->name, "%s.npy", t);
            m->method = ZIP_CM_STORE;
            if (c->b) { /* zeros, as many as the dict's shape takes (the first size its header accepts) */
                static const char zeros[48 * 48 * 4];
                uint8_t tmp[256];
                size_t k = make_npy(tmp, sizeof tmp, 1, c->b, 0), bytes = 0;
                npy_header h;
                while (npy_parse_header(tmp, k, k + bytes, "case", "added", &h) != VKVIT_OK)
                    if ((bytes += 4) > sizeof zeros)
                        fatal("a case's dict takes more than 9216 bytes:", c->b);
                set_npy(m, c->b, zeros, bytes);
            } else {
                m->bytes = malloc(5);
                memcpy(m->bytes, "text\n", 5);
                m->n = 5;
            }
        }
        break;
    }
    case DO_HEADER: {
        member *m = find_member(&a, c->a);
        npy_header h = header_of(m);
        uint8_t *data = malloc(h.data_size);
        memcpy(data, m->bytes + h.data_offset, h.data_size);
        set_npy(m, c->b, data, h.data_size);
        free(data);
        break;
    }
    case DO_METHOD:
        find_member(&a, c->a)->method = atoi(c->b);
        break;
    case DO_CORRUPT:
        if (c->b)
            find_member(&a, c->a)->method = ZIP_CM_DEFLATE;
        break;
    case DO_DUPLICATE: {
        member *m = &a.m[a.n++], *src = find_member(&a, c->a);
        *m = *src;
        m->bytes = malloc(src->n);
        memcpy(m->bytes, src->bytes, src->n);
        m->name[0] = (char)(m->name[0] + 1); /* renamed back in the file's bytes below */
        break;
    }
    default:
        break;
    }
    if (c->op == DO_NPY_AS_NPZ) {
        member *m = find_member(&a, c->a);
        write_file(path, m->bytes, m->n);
    } else {
        archive_write(&a, path);
    }
    if (c->op == DO_CUT) {
        size_t size;
        uint8_t *b = read_file(path, &size);
        write_file(path, b, size - (size_t)atoi(c->a));
        free(b);
    } else if (c->op == DO_DUPLICATE) {
        const member *m = &a.m[a.n - 1];
        char orig[260];
        snprintf(orig, sizeof orig, "%s", m->name);
        orig[0] = (char)(orig[0] - 1);
        patch_file(path, m->name, orig, strlen(orig), false);
    } else if (c->op == DO_CORRUPT) { /* stored: the member's last byte; deflated: a byte 4000 into its stream */
        const member *m = find_member(&a, c->a);
        size_t size;
        uint8_t *b = read_file(path, &size), *at;
        if (c->b) { /* the local header: 30 bytes, the name (found here), the extra field (length at 28) */
            uint8_t *name = memmem(b, size, m->name, strlen(m->name));
            at = name ? name + strlen(m->name) + (name[-2] | name[-1] << 8) + 4000 : NULL;
        } else {
            at = memmem(b, size, m->bytes, m->n);
            at = at ? at + m->n - 1 : NULL;
        }
        if (!at || at >= b + size)
            fatal("cannot find the data of", m->name);
        *at ^= 0x55;
        write_file(path, b, size);
        free(b);
    } else if (c->op == DO_OTHER_FILE) {
        snprintf(file, sizeof file, "%s/config.json", dir);
        write_file(file, "{\"hidden_size\": 0}", 18);
        snprintf(file, sizeof file, "%s/preprocessor_config.json", dir);
        write_file(file, "not json", 8);
    }
    archive_free(&a);
    return path;
}

/* The fixtures' weights, fp32, for the controls. */
static vkvit_model *reference, *pre_reference;

/* A pre-logits control: the dimensions from the shapes (R from the kernel [D, R], said in the config), the
 * embedding the pre-logits, the weights the fixture's bit for bit. */
static void check_loaded_prelogits(const load_case *c, vkvit_model *m)
{
    vkvit_model_info info = {0};
    test_ok(vkvit_model_get_info(m, &info), "info");
    const char *family = c->op == DO_BIG_VISION ? "big_vision" : "google-vit";
    test_expect(!strcmp(info.family, family) && info.hidden == 60 && info.layers == 2 && info.heads == 5 &&
                info.mlp == 100 && info.patch_size == 6 && info.image_size == 42 && info.num_classes == 11 &&
                info.tokens == 50 && info.embedding_size == 37 && strstr(info.embedding, "pre-logits"),
                "%-30s loads: %s, hidden %u, %u heads, mlp %u, %u classes, a %u-float embedding (%s)", c->name,
                info.family, info.hidden, info.heads, info.mlp, info.num_classes, info.embedding_size, info.embedding);
    test_expect(strstr(info.config, ": from the tensor shapes: hidden 60, 2 layers, 5 heads, mlp 100, patch 6, "
                "image 42, 3 channels, 11 classes, pre-logits 37; Google's ViT: LayerNorm eps 1e-06, "
                "exact GELU") != NULL,
                "%-30s    config: %s", c->name, info.config);
    const uint64_t total = m->layout.total;
    test_expect(total == pre_reference->layout.total && m->host &&
                !memcmp(pre_reference->host, m->host, total * sizeof *m->host),
                "%-30s    weights == the fixture's, bit for bit", c->name);
}

static void check_loaded(const load_case *c, vkvit_model *m, bool pre)
{
    if (pre) {
        check_loaded_prelogits(c, m);
        return;
    }
    vkvit_model_info info = {0}, want = {0};
    test_ok(vkvit_model_get_info(m, &info), "info");
    test_ok(vkvit_model_get_info(reference, &want), "info");
    const char *family = c->op == DO_BIG_VISION ? "big_vision" : "google-vit";
    test_expect(!strcmp(info.family, family) && info.hidden == 48 && info.layers == 2 && info.heads == 3 &&
                info.mlp == 84 && info.patch_size == 8 && info.image_size == 40 && info.channels == 3 &&
                info.num_classes == 7 && info.tokens == 26 && info.layer_norm_eps == 1e-6f && !info.gelu_tanh,
                "%-26s loads: %s, hidden %u, %u layers, %u heads, mlp %u, patch %u, image %u, %u classes, eps %g",
                c->name, info.family, info.hidden, info.layers, info.heads, info.mlp, info.patch_size,
                info.image_size, info.num_classes, (double)info.layer_norm_eps);
    test_expect(strstr(info.config, c->name) && strstr(info.config, ": from the tensor shapes: hidden 48, 2 layers, "
                "3 heads, mlp 84, patch 8, image 40, 3 channels, 7 classes; Google's ViT: LayerNorm eps 1e-06, "
                "exact GELU"), "%-26s    config: %s", c->name, info.config);
    test_expect(!strcmp(info.preprocessing, "resize to 40x40 (bilinear), x 0.0039215689, mean (0.5, 0.5, 0.5), "
                "std (0.5, 0.5, 0.5)"), "%-26s    preprocessing: %s", c->name, info.preprocessing);
    const char *l0 = vkvit_model_label(m, 0), *l6 = vkvit_model_label(m, 6);
    test_expect(l0 && l6 && !strcmp(l0, "alpha") && !strcmp(l6, "golf"), "%-26s    labels.txt: %s .. %s", c->name,
                l0 ? l0 : "(none)", l6 ? l6 : "(none)");
    const uint64_t total = m->layout.total;
    test_expect(total == reference->layout.total && m->host, "%-26s    same weight layout", c->name);
    if (total != reference->layout.total || !m->host)
        return;
    if (c->op == DO_F16) { /* each weight the fixture's rounded to fp16 */
        float *r = test_alloc(total);
        memcpy(r, reference->host, total * sizeof *r);
        test_round_f16(r, total);
        test_expect(!memcmp(r, m->host, total * sizeof *r), "%-26s    weights == the fixture's rounded to fp16",
                    c->name);
        free(r);
    } else {
        test_expect(!memcmp(reference->host, m->host, total * sizeof *m->host), "%-26s    weights == the fixture's, "
                    "bit for bit", c->name);
    }
}

/* One case: built, loaded, its status, message, result and device memory checked. */
static void run_case(vkvit_context *ctx, const load_case *c, bool pre)
{
    vkvit_model_options keep = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    const char *path = build_case(c, pre);
    uint64_t b0 = ctx->bytes_allocated;
    uint32_t a0 = ctx->allocations;
    vkvit_model *sentinel = (vkvit_model *)(uintptr_t)0x1, *m = sentinel;
    vkvit_status s = vkvit_model_load(ctx, path, &keep, &m);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", s ? vkvit_last_error() : "");
    if (s == VKVIT_OK && m && m != sentinel) {
        check_loaded(c, m, pre);
        vkvit_model_destroy(m);
        m = NULL;
    }
    const char *missing = NULL;
    if (c->want != VKVIT_OK && !strstr(msg, path))
        missing = path;
    if (c->want != VKVIT_OK && !missing)
        has_all(msg, c->must, 3, &missing);
    test_expect(s == c->want && !missing, "%-26s -> %s | %s", c->name, vkvit_status_string(s), msg);
    if (s != c->want)
        printf("     expected %s\n", vkvit_status_string(c->want));
    if (missing)
        printf("     the message does not contain \"%s\"\n", missing);
    if (s != VKVIT_OK)
        test_expect(m == NULL, "%-26s    *out is NULL after the failure", c->name);
    test_expect(ctx->bytes_allocated == b0 && ctx->allocations == a0, "%-26s    device memory back to %llu "
                "bytes in %u allocations", c->name, (unsigned long long)b0, a0);
}

static void run_load_cases(vkvit_context *ctx)
{
    printf("-- .npz files (%zu cases; temp dir %s)\n",
           sizeof load_cases / sizeof *load_cases + sizeof pre_logits_cases / sizeof *pre_logits_cases, tmp_root);
    vkvit_model_options keep = {.keep_host_weights = 1, .precision = VKVIT_PRECISION_FP32};
    test_ok(vkvit_model_load(ctx, FIXTURE, &keep, &reference), "loading the fixture");
    test_ok(vkvit_model_load(ctx, PRE_FIXTURE, &keep, &pre_reference), "loading the pre-logits fixture");
    for (size_t i = 0; i < sizeof load_cases / sizeof *load_cases; i++)
        run_case(ctx, &load_cases[i], false);
    for (size_t i = 0; i < sizeof pre_logits_cases / sizeof *pre_logits_cases; i++)
        run_case(ctx, &pre_logits_cases[i], true);
    vkvit_model_destroy(reference);
    vkvit_model_destroy(pre_reference);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    run_header_cases();
    vkvit_context *ctx = test_context();
    tmp_root = test_temp_dir("npz"); /* removed at exit */
    run_load_cases(ctx);
    return test_finish(ctx);
}
