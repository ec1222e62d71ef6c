#version 450
#extension GL_GOOGLE_include_directive : require
// LayerNorm over rows of D elements:  y = (x - mean) / sqrt(var + eps) * gamma + beta.
//
// A workgroup normalises rows_per_group consecutive rows, one at a time; its WG invocations split a
// row into chunks of 4 elements (vec4 accesses when D, the row strides and the buffer offsets allow
// it, spec constant VEC4) or of 1, chunk c going to invocation c % WG. Each invocation keeps its
// first NC chunks of the row in registers, so a row is read from memory once, and gamma and beta
// once per workgroup.
//
// Statistics in fp32, stable for rows whose mean is large compared with their spread (corrected
// two-pass, Chan, Golub & LeVeque 1983):
//   pass 1: m = sum(x) / D                      (fp32; m may be off by a few ulp of |mean|)
//   pass 2: d = x - m (exact when x ~ m),  c = sum(d) / D,  var = sum(d^2) / D - c^2
//   pass 3: y = (d - c) * rsqrt(var + eps) * gamma + beta
// The correction c removes m's rounding error, so the error of y is relative to the row's standard
// deviation, not to its mean (without it: rel. error 5e-4 at mean 1e4, std 1; plain
// E[x^2] - E[x]^2 loses every digit there).
//
// Variants (shaders/meson.build): SUBGROUP=1 reduces with subgroupAdd (needs
// GL_KHR_shader_subgroup_arithmetic), otherwise a shared-memory tree. x, gamma, beta and y are of
// types.glsl's storage type (fp16 with FP16=1; the arithmetic stays fp32).
//
// Bindings (set 0): 0 x, 1 gamma [D], 2 beta [D], 3 y. Row r of x starts at element r * x_stride.
// Dispatch: workgroup g (flat_workgroup_index) does rows [g * rows_per_group, ...).

#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "types.glsl"
#include "common.glsl"

// constant_id 0: workgroup size, a power of two (the shared-memory tree needs it).
layout(local_size_x_id = 0) in;
// constant_id 1: D, both strides and the x/gamma/beta/y offsets are multiples of 4 elements
// (16 bytes in fp32, 8 bytes in fp16).
layout(constant_id = 1) const bool VEC4 = false;
// constant_id 2: chunks per invocation kept in registers. The host picks NC <= ceil(chunks / WG), so
// only the last of them can fall past the row's end; chunks past NC * WG (rows wider than NC was
// picked for) are re-read from memory in each pass.
layout(constant_id = 2) const uint NC = 1;

// Each buffer is declared twice at the same binding: as scalars and as vec4s (aliasing views).
layout(std430, set = 0, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, set = 0, binding = 0) readonly buffer X4 { STORE_VEC4 x4[]; };
layout(std430, set = 0, binding = 1) readonly buffer Gamma { STORE_T g[]; };
layout(std430, set = 0, binding = 1) readonly buffer Gamma4 { STORE_VEC4 g4[]; };
layout(std430, set = 0, binding = 2) readonly buffer Beta { STORE_T b[]; };
layout(std430, set = 0, binding = 2) readonly buffer Beta4 { STORE_VEC4 b4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y { STORE_T y[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y4 { STORE_VEC4 y4[]; };

layout(push_constant) uniform Push {
    uint rows, D;
    uint x_stride, y_stride;   // elements
    float eps;
    uint rows_per_group;       // consecutive rows one workgroup normalises (gamma, beta loaded once)
    uint x_first, y_first;     // elements before row 0 (multiples of 4 in vec4 mode)
} pc;

// Chunk c of a row (element offset `base`): 4 elements in vec4 mode, else 1 element in .x and
// zeros elsewhere. CHUNK_MASK zeroes the lanes that are not part of the row.
#define LOAD_CHUNK(buf, buf4, base, c) \
    (VEC4 ? widen(buf4[((base) >> 2) + (c)]) : vec4(widen(buf[(base) + (c)]), 0.0, 0.0, 0.0))
#define STORE_CHUNK(base, c, v) \
    { if (VEC4) y4[((base) >> 2) + (c)] = narrow(v); else y[(base) + (c)] = narrow((v).x); }
const vec4 CHUNK_MASK = VEC4 ? vec4(1.0) : vec4(1.0, 0.0, 0.0, 0.0);

float hsum(vec4 v) { return (v.x + v.y) + (v.z + v.w); }

// Workgroup-wide sum of a vec2; every invocation gets the same result. Each call site passes its
// own shared slot (`slot` 0 or 1) so consecutive reductions need no barrier between them.
#ifdef SUBGROUP
shared vec2 red[2][gl_WorkGroupSize.x];   // one entry per subgroup is used

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

void main()
{
    const uint D = pc.D;
    const uint nchunks = VEC4 ? D >> 2 : D;
    const uint t = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
    const float inv_d = 1.0 / float(D);
    const uint first = flat_workgroup_index() * pc.rows_per_group;
    if (first >= pc.rows)
        return;   // uniform across the workgroup: no barrier is skipped by only some invocations
    const uint last = first + min(pc.rows_per_group, pc.rows - first);

    // Chunk t + i * WG of every row, for i < NC, lives in registers (xc) along with its gamma and
    // beta (gc, bc). IN_ROW(i) is a compile-time true for all but the last i (see NC above).
#define IN_ROW(i) ((i) + 1 < NC || t + (i) * WG < nchunks)
    vec4 gc[NC], bc[NC], xc[NC];
    for (uint i = 0; i < NC; i++) {
        gc[i] = IN_ROW(i) ? LOAD_CHUNK(g, g4, 0, t + i * WG) : vec4(0.0);
        bc[i] = IN_ROW(i) ? LOAD_CHUNK(b, b4, 0, t + i * WG) : vec4(0.0);
    }

    // Uniform loop: every invocation runs the same rows, so the barriers inside are reached by all.
    for (uint row = first; row < last; row++) {
        const uint xb = pc.x_first + row * pc.x_stride, yb = pc.y_first + row * pc.y_stride;

        vec4 s4 = vec4(0.0);
        for (uint i = 0; i < NC; i++) {
            xc[i] = IN_ROW(i) ? LOAD_CHUNK(x, x4, xb, t + i * WG) : vec4(0.0);
            s4 += xc[i];
        }
        for (uint c = t + NC * WG; c < nchunks; c += WG)
            s4 += LOAD_CHUNK(x, x4, xb, c);
        const float m = wg_sum(vec2(hsum(s4), 0.0), 0).x * inv_d;

        vec4 d4 = vec4(0.0), q4 = vec4(0.0);
        for (uint i = 0; i < NC; i++) {
            vec4 d = IN_ROW(i) ? (xc[i] - m) * CHUNK_MASK : vec4(0.0);
            d4 += d;
            q4 += d * d;
        }
        for (uint c = t + NC * WG; c < nchunks; c += WG) {
            vec4 d = (LOAD_CHUNK(x, x4, xb, c) - m) * CHUNK_MASK;
            d4 += d;
            q4 += d * d;
        }
        const vec2 dq = wg_sum(vec2(hsum(d4), hsum(q4)), 1) * inv_d;
        const float var = max(dq.y - dq.x * dq.x, 0.0);
        const float rstd = inversesqrt(var + pc.eps);

        for (uint i = 0; i < NC; i++)
            if (IN_ROW(i))
                STORE_CHUNK(yb, t + i * WG, ((xc[i] - m) - dq.x) * rstd * gc[i] + bc[i]);
        for (uint c = t + NC * WG; c < nchunks; c += WG)
            STORE_CHUNK(yb, c, ((LOAD_CHUNK(x, x4, xb, c) - m) - dq.x) * rstd * LOAD_CHUNK(g, g4, 0, c) +
                                   LOAD_CHUNK(b, b4, 0, c));
    }
}
