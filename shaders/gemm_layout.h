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
#define RM_GEMM_MAX_SPEC 68

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

#endif
