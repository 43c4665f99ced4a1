/* Private: the specialization and grid shared by the kernels built on shaders/gemm_core.glsl
 * (gemm and conv). */
#ifndef RM_GEMM_CORE_H
#define RM_GEMM_CORE_H

#include "ops/ops.h"

/* The specialization-constant ids (RM_SPEC_*, RM_GEMM_CORE_SPEC, RM_GEMM_MAX_SPEC) are in
 * shaders/gemm_layout.h, shared with the shaders. */

typedef struct rm_gemm_core {
    const char *name;                    /* for messages */
    rm_gemm_kernel kernel;               /* which rows of rm_gemm_kernel_variants it may run */
    const rm_gemm_kernel_variant *force; /* NULL: the built-in choice */
    rm_gemm_variant variant;
    uint32_t tile_m; /* 0: chosen from M */
    bool w16;        /* fp16 packed weights */
    uint32_t M, K, NO, groups;
    uint32_t run;         /* the weight block's addend run (rm_gemm_pack), 0 without */
    bool has_addend;      /* reads V */
    uint64_t split_bytes; /* rm_gemm_params.split_bytes */
    rm_epilogue ep;
    rm_index_map y_rows, y_cols;
    /* Largest texel index read through the texel-capable bindings X/source and V, in floats
     * (W's is known from the layout). */
    uint64_t max_read[3];
    uint64_t max_write;
} rm_gemm_core;

/* The first half of rm_gemm_core_prepare, without a pipeline: checks the problem's sizes, picks
 * the kernel row (c->force, else the built-in choice), fills its workgroup (spec[0..2]) and grid
 * and checks the grid against the limits. Needs nothing of ctx but its caps when c->force is set
 * or c->variant is RM_GEMM_STORAGE (no operand path to measure): the planning tests call it on a
 * context holding only caps. */
repmlp_status rm_gemm_core_plan(repmlp_context *ctx, const rm_gemm_core *c,
                                const rm_gemm_kernel_variant **v, uint32_t *spec, uint64_t grid[3]);

/* Fills spec[0..RM_GEMM_CORE_SPEC) and the grid, picks the variant, checks every limit, cuts a
 * weight larger than one binding may span into parts, then gets the pipeline with
 * spec[0..spec_count). */
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

/* Whether row v runs an op of this kernel with these weights (texel rows read either type);
 * limits aside. */
static inline bool rm_gemm_kernel_variant_runs(const rm_gemm_kernel_variant *v,
                                               rm_gemm_kernel kernel, bool w16) {
    return v->kernel == kernel &&
           (v->weights == RM_GEMM_WEIGHTS_ANY || (v->weights == RM_GEMM_WEIGHTS_F16) == w16);
}

/* The plan of each algorithm but the register tile (one file each,
 * runtime/ops/gemm_algo_<name>.c): the workgroup (spec[0..2]) and grid for row v, or
 * REPMLP_ERROR_UNSUPPORTED naming what this device or shape lacks. */
#define RM_GEMM_PLAN(name)                                                                         \
    repmlp_status rm_gemm_plan_##name(repmlp_context *ctx, const rm_gemm_core *c,                  \
                                      const rm_gemm_kernel_variant *v, uint32_t *spec,             \
                                      uint64_t grid[3])
RM_GEMM_PLAN(coalesced);
RM_GEMM_PLAN(subgroup_gemv);
RM_GEMM_PLAN(narrow);
RM_GEMM_PLAN(split_k);
RM_GEMM_PLAN(shared);
RM_GEMM_PLAN(shared_f16);
RM_GEMM_PLAN(coopmat_nv);
/* The shared-memory tile with slices staged as stage_bytes-wide values (4: fp32, 2: fp16). */
repmlp_status rm_gemm_plan_shared_tile(repmlp_context *ctx, const rm_gemm_core *c,
                                       const rm_gemm_kernel_variant *v, uint32_t *spec,
                                       uint64_t grid[3], uint32_t stage_bytes);

/* The K-slices of split-K on this device for K steps and a tile of tile_m rows: a power of two
 * up to 16, as many as K has steps and the workgroup and shared-memory limits take; 0 when not
 * even one fits. */
uint32_t rm_gemm_split_k_slices(const rm_device_caps *caps, uint32_t K, uint32_t tile_m);

/* spec[0..7) <- map (3 radices, 4 strides). */
void rm_gemm_put_map(uint32_t *spec, const rm_index_map *m);

#endif
