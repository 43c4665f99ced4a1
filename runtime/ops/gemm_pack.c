/* The packed weight layout of the GEMM-core kernels (see ops.h). */
#include <math.h>
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

/* Packs the (groups*NO, K/run) matrix whose column r sums Wt's columns [r*run, (r+1)*run):
 * run 1 is Wt itself. */
static void pack_run_sums(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, uint32_t run,
                          float *packed) {
    uint64_t panels = panel_count(NO), runs = K / run;
    for (uint64_t g = 0; g < groups; g++)
        for (uint64_t p = 0; p < panels; p++)
            for (uint64_t r = 0; r < runs; r++) {
                float *row = packed + ((g * panels + p) * runs + r) * RM_GEMM_PANEL;
                for (uint64_t c = 0; c < RM_GEMM_PANEL; c++) {
                    uint64_t n = p * RM_GEMM_PANEL + c;
                    double sum = 0.0;
                    for (uint64_t j = 0; n < NO && j < run; j++)
                        sum += wt[(g * NO + n) * K + r * run + j];
                    row[c] = (float)sum;
                }
            }
}

void rm_gemm_pack(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, float *packed) {
    pack_run_sums(wt, groups, NO, K, 1, packed);
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

bool rm_gemm_pack_f16(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, uint32_t run,
                      float *scratch, uint16_t *packed) {
    uint64_t n = rm_gemm_packed_count_runs(groups, NO, K, run);
    rm_gemm_pack_runs(wt, groups, NO, K, run, scratch);
    bool finite = true;
    for (uint64_t i = 0; i < n; i++) {
        packed[i] = rm_f32_to_f16(scratch[i]);
        finite &= (packed[i] & 0x7c00) != 0x7c00;
    }
    return finite;
}

uint64_t rm_gemm_packed_count_runs(uint32_t groups, uint32_t NO, uint32_t K, uint32_t run) {
    uint64_t main = rm_gemm_packed_count(groups, NO, K);
    if (!run || !main) return main;
    uint64_t sums = rm_gemm_packed_count(groups, NO, K / run);
    return sums && (main + sums) / 4 <= UINT32_MAX ? main + sums : 0;
}

void rm_gemm_pack_runs(const float *wt, uint32_t groups, uint32_t NO, uint32_t K, uint32_t run,
                       float *packed) {
    rm_gemm_pack(wt, groups, NO, K, packed);
    if (run) pack_run_sums(wt, groups, NO, K, run, packed + rm_gemm_packed_count(groups, NO, K));
}
