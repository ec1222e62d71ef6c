/* embed_demo's renderer: a textured quad drawn with a graphics pipeline, the way a game draws its
 * frame (in miniature). One render pass and pipeline per colour format: the scene into the offscreen
 * target, and the target into the window's swapchain images. Shaders: embed_demo_quad.vert/.frag. */
#ifndef EMBED_DEMO_QUAD_H
#define EMBED_DEMO_QUAD_H

#include "app_vulkan.h"

/* What every quad pass shares: shaders, sampler, descriptor set layout and pool, pipeline layout. */
typedef struct demo_quads {
    VkShaderModule vert, frag;
    VkSampler sampler;                 /* bilinear, clamped to the edge */
    VkDescriptorSetLayout set_layout;  /* binding 0: the texture (combined image sampler) */
    VkPipelineLayout layout;           /* + push constant: the texture's rectangle, vec4 */
    VkDescriptorPool pool;
} demo_quads;

/* A render pass with one colour attachment of `format`, cleared to black, left in `final_layout`,
 * and the pipeline that draws quads into it. */
typedef struct demo_quad_pass {
    VkRenderPass render_pass;
    VkPipeline pipeline;
} demo_quad_pass;

/* 0 or -1 (printed). `max_textures`: how many demo_quads_texture calls there will be. */
int demo_quads_create(app_vulkan *vk, uint32_t max_textures, demo_quads *q);
/* A descriptor set that shows `view`, to be sampled in SHADER_READ_ONLY_OPTIMAL. */
int demo_quads_texture(app_vulkan *vk, demo_quads *q, VkImageView view, VkDescriptorSet *out);
int demo_quad_pass_create(app_vulkan *vk, const demo_quads *q, VkFormat format, VkImageLayout final_layout,
                          demo_quad_pass *out);
void demo_quad_pass_destroy(app_vulkan *vk, demo_quad_pass *p);
/* A framebuffer of one attachment, `view`, for the pass. */
int demo_quad_framebuffer(app_vulkan *vk, const demo_quad_pass *p, VkImageView view, VkExtent2D extent,
                          VkFramebuffer *out);
void demo_quads_destroy(app_vulkan *vk, demo_quads *q);

/* Records the pass over `framebuffer` (extent), cleared, with the rectangle uv = (u0, v0, u1, v1) of
 * `texture` drawn into `where`. The pass waits for the attachment's earlier uses as a colour attachment,
 * a transfer, a fragment- or compute-shader read (its external dependency). */
void demo_quad_draw(VkCommandBuffer cb, const demo_quads *q, const demo_quad_pass *p, VkFramebuffer framebuffer,
                    VkExtent2D extent, VkDescriptorSet texture, const float uv[4], VkRect2D where);

#endif
