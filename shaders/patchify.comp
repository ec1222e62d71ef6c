#version 450
// im2col for the patch embedding: image [B][C][S][S] -> patches [B*G*G][C*P*P], row = b*G*G + gy*G + gx,
// column = c*P*P + py*P + px (the flattening of a conv weight [D][C][P][P]), so the patch embedding
// is one GEMM: patches . W^T + b.
// FP16=1: the image stays fp32 (as preprocessing writes it); patches are rounded once to fp16.
#ifdef FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define T float16_t
#else
#define T float
#endif
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Img { float img[]; };
layout(set = 0, binding = 1) writeonly buffer Out { T patches[]; };
layout(push_constant) uniform Push { uint batch, C, S, P, G; } pc;

void main()
{
    uint cpp = pc.C * pc.P * pc.P;
    uint total = pc.batch * pc.G * pc.G * cpp;
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i >= total)
        return;
    uint col = i % cpp, row = i / cpp;
    uint px = col % pc.P, py = (col / pc.P) % pc.P, c = col / (pc.P * pc.P);
    uint g2 = pc.G * pc.G, b = row / g2, cell = row % g2;
    uint y = (cell / pc.G) * pc.P + py, x = (cell % pc.G) * pc.P + px;
    patches[i] = T(img[((b * pc.C + c) * pc.S + y) * pc.S + x]);
}
