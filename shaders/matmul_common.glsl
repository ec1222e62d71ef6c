// What matmul.comp and matmul_coopmat.comp share: bindings, push constants and the epilogue, the
// same for every matmul kernel (semantics and layouts: src/ops/ops.h, op_matmul). Include it after
// types.glsl and common.glsl, and after the kernel's spec constants EPILOGUE and HAS_BIAS.

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

#endif
