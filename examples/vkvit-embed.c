/* vkvit-embed: image embeddings with a ViT on the GPU, for vector search and zero-shot labels.
 *
 *   vkvit-embed [model options] [--normalize] [--patch-tokens TOKENS.npy] [--index FILE] -o OUT.npy IMAGE|DIR...
 *   vkvit-embed [model options] --query IMAGE [--top K] [--index FILE] EMBEDDINGS.npy
 *   vkvit-embed [model options] --zero-shot TEXT.npy LABELS.txt [--top K] IMAGE|DIR...
 *
 * The first form writes a float32 .npy matrix [N, embedding_size] (row i: the i-th image that could be
 * embedded) and a text index, one file name per line (line i names row i). Both are written as it goes:
 * after each batch the rows are appended and synced, then the index lines, then the .npy header (fixed at 128
 * bytes) is rewritten with the new row count and synced, so a crash loses nothing already written and leaves
 * a file numpy loads (its rows are the header's count; the index may name a few more). Directories are
 * walked recursively, sorted. Images that cannot be read or run are named on stderr and skipped: the exit
 * status is then 3 (0: all embedded; 1: an error that stopped the run; 2: bad usage). docs/embeddings.md.
 * Images are decoded on --threads worker threads while the GPU runs the previous batch (cli_decode.h); the
 * output does not depend on their number. Uses only the public API. */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_decode.h"
#include "vkvit.h"
#include "vkvit_vulkan.h"

#ifndef VKVIT_DEFAULT_MODEL
#define VKVIT_DEFAULT_MODEL "models/fashion-vit"
#endif

#define NPY_HEADER 128 /* bytes: magic, version, length, the dict padded with spaces; room for any row count */
enum { EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_SKIPPED = 3 };

typedef struct options {
    const char *model, *device, *out, *index, *tokens, *query, *text, *labels;
    uint32_t top, batch, size, threads;
    bool normalize, fp16, fp32, timing;
    char **paths;
    size_t n_paths, cap;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkvit-embed [model options] [--normalize] [--patch-tokens TOKENS.npy] [--index FILE]\n"
            "                   -o OUT.npy IMAGE|DIR...\n"
            "       vkvit-embed [model options] --query IMAGE [--top K] [--index FILE] EMBEDDINGS.npy\n"
            "       vkvit-embed [model options] --zero-shot TEXT.npy LABELS.txt [--top K] IMAGE|DIR...\n"
            "  -o            write the embeddings, float32 [N, D], and the index (OUT with .txt for .npy: one\n"
            "                file name per line, line i = row i), as it goes; directories are walked recursively\n"
            "  --normalize   L2-normalise each embedding (unit rows: cosine similarity = dot product)\n"
            "  --patch-tokens  also write every token after the final LayerNorm, float32 [N, T, hidden]\n"
            "                (class token, distillation token if any, then the patches in raster order)\n"
            "  --index       the index file (default: OUT / EMBEDDINGS.npy with .txt for .npy)\n"
            "  --query       rank the rows of EMBEDDINGS.npy by cosine similarity with IMAGE's embedding\n"
            "  --zero-shot   rank the labels (LABELS.txt, one per line) for each image by the cosine similarity\n"
            "                of its embedding with their rows in TEXT.npy (float32 [labels, D]: text embeddings\n"
            "                from the model's text tower, docs/embeddings.md)\n"
            "  --top         results per query or image (default 5)\n"
            "model options:\n"
            "  --model       a Hugging Face or timm checkpoint, or a Google .npz (default: the bundled %s)\n"
            "  --batch       images per GPU run (default 8)\n"
            "  --size        run the model at N x N pixels (default: the checkpoint's)\n"
            "  --fp16, --fp32  weights and activations in fp16 or fp32 (default: fp16 where the GPU has it)\n"
            "  --device      device index or name substring (see vkvit-info)\n"
            "  --threads     decode images on N threads while the GPU runs the previous batch (default: the\n"
            "                online CPUs, at most 8); the output is the same for any N\n"
            "  --timing      print on stderr where the time went: decode CPU time (summed over the threads),\n"
            "                waiting for decoded images, waiting for the GPU, wall\n"
            "exit status: 0 all images embedded, 3 some skipped (named on stderr), 1 error, 2 bad usage\n",
            VKVIT_DEFAULT_MODEL);
}

/* Prints "vkvit-embed: <message>" on stderr; returns EXIT_ERROR. */
__attribute__((format(printf, 1, 2))) static int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkvit-embed: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    return EXIT_ERROR;
}

/* ---- arguments and files ---------------------------------------------------------------------------- */

static bool push(options *o, char *path)
{
    if (!path)
        return false;
    if (o->n_paths == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        char **g = realloc(o->paths, cap * sizeof *g);
        if (!g)
            return free(path), false;
        o->paths = g, o->cap = cap;
    }
    o->paths[o->n_paths++] = path;
    return true;
}

/* A file as given (a bad one is reported when it is read), or a directory's image files and those of its
 * subdirectories, in sorted order, hidden entries left out. */
static bool add_path(options *o, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return depth > 0 || push(o, strdup(path));
    if (depth > 64)
        return fprintf(stderr, "vkvit-embed: %s: directories nested too deep, not followed\n", path), true;
    DIR *d = opendir(path);
    if (!d)
        return fprintf(stderr, "vkvit-embed: %s: cannot open the directory\n", path), true;
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **g = realloc(names, cap * sizeof *g);
            ok = g != NULL;
            names = g ? g : names;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (ok && (ok = (names[n] = malloc(len)) != NULL))
            snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cli_cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (ok && stat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
            ok = add_path(o, names[i], depth + 1);
        else if (ok && cli_is_image_name(names[i]) && push(o, names[i]))
            continue;
        free(names[i]);
    }
    free(names);
    return ok;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "vkvit-embed: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.top = 5, .batch = 8, .threads = cli_default_threads()};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--model") && value) {
            o->model = argv[++i];
        } else if (!strcmp(a, "--device") && value) {
            o->device = argv[++i];
        } else if (!strcmp(a, "-o") && value) {
            o->out = argv[++i];
        } else if (!strcmp(a, "--index") && value) {
            o->index = argv[++i];
        } else if (!strcmp(a, "--patch-tokens") && value) {
            o->tokens = argv[++i];
        } else if (!strcmp(a, "--query") && value) {
            o->query = argv[++i];
        } else if (!strcmp(a, "--zero-shot") && i + 2 < argc) {
            o->text = argv[++i];
            o->labels = argv[++i];
        } else if (!strcmp(a, "--top") && value) {
            if (!cli_parse_uint(argv[++i], &o->top, 1, 1000000))
                return usage_error("--top wants a positive number, not '%s'", argv[i]);
        } else if (!strcmp(a, "--batch") && value) {
            if (!cli_parse_uint(argv[++i], &o->batch, 1, 4096))
                return usage_error("--batch wants 1..4096, not '%s'", argv[i]);
        } else if (!strcmp(a, "--threads") && value) {
            if (!cli_parse_uint(argv[++i], &o->threads, 1, 64))
                return usage_error("--threads wants 1..64, not '%s'", argv[i]);
        } else if (!strcmp(a, "--timing")) {
            o->timing = true;
        } else if (!strcmp(a, "--size") && value) {
            if (!cli_parse_uint(argv[++i], &o->size, 1, 4096))
                return usage_error("--size wants 1..4096 pixels, not '%s'", argv[i]);
        } else if (!strcmp(a, "--normalize")) {
            o->normalize = true;
        } else if (!strcmp(a, "--fp16")) {
            o->fp16 = true;
        } else if (!strcmp(a, "--fp32")) {
            o->fp32 = true;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            return usage_error("unknown option or missing value: %s", a);
        } else if (o->query ? !push(o, strdup(a)) : !add_path(o, a, 0)) {
            return error("out of memory\n");
        }
    }
    const int modes = (o->out != NULL) + (o->query != NULL) + (o->text != NULL);
    if (modes != 1) {
        usage(stderr);
        return usage_error("%s", modes ? "-o, --query and --zero-shot exclude each other"
                                       : "say what to do: -o OUT.npy, --query IMAGE or --zero-shot TEXT.npy LABELS");
    }
    if (o->fp16 && o->fp32)
        return usage_error("%s", "--fp16 and --fp32 exclude each other");
    if (o->query && o->n_paths != 1)
        return usage_error("%s", "--query ranks the rows of one EMBEDDINGS.npy");
    if (!o->query && o->n_paths == 0)
        return usage_error("%s", "no images (files, or directories holding some)");
    if ((o->tokens || o->normalize) && !o->out)
        return usage_error("%s", "--patch-tokens and --normalize go with -o");
    return 0;
}

/* FILE.npy -> FILE.txt (else FILE.txt appended); free() it. */
static char *index_name(const char *npy)
{
    size_t n = strlen(npy), k = n > 4 && !strcasecmp(npy + n - 4, ".npy") ? n - 4 : n;
    char *s = malloc(k + 5);
    if (s)
        snprintf(s, k + 5, "%.*s.txt", (int)k, npy);
    return s;
}

/* ---- .npy files ---------------------------------------------------------------------------------------- */

/* An .npy file written as it goes: the header names `rows` rows of the fixed trailing shape. */
typedef struct npy_out {
    FILE *f;
    const char *path;
    uint32_t ndim, tail[2];      /* the shape after the row count */
    uint64_t rows;
} npy_out;

/* The 128-byte version 1.0 header: magic, version, header length (little endian), the dict padded with
 * spaces and ended by a newline (numpy pads to a multiple of 64). */
static void npy_header(const npy_out *n, char out[NPY_HEADER])
{
    char dict[NPY_HEADER];
    int len = n->ndim == 1 ? snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': "
                                      "(%llu, %u), }", (unsigned long long)n->rows, n->tail[0])
                           : snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': "
                                      "(%llu, %u, %u), }", (unsigned long long)n->rows, n->tail[0], n->tail[1]);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(NPY_HEADER - 10), out[9] = 0;
    memset(out + 10, ' ', NPY_HEADER - 10);
    memcpy(out + 10, dict, (size_t)len);
    out[NPY_HEADER - 1] = '\n';
}

/* Flushes the stream to the disk. */
static bool sync_file(FILE *f) { return fflush(f) == 0 && fsync(fileno(f)) == 0; }

static bool npy_write_header(npy_out *n)
{
    char h[NPY_HEADER];
    npy_header(n, h);
    long end = ftell(n->f);
    return end >= 0 && fseek(n->f, 0, SEEK_SET) == 0 && fwrite(h, 1, sizeof h, n->f) == sizeof h &&
           fseek(n->f, end, SEEK_SET) == 0 && sync_file(n->f);
}

static bool npy_create(npy_out *n, const char *path, uint32_t ndim, uint32_t a, uint32_t b)
{
    *n = (npy_out){.f = fopen(path, "wb+"), .path = path, .ndim = ndim, .tail = {a, b}};
    if (!n->f || fseek(n->f, NPY_HEADER, SEEK_SET) != 0 || !npy_write_header(n))
        return fprintf(stderr, "vkvit-embed: %s: cannot write\n", path), false;
    return true;
}

/* Rows appended and synced; the header is updated by npy_commit (after the index). */
static bool npy_append(npy_out *n, const float *rows, uint32_t count)
{
    size_t per = (size_t)n->tail[0] * (n->ndim == 2 ? n->tail[1] : 1);
    if (fwrite(rows, sizeof *rows, count * per, n->f) != count * per || !sync_file(n->f))
        return fprintf(stderr, "vkvit-embed: %s: cannot write\n", n->path), false;
    return true;
}

static bool npy_commit(npy_out *n, uint32_t count)
{
    n->rows += count;
    if (!npy_write_header(n))
        return fprintf(stderr, "vkvit-embed: %s: cannot write\n", n->path), false;
    return true;
}

/* Reads a float32 C-order .npy matrix [rows][cols]; the rows the header names. free() *data. */
static bool npy_read(const char *path, float **data, uint64_t *rows, uint32_t *cols)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    char dict[4096];
    bool ok = false;
    unsigned long long r = 0;
    unsigned c = 0;
    char close = 0;
    *data = NULL;
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fprintf(stderr, "vkvit-embed: %s: not a version 1 .npy file\n", path);
        goto done;
    }
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof dict || fread(dict, 1, hl, f) != hl) {
        fprintf(stderr, "vkvit-embed: %s: truncated .npy header\n", path);
        goto done;
    }
    while (hl && (dict[hl - 1] == ' ' || dict[hl - 1] == '\n')) /* the padding, for messages */
        hl--;
    dict[hl] = 0;
    const char *shape = strstr(dict, "'shape': (");
    if (!strstr(dict, "'descr': '<f4'") || !strstr(dict, "'fortran_order': False") || !shape ||
        sscanf(shape, "'shape': (%llu, %u%c", &r, &c, &close) != 3 || close != ')' || c == 0 ||
        r > ((size_t)1 << 40) / c) {
        fprintf(stderr, "vkvit-embed: %s: not a float32 (<f4) C-order matrix [rows, columns]: %s\n", path, dict);
        goto done;
    }
    if (!(*data = malloc((size_t)(r ? r : 1) * c * sizeof **data)) || fread(*data, sizeof **data, r * c, f) != r * c) {
        fprintf(stderr, "vkvit-embed: %s: %s\n", path, *data ? "shorter than its header says" : "out of memory");
        goto done;
    }
    *rows = r, *cols = c, ok = true;
done:
    if (!ok)
        free(*data), *data = NULL;
    if (f)
        fclose(f);
    return ok;
}

/* The lines of a text file (without their newlines); free_lines() them. */
static char **read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    char **lines = NULL, *line = NULL;
    size_t n = 0, cap = 0, len = 0;
    ssize_t got;
    if (!f)
        return fprintf(stderr, "vkvit-embed: %s: cannot open\n", path), NULL;
    while ((got = getline(&line, &len, f)) >= 0) {
        if (got && line[got - 1] == '\n')
            line[got - 1] = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(lines, cap * sizeof *g);
            if (!g)
                break;
            lines = g;
        }
        if (!(lines[n] = strdup(line)))
            break;
        n++;
    }
    free(line);
    fclose(f);
    *count = n;
    return lines ? lines : calloc(1, sizeof *lines);
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; lines && i < n; i++)
        free(lines[i]);
    free(lines);
}

/* ---- running the model ------------------------------------------------------------------------------- */

typedef struct engine {
    vkvit_context *ctx;
    vkvit_model *model;
    vkvit_plan *plan;
    vkvit_model_info info;
    uint32_t batch, E, per_token_image; /* floats per image: embedding, all tokens */
    vkvit_image *images;
    const char **names, **run_names; /* the batch gathered, the batch run (whose rows emb / tok hold) */
    float *emb, *tok;
    int skipped;
    /* the decode pipeline: paths[0..n_paths), `taken` of them from the decoder, n images gathered */
    cli_decoder *dec;
    char *const *paths;
    size_t n_paths, taken;
    uint32_t n;
    double t_start, decode_wait, gpu_wait; /* --timing */
} engine;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int engine_open(engine *e, const options *o, uint32_t batch, bool normalize, bool tokens)
{
    *e = (engine){.batch = batch};
    vkvit_status s;
    vkvit_context_options copt = {.device = o->device};
    if ((s = vkvit_context_create(&copt, &e->ctx)))
        return error("no Vulkan device: %s\n", vkvit_last_error());
    vkvit_model_options mopt = {.image_size = o->size, .precision = o->fp16   ? VKVIT_PRECISION_FP16
                                                                    : o->fp32 ? VKVIT_PRECISION_FP32
                                                                              : VKVIT_PRECISION_AUTO};
    vkvit_plan_options popt = {.batch = batch, .normalize_embeddings = normalize, .patch_tokens = tokens};
    if ((s = vkvit_model_load(e->ctx, o->model, &mopt, &e->model)) || (s = vkvit_model_get_info(e->model, &e->info)) ||
        (s = vkvit_plan_create(e->model, &popt, &e->plan)))
        return error("%s: %s\n", vkvit_status_string(s), vkvit_last_error());
    e->E = e->info.embedding_size;
    e->per_token_image = tokens ? e->info.tokens * e->info.hidden : 0;
    e->images = calloc(batch, sizeof *e->images);
    e->names = calloc(batch, sizeof *e->names);
    e->run_names = calloc(batch, sizeof *e->run_names);
    e->emb = malloc((size_t)batch * e->E * sizeof *e->emb);
    e->tok = tokens ? malloc((size_t)batch * e->per_token_image * sizeof *e->tok) : NULL;
    if (!e->images || !e->names || !e->run_names || !e->emb || (tokens && !e->tok))
        return error("out of memory\n");
    return 0;
}

static void engine_close(engine *e)
{
    cli_decoder_stop(e->dec);
    for (uint32_t i = 0; e->images && i < e->n; i++)
        vkvit_image_destroy(&e->images[i]);
    free(e->images);
    free(e->names);
    free(e->run_names);
    free(e->emb);
    free(e->tok);
    vkvit_plan_destroy(e->plan);
    vkvit_model_destroy(e->model);
    vkvit_context_destroy(e->ctx);
}

static uint32_t engine_read(engine *e, uint32_t n);

/* Runs images[0..n) and reads their outputs into emb / tok, rows in order; an image the GPU run refuses is
 * run alone to name it, then dropped (names and images shift down). Returns how many rows there are. */
static uint32_t engine_run(engine *e, uint32_t n)
{
    vkvit_status s = vkvit_run_images(e->plan, e->images, n, NULL);
    if (s != VKVIT_OK && n > 1) {
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (vkvit_run_images(e->plan, &e->images[i], 1, NULL) != VKVIT_OK) {
                fprintf(stderr, "vkvit-embed: %s: skipped: %s\n", e->names[i], vkvit_last_error());
                e->skipped++;
                vkvit_image_destroy(&e->images[i]);
                continue;
            }
            e->images[kept] = e->images[i], e->names[kept++] = e->names[i];
        }
        if (kept < n)
            memset(&e->images[kept], 0, (n - kept) * sizeof *e->images);
        n = kept;
        s = n ? vkvit_run_images(e->plan, e->images, n, NULL) : VKVIT_OK;
    }
    if (s != VKVIT_OK) {
        fprintf(stderr, "vkvit-embed: %s: skipped: %s\n", e->names[0], vkvit_last_error());
        e->skipped += (int)n;
        return 0;
    }
    return engine_read(e, n);
}

/* Reads the last run's outputs for n images into emb / tok; returns n, or 0 after naming the error. */
static uint32_t engine_read(engine *e, uint32_t n)
{
    vkvit_status s;
    if (n && ((s = vkvit_get_embeddings(e->plan, e->emb, (size_t)n * e->E)) ||
              (e->tok && (s = vkvit_get_patch_tokens(e->plan, e->tok, (size_t)n * e->per_token_image))))) {
        fprintf(stderr, "vkvit-embed: %s\n", vkvit_last_error());
        e->skipped += (int)n;
        return 0;
    }
    return n;
}

/* Takes up to a batch of decoded images, in input order, into images / names (naming and skipping bad files). */
static void engine_gather(engine *e)
{
    cli_decoded r;
    const double t0 = now();
    e->n = 0;
    while (e->n < e->batch && cli_decoder_take(e->dec, &r)) {
        const char *path = e->paths[e->taken++];
        if (r.status == VKVIT_OK && strchr(path, '\n')) { /* the index has one name per line */
            fprintf(stderr, "vkvit-embed: skipped a file whose name holds a newline\n");
            e->skipped++;
            vkvit_image_destroy(&r.image);
        } else if (r.status != VKVIT_OK) {
            fprintf(stderr, "vkvit-embed: skipped: %s\n", r.error); /* names the file and why */
            e->skipped++;
        } else {
            e->images[e->n] = r.image;
            e->names[e->n++] = path;
        }
    }
    e->decode_wait += now() - t0;
}

/* Starts decoding paths[0..n) on `threads` threads and gathers the first batch. */
static int engine_start(engine *e, char *const *paths, size_t n, uint32_t threads)
{
    e->paths = paths, e->n_paths = n, e->t_start = now();
    /* room for the batch being gathered and one image in work per thread */
    if (!(e->dec = cli_decoder_start(paths, n, threads, (size_t)e->batch + threads)))
        return error("out of memory\n");
    engine_gather(e);
    return 0;
}

/* Whether images remain: gathered, or still to decode. */
static bool engine_more(const engine *e) { return e->n > 0 || e->taken < e->n_paths; }

/* Runs the gathered batch while the threads decode the next one, which is then gathered; returns the rows
 * of the batch run (emb / tok, names in run_names), in input order. */
static uint32_t engine_next(engine *e)
{
    const vkvit_submit_signal pending = {0}; /* zeroed: the run is left pending until vkvit_wait */
    uint32_t n = e->n;
    vkvit_status s = n ? vkvit_run_images(e->plan, e->images, n, &pending) : VKVIT_OK;
    if (s != VKVIT_OK) /* refused before submission: run in order to name the images at fault */
        n = engine_run(e, n);
    memcpy(e->run_names, e->names, n * sizeof *e->names);
    for (uint32_t i = 0; i < e->batch; i++) /* the run copied the pixels */
        vkvit_image_destroy(&e->images[i]);
    engine_gather(e);
    if (s != VKVIT_OK)
        return n;
    const double t0 = now();
    s = vkvit_wait(e->plan);
    e->gpu_wait += now() - t0;
    if (s != VKVIT_OK) {
        fprintf(stderr, "vkvit-embed: %s: skipped: %s\n", e->run_names[0], vkvit_last_error());
        e->skipped += (int)n;
        return 0;
    }
    return engine_read(e, n);
}

/* --timing: where the time went, on stderr. */
static void engine_timing(const engine *e, const options *o, uint64_t rows)
{
    const double wall = now() - e->t_start;
    if (o->timing && e->dec)
        fprintf(stderr, "vkvit-embed: timing: %llu images, wall %.3f s (%.1f images/s end to end); decode %.3f s on "
                "%u threads; waiting for decoded images %.3f s, for the GPU %.3f s\n", (unsigned long long)rows,
                wall, wall > 0 ? (double)rows / wall : 0, cli_decoder_busy(e->dec), o->threads, e->decode_wait,
                e->gpu_wait);
}

/* Cosine similarity of a with b (0 where either is zero), in double. */
static double cosine(const float *a, const float *b, uint32_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < n; i++)
        ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

typedef struct ranked {
    double sim;
    size_t row;
} ranked;

static int by_similarity(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    return a->sim < b->sim ? 1 : a->sim > b->sim ? -1 : (a->row > b->row) - (a->row < b->row);
}

/* The rows of m [rows][E] ranked by cosine similarity with q, best first; free() it. */
static ranked *rank(const float *q, const float *m, size_t rows, uint32_t E)
{
    ranked *r = malloc((rows ? rows : 1) * sizeof *r);
    for (size_t i = 0; r && i < rows; i++)
        r[i] = (ranked){cosine(q, m + i * E, E), i};
    if (r)
        qsort(r, rows, sizeof *r, by_similarity);
    return r;
}

/* ---- the three modes ------------------------------------------------------------------------------------- */

static int embed(const options *o)
{
    engine e;
    const uint32_t batch = o->batch < o->n_paths ? o->batch : (uint32_t)o->n_paths;
    char *index = o->index ? strdup(o->index) : index_name(o->out);
    npy_out out = {0}, tok = {0};
    FILE *idx = NULL;
    int rc = engine_open(&e, o, batch, o->normalize, o->tokens != NULL);
    if (!rc && !index)
        rc = error("out of memory\n");
    if (!rc && (!npy_create(&out, o->out, 1, e.E, 0) ||
                (o->tokens && !npy_create(&tok, o->tokens, 2, e.info.tokens, e.info.hidden))))
        rc = EXIT_ERROR;
    if (!rc && !(idx = fopen(index, "w")))
        rc = error("%s: cannot write\n", index);
    if (!rc)
        rc = engine_start(&e, o->paths, o->n_paths, o->threads);
    const bool bar = isatty(2) && o->n_paths > batch;
    while (!rc && engine_more(&e)) {
        const uint32_t n = engine_next(&e);
        /* rows, then the index, then the headers: what a header counts is always on the disk */
        if (n && (!npy_append(&out, e.emb, n) || (o->tokens && !npy_append(&tok, e.tok, n))))
            rc = EXIT_ERROR;
        for (uint32_t i = 0; !rc && i < n; i++)
            if (fprintf(idx, "%s\n", e.run_names[i]) < 0)
                rc = EXIT_ERROR;
        if (!rc && n && !sync_file(idx))
            rc = error("%s: cannot write\n", index);
        if (!rc && n && (!npy_commit(&out, n) || (o->tokens && !npy_commit(&tok, n))))
            rc = EXIT_ERROR;
        if (bar)
            cli_progress(e.taken, o->n_paths);
    }
    if (!rc)
        engine_timing(&e, o, out.rows);
    if (!rc)
        fprintf(stderr, "vkvit-embed: %llu embeddings of %u floats (%s%s) in %s, names in %s%s%s\n",
                (unsigned long long)out.rows, e.E, e.info.embedding, o->normalize ? ", L2-normalised" : "", o->out,
                index, o->tokens ? ", all tokens in " : "", o->tokens ? o->tokens : "");
    if (idx)
        fclose(idx);
    if (out.f)
        fclose(out.f);
    if (tok.f)
        fclose(tok.f);
    free(index);
    rc = rc ? rc : e.skipped ? EXIT_SKIPPED : 0;
    engine_close(&e);
    return rc;
}

static int query(const options *o)
{
    const char *npy = o->paths[0];
    char *index = o->index ? strdup(o->index) : index_name(npy);
    float *m = NULL;
    uint64_t rows = 0;
    uint32_t cols = 0;
    size_t n_names = 0;
    char **names = NULL;
    engine e = {0};
    int rc = 0;
    if (!index || !npy_read(npy, &m, &rows, &cols) || !(names = read_lines(index, &n_names)))
        rc = EXIT_ERROR;
    else if (n_names < rows)
        rc = error("%s names %zu files, %s has %llu rows\n", index, n_names, npy,
               (unsigned long long)rows);
    if (!rc && !(rc = engine_open(&e, o, 1, false, false)) && e.E != cols)
        rc = error("%s holds %u-float rows, the model's embeddings have %u: another "
               "model made them\n", npy, cols, e.E);
    char *const paths[1] = {(char *)o->query};
    if (!rc && !(rc = engine_start(&e, paths, 1, 1)) && engine_next(&e) != 1)
        rc = EXIT_ERROR;
    ranked *r = rc ? NULL : rank(e.emb, m, rows, cols);
    for (size_t i = 0; r && i < rows && i < o->top; i++)
        printf("%.6f  %s\n", r[i].sim, names[r[i].row]);
    if (!rc && !r)
        rc = error("out of memory\n");
    free(r);
    free(m);
    free(index);
    free_lines(names, n_names);
    engine_close(&e);
    return rc;
}

static int zero_shot(const options *o)
{
    float *text = NULL;
    uint64_t rows = 0;
    uint32_t cols = 0;
    size_t n_labels = 0;
    char **labels = NULL;
    engine e = {0};
    int rc = 0;
    const uint32_t batch = o->batch < o->n_paths ? o->batch : (uint32_t)o->n_paths;
    if (!npy_read(o->text, &text, &rows, &cols) || !(labels = read_lines(o->labels, &n_labels)))
        rc = EXIT_ERROR;
    else if (n_labels != rows || rows == 0)
        rc = error("%s has %zu labels, %s %llu text embeddings: one label per row\n",
               o->labels, n_labels, o->text, (unsigned long long)rows);
    if (!rc && !(rc = engine_open(&e, o, batch, false, false)) && e.E != cols)
        rc = error("%s holds %u-float text embeddings, the model's image embeddings have "
               "%u: they must come from the same model's text tower\n", o->text, cols, e.E);
    if (!rc)
        rc = engine_start(&e, o->paths, o->n_paths, o->threads);
    while (!rc && engine_more(&e)) {
        const uint32_t n = engine_next(&e);
        for (uint32_t i = 0; i < n && !rc; i++) {
            ranked *r = rank(e.emb + (size_t)i * e.E, text, rows, cols);
            if (!r)
                rc = error("out of memory\n");
            printf("%s\n", e.run_names[i]);
            for (size_t j = 0; r && j < rows && j < o->top; j++)
                printf("  %.6f  %s\n", r[j].sim, labels[r[j].row]);
            free(r);
        }
    }
    free(text);
    free_lines(labels, n_labels);
    rc = rc ? rc : e.skipped ? EXIT_SKIPPED : 0;
    engine_close(&e);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (!rc) {
        if (!o.model)
            o.model = getenv("VKVIT_MODEL") ? getenv("VKVIT_MODEL") : VKVIT_DEFAULT_MODEL;
        rc = o.out ? embed(&o) : o.query ? query(&o) : zero_shot(&o);
    }
    for (size_t i = 0; i < o.n_paths; i++)
        free(o.paths[i]);
    free(o.paths);
    return rc;
}
