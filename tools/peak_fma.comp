#version 450
// FMA throughput ceiling for vkvit-bench --peak. Each invocation runs NACC independent chains of
// fused multiply-adds on values of type VT (vec4 by default; -DSCALAR: float; -DFP16: float16_t
// math), so the ALUs, not latency, set the pace. Flops per invocation = iters * UNROLL * NACC *
// width * 2 (NACC and UNROLL are specialization constants set by vkvit-bench). The result is
// written out so nothing is dead code; a and b come from push constants so nothing folds at
// compile time.
#ifdef FP16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#ifdef SCALAR
#define VT float16_t
#else
#define VT f16vec4
#endif
#else
#ifdef SCALAR
#define VT float
#else
#define VT vec4
#endif
#endif
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int NACC = 8;     // independent chains per invocation
layout(constant_id = 2) const int UNROLL = 4;   // FMAs per chain per loop trip

layout(set = 0, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint iters; float a; float b; } pc;

float hsum(float v) { return v; }
float hsum(vec4 v) { return v.x + v.y + v.z + v.w; }
#ifdef FP16
float hsum(float16_t v) { return float(v); }
float hsum(f16vec4 v) { return float(v.x) + float(v.y) + float(v.z) + float(v.w); }
#endif

void main()
{
    VT m = VT(pc.a), c = VT(pc.b);
    VT acc[NACC];
    float seed = float(gl_GlobalInvocationID.x & 255u) * (1.0 / 256.0);
    for (int j = 0; j < NACC; j++)
        acc[j] = VT(seed + float(j) * 0.125);
    for (uint i = 0u; i < pc.iters; i++) {
        for (int u = 0; u < UNROLL; u++) {
            for (int j = 0; j < NACC; j++)
                acc[j] = fma(acc[j], m, c);
        }
    }
    float s = 0.0;
    for (int j = 0; j < NACC; j++)
        s += hsum(acc[j]);
    result[gl_GlobalInvocationID.x] = s;
}
