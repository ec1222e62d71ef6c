/* Principal components by orthogonal iteration with Rayleigh-Ritz on the centred rows (see viewer_pca.h). */
#include "viewer_pca.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITERATIONS 500 /* slow only where the 3rd and 4th eigenvalues nearly tie; the picture is then fine */
#define RESIDUAL 1e-10

/* w = Xᵀ(X v): the covariance (times n) applied to v, through the n x d centred rows; t is [n] scratch. */
static void cov_apply(const double *x, uint32_t n, uint32_t d, const double *v, double *w, double *t)
{
    for (uint32_t i = 0; i < n; i++) {
        double s = 0;
        for (uint32_t j = 0; j < d; j++)
            s += x[(size_t)i * d + j] * v[j];
        t[i] = s;
    }
    memset(w, 0, d * sizeof *w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++)
            w[j] += t[i] * x[(size_t)i * d + j];
}

static double dot(const double *a, const double *b, uint32_t d)
{
    double s = 0;
    for (uint32_t j = 0; j < d; j++)
        s += a[j] * b[j];
    return s;
}

/* Modified Gram-Schmidt over the K vectors of v [K][d], in order; a vector that vanishes is replaced by a
 * basis vector orthogonal to the others (data of rank < K). */
static void orthonormalise(double *v, uint32_t d)
{
    for (uint32_t k = 0; k < VIEWER_PCA_K; k++) {
        double *a = v + (size_t)k * d;
        for (uint32_t tries = 0; tries <= d; tries++) {
            for (uint32_t q = 0; q < k; q++) {
                const double c = dot(a, v + (size_t)q * d, d);
                for (uint32_t j = 0; j < d; j++)
                    a[j] -= c * v[(size_t)q * d + j];
            }
            const double norm = sqrt(dot(a, a, d));
            if (norm > 1e-150) {
                for (uint32_t j = 0; j < d; j++)
                    a[j] /= norm;
                break;
            }
            memset(a, 0, d * sizeof *a);
            a[(k + tries) % d] = 1;
        }
    }
}

/* The eigenvalues (descending) and eigenvectors (columns of q) of the symmetric K x K matrix h, by Jacobi
 * rotations. */
static void jacobi(double h[VIEWER_PCA_K][VIEWER_PCA_K], double q[VIEWER_PCA_K][VIEWER_PCA_K],
                   double lambda[VIEWER_PCA_K])
{
    enum { K = VIEWER_PCA_K };
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            q[i][j] = i == j;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = 0;
        for (int i = 0; i < K; i++)
            for (int j = i + 1; j < K; j++)
                off += h[i][j] * h[i][j];
        if (off < 1e-300)
            break;
        for (int p = 0; p < K; p++)
            for (int r = p + 1; r < K; r++) {
                if (h[p][r] == 0)
                    continue;
                const double theta = (h[r][r] - h[p][p]) / (2 * h[p][r]);
                const double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                const double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < K; k++) { /* h = Jᵀ h J, q = q J */
                    const double a = h[k][p], b = h[k][r];
                    h[k][p] = c * a - s * b, h[k][r] = s * a + c * b;
                }
                for (int k = 0; k < K; k++) {
                    const double a = h[p][k], b = h[r][k];
                    h[p][k] = c * a - s * b, h[r][k] = s * a + c * b;
                }
                for (int k = 0; k < K; k++) {
                    const double a = q[k][p], b = q[k][r];
                    q[k][p] = c * a - s * b, q[k][r] = s * a + c * b;
                }
            }
    }
    int order[K];
    for (int i = 0; i < K; i++)
        order[i] = i;
    for (int i = 0; i < K; i++) /* K is 3: selection sort, largest first */
        for (int j = i + 1; j < K; j++)
            if (h[order[j]][order[j]] > h[order[i]][order[i]]) {
                const int tmp = order[i];
                order[i] = order[j], order[j] = tmp;
            }
    double sorted[K][K];
    for (int i = 0; i < K; i++) {
        lambda[i] = h[order[i]][order[i]];
        for (int k = 0; k < K; k++)
            sorted[k][i] = q[k][order[i]];
    }
    memcpy(q, sorted, sizeof sorted);
}

/* Rayleigh-Ritz: the best eigenvector approximations within span(v), given w = C v: v and w rotated by the
 * eigenvectors of vᵀ C v, largest first. Returns the largest ||C v_k - lambda_k v_k|| / lambda_1. */
static double rayleigh_ritz(double *v, double *w, uint32_t d)
{
    enum { K = VIEWER_PCA_K };
    double h[K][K], q[K][K], lambda[K], tv[K], tw[K];
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++)
            h[a][b] = 0.5 * (dot(v + (size_t)a * d, w + (size_t)b * d, d) +
                             dot(v + (size_t)b * d, w + (size_t)a * d, d));
    jacobi(h, q, lambda);
    for (uint32_t j = 0; j < d; j++) {
        for (int k = 0; k < K; k++) {
            tv[k] = tw[k] = 0;
            for (int a = 0; a < K; a++)
                tv[k] += v[(size_t)a * d + j] * q[a][k], tw[k] += w[(size_t)a * d + j] * q[a][k];
        }
        for (int k = 0; k < K; k++)
            v[(size_t)k * d + j] = tv[k], w[(size_t)k * d + j] = tw[k];
    }
    double worst = 0;
    for (int k = 0; k < K; k++) {
        double r = 0;
        for (uint32_t j = 0; j < d; j++) {
            const double e = w[(size_t)k * d + j] - lambda[k] * v[(size_t)k * d + j];
            r += e * e;
        }
        worst = fmax(worst, lambda[0] > 0 ? sqrt(r) / lambda[0] : 0);
    }
    return worst;
}

int viewer_pca(const float *x, uint32_t n, uint32_t d, double *components, double *scores, double *explained)
{
    if (n < 2 || d < VIEWER_PCA_K)
        return -1;
    double *c = malloc((size_t)n * d * sizeof *c), *mean = calloc(d, sizeof *mean), *t = malloc(n * sizeof *t);
    double *v = malloc((size_t)VIEWER_PCA_K * d * sizeof *v), *w = malloc((size_t)VIEWER_PCA_K * d * sizeof *w);
    int rc = -1;
    if (!c || !mean || !t || !v || !w)
        goto done;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++)
            mean[j] += x[(size_t)i * d + j];
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++) {
            const double e = x[(size_t)i * d + j] - mean[j] / n;
            c[(size_t)i * d + j] = e;
            total += e * e;
        }
    /* A fixed start, so the same image gives the same picture: smooth, distinct, not aligned with any axis. */
    for (uint32_t k = 0; k < VIEWER_PCA_K; k++)
        for (uint32_t j = 0; j < d; j++)
            v[(size_t)k * d + j] = sin(1.0 + j * (0.37 + 0.71 * k)) + 0.5 * cos(0.13 * j * (k + 2));
    orthonormalise(v, d);
    /* Orthogonal iteration (v <- orthonormalised C v), each step refined by Rayleigh-Ritz, until the
     * components are eigenvectors to RESIDUAL (relative to the largest eigenvalue) or MAX_ITERATIONS. */
    for (int it = 0;; it++) {
        for (uint32_t k = 0; k < VIEWER_PCA_K; k++)
            cov_apply(c, n, d, v + (size_t)k * d, w + (size_t)k * d, t);
        if (rayleigh_ritz(v, w, d) < RESIDUAL || it == MAX_ITERATIONS)
            break;
        memcpy(v, w, (size_t)VIEWER_PCA_K * d * sizeof *v);
        orthonormalise(v, d);
    }
    for (uint32_t k = 0; k < VIEWER_PCA_K; k++) {
        double *a = v + (size_t)k * d;
        uint32_t big = 0;
        for (uint32_t j = 1; j < d; j++)
            big = fabs(a[j]) > fabs(a[big]) ? j : big;
        const double sign = a[big] < 0 ? -1 : 1;
        for (uint32_t j = 0; j < d; j++)
            a[j] *= sign;
        double var = 0;
        for (uint32_t i = 0; i < n; i++) {
            const double s = dot(c + (size_t)i * d, a, d);
            scores[(size_t)i * VIEWER_PCA_K + k] = s;
            var += s * s;
        }
        if (explained)
            explained[k] = total > 0 ? var / total : 0;
    }
    if (components)
        memcpy(components, v, (size_t)VIEWER_PCA_K * d * sizeof *v);
    rc = 0;
done:
    free(c), free(mean), free(t), free(v), free(w);
    return rc;
}

void viewer_pca_rgb(const double *scores, uint32_t n, uint8_t *rgb)
{
    for (uint32_t k = 0; k < VIEWER_PCA_K; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (uint32_t i = 0; i < n; i++)
            lo = fmin(lo, scores[(size_t)i * VIEWER_PCA_K + k]), hi = fmax(hi, scores[(size_t)i * VIEWER_PCA_K + k]);
        for (uint32_t i = 0; i < n; i++) {
            const double s = scores[(size_t)i * VIEWER_PCA_K + k];
            rgb[(size_t)i * 3 + k] = (uint8_t)(hi > lo ? lround((s - lo) / (hi - lo) * 255) : 0);
        }
    }
}
