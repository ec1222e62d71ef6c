#version 450
// embed_demo's textured quad: a triangle strip of 4 vertices (no vertex buffer) covering the viewport,
// showing the texture's rectangle quad.uv = (u0, v0, u1, v1), (u0, v0) at the viewport's top-left.
layout(push_constant) uniform Quad {
    vec4 uv;
} quad;

layout(location = 0) out vec2 uv;

void main()
{
    vec2 corner = vec2(gl_VertexIndex & 1, gl_VertexIndex >> 1); // (0,0) (1,0) (0,1) (1,1)
    uv = mix(quad.uv.xy, quad.uv.zw, corner);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
