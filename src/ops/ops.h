/* GPU ops: one shader + one record function each. Ops know shapes, not models.
 *
 * Every op_* records its dispatch(es) into `cmd` and then a vk_cmd_barrier(), so consecutive ops
 * chain correctly. Shapes are validated (VKVIT_ERROR_INVALID_ARGUMENT with a detail naming the op
 * and the bad value) before anything is recorded. Spans must be large enough for the shape; an
 * optional input is "absent" when its span has size 0.
 *
 * Element types: fp32 for now (dtype field reserved for the fp16 path). */
#ifndef VKVIT_OPS_H
#define VKVIT_OPS_H

#include "../vk/vk.h"

typedef enum op_dtype { OP_F32 = 0, OP_F16 = 1 } op_dtype;

/* ---- matmul.c: Y[b] = epilogue(X[b] . W^T + bias) ---------------------------------------------
 * X: [batch][M][K] row-major, batch stride x_stride elements (0 = M*K)
 * W: [N][K] row-major (PyTorch Linear layout), batch stride w_stride (0 = shared by all batches)
 * bias: [N] or absent
 * R (residual, only for MATMUL_EPI_RESIDUAL): same layout as Y; may alias Y (in-place x += ...)
 * Y: [batch][M][N], batch stride y_stride elements (0 = M*N)
 *   NONE:        Y = X.W^T + b
 *   GELU:        Y = gelu_erf(X.W^T + b)
 *   GELU_TANH:   Y = gelu_tanh(X.W^T + b)
 *   RESIDUAL:    Y = R + X.W^T + b                                                                */
typedef enum matmul_epilogue {
    MATMUL_EPI_NONE = 0,
    MATMUL_EPI_GELU = 1,
    MATMUL_EPI_GELU_TANH = 2,
    MATMUL_EPI_RESIDUAL = 3,
} matmul_epilogue;

typedef struct matmul_args {
    uint32_t batch, M, N, K;
    uint32_t x_stride, w_stride, y_stride;
    vk_span x, w, bias, residual, y;
    matmul_epilogue epilogue;
    op_dtype dtype;
} matmul_args;

vkvit_status op_matmul(vk_cmd *cmd, vkvit_context *ctx, const matmul_args *a);

/* ---- attention.c: fused multi-head self-attention ---------------------------------------------
 * qkv: [B][T][3][H][dh] (q, k, v packed as one QKV Linear produces them)
 * out: [B][T][H*dh]:  out[b,t,h,:] = softmax(q[b,t,h] . k[b,:,h]^T * scale) . v[b,:,h]
 * scale: 0 = 1/sqrt(dh). Any T >= 1, 1 <= dh <= 128.
 * cls_probs (optional): [B][T], the attention probabilities of query row 0 (the class token),
 *   averaged over heads. The T x T score matrix is never written to memory.                    */
typedef struct attention_args {
    uint32_t batch, T, H, dh;
    float scale;
    vk_span qkv, out, cls_probs;
    op_dtype dtype;
} attention_args;

vkvit_status op_attention(vk_cmd *cmd, vkvit_context *ctx, const attention_args *a);

/* ---- layernorm.c: per-row LayerNorm over D ------------------------------------------------------
 * x: rows of D elements, row i at x[i * x_stride] (x_stride 0 = D); y likewise with y_stride.
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics in fp32 (stable for large means).  */
typedef struct layernorm_args {
    uint32_t rows, D;
    uint32_t x_stride, y_stride;
    float eps;
    vk_span x, gamma, beta, y;
    op_dtype dtype;
} layernorm_args;

vkvit_status op_layernorm(vk_cmd *cmd, vkvit_context *ctx, const layernorm_args *a);

/* ---- gelu.c: y = gelu(x) elementwise, n elements (y may alias x) ------------------------------- */
typedef struct gelu_args {
    uint32_t n;
    int tanh_approx;     /* 0 = exact erf form */
    vk_span x, y;
    op_dtype dtype;
} gelu_args;

vkvit_status op_gelu(vk_cmd *cmd, vkvit_context *ctx, const gelu_args *a);

#endif
