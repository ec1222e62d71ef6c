/* The textured-quad renderer: render passes, pipelines, descriptor sets, draws. */
#include "embed_demo_quad.h"

#include <string.h>

#include "embed_demo_quad_frag.spv.h" /* glslang --vn: const uint32_t spv_embed_demo_quad_frag[] */
#include "embed_demo_quad_vert.spv.h"

static int shader(app_vulkan *vk, const uint32_t *code, size_t bytes, VkShaderModule *out)
{
    VkShaderModuleCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes, .pCode = code};
    return app_vk_check(vkCreateShaderModule(vk->device, &ci, NULL, out), "vkCreateShaderModule");
}

int demo_quads_create(app_vulkan *vk, uint32_t max_textures, demo_quads *q)
{
    memset(q, 0, sizeof *q);
    VkSamplerCreateInfo sci = {
        .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
        .magFilter = VK_FILTER_LINEAR,
        .minFilter = VK_FILTER_LINEAR,
        .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
        .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
        .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
        .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
    };
    VkDescriptorSetLayoutBinding binding = {
        .binding = 0,
        .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT,
    };
    VkDescriptorSetLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = 1, .pBindings = &binding};
    VkPushConstantRange push = {VK_SHADER_STAGE_VERTEX_BIT, 0, 4 * sizeof(float)};
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, max_textures};
    VkDescriptorPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = max_textures, .poolSizeCount = 1,
        .pPoolSizes = &size};
    if (shader(vk, spv_embed_demo_quad_vert, sizeof spv_embed_demo_quad_vert, &q->vert) ||
        shader(vk, spv_embed_demo_quad_frag, sizeof spv_embed_demo_quad_frag, &q->frag))
        return -1;
    APP_TRY(vkCreateSampler(vk->device, &sci, NULL, &q->sampler));
    APP_TRY(vkCreateDescriptorSetLayout(vk->device, &lci, NULL, &q->set_layout));
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 1,
                                       .pSetLayouts = &q->set_layout,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &push};
    APP_TRY(vkCreatePipelineLayout(vk->device, &plci, NULL, &q->layout));
    APP_TRY(vkCreateDescriptorPool(vk->device, &pci, NULL, &q->pool));
    return 0;
fail:
    return -1; /* demo_quads_destroy releases what exists */
}

int demo_quads_texture(app_vulkan *vk, demo_quads *q, VkImageView view, VkDescriptorSet *out)
{
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = q->pool,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &q->set_layout};
    if (app_vk_check(vkAllocateDescriptorSets(vk->device, &ai, out), "vkAllocateDescriptorSets"))
        return -1;
    VkDescriptorImageInfo image = {q->sampler, view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                              .dstSet = *out,
                              .descriptorCount = 1,
                              .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
                              .pImageInfo = &image};
    vkUpdateDescriptorSets(vk->device, 1, &w, 0, NULL);
    return 0;
}

static int create_render_pass(app_vulkan *vk, VkFormat format, VkImageLayout final_layout, VkRenderPass *out)
{
    VkAttachmentDescription color = {
        .format = format,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
        .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
        .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
        .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
        .finalLayout = final_layout,
    };
    VkAttachmentReference ref = {0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription subpass = {
        .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS, .colorAttachmentCount = 1, .pColorAttachments = &ref};
    /* The attachment's earlier users finish first: the previous frame's vkvit (compute), label copy and
     * readback (transfer), present pass (fragment), and a swapchain image's "acquired" wait (colour output). */
    VkSubpassDependency before = {
        .srcSubpass = VK_SUBPASS_EXTERNAL,
        .dstSubpass = 0,
        .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                        VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
        .dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
        .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
    };
    VkRenderPassCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
        .attachmentCount = 1,
        .pAttachments = &color,
        .subpassCount = 1,
        .pSubpasses = &subpass,
        .dependencyCount = 1,
        .pDependencies = &before,
    };
    return app_vk_check(vkCreateRenderPass(vk->device, &ci, NULL, out), "vkCreateRenderPass");
}

int demo_quad_pass_create(app_vulkan *vk, const demo_quads *q, VkFormat format, VkImageLayout final_layout,
                          demo_quad_pass *p)
{
    memset(p, 0, sizeof *p);
    if (create_render_pass(vk, format, final_layout, &p->render_pass))
        return -1;
    VkPipelineShaderStageCreateInfo stages[2] = {
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_VERTEX_BIT,
         .module = q->vert, .pName = "main"},
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
         .module = q->frag, .pName = "main"},
    };
    VkPipelineVertexInputStateCreateInfo vertices = {.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    VkPipelineInputAssemblyStateCreateInfo assembly = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
        .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP};
    VkPipelineViewportStateCreateInfo viewport = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, .viewportCount = 1, .scissorCount = 1};
    VkPipelineRasterizationStateCreateInfo raster = {.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
                                                     .polygonMode = VK_POLYGON_MODE_FILL,
                                                     .cullMode = VK_CULL_MODE_NONE,
                                                     .lineWidth = 1.0f};
    VkPipelineMultisampleStateCreateInfo multisample = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO, .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT};
    VkPipelineColorBlendAttachmentState opaque = {.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT |
                                                                    VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT};
    VkPipelineColorBlendStateCreateInfo blend = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO, .attachmentCount = 1, .pAttachments = &opaque};
    VkDynamicState dynamic_states[] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dynamic = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO, .dynamicStateCount = 2, .pDynamicStates = dynamic_states};
    VkGraphicsPipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
        .stageCount = 2,
        .pStages = stages,
        .pVertexInputState = &vertices,
        .pInputAssemblyState = &assembly,
        .pViewportState = &viewport,
        .pRasterizationState = &raster,
        .pMultisampleState = &multisample,
        .pColorBlendState = &blend,
        .pDynamicState = &dynamic,
        .layout = q->layout,
        .renderPass = p->render_pass,
    };
    return app_vk_check(vkCreateGraphicsPipelines(vk->device, VK_NULL_HANDLE, 1, &ci, NULL, &p->pipeline),
                        "vkCreateGraphicsPipelines");
}

int demo_quad_framebuffer(app_vulkan *vk, const demo_quad_pass *p, VkImageView view, VkExtent2D extent,
                          VkFramebuffer *out)
{
    VkFramebufferCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
        .renderPass = p->render_pass,
        .attachmentCount = 1,
        .pAttachments = &view,
        .width = extent.width,
        .height = extent.height,
        .layers = 1,
    };
    return app_vk_check(vkCreateFramebuffer(vk->device, &ci, NULL, out), "vkCreateFramebuffer");
}

void demo_quad_pass_destroy(app_vulkan *vk, demo_quad_pass *p)
{
    if (p->pipeline)
        vkDestroyPipeline(vk->device, p->pipeline, NULL);
    if (p->render_pass)
        vkDestroyRenderPass(vk->device, p->render_pass, NULL);
    memset(p, 0, sizeof *p);
}

void demo_quads_destroy(app_vulkan *vk, demo_quads *q)
{
    if (q->pool)
        vkDestroyDescriptorPool(vk->device, q->pool, NULL);
    if (q->layout)
        vkDestroyPipelineLayout(vk->device, q->layout, NULL);
    if (q->set_layout)
        vkDestroyDescriptorSetLayout(vk->device, q->set_layout, NULL);
    if (q->sampler)
        vkDestroySampler(vk->device, q->sampler, NULL);
    if (q->frag)
        vkDestroyShaderModule(vk->device, q->frag, NULL);
    if (q->vert)
        vkDestroyShaderModule(vk->device, q->vert, NULL);
    memset(q, 0, sizeof *q);
}

void demo_quad_draw(VkCommandBuffer cb, const demo_quads *q, const demo_quad_pass *p, VkFramebuffer framebuffer,
                    VkExtent2D extent, VkDescriptorSet texture, const float uv[4], VkRect2D where)
{
    VkClearValue black = {.color = {{0, 0, 0, 1}}};
    VkRenderPassBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
        .renderPass = p->render_pass,
        .framebuffer = framebuffer,
        .renderArea = {{0, 0}, extent},
        .clearValueCount = 1,
        .pClearValues = &black,
    };
    VkViewport viewport = {(float)where.offset.x, (float)where.offset.y, (float)where.extent.width,
                           (float)where.extent.height, 0.0f, 1.0f};
    vkCmdBeginRenderPass(cb, &bi, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, p->pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, q->layout, 0, 1, &texture, 0, NULL);
    vkCmdPushConstants(cb, q->layout, VK_SHADER_STAGE_VERTEX_BIT, 0, 4 * sizeof(float), uv);
    vkCmdSetViewport(cb, 0, 1, &viewport);
    vkCmdSetScissor(cb, 0, 1, &where);
    vkCmdDraw(cb, 4, 1, 0, 0);
    vkCmdEndRenderPass(cb);
}
