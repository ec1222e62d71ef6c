/* Checks what vkvit-embed wrote against the library: each row of the embeddings .npy (and of the tokens
 * .npy) must equal what vkvit_get_embeddings (vkvit_get_patch_tokens) gives for the file its index line
 * names, run alone through a batch-1 plan in fp32: bitwise, or within `tol` (max abs difference).
 *   check_embed_npy MODEL EMB.npy INDEX TOL [normalize] [tokens TOKENS.npy]
 * Prints an ok/FAIL line per check and "N passed, N failed"; exit 0 only if nothing failed. Public API only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkvit.h"

static int passed, failed;

static void check(int ok, const char *what, const char *name, double diff)
{
    printf("%s %s %s (max |diff| %.3g)\n", ok ? "ok  " : "FAIL", what, name, diff);
    ok ? passed++ : failed++;
}

/* max |a - b| over n floats; infinite where either is not finite (NaN never passes) */
static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t j = 0; j < n; j++)
        d = isfinite(a[j]) && isfinite(b[j]) ? fmax(d, fabs((double)a[j] - b[j])) : INFINITY;
    return d;
}

/* The rows of a float32 .npy whose header is 128 bytes or less and names (rows, a[, b]); free() it. */
static float *read_npy(const char *path, size_t *rows, size_t *per_row)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    char dict[1024];
    unsigned long long r = 0, a = 0, b = 1;
    float *v = NULL;
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01\x00", 8))
        goto done;
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof dict || fread(dict, 1, hl, f) != hl)
        goto done;
    dict[hl] = 0;
    const char *s = strstr(dict, "'shape': (");
    int got = s ? sscanf(s, "'shape': (%llu, %llu, %llu)", &r, &a, &b) : 0;
    if (got < 2 || !strstr(dict, "'<f4'"))
        goto done;
    *rows = r, *per_row = a * (got == 3 ? b : 1);
    v = malloc((r * *per_row + 1) * sizeof *v);
    if (v && fread(v, sizeof *v, r * *per_row, f) != r * *per_row)
        free(v), v = NULL;
done:
    if (f)
        fclose(f);
    if (!v)
        fprintf(stderr, "check_embed_npy: %s: not a readable float32 .npy\n", path);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: check_embed_npy MODEL EMB.npy INDEX TOL [normalize] [tokens TOKENS.npy]\n");
        return 2;
    }
    const double tol = atof(argv[4]);
    int normalize = 0;
    const char *tok_path = NULL;
    for (int i = 5; i < argc; i++)
        if (!strcmp(argv[i], "normalize"))
            normalize = 1;
        else if (!strcmp(argv[i], "tokens") && i + 1 < argc)
            tok_path = argv[++i];
    size_t rows = 0, E = 0, trows = 0, per_tok = 0;
    float *emb = read_npy(argv[2], &rows, &E), *tok = tok_path ? read_npy(tok_path, &trows, &per_tok) : NULL;
    FILE *idx = fopen(argv[3], "r");
    vkvit_context *ctx = NULL;
    vkvit_model *m = NULL;
    vkvit_plan *p = NULL;
    vkvit_model_options mo = {.precision = VKVIT_PRECISION_FP32};
    vkvit_plan_options po = {.batch = 1, .normalize_embeddings = normalize, .patch_tokens = tok != NULL};
    if (!emb || !idx || (tok_path && (!tok || trows != rows)) || vkvit_context_create(NULL, &ctx) ||
        vkvit_model_load(ctx, argv[1], &mo, &m) || vkvit_plan_create(m, &po, &p)) {
        fprintf(stderr, "check_embed_npy: setup failed: %s\n", vkvit_last_error());
        return 1;
    }
    float *e = malloc(E * sizeof *e), *t = malloc((per_tok + 1) * sizeof *t);
    char line[4096];
    size_t r = 0;
    for (; r < rows && fgets(line, sizeof line, idx); r++) {
        line[strcspn(line, "\n")] = 0;
        vkvit_image im = {0};
        if (vkvit_image_load(line, &im) || vkvit_run_images(p, &im, 1, NULL) || vkvit_get_embeddings(p, e, E) ||
            (tok && vkvit_get_patch_tokens(p, t, per_tok))) {
            check(0, "run", line, NAN);
            vkvit_image_destroy(&im);
            continue;
        }
        vkvit_image_destroy(&im);
        const double d = max_diff(e, emb + r * E, E);
        check(d <= tol, memcmp(e, emb + r * E, E * sizeof *e) ? "row == vkvit_get_embeddings (within tol):"
                                                               : "row == vkvit_get_embeddings (bitwise):", line, d);
        if (tok) {
            const double dt = max_diff(t, tok + r * per_tok, per_tok);
            check(dt <= tol, "tokens row == vkvit_get_patch_tokens:", line, dt);
        }
    }
    check(r == rows, "the index names every row", argv[3], 0);
    printf("%d passed, %d failed\n", passed, failed);
    free(e), free(t), free(emb), free(tok);
    fclose(idx);
    vkvit_plan_destroy(p);
    vkvit_model_destroy(m);
    vkvit_context_destroy(ctx);
    return failed ? 1 : 0;
}
