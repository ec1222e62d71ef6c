/* Position-embedding resampling (src/posembed.c) against PyTorch's F.interpolate (bicubic, antialias off and on)
 * and SciPy's zoom(order=1) on the grids of tests/data/posembed.safetensors (tools/make_timm_fixtures.py): odd,
 * shrinking, growing, non-square, unchanged and 1-cell grids, and on the non-square grids of
 * tests/data/posembed-nonsquare.safetensors (tools/make_nonsquare_fixtures.py); the prefix rows of
 * posembed_resize; bad arguments.
 * No GPU. Usage: test_posembed <tests/data> */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "posembed.h"
#include "safetensors.h"

#define TOL_POSEMBED 1e-6     /* vs PyTorch's algorithm run in float64, SciPy's zoom                         */
#define TOL_POSEMBED_F32 2e-6 /* vs PyTorch run in float32 (as timm does): its own rounding is up to ~1e-6     */

static const struct {
    const char *prefix;
    posembed_filter filter;
    double bound;
} modes[] = {
    {"bicubic", POSEMBED_BICUBIC, TOL_POSEMBED},
    {"bicubic_f32", POSEMBED_BICUBIC, TOL_POSEMBED_F32},
    {"bicubic_aa", POSEMBED_BICUBIC_AA, TOL_POSEMBED},
    {"bicubic_aa_f32", POSEMBED_BICUBIC_AA, TOL_POSEMBED_F32},
    {"zoom", POSEMBED_BILINEAR_ZOOM, TOL_POSEMBED},
};

static float *read_all(const st_tensor *t)
{
    float *v = test_alloc((size_t)t->count);
    test_ok(st_read_f32(t, v, (size_t)t->count), t->name);
    return v;
}

/* Every "in.GHxGW-OHxOW" grid through every filter, against the reference's output of the same name. */
static int test_references(const st_file *f)
{
    int cases = 0;
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *in = st_tensor_at(f, i);
        if (strncmp(in->name, "in.", 3) != 0)
            continue;
        const char *key = in->name + 3;
        float *grid = read_all(in);
        uint32_t gh = (uint32_t)in->shape[0], gw = (uint32_t)in->shape[1], dim = (uint32_t)in->shape[2];
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
            char name[96];
            snprintf(name, sizeof name, "%s.%s", modes[m].prefix, key);
            const st_tensor *ref = st_find(f, name);
            if (!test_expect(ref && ref->rank == 3 && ref->shape[2] == dim, "%s is in the file", name))
                continue;
            uint32_t oh = (uint32_t)ref->shape[0], ow = (uint32_t)ref->shape[1];
            float *want = read_all(ref), *got = test_alloc((size_t)ref->count);
            for (size_t k = 0; k < ref->count; k++)
                got[k] = NAN; /* poisoned: an unwritten element fails */
            vkvit_status s = posembed_resample(modes[m].filter, grid, gh, gw, dim, got, oh, ow);
            char label[256];
            const char *how = modes[m].filter == POSEMBED_BILINEAR_ZOOM ? "scipy.ndimage.zoom(order=1)"
                              : modes[m].filter == POSEMBED_BICUBIC ? "F.interpolate bicubic"
                              : "F.interpolate bicubic antialias";
            snprintf(label, sizeof label, "%s: %ux%u -> %ux%u (dim %u) vs %s%s", name, gh, gw, oh, ow, dim, how,
                     modes[m].bound == TOL_POSEMBED_F32 ? " in float32" : "");
            if (test_expect(s == VKVIT_OK, "%s runs (%s)", label, s ? vkvit_last_error() : "ok"))
                test_check(label, got, want, (size_t)ref->count, modes[m].bound);
            free(want);
            free(got);
            cases++;
        }
        free(grid);
    }
    return cases;
}

/* posembed_resize: the prefix rows bit for bit, then the grid as posembed_resample gives it. */
static void test_prefix(const st_file *f)
{
    const st_tensor *in = st_find(f, "in.7x7-5x5");
    if (!test_expect(in != NULL, "in.7x7-5x5 is in the file"))
        return;
    const uint32_t dim = (uint32_t)in->shape[2], prefix = 2;
    float *grid = read_all(in), *pos = test_alloc((size_t)(prefix + 49) * dim);
    float *out = test_alloc((size_t)(prefix + 25) * dim), *want = test_alloc((size_t)25 * dim);
    for (uint32_t k = 0; k < prefix * dim; k++)
        pos[k] = (float)k * 0.25f - 1.0f;
    memcpy(pos + prefix * dim, grid, (size_t)49 * dim * sizeof *pos);
    test_ok(posembed_resize(POSEMBED_BICUBIC_AA, pos, prefix, 7, 7, dim, out, 5, 5), "posembed_resize");
    test_ok(posembed_resample(POSEMBED_BICUBIC_AA, grid, 7, 7, dim, want, 5, 5), "posembed_resample");
    test_expect(memcmp(out, pos, (size_t)prefix * dim * sizeof *out) == 0, "posembed_resize keeps the class and "
                "distillation token rows bit for bit");
    test_expect(memcmp(out + prefix * dim, want, (size_t)25 * dim * sizeof *out) == 0, "posembed_resize's grid == "
                "posembed_resample's");
    free(grid), free(pos), free(out), free(want);
}

static void test_bad_arguments(void)
{
    float a[8] = {0}, b[8];
    static const struct {
        uint32_t gh, gw, dim, oh, ow;
        int filter;
    } bad[] = {{0, 1, 1, 1, 1, 0}, {1, 0, 1, 1, 1, 0}, {1, 1, 0, 1, 1, 0}, {1, 1, 1, 0, 1, 0}, {1, 1, 1, 1, 0, 0},
               {POSEMBED_MAX_SIDE + 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, POSEMBED_MAX_SIDE + 1, 1}, {1, 1, 1, 1, 1, 7}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vkvit_status s = posembed_resample((posembed_filter)bad[i].filter, a, bad[i].gh, bad[i].gw, bad[i].dim, b,
                                           bad[i].oh, bad[i].ow);
        test_expect(s == VKVIT_ERROR_INVALID_ARGUMENT && strstr(vkvit_last_error(), "position embedding"),
                    "%ux%u of %u -> %ux%u, filter %d: %s \"%s\"", bad[i].gh, bad[i].gw, bad[i].dim, bad[i].oh,
                    bad[i].ow, bad[i].filter, vkvit_status_string(s), vkvit_last_error());
    }
    test_expect(posembed_resample(POSEMBED_BICUBIC, NULL, 1, 1, 1, b, 1, 1) == VKVIT_ERROR_INVALID_ARGUMENT,
                "NULL input: VKVIT_ERROR_INVALID_ARGUMENT");
    test_expect(posembed_resize(POSEMBED_BICUBIC, a, 1, 1, 1, 1, NULL, 1, 1) == VKVIT_ERROR_INVALID_ARGUMENT,
                "NULL output: VKVIT_ERROR_INVALID_ARGUMENT");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tests/data>\n", argv[0]);
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/posembed.safetensors", argv[1]);
    st_file *f = NULL;
    test_ok(st_open(path, &f), path);
    int cases = test_references(f);
    test_expect(cases >= 45, "%d grids x references compared (want >= 45)", cases);
    test_prefix(f);
    test_bad_arguments();
    st_close(f);
    /* Non-square grids, to and from (tools/make_nonsquare_fixtures.py): DINOv2's 6x6 run at 9x7, 6x9 -> 9x7, ... */
    snprintf(path, sizeof path, "%s/posembed-nonsquare.safetensors", argv[1]);
    test_ok(st_open(path, &f), path);
    cases = test_references(f);
    test_expect(cases >= 45, "%d non-square grids x references compared (want >= 45)", cases);
    st_close(f);
    return test_finish(NULL);
}
