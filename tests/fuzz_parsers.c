/* libFuzzer target: the same bytes go to the safetensors parser, the config.json parser and the
 * labels parser, the .npy header parser and the .npz reader (zip + .npy members, every tensor read),
 * and (when they mention "weight_map": a file write per input is slow) to the sharded-checkpoint
 * index reader, as an index next to two small shards in a temporary directory. Besides the
 * sanitizers, it checks what a successful parse promises: every tensor lies inside the input (an
 * .npy's data exactly fills it), is found by name, and converts when its dtype is a float one (an
 * .npz member: or fails its CRC).
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true && meson compile -C build-fuzz tests/fuzz_parsers
 *   build-fuzz/tests/fuzz_parsers -max_total_time=60 -dict=tests/fuzz_parsers.dict build-fuzz/corpus tests/fuzz_corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "npz.h"
#include "safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], index_path[128], shard_a[128], shard_b[128];

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort();
}

static void remove_dir(void)
{
    unlink(index_path);
    unlink(shard_a);
    unlink(shard_b);
    rmdir(dir);
}

/* A safetensors file: 8-byte little-endian header length, header, data. */
static void write_shard(const char *path, const char *header, const void *data, size_t n)
{
    uint8_t buf[256];
    size_t h = strlen(header);
    if (8 + h + n > sizeof buf)
        abort();
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    memcpy(buf + 8 + h, data, n);
    write_file(path, buf, 8 + h + n);
}

/* Shards for the index: a.safetensors holds "x" and "y", b.safetensors holds "z". */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t a[5] = {0, 0, 0x80, 0x3f, 7}, b[2] = {0x80, 0x3f};
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "%s/vkvit-fuzz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(index_path, sizeof index_path, "%s/model.safetensors.index.json", dir);
    snprintf(shard_a, sizeof shard_a, "%s/a.safetensors", dir);
    snprintf(shard_b, sizeof shard_b, "%s/b.safetensors", dir);
    write_shard(shard_a, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"y\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[4,5]}}", a, sizeof a);
    write_shard(shard_b, "{\"z\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", b, sizeof b);
    atexit(remove_dir);
    return 0;
}

static void check_index(const uint8_t *data, size_t size)
{
    st_file *f = NULL;
    static const char key[] = "weight_map";
    if (!memmem(data, size, key, sizeof key - 1))
        return;
    write_file(index_path, data, size);
    vkvit_status s = st_open_index(index_path, &f);
    if ((s == VKVIT_OK) != (f != NULL) || (f && !st_find(f, "x") && !st_find(f, "z")))
        abort(); /* an index that opens names a tensor of a or b, and the shard brings it */
    st_close(f);
}

static void check_safetensors(const uint8_t *data, size_t size)
{
    st_file *f = NULL;
    if (st_parse(data, size, "fuzz.safetensors", &f) != VKVIT_OK) {
        if (f)
            abort(); /* *out must be NULL on error */
        return;
    }
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const uint8_t *p = t->data;
        if (st_find(f, t->name) != t || t->offset > size || t->size > size - t->offset || p != data + t->offset ||
            t->size != t->count * st_dtype_size(t->dtype) || t->rank > ST_MAX_RANK)
            abort();
        float *buf = malloc(t->count ? t->count * sizeof *buf : 1);
        if (!buf)
            abort();
        vkvit_status s = st_read_f32(t, buf, t->count);
        bool is_float = t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16;
        if ((s == VKVIT_OK) != is_float)
            abort();
        free(buf);
    }
    (void)st_metadata(f, "format");
    st_close(f);
}

static void check_config(const uint8_t *data, size_t size)
{
    vit_config c;
    if (config_parse((const char *)data, size, "fuzz.json", &c) != VKVIT_OK) {
        if (c.labels.names || c.present)
            abort(); /* nothing to free after an error */
        return;
    }
    size_t chars = 0;
    for (uint32_t i = 0; i < c.labels.count; i++)
        chars += strlen(c.labels.names[i]);
    if (chars > size)
        abort();
    config_apply_defaults(&c);
    (void)config_validate(&c, "fuzz.json");
    config_free(&c);
}

static void check_labels(const uint8_t *data, size_t size)
{
    vit_labels l;
    if (labels_parse((const char *)data, size, "fuzz.txt", &l) != VKVIT_OK)
        return;
    size_t chars = 0;
    for (uint32_t i = 0; i < l.count; i++)
        chars += strlen(l.names[i]) + 1;
    if (chars > size + 1)
        abort();
    labels_free(&l);
}

static void check_npy(const uint8_t *data, size_t size)
{
    npy_header h;
    if (npy_parse_header(data, size, size, "fuzz.npz", "fuzz.npy", &h) != VKVIT_OK)
        return;
    if (h.rank > ST_MAX_RANK || h.data_offset > size || h.data_size != size - h.data_offset ||
        h.data_size != h.count * st_dtype_size(h.dtype) ||
        (h.dtype != ST_F32 && h.dtype != ST_F16 && h.dtype != ST_F64))
        abort();
}

static void check_npz(const uint8_t *data, size_t size)
{
    npz_file *f = NULL;
    if (npz_parse(data, size, "fuzz.npz", &f) != VKVIT_OK) {
        if (f)
            abort();
        return;
    }
    for (size_t i = 0; i < npz_count(f); i++) {
        const st_tensor *t = npz_tensor_at(f, i);
        if (npz_find(f, t->name) != t || t->size != t->count * st_dtype_size(t->dtype) || t->rank > ST_MAX_RANK)
            abort();
        float *buf = malloc(t->count ? t->count * sizeof *buf : 1);
        if (!buf)
            abort();
        vkvit_status s = npz_read_f32(f, t, buf, t->count);
        if (s != VKVIT_OK && s != VKVIT_ERROR_IO)
            abort(); /* the header was checked at open: only the data itself can be bad */
        free(buf);
    }
    npz_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_safetensors(data, size);
    check_npy(data, size);
    check_npz(data, size);
    check_config(data, size);
    check_labels(data, size);
    check_index(data, size);
    return 0;
}
