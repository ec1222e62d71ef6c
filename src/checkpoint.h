/* Checkpoint translation: a ViT checkpoint on disk -> the model's configuration and its weights in
 * the canonical layout (model.h). The device model (model.c) calls it as
 *
 *     checkpoint *ck;
 *     s = checkpoint_open(path, &cfg, &pre, &ck);       // config + tensors read, reconciled, checked
 *     s = checkpoint_resize(ck, &cfg, &pre, 384);       // optional: run at another input size
 *     ... lay out the weight block from cfg ...
 *     s = checkpoint_read(ck, &layout, host);           // every tensor into its place, fp32
 *     checkpoint_close(ck);                              // the file mapping released
 *
 * A checkpoint is a directory (model.safetensors or its index, config.json, labels.txt,
 * preprocessor_config.json; all but the weights optional), a .safetensors file, or a Google .npz
 * (with an optional labels.txt beside it; nothing else beside it is read). Each family (Hugging Face
 * ViT / DeiT, timm, Google's Flax layouts) is a naming table and a shape rule in checkpoint.c. */
#ifndef VKVIT_CHECKPOINT_H
#define VKVIT_CHECKPOINT_H

#include "layout.h"
#include "preprocess.h"

typedef struct checkpoint checkpoint;

/* Opens the checkpoint at `path`, finds its family and fills *cfg (config_init'ed; the caller
 * frees it, also on failure): config.json where there is one, the rest inferred from the tensors'
 * shapes, defaults applied, labels.txt read if the config names no labels, validated. *pre: how an
 * image becomes the model's input. Every tensor is checked against the shape the configuration
 * gives; an unknown, duplicate, missing or misshapen tensor is an error naming it. */
vkvit_status checkpoint_open(const char *path, vit_config *cfg, preprocess_spec *pre, checkpoint **out);
/* Runs the model at `height` x `width` pixels instead of the checkpoint's size: cfg->image (the height), cfg->image_w
 * (the width, 0 when square) and the preprocessing
 * (preprocess_spec_resize) follow, and checkpoint_read resamples the position embedding's grid (posembed.h: as
 * timm's loader does for timm checkpoints, as Hugging Face's interpolate_pos_encoding does for HF ones, as
 * vit_jax's scipy zoom does for Google's .npz). The
 * checkpoint's own size is a no-op. Errors: VKVIT_ERROR_INVALID_ARGUMENT (a side not a multiple of the patch size,
 * or above CONFIG_MAX_IMAGE), VKVIT_ERROR_UNSUPPORTED (a hybrid at a non-square size), preprocess_spec_resize's. */
vkvit_status checkpoint_resize(checkpoint *ck, vit_config *cfg, preprocess_spec *pre, uint32_t height,
                               uint32_t width);
const char *checkpoint_family(const checkpoint *ck);   /* "hf-vit", "hf-deit", "timm", "google-vit", "big_vision" */
/* The size the checkpoint's own library runs it at when it is not the config's: a Hugging Face DINOv2's image
 * processor crop (224 for a config's 518; Dinov2Embeddings interpolates the position embedding), which
 * checkpoint_open's preprocessing already targets; 0 otherwise. Pass it to checkpoint_resize when the caller
 * asks for no size. */
uint32_t checkpoint_run_size(const checkpoint *ck);
uint64_t checkpoint_parameters(const checkpoint *ck);  /* elements of every tensor stored, used or not */
/* One line: the config file or the weights, and which numbers came from it, from the tensor shapes,
 * or from defaults (vkvit_model_info.config). Valid until checkpoint_close. */
const char *checkpoint_config_summary(const checkpoint *ck);
/* Writes every tensor, widened to fp32, into host (lay->total floats, zeroed) at its place in
 * `lay` (laid out for cfg after any checkpoint_resize); a distilled model's two heads are folded into one
 * (model.h). */
vkvit_status checkpoint_read(const checkpoint *ck, const vit_layout *lay, float *host);
void checkpoint_close(checkpoint *ck);                 /* NULL is fine */

#endif
