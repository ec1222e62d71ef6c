/* The viewer's PCA (examples/viewer_pca.c) on data with known principal directions and on random data against
 * the covariance matrix formed here: components are unit, orthogonal, eigenvectors (||C v - lambda v|| small),
 * in decreasing order, along the directions the data was built from; the RGB mapping spans 0..255.
 * No GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer_pca.h"

static int passed, failed;

static void expect(int ok, const char *what, double value)
{
    printf("%s %s (%.3g)\n", ok ? "ok  " : "FAIL", what, value);
    ok ? passed++ : failed++;
}

static uint64_t state = 0x9e3779b97f4a7c15ull;
static double uniform(void) /* [-1, 1) */
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (double)(state >> 11) / (double)(1ull << 52) - 1;
}

/* Checks the components of x [n][d] against its covariance, formed directly. */
static void check_eigen(const char *name, const float *x, uint32_t n, uint32_t d, const double *comp,
                        const double *scores, const double *explained)
{
    double *mean = calloc(d, sizeof *mean), *cov = calloc((size_t)d * d, sizeof *cov);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++)
            mean[j] += x[(size_t)i * d + j] / n;
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t a = 0; a < d; a++) {
            const double ea = x[(size_t)i * d + a] - mean[a];
            total += ea * ea;
            for (uint32_t b = 0; b < d; b++)
                cov[(size_t)a * d + b] += ea * (x[(size_t)i * d + b] - mean[b]);
        }
    double worst_res = 0, worst_orth = 0, lambda[VIEWER_PCA_K], worst_score = 0, worst_expl = 0;
    for (uint32_t k = 0; k < VIEWER_PCA_K; k++) {
        const double *v = comp + (size_t)k * d;
        double cv[1024], l = 0;
        for (uint32_t a = 0; a < d; a++) {
            cv[a] = 0;
            for (uint32_t b = 0; b < d; b++)
                cv[a] += cov[(size_t)a * d + b] * v[b];
            l += v[a] * cv[a];
        }
        lambda[k] = l;
        double r = 0;
        for (uint32_t a = 0; a < d; a++)
            r += (cv[a] - l * v[a]) * (cv[a] - l * v[a]);
        worst_res = fmax(worst_res, sqrt(r) / fmax(l, 1e-300));
        for (uint32_t q = 0; q <= k; q++) {
            double c = 0;
            for (uint32_t a = 0; a < d; a++)
                c += v[a] * comp[(size_t)q * d + a];
            worst_orth = fmax(worst_orth, fabs(c - (q == k)));
        }
        for (uint32_t i = 0; i < n; i++) {
            double s = 0;
            for (uint32_t a = 0; a < d; a++)
                s += (x[(size_t)i * d + a] - mean[a]) * v[a];
            worst_score = fmax(worst_score, fabs(s - scores[(size_t)i * VIEWER_PCA_K + k]));
        }
        worst_expl = fmax(worst_expl, fabs(explained[k] - l / total));
    }
    char what[160];
    snprintf(what, sizeof what, "%s: ||C v - lambda v|| / lambda", name);
    expect(worst_res < 1e-8, what, worst_res);
    snprintf(what, sizeof what, "%s: components orthonormal", name);
    expect(worst_orth < 1e-10, what, worst_orth);
    snprintf(what, sizeof what, "%s: eigenvalues in decreasing order", name);
    expect(lambda[0] >= lambda[1] && lambda[1] >= lambda[2], what, lambda[0]);
    snprintf(what, sizeof what, "%s: scores = centred rows . components", name);
    expect(worst_score < 1e-6, what, worst_score);
    snprintf(what, sizeof what, "%s: explained = lambda / total variance", name);
    expect(worst_expl < 1e-12, what, worst_expl);
    free(mean), free(cov);
}

int main(void)
{
    /* Known directions: rows = 3 a e1 + 2 b e2 + c e3 + 0.001 noise + an offset, e1..e3 orthonormal. */
    enum { N = 196, D = 37 };
    static float x[N * D];
    static double dir[3][D], comp[VIEWER_PCA_K * 1024], scores[1024 * VIEWER_PCA_K], explained[VIEWER_PCA_K];
    for (int k = 0; k < 3; k++) {
        for (int j = 0; j < D; j++)
            dir[k][j] = uniform();
        for (int q = 0; q < k; q++) {
            double c = 0;
            for (int j = 0; j < D; j++)
                c += dir[k][j] * dir[q][j];
            for (int j = 0; j < D; j++)
                dir[k][j] -= c * dir[q][j];
        }
        double norm = 0;
        for (int j = 0; j < D; j++)
            norm += dir[k][j] * dir[k][j];
        for (int j = 0; j < D; j++)
            dir[k][j] /= sqrt(norm);
    }
    for (int i = 0; i < N; i++) {
        const double a = 3 * uniform(), b = 2 * uniform(), c = uniform();
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(a * dir[0][j] + b * dir[1][j] + c * dir[2][j] + 1e-3 * uniform() + 5 + 0.1 * j);
    }
    expect(viewer_pca(x, N, D, comp, scores, explained) == 0, "viewer_pca ran (196 x 37)", 0);
    check_eigen("planted", x, N, D, comp, scores, explained);
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        double c = 0;
        for (int j = 0; j < D; j++)
            c += comp[k * D + j] * dir[k][j];
        worst = fmax(worst, 1 - fabs(c));
    }
    /* The sample's a, b, c are not exactly uncorrelated, so the axes turn a little from the planted ones. */
    expect(worst < 0.05, "planted: component k is direction k (1 - |cos|)", worst);
    expect(explained[0] + explained[1] + explained[2] > 0.9999, "planted: three components hold the variance",
           explained[0] + explained[1] + explained[2]);
    uint8_t rgb[N * 3];
    viewer_pca_rgb(scores, N, rgb);
    int span = 1;
    for (int k = 0; k < 3; k++) {
        int lo = 255, hi = 0;
        for (int i = 0; i < N; i++)
            lo = rgb[i * 3 + k] < lo ? rgb[i * 3 + k] : lo, hi = rgb[i * 3 + k] > hi ? rgb[i * 3 + k] : hi;
        span &= lo == 0 && hi == 255;
    }
    expect(span, "RGB: each channel spans 0..255", 0);

    /* More dimensions than rows (the Gram side), random data. */
    enum { N2 = 7, D2 = 50 };
    static float y[N2 * D2];
    for (int i = 0; i < N2 * D2; i++)
        y[i] = (float)uniform();
    expect(viewer_pca(y, N2, D2, comp, scores, explained) == 0, "viewer_pca ran (7 x 50)", 0);
    check_eigen("random 7 x 50", y, N2, D2, comp, scores, explained);

    /* Two rows: rank 1; the other components are still orthonormal and score ~0. */
    expect(viewer_pca(y, 2, D2, comp, scores, explained) == 0, "viewer_pca ran (2 x 50, rank 1)", 0);
    expect(fabs(explained[0] - 1) < 1e-12 && explained[1] < 1e-12 && explained[2] < 1e-12,
           "rank 1: the first component explains everything", explained[0]);
    expect(viewer_pca(y, 1, D2, comp, scores, explained) == -1, "one row is refused", 0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
