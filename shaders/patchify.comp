#version 450
#extension GL_GOOGLE_include_directive : require
// im2col for the patch embedding: image [B][C][S][W] -> patches [B*G*Gw][C*P*P] (G = S/P, Gw = W/P),
// row = b*G*Gw + gy*Gw + gx,
// column = c*P*P + py*P + px (the flattening of a conv weight [D][C][P][P]), so the patch embedding
// is one GEMM: patches . W^T + b.
// The image is fp32 whatever the storage type (preprocessing writes it); FP16=1 rounds patches once.
#include "types.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Img { float img[]; };
layout(set = 0, binding = 1) writeonly buffer Out { STORE_T patches[]; };
layout(push_constant) uniform Push { uint batch, C, S, W, P, G, Gw; } pc;

void main()
{
    uint cpp = pc.C * pc.P * pc.P;
    uint total = pc.batch * pc.G * pc.Gw * cpp;
    uint i = FLAT_INVOCATION_INDEX();
    if (i >= total)
        return;
    uint col = i % cpp, row = i / cpp;
    uint px = col % pc.P, py = (col / pc.P) % pc.P, c = col / (pc.P * pc.P);
    uint g2 = pc.G * pc.Gw, b = row / g2, cell = row % g2;
    uint y = (cell / pc.Gw) * pc.P + py, x = (cell % pc.Gw) * pc.P + px;
    patches[i] = narrow(img[((b * pc.C + c) * pc.S + y) * pc.W + x]);
}
