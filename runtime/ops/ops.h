/* Private: the compute ops. Each op turns its parameters into a ready rm_dispatch (pipeline,
 * push constants, grid); the caller binds buffers in the order documented per op. */
#ifndef RM_OPS_H
#define RM_OPS_H

#include <stdbool.h>

#include "core/dispatch.h"
#include "ops/op_list.h"
#include "repmlp/model.h"

/* Average pooling over NCHW with an h x w window and equal stride (no padding); the global
 * pool is kh = H, kw = W. Bindings: 0 input (N,C,H,W), 1 output (N,C,H/kh,W/kw). */
typedef struct rm_avgpool_params {
    uint32_t N, C, H, W, kh, kw;
} rm_avgpool_params;

/* x (N,C,hp,h,wp,w) += v (N,C,hp,1,wp,1), in place. Bindings: 0 x, 1 v. */
typedef struct rm_broadcast_add_params {
    uint32_t N, C, H, W, h, w;
} rm_broadcast_add_params;

/* Where element i of a logical index lives: i is split into digits d0 = i % r0,
 * d1 = (i / r0) % r1, ... (a radix of 0 ends the split; the last digit is unbounded) and
 * lands at sum(d_k * s_k). A plain stride is {radix {0}, stride {s}}. */
typedef struct rm_index_map {
    uint32_t radix[3];
    uint32_t stride[4];
} rm_index_map;

static inline rm_index_map rm_map_stride(uint32_t stride) {
    rm_index_map m = {{0, 0, 0}, {stride, 0, 0, 0}};
    return m;
}
/* An upper bound of the offsets of indices [0, count). */
uint64_t rm_map_max_offset(const rm_index_map *map, uint64_t count);

typedef enum rm_activation {
    RM_ACT_NONE = 0,
    RM_ACT_RELU = 1,
    RM_ACT_GELU = 2, /* exact (erf) form */
    RM_ACT_SIGMOID = 3,
} rm_activation;

/* Which kernel variant reads the operands: by default the faster one on the context's device,
 * measured once (rm_operand_path_get); tests and benchmarks force one to cover both on every
 * driver. */
typedef enum rm_gemm_variant {
    RM_GEMM_AUTO = 0,
    RM_GEMM_STORAGE, /* storage buffers: works everywhere */
    RM_GEMM_TEXEL,   /* uniform texel buffers: X, Wt, V each below maxTexelBufferElements */
} rm_gemm_variant;

/* What happens to a GEMM or conv output element (row m, column col) before it is stored:
 *   y = act((acc + bias[col]) * S[s_rows(m) + s_cols(col)] + R[position of y])
 * with each of bias (packed into the weight block), S and R optional. */
typedef struct rm_epilogue {
    bool has_bias;
    bool has_scale;
    bool has_residual;
    rm_activation act;
    rm_index_map s_rows, s_cols;
} rm_epilogue;

/* Columns per invocation of the GEMM-core kernels (RM_GEMM_TN), and of a workgroup
 * (RM_GEMM_PANEL), with the kernels' specialization-constant ids: one header for C and GLSL. */
#include "gemm_layout.h"

/* The weight block the GEMM-core kernels (gemm, conv) read: a (groups*NO, K) row-major
 * weight Wt (a conv's (O, C/groups, kh, kw) is one, with K = C/groups*kh*kw) and its bias
 * (groups*NO) are cut per group into panels of RM_GEMM_PANEL columns (the last one zero
 * padded), one self-contained block per (group, panel), blocks in (group, panel) order:
 *   K rows of the panel's weights (K-major: W(G, k, n) = Wt[G*NO + n, k] at row k, column
 *   n % PANEL), then with an addend run (below) K/run rows of run sums, then the bias row
 *   (fp16: a hi and a lo row, b = hi + lo / 2048, then a zero row to an even row count).
 * Each k step of a tile is aligned vec4 loads, neighbouring invocations read neighbouring
 * memory, and a workgroup streams one contiguous block (hardware prefetchers follow it; a plain
 * K-major layout jumps a whole row per k step and ran 2x slower on lavapipe). Blocks are
 * multiples of 256 bytes (the largest minStorageBufferOffsetAlignment Vulkan allows), so any
 * range of them can be bound alone: a weight larger than a binding may span runs as several
 * dispatches (rm_dispatch.parts).
 * With an addend run (rm_gemm_params.addend_run; 0 = none) the run sums are the sums of each
 * run of `run` consecutive k of every column, so a GEMM whose addend V is constant over each
 * run adds V . sum(W) once per run instead of loading V at every k. */
uint64_t rm_gemm_block_rows(uint32_t K, uint32_t run, bool half);
uint64_t rm_gemm_block_bytes(uint32_t K, uint32_t run, bool half);
/* Elements (floats, or halves when half) of the packed weight; 0 when absurdly large. */
uint64_t rm_gemm_packed_count(uint32_t groups, uint32_t NO, uint32_t K, uint32_t run, bool half);
/* bias may be NULL (zero). */
void rm_gemm_pack(const float *wt, const float *bias, uint32_t groups, uint32_t NO, uint32_t K,
                  uint32_t run, float *packed);
/* The same in IEEE binary16 (round to nearest even), for kernels with w16 set; scratch holds
 * rm_gemm_block_rows(K, run, false) * RM_GEMM_PANEL floats. False when a weight or bias is
 * beyond fp16's range (or not finite). */
bool rm_gemm_pack_f16(const float *wt, const float *bias, uint32_t groups, uint32_t NO, uint32_t K,
                      uint32_t run, float *scratch, uint16_t *packed);
uint16_t rm_f32_to_f16(float f);
float rm_f16_to_f32(uint16_t h);

/* The operands a GEMM-core node (gemm, conv) lists, in this order: */
enum {
    RM_GEMM_X = 0,
    RM_GEMM_W,    /* the packed weight block */
    RM_GEMM_BIAS, /* packed into W: listed for the model, never bound */
    RM_GEMM_Y,
    RM_GEMM_V,
    RM_GEMM_S,
    RM_GEMM_R,
    RM_GEMM_OPERANDS
};
/* The bindings of a prepared GEMM-core dispatch d from its operands: 0 X, 1 W, 2 Y, 3 AUX, and
 * in the texel variant 4 V (texel reads keep their operand's index, so a mask over bindings
 * also holds over operands). V, S and R (those d reads) are read through AUX, the smallest
 * aligned window of their buffer that covers all of them, at element offsets written into d's
 * push constants: they must live in one VkBuffer (a session's arena). Unread operands are
 * ignored (any binding). */
repmlp_status rm_gemm_core_bindings(const repmlp_context *ctx, rm_dispatch *d, const char *name,
                                    const rm_binding operands[RM_GEMM_OPERANDS],
                                    rm_binding bindings[RM_MAX_BINDINGS]);

/* Grouped GEMM: Y[m, G*NO + n] = epilogue(sum_k X'[m, G*K + k] * Wt[G*NO + n, k]) for m < M,
 * G < groups, with X' = X, or X + V when has_addend (V addressed by v_rows/v_cols; a stride of
 * 0 broadcasts). Wt is (groups*NO, K) row-major, bound packed (rm_gemm_pack). X's and Y's
 * element positions come from the index maps (row-major X is a_rows = stride(groups*K),
 * a_cols = stride(1)). Operands as RM_GEMM_*, bound with rm_gemm_core_bindings. */
typedef struct rm_gemm_params {
    uint32_t M, K, NO, groups;
    bool has_bias; /* shorthand kept for the common case; ORed into ep.has_bias */
    bool has_addend;
    rm_activation act; /* used when ep.act is RM_ACT_NONE */
    rm_index_map a_rows, a_cols, y_rows, y_cols;
    rm_index_map v_rows, v_cols;
    rm_epilogue ep;
    rm_gemm_variant variant;
    uint32_t tile_m; /* rows per invocation: 0 chooses from M; 1, 4 or 8 force one */
    bool w16;        /* the packed weight is fp16 (rm_gemm_pack_f16); needs 16-bit storage */
    /* A row of rm_gemm_kernel_variants to run (tests, benchmarks, the tuner); NULL: the
     * built-in choice from variant and tile_m. It must match the kernel and weight type. */
    const rm_gemm_kernel_variant *force;
    /* > 0 with has_addend: V's value is the same for each run of addend_run consecutive
     * columns k (v_cols' leading digits have stride 0: RepMLP's GP value over a partition's
     * h*w pixels), and the weight is packed with its run sums (rm_gemm_pack). */
    uint32_t addend_run;
    /* > 0: cut the weight into bindings of at most this many bytes instead of the device's
     * maxStorageBufferRange (tests exercise the cut on small weights). */
    uint64_t split_bytes;
} rm_gemm_params;

/* The plain case: row-major X (M, groups*K) and Y (M, groups*NO), nothing else set. */
static inline rm_gemm_params rm_gemm_row_major(uint32_t M, uint32_t K, uint32_t NO,
                                               uint32_t groups) {
    rm_gemm_params p = {.M = M,
                        .K = K,
                        .NO = NO,
                        .groups = groups,
                        .a_rows = rm_map_stride(groups * K),
                        .a_cols = rm_map_stride(1),
                        .y_rows = rm_map_stride(groups * NO),
                        .y_cols = rm_map_stride(1)};
    return p;
}

/* 2-D convolution over NCHW (MODELS.md §0: cross-correlation, zero padding, floor output size)
 * with weight (O, C/groups, kh, kw), bound packed (rm_gemm_pack), as an implicit GEMM (1x1 stride-1
 * unpadded convs take the plain GEMM path). The epilogue's scale maps are unused. Output (N, O, OH,
 * OW). Operands as rm_gemm (V and S unused). */
typedef struct rm_conv_params {
    uint32_t N, C, H, W, O;
    uint32_t kh, kw, sh, sw, ph, pw; /* kernel, stride and zero padding per axis */
    uint32_t groups;
    rm_epilogue ep;
    rm_gemm_variant variant;
    uint32_t tile_m;                     /* as rm_gemm_params */
    bool w16;                            /* as rm_gemm_params */
    const rm_gemm_kernel_variant *force; /* as rm_gemm_params */
    uint64_t split_bytes;                /* as rm_gemm_params */
} rm_conv_params;
uint32_t rm_conv_out_size(uint32_t in, uint32_t k, uint32_t stride, uint32_t pad);

/* k x k max-pool with stride and padding (never wins). Bindings: 0 x, 1 y. */
typedef struct rm_maxpool_params {
    uint32_t N, C, H, W, k, stride, pad;
} rm_maxpool_params;

/* y = x * scale[c] + shift[c] over (N, C, HW). Bindings: 0 x, 1 scale, 2 shift, 3 y. */
typedef struct rm_affine_params {
    uint32_t N, C, HW;
} rm_affine_params;

/* y[r * cols + c] = x[rows(r) + cols_map(c)] (+ v[v_rows(r) + v_cols(c)] when has_addend),
 * r < rows: a permute or reshape copy. Bindings: 0 x, 1 v (any buffer without addend), 2 y. */
typedef struct rm_gather_params {
    uint32_t rows, cols;
    bool has_addend;
    rm_index_map x_rows, x_cols, v_rows, v_cols;
} rm_gather_params;

/* Eval-mode BatchNorm from its tensors over (N, C, HW), eps 1e-5 (MODELS.md §0), plus an optional
 * residual. A node lists 0 x, 1 gamma, 2 beta, 3 running mean, 4 running var, 5 residual (any
 * buffer without), 6 y; the model packs the four tensors into gamma's block
 * [gamma | beta | mean | var] (4C floats), so the bindings are 0 x, 1 that block, 2 residual,
 * 3 y (rm_batchnorm_bindings maps a node's operands to them). */
typedef struct rm_batchnorm_params {
    uint32_t N, C, HW;
    bool has_residual;
} rm_batchnorm_params;

/* The global perceptron of a RepMLP block in one dispatch (one workgroup per image):
 * v = act(W2 . relu(W1 . avgpool(x, h x w) + b1) + b2), with D = C*(H/h)*(W/w) pooled values
 * (flattened (c, ip, jp)), hidden width I, W1 (I, D), W2 (D, I), act none (v1's addend) or
 * sigmoid (v2's gate). Needs (D + I) floats of shared memory (else REPMLP_ERROR_UNSUPPORTED: use
 * the unfused ops). Node operands: 0 x, 1 W1, 2 b1, 3 W2, 4 b2, 5 v. Shader bindings: 0 x,
 * 1 one range of the weight buffer holding all four tensors, at the element offsets given by
 * rm_global_perceptron_offsets (W1, b1, W2, b2), 2 v. */
typedef struct rm_global_perceptron_params {
    uint32_t N, C, H, W, h, w, I;
    rm_activation act;
} rm_global_perceptron_params;
uint64_t rm_global_perceptron_width(const rm_global_perceptron_params *p); /* D, 0 if invalid */
/* Whether the fused op is used: a small perceptron (D * I at most 16,384; larger ones run faster
 * as the unfused ops), its pooled and hidden values fit in the device's shared memory and its
 * four weight tensors in one binding and one allocation. */
bool rm_global_perceptron_fits(const repmlp_context *ctx, const rm_global_perceptron_params *p);
void rm_global_perceptron_offsets(rm_dispatch *d, const uint32_t offsets[4]);
#define RM_BATCHNORM_OPERANDS 7

/* Softmax + top-k of each row of x (rows, classes): y holds, per row, k (class, probability)
 * pairs, best first (ties: the lower class first), as (uint32 class, float32 bits).
 * 1 <= k <= RM_TOPK_MAX, k <= classes. Bindings: 0 x, 1 y (rows * k * 2 uint32). */
#define RM_TOPK_MAX 32

/* A picture (a sampled image, the formats rm_image_format_supported accepts, any size) -> the
 * model's input for one image (channels x input_h x input_w), preprocessed as `pre` says.
 * Bindings: 0 the image (rm_binding.image), 1 the input buffer. */
typedef struct rm_preprocess_image_params {
    repmlp_preprocessing pre;
    VkFormat format;
    uint32_t width, height;
} rm_preprocess_image_params;
bool rm_image_format_supported(VkFormat format, bool *srgb);
repmlp_status rm_preprocess_image_prepare(repmlp_context *ctx, const rm_preprocess_image_params *p,
                                          rm_dispatch *out);
typedef struct rm_softmax_topk_params {
    uint32_t rows, classes, k;
} rm_softmax_topk_params;
repmlp_status rm_softmax_topk_prepare(repmlp_context *ctx, const rm_softmax_topk_params *p,
                                      rm_dispatch *out);

/* Per graph op (ops/op_list.h): the dispatch for the parameters, the floating-point
 * operations of one run (benchmarks, part estimates) and, for ops whose row says OWN, the
 * shader's bindings from the node's operands (in the prepared dispatch's push constants too). */
typedef repmlp_status (*rm_op_bindings_fn)(const repmlp_context *ctx, rm_dispatch *d,
                                           const char *label, const rm_binding *operands,
                                           rm_binding *bindings);
#define RM_OP_DECLARE_BIND_DIRECT(name)
#define RM_OP_DECLARE_BIND_OWN(name)                                                               \
    repmlp_status rm_##name##_bindings(const repmlp_context *ctx, rm_dispatch *d,                  \
                                       const char *label, const rm_binding *operands,              \
                                       rm_binding *bindings);
#define RM_OP_DECLARE(KIND, name, operands, bind)                                                  \
    repmlp_status rm_##name##_prepare(repmlp_context *ctx, const rm_##name##_params *p,            \
                                      rm_dispatch *out);                                           \
    uint64_t rm_##name##_flops(const rm_##name##_params *p);                                       \
    RM_OP_DECLARE_BIND_##bind(name)
RM_OP_LIST(RM_OP_DECLARE)
#undef RM_OP_DECLARE

#endif
