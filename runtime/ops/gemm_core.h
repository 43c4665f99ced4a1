/* Private: the specialization and grid shared by the kernels built on shaders/gemm_core.glsl
 * (gemm and conv). */
#ifndef RM_GEMM_CORE_H
#define RM_GEMM_CORE_H

#include "ops/ops.h"

/* The specialization-constant ids (RM_SPEC_*, RM_GEMM_CORE_SPEC, RM_GEMM_MAX_SPEC) are in
 * shaders/gemm_layout.h, shared with the shaders. */

typedef struct rm_gemm_core {
    const char *name;      /* for messages */
    rm_gemm_kernel kernel; /* which rows of rm_gemm_kernel_variants it may run */
    rm_gemm_variant variant;
    uint32_t tile_m; /* 0: chosen from M */
    bool w16;        /* fp16 packed weights */
    /* NULL: chosen here; else forced (rm_gemm_params.row) */
    const rm_gemm_kernel_variant *row;
    uint32_t M, K, NO, groups;
    rm_epilogue ep;
    rm_index_map y_rows, y_cols;
    /* Largest texel index read through each texel-capable binding: X/source and V in floats,
     * the packed W in vec4s. */
    uint64_t max_read[3];
    uint64_t max_write;
} rm_gemm_core;

/* Fills spec[0..36] and the grid, picks the variant, checks every limit, then gets the
 * pipeline with spec[0..spec_count). */
repmlp_status rm_gemm_core_prepare(repmlp_context *ctx, const rm_gemm_core *core, uint32_t *spec,
                                   uint32_t spec_count, rm_dispatch *out);

/* How RM_GEMM_AUTO reads its operands on this context: REPMLP_OPERAND_PATH when set, else
 * measured the first time it is asked (ops/operand_path.c), under ctx->operand_lock: a small
 * GEMM timed with the storage- and the texel-buffer kernel (a candidate that does not fit
 * ctx->caps is skipped), the faster one kept for the context's life. */
repmlp_status rm_operand_path_get(repmlp_context *ctx, rm_operand_path *out);

/* The row of rm_gemm_kernel_variants (shaders/shader_list.h) with these properties, or NULL. */
const rm_gemm_kernel_variant *
rm_gemm_kernel_variant_find(rm_gemm_kernel kernel, rm_operand_path path, rm_gemm_weights weights,
                            rm_gemm_algorithm algorithm, uint32_t tile_m);

/* spec[0..7) <- map (3 radices, 4 strides). */
void rm_gemm_put_map(uint32_t *spec, const rm_index_map *m);

#endif
