/* The packed weight layout of the GEMM-core kernels (see ops.h). */
#include <string.h>

#include "ops/ops.h"

static uint64_t panel_count(uint32_t NO) {
    return ((uint64_t)NO + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL;
}

uint64_t rm_gemm_packed_count(uint32_t groups, uint32_t NO, uint32_t K) {
    uint64_t count = (uint64_t)groups * panel_count(NO) * K * RM_GEMM_PANEL;
    /* Shaders index the packed weight in 32-bit vec4 units. */
    return count / 4 > UINT32_MAX ? 0 : count;
}

void rm_gemm_pack(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, float *packed) {
    uint64_t panels = panel_count(NO);
    for (uint64_t g = 0; g < groups; g++)
        for (uint64_t p = 0; p < panels; p++)
            for (uint64_t k = 0; k < K; k++) {
                float *row = packed + ((g * panels + p) * K + k) * RM_GEMM_PANEL;
                for (uint64_t c = 0; c < RM_GEMM_PANEL; c++) {
                    uint64_t n = p * RM_GEMM_PANEL + c;
                    row[c] = n < NO ? wt[(g * NO + n) * K + k] : 0.0f;
                }
            }
}
