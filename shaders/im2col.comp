#version 450
#extension GL_GOOGLE_include_directive : require
// im2col for conv2d (src/ops/conv.c): x -> A [rows][Kp], the patch matrix whose GEMM with a weight
// [Cout][Kp] is the convolution. Row r is output pixel m = m_first + r, m = (b*Ho + oy)*Wo + ox;
// column k = (ky*kw + kx)*Cin + c (the weight permuted to [Cout][kh][kw][Cin]); columns K..Kp-1 (the
// row padded to a multiple of 4) are 0:
//   A[r][k] = x[b][c][oy*stride + ky - pad_top][ox*stride + kx - pad_left], 0 in the padding.
// x is addressed through element strides (sb, sc, sy, sx): NHWC activations and the NCHW image alike.
//
// The index arithmetic (divisions) is done once per invocation and amortised over a run of copies:
//   VEC4 (Cin % 4 == 0, x NHWC-dense on 4-element boundaries, so Kp == K): an invocation per
//        (row, tap): Cin / 4 vec4 copies, contiguous in x and in A, or Cin / 4 vec4 zeros.
//   else an invocation per (row, kernel row ky): kw * Cin scalar copies (any Cin and layout: the
//        stem's 3-channel NCHW image); the one of the last ky also zeroes the padding columns.
// Measured on lavapipe (bench/README.md, "conv2d"): against an invocation per 4 columns, this cut
// the im2col of a 56x56x64 3x3 conv at batch 2 from ~29 to ~5-9 ms and the stem's from ~25 to ~9 ms.
//
// Storage types (types.glsl's STORE_T / STORE_VEC4): A is STORE_T; x is
// STORE_T too, or fp32 with X_F32=1 (the preprocessed image in the fp16 path). Values are copied,
// never rounded, except fp32 -> fp16 with X_F32.
#include "types.glsl"
#if defined(X_F32) && X_F32
#define X_T float
#define X_VEC4 vec4
#else
#define X_T STORE_T
#define X_VEC4 STORE_VEC4
#endif

layout(local_size_x = 64) in;
layout(constant_id = 0) const bool VEC4 = false;

layout(set = 0, binding = 0) readonly buffer X { X_T x[]; };
layout(set = 0, binding = 0) readonly buffer X4 { X_VEC4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer A { STORE_T a[]; };
layout(set = 0, binding = 1) writeonly buffer A4 { STORE_VEC4 a4[]; };

layout(push_constant) uniform Push {
    uint rows, m_first, K, Kp, Cin;
    uint H, W, Ho, Wo;
    uint kh, kw, stride, pad_top, pad_left;
    uint sb, sc, sy, sx;   // x's element strides: batch, channel, row, column
} pc;

void main()
{
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    const uint per_row = VEC4 ? pc.kh * pc.kw : pc.kh;   // invocations per row of A
    if (i >= pc.rows * per_row)
        return;
    const uint r = i / per_row, m = pc.m_first + r;
    const uint ox = m % pc.Wo, oy = (m / pc.Wo) % pc.Ho, b = m / (pc.Wo * pc.Ho);
    // A negative coordinate wraps (unsigned) past H / W: one comparison per axis rejects both sides.
    if (VEC4) {
        const uint tap = i % per_row;
        const uint iy = oy * pc.stride + tap / pc.kw - pc.pad_top, ix = ox * pc.stride + tap % pc.kw - pc.pad_left;
        const uint dst = (r * pc.Kp + tap * pc.Cin) / 4u, n4 = pc.Cin / 4u;
        if (iy < pc.H && ix < pc.W) {
            const uint src = (b * pc.sb + iy * pc.sy + ix * pc.sx) / 4u;
            for (uint c = 0; c < n4; c++)
                a4[dst + c] = STORE_VEC4(x4[src + c]);
        } else {
            for (uint c = 0; c < n4; c++)
                a4[dst + c] = STORE_VEC4(0.0);
        }
        return;
    }
    const uint ky = i % per_row;
    const uint iy = oy * pc.stride + ky - pc.pad_top, ix0 = ox * pc.stride - pc.pad_left;
    uint dst = r * pc.Kp + ky * pc.kw * pc.Cin;
    for (uint kx = 0; kx < pc.kw; kx++) {
        const uint ix = ix0 + kx, src = b * pc.sb + iy * pc.sy + ix * pc.sx;
        const bool inside = iy < pc.H && ix < pc.W;
        for (uint c = 0; c < pc.Cin; c++, dst++)
            a[dst] = inside ? STORE_T(x[src + c * pc.sc]) : STORE_T(0.0);
    }
    if (ky + 1u == pc.kh)
        for (uint k = pc.K; k < pc.Kp; k++)
            a[r * pc.Kp + k] = STORE_T(0.0);
}
