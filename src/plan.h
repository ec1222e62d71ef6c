/* A plan: the forward pass of one model at one batch size, recorded once into one command buffer. */
#ifndef VKVIT_PLAN_H
#define VKVIT_PLAN_H

#include "model.h"

struct vkvit_plan {
    struct vkvit_model *model;
    vkvit_context *ctx;
    uint32_t batch;
    bool maps;
    bool all_tokens;              /* plan option patch_tokens: `tokens` holds every token after the final LayerNorm */
    bool normalize;               /* plan option normalize_embeddings: the getter L2-normalises (on the host) */
    const char *matmul_kernel;    /* what its linear layers run (op_matmul_kernel at creation) */
    vk_buffer arena;              /* device-local activations, regions reused by liveness */
    vk_buffer io;                 /* host-visible: input staging + output readback        */
    /* arena regions */
    vk_span input, x, ha, big, pooled, pre, logits, attn;   /* x/ha/big in the model's precision; the rest fp32;
                                                             * pre: [batch][R], empty without a pre-logits layer */
    vk_span pooled_h, pre_h, logits_h, attn_h;              /* fp16 plans: one pass's outputs before widening */
    vk_span tokens;               /* with all_tokens: [batch][T][D] fp32 after the final LayerNorm; else empty */
    struct plan_stem {            /* a hybrid's ResNet (docs/hybrid.md), a chunk's; empty spans otherwise */
        vk_span x, sc, h1, h2;    /* NHWC maps, each [chunk][vit_resnet_floats] in the model's precision */
        vk_span scratch;          /* conv2d's im2col patches (the whole matrix of the largest, or passes) */
    } stem;
    /* Batches whose activations exceed one binding run in passes of `chunk` images (chunk = batch:
     * one pass). x/ha/big are sized for a chunk; a chunked pass reads c.input and writes c.*, which
     * are then copied into place (plan_record_compute). */
    uint32_t chunk;
    struct plan_chunk {
        vk_span input, pooled, pre, logits, attn;
        uint32_t attn_stride;     /* floats between layers in c.attn */
    } c;
    /* io byte offsets */
    VkDeviceSize io_input, io_logits, io_pooled, io_pre, io_attn;
    VkDeviceSize io_tokens;       /* [batch][T][D] with all_tokens */
    uint32_t attn_layer_stride;   /* floats between layers in the attention-map region (aligned) */
    vk_cmd *cmd;                  /* float input: io -> input, forward                    */
    uint32_t last_n;              /* images in the last run; 0 = nothing ran yet */
    /* vkvit_run_images: a second command buffer, recorded on first use and again whenever a run
     * needs bigger buffers (capacities only grow): upload + preprocess -> input, the same forward. */
    struct plan_images {
        vk_cmd *cmd;
        vk_buffer staging_meta, staging_pixels;  /* host-visible, written before each submit */
        vk_buffer meta, pixels, scratch;         /* device */
    } img;
    /* A run submitted without waiting (a signal given): its results become the last run's at plan_wait. */
    vk_cmd *pending;
    uint32_t pending_n;
    struct plan_record *rec;      /* vkvit_record's state (src/record.c); NULL until used        */
};

/* The float-input command buffer writes GPU timestamps around the whole pass (input copy to
 * outputs), for benchmarks: vk_cmd_timestamps_ns(p->cmd, PLAN_TIMESTAMPS, ns). */
enum { PLAN_TS_START = 0, PLAN_TS_END = 1, PLAN_TIMESTAMPS = 2 };
/* Benchmarks (vkvit-bench --ops): records p->cmd again with vk_cmd profiling on or off (a timestamp
 * after every dispatch, tagged with its shader: vk_cmd_set_profiling). Plans are created with it off. */
vkvit_status plan_set_profiling(struct vkvit_plan *p, bool on);

vkvit_status plan_create(struct vkvit_model *m, uint32_t batch, bool maps, struct vkvit_plan **out);
/* The same, and with `tokens` every token after the final LayerNorm too (p->tokens, plan option patch_tokens). */
vkvit_status plan_create_tokens(struct vkvit_model *m, uint32_t batch, bool maps, bool tokens, struct vkvit_plan **out);
/* Runs: normalised floats, or RGBA8 images of any size preprocessed on the GPU as the model's spec
 * says (p->model->pre). Each completes a pending run first, then submits its command buffer: with
 * `signal` NULL it waits and the results are the last run's; otherwise it returns once submitted, the
 * run pending (plan_wait), and the signal's fence / semaphore are signalled when it completes. */
vkvit_status plan_run(struct vkvit_plan *p, const float *input, uint32_t n, const vk_signal *signal);
vkvit_status plan_run_images(struct vkvit_plan *p, const vkvit_image *images, uint32_t n, const vk_signal *signal);
/* Completes a pending run, whose results become the last run's; nothing pending: OK. Every run starts
 * with it, as the pending one may still read the buffers the next one writes. */
vkvit_status plan_wait(struct vkvit_plan *p);
/* *done = no run pending any more (a finished one is completed as by plan_wait). */
vkvit_status plan_poll(struct vkvit_plan *p, bool *done);
/* Waits for a pending run, then frees the plan; p->rec must have been freed (record_free). */
void plan_destroy(struct vkvit_plan *p);

/* Records the forward pass from the input region p->input ([batch][C][S][S] fp32, normalised) to
 * the fp32 output regions of the arena: p->logits [batch][K] (K > 0), p->pooled [batch][prefix*D],
 * p->pre [batch][R] (R > 0),
 * p->attn (with maps: layer l, image b at float (l * attn_layer_stride + b * T)), p->tokens [batch][T][D]
 * (with all_tokens), ending with a
 * barrier (compute/transfer writes -> compute/transfer reads). Shared by every way a plan is run. */
vkvit_status plan_record_compute(struct vkvit_plan *p, vk_cmd *cmd);

/* Host views of the last run's outputs inside the io buffer. */
const float *plan_logits(const struct vkvit_plan *p);   /* [batch][K]           */
const float *plan_pooled(const struct vkvit_plan *p);   /* [batch][prefix*D]    */
/* The embedding of `image` (dims.E floats): its pre-logits row where the model has that layer, else its
 * final-LayerNorm class token; in io, and (the span) in the arena. */
const float *plan_embedding(const struct vkvit_plan *p, uint32_t image);
vk_span plan_embedding_span(const struct vkvit_plan *p, uint32_t image);
const float *plan_input(const struct vkvit_plan *p);    /* [batch][C][S][S]; after images: preprocessed */
/* Every token of the batch after the final LayerNorm, [batch][T][D] (plans with all_tokens). */
const float *plan_tokens(const struct vkvit_plan *p);
/* Attention map of (layer, image): T floats. */
const float *plan_attention(const struct vkvit_plan *p, uint32_t layer, uint32_t image);

#endif
