/* The conv (implicit GEMM) case that test_op_conv runs with the built-in kernels at every row
 * tile and test_op_conv_variants with every conv row of the other algorithms forced: random
 * operands, rm_conv_prepare's dispatch in every configuration the state below selects, compared
 * with ref_conv2d_rect (reference/nn_ref.h) plus the residual and activation. */
#ifndef TS_CONV_CASES_H
#define TS_CONV_CASES_H

#include <stdbool.h>
#include <stdint.h>

#include "test_support.h"
#include "ops/ops.h"

/* The operand variant (storage or texel) the case runs with. */
extern rm_gemm_variant ts_conv_variant;
/* Cut every weight into one dispatch per panel block (rm_conv_params.split_bytes). */
extern bool ts_conv_split;
/* When set, the case runs this conv row (its gemm twin for pointwise convs) instead of every
 * row tile of the built-in choice; fp16 weights when the row reads them. */
extern const rm_gemm_kernel_variant *ts_conv_forced;

typedef struct ts_conv_case {
    uint32_t N, C, H, W, O, k, stride, pad, groups;
    rm_activation act;
    bool bias, residual;
    uint32_t kw, sw; /* 0: square (k, stride) */
} ts_conv_case;

/* Runs one conv case in every configuration, failing the test beyond the tolerance. */
void ts_conv_check(const ts_conv_case *t);

#endif
