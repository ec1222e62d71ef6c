#version 450
// Fused multi-head self-attention, flash style (online softmax): the T x T scores never leave
// registers.
//
//   qkv [B][T][3][H][dh]   q = qkv[b,t,0,h,:], k = qkv[b,t,1,h,:], v = qkv[b,t,2,h,:]
//   out [B][T][H*dh]       out[b,i,h,:] = sum_j softmax_j(scale * q_i . k_j) v_j
//
// Workgroup = (query block, head, batch). Each invocation owns R query rows (q0, q0 + WG, ...),
// their q and output accumulators held as DH4 vec4s each (DH4 = ceil(dh/4); specialization
// constants, so the arrays are sized and the loops unrolled at pipeline creation; lanes past dh
// are zero and never stored). Keys come in blocks of BK, each visited in chunks of 8: the chunk's
// scores, the new running max m, rescale of the running sum l and of the accumulator by
// exp2(m_old - m_new), then p . V. Scores are in log2 units (q is pre-multiplied by
// scale * log2 e) so every exponential is one exp2 of an argument <= 0: large scores are safe, and
// the first chunk's rescale exp2(NEG_BIG - m) is exactly 0. Statistics and sums are fp32.
//
// How a block of K and V reaches every invocation:
//   default   staged in shared memory by the whole workgroup (two barriers per block), then read
//             by every invocation at the same address: a broadcast read on GPUs. R = 1 or 2.
//   SUBGROUP  (blocks of 8 keys) lane l loads key kb+l's K and V rows itself, and key j reaches
//             the other lanes through subgroupShuffle(x, j): no shared memory, no barriers. The
//             CPU path: on lavapipe a load whose address is not provably uniform is a scalar loop
//             over the SIMD lanes (shared memory included), ~45 ns per vec4, while a shuffle is one
//             permute; so each lane loads a distinct row (8x fewer loads than broadcast reads)
//             and R is as large as compile time allows (5 at dh = 64), each shuffled vec4
//             feeding 4 R FMAs. Chunks are the whole block (j0 = 0): constant shuffle ids.
#extension GL_GOOGLE_include_directive : require
// qkv and out are of types.glsl's storage type (fp16 with FP16=1: one rounding, at the store); the
// softmax statistics and the accumulators are fp32 whatever it is.
#include "types.glsl"
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif

layout(constant_id = 0) const uint DH4 = 16;       // vec4s per head row: ceil(dh / 4), dh <= 128
layout(constant_id = 1) const uint WG = 64;        // invocations per workgroup
layout(constant_id = 2) const uint R = 1;          // query rows per invocation
layout(constant_id = 3) const uint BK = 64;        // keys per shared-memory block: multiple of 8
layout(constant_id = 4) const bool VEC4 = true;    // dh % 4 == 0: rows are vec4-aligned
layout(local_size_x_id = 1) in;

layout(push_constant) uniform Push {
    uint B, T, H, dh;
    float scale;        // resolved by the host (never 0 here)
} pc;

// The same bindings seen as scalars (any dh) and as vec4s (VEC4).
layout(binding = 0) readonly buffer QKV { STORE_T qkv[]; };
layout(binding = 0) readonly buffer QKV4 { STORE_VEC4 qkv4[]; };
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };
layout(binding = 1) writeonly buffer Out4 { STORE_VEC4 o4[]; };

const float LOG2E = 1.4426950408889634;
const float NEG_BIG = -3.0e38;

// Elements 4c .. 4c+3 of the head row starting at float index `base`; zero past dh.
vec4 load_row4(uint base, uint c)
{
    if (VEC4)
        return widen(qkv4[base / 4 + c]);
    vec4 r = vec4(0.0);
    for (uint k = 0; k < 4; ++k)
        if (c * 4 + k < pc.dh)
            r[k] = widen(qkv[base + c * 4 + k]);
    return r;
}

#ifdef SUBGROUP
const uint KB = 8;   // keys per block: one per lane of the first 8 (subgroups have >= 8 lanes)
#define KEY(j, c) subgroupShuffle(kr[c], j)
#define VAL(j, c) subgroupShuffle(vr[c], j)
#else
const uint KB = BK;
shared vec4 ks[BK * DH4];
shared vec4 vs[BK * DH4];
#define KEY(j, c) ks[(j) * DH4 + (c)]
#define VAL(j, c) vs[(j) * DH4 + (c)]
#endif

void main()
{
    const uint T = pc.T, H = pc.H, dh = pc.dh;
    const uint lid = gl_LocalInvocationID.x;
    const uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    const uint row = 3 * H * dh;                        // floats per token in qkv
    const uint base = b * T * row;                      // this batch's tokens
    const uint kbase = base + (H + h) * dh;             // key j's row starts at kbase + j * row
    const uint vbase = base + (2 * H + h) * dh;
    const uint q0 = gl_WorkGroupID.x * (WG * R) + lid;  // this invocation's first query row

    vec4 q[R][DH4], acc[R][DH4];
    float m[R], l[R];
    const float qs = pc.scale * LOG2E;
    for (uint r = 0; r < R; ++r) {
        // Rows past T compute a copy of row T-1 (all invocations stay in step for barriers and
        // shuffles) and store nothing.
        const uint i = min(q0 + r * WG, T - 1);
        for (uint c = 0; c < DH4; ++c) {
            q[r][c] = load_row4(base + i * row + h * dh, c) * qs;
            acc[r][c] = vec4(0.0);
        }
        m[r] = NEG_BIG;
        l[r] = 0.0;
    }

    for (uint kb = 0; kb < T; kb += KB) {
        const uint nb = min(KB, T - kb);
#ifdef SUBGROUP
        vec4 kr[DH4], vr[DH4];
        {
            const uint j = min(kb + gl_SubgroupInvocationID, T - 1);
            for (uint c = 0; c < DH4; ++c) {
                kr[c] = load_row4(kbase + j * row, c);
                vr[c] = load_row4(vbase + j * row, c);
            }
        }
#else
        barrier();   // the previous block's readers are done
        for (uint e = lid; e < BK * DH4; e += WG) {
            const uint j = min(kb + e / DH4, T - 1), c = e % DH4;
            ks[e] = load_row4(kbase + j * row, c);
            vs[e] = load_row4(vbase + j * row, c);
        }
        barrier();
#endif
#ifdef SUBGROUP
        {   // one chunk per block; constant shuffle ids compile to register permutes
            const uint j0 = 0;
#else
        for (uint j0 = 0; j0 < nb; j0 += 8) {
#endif
            // Block keys j0 .. j0+7; those past the block's end (jj >= n) get p = 0.
            const uint n = min(8u, nb - j0);
            float s[R][8];
            for (uint jj = 0; jj < 8; ++jj) {
                for (uint r = 0; r < R; ++r)
                    s[r][jj] = 0.0;
                for (uint c = 0; c < DH4; ++c) {
                    const vec4 k = KEY(j0 + jj, c);
                    for (uint r = 0; r < R; ++r)
                        s[r][jj] += dot(q[r][c], k);
                }
            }
            float p[R][8];
            for (uint r = 0; r < R; ++r) {
                float mx = m[r];
                for (uint jj = 0; jj < 8; ++jj)
                    if (jj < n)
                        mx = max(mx, s[r][jj]);
                const float alpha = exp2(m[r] - mx);
                m[r] = mx;
                float sum = 0.0;
                for (uint jj = 0; jj < 8; ++jj) {
                    p[r][jj] = jj < n ? exp2(s[r][jj] - mx) : 0.0;
                    sum += p[r][jj];
                }
                l[r] = l[r] * alpha + sum;
                for (uint c = 0; c < DH4; ++c)
                    acc[r][c] *= alpha;
            }
            for (uint jj = 0; jj < 8; ++jj) {
                for (uint c = 0; c < DH4; ++c) {
                    const vec4 v = VAL(j0 + jj, c);
                    for (uint r = 0; r < R; ++r)
                        acc[r][c] += p[r][jj] * v;
                }
            }
        }
    }

    for (uint r = 0; r < R; ++r) {
        const uint i = q0 + r * WG;
        if (i >= T)
            break;
        const float inv = 1.0 / l[r];
        const uint obase = (b * T + i) * H * dh + h * dh;
        for (uint c = 0; c < DH4; ++c) {
            const vec4 y = acc[r][c] * inv;
            if (VEC4) {
                o4[obase / 4 + c] = narrow(y);
            } else {
                for (uint k = 0; k < 4; ++k)
                    if (c * 4 + k < dh)
                        o[obase + c * 4 + k] = narrow(y[k]);
            }
        }
    }
}
