#version 450
#extension GL_GOOGLE_include_directive : require
// y = gelu(x) elementwise; each invocation handles 4 consecutive elements.
// x and y are tensors of types.glsl's storage type; the activation is evaluated in fp32 from
// common.glsl and the result rounded once at the store.
#include "types.glsl"
#include "common.glsl"

layout(local_size_x_id = 0) in;
// constant_id 1: 0 exact (erf) GELU, 1 its tanh approximation, 2 quick GELU x sigmoid(1.702 x).
layout(constant_id = 1) const uint FORM = 0;

layout(set = 0, binding = 0) readonly buffer X { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform Push { uint n; } pc;

float act(float v) { return FORM == 2u ? quick_gelu(v) : FORM == 1u ? gelu_tanh(v) : gelu_erf(v); }

void main()
{
    uint i = gl_GlobalInvocationID.x * 4u;
    for (uint k = 0; k < 4u; k++)
        if (i + k < pc.n)
            y[i + k] = narrow(act(widen(x[i + k])));
}
