#version 450
#extension GL_GOOGLE_include_directive : require
// y = gelu(x) elementwise; each invocation handles 4 consecutive elements.
// FP16=1: x and y stored as float16_t (16-bit storage); the activation is evaluated in fp32 from
// common.glsl and the result rounded once to fp16 at the store.
#ifdef FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define T float16_t
#else
#define T float
#endif

#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TANH_APPROX = 0;

layout(set = 0, binding = 0) readonly buffer X { T x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform Push { uint n; } pc;

float act(float v) { return TANH_APPROX != 0 ? gelu_tanh(v) : gelu_erf(v); }

void main()
{
    uint i = gl_GlobalInvocationID.x * 4u;
    for (uint k = 0; k < 4u; k++)
        if (i + k < pc.n)
            y[i + k] = T(act(float(x[i + k])));
}
