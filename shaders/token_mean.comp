#version 450
#extension GL_GOOGLE_include_directive : require
// Mean over a run of tokens: y[b*y_stride + y_first + d] = (1/count) sum_{t < count} x[(b*T + first + t)*D + d]
// (Hugging Face's Dinov2ForImageClassification pools its final-LayerNorm patch tokens so). One invocation per
// (b, d), summed in fp32 in token order, rounded once into the storage type.
#include "types.glsl"
#include "common.glsl"
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer X { STORE_T x[]; };   // [B][T][D]
layout(set = 0, binding = 1) writeonly buffer Y { STORE_T y[]; };  // [B][y_stride]
layout(push_constant) uniform Push { uint batch, T, D, first, count, y_stride, y_first; } pc;

void main()
{
    uint i = FLAT_INVOCATION_INDEX();
    if (i >= pc.batch * pc.D)
        return;
    uint d = i % pc.D, b = i / pc.D;
    uint at = (b * pc.T + pc.first) * pc.D + d;
    float sum = 0.0;
    for (uint t = 0u; t < pc.count; t++)
        sum += widen(x[at + t * pc.D]);
    y[b * pc.y_stride + pc.y_first + d] = narrow(sum / float(pc.count));
}
