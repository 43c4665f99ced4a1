/* The GEMM-core cases that test_op_gemm runs with the built-in kernels at every row tile and
 * test_op_gemm_variants with every row of the other algorithms forced: each builds random
 * operands, runs rm_gemm_prepare's dispatch in every configuration the state below selects
 * and compares it with ref_gemm (reference/ops_ref.h), failing the test beyond the tolerance. */
#ifndef TS_GEMM_CASES_H
#define TS_GEMM_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_support.h"
#include "ops/ops.h"

/* The operand variant (storage or texel) the cases run with. */
extern rm_gemm_variant ts_gemm_variant;
/* When set, each case runs this row of rm_gemm_kernel_variants (rm_gemm_params.force) instead
 * of every row tile of the built-in choice. */
extern const rm_gemm_kernel_variant *ts_gemm_forced;
/* > 0: the cases cut their weight into bindings of at most this many bytes
 * (rm_gemm_params.split_bytes); ts_gemm_plain's dispatch must then have ts_gemm_split_parts
 * parts. */
extern uint64_t ts_gemm_split_bytes;
extern uint32_t ts_gemm_split_parts;

/* Row-major (M, g*K) x (g*NO, K)^T in g groups, with bias and ReLU on or off. */
void ts_gemm_plain(uint32_t M, uint32_t K, uint32_t NO, uint32_t g, bool bias, bool relu);
/* The RepMLP partition perceptron through index maps, with the global perceptron's broadcast
 * addend (at every k and through the weight's run sums) when `addend`. */
void ts_gemm_partition_maps(uint32_t N, uint32_t C, uint32_t O, uint32_t H, uint32_t W, uint32_t h,
                            uint32_t w, uint32_t g, bool addend);
/* A four-digit column map (radices r, the last digit < q) permuting A's columns, and with
 * `addend` a V through another permutation: every carry of the kernels' map walk. */
void ts_gemm_digit_maps(uint32_t M, uint32_t NO, uint32_t g, const uint32_t r[3], uint32_t q,
                        bool addend);
/* The first `count` (at most 4) fp16-weight shapes (rm_gemm_pack_f16). */
void ts_gemm_fp16_cases(size_t count);
/* V, S and R read through the one AUX binding, with bias, scale, residual and ReLU. */
void ts_gemm_aux_case(void);

#endif
