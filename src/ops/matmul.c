/* Y[b] = epilogue(X[b] . W^T + bias): shapes, path choice, dispatch (semantics in ops.h).
 *
 * Two kernels from shaders/matmul.comp:
 *   tiled   shared-memory tiles + register blocking; every GPU.
 *   direct  no shared memory: one subgroup per workgroup, big register tile, rows of X shared with
 *           subgroupBroadcast. Chosen on CPU devices (lavapipe), where it is ~10x faster than the
 *           tiled kernel (bench/ has the figures); needs a subgroup of 4, 8 or 16 lanes with ballot.
 * And, for dtype OP_F16 only, from shaders/matmul_coopmat.comp:
 *   coopmat tensor cores through VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix (one source,
 *           two spellings; ctx->coopmat_ext says which the context enabled): fp16 fragments staged
 *           through shared memory, fp32 accumulators, the same epilogues. Used when the context found
 *           a usable fp16 x fp16 + fp32 -> fp32 shape (ctx->coopmat_shapes; context.c enables what it
 *           needs) and no driver quirk turned it off. The KHR kernel runs in CI on Mesa 26's lavapipe
 *           (tools/debian13.sh); neither has run on GPU hardware yet (docs/coopmat.md).
 * The environment variable VKVIT_MATMUL=tiled|direct|coopmat, read when the context is created,
 * forces one (tests and benchmarks use it); unset or "auto" picks coopmat for fp16 where it can run
 * on a GPU, else by device type (CPU devices emulate cooperative matrices: there it runs only when
 * forced). A forced kernel
 * that cannot run here is VKVIT_ERROR_UNSUPPORTED, never a silent substitute, except that "coopmat"
 * leaves fp32 matmuls (which it has no kernel for) to the automatic choice.
 *
 * Each kernel's tile configuration (workgroup shape, tile per invocation or subgroup, k stage: its
 * specialization constants) is chosen per device class and shape by matmul_config.c, or is the
 * winner the autotuner (matmul_tune.c; VKVIT_TUNE=1, vkvit-bench --tune) saved for the shape.
 *
 * dtype OP_F16: X, W, bias, R and Y hold fp16 (the -DFP16=1 variants of both kernels); products are
 * accumulated and the epilogue applied in fp32, rounded to fp16 once at the store. Needs ctx->fp16.
 *
 * norm_x (the fused LayerNorm, docs/fusion.md): every kernel's spec constant NORM_X, the epsilon in the push
 * constants; the kernels compute each row's statistics in a prologue and normalise X as they load it. */
#include "matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "matmul_coopmat_nv_f16.spv.h"
#if VKVIT_HAVE_COOPMAT_KHR
#include "matmul_coopmat_khr_f16.spv.h"
#endif
#include "matmul_direct_f16.spv.h"
#include "matmul_direct_f32.spv.h"
#include "matmul_f16.spv.h"
#include "matmul_f32.spv.h"
#include "cost.h"

/* Bindings: 0 X, 1 W, 2 bias, 3 R, 4 Y (shaders/matmul.comp). */
typedef struct matmul_push {
    uint32_t M, N, K;
    uint32_t x_stride, w_stride, y_stride;   /* elements */
    float eps;                               /* norm_x: the LayerNorm epsilon */
} matmul_push;

/* Every matmul shader: per dtype and kernel, the coopmat kernel once per extension spelling. */
typedef struct matmul_shader {
    op_dtype dtype;
    matmul_kernel kernel;
    vkvit_coopmat_extension ext;     /* VKVIT_COOPMAT_NONE but for the coopmat kernel */
    vk_shader shader;
} matmul_shader;

#define SHADER(name, spv, pin) {name, spv, sizeof spv, 5, sizeof(matmul_push), pin}
static const matmul_shader shaders[] = {
    {OP_F32, MATMUL_TILED, VKVIT_COOPMAT_NONE, SHADER("matmul", spv_matmul_f32, false)},
    {OP_F32, MATMUL_DIRECT, VKVIT_COOPMAT_NONE, SHADER("matmul_direct", spv_matmul_direct_f32, false)},
    {OP_F16, MATMUL_TILED, VKVIT_COOPMAT_NONE, SHADER("matmul_f16", spv_matmul_f16, false)},
    {OP_F16, MATMUL_DIRECT, VKVIT_COOPMAT_NONE, SHADER("matmul_direct_f16", spv_matmul_direct_f16, false)},
    {OP_F16, MATMUL_COOPMAT, VKVIT_COOPMAT_NV, SHADER("matmul_coopmat_nv_f16", spv_matmul_coopmat_nv_f16, true)},
#if VKVIT_HAVE_COOPMAT_KHR
    {OP_F16, MATMUL_COOPMAT, VKVIT_COOPMAT_KHR, SHADER("matmul_coopmat_khr_f16", spv_matmul_coopmat_khr_f16, true)},
#endif
};
#undef SHADER

/* The shader of kernel k for dtype: the coopmat kernel in the spelling of the context's extension.
 * NULL for a combination that has none (fp32 coopmat), which op_matmul_with refuses first. */
static const vk_shader *shader_for(const vkvit_context *ctx, op_dtype dtype, matmul_kernel k)
{
    const vkvit_coopmat_extension ext = k == MATMUL_COOPMAT ? ctx->coopmat_ext : VKVIT_COOPMAT_NONE;
    for (size_t i = 0; i < sizeof shaders / sizeof *shaders; i++)
        if (shaders[i].dtype == dtype && shaders[i].kernel == k && shaders[i].ext == ext)
            return &shaders[i].shader;
    return NULL;
}

static bool direct_supported(const vkvit_context *ctx)
{
    const uint32_t need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT;
    uint32_t sg = ctx->info.subgroup_size;
    return (ctx->info.subgroup_ops & need) == need && (sg == 4 || sg == 8 || sg == 16) &&
           sg <= ctx->max_workgroup_invocations && !(ctx->paths_off & VK_PATH_SUBGROUP);
}

/* NULL when the coopmat kernel can run on this context, else why not: it needs a fragment shape and
 * room for one of its configurations (matmul_config.c). */
static const char *coopmat_unusable(const vkvit_context *ctx)
{
    if (ctx->coopmat_off)
        return ctx->coopmat_off;
    matmul_device d = matmul_device_of(ctx);
    return matmul_kernel_unusable(&d, MATMUL_COOPMAT);
}

vkvit_status matmul_pick_kernel(const vkvit_context *ctx, op_dtype dtype, matmul_kernel *out)
{
    const char *force = ctx->matmul_force;   /* VKVIT_MATMUL, read when the context was made */
    const char *no_coopmat = dtype == OP_F16 ? coopmat_unusable(ctx) : "it has no fp32 kernel";
    const bool cpu = ctx->info.type == VKVIT_DEVICE_CPU;
    if (!force || !*force || strcmp(force, "auto") == 0 || (strcmp(force, "coopmat") == 0 && dtype != OP_F16)) {
        /* A CPU device's cooperative matrices are emulated: on Mesa 26's lavapipe the coopmat kernel is
         * ~5x slower than the direct one (bench/README.md), so there it only runs when forced. */
        *out = !no_coopmat && !cpu ? MATMUL_COOPMAT : cpu && direct_supported(ctx) ? MATMUL_DIRECT : MATMUL_TILED;
    } else if (strcmp(force, "coopmat") == 0) {
        if (no_coopmat)
            return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: VKVIT_MATMUL=coopmat, but the cooperative-matrix "
                        "kernel cannot run on '%s': %s", ctx->info.name, no_coopmat);
        *out = MATMUL_COOPMAT;
    } else if (strcmp(force, "direct") == 0) {
        if (!direct_supported(ctx))
            return fail(VKVIT_ERROR_UNSUPPORTED,
                        "matmul: VKVIT_MATMUL=direct needs subgroups of 4, 8 or 16 lanes with ballot "
                        "(device has %u lanes)", ctx->info.subgroup_size);
        *out = MATMUL_DIRECT;
    } else if (strcmp(force, "tiled") == 0) {
        *out = MATMUL_TILED;
    } else {
        return fail(VKVIT_ERROR_INVALID_ARGUMENT,
                    "matmul: VKVIT_MATMUL='%s' is not one of auto, tiled, direct, coopmat", force);
    }
    return VKVIT_OK;
}

const char *op_matmul_kernel(const vkvit_context *ctx, op_dtype dtype)
{
    matmul_kernel k = MATMUL_TILED; /* set on success; initialised for -O3's maybe-uninitialized */
    return matmul_pick_kernel(ctx, dtype, &k) ? NULL : matmul_kernel_names[k];
}

/* A span must hold `elems` elements of `esize` bytes, and the shader indexes it with 32-bit element
 * offsets. */
static vkvit_status check_span(const char *what, vk_span s, uint64_t elems, uint64_t esize)
{
    if (elems > UINT32_MAX)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: %s needs %llu elements, more than 32-bit "
                    "indexing allows", what, (unsigned long long)elems);
    if (s.size < elems * esize)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: %s span is %llu bytes, the shape needs %llu",
                    what, (unsigned long long)s.size, (unsigned long long)(elems * esize));
    return VKVIT_OK;
}

/* Shapes, strides and spans; fills the push constants (strides resolved: 0 = packed, W shared). */
static vkvit_status validate(const vkvit_context *ctx, const matmul_args *a, matmul_push *p)
{
    vkvit_status s = op_check_dtype(ctx, a->dtype, "matmul");
    if (s)
        return s;
    const uint64_t es = a->dtype == OP_F16 ? 2 : 4;   /* bytes per element */
    if (!a->batch || !a->M || !a->N || !a->K)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: zero dimension (batch %u, M %u, N %u, K %u)",
                    a->batch, a->M, a->N, a->K);
    if ((unsigned)a->epilogue > MATMUL_EPI_QUICK_GELU)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: unknown epilogue %d", (int)a->epilogue);
    if (a->norm_x && !(a->norm_eps > 0.0f && isfinite(a->norm_eps)))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: normalised input with eps %g: it must be finite and > 0",
                    (double)a->norm_eps);
    bool residual = a->epilogue == MATMUL_EPI_RESIDUAL;
    if (residual != (a->residual.size > 0))
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, residual ? "matmul: residual epilogue without a residual span"
                                                           : "matmul: residual span given but the epilogue is not RESIDUAL");
    uint64_t mk = (uint64_t)a->M * a->K, nk = (uint64_t)a->N * a->K, mn = (uint64_t)a->M * a->N;
    uint64_t xs = a->x_stride ? a->x_stride : mk, ys = a->y_stride ? a->y_stride : mn, ws = a->w_stride;
    if (a->batch > 1 && ys < mn)
        return fail(VKVIT_ERROR_INVALID_ARGUMENT, "matmul: y_stride %u is less than M*N = %llu: batches "
                    "would overlap", a->y_stride, (unsigned long long)mn);
    uint64_t last = a->batch - 1;
    if ((s = check_span("x", a->x, last * xs + mk, es)) || (s = check_span("w", a->w, last * ws + nk, es)) ||
        (s = check_span("y", a->y, last * ys + mn, es)) ||
        (a->bias.size && (s = check_span("bias", a->bias, a->N, es))) ||
        (residual && (s = check_span("residual", a->residual, last * ys + mn, es))))
        return s;
    *p = (matmul_push){a->M, a->N, a->K, (uint32_t)xs, (uint32_t)ws, (uint32_t)ys, a->norm_x ? a->norm_eps : 0.0f};
    return VKVIT_OK;
}

/* The specialization constants of `c` (shaders/matmul.comp, shaders/matmul_coopmat.comp). */
static uint32_t spec_constants(const vkvit_context *ctx, const matmul_args *a, const matmul_config *c, bool vec4,
                               uint32_t *spec)
{
    const uint32_t v4 = vec4 ? 4u : 1u, epi = (uint32_t)a->epilogue, bias = a->bias.size ? 1u : 0u;
    const uint32_t norm = a->norm_x ? 1u : 0u;
    if (c->kernel == MATMUL_COOPMAT) {
        const uint32_t *f = matmul_device_of(ctx).coopmat;
        const uint32_t v[] = {c->wg_x * c->wg_y * ctx->info.subgroup_size, c->wg_y, c->wg_x, c->tm / f[0],
                              c->tn / f[1], f[0], f[1], f[2], c->bk, v4, epi, bias, norm};
        memcpy(spec, v, sizeof v);
        return sizeof v / sizeof *v;
    }
    const uint32_t v[] = {c->wg_x, c->wg_y, c->tm, c->tn, v4, c->bk, epi, bias, norm};
    memcpy(spec, v, sizeof v);
    return sizeof v / sizeof *v;
}

/* The roofline account of one dispatch with configuration `c` (its BM x BN tile, workgroup and shared
 * memory as shaders/matmul.comp and matmul_coopmat.comp declare them). */
static vk_cost matmul_cost(const vkvit_context *ctx, const matmul_args *a, const matmul_config *c)
{
    const uint32_t bm = c->wg_y * c->tm, bn = c->wg_x * c->tn, es = a->dtype == OP_F16 ? 2 : 4;
    vk_cost k = cost_matmul(a->batch, a->M, a->N, a->K, es, a->bias.size > 0, a->epilogue == MATMUL_EPI_RESIDUAL,
                            a->w_stride != 0, bm, bn);
    k.matrix = c->kernel == MATMUL_COOPMAT;
    k.shape[0] = a->M, k.shape[1] = a->N, k.shape[2] = a->K;
    if (a->norm_x) {
        /* The fused LayerNorm: every workgroup reads its X block twice more for the row statistics (sum, then
         * squared deviations: 4 flops per element) and normalises each element as it loads it (3 flops); the
         * bytes it must move are unchanged (docs/fusion.md). */
        const double blocks = (double)a->batch * a->M * a->K * div_up(a->N, bn);
        k.flops += 7.0 * blocks;
        k.tiled_bytes += 2.0 * blocks * es;
    }
    if (c->kernel == MATMUL_COOPMAT) {
        const uint32_t *f = matmul_device_of(ctx).coopmat;
        k.wg_size = c->wg_x * c->wg_y * ctx->info.subgroup_size;
        k.shared_bytes = 2 * (bm + bn) * (c->bk + 8) + 4 * c->wg_x * c->wg_y * f[0] * f[1];
    } else {
        k.wg_size = c->wg_x * c->wg_y;
        k.shared_bytes = c->kernel == MATMUL_TILED ? 4 * c->bk * (bm + 1 + bn + 1) : 0;
    }
    return k;
}

/* Records the validated matmul with configuration `c`. */
static vkvit_status record(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a, const matmul_push *push,
                           const matmul_config *c, bool vec4)
{
    uint32_t spec[VK_MAX_SPEC], n_spec = spec_constants(ctx, a, c, vec4, spec);
    uint32_t bm = c->wg_y * c->tm, bn = c->wg_x * c->tn;
    uint32_t groups[3] = {div_up(a->N, bn), div_up(a->M, bm), a->batch};
    for (int i = 0; i < 3; i++)
        if (groups[i] > ctx->max_workgroup_count[i])
            return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: %u workgroups along %c exceed the device limit "
                        "%u (batch %u, M %u, N %u)", groups[i], "xyz"[i], ctx->max_workgroup_count[i],
                        a->batch, a->M, a->N);
    const vk_shader *sh = shader_for(ctx, a->dtype, c->kernel);
    if (!sh)
        return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: this build has no %s %s kernel for '%s'",
                    matmul_kernel_names[c->kernel], a->dtype == OP_F16 ? "fp16" : "fp32", ctx->info.name);
    vk_pipeline *pipe;
    vkvit_status s = vk_pipeline_get(ctx, sh, spec, n_spec, &pipe);
    if (s)
        return s;
    vk_cost cost = matmul_cost(ctx, a, c);
    /* Absent optional inputs still need a valid binding; the spec constants say not to read them. */
    vk_dispatch d = {
        .pipe = pipe,
        .bufs = {a->x, a->w, a->bias.size ? a->bias : a->x, a->residual.size ? a->residual : a->y, a->y},
        .push = push,
        .groups = {groups[0], groups[1], groups[2]},
        .cost = &cost,
    };
    if ((s = vk_cmd_dispatch(cmd, &d)))
        return s;
    vk_cmd_barrier(cmd);
    return VKVIT_OK;
}

/* vec4 loads need every row and batch start on a multiple of 4 elements, and the bound X and W on a
 * multiple of one vec4 (16 bytes fp32, 8 bytes fp16): the descriptor offset alignment the device
 * asks for may be smaller. */
static bool vec4_loads(const matmul_args *a, const matmul_push *p)
{
    const VkDeviceSize vbytes = a->dtype == OP_F16 ? 8 : 16;
    return a->K % 4 == 0 && p->x_stride % 4 == 0 && p->w_stride % 4 == 0 &&
           (a->dtype != OP_F16 || (a->x.offset % vbytes == 0 && a->w.offset % vbytes == 0));
}

vkvit_status matmul_check(const vkvit_context *ctx, const matmul_args *a, matmul_kernel *kernel, bool *vec4)
{
    matmul_push push = {0};
    vkvit_status s = validate(ctx, a, &push);
    if (s || (s = matmul_pick_kernel(ctx, a->dtype, kernel)))
        return s;
    *vec4 = vec4_loads(a, &push);
    return VKVIT_OK;
}

vkvit_status op_matmul_with(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a, const matmul_config *c,
                            bool scalar_loads)
{
    matmul_push push = {0};
    vkvit_status s = validate(ctx, a, &push);
    if (s)
        return s;
    const char *why = (unsigned)c->kernel >= MATMUL_KERNELS ? "unknown kernel"
                      : c->kernel == MATMUL_DIRECT && !direct_supported(ctx)
                          ? "the direct kernel needs subgroups of 4, 8 or 16 lanes with ballot"
                      : c->kernel == MATMUL_COOPMAT ? (a->dtype == OP_F16 ? coopmat_unusable(ctx) : "it has no fp32 kernel")
                                                    : NULL;
    matmul_device d = matmul_device_of(ctx);
    if (why || (why = matmul_config_invalid(&d, c))) {
        char text[96];
        matmul_config_string(c, text, sizeof text);
        return fail(VKVIT_ERROR_UNSUPPORTED, "matmul: %s %s cannot run on '%s': %s",
                    (unsigned)c->kernel < MATMUL_KERNELS ? matmul_kernel_names[c->kernel] : "?", text,
                    ctx->info.name, why);
    }
    return record(cmd, ctx, a, &push, c, vec4_loads(a, &push) && !scalar_loads);
}
