#version 450
#extension GL_GOOGLE_include_directive : require
#if defined(IMAGE)
#extension GL_EXT_samplerless_texture_functions : require
#endif
// Image preprocessing: RGBA8 pixels of several images of any size -> normalised [B][C][S][W] floats.
// PIL's 8-bit resampling reproduced exactly (integer math, 22-bit weights written by the host, 8-bit
// rounding after each pass); see src/preprocess.h for the math and src/ops/preprocess.c for the
// layout of the host-written `meta` words (header, per-image params, coefficient tables).
//   PASS 0: copy this run's meta + pixel words from host-visible staging to device memory
//   PASS 1: horizontal pass, per image: kept columns x needed source rows -> 8-bit, packed in scratch
//           ([column][row]: each pass-2 invocation then reads one contiguous run)
//   PASS 2: vertical pass per output pixel, centre crop (zeros outside the resized image),
//           x rescale, (x - mean) / std; batch slots past the run's images get zeros
// -DIMAGE: pass 1 reads an application's VkImage (a sampled image, texelFetch: no filtering)
// instead of packed pixels, each texel taken as an 8-bit image would hold it (see texel()).
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint CHANNELS = 3;   // 3 = RGB, 1 = luma

const uint HEADER = 16u, IMAGE_WORDS = 16u;
// per-image words
const uint P_PIX = 0u, P_WIDTH = 1u, P_ROW0 = 2u, P_ROWS = 3u, P_TMP = 4u, P_KX0 = 5u, P_KW = 6u,
           P_KY0 = 7u, P_KH = 8u, P_HCO = 9u, P_HTAPS = 10u, P_VCO = 11u, P_VTAPS = 12u;
const int HALF = 1 << 21;   // +0.5 in 22-bit fixed point: PIL starts every sum there

#if PASS == 0
layout(set = 0, binding = 0) readonly buffer SrcMeta { uvec4 src_meta[]; };
layout(set = 0, binding = 1) readonly buffer SrcPix { uvec4 src_pix[]; };
layout(set = 0, binding = 2) writeonly buffer DstMeta { uvec4 dst_meta[]; };
layout(set = 0, binding = 3) writeonly buffer DstPix { uvec4 dst_pix[]; };

void main()
{
    uint i = FLAT_INVOCATION_INDEX();
    uint nm = src_meta[1].z / 4u, np = src_meta[1].w / 4u;   // header words 6, 7: multiples of 4
    if (i < nm)
        dst_meta[i] = src_meta[i];
    else if (i - nm < np)
        dst_pix[i - nm] = src_pix[i - nm];
}

#else
layout(set = 0, binding = 0) readonly buffer Meta { int meta[]; };

// PIL's clip8 on a sum that already holds the +0.5 bias.
uint clip8(int v) { return v >= (256 << 22) ? 255u : v <= 0 ? 0u : uint(v >> 22); }

ivec3 unpack_rgb(uint p) { return ivec3(p & 0xffu, (p >> 8) & 0xffu, (p >> 16) & 0xffu); }

#if PASS == 1
#if defined(IMAGE)
layout(set = 0, binding = 1) uniform texture2D src_image;
#else
layout(set = 0, binding = 1) readonly buffer Pix { uint pix[]; };
#endif
layout(set = 0, binding = 2) writeonly buffer Tmp { uint tmp[]; };
// slot: the first batch slot of this dispatch (slot = slot + z); srgb: the image's format is _SRGB
layout(push_constant) uniform Push { uint slot, srgb; } pc;

#if defined(IMAGE)
// The sRGB encoding (IEC 61966-2-1): undoes the decoding the device applies to _SRGB formats, so
// the model sees the stored 8-bit values, as it does for a PNG.
vec3 encode_srgb(vec3 l)
{
    return mix(l * 12.92, 1.055 * pow(l, vec3(1.0 / 2.4)) - 0.055, greaterThan(l, vec3(0.0031308)));
}

// A texel as packed RGB8: clamped to [0, 1], sRGB-encoded for _SRGB formats, rounded to 8 bits.
// UNORM8 texels come back exactly (c / 255 -> c).
uint texel(int x, int y)
{
    vec3 c = clamp(texelFetch(src_image, ivec2(x, y), 0).rgb, 0.0, 1.0);
    if (pc.srgb != 0u)
        c = encode_srgb(c);
    uvec3 u = uvec3(round(c * 255.0));
    return u.r | (u.g << 8) | (u.b << 16);
}
#endif

// ITU-R 601-2 luma as PIL's convert("L").
int luma(uint p) { return int(((p & 0xffu) * 19595u + ((p >> 8) & 0xffu) * 38470u + ((p >> 16) & 0xffu) * 7471u + 0x8000u) >> 16); }

// One workgroup per (64 source rows, kept column, image): the column's weights are the same for the
// whole workgroup (uniform loads, no divergence), each invocation walks its own row.
void main()
{
    uint row = gl_GlobalInvocationID.x, col = gl_WorkGroupID.y;
    uint p = HEADER + (pc.slot + gl_WorkGroupID.z) * IMAGE_WORDS;
    uint kw = uint(meta[p + P_KW]), rows = uint(meta[p + P_ROWS]);
    if (col >= kw || row >= rows)
        return;
    uint co = uint(meta[p + P_HCO]) + col * uint(meta[p + P_HTAPS] + 2);
    int start = meta[co], count = meta[co + 1u];
#if defined(IMAGE)
    int y = meta[p + P_ROW0] + int(row);
#else
    uint src = uint(meta[p + P_PIX]) + (uint(meta[p + P_ROW0]) + row) * uint(meta[p + P_WIDTH]) + uint(start);
#endif
    ivec3 acc = ivec3(HALF);
    for (int j = 0; j < count; j++) {
        int k = meta[co + 2u + uint(j)];
#if defined(IMAGE)
        uint px = texel(start + j, y);
#else
        uint px = pix[src + uint(j)];
#endif
        if (CHANNELS == 1u)
            acc.x += k * luma(px);
        else
            acc += k * unpack_rgb(px);
    }
    // scratch is column-major per image: [kept column][row], so this store is contiguous
    tmp[uint(meta[p + P_TMP]) + col * rows + row] = clip8(acc.x) | (clip8(acc.y) << 8) | (clip8(acc.z) << 16);
}

#else // PASS == 2
layout(set = 0, binding = 1) readonly buffer Tmp { uint tmp[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float outp[]; };
layout(push_constant) uniform Push {
    vec4 mean, std_;
    uint S, batch;      // the output's height
    float rescale;
    uint W;             // the output's width
} pc;

void main()
{
    uint x = gl_GlobalInvocationID.x, y = gl_WorkGroupID.y, z = gl_WorkGroupID.z;
    if (x >= pc.W)
        return;
    bool empty = z >= uint(meta[8]);
    uvec3 v = uvec3(0u);   // what the crop shows outside the resized image (HF and torchvision pad with 0)
    if (!empty) {
        uint p = HEADER + z * IMAGE_WORDS;
        uint kw = uint(meta[p + P_KW]), cx = x - uint(meta[p + P_KX0]), cy = y - uint(meta[p + P_KY0]);
        if (cx < kw && cy < uint(meta[p + P_KH])) {   // unsigned: also false left of / above the image
            uint co = uint(meta[p + P_VCO]) + cy * uint(meta[p + P_VTAPS] + 2);
            int start = meta[co], count = meta[co + 1u];
            uint t = uint(meta[p + P_TMP]) + cx * uint(meta[p + P_ROWS]) + uint(start - meta[p + P_ROW0]);
            ivec3 acc = ivec3(HALF);
            for (int j = 0; j < count; j++)
                acc += meta[co + 2u + uint(j)] * unpack_rgb(tmp[t + uint(j)]);
            v = uvec3(clip8(acc.x), clip8(acc.y), clip8(acc.z));
        }
    }
    uint o = (z * CHANNELS * pc.S + y) * pc.W + x, plane = pc.S * pc.W;
    for (uint c = 0u; c < CHANNELS; c++)
        outp[o + c * plane] = empty ? 0.0 : (float(v[c]) * pc.rescale - pc.mean[c]) / pc.std_[c];
}
#endif
#endif
