/*
 * vkvit — Vision Transformers on any GPU through Vulkan compute.
 *
 * Usage in short:
 *
 *     vkvit_context *ctx = NULL;
 *     vkvit_context_options opt = {0};           // zero = good defaults
 *     if (vkvit_context_create(&opt, &ctx) != VKVIT_OK)
 *         fprintf(stderr, "vkvit: %s\n", vkvit_last_error());
 *     ...
 *     vkvit_context_destroy(ctx);
 *
 * Conventions
 *   - Every call that can fail returns a vkvit_status. On failure a human-readable detail (what went
 *     wrong and where: file, tensor, byte offset) is kept per thread; read it with vkvit_last_error().
 *   - Handles are opaque. Whoever creates a handle (or loads an image) ends it with the matching
 *     vkvit_*_destroy, which accepts NULL.
 *   - Option structs zero-initialise to sensible defaults.
 *   - No global state: contexts are independent. A context may be used from several threads at once;
 *     objects created from it (plans) are used by one thread at a time.
 *   - This header needs no Vulkan header. Sharing a VkDevice with vkvit, recording into your own
 *     command buffers, GPU-resident images and buffers, and fences / semaphores signalled by a run
 *     are in vkvit_vulkan.h.
 */
#ifndef VKVIT_H
#define VKVIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(VKVIT_BUILD_SHARED)
#define VKVIT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define VKVIT_API __attribute__((visibility("default")))
#else
#define VKVIT_API
#endif

#define VKVIT_VERSION_MAJOR 0
#define VKVIT_VERSION_MINOR 1
#define VKVIT_VERSION_PATCH 0

/* Defined in vkvit_vulkan.h (and vulkan_core.h); a program without Vulkan passes NULL. */
struct VkAllocationCallbacks;
typedef struct vkvit_submit_signal vkvit_submit_signal;

/* ---- status codes ------------------------------------------------------------------------------ */

typedef enum vkvit_status {
    VKVIT_OK = 0,
    VKVIT_ERROR_INVALID_ARGUMENT,     /* a NULL pointer, an out-of-range option, a bad call order   */
    VKVIT_ERROR_OUT_OF_HOST_MEMORY,
    VKVIT_ERROR_OUT_OF_DEVICE_MEMORY,
    VKVIT_ERROR_NO_VULKAN,            /* the Vulkan loader could not be found or initialised        */
    VKVIT_ERROR_NO_DEVICE,            /* no (matching) Vulkan device                                */
    VKVIT_ERROR_UNSUPPORTED,          /* the device lacks a required feature, limit or layer        */
    VKVIT_ERROR_VULKAN,               /* a Vulkan call failed; the detail names the call and VkResult */
    VKVIT_ERROR_DEVICE_LOST,
    VKVIT_ERROR_IO,                   /* a file could not be opened, read or written               */
    VKVIT_ERROR_FILE_TRUNCATED,       /* a file ends before the data its header announces          */
    VKVIT_ERROR_BAD_HEADER,           /* a safetensors header that is not valid JSON / not the format */
    VKVIT_ERROR_BAD_TENSOR_RANGE,     /* a tensor's byte range outside the data, overlapping, or not dtype x shape */
    VKVIT_ERROR_UNKNOWN_DTYPE,
    VKVIT_ERROR_MISSING_TENSOR,       /* a tensor the model needs is absent                          */
    VKVIT_ERROR_UNEXPECTED_TENSOR,    /* a tensor the naming map does not know                       */
    VKVIT_ERROR_SHAPE_MISMATCH,       /* a tensor has the wrong shape for the configuration          */
    VKVIT_ERROR_BAD_CONFIG,           /* config.json invalid, inconsistent, zero or absurd dimensions */
    VKVIT_ERROR_INPUT_SIZE,           /* an input of the wrong size                                  */
    VKVIT_ERROR_BATCH_TOO_LARGE,      /* more images than the plan was made for                      */
    VKVIT_ERROR_BAD_IMAGE,            /* an image that cannot be decoded or is unusable              */
    VKVIT_STATUS_COUNT
} vkvit_status;

/* A short constant name for a status, e.g. "VKVIT_ERROR_FILE_TRUNCATED". Never NULL. */
VKVIT_API const char *vkvit_status_string(vkvit_status status);

/* The detail of the last failure on the calling thread ("" if none). Valid until the next vkvit
 * call on this thread. */
VKVIT_API const char *vkvit_last_error(void);

/* ---- devices ----------------------------------------------------------------------------------- */

typedef enum vkvit_device_type {
    VKVIT_DEVICE_OTHER = 0,
    VKVIT_DEVICE_INTEGRATED_GPU,
    VKVIT_DEVICE_DISCRETE_GPU,
    VKVIT_DEVICE_VIRTUAL_GPU,
    VKVIT_DEVICE_CPU
} vkvit_device_type;

/* The cooperative-matrix (tensor core) extensions vkvit has a kernel for. */
typedef enum vkvit_coopmat_extension {
    VKVIT_COOPMAT_NONE = 0,
    VKVIT_COOPMAT_NV = 1,            /* VK_NV_cooperative_matrix (NVIDIA's proprietary driver)          */
    VKVIT_COOPMAT_KHR = 2            /* VK_KHR_cooperative_matrix (NVIDIA, AMD RADV, Intel ANV, Mesa's
                                      * lavapipe 25+)                                                   */
} vkvit_coopmat_extension;

/* One supported cooperative-matrix shape: D[MxN] (type d) = A[MxK] (a) * B[KxN] (b) + C (c).
 * Types are VkComponentTypeKHR values, which equal the NV ones (0 = FLOAT16, 1 = FLOAT32, ...).
 * Only shapes of subgroup scope are listed. */
typedef struct vkvit_coopmat_shape {
    uint32_t m, n, k;
    uint32_t a_type, b_type, c_type, d_type;
    vkvit_coopmat_extension extension;   /* which extension lists it */
    int saturating;                      /* saturatingAccumulation (KHR; 0 for NV) */
} vkvit_coopmat_shape;

#define VKVIT_MAX_COOPMAT_SHAPES 16

typedef struct vkvit_device_info {
    uint32_t index;                  /* position in vkEnumeratePhysicalDevices order                */
    char name[256];
    uint32_t vendor_id, device_id;
    const char *vendor;              /* "NVIDIA", "AMD", "Intel", "Mesa (llvmpipe)", ... static string */
    vkvit_device_type type;
    uint32_t api_version;            /* VK_MAKE_API_VERSION form                                     */
    uint32_t driver_version;         /* raw, vendor-encoded                                          */
    char driver_name[256], driver_info[256];
    uint32_t subgroup_size;
    uint32_t subgroup_ops;           /* VkSubgroupFeatureFlags supported in compute shaders           */
    int shader_float16;              /* VkPhysicalDeviceShaderFloat16Int8Features.shaderFloat16      */
    int storage_buffer_16bit;        /* storageBuffer16BitAccess                                      */
    int cooperative_matrix_nv;       /* VK_NV_cooperative_matrix present and its feature enabled-able */
    int cooperative_matrix_khr;      /* VK_KHR_cooperative_matrix present and its feature enabled-able
                                      * (a build without the KHR kernel only sees that it is listed)  */
    uint32_t coopmat_shape_count;    /* shapes of both extensions, KHR first                         */
    vkvit_coopmat_shape coopmat_shapes[VKVIT_MAX_COOPMAT_SHAPES];
    /* What a context uses (vkvit_context_device_info; zeros / NULL from vkvit_enumerate_devices):
     * the extension and fragment shape of its cooperative-matrix matmul, the subgroup size that
     * kernel runs at (pinned with subgroup size control where the device has it), and, when
     * coopmat_extension is NONE, why not (a static string). fp16 matmuls of an fp16 model use it;
     * vkvit_plan_info.matmul_kernel says what a plan runs. */
    vkvit_coopmat_extension coopmat_extension;
    uint32_t coopmat_m, coopmat_n, coopmat_k;
    uint32_t coopmat_subgroup_size;
    const char *coopmat_status;
    uint32_t max_shared_memory;      /* maxComputeSharedMemorySize, bytes                             */
    uint32_t max_storage_buffer_range;
    float timestamp_period;          /* nanoseconds per timestamp tick; 0 if compute timestamps unsupported */
    uint64_t device_local_bytes;     /* largest device-local heap                                     */
} vkvit_device_info;

/* "discrete GPU", "integrated GPU", "virtual GPU", "CPU" or "other". Never NULL. */
VKVIT_API const char *vkvit_device_type_string(vkvit_device_type type);

/* Fills up to *count entries of `infos` with every Vulkan device the loader reports, and sets *count
 * to the number of devices. Pass infos = NULL to only count. Creates and destroys a temporary
 * instance. */
VKVIT_API vkvit_status vkvit_enumerate_devices(vkvit_device_info *infos, uint32_t *count);

/* ---- context ----------------------------------------------------------------------------------- */

typedef struct vkvit_context vkvit_context;

/* Severity passed to a message callback. */
typedef enum vkvit_message_severity {
    VKVIT_MESSAGE_INFO = 0,
    VKVIT_MESSAGE_WARNING,
    VKVIT_MESSAGE_ERROR
} vkvit_message_severity;

typedef void (*vkvit_message_fn)(void *user, vkvit_message_severity severity, const char *message);

/* Kernel autotuning (matmul tile sizes and workgroup shapes). */
typedef enum vkvit_tune {
    /* The winners a tuning run saved for this device next to the pipeline cache
     * (<deviceUUID>-<driverVersion>.tune), built-in per-device choices elsewhere. The environment
     * variable VKVIT_TUNE=1 turns this into VKVIT_TUNE_ON, VKVIT_TUNE=0 into VKVIT_TUNE_OFF. */
    VKVIT_TUNE_AUTO = 0,
    /* Also, the first time a matmul shape with no saved winner is recorded, time a few candidate
     * configurations on scratch buffers (milliseconds to seconds per shape, at plan creation) and
     * save the fastest. The candidates are the same kernels with other tile sizes, each tested against
     * the reference; on lavapipe their results are bit-identical. */
    VKVIT_TUNE_ON,
    /* Built-in choices only; no tune file is read. */
    VKVIT_TUNE_OFF
} vkvit_tune;

typedef struct vkvit_context_options {
    /* Which device: NULL = the VKVIT_DEVICE environment variable if set, else the best device
     * (discrete > integrated > virtual > CPU). A string of digits picks by index, anything else by
     * case-insensitive substring of the device name. */
    const char *device;
    /* Non-zero: enable the Khronos validation layer (VK_LAYER_KHRONOS_validation) and route its
     * messages to on_message. Fails with VKVIT_ERROR_UNSUPPORTED if the layer is not installed.
     * The environment variable VKVIT_VALIDATION=1 has the same effect. */
    int validation;
    /* Receives validation-layer messages (and vkvit's own warnings). NULL = print errors and
     * warnings to stderr. */
    vkvit_message_fn on_message;
    void *user;
    /* Where the VkPipelineCache is persisted. NULL = $XDG_CACHE_HOME/vkvit (or ~/.cache/vkvit),
     * one file per device UUID; "" = no persistence. */
    const char *pipeline_cache_dir;
    /* Host memory callbacks for every Vulkan object vkvit creates (vkvit_vulkan.h says which); NULL =
     * the driver's allocator. */
    const struct VkAllocationCallbacks *allocator;
    /* Device memory budget in bytes; 0 = none. An allocation that would take the VkDeviceMemory vkvit
     * holds (vkvit_context_memory: weights, activations, staging, image buffers) past it fails with
     * VKVIT_ERROR_OUT_OF_DEVICE_MEMORY, a detail naming what it was for, the sizes and the budget,
     * and nothing of the failed call left allocated. */
    uint64_t device_memory_budget;
    /* Kernel autotuning; zero = VKVIT_TUNE_AUTO. pipeline_cache_dir "" keeps tuned winners for the
     * context's lifetime only. */
    vkvit_tune tune;
} vkvit_context_options;

/* Creates an instance and a device of its own. */
VKVIT_API vkvit_status vkvit_context_create(const vkvit_context_options *options, vkvit_context **out);

/* Waits for the device to be idle, releases everything the context created, saves the pipeline
 * cache. Accepts NULL. */
VKVIT_API void vkvit_context_destroy(vkvit_context *ctx);

/* The device the context runs on. */
VKVIT_API vkvit_status vkvit_context_device_info(const vkvit_context *ctx, vkvit_device_info *out);


/* ---- models ------------------------------------------------------------------------------------ */

typedef struct vkvit_model vkvit_model;

/* Storage precision of weights and activations on the device. */
typedef enum vkvit_precision {
    /* fp16 on a GPU whose context has the fp16 path (shaderFloat16 + storageBuffer16BitAccess),
     * fp32 otherwise: on CPU devices (lavapipe, SwiftShader) fp16 storage is slower, not faster
     * (measured on lavapipe: ViT-B/16 2.71 s in fp16 vs 2.17 s in fp32). */
    VKVIT_PRECISION_AUTO = 0,
    /* The exact path: fp32 weights and activations; logits within ~1e-6 of PyTorch fp32. */
    VKVIT_PRECISION_FP32,
    /* Weights converted to fp16 at load (round to nearest even); activations, including the residual
     * stream, stored as fp16, like PyTorch's model.half(); every dot product, softmax and LayerNorm
     * statistic is accumulated in fp32, with one rounding per stored value. Logits within ~1e-2
     * (relative) of fp32. VKVIT_ERROR_UNSUPPORTED where the context lacks the fp16 path. */
    VKVIT_PRECISION_FP16
} vkvit_precision;

/* Where each encoder layer's two LayerNorms run (vkvit_model_options.layernorm). Results agree within the usual
 * bounds either way; the final LayerNorm is its own op in both. docs/fusion.md. */
typedef enum vkvit_layernorm_mode {
    /* The environment variable VKVIT_LAYERNORM=fused|unfused if set (CI runs the whole suite both ways with
     * it), else FUSED on GPUs and UNFUSED on CPU devices (lavapipe, SwiftShader), where a barrier costs little
     * and the fused statistics' extra reads of X made ViT-B/16 2-10% slower (measured on lavapipe). */
    VKVIT_LAYERNORM_AUTO = 0,
    /* Fused into the QKV and fc1 matmuls, 5 dispatches per layer: gamma and beta folded into their weights and
     * biases at load, each row's mean and variance computed inside the matmul. */
    VKVIT_LAYERNORM_FUSED,
    /* Each LayerNorm its own dispatch before its matmul, the weights as stored: 7 dispatches per layer, for
     * comparison (vkvit-bench --unfused). */
    VKVIT_LAYERNORM_UNFUSED
} vkvit_layernorm_mode;

/* "fp32" or "fp16" ("auto" for VKVIT_PRECISION_AUTO). Never NULL. */
VKVIT_API const char *vkvit_precision_string(vkvit_precision precision);

typedef struct vkvit_model_options {
    /* Storage precision on the device; zero = VKVIT_PRECISION_AUTO. The environment variable
     * VKVIT_PRECISION=fp32|fp16|auto overrides AUTO (not an explicit choice). */
    vkvit_precision precision;
    /* Non-zero: keep an fp32 copy of the weights in host memory so vkvit_verify() can run the CPU
     * reference forward pass. Default: host copies are released after the upload. */
    int keep_host_weights;
    /* The input side, in pixels, to run the model at; 0 = the checkpoint's (its config's image size; for a
     * Hugging Face DINOv2, its image processor's square crop where that differs, as transformers runs it). Another
     * size must be a multiple of the patch size and at most 4096 (else VKVIT_ERROR_INVALID_ARGUMENT naming
     * both). The position embedding is resampled once, at load, from the checkpoint's patch grid to the new one,
     * the class (and distillation) token rows kept, as the checkpoint's own library does it: timm checkpoints
     * as timm's loader does (bicubic, antialiased), Hugging Face ones as interpolate_pos_encoding does (bicubic;
     * antialiased for Dinov2WithRegisters); docs/resolution.md. vkvit_run_images' preprocessing targets the new
     * size: a timm crop_pct spec resizes to floor(size / crop_pct) and crops size x size, other specs' resize and
     * crop sizes scale by size / checkpoint's size. */
    uint32_t image_size;
    /* A non-square size: the input height and width in pixels. Each side is taken from its own option, else
     * from image_size, else (0) from the checkpoint: {.image_height = 224, .image_width = 320}, or
     * {.image_size = 224, .image_width = 320}, both run at 224 high x 320 wide; {.image_width = 320} alone
     * keeps the checkpoint's height. The same rules as image_size apply to each side (a multiple of the patch
     * size, at most 4096, else VKVIT_ERROR_INVALID_ARGUMENT naming the size). The position embedding's grid is
     * resampled to (height / patch) x (width / patch), each axis by its own ratio, as the checkpoint's library
     * does for a non-square target (a non-square checkpoint grid too). A timm crop_pct spec resizes keeping the
     * photo's aspect as timm's eval transform does for a tuple input_size (ResizeKeepRatio: the photo scaled by
     * the smaller of the two factors that reach floor(height / crop_pct) x floor(width / crop_pct), sides
     * rounded; bilinear, since timm does not pass its interpolation there) and centre-crops height x width; a
     * Hugging Face spec resizes to height x width (and crops in proportion). A checkpoint whose config is
     * non-square (timm img_size / input_size [h, w], HF image_size [h, w]) runs at its own size by default.
     * A hybrid (ResNet stem) runs square sizes only (VKVIT_ERROR_UNSUPPORTED). docs/resolution.md. */
    uint32_t image_height, image_width;
    /* Where the encoder layers' LayerNorms run; zero = VKVIT_LAYERNORM_AUTO (fused, 5 dispatches per layer, on
     * GPUs). VKVIT_LAYERNORM_UNFUSED keeps them as their own dispatches (7 per layer). Another value
     * (or VKVIT_LAYERNORM set to anything but fused / unfused) is VKVIT_ERROR_INVALID_ARGUMENT. */
    vkvit_layernorm_mode layernorm;
} vkvit_model_options;

/* Loads a checkpoint as downloaded from Hugging Face or timm: `path` is a directory holding
 * model.safetensors (or a sharded model.safetensors.index.json) and usually config.json, or the
 * .safetensors / .index.json file itself (config.json and labels.txt are then looked for beside it).
 * Recognised layouts: Hugging Face ViTForImageClassification / ViTModel, DeiTForImageClassification
 * (WithTeacher: distillation token, logits = mean of both heads), timm VisionTransformer / DeiT, and
 * the pre-logits layer tanh(Linear(class token)) of older timm models (representation_size: the head
 * reads it) and of a Hugging Face ViTModel / DeiTModel with a pooler (the backbone's embedding; a
 * pooler next to a classifier is left unused, as Hugging Face's classification models do); LayerScale
 * ViTs (timm's DeiT III and any init_values model: ls1/ls2.gamma, folded into the weights at load) and
 * DINOv2 with and without register tokens: timm vit_*_patch14_dinov2 / *_reg4_dinov2 and Hugging Face
 * Dinov2Model / Dinov2ForImageClassification / Dinov2WithRegistersModel / ...ForImageClassification (whose
 * classifier reads [class token | mean of the patch tokens] after the final LayerNorm); the embedding is the
 * class token after the final LayerNorm. DINOv2's SwiGLU MLP (the giant model) is VKVIT_ERROR_UNSUPPORTED.
 * CLIP vision towers (docs/clip.md; family "hf-clip"): Hugging Face CLIPVisionModelWithProjection,
 * CLIPVisionModel and a whole CLIPModel (its text tower is left unused; text-tower tensors with any other
 * config are VKVIT_ERROR_UNEXPECTED_TENSOR), and timm's vit_*_clip_* (pre_norm, quick_gelu), whose head
 * stays timm's classifier. A projection the config promises but the file lacks is MISSING_TENSOR.
 * SigLIP vision towers (family "hf-siglip": SiglipVisionModel, a SiglipModel's vision tower; timm's
 * vit_*_siglip_*): no class token, the attention-pooling head; plans of them refuse attention_maps.
 * Dtypes F32, F16, BF16 (converted to fp32 at load). Without config.json the dimensions come from
 * the tensor shapes; heads = hidden / 64, LayerNorm eps 1e-12 (HF) or 1e-6 (timm), exact GELU.
 * A checkpoint without a classifier loads as a backbone (embeddings only).
 * `path` may also be one of Google's .npz files (google-research/vision_transformer: ViT-B_16-224.npz,
 * ...; big_vision's "params/" files with a class token): it has no config, so every dimension comes
 * from the tensor shapes (heads from the query kernel [D, H, dh], the image size from the position
 * embedding's grid), LayerNorm eps 1e-6, exact GELU, and images are resized to the model's size and
 * scaled to [-1, 1]; labels.txt beside it names the classes. Its pre-logits layer (pre_logits/kernel
 * [D, R] and bias: the ImageNet-21k releases) is loaded, the head reads it, and R is said in the
 * config string; its R50+ViT hybrids (conv_root, block{n}/unit{m}/...) load as timm's and Hugging
 * Face's do (docs/hybrid.md). Refused for now with VKVIT_ERROR_UNSUPPORTED: big_vision's scanned
 * blocks and attention-pooling (MAP) head.
 * The weights are uploaded to device memory once; the file mapping is released before return.
 * Errors: VKVIT_ERROR_IO, FILE_TRUNCATED, BAD_HEADER, BAD_TENSOR_RANGE, UNKNOWN_DTYPE, MISSING_TENSOR,
 * UNEXPECTED_TENSOR, SHAPE_MISMATCH, BAD_CONFIG, UNSUPPORTED, OUT_OF_*_MEMORY; the detail names the
 * file, the tensor (an .npz: the member) and the byte offset. */
VKVIT_API vkvit_status vkvit_model_load(vkvit_context *ctx, const char *path, const vkvit_model_options *options,
                                        vkvit_model **out);

typedef struct vkvit_model_info {
    const char *family;          /* "hf-vit", "hf-deit", "hf-dinov2", "hf-dinov2-registers", "timm", "google-vit",
                                  * "big_vision" or "synthetic"                                    */
    uint32_t hidden, layers, heads, mlp;
    uint32_t image_size, patch_size, channels; /* image_size: the height (the side of a square model)  */
    uint32_t tokens;             /* 1 (+1 distillation; 0 for SigLIP) + register tokens + grid_height * grid_width */
    uint32_t num_classes;        /* 0 for a backbone                                             */
    int distilled, gelu_tanh;
    float layer_norm_eps;
    uint64_t parameters;         /* as stored in the checkpoint                                 */
    uint64_t weight_bytes;       /* device memory holding the weights                           */
    vkvit_precision precision;   /* what AUTO resolved to: VKVIT_PRECISION_FP32 or _FP16         */
    /* What vkvit_run_images does to an image, in one line, and where that came from, e.g.
     * ".../preprocessor_config.json: resize shorter side to 256 (bicubic), centre crop 224x224,
     * x 0.003921569, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)". Valid for the
     * model's lifetime. */
    const char *preprocessing;
    /* Where the numbers above came from, in one line: the config file or the weights, then which came
     * from it, which from the tensor shapes and which are defaults, e.g. for a Google .npz (which has no
     * config) "ViT-B_16-224.npz: from the tensor shapes: hidden 768, 12 layers, 12 heads, mlp 3072, patch
     * 16, image 224, 3 channels, 1000 classes; Google's ViT: LayerNorm eps 1e-06, exact GELU" (with
     * ", pre-logits 768" after the classes where the model has that layer). Valid for the model's
     * lifetime. */
    const char *config;
    /* What vkvit_get_embeddings returns per image: embedding_size floats of the vector `embedding`
     * names (static strings): "the class token after the final LayerNorm" (hidden floats), or, for a
     * model with a pre-logits layer, "pre-logits: tanh(Linear(class token after the final LayerNorm))"
     * (its width: timm's representation_size, HF's pooler_output_size, a Google .npz's pre_logits), or, for a Hugging Face CLIP tower
     * with a projection, "CLIP image embedding: the projection (no bias) of the class token after
     * post_layernorm" (projection_dim floats, not normalised; a CLIPVisionModel's is the class token), or,
     * for SigLIP, "SigLIP: the attention-pooling (MAP) head's output over every token after post_layernorm"
     * (hidden floats). */
    uint32_t embedding_size;
    const char *embedding;
    /* The input the model runs at, in pixels (equal for a square model), and its patch grid: the tokens after
     * the class (and distillation) token are the grid's cells in raster order, row by row (grid_width per
     * row), so an attention map [tokens] lays out as prefix + grid_height x grid_width. vkvit_run takes
     * [n][channels][image_height][image_width]. */
    uint32_t image_height, image_width, grid_height, grid_width;
    /* The outputs a plan of this model can give (static string, comma-separated, in this order): "logits,
     * probabilities, embeddings, patch_tokens, attention", without "logits, probabilities, " for a backbone.
     * patch_tokens and attention need their plan options; vkvit_plan_info.outputs says what a plan has. The
     * embedding is the model family's own (`embedding` above says which vector). */
    const char *outputs;
} vkvit_model_info;

VKVIT_API vkvit_status vkvit_model_get_info(const vkvit_model *model, vkvit_model_info *out);
/* The rectangle [rect[0], rect[2]) x [rect[1], rect[3]) of a width x height image, in image pixels,
 * that the model's preprocessing (resize, centre crop) turns into its input, so an application can
 * place the patch grid / attention map over the photo. It may reach past the image where a crop is
 * larger than the resized image. Errors: VKVIT_ERROR_INVALID_ARGUMENT (NULL, a side of 0 or above
 * VKVIT_MAX_IMAGE_SIDE), VKVIT_ERROR_INPUT_SIZE (a model that neither resizes nor crops, and an
 * image that is not its size). */
VKVIT_API vkvit_status vkvit_model_input_rect(const vkvit_model *model, uint32_t width, uint32_t height,
                                              float rect[4]);
/* The label of class `index` (from id2label, label_names or labels.txt); NULL if none. Valid for
 * the model's lifetime. */
VKVIT_API const char *vkvit_model_label(const vkvit_model *model, uint32_t index);
/* Frees the model. Plans made from it must be destroyed first. Accepts NULL. */
VKVIT_API void vkvit_model_destroy(vkvit_model *model);

/* ---- plans: one recorded forward pass for a batch size -------------------------------------------- */

typedef struct vkvit_plan vkvit_plan;

typedef struct vkvit_plan_options {
    uint32_t batch;              /* images per run; 0 = 1                                        */
    int attention_maps;          /* non-zero: also record the class token's attention per layer
                                  * (a SigLIP model has no class token: VKVIT_ERROR_UNSUPPORTED)  */
    /* Non-zero: vkvit_get_embeddings returns unit vectors: each embedding divided by its L2 norm, computed on
     * the host in double precision from the fp32 vector the GPU wrote, then rounded to fp32 (an all-zero vector
     * stays zero). For cosine similarity as a dot product. Only the getter normalises: what vkvit_record writes
     * into vkvit_record_outputs.embeddings is the vector as the model computes it. */
    int normalize_embeddings;
    /* Non-zero: also keep every token after the final LayerNorm, [batch][tokens][hidden] fp32 (widened in fp16
     * plans), read with vkvit_get_patch_tokens: dense features for matching and segmentation. Costs one more
     * LayerNorm over all tokens and batch * tokens * hidden * 4 bytes of device and of host-visible memory. */
    int patch_tokens;
} vkvit_plan_options;

/* Allocates the activation arena and records the whole forward pass (patch embedding, tokens,
 * every encoder block, final LayerNorm, head) into one command buffer, once. One thread at a time
 * may use a plan; several plans may share a model and a context.
 * A batch whose activations would exceed the device's maxStorageBufferRange in one binding (128 MiB
 * on lavapipe: ViT-B/16 beyond 55 images in fp32) runs as equal passes of fewer images, recorded one
 * after the other in the same command buffer, with the same results; the input (all `batch` images)
 * must still fit one binding, else VKVIT_ERROR_UNSUPPORTED names it (ViT-B/16 at 224 px: 222 images
 * on lavapipe). */
VKVIT_API vkvit_status vkvit_plan_create(vkvit_model *model, const vkvit_plan_options *options, vkvit_plan **out);

typedef struct vkvit_plan_info {
    uint32_t batch, tokens, hidden, num_classes, layers;
    uint32_t embedding_size;     /* floats per image of vkvit_get_embeddings (vkvit_model_info)  */
    uint64_t weight_bytes;       /* device memory of the model's weights                        */
    uint64_t arena_bytes;        /* device memory of this plan's activations                    */
    uint64_t io_bytes;           /* host-visible memory for input upload and output readback    */
    uint64_t image_bytes;        /* device + host-visible memory of the image path: 0 until the
                                  * first vkvit_run_images, then as large as the largest run needed */
    const char *matmul_kernel;   /* the matmul kernel the plan's linear layers run: "coopmat" (tensor
                                  * cores, vkvit_device_info.coopmat_extension), "tiled" or "direct"
                                  * (static string)                                                 */
    int attention_maps, normalize_embeddings, patch_tokens;   /* the plan's options, as 0 / 1          */
    const char *outputs;         /* the getters that return this plan's results (static string, the
                                  * vkvit_model_info.outputs order), e.g. "embeddings, patch_tokens" */
    /* What one vkvit_run submits (its command buffer, recorded once): compute dispatches (every GPU kernel
     * launch: patch embedding, each encoder layer's GEMMs and attention (and its LayerNorms where they are
     * not fused: vkvit_model_options.layernorm), the head, fp16 output widenings), and pipeline barriers (each one waits for the commands before it to finish and makes
     * their writes visible: between dependent dispatches, around the input copy and output readback
     * copies, and the final device->host one). On a GPU each barrier drains the device, so at batch 1
     * they bound the latency; docs/architecture.md has the formula. vkvit_run_images adds preprocessing. */
    uint32_t dispatches, barriers;
} vkvit_plan_info;

VKVIT_API vkvit_status vkvit_plan_get_info(const vkvit_plan *plan, vkvit_plan_info *out);
VKVIT_API void vkvit_plan_destroy(vkvit_plan *plan);

/* Already-normalised pixels, NCHW: data[((n * channels + c) * height + y) * width + x]. */
typedef struct vkvit_tensor {
    const float *data;
    uint32_t n, channels, height, width;
} vkvit_tensor;

/* Runs the recorded forward pass on input->n <= batch images: copies the input (you may free it on
 * return), submits once, and
 *   - signal NULL: waits; the results are then readable through the getters;
 *   - signal non-NULL (vkvit_vulkan.h; a zeroed one signals nothing): returns once submitted. The run
 *     is pending until vkvit_wait (or a vkvit_poll that says done), the getters fail until then, and
 *     the signal's fence / semaphore are signalled when it completes. Any other call on the plan (a
 *     run, vkvit_record, destroying it) first waits for the pending run. After an error nothing was
 *     submitted, so nothing will be signalled.
 * Errors: VKVIT_ERROR_INPUT_SIZE (channels/height/width differ from the model's),
 * VKVIT_ERROR_BATCH_TOO_LARGE, VKVIT_ERROR_DEVICE_LOST, VKVIT_ERROR_UNSUPPORTED (a timeline
 * semaphore value without VKVIT_PATH_TIMELINE). */
VKVIT_API vkvit_status vkvit_run(vkvit_plan *plan, const vkvit_tensor *input, const vkvit_submit_signal *signal);

/* ---- images ------------------------------------------------------------------------------------ */

/* RGBA8 pixels, row-major, 4 bytes per pixel (R, G, B, A), no row padding. */
typedef struct vkvit_image {
    uint8_t *rgba;
    uint32_t width, height;
} vkvit_image;

/* Largest accepted image side, in pixels. */
#define VKVIT_MAX_IMAGE_SIDE 16384

/* Decodes an image file into RGBA8: JPEG with libjpeg-turbo (baseline, progressive, restart intervals,
 * grey, YCbCr, RGB, CMYK and YCCK), the pixels Pillow's Image.open(f).convert("RGB") gives, byte for byte;
 * with stb_image PNG (8- and 16-bit; 16-bit is reduced to 8), BMP, TGA, GIF (first frame), PNM, PSD; grey,
 * grey+alpha, RGB and RGBA sources. EXIF orientation is ignored (the pixels as stored, like PIL's Image.open).
 * Thread-safe. Errors: VKVIT_ERROR_IO (cannot open or read), VKVIT_ERROR_BAD_IMAGE (empty, truncated,
 * corrupt, not an image, or a side of 0 or above VKVIT_MAX_IMAGE_SIDE: rejected before decoding; a JPEG is
 * truncated where PIL calls it so without ImageFile.LOAD_TRUNCATED_IMAGES, and a JPEG whose entropy-coded
 * data is damaged but decodable decodes, as in PIL; a progressive JPEG whose coefficients need more than
 * 576 MiB, i.e. over 89.5 Mpx at 4:4:4, is refused as a likely decompression bomb: docs/images.md). */
VKVIT_API vkvit_status vkvit_image_load(const char *path, vkvit_image *out);
/* The same from an encoded file in memory. `name` is used in messages (may be NULL). */
VKVIT_API vkvit_status vkvit_image_decode(const void *data, size_t size, const char *name, vkvit_image *out);
/* Frees what vkvit_image_load/decode allocated and zeroes *image. Accepts NULL. */
VKVIT_API void vkvit_image_destroy(vkvit_image *image);

/* Runs the plan on n <= batch RGBA8 images of any size (each side 1..VKVIT_MAX_IMAGE_SIDE). The
 * preprocessing the checkpoint was trained with runs on the GPU in the same command buffer as the
 * forward pass (vkvit_model_info.preprocessing says what it is):
 *   - from preprocessor_config.json beside the model (Hugging Face image processors: do_resize,
 *     size {height, width} or {shortest_edge}, resample, do_center_crop, crop_size, do_rescale,
 *     rescale_factor, do_normalize, image_mean, image_std), else from a timm config.json's
 *     pretrained_cfg (shorter side to floor(size / crop_pct), centre crop, interpolation, mean,
 *     std), else Hugging Face ViT's defaults (resize to size x size bilinear, x/255, mean = std =
 *     0.5);
 *   - resizing is PIL's, to the bit: what Pillow's Image.resize gives for the 8-bit image
 *     (bicubic, bilinear or nearest; antialiased when shrinking), so the model sees the pixels it
 *     was trained on; alpha is ignored (as PIL's convert("RGB")); 1-channel models take ITU-R
 *     601-2 luma as PIL's convert("L"); a crop larger than the resized image shows zeros.
 * The batch's images travel through a host-visible staging buffer that grows to the largest run
 * (the image variant of the command buffer is then recorded again); vkvit_plan_info.image_bytes.
 * Outputs, and `signal`, as for vkvit_run (and vkvit_verify checks the preprocessed input).
 * Errors: VKVIT_ERROR_INVALID_ARGUMENT (NULL, n = 0, an image without pixels),
 * VKVIT_ERROR_BATCH_TOO_LARGE, VKVIT_ERROR_BAD_IMAGE (a side of 0 or above the maximum),
 * VKVIT_ERROR_INPUT_SIZE (a spec without resize or crop and an image not of the model's size),
 * VKVIT_ERROR_UNSUPPORTED (a model of other than 1 or 3 channels; images needing more bytes in one
 * binding than the device's maxStorageBufferRange: 128 MiB on lavapipe, 33 megapixels in all),
 * VKVIT_ERROR_OUT_OF_*_MEMORY, VKVIT_ERROR_DEVICE_LOST. The detail names the image's index. */
VKVIT_API vkvit_status vkvit_run_images(vkvit_plan *plan, const vkvit_image *images, uint32_t n,
                                        const vkvit_submit_signal *signal);

/* Blocks until the plan's pending run (one given a signal) has completed and makes its results readable.
 * Nothing pending: returns VKVIT_OK at once. Errors: VKVIT_ERROR_DEVICE_LOST, VKVIT_ERROR_VULKAN. */
VKVIT_API vkvit_status vkvit_wait(vkvit_plan *plan);
/* Without blocking: *done = 1 when nothing is pending any more (the results are then readable, as
 * after vkvit_wait), 0 while the run executes. */
VKVIT_API vkvit_status vkvit_poll(vkvit_plan *plan, int *done);

/* Results of the last run, for its n images. Each copies into `out`, which holds `capacity`
 * floats; VKVIT_ERROR_INVALID_ARGUMENT if that is too small or nothing has run yet.
 *   logits         [n][num_classes]          (VKVIT_ERROR_UNSUPPORTED for a backbone)
 *   probabilities  [n][num_classes]          softmax of the logits
 *   embeddings     [n][embedding_size]       the family's image embedding (vkvit_model_info.embedding names
 *                                            it): the final-LayerNorm class token (ViT, DeiT, DINOv2), the
 *                                            pre-logits vector where the model has one, a CLIP tower's
 *                                            projection, a SigLIP tower's attention-pooled vector;
 *                                            unit vectors with plan option normalize_embeddings
 *   patch_tokens   [n][tokens][hidden]       every token after the final LayerNorm, in the model's order: the
 *                                            class token, the distillation token (distilled models), the
 *                                            register tokens (DINOv2 with registers), then the patches in
 *                                            raster order (row by row from the top left, grid_width per
 *                                            row); a SigLIP tower has no class token: patches only. Needs
 *                                            plan option patch_tokens (else VKVIT_ERROR_UNSUPPORTED).
 *   attention      [n][layers][tokens]       the class token's attention over all tokens (query row 0),
 *                                            averaged over heads, in the patch_tokens order: token 0 is the
 *                                            class token itself, the patches start after the distillation
 *                                            and register tokens. Needs plan option attention_maps. */
VKVIT_API vkvit_status vkvit_get_logits(const vkvit_plan *plan, float *out, size_t capacity);
VKVIT_API vkvit_status vkvit_get_probabilities(const vkvit_plan *plan, float *out, size_t capacity);
VKVIT_API vkvit_status vkvit_get_embeddings(const vkvit_plan *plan, float *out, size_t capacity);
VKVIT_API vkvit_status vkvit_get_attention(const vkvit_plan *plan, float *out, size_t capacity);
VKVIT_API vkvit_status vkvit_get_patch_tokens(const vkvit_plan *plan, float *out, size_t capacity);

typedef struct vkvit_prediction {
    uint32_t index;
    float probability;
    const char *label;           /* NULL when the model has no labels                          */
} vkvit_prediction;

/* The k most probable classes of image `image` of the last run, most probable first. */
VKVIT_API vkvit_status vkvit_top_k(const vkvit_plan *plan, uint32_t image, uint32_t k, vkvit_prediction *out);

/* Runs the CPU reference forward pass (double accumulation; slow) on the last run's input and
 * compares: *rel_err = ||gpu - ref|| / ||ref|| over the logits (embeddings for a backbone); with plan option
 * patch_tokens, the larger of that and the same over all the tokens.
 * Needs a model loaded with keep_host_weights. */
VKVIT_API vkvit_status vkvit_verify(const vkvit_plan *plan, double *rel_err);

/* ---- device memory ------------------------------------------------------------------------------ */

typedef struct vkvit_memory_info {
    uint64_t bytes;        /* VkDeviceMemory vkvit holds now: weights, plans, staging, image buffers */
    uint64_t peak_bytes;   /* the most it has held at once                                          */
    uint64_t budget;       /* vkvit_context_options.device_memory_budget (0 = none)                  */
    uint32_t buffers;      /* live buffers                                                           */
} vkvit_memory_info;

/* Device memory in use by the context and everything made from it. Safe from any thread. */
VKVIT_API vkvit_status vkvit_context_memory(const vkvit_context *ctx, vkvit_memory_info *out);

#ifdef __cplusplus
}
#endif
#endif /* VKVIT_H */
