#version 450
// Token sequence: x[b][t] = (t < prefix ? token[t] : emb[b*N + t - prefix]) + pos[t], where token 0
// is the class token and token 1 (distilled models) the distillation token.
// FP16=1: every buffer holds float16_t; the sum is formed in fp32 and rounded once.
#ifdef FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define ELEM float16_t
#else
#define ELEM float
#endif
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Emb { ELEM emb[]; };   // [B*N][D]
layout(set = 0, binding = 1) readonly buffer Cls { ELEM cls[]; };   // [D]
layout(set = 0, binding = 2) readonly buffer Dist { ELEM dist[]; }; // [D] (bound to cls if absent)
layout(set = 0, binding = 3) readonly buffer Pos { ELEM pos[]; };   // [T][D]
layout(set = 0, binding = 4) writeonly buffer X { ELEM x[]; };      // [B][T][D]
layout(push_constant) uniform Push { uint batch, T, D, prefix; } pc;

void main()
{
    uint total = pc.batch * pc.T * pc.D;
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= total)
        return;
    uint d = i % pc.D, t = (i / pc.D) % pc.T, b = i / (pc.D * pc.T);
    float v;
    if (t == 0u)
        v = float(cls[d]);
    else if (t < pc.prefix)
        v = float(dist[d]);
    else
        v = float(emb[(b * (pc.T - pc.prefix) + t - pc.prefix) * pc.D + d]);
    x[i] = ELEM(v + float(pos[t * pc.D + d]));
}
