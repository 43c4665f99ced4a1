/* Private: the compute ops. Each op turns its parameters into a ready rm_dispatch (pipeline,
 * push constants, grid); the caller binds buffers in the order documented per op. */
#ifndef RM_OPS_H
#define RM_OPS_H

#include <stdbool.h>

#include "core/dispatch.h"

/* Average pooling over NCHW with an h x w window and equal stride (no padding); the global
 * pool is kh = H, kw = W. Bindings: 0 input (N,C,H,W), 1 output (N,C,H/kh,W/kw). */
typedef struct rm_avgpool_params {
    uint32_t N, C, H, W, kh, kw;
} rm_avgpool_params;
repmlp_status rm_avgpool_prepare(repmlp_context *ctx, const rm_avgpool_params *p, rm_dispatch *out);

/* x (N,C,hp,h,wp,w) += v (N,C,hp,1,wp,1), in place. Bindings: 0 x, 1 v. */
typedef struct rm_broadcast_add_params {
    uint32_t N, C, H, W, h, w;
} rm_broadcast_add_params;
repmlp_status rm_broadcast_add_prepare(repmlp_context *ctx, const rm_broadcast_add_params *p,
                                       rm_dispatch *out);

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

typedef enum rm_activation { RM_ACT_NONE = 0, RM_ACT_RELU = 1 } rm_activation;

/* Which kernel variant reads the operands: chosen from the device's caps by default; tests
 * and benchmarks force one to cover both on every driver. */
typedef enum rm_gemm_variant {
    RM_GEMM_AUTO = 0,
    RM_GEMM_STORAGE, /* storage buffers: works everywhere */
    RM_GEMM_TEXEL,   /* uniform texel buffers: X, Wt, V each below maxTexelBufferElements */
} rm_gemm_variant;

/* Grouped GEMM: Y[m, G*NO + n] = act(sum_k X'[m, G*K + k] * Wt[G*NO + n, k] + b[G*NO + n])
 * for m < M, G < groups, with X' = X, or X + V when has_addend (V addressed by v_rows/v_cols;
 * a stride of 0 broadcasts). Wt is (groups*NO, K) row-major. X's and Y's element positions
 * come from the index maps (row-major X is a_rows = stride(groups*K), a_cols = stride(1)).
 * Bindings: 0 X, 1 Wt, 2 bias, 3 Y, 4 V; an unused bias or V binding takes any non-empty
 * buffer. */
typedef struct rm_gemm_params {
    uint32_t M, K, NO, groups;
    bool has_bias;
    bool has_addend;
    rm_activation act;
    rm_index_map a_rows, a_cols, y_rows, y_cols;
    rm_index_map v_rows, v_cols;
    rm_gemm_variant variant;
} rm_gemm_params;
repmlp_status rm_gemm_prepare(repmlp_context *ctx, const rm_gemm_params *p, rm_dispatch *out);

#endif
