#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Y[b] = epilogue(X[b] . W^T + bias)     (semantics and layouts: src/ops/ops.h, op_matmul)
//   X: [batch][M][K]  W: [N][K] (PyTorch Linear layout, per batch when w_stride != 0)
//   bias: [N]  R, Y: [batch][M][N]; R may alias Y (in-place residual add)
// Both operands are K-contiguous, so every load reads 4 consecutive k: one vec4 when VEC == 4 (K and
// the batch strides multiples of 4), else four guarded scalars, which makes every K legal.
//
// Two kernels come from this file (shaders/meson.build):
//   default      GPUs. Shared-memory tiles: a (WG_Y*TM) x BK slab of X and a (WG_X*TN) x BK slab of W
//                are staged k-major in shared memory, then every invocation accumulates a TM x TN
//                register tile (rows ty + i*WG_Y, columns tx + j*WG_X: conflict-free shared reads).
//   -DDIRECT=1   CPU devices (lavapipe). A workgroup is exactly one subgroup of WG_X lanes and computes
//                a TM x (WG_X*TN) block straight from global memory: no shared memory, no barriers.
//                Each lane loads TM/WG_X rows of X and hands them to the others with
//                subgroupBroadcast, and loads its own TN rows of W. On llvmpipe every non-uniform load
//                is a per-lane scalar loop, so the kernel is bound by the number of load
//                instructions per FMA: (TN + TM/WG_X) vec4 loads per 4*TM*TN FMAs. A shared-memory
//                copy would only add loads and barriers (coroutine switches) there.
// Out-of-range rows/columns are clamped on load (always in bounds, branch-free) and skipped on store;
// k past K reads as 0.
//
// NORM_X (spec constant; the fused LayerNorm, docs/fusion.md): X is normalised as it is loaded,
// Y = epi(LN0(X) . W^T + b) with LN0 a LayerNorm without affine (gamma, beta folded into W, b at
// load). The row statistics (matmul_common.glsl, row_stats) come first, over the full K: the tiled
// kernel computes them for its BM rows into shared memory, one row per invocation; in the direct
// kernel each lane computes them for the TMS rows it loads and keeps them in registers. Every X
// element is then normalised in fp32 (norm_x) before it is staged or broadcast; the staged tiles
// are fp32, so fp16 inputs are not rounded again. Clamped rows use the statistics of the row they
// read (row M-1, a real row: finite); k past K stays 0.
#ifdef DIRECT
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#endif
// X, W, bias, R and Y are of types.glsl's storage type (fp16 with -DFP16=1: f16vec4 loads when
// VEC == 4); loads convert to fp32 at once, so accumulation, shared-memory tiles and the epilogue
// stay fp32.
#include "types.glsl"
#include "common.glsl"

layout(constant_id = 0) const uint WG_X = 16;   // DIRECT: the subgroup size
layout(constant_id = 1) const uint WG_Y = 16;   // DIRECT: 1
layout(constant_id = 2) const uint TM = 4;      // rows per invocation (DIRECT: multiple of WG_X)
layout(constant_id = 3) const uint TN = 4;      // columns per invocation
layout(constant_id = 4) const uint VEC = 4;     // 4: vec4 loads; 1: guarded scalar loads
layout(constant_id = 5) const uint BK = 16;     // k per shared-memory stage (multiple of 4)
layout(constant_id = 6) const uint EPILOGUE = 0;  // MATMUL_EPI_* (matmul_common.glsl)
layout(constant_id = 7) const uint HAS_BIAS = 0;
layout(constant_id = 8) const uint NORM_X = 0;  // 1: X normalised per row as loaded (above)
layout(local_size_x_id = 0, local_size_y_id = 1) in;

#include "matmul_common.glsl"

// load_x / load_w: elements k..k+3 (k a multiple of 4) of the row starting at element `row`.
// guard: zero past K (needed when K is not a multiple of the k step); indices are clamped, so the
// load stays in bounds either way.
#define DEFINE_LOAD(name, scalars, vec4s)                                   \
    vec4 name(uint row, uint k, bool guard)                                 \
    {                                                                       \
        if (VEC == 4) {                                                     \
            vec4 v = widen(vec4s[(row + min(k, pc.K - 4u)) / 4u]);          \
            return (guard && k >= pc.K) ? vec4(0.0) : v;                    \
        }                                                                   \
        vec4 v;                                                             \
        [[unroll]] for (uint c = 0; c < 4u; c++) {                          \
            float e = widen(scalars[row + min(k + c, pc.K - 1u)]);          \
            v[c] = k + c < pc.K ? e : 0.0;                                  \
        }                                                                   \
        return v;                                                           \
    }
DEFINE_LOAD(load_x, x1, x4)
DEFINE_LOAD(load_w, w1, w4)

// acc + a . b, as a chain of fma in k order.
float fma4(vec4 a, vec4 b, float acc)
{
    return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, acc))));
}

#ifdef DIRECT

const uint TMS = TM / WG_X;   // rows of X each lane loads per k step

void main()
{
    uint lane = gl_SubgroupInvocationID;
    uint b = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * TM;
    uint n0 = gl_WorkGroupID.x * (WG_X * TN) + lane;   // this lane's columns: n0 + j*WG_X

    uint xrow[TMS], wrow[TN];
    [[unroll]] for (uint q = 0; q < TMS; q++)
        xrow[q] = b * pc.x_stride + min(m0 + q * WG_X + lane, pc.M - 1u) * pc.K;
    [[unroll]] for (uint j = 0; j < TN; j++)
        wrow[j] = b * pc.w_stride + min(n0 + j * WG_X, pc.N - 1u) * pc.K;

    vec3 xst[TMS];   // NORM_X: the statistics of this lane's rows
    [[unroll]] for (uint q = 0; q < TMS; q++)
        xst[q] = NORM_X != 0 ? row_stats(xrow[q]) : vec3(0.0);

    float acc[TM][TN];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++)
            acc[i][j] = 0.0;

    for (uint k = 0; k < pc.K; k += 4u) {
        vec4 xv[TMS], wv[TN];
        [[unroll]] for (uint q = 0; q < TMS; q++) {
            xv[q] = load_x(xrow[q], k, VEC != 4);
            if (NORM_X != 0)
                xv[q] = norm_x(xv[q], xst[q], k);
        }
        [[unroll]] for (uint j = 0; j < TN; j++)
            wv[j] = load_w(wrow[j], k, VEC != 4);
        // Row q*WG_X + l of the block comes from lane l. subgroupBroadcast needs a constant lane, so
        // the lanes are spelled out up to 16; the spec-constant test folds the ones past WG_X away.
        [[unroll]] for (uint q = 0; q < TMS; q++) {
            vec4 mine = xv[q];
#define ROW_FROM_LANE(l)                                                \
            if (l < WG_X) {                                             \
                vec4 a = subgroupBroadcast(mine, l);                    \
                [[unroll]] for (uint j = 0; j < TN; j++)                \
                    acc[q * WG_X + l][j] = fma4(a, wv[j], acc[q * WG_X + l][j]); \
            }
            ROW_FROM_LANE(0) ROW_FROM_LANE(1) ROW_FROM_LANE(2) ROW_FROM_LANE(3)
            ROW_FROM_LANE(4) ROW_FROM_LANE(5) ROW_FROM_LANE(6) ROW_FROM_LANE(7)
            ROW_FROM_LANE(8) ROW_FROM_LANE(9) ROW_FROM_LANE(10) ROW_FROM_LANE(11)
            ROW_FROM_LANE(12) ROW_FROM_LANE(13) ROW_FROM_LANE(14) ROW_FROM_LANE(15)
#undef ROW_FROM_LANE
        }
    }

    uint ybase = b * pc.y_stride;
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint n = n0 + j * WG_X;
        if (n >= pc.N)
            continue;
        float bn = bias_at(n);
        [[unroll]] for (uint i = 0; i < TM; i++)
            if (m0 + i < pc.M)
                store(ybase, m0 + i, n, acc[i][j] + bn);
    }
}

#else // shared-memory tiles

const uint BM = WG_Y * TM, BN = WG_X * TN;
const uint BMP = BM + 1, BNP = BN + 1;   // padded k-major rows: fewer bank conflicts on the stores
const uint NT = WG_X * WG_Y;
shared float xs[BK * BMP];   // xs[k * BMP + m]
shared float ws[BK * BNP];   // ws[k * BNP + n]
shared vec3 xst[NORM_X != 0 ? BM : 1];   // NORM_X: the statistics of the block's rows

void main()
{
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = gl_LocalInvocationIndex;
    uint b = gl_WorkGroupID.z;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    uint xbase = b * pc.x_stride, wbase = b * pc.w_stride;

    if (NORM_X != 0) {   // uniform: the barrier is reached by all
        for (uint r = tid; r < BM; r += NT)
            xst[r] = row_stats(xbase + min(m0 + r, pc.M - 1u) * pc.K);
        barrier();
    }

    float acc[TM][TN];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++)
            acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < pc.K; k0 += BK) {
        // Stage: item l = (row, 4-wide k chunk), chunks fastest so neighbours read neighbours.
#define STAGE(load, base, r0, rows, last_row, dst, pitch, norm)                             \
        [[unroll]] for (uint it = 0; it < (rows * (BK / 4u) + NT - 1u) / NT; it++) {         \
            uint l = tid + it * NT, row = l / (BK / 4u), kq = (l % (BK / 4u)) * 4u;           \
            if (l < rows * (BK / 4u)) {                                                       \
                vec4 v = load(base + min(r0 + row, last_row) * pc.K, k0 + kq, true);          \
                if (norm)                                                                     \
                    v = norm_x(v, xst[row], k0 + kq);                                         \
                [[unroll]] for (uint c = 0; c < 4u; c++)                                      \
                    dst[(kq + c) * pitch + row] = v[c];                                       \
            }                                                                                 \
        }
        STAGE(load_x, xbase, m0, BM, pc.M - 1u, xs, BMP, NORM_X != 0)
        STAGE(load_w, wbase, n0, BN, pc.N - 1u, ws, BNP, false)
#undef STAGE
        barrier();
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            float a[TM], w[TN];
            [[unroll]] for (uint i = 0; i < TM; i++)
                a[i] = xs[kk * BMP + ty + i * WG_Y];
            [[unroll]] for (uint j = 0; j < TN; j++)
                w[j] = ws[kk * BNP + tx + j * WG_X];
            [[unroll]] for (uint i = 0; i < TM; i++)
                [[unroll]] for (uint j = 0; j < TN; j++)
                    acc[i][j] = fma(a[i], w[j], acc[i][j]);
        }
        barrier();
    }

    uint ybase = b * pc.y_stride;
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint n = n0 + tx + j * WG_X;
        if (n >= pc.N)
            continue;
        float bn = bias_at(n);
        [[unroll]] for (uint i = 0; i < TM; i++) {
            uint m = m0 + ty + i * WG_Y;
            if (m < pc.M)
                store(ybase, m, n, acc[i][j] + bn);
        }
    }
}

#endif
