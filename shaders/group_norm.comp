#version 450
#extension GL_GOOGLE_include_directive : require
// GroupNorm over NHWC activations (src/ops/group_norm.c), with the ResNet unit's epilogue:
//   y = act((x - mean) / sqrt(var + eps) * gamma[c] + beta[c] + r),   act = ReLU when RELU
// x, r, y: [B][HW][C]; group g holds channels [g*cg, (g+1)*cg). One workgroup per (b, g): group
// index gi = wg.y * num_wg.x + wg.x = b * G + g. Invocation t takes pixels t, t + WG, ...: the same
// elements in every pass, so y may alias x and r (each element is read and written by one
// invocation only, in program order).
//
// Statistics in fp32 over the group's n = HW * cg values, two passes corrected as in layernorm.comp
// (Chan, Golub & LeVeque 1983), so the error is relative to the group's spread, not its mean:
//   pass 1: m = sum(x) / n;   pass 2: d = x - m, c = sum(d) / n, var = sum(d^2) / n - c^2
//   pass 3: y = act((d - c) * rsqrt(var + eps) * gamma + beta + r)
// Sums are kept in 4 lanes of a vec4 per invocation (4 channels of a pixel in vec4 mode, channel
// j % 4 otherwise): more independent FMA chains on lavapipe, shorter sums for accuracy.
//
// Variants (shaders/meson.build): SUBGROUP=1 reduces with subgroupAdd, else a shared-memory tree.
// Storage type: types.glsl's STORE_T, fp32 or with FP16=1 fp16 (16-bit storage; arithmetic stays fp32).

#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "types.glsl"

// constant_id 0: workgroup size, a power of two (the shared-memory tree needs it).
layout(local_size_x_id = 0) in;
// constant_id 1: C and cg multiples of 4 and every binding on a 4-element boundary: vec4 accesses.
layout(constant_id = 1) const bool VEC4 = false;
layout(constant_id = 2) const bool HAS_RESIDUAL = false;
layout(constant_id = 3) const bool RELU = false;

// Bindings: 0 x, 1 gamma [C], 2 beta [C], 3 r (x when absent), 4 y; each also as vec4s. Not
// restrict: x, r and y may be the same memory.
layout(std430, set = 0, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, set = 0, binding = 0) readonly buffer X4 { STORE_VEC4 x4[]; };
layout(std430, set = 0, binding = 1) readonly buffer Gamma { STORE_T g[]; };
layout(std430, set = 0, binding = 1) readonly buffer Gamma4 { STORE_VEC4 g4[]; };
layout(std430, set = 0, binding = 2) readonly buffer Beta { STORE_T bt[]; };
layout(std430, set = 0, binding = 2) readonly buffer Beta4 { STORE_VEC4 bt4[]; };
layout(std430, set = 0, binding = 3) readonly buffer R { STORE_T r[]; };
layout(std430, set = 0, binding = 3) readonly buffer R4 { STORE_VEC4 r4[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Y { STORE_T y[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Y4 { STORE_VEC4 y4[]; };

layout(push_constant) uniform Push {
    uint groups_total;   // B * G
    uint HW, C, G, cg;
    float eps;
} pc;

// Chunk j of a pixel's group channels, at element offset e (the chunk's first element): 4 channels
// in vec4 mode, else one, in lane j % 4 (zeros elsewhere).
vec4 lanes(float v, uint j) { return vec4(equal(uvec4(j & 3u), uvec4(0u, 1u, 2u, 3u))) * v; }
#define LOAD(buf, buf4, e, j) (VEC4 ? vec4(buf4[(e) / 4u]) : lanes(float(buf[e]), j))
#define CHUNK_MASK(j) (VEC4 ? vec4(1.0) : lanes(1.0, j))

#ifdef SUBGROUP
shared vec2 red[2][gl_WorkGroupSize.x];   // one entry per subgroup is used

// Workgroup-wide sum of a vec2, the same in every invocation. Each call site has its own `slot`,
// so consecutive reductions need no barrier between them.
vec2 wg_sum(vec2 v, uint slot)
{
    v = subgroupAdd(v);
    if (gl_NumSubgroups == 1)
        return v;
    if (subgroupElect())
        red[slot][gl_SubgroupID] = v;
    barrier();
    vec2 s = vec2(0.0);
    for (uint i = 0; i < gl_NumSubgroups; i++)
        s += red[slot][i];
    return s;
}
#else
shared vec2 red[2][gl_WorkGroupSize.x];

vec2 wg_sum(vec2 v, uint slot)
{
    uint t = gl_LocalInvocationID.x;
    red[slot][t] = v;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2; h > 0; h >>= 1) {
        if (t < h)
            red[slot][t] += red[slot][t + h];
        barrier();
    }
    return red[slot][0];
}
#endif

float hsum(vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void main()
{
    const uint gi = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (gi >= pc.groups_total)
        return;   // uniform across the workgroup: no barrier is skipped by only some invocations
    const uint t = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
    const uint b = gi / pc.G, c0 = (gi % pc.G) * pc.cg;
    const uint step = VEC4 ? 4u : 1u;
    const uint base = b * pc.HW * pc.C + c0;   // element (b, pixel 0, channel c0)
    const float inv_n = 1.0 / (float(pc.HW) * float(pc.cg));

    vec4 s4 = vec4(0.0);
    for (uint p = t; p < pc.HW; p += WG)
        for (uint j = 0; j < pc.cg; j += step)
            s4 += LOAD(x, x4, base + p * pc.C + j, j);
    const float m = wg_sum(vec2(hsum(s4), 0.0), 0).x * inv_n;

    vec4 d4 = vec4(0.0), q4 = vec4(0.0);
    for (uint p = t; p < pc.HW; p += WG)
        for (uint j = 0; j < pc.cg; j += step) {
            vec4 d = (LOAD(x, x4, base + p * pc.C + j, j) - m) * CHUNK_MASK(j);
            d4 += d;
            q4 += d * d;
        }
    const vec2 dq = wg_sum(vec2(hsum(d4), hsum(q4)), 1) * inv_n;
    const float rstd = inversesqrt(max(dq.y - dq.x * dq.x, 0.0) + pc.eps);

    for (uint p = t; p < pc.HW; p += WG)
        for (uint j = 0; j < pc.cg; j += step) {
            const uint e = base + p * pc.C + j;
            vec4 v = ((LOAD(x, x4, e, j) - m) - dq.x) * rstd * LOAD(g, g4, c0 + j, j) + LOAD(bt, bt4, c0 + j, j);
            if (HAS_RESIDUAL)
                v += LOAD(r, r4, e, j);
            if (RELU)
                v = max(v, vec4(0.0));
            if (VEC4)
                y4[e / 4u] = STORE_VEC4(v);
            else
                y[e] = STORE_T(v[j & 3u]);
        }
}
