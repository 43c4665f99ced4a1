/* The GEMM core's layout, shared by C (runtime/ops) and GLSL (gemm_core.glsl, gemm.comp,
 * conv.comp): the register tile and panel widths, and every specialization-constant id, so the
 * two sides cannot drift apart. Plain #defines only: both preprocessors read this file. */
#ifndef RM_GEMM_LAYOUT_H
#define RM_GEMM_LAYOUT_H

/* Columns per invocation, and per workgroup (a weight panel). */
#define RM_GEMM_TN 8
#define RM_GEMM_PANEL 64

/* Constants 0..2 are the workgroup size in every shader. An index map takes 7 constants:
 * radix 0..2, then stride 0..3 (rm_gemm_put_map). */
#define RM_SPEC_MAP_SIZE 7

/* Every GEMM-core kernel (gemm_core.glsl) */
#define RM_SPEC_K 3
#define RM_SPEC_NO 4
#define RM_SPEC_HAS_BIAS 5
#define RM_SPEC_ACT 6
#define RM_SPEC_Y_ROWS 7
#define RM_SPEC_Y_COLS 14
#define RM_SPEC_HAS_SCALE 21
#define RM_SPEC_S_ROWS 22
#define RM_SPEC_S_COLS 29
#define RM_SPEC_HAS_RESIDUAL 36
#define RM_SPEC_W_HALF 37    /* fp16 weight block: bias as hi + lo rows, even row count */
#define RM_GEMM_CORE_SPEC 38 /* the kernels' own constants start here */

/* gemm.comp */
#define RM_SPEC_A_ROWS 38
#define RM_SPEC_A_COLS 45
#define RM_SPEC_HAS_ADDEND 52
#define RM_SPEC_V_ROWS 53
#define RM_SPEC_V_COLS 60
#define RM_SPEC_ADD_RUN 67
#define RM_SPEC_ADD_RUNS 68 /* K / ADD_RUN, 0 without a run addend: computed by the host */
#define RM_GEMM_MAX_SPEC 69

/* conv.comp: CG, C, H, W, KH, KW, STRIDE_H, STRIDE_W, PAD_H, PAD_W, OH, OW in this order */
#define RM_SPEC_CONV 38
#define RM_SPEC_CONV_COUNT 12

/* Push constants of every GEMM-core kernel, in 32-bit words: the row count, the first group
 * and panel of this dispatch (a weight larger than one binding may span runs as several
 * dispatches, each binding a range of panel blocks), and the element offsets of V, S and R in
 * the AUX binding. */
#define RM_PUSH_M 0
#define RM_PUSH_G0 1
#define RM_PUSH_P0 2
#define RM_PUSH_V_OFF 3
#define RM_PUSH_S_OFF 4
#define RM_PUSH_R_OFF 5
#define RM_GEMM_PUSH_WORDS 6
/* Shared-memory tiles (shaders/gemm_main_shared.glsl, RM_GEMM_ALGORITHM_SHARED and
 * SHARED_F16): a row of tile TM is a workgroup of LX x LY invocations, each a TM x TN register
 * tile, computing a BM x BN output tile from BK-deep slices of A and W staged in shared memory.
 * TM = 4: 64 x 64, 8 x 16 = 128 invocations, BK 16; TM = 8: 128 x 128, 256 invocations, BK 8
 * (so that both fit 16 KiB of fp32 shared memory). Each k row of a staged slice is padded by
 * one vec4 so that the rows of a slice start in different banks. */
#define RM_SHARED_LY 16
#define RM_SHARED_BM(tm) (RM_SHARED_LY * (tm))
#define RM_SHARED_BN(tm) RM_SHARED_BM(tm)
#define RM_SHARED_LX(tm) (RM_SHARED_BN(tm) / RM_GEMM_TN)
#define RM_SHARED_BK(tm) (64 / (tm))
/* Staged vec4s per slice: A (BK x BM) and W (BK x BN), each k row padded. */
#define RM_SHARED_VEC4S(tm)                                                                        \
    (RM_SHARED_BK(tm) * (RM_SHARED_BM(tm) / 4 + 1) + RM_SHARED_BK(tm) * (RM_SHARED_BN(tm) / 4 + 1))

/* NV cooperative matrices (shaders/gemm_main_coopmat_nv.glsl): the one shape the kernel uses,
 * fp16 A (M x K) and B (K x N), fp32 C; offered where the device reports it
 * (runtime/core/context.c). */
#define RM_COOP_M 16
#define RM_COOP_N 8
#define RM_COOP_K 16

#endif
