/* Private: 8-bit GEMM/conv weights in the fused file (docs/FUSED_FORMAT.md, "8-bit weights").
 * A weight tensor of shape (rows, ...) is a (rows, K) matrix, K the product of the other
 * dimensions; each row is cut into blocks of RM_Q8_BLOCK values along K (the last one
 * shorter when K is not a multiple), and each block holds int8 values q in [-127, 127] with
 * one fp16 scale s: the weight is q * s. The writer stores `<name>` as I8 in the tensor's own
 * shape and `<name>_scale` as F16 of shape (rows, blocks). */
#ifndef RM_WEIGHTS_Q8_H
#define RM_WEIGHTS_Q8_H

#include <stdbool.h>
#include <stdint.h>

#include "repmlp/status.h"

#define RM_Q8_BLOCK 32
#define RM_Q8_SCALE_SUFFIX "_scale"

/* Blocks per row of K values, blocks of `block` (0 for K == 0). */
uint64_t rm_q8_blocks(uint64_t K, uint32_t block);

/* fp16 <-> fp32, round to nearest even, as the file stores scales. */
uint16_t rm_q8_f32_to_f16(float f);
float rm_q8_f16_to_f32(uint16_t h);

/* Quantizes the rows x K matrix x (row-major) in blocks of `block` along K (block == K: one
 * scale per row): scales[rows * blocks] (fp32 values; with f16_scales rounded to fp16, as the
 * file holds them) and q[rows * K]. A block of zeros gets scale 0. Returns false when a scale
 * is beyond fp16's range (a block whose largest magnitude exceeds 127 * 65504). */
bool rm_q8_quantize(const double *x, uint64_t rows, uint64_t K, uint32_t block, bool f16_scales,
                    int8_t *q, float *scales);

/* The weights q * scale into out[rows * K] (blocks of `block`), after checking every block:
 * values in [-127, 127], its scale finite and positive, or zero when all its values are 0.
 * On a bad block: REPMLP_ERROR_FORMAT "<where>: tensor '<name>': ..." naming the row and block,
 * and out is unspecified. q and scales may be unaligned bytes (read through memcpy). */
repmlp_status rm_q8_dequantize(const void *q, const void *scales_f16, uint64_t rows, uint64_t K,
                               uint32_t block, const char *where, const char *name, float *out);

#endif
