/* The first three principal components of a set of feature vectors (the patch tokens of an image), for the
 * viewer's RGB picture of what the model sees (docs/embeddings.md, "The viewer"). Plain C on the host, in double;
 * no Vulkan. */
#ifndef VIEWER_PCA_H
#define VIEWER_PCA_H

#include <stdint.h>

#define VIEWER_PCA_K 3

/* The principal components of the n rows of x ([n][d] floats, n >= 2): the mean row is removed, then the
 * top VIEWER_PCA_K eigenvectors of the covariance XᵀX are found by orthogonal iteration with Rayleigh-Ritz
 * (products with X and Xᵀ only; the d x d matrix is never formed), largest eigenvalue first, each with its
 * largest-magnitude element made positive (a principal component's sign is arbitrary). Writes components
 * [K][d] (unit vectors; may be NULL), scores [n][K] (each centred row's projections) and explained[K] (each
 * component's share of the total variance, may be NULL). Returns 0, or -1 for n < 2, d < K or no memory. */
int viewer_pca(const float *x, uint32_t n, uint32_t d, double *components, double *scores, double *explained);

/* scores [n][K] -> RGB8 [n][3]: component k min-max scaled over the n rows to 0..255 in channel k (a
 * constant component gives 0), as DINOv2's published pictures do. */
void viewer_pca_rgb(const double *scores, uint32_t n, uint8_t *rgb);

#endif
