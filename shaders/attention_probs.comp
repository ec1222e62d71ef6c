#version 450
// Head-averaged attention probabilities of query row 0 (the class token), for visualisation:
//
//   probs[b,j] = (1/H) sum_h softmax_j(scale * q[b,0,h] . k[b,j,h])      probs [B][T]
//
// qkv [B][T][3][H][dh] as in attention.comp. One workgroup per batch element; invocation lid owns
// keys j = lid, lid + WG, ... and is the only writer of their probs, so heads are summed without
// atomics. Per head: each invocation's online (max, sum) over its keys, a workgroup reduction of
// those pairs in shared memory, then a second pass over the keys writes exp2(s - max) / sum / H.
// The scores are recomputed in the second pass rather than kept (T is unbounded; dh <= 128 FMAs a
// key is cheap next to the attention itself). Unlike attention.comp, scores stay in natural units and
// are turned into log2 units only after the max is subtracted: exp2((s - m) * log2 e). Pre-scaling q by
// log2 e would round every score first, which costs up to ~|s| * 1e-7 relative in each probability
// (1e-5 at scores ~1e3); the difference s - m is small for every probability that matters.
//
// qkv and probs are of types.glsl's storage type; the math is fp32 whatever it is. In the fp16
// variant the head average is summed in fp32 registers over chunks of up to HC heads (one chunk,
// so one rounding, for any ViT), not in the fp16 buffer.
#extension GL_GOOGLE_include_directive : require
#include "types.glsl"

layout(constant_id = 0) const uint DH4 = 16;       // vec4s per head row: ceil(dh / 4)
layout(constant_id = 1) const uint WG = 64;        // invocations per workgroup: a power of two
layout(constant_id = 2) const bool VEC4 = true;    // dh % 4 == 0
layout(local_size_x_id = 1) in;

layout(push_constant) uniform Push {
    uint B, T, H, dh;
    float scale;
} pc;

layout(binding = 0) readonly buffer QKV { STORE_T qkv[]; };
layout(binding = 0) readonly buffer QKV4 { STORE_VEC4 qkv4[]; };
layout(binding = 1) buffer Probs { STORE_T probs[]; };

shared float red_m[WG], red_l[WG];
#ifdef FP16
const uint HC = 64;                      // heads whose statistics are kept at once
shared float st_m[HC], st_il[HC];        // per head of the chunk: max, (1/H) / sum
#endif

const float LOG2E = 1.4426950408889634;
const float NEG_BIG = -3.0e38;

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

void main()
{
    const uint T = pc.T, H = pc.H, dh = pc.dh;
    const uint lid = gl_LocalInvocationID.x;
    const uint b = gl_WorkGroupID.x;
    const uint row = 3 * H * dh;
    const uint base = b * T * row;
    const float qs = pc.scale;
    const float inv_h = 1.0 / float(H);

#ifdef FP16
    for (uint h0 = 0; h0 < H; h0 += HC) {
    const uint hn = min(HC, H - h0);
    for (uint h = h0; h < h0 + hn; ++h) {
#else
    for (uint h = 0; h < H; ++h) {
#endif
        vec4 q[DH4];
        for (uint c = 0; c < DH4; ++c)
            q[c] = load_row4(base + h * dh, c) * qs;    // query row 0
        const uint kbase = base + (H + h) * dh;

        float m = NEG_BIG, l = 0.0;
        for (uint j = lid; j < T; j += WG) {
            float s = 0.0;
            for (uint c = 0; c < DH4; ++c)
                s += dot(q[c], load_row4(kbase + j * row, c));
            const float mx = max(m, s);
            l = l * exp2((m - mx) * LOG2E) + exp2((s - mx) * LOG2E);
            m = mx;
        }
        // Invocations with no key keep (NEG_BIG, 0): they scale to 0 in the merge.
        red_m[lid] = m;
        red_l[lid] = l;
        for (uint w = WG / 2; w > 0; w /= 2) {
            barrier();
            if (lid < w) {
                const float m2 = red_m[lid + w], l2 = red_l[lid + w];
                const float mx = max(m, m2);
                l = l * exp2((m - mx) * LOG2E) + l2 * exp2((m2 - mx) * LOG2E);
                m = mx;
                red_m[lid] = m;
                red_l[lid] = l;
            }
        }
        barrier();
        const float mall = red_m[0], inv_l = inv_h / red_l[0];
        barrier();   // red_* are rewritten by the next head
#ifdef FP16
        if (lid == 0) {
            st_m[h - h0] = mall;
            st_il[h - h0] = inv_l;
        }
    }
    barrier();   // st_* complete
    // Second pass: each key's probabilities summed over the chunk's heads in fp32, stored once.
    for (uint j = lid; j < T; j += WG) {
        const uint o = b * T + j;
        float acc = h0 == 0 ? 0.0 : widen(probs[o]);
        for (uint hh = 0; hh < hn; ++hh) {
            const uint h = h0 + hh, kbase = base + (H + h) * dh;
            float s = 0.0;
            for (uint c = 0; c < DH4; ++c)
                s += dot(load_row4(base + h * dh, c) * qs, load_row4(kbase + j * row, c));
            acc += exp2((s - st_m[hh]) * LOG2E) * st_il[hh];
        }
        probs[o] = narrow(acc);
    }
    barrier();   // st_* are rewritten by the next chunk
    }
#else

        for (uint j = lid; j < T; j += WG) {
            float s = 0.0;
            for (uint c = 0; c < DH4; ++c)
                s += dot(q[c], load_row4(kbase + j * row, c));
            const float p = exp2((s - mall) * LOG2E) * inv_l;
            const uint o = b * T + j;
            probs[o] = narrow(h == 0 ? p : widen(probs[o]) + p);
        }
    }
#endif
}
