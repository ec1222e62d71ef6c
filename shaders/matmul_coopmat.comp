#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : require
// Y[b] = epilogue(X[b] . W^T + bias) on tensor cores: the fp16 drop-in for matmul.comp's -DFP16=1
// kernels (same bindings, push constants, epilogues; semantics in src/ops/ops.h, op_matmul).
//   X: [batch][M][K] fp16  W: [N][K] fp16 (PyTorch Linear layout, per batch when w_stride != 0)
//   bias: [N] fp16  R, Y: [batch][M][N] fp16; R may alias Y (in-place residual add)
// Products are accumulated in fp32 cooperative matrices; bias, GELU and the residual are applied in
// fp32 and Y is rounded to fp16 once, as in the scalar kernels.
//
// A workgroup is WARPS_M x WARPS_N subgroups and computes a BM x BN block of Y; each subgroup owns an
// FM x FN grid of CM_M x CM_N accumulator fragments. Per BK-deep k stage the whole workgroup copies
// the X and W slabs into shared memory (rows past M or N clamped, k past K zero), so every shape and
// every buffer alignment is legal: the cooperative loads only ever read shared memory, whose rows are
// padded to a multiple of 8 halves (coopMatLoad wants rows and starts 16-byte aligned). W is [N][K]
// row-major, which is exactly B = W^T (K x N) stored column-major: B loads with colMajor = true.
// The epilogue needs (row, column) per element, which a fragment does not expose, so each subgroup
// stores one fragment at a time to its own fp32 scratch in shared memory and its lanes finish the
// elements from there with bounds checks.
//
// Variants (shaders/meson.build): -DCOOPMAT_NV=1 (GL_NV_cooperative_matrix, which Debian 12's glslang
// 12 compiles) and -DCOOPMAT_KHR=1, the GL_KHR_cooperative_matrix spelling of the same kernel, built
// where glslang >= 13 compiles it (docs/coopmat.md). The macros below are the only difference.
// glslang marks every cooperative-matrix shader as using the Vulkan memory model, so the device needs
// vulkanMemoryModel enabled (src/vk/context.c does it). The host sizes the workgroup as
// WARPS_M * WARPS_N subgroups of the device's subgroup size, pinned where the device can pin it, so
// gl_SubgroupID is the warp index.
//
// NORM_X (spec constant; the fused LayerNorm, docs/fusion.md): Y = epi(LN0(X) . W^T + b), LN0 a
// LayerNorm without affine (gamma, beta folded into W, b at load). Before the main loop the
// workgroup computes the statistics of its BM rows over the full K (matmul_common.glsl, row_stats;
// one row per invocation) into shared memory; every X element is normalised in fp32 (norm_x) as it
// is staged and rounded to fp16 there, as the unfused LayerNorm's fp16 output was. Clamped rows use
// the statistics of the row they read (row M-1: finite); k past K stays 0.
#define FP16 1   // fp16 only: tensor cores multiply halves
#include "types.glsl"
#include "common.glsl"

#if defined(COOPMAT_NV) && COOPMAT_NV
#extension GL_NV_cooperative_matrix : require
#define CM_A fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_K>
#define CM_B fcoopmatNV<16, gl_ScopeSubgroup, CM_K, CM_N>
#define CM_ACC fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N>
#define CM_LOAD_ROWS(m, buf, at, stride) coopMatLoadNV(m, buf, at, stride, false)
#define CM_LOAD_COLS(m, buf, at, stride) coopMatLoadNV(m, buf, at, stride, true)
#define CM_STORE_ROWS(m, buf, at, stride) coopMatStoreNV(m, buf, at, stride, false)
#define CM_MUL_ADD(a, b, c) coopMatMulAddNV(a, b, c)
#elif defined(COOPMAT_KHR) && COOPMAT_KHR
#extension GL_KHR_cooperative_matrix : require
#define CM_A coopmat<float16_t, gl_ScopeSubgroup, CM_M, CM_K, gl_MatrixUseA>
#define CM_B coopmat<float16_t, gl_ScopeSubgroup, CM_K, CM_N, gl_MatrixUseB>
#define CM_ACC coopmat<float, gl_ScopeSubgroup, CM_M, CM_N, gl_MatrixUseAccumulator>
#define CM_LOAD_ROWS(m, buf, at, stride) coopMatLoad(m, buf, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define CM_LOAD_COLS(m, buf, at, stride) coopMatLoad(m, buf, at, stride, gl_CooperativeMatrixLayoutColumnMajor)
#define CM_STORE_ROWS(m, buf, at, stride) coopMatStore(m, buf, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define CM_MUL_ADD(a, b, c) coopMatMulAdd(a, b, c)
#else
#error "matmul_coopmat.comp: define COOPMAT_NV or COOPMAT_KHR"
#endif

layout(constant_id = 0) const uint WG = 128;      // invocations: WARPS_M * WARPS_N * subgroup size
layout(constant_id = 1) const uint WARPS_M = 2;   // subgroups along M
layout(constant_id = 2) const uint WARPS_N = 2;   // subgroups along N
layout(constant_id = 3) const uint FM = 2;        // fragments per subgroup along M
layout(constant_id = 4) const uint FN = 2;        // fragments per subgroup along N
layout(constant_id = 5) const uint CM_M = 16;     // the cooperative-matrix shape: A is CM_M x CM_K,
layout(constant_id = 6) const uint CM_N = 16;     // B CM_K x CM_N, the accumulator CM_M x CM_N
layout(constant_id = 7) const uint CM_K = 16;
layout(constant_id = 8) const uint BK = 32;       // k per shared-memory stage: a multiple of CM_K and of 8
layout(constant_id = 9) const uint VEC = 4;       // 4: f16vec4 global loads; 1: guarded scalar loads
layout(constant_id = 10) const uint EPILOGUE = 0; // MATMUL_EPI_* (matmul_common.glsl)
layout(constant_id = 11) const uint HAS_BIAS = 0;
layout(constant_id = 12) const uint NORM_X = 0;  // 1: X normalised per row as staged (above)
layout(local_size_x_id = 0) in;

#include "matmul_common.glsl"

const uint BM = WARPS_M * FM * CM_M, BN = WARPS_N * FN * CM_N;
const uint LDS = BK + 8u;   // halves per staged row: 16-byte multiple, and rows start on other banks
const uint FRAG = CM_M * CM_N;
shared float16_t xs[BM * LDS];             // xs[m * LDS + k]: A, row-major
shared float16_t ws[BN * LDS];             // ws[n * LDS + k]: B = W^T, column-major
shared float cs[WARPS_M * WARPS_N * FRAG]; // one accumulator fragment per subgroup, row-major
shared vec3 xst[NORM_X != 0 ? BM : 1];     // NORM_X: the statistics of the block's rows

// Elements k..k+3 (k a multiple of 4) of the row starting at element `row`, zero past K. Indices
// are clamped, so the load is in bounds either way.
#define DEFINE_LOAD(name, scalars, vec4s)                                   \
    f16vec4 name(uint row, uint k)                                          \
    {                                                                       \
        if (VEC == 4) {                                                     \
            f16vec4 v = vec4s[(row + min(k, pc.K - 4u)) / 4u];              \
            return k < pc.K ? v : f16vec4(0.0);                             \
        }                                                                   \
        f16vec4 v;                                                          \
        [[unroll]] for (uint c = 0; c < 4u; c++) {                          \
            float16_t e = scalars[row + min(k + c, pc.K - 1u)];             \
            v[c] = k + c < pc.K ? e : float16_t(0.0);                       \
        }                                                                   \
        return v;                                                           \
    }
DEFINE_LOAD(load_x, x1, x4)
DEFINE_LOAD(load_w, w1, w4)

void main()
{
    uint tid = gl_LocalInvocationIndex;
    uint sg = gl_SubgroupID, wm = sg / WARPS_N, wn = sg % WARPS_N;
    uint b = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint xbase = b * pc.x_stride, wbase = b * pc.w_stride;

    if (NORM_X != 0) {   // uniform: the barrier is reached by all
        for (uint r = tid; r < BM; r += WG)
            xst[r] = row_stats(xbase + min(m0 + r, pc.M - 1u) * pc.K);
        barrier();
    }

    CM_ACC acc[FM * FN];
    [[unroll]] for (uint f = 0; f < FM * FN; f++)
        acc[f] = CM_ACC(0.0);

    // Every branch around the cooperative operations below is uniform (pc, spec constants, the
    // subgroup index): the whole subgroup takes part in each of them, as the extension requires.
    for (uint k0 = 0; k0 < pc.K; k0 += BK) {
        // Stage: item l = (row, 4-wide k chunk), chunks fastest so neighbours read neighbours.
#define STAGE(load, base, r0, rows, last_row, dst, norm)                                    \
        [[unroll]] for (uint it = 0; it < (rows * (BK / 4u) + WG - 1u) / WG; it++) {         \
            uint l = tid + it * WG, row = l / (BK / 4u), kq = (l % (BK / 4u)) * 4u;           \
            if (l < rows * (BK / 4u)) {                                                       \
                f16vec4 v = load(base + min(r0 + row, last_row) * pc.K, k0 + kq);             \
                if (norm)                                                                     \
                    v = f16vec4(norm_x(vec4(v), xst[row], k0 + kq));                          \
                [[unroll]] for (uint c = 0; c < 4u; c++)                                      \
                    dst[row * LDS + kq + c] = v[c];                                           \
            }                                                                                 \
        }
        STAGE(load_x, xbase, m0, BM, pc.M - 1u, xs, NORM_X != 0)
        STAGE(load_w, wbase, n0, BN, pc.N - 1u, ws, false)
#undef STAGE
        barrier();
        [[unroll]] for (uint kk = 0; kk < BK; kk += CM_K) {
            CM_A a[FM];
            CM_B bt[FN];
            [[unroll]] for (uint i = 0; i < FM; i++)
                CM_LOAD_ROWS(a[i], xs, ((wm * FM + i) * CM_M) * LDS + kk, LDS);
            [[unroll]] for (uint j = 0; j < FN; j++)
                CM_LOAD_COLS(bt[j], ws, ((wn * FN + j) * CM_N) * LDS + kk, LDS);
            [[unroll]] for (uint i = 0; i < FM; i++)
                [[unroll]] for (uint j = 0; j < FN; j++)
                    acc[i * FN + j] = CM_MUL_ADD(a[i], bt[j], acc[i * FN + j]);
        }
        barrier();
    }

    // Epilogue, fragment by fragment through this subgroup's scratch: lane e of the fragment's
    // elements goes to row e / CM_N, column e % CM_N (consecutive lanes, consecutive columns).
    uint ybase = b * pc.y_stride, scratch = sg * FRAG;
    [[unroll]] for (uint i = 0; i < FM; i++) {
        [[unroll]] for (uint j = 0; j < FN; j++) {
            CM_STORE_ROWS(acc[i * FN + j], cs, scratch, CM_N);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            uint fm = m0 + (wm * FM + i) * CM_M, fn = n0 + (wn * FN + j) * CM_N;
            for (uint e = gl_SubgroupInvocationID; e < FRAG; e += gl_SubgroupSize) {
                uint m = fm + e / CM_N, n = fn + e % CM_N;
                if (m < pc.M && n < pc.N)
                    store(ybase, m, n, cs[scratch + e] + bias_at(n));
            }
            subgroupBarrier();   // every lane has read the scratch before the next fragment lands
        }
    }
}
