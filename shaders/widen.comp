#version 450
#extension GL_GOOGLE_include_directive : require
// y = float(x): fp16 results widened to the fp32 outputs the host and the application read.
#define FP16 1   // x is fp16 whatever the model's dtype: only fp16 runs have anything to widen
#include "types.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer X { STORE_T x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
    uint i = FLAT_INVOCATION_INDEX();
    if (i < pc.n)
        y[i] = widen(x[i]);
}
