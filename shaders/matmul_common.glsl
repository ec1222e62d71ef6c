// What matmul.comp and matmul_coopmat.comp share: bindings, push constants and the epilogue, the
// same for every matmul kernel (semantics and layouts: src/ops/ops.h, op_matmul), and the normalised
// input (NORM_X, below). Include it after types.glsl and common.glsl, and after the kernel's spec
// constants VEC, EPILOGUE, HAS_BIAS and NORM_X.

#ifndef VKVIT_MATMUL_COMMON_GLSL
#define VKVIT_MATMUL_COMMON_GLSL

// Bindings: 0 X, 1 W, 2 bias (X when absent), 3 R (Y when absent), 4 Y. X and W are also seen as
// vec4 arrays at the same binding. R and Y are not restrict: they may be the same memory.
layout(set = 0, binding = 0) restrict readonly buffer XS { STORE_T x1[]; };
layout(set = 0, binding = 0) restrict readonly buffer XV { STORE_VEC4 x4[]; };
layout(set = 0, binding = 1) restrict readonly buffer WS { STORE_T w1[]; };
layout(set = 0, binding = 1) restrict readonly buffer WV { STORE_VEC4 w4[]; };
layout(set = 0, binding = 2) restrict readonly buffer BS { STORE_T bias[]; };
layout(set = 0, binding = 3) readonly buffer RS { STORE_T r[]; };
layout(set = 0, binding = 4) writeonly buffer YS { STORE_T y[]; };

layout(push_constant) uniform Push {
    uint M, N, K;
    uint x_stride, w_stride, y_stride;   // elements between batches; w_stride 0: W shared
    float eps;                           // NORM_X: the LayerNorm epsilon
} pc;

// The values of EPILOGUE: the host's matmul_epilogue.
const uint MATMUL_EPI_NONE = 0, MATMUL_EPI_GELU = 1, MATMUL_EPI_GELU_TANH = 2, MATMUL_EPI_RESIDUAL = 3,
           MATMUL_EPI_TANH = 4, MATMUL_EPI_QUICK_GELU = 5;

// The bias of column n, 0 without one; the kernels add it to X.W^T before store().
float bias_at(uint n)
{
    return HAS_BIAS != 0 ? widen(bias[n]) : 0.0;
}

// v = X.W^T + bias for element (m, n) of the batch whose Y starts at ybase: applies the epilogue in
// fp32 and stores, the one rounding to the storage type.
void store(uint ybase, uint m, uint n, float v)
{
    uint i = ybase + m * pc.N + n;
    if (EPILOGUE == MATMUL_EPI_GELU)
        v = gelu_erf(v);
    else if (EPILOGUE == MATMUL_EPI_GELU_TANH)
        v = gelu_tanh(v);
    else if (EPILOGUE == MATMUL_EPI_RESIDUAL)
        v += widen(r[i]);
    else if (EPILOGUE == MATMUL_EPI_TANH)
        v = tanh_stable(v);
    else if (EPILOGUE == MATMUL_EPI_QUICK_GELU)
        v = quick_gelu(v);
    y[i] = narrow(v);
}

// ---- NORM_X: Y = epi(LN0(X) . W^T + b), LN0 = LayerNorm without affine (docs/fusion.md) ----------
// The LayerNorm's gamma and beta are folded into W and b at load (src/model.c); the kernel
// normalises every row of X itself. Each kernel computes the statistics of the rows of its block
// over the full K before the main loop (row_stats: a second and third read of the block's rows, from
// L2 on a GPU) and applies norm_x to every element of X as it is loaded.

// The statistics of the X row starting at element `row`: (m, c, rstd), fp32, the corrected two-pass
// of shaders/layernorm.comp: m = sum(x) / K; d = x - m; c = mean(d); var = mean(d^2) - c^2;
// rstd = 1 / sqrt(var + eps). The caller passes a row inside X (clamped rows are real rows), so the
// result is always finite for eps > 0.
vec3 row_stats(uint row)
{
    const float inv_k = 1.0 / float(pc.K);
    vec4 s4 = vec4(0.0);
    if (VEC == 4) {
        for (uint k = 0; k < pc.K; k += 4u)
            s4 += widen(x4[(row + k) / 4u]);
    } else {
        for (uint k = 0; k < pc.K; k++)
            s4.x += widen(x1[row + k]);
    }
    const float m = ((s4.x + s4.y) + (s4.z + s4.w)) * inv_k;
    vec4 d4 = vec4(0.0), q4 = vec4(0.0);
    if (VEC == 4) {
        for (uint k = 0; k < pc.K; k += 4u) {
            vec4 d = widen(x4[(row + k) / 4u]) - m;
            d4 += d;
            q4 += d * d;
        }
    } else {
        for (uint k = 0; k < pc.K; k++) {
            float d = widen(x1[row + k]) - m;
            d4.x += d;
            q4.x += d * d;
        }
    }
    const float c = ((d4.x + d4.y) + (d4.z + d4.w)) * inv_k;
    const float var = max(((q4.x + q4.y) + (q4.z + q4.w)) * inv_k - c * c, 0.0);
    return vec3(m, c, inversesqrt(var + pc.eps));
}

// Elements k..k+3 of a row with statistics st, normalised in fp32: ((x - m) - c) * rstd. Elements
// past K stay exactly 0 (the loads read them as 0, which the normalisation would move).
vec4 norm_x(vec4 v, vec3 st, uint k)
{
    vec4 n = ((v - st.x) - st.y) * st.z;
    [[unroll]] for (uint c = 0; c < 4u; c++)
        n[c] = k + c < pc.K ? n[c] : 0.0;
    return n;
}

#endif
