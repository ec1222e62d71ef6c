#version 450
// Buffer-copy bandwidth for vkvit-bench --peak: dst = src, 16 bytes (uvec4) per load and store, or
// 4 bytes (uint) with -DSCALAR. Each invocation copies PER_INVOCATION elements strided by the
// workgroup size, so consecutive invocations touch consecutive addresses at every step. n counts
// elements.
#ifdef SCALAR
#define ET uint
#else
#define ET uvec4
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint PER_INVOCATION = 16;

layout(set = 0, binding = 0) readonly buffer Src { ET src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { ET dst[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
    uint wg = gl_WorkGroupSize.x;
    uint base = gl_WorkGroupID.x * wg * PER_INVOCATION + gl_LocalInvocationID.x;
    for (uint k = 0u; k < PER_INVOCATION; k++) {
        uint i = base + k * wg;
        if (i < pc.n)
            dst[i] = src[i];
    }
}
