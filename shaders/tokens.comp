#version 450
#extension GL_GOOGLE_include_directive : require
// Token sequence: x[b][t] = (t < prefix + regs ? token[t] : emb[b*N + t - prefix - regs]) + pos[t], where token 0
// is the class token, token 1 (distilled models) the distillation token, then the register tokens (DINOv2 with
// registers; their pos rows are zero where the checkpoint gives them none); prefix 0 (SigLIP): no class token.
// Every buffer holds types.glsl's storage type; the sum is formed in fp32 and rounded once.
#include "types.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Emb { STORE_T emb[]; };   // [B*N][D]
layout(set = 0, binding = 1) readonly buffer Cls { STORE_T cls[]; };   // [D]
layout(set = 0, binding = 2) readonly buffer Dist { STORE_T dist[]; }; // [D] (bound to cls if absent)
layout(set = 0, binding = 3) readonly buffer Pos { STORE_T pos[]; };   // [T][D]
layout(set = 0, binding = 4) writeonly buffer X { STORE_T x[]; };      // [B][T][D]
layout(set = 0, binding = 5) readonly buffer Reg { STORE_T reg[]; };   // [regs][D] (bound to cls if none)
layout(push_constant) uniform Push { uint batch, T, D, prefix, regs; } pc;

void main()
{
    uint total = pc.batch * pc.T * pc.D;
    uint i = FLAT_INVOCATION_INDEX();
    if (i >= total)
        return;
    uint d = i % pc.D, t = (i / pc.D) % pc.T, b = i / (pc.D * pc.T);
    float v;
    if (t == 0u && pc.prefix > 0u)
        v = widen(cls[d]);
    else if (t < pc.prefix)
        v = widen(dist[d]);
    else if (t < pc.prefix + pc.regs)
        v = widen(reg[(t - pc.prefix) * pc.D + d]);
    else
        v = widen(emb[(b * (pc.T - pc.prefix - pc.regs) + t - pc.prefix - pc.regs) * pc.D + d]);
    x[i] = narrow(v + widen(pos[t * pc.D + d]));
}
