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
#define RM_GEMM_CORE_SPEC 37 /* the kernels' own constants start here */

/* gemm.comp */
#define RM_SPEC_A_ROWS 37
#define RM_SPEC_A_COLS 44
#define RM_SPEC_HAS_ADDEND 51
#define RM_SPEC_V_ROWS 52
#define RM_SPEC_V_COLS 59
#define RM_SPEC_ADD_RUN 66
#define RM_GEMM_MAX_SPEC 67

/* conv.comp: CG, C, H, W, KH, KW, STRIDE_H, STRIDE_W, PAD_H, PAD_W, OH, OW in this order */
#define RM_SPEC_CONV 37
#define RM_SPEC_CONV_COUNT 12

#endif
