/* matmul tile configurations: what each device class gets by default, what is valid on a device,
 * and the candidates the autotuner (matmul_tune.c) times. Types in matmul.h.
 *
 * Where the numbers come from. Only lavapipe (llvmpipe, 8 lanes of 256-bit SIMD, 2 threads) has been
 * measured: its direct-kernel tile was chosen by timing, and bench/README.md ("Autotuning") has
 * the tuner's figures. Everything said about GPUs below is reasoning, not measurement, and says so;
 * the autotuner (VKVIT_TUNE=1, vkvit-bench --tune) is how a GPU gets measured numbers. */
#include "matmul.h"

#include <stdio.h>
#include <string.h>

const char *const matmul_kernel_names[MATMUL_KERNELS] = {"tiled", "direct", "coopmat"};

const char *matmul_vendor_name(matmul_vendor v)
{
    static const char *const names[] = {"other", "NVIDIA", "AMD", "Intel", "Apple", "CPU"};
    return (unsigned)v < sizeof names / sizeof *names ? names[v] : "?";
}

matmul_device matmul_device_of(const vkvit_context *ctx)
{
    matmul_device d = {MATMUL_VENDOR_OTHER, ctx->info.subgroup_size, ctx->info.max_shared_memory,
                       ctx->max_workgroup_invocations, {0, 0, 0}};
    switch (ctx->info.vendor_id) {
    case 0x10DE: d.vendor = MATMUL_VENDOR_NVIDIA; break;
    case 0x1002: d.vendor = MATMUL_VENDOR_AMD; break;
    case 0x8086: d.vendor = MATMUL_VENDOR_INTEL; break;
    case 0x106B: d.vendor = MATMUL_VENDOR_APPLE; break;
    default: break;
    }
    if (ctx->info.type == VKVIT_DEVICE_CPU)
        d.vendor = MATMUL_VENDOR_CPU;
    vk_coopmat_pick((const uint32_t(*)[3])ctx->coopmat_shapes, ctx->coopmat_shape_count, d.coopmat);
    return d;
}

/* ---- validity ----------------------------------------------------------------------------------------- */

/* Bytes of shared memory the kernel declares for `c` (shaders/matmul.comp, matmul_coopmat.comp). */
static uint64_t shared_bytes(const matmul_device *d, const matmul_config *c)
{
    uint64_t bm = (uint64_t)c->wg_y * c->tm, bn = (uint64_t)c->wg_x * c->tn;
    /* + the row statistics of a normalised X (NORM_X: vec3 xst[BM], 16 bytes a row at most), counted always */
    if (c->kernel == MATMUL_TILED)   /* xs[BK][BM + 1], ws[BK][BN + 1] floats */
        return (uint64_t)c->bk * (bm + 1 + bn + 1) * 4 + bm * 16;
    if (c->kernel == MATMUL_COOPMAT) /* X and W slabs of halves, rows padded by 8; an fp32 fragment per subgroup */
        return (bm + bn) * (c->bk + 8) * 2 + (uint64_t)c->wg_x * c->wg_y * d->coopmat[0] * d->coopmat[1] * 4 +
               bm * 16;
    return 0;
}

static const char *tiled_invalid(const matmul_device *d, const matmul_config *c)
{
    /* 128: the Vulkan minimum of maxComputeWorkGroupSize[0] and [1]; 64 accumulators: a GPU register
     * file holds them, more would spill everywhere. */
    if (c->wg_x > 128 || c->wg_y > 128 || (uint64_t)c->wg_x * c->wg_y > d->max_invocations)
        return "its workgroup exceeds the device's invocation limit";
    if (c->tm > 16 || c->tn > 16 || c->tm * c->tn > 64)
        return "its register tile is larger than 64 elements";
    if (c->bk % 4 || c->bk > 64)
        return "its k stage is not a multiple of 4 up to 64";
    return NULL;
}

static const char *direct_invalid(const matmul_device *d, const matmul_config *c)
{
    if (c->wg_x != d->subgroup_size || c->wg_y != 1)
        return "its workgroup is not one subgroup";
    if (c->wg_x != 4 && c->wg_x != 8 && c->wg_x != 16)
        return "the direct kernel needs 4, 8 or 16 lanes";
    if (c->tm % c->wg_x || c->tm > 64 || c->tn > 64 || c->tm * c->tn > 512)
        return "its tile is not a multiple of the subgroup in rows, or larger than 512 elements";
    if (c->bk != 4)
        return "the direct kernel's k step is 4";
    return NULL;
}

static const char *coopmat_invalid(const matmul_device *d, const matmul_config *c)
{
    const uint32_t *f = d->coopmat;
    if (!f[0] || !f[1] || !f[2])
        return "no fp16 x fp16 + fp32 -> fp32 shape has M, N and K dividing 32";
    if (!d->subgroup_size || (uint64_t)c->wg_x * c->wg_y * d->subgroup_size > d->max_invocations)
        return "its subgroups exceed the workgroup size limit";
    if (c->tm % f[0] || c->tn % f[1] || (c->tm / f[0]) * (c->tn / f[1]) > 16)
        return "its subgroup tile is not a grid of at most 16 fragments";
    if (c->bk % f[2] || c->bk % 8 || c->bk > 128)
        return "its k stage is not a multiple of the fragment's K and of 8, up to 128";
    return NULL;
}

const char *matmul_config_invalid(const matmul_device *d, const matmul_config *c)
{
    const char *why;
    if ((unsigned)c->kernel >= MATMUL_KERNELS)
        return "unknown kernel";
    if (!c->wg_x || !c->wg_y || !c->tm || !c->tn || !c->bk)
        return "a zero in its shape";
    why = c->kernel == MATMUL_TILED ? tiled_invalid(d, c) : c->kernel == MATMUL_DIRECT ? direct_invalid(d, c)
                                                                                       : coopmat_invalid(d, c);
    if (!why && shared_bytes(d, c) > d->max_shared)
        why = "its shared-memory tiles exceed the device limit";
    return why;
}

/* ---- defaults per device class ------------------------------------------------------------------------ */

#define LARGE_ROWS 1024u   /* batch * M from which the GPU defaults take larger blocks */

static matmul_config tiled_default(const matmul_device *d, const matmul_shape *s)
{
    /* The Vulkan minimum of maxComputeWorkGroupInvocations is 128: 16 x 8 invocations of 8 x 4,
     * the same 64 x 64 block as below. */
    if (d->max_invocations < 256)
        return (matmul_config){MATMUL_TILED, 16, 8, 8, 4, 16};
    /* A few rows (a classifier head, a handful of tokens): 32 x 128 blocks waste at most 31 rows of
     * a block instead of 63. Reasoned, not measured. */
    if (s->M <= 32)
        return (matmul_config){MATMUL_TILED, 32, 8, 4, 4, 16};
    /* NVIDIA and AMD desktop GPUs, many rows: 128 x 128 blocks with an 8 x 8 tile per invocation
     * read 16 shared-memory values per 64 FMAs instead of 8 per 16, and 64 accumulators fit their
     * 255 (NVIDIA) / 256 (AMD VGPR) registers per thread; the usual SGEMM shape on both. With few
     * rows (batch-1 ViT: 197) that would leave most of the GPU idle (2 x 18 blocks for a ViT-B QKV),
     * hence the row threshold. Reasoned, not measured (no GPU run yet). */
    bool many_rows = (uint64_t)s->batch * s->M >= LARGE_ROWS && s->N >= 512;
    if (many_rows && (d->vendor == MATMUL_VENDOR_NVIDIA || d->vendor == MATMUL_VENDOR_AMD))
        return (matmul_config){MATMUL_TILED, 16, 16, 8, 8, 8};
    /* Everything else (Intel, Apple through MoltenVK, ARM, Qualcomm, CPUs running the tiled kernel):
     * the kernel's original tile: 256 invocations of 4 x 4, 64 x 64 blocks, 16-deep k stages,
     * 8.3 KB of shared memory. 16 accumulators suit the smaller register files (Intel's 128 GRF,
     * Apple's per-thread budget at full occupancy); 8.3 KB fits every limit (Apple's is 32 KB, the
     * Vulkan minimum 16 KB). Reasoned, not measured. */
    return (matmul_config){MATMUL_TILED, 16, 16, 4, 4, 16};
}

static matmul_config direct_default(const matmul_device *d, const matmul_shape *s)
{
    /* At most 64 columns (the ResNet stem's 64-channel convolutions): 16 x 8 per lane, one 16 x 64
     * block across N instead of half an idle 16 x 128 one. Measured on lavapipe with the autotuner
     * (bench/README.md, "conv2d"): 2.7-5.5x faster on 12544x148 -> 64, 3136x576 -> 64, 3136x256 -> 64
     * and 3136x64 -> 64. */
    if (s->N <= 64)
        return (matmul_config){MATMUL_DIRECT, d->subgroup_size, 1, 16, 8, 4};
    /* Measured on lavapipe (8 lanes, AVX2): a 16 x 16 tile per lane (16 x 128 blocks) was the best of
     * 8x8 .. 64x4 on the ViT-B shapes: smaller tiles issue more loads per FMA. The autotuner found
     * 16 x 32 and 32 x 16 faster on some shapes (up to 1.2x in its interleaved runs, ~8% in separate
     * benchmark runs, within the machine's noise elsewhere), but llvmpipe compiles those 3x longer
     * at the first dispatch (6-7 s with a GELU epilogue against 2 s): bench/README.md, "Autotuning".
     * 16 rows is a multiple of 4, 8 and 16 lanes, so every subgroup size the kernel takes gets it. */
    return (matmul_config){MATMUL_DIRECT, d->subgroup_size, 1, 16, 16, 4};
}

static matmul_config coopmat_default(const matmul_device *d, const matmul_shape *s)
{
    (void)d;
    /* 2 x 2 subgroups of 32 x 32 (64 x 64 blocks) keep a batch-1 ViT-B matmul (197 rows) spread over
     * ~150 workgroups; 2 x 2 of 64 x 64 (128 x 128 blocks) halve the shared-memory traffic per
     * product once there are rows enough to fill the GPU. First guesses for NVIDIA (the only
     * vendor with VK_NV_cooperative_matrix), not measured yet (docs/coopmat.md). */
    if ((uint64_t)s->batch * s->M >= LARGE_ROWS)
        return (matmul_config){MATMUL_COOPMAT, 2, 2, 64, 64, 32};
    return (matmul_config){MATMUL_COOPMAT, 2, 2, 32, 32, 32};
}

/* ---- candidates --------------------------------------------------------------------------------------- */

/* Tiled: the blocks GPU SGEMMs use, from 32 x 32 to 128 x 128, at 64 to 256 invocations. */
static const matmul_config tiled_list[] = {
    {MATMUL_TILED, 16, 16, 4, 4, 16},   /* 64 x 64, 256 invocations */
    {MATMUL_TILED, 16, 16, 4, 4, 32},   /* the same, half the barriers */
    {MATMUL_TILED, 16, 8, 8, 4, 16},    /* 64 x 64, 128 invocations */
    {MATMUL_TILED, 8, 8, 8, 8, 16},     /* 64 x 64, 64 invocations of 8 x 8 */
    {MATMUL_TILED, 16, 16, 8, 4, 16},   /* 128 x 64 */
    {MATMUL_TILED, 16, 16, 4, 8, 16},   /* 64 x 128 */
    {MATMUL_TILED, 16, 16, 8, 8, 8},    /* 128 x 128 */
    {MATMUL_TILED, 32, 8, 4, 4, 16},    /* 32 x 128: few rows */
    {MATMUL_TILED, 8, 8, 4, 4, 16},     /* 32 x 32: many small blocks */
};

/* Coopmat: 2 x 2 subgroups with 32- and 64-wide subgroup tiles, 4 x 2 / 2 x 4 subgroups, deeper k. */
static const matmul_config coopmat_list[] = {
    {MATMUL_COOPMAT, 2, 2, 32, 32, 32}, {MATMUL_COOPMAT, 2, 2, 64, 64, 32}, {MATMUL_COOPMAT, 2, 2, 32, 64, 32},
    {MATMUL_COOPMAT, 2, 2, 64, 32, 32}, {MATMUL_COOPMAT, 4, 2, 32, 32, 32}, {MATMUL_COOPMAT, 2, 4, 32, 32, 32},
    {MATMUL_COOPMAT, 2, 2, 32, 32, 64}, {MATMUL_COOPMAT, 2, 2, 64, 64, 64},
};

/* Direct: rows x columns per lane around the default; rows rounded up to the subgroup. Measured on
 * lavapipe (bench/README.md, "Autotuning"): 8 x 8 and 32 x 8 never won a ViT-B shape and were
 * dropped; 32 x 32 (1,024 accumulators) would spill. */
static uint32_t direct_list(const matmul_device *d, matmul_config *out)
{
    static const uint32_t tiles[][2] = {{16, 16}, {8, 16}, {16, 8}, {8, 32}, {16, 32}, {32, 16}};
    uint32_t n = 0, sg = d->subgroup_size ? d->subgroup_size : 1;
    for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++)
        out[n++] = (matmul_config){MATMUL_DIRECT, sg, 1, (tiles[i][0] + sg - 1) / sg * sg, tiles[i][1], 4};
    return n;
}

static bool same_config(const matmul_config *a, const matmul_config *b)
{
    return a->kernel == b->kernel && a->wg_x == b->wg_x && a->wg_y == b->wg_y && a->tm == b->tm &&
           a->tn == b->tn && a->bk == b->bk;
}

/* The fixed list of `kernel` (not filtered). */
static uint32_t kernel_list(const matmul_device *d, matmul_kernel kernel, matmul_config *out)
{
    const matmul_config *list = kernel == MATMUL_TILED ? tiled_list : coopmat_list;
    size_t n = kernel == MATMUL_TILED ? sizeof tiled_list / sizeof *tiled_list
                                      : sizeof coopmat_list / sizeof *coopmat_list;
    if (kernel == MATMUL_DIRECT)
        return direct_list(d, out);
    memcpy(out, list, n * sizeof *list);
    return (uint32_t)n;
}

matmul_config matmul_default_config(const matmul_device *d, matmul_kernel kernel, const matmul_shape *s)
{
    matmul_config c = kernel == MATMUL_DIRECT ? direct_default(d, s)
                      : kernel == MATMUL_COOPMAT ? coopmat_default(d, s)
                                                 : tiled_default(d, s);
    if (!matmul_config_invalid(d, &c))
        return c;
    /* The class's choice does not fit this device's limits: the first of the list that does. */
    matmul_config list[MATMUL_MAX_CANDIDATES];
    uint32_t n = kernel_list(d, kernel, list);
    for (uint32_t i = 0; i < n; i++)
        if (!matmul_config_invalid(d, &list[i]))
            return list[i];
    c.wg_x = 0;
    return c;
}

const char *matmul_kernel_unusable(const matmul_device *d, matmul_kernel kernel)
{
    matmul_config list[MATMUL_MAX_CANDIDATES];
    uint32_t n = kernel_list(d, kernel, list);
    for (uint32_t i = 0; i < n; i++)
        if (!matmul_config_invalid(d, &list[i]))
            return NULL;
    return n ? matmul_config_invalid(d, &list[0]) : "no configuration";
}

uint32_t matmul_candidates(const matmul_device *d, matmul_kernel kernel, const matmul_shape *s,
                           matmul_config *out, uint32_t cap)
{
    matmul_config list[MATMUL_MAX_CANDIDATES];
    uint32_t n = kernel_list(d, kernel, list), k = 0;
    matmul_config def = matmul_default_config(d, kernel, s);
    if (def.wg_x && k < cap)
        out[k++] = def;
    for (uint32_t i = 0; i < n && k < cap; i++) {
        bool dup = false;
        for (uint32_t j = 0; j < k && !dup; j++)
            dup = same_config(&list[i], &out[j]);
        if (!dup && !matmul_config_invalid(d, &list[i]))
            out[k++] = list[i];
    }
    return k;
}

void matmul_config_string(const matmul_config *c, char *buf, size_t size)
{
    snprintf(buf, size, "wg %ux%u tile %ux%u bk %u (block %ux%u)", c->wg_x, c->wg_y, c->tm, c->tn, c->bk,
             c->wg_y * c->tm, c->wg_x * c->tn);
}
