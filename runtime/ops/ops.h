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
 * with each of bias, S (binding 5) and R (binding 6) optional. An unused binding takes any
 * non-empty buffer. */
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

/* The weight layout the GEMM-core kernels (gemm, conv) read: a (groups*NO, K) row-major
 * weight Wt (a conv's (O, C/groups, kh, kw) is one, with K = C/groups*kh*kw) is cut per group
 * into panels of RM_GEMM_PANEL columns (the last one zero padded), each stored K-major:
 * W(G, k, n) = Wt[G*NO + n, k] at ((G*panels + n/PANEL)*K + k)*PANEL + n%PANEL. Each k step
 * of a tile is aligned vec4 loads, neighbouring invocations read neighbouring memory, and a
 * workgroup streams one contiguous panel (hardware prefetchers follow it; a plain K-major
 * layout jumps a whole row per k step and ran 2x slower on lavapipe).
 * rm_gemm_packed_count is the packed size in floats (0 when it exceeds 2^32 vec4s). */
uint64_t rm_gemm_packed_count(uint32_t groups, uint32_t NO, uint32_t K);
void rm_gemm_pack(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, float *packed);
/* With an addend run (rm_gemm_params.addend_run; 0 = none): the packed weight is followed by
 * the sums of each run of `run` consecutive k of every column, packed the same way as a
 * (groups*NO, K/run) weight, so a GEMM whose addend V is constant over each run adds
 * V . sum(W) once per run instead of loading V at every k. */
uint64_t rm_gemm_packed_count_runs(uint32_t groups, uint32_t NO, uint32_t K, uint32_t run);
void rm_gemm_pack_runs(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, uint32_t run,
                       float *packed);
/* The same layout in IEEE binary16 (round to nearest even), for kernels with w16 set; scratch
 * holds rm_gemm_packed_count_runs floats. False when a weight is beyond fp16's range (or not
 * finite). */
bool rm_gemm_pack_f16(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, uint32_t run,
                      float *scratch, uint16_t *packed);
uint16_t rm_f32_to_f16(float f);

/* Grouped GEMM: Y[m, G*NO + n] = epilogue(sum_k X'[m, G*K + k] * Wt[G*NO + n, k]) for m < M,
 * G < groups, with X' = X, or X + V when has_addend (V addressed by v_rows/v_cols; a stride of
 * 0 broadcasts). Wt is (groups*NO, K) row-major, bound packed (rm_gemm_pack). X's and Y's
 * element positions come from the index maps (row-major X is a_rows = stride(groups*K),
 * a_cols = stride(1)).
 * Bindings: 0 X, 1 packed Wt, 2 bias, 3 Y, 4 V, 5 S, 6 R. */
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
    /* NULL: the heuristic chooses; else this row of rm_gemm_kernel_variants runs (the tuner,
     * tests), overriding variant and tile_m. It must match the kernel and weights. */
    const rm_gemm_kernel_variant *row;
    /* > 0 with has_addend: V's value is the same for each run of addend_run consecutive
     * columns k (v_cols' leading digits have stride 0: RepMLP's GP value over a partition's
     * h*w pixels), and the weight is packed with its run sums (rm_gemm_pack_runs). */
    uint32_t addend_run;
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
 * OW). Bindings as rm_gemm: 0 X, 1 weight, 2 bias, 3 Y, 4 unused, 5 unused, 6 residual. */
typedef struct rm_conv_params {
    uint32_t N, C, H, W, O;
    uint32_t kh, kw, sh, sw, ph, pw; /* kernel, stride and zero padding per axis */
    uint32_t groups;
    rm_epilogue ep;
    rm_gemm_variant variant;
    uint32_t tile_m; /* as rm_gemm_params */
    bool w16;        /* as rm_gemm_params */
    /* As rm_gemm_params; a 1x1 stride-1 unpadded conv runs GEMM rows, others CONV rows. */
    const rm_gemm_kernel_variant *row;
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
 * residual. Bindings: 0 x, 1 gamma, 2 beta, 3 running mean, 4 running var, 5 residual (any
 * buffer without), 6 y. */
typedef struct rm_batchnorm_params {
    uint32_t N, C, HW;
    bool has_residual;
} rm_batchnorm_params;

/* Softmax + top-k of each row of x (rows, classes): y holds, per row, k (class, probability)
 * pairs, best first (ties: the lower class first), as (uint32 class, float32 bits).
 * 1 <= k <= RM_TOPK_MAX, k <= classes. Bindings: 0 x, 1 y (rows * k * 2 uint32). */
#define RM_TOPK_MAX 32

/* A picture (a sampled image, the formats rm_image_format_supported accepts, any size) -> the
 * model's input for one image (channels x input_h x input_w), preprocessed as `pre` says.
 * Bindings: 0 the image (rm_binding.image), 1 the input buffer. */
typedef struct rm_preprocess_image_params {
    repmlp_preprocess pre;
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

/* Per graph op (ops/op_list.h): the dispatch for the parameters, and the floating-point
 * operations of one run (benchmarks, part estimates). */
#define RM_OP_DECLARE(KIND, name, bindings)                                                        \
    repmlp_status rm_##name##_prepare(repmlp_context *ctx, const rm_##name##_params *p,            \
                                      rm_dispatch *out);                                           \
    uint64_t rm_##name##_flops(const rm_##name##_params *p);
RM_OP_LIST(RM_OP_DECLARE)
#undef RM_OP_DECLARE

#endif
