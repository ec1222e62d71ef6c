#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
// The implicit-GEMM convolution measured against op_conv2d (conv_igemm.c, bench/README.md "conv2d");
// not part of the library. NHWC x [B][H][W][Cin] with Cin % 4 == 0, weight [Cout][kh][kw][Cin], no
// bias, fp32. shaders/matmul.comp's DIRECT kernel (one subgroup, a TM x (WG_X*TN) block, rows of A
// shared by subgroupBroadcast, vec4 loads, k in order) with the A loader computing the im2col address
// of each row's tap: the same products in the same order as im2col + that kernel.
layout(constant_id = 0) const uint WG_X = 8;
layout(constant_id = 2) const uint TM = 16;
layout(constant_id = 3) const uint TN = 16;
layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) restrict readonly buffer XV { vec4 x4[]; };
layout(set = 0, binding = 1) restrict readonly buffer WV { vec4 w4[]; };
layout(set = 0, binding = 2) writeonly buffer YS { float y[]; };
layout(push_constant) uniform Push { uint M, N, K, Cin, H, W, Ho, Wo, kh, kw, stride, pt, pl; } pc;

float fma4(vec4 a, vec4 b, float acc)
{
    return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, acc))));
}
const uint TMS = TM / WG_X;

void main()
{
    uint lane = gl_SubgroupInvocationID;
    uint m0 = gl_WorkGroupID.y * TM;
    uint n0 = gl_WorkGroupID.x * (WG_X * TN) + lane;
    uint xb[TMS], iy0[TMS], ix0[TMS], wrow[TN];
    [[unroll]] for (uint q = 0; q < TMS; q++) {
        uint m = min(m0 + q * WG_X + lane, pc.M - 1u);
        uint ox = m % pc.Wo, oy = (m / pc.Wo) % pc.Ho, b = m / (pc.Wo * pc.Ho);
        xb[q] = b * pc.H * pc.W * pc.Cin;
        iy0[q] = oy * pc.stride - pc.pt;
        ix0[q] = ox * pc.stride - pc.pl;
    }
    [[unroll]] for (uint j = 0; j < TN; j++)
        wrow[j] = min(n0 + j * WG_X, pc.N - 1u) * pc.K;
    float acc[TM][TN];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++)
            acc[i][j] = 0.0;
    uint k = 0;
    for (uint ky = 0; ky < pc.kh; ky++)
        for (uint kx = 0; kx < pc.kw; kx++) {
            uint base[TMS];
            bool ok[TMS];
            [[unroll]] for (uint q = 0; q < TMS; q++) {
                uint iy = iy0[q] + ky, ix = ix0[q] + kx;
                ok[q] = iy < pc.H && ix < pc.W;
                base[q] = ok[q] ? xb[q] + (iy * pc.W + ix) * pc.Cin : 0u;
            }
            for (uint c = 0; c < pc.Cin; c += 4u, k += 4u) {
                vec4 xv[TMS], wv[TN];
                [[unroll]] for (uint q = 0; q < TMS; q++) {
                    vec4 v = x4[(base[q] + c) / 4u];
                    xv[q] = ok[q] ? v : vec4(0.0);
                }
                [[unroll]] for (uint j = 0; j < TN; j++)
                    wv[j] = w4[(wrow[j] + k) / 4u];
                [[unroll]] for (uint q = 0; q < TMS; q++) {
                    vec4 mine = xv[q];
#define ROW_FROM_LANE(l)                                                                  \
                    if (l < WG_X) {                                                               \
                        vec4 a = subgroupBroadcast(mine, l);                                      \
                        [[unroll]] for (uint j = 0; j < TN; j++)                                  \
                            acc[q * WG_X + l][j] = fma4(a, wv[j], acc[q * WG_X + l][j]);          \
                    }
                    ROW_FROM_LANE(0) ROW_FROM_LANE(1) ROW_FROM_LANE(2) ROW_FROM_LANE(3)
                    ROW_FROM_LANE(4) ROW_FROM_LANE(5) ROW_FROM_LANE(6) ROW_FROM_LANE(7)
                    ROW_FROM_LANE(8) ROW_FROM_LANE(9) ROW_FROM_LANE(10) ROW_FROM_LANE(11)
                    ROW_FROM_LANE(12) ROW_FROM_LANE(13) ROW_FROM_LANE(14) ROW_FROM_LANE(15)
                }
            }
        }
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint n = n0 + j * WG_X;
        if (n >= pc.N)
            continue;
        [[unroll]] for (uint i = 0; i < TM; i++)
            if (m0 + i < pc.M)
                y[(m0 + i) * pc.N + n] = acc[i][j];
    }
}
