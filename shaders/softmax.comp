#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax over each row of fp32 logits [rows][K] (vkvit_record's probabilities output):
// y = exp(x - max) / sum(exp(x - max)), one workgroup per row, max and sum reduced in shared memory.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float y[]; };
layout(push_constant) uniform Push { uint rows, K; } pc;

shared float red[64];

// Reduces red[] to red[0] with max (op 0) or sum (op 1); every invocation calls it.
float reduce(float v, uint op)
{
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = 32u; s > 0u; s >>= 1) {
        if (t < s)
            red[t] = op == 0u ? max(red[t], red[t + s]) : red[t] + red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main()
{
    uint row = flat_workgroup_index(), t = gl_LocalInvocationID.x;
    if (row >= pc.rows)   // uniform per workgroup
        return;
    uint base = row * pc.K;
    float m = uintBitsToFloat(0xff800000u);   // -inf
    for (uint i = t; i < pc.K; i += 64u)
        m = max(m, x[base + i]);
    m = reduce(m, 0u);
    float s = 0.0;
    for (uint i = t; i < pc.K; i += 64u)
        s += exp(x[base + i] - m);
    s = reduce(s, 1u);
    for (uint i = t; i < pc.K; i += 64u)
        y[base + i] = exp(x[base + i] - m) / s;
}
