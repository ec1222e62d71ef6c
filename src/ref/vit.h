#ifndef VKVIT_REF_VIT_H
#define VKVIT_REF_VIT_H

#include "../model.h"

/* CPU reference forward for B images (input [B][C][S][S]) with the model's host weights
 * (model loaded with keep_host). Outputs: logits [B][K] (may be NULL), pooled [B][pool*D] (the
 * final-LN class token, then the distillation token; SigLIP: the attention-pooling head's
 * output), pre [B][R] the pre-logits tanh(Wpre . cls + b)
 * (may be NULL; unused where R = 0), maps [L][B][T] class-token attention (may be NULL). Returns 0,
 * or -1 without host weights or memory. */
int ref_vit_forward(const struct vkvit_model *m, const float *input, uint32_t B, float *logits, float *pooled,
                    float *pre, float *maps);
/* The same, and tokens [B][T][D]: every token after the final LayerNorm (may be NULL). */
int ref_vit_forward_tokens(const struct vkvit_model *m, const float *input, uint32_t B, float *logits, float *pooled,
                           float *pre, float *maps, float *tokens);

#endif
