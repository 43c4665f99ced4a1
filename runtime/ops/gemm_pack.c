/* The packed weight blocks of the GEMM-core kernels (see ops.h). */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

static uint64_t panel_count(uint32_t NO) {
    return ((uint64_t)NO + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL;
}

uint64_t rm_gemm_block_rows(uint32_t K, uint32_t run, bool half) {
    uint64_t rows = (uint64_t)K + (run ? K / run : 0) + (half ? 2 : 1);
    return half ? (rows + 1) / 2 * 2 : rows; /* fp16: whole 256-byte pairs of rows */
}

uint64_t rm_gemm_block_bytes(uint32_t K, uint32_t run, bool half) {
    return rm_gemm_block_rows(K, run, half) * RM_GEMM_PANEL * (half ? 2 : 4);
}

uint64_t rm_gemm_packed_count(uint32_t groups, uint32_t NO, uint32_t K, uint32_t run, bool half) {
    uint64_t blocks = (uint64_t)groups * panel_count(NO);
    uint64_t block = rm_gemm_block_rows(K, run, half) * RM_GEMM_PANEL;
    /* Bytes stay below 2^62: sizes, offsets and their sums never wrap. */
    if (!blocks || block > ((uint64_t)1 << 60) / blocks) return 0;
    return blocks * block;
}

/* The fp32 rows of block (g, p): K weight rows, the run sums, then the bias row. */
static void pack_block(const float *wt, const float *bias, uint32_t NO, uint32_t K, uint32_t run,
                       uint64_t g, uint64_t p, float *rows) {
    uint64_t runs = run ? K / run : 0;
    for (uint64_t c = 0; c < RM_GEMM_PANEL; c++) {
        uint64_t n = p * RM_GEMM_PANEL + c;
        const float *col = n < NO ? wt + (g * NO + n) * K : NULL;
        for (uint64_t k = 0; k < K; k++) rows[k * RM_GEMM_PANEL + c] = col ? col[k] : 0.0f;
        for (uint64_t r = 0; r < runs; r++) {
            double sum = 0.0;
            for (uint64_t j = 0; col && j < run; j++) sum += col[r * run + j];
            rows[(K + r) * RM_GEMM_PANEL + c] = (float)sum;
        }
        rows[(K + runs) * RM_GEMM_PANEL + c] = col && bias ? bias[g * NO + n] : 0.0f;
    }
}

void rm_gemm_pack(const float *wt, const float *bias, uint32_t groups, uint32_t NO, uint32_t K,
                  uint32_t run, float *packed) {
    uint64_t panels = panel_count(NO), block = rm_gemm_block_rows(K, run, false) * RM_GEMM_PANEL;
    for (uint64_t g = 0; g < groups; g++)
        for (uint64_t p = 0; p < panels; p++)
            pack_block(wt, bias, NO, K, run, g, p, packed + (g * panels + p) * block);
}

uint16_t rm_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000, a = x & 0x7fffffff;
    if (a >= 0x7f800000) return (uint16_t)(sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00));
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: infinity */
    if (a < 0x38800000) {                                  /* below 2^-14: subnormal or zero */
        float m;
        memcpy(&m, &a, sizeof m);
        return (uint16_t)(sign | (uint32_t)nearbyint((double)m * 16777216.0)); /* ties to even */
    }
    uint32_t v = a - (112u << 23);       /* exponent bias 127 -> 15 */
    v += 0xfff + ((v >> 13) & 1);        /* round the 13 dropped bits, ties to even */
    return (uint16_t)(sign | (v >> 13)); /* a carry into the exponent is still right */
}

float rm_f16_to_f32(uint16_t h) {
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v = exp == 0    ? ldexpf((float)mant, -24)
              : exp == 31 ? (mant ? NAN : INFINITY)
                          : ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

bool rm_gemm_pack_f16(const float *wt, const float *bias, uint32_t groups, uint32_t NO, uint32_t K,
                      uint32_t run, float *scratch, uint16_t *packed) {
    uint64_t panels = panel_count(NO), block = rm_gemm_block_rows(K, run, true) * RM_GEMM_PANEL;
    uint64_t bias_row = (uint64_t)K + (run ? K / run : 0);
    bool finite = true;
    for (uint64_t g = 0; g < groups; g++)
        for (uint64_t p = 0; p < panels; p++) {
            uint16_t *out = packed + (g * panels + p) * block;
            pack_block(wt, bias, NO, K, run, g, p, scratch);
            for (uint64_t i = 0; i < bias_row * RM_GEMM_PANEL; i++) {
                out[i] = rm_f32_to_f16(scratch[i]);
                finite &= (out[i] & 0x7c00) != 0x7c00;
            }
            /* The bias as hi + lo / 2048, which keeps ~22 of fp32's 24 bits down to fp16's
             * smallest normal (lo unscaled would be subnormal below |b| ~ 2^-3): fp16 alone
             * would add its 2^-11 relative error to every output, not only to products. */
            uint16_t *hi = out + bias_row * RM_GEMM_PANEL, *lo = hi + RM_GEMM_PANEL;
            for (uint64_t c = 0; c < RM_GEMM_PANEL; c++) {
                float b = scratch[bias_row * RM_GEMM_PANEL + c];
                hi[c] = rm_f32_to_f16(b);
                lo[c] = rm_f32_to_f16((b - rm_f16_to_f32(hi[c])) * 2048.0f);
                finite &= (hi[c] & 0x7c00) != 0x7c00;
            }
            for (uint64_t i = (bias_row + 2) * RM_GEMM_PANEL; i < block; i++) out[i] = 0;
        }
    return finite;
}
