#version 450
#extension GL_GOOGLE_include_directive : require
// Max pooling over NHWC activations (src/ops/max_pool.c): x [B][H][W][C] -> y [B][Ho][Wo][C],
//   y[b][oy][ox][c] = max over ky, kx < k of x[b][oy*stride + ky - pad_top][ox*stride + kx - pad_left][c]
// with padded positions skipped, as timm's MaxPool2dSame (which pads with -inf) and TF's SAME max
// pool; the host keeps every pad below k, so each window holds at least one real value. A NaN in a
// window is the result, as in PyTorch.
// An invocation computes 4 channels of one output pixel (one vec4 per tap with VEC4: C % 4 == 0 and
// both bindings on 4-element boundaries) or, without VEC4, one channel.
// Storage type: types.glsl's STORE_T (fp32, or fp16 with FP16=1: values are only compared, never rounded).
#include "types.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const bool VEC4 = false;

layout(set = 0, binding = 0) readonly buffer X { STORE_T x[]; };
layout(set = 0, binding = 0) readonly buffer X4 { STORE_VEC4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { STORE_VEC4 y4[]; };

layout(push_constant) uniform Push {
    uint pixels;   // B * Ho * Wo
    uint C, H, W, Ho, Wo;
    uint k, stride, pad_top, pad_left;
} pc;

void main()
{
    const uint chunks = VEC4 ? pc.C / 4u : pc.C;
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= pc.pixels * chunks)
        return;
    const uint m = i / chunks, c = (i % chunks) * (VEC4 ? 4u : 1u);
    const uint ox = m % pc.Wo, oy = (m / pc.Wo) % pc.Ho, b = m / (pc.Wo * pc.Ho);
    vec4 best = vec4(uintBitsToFloat(0xff800000u));   // -inf: loses to any real tap
    for (uint ky = 0; ky < pc.k; ky++) {
        // A negative coordinate wraps (unsigned) past H / W: one comparison rejects both sides.
        const uint iy = oy * pc.stride + ky - pc.pad_top;
        if (iy >= pc.H)
            continue;
        for (uint kx = 0; kx < pc.k; kx++) {
            const uint ix = ox * pc.stride + kx - pc.pad_left;
            if (ix >= pc.W)
                continue;
            const uint e = ((b * pc.H + iy) * pc.W + ix) * pc.C + c;
            const vec4 v = VEC4 ? vec4(x4[e / 4u]) : vec4(float(x[e]));
            best = mix(best, v, bvec4(uvec4(greaterThan(v, best)) | uvec4(isnan(v))));
        }
    }
    if (VEC4)
        y4[i] = STORE_VEC4(best);
    else
        y[i] = STORE_T(best.x);
}
