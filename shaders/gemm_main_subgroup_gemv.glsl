// Subgroup-reduction GEMV (RM_ALGORITHM_SUBGROUP_GEMV), included by gemm_core.glsl, for few
// rows (M <= 8 in one row tile): a subgroup computes TM rows x TN columns with the K steps
// dealt round-robin to its lanes, then one subgroupAdd per accumulator. Consecutive lanes read
// consecutive k: contiguous A, and W rows one panel row (PANEL floats) apart, TN floats each.
// The workgroup (a whole number of subgroups) covers one panel of PANEL / TN column chunks,
// its subgroups taking chunks round-robin; grid (panels, row tiles, groups).
//
// Correct for any subgroup size and for partial subgroups: lanes are ranked among the active
// invocations (subgroupExclusiveAdd), not taken from gl_SubgroupInvocationID / gl_SubgroupSize.

#define SG_HALF (TM * NV / 2) // vec4 sums in half the tile (NV is even)

void main() {
    uint g = p.g0 + gl_WorkGroupID.z; // a weight cut into parts starts at p.g0
    uint m0 = gl_WorkGroupID.y * TM;  // < M: the grid has ceil(M / TM) row tiles
    uint lane = subgroupExclusiveAdd(1u);
    uint lanes = subgroupAdd(1u);
    prepare_rows(g, m0);
    // chunk is uniform in the subgroup, so every lane reaches each subgroupAdd.
    for (uint chunk = gl_SubgroupID; chunk < PANEL / TN; chunk += gl_NumSubgroups) {
        uint n0 = (p.p0 + gl_WorkGroupID.x) * PANEL + chunk * TN;
        if (n0 >= NO) break;
        vec4 acc[TM * NV];
        [[unroll]] for (uint i = 0; i < TM * NV; i++) acc[i] = vec4(0.0);
        for (uint k = lane; k < K; k += lanes) {
            float a[TM];
            load_a(g, k, a);
            vec4 b[NV];
            [[unroll]] for (uint v = 0; v < NV; v++) b[v] = LOAD_W4(w_vec4_index(g, k, n0 + v * 4));
            [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)
                acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);
        }
#ifdef RM_RUNS
        for (uint r = lane; r < run_count(); r += lanes) {
            float a[TM];
            load_run(g, r, a);
            vec4 b[NV];
            [[unroll]] for (uint v = 0; v < NV; v++) b[v] =
                LOAD_W4(w_vec4_index(g, K + r, n0 + v * 4));
            [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)
                acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);
        }
#endif
        // Every lane holds the sums; the stores are dealt round-robin to the lanes, in a loop
        // (unrolled store_element copies cost CPU drivers' compilers ~1 s per pipeline). Half
        // the tile at a time: the sums are uniform, so AMD's compiler keeps them in scalar
        // registers, and all TM * TN of them at once spilled on GCN (SGPRs, conv_sgemv_*_m8).
        [[unroll]] for (uint h = 0; h < 2; h++) {
            vec4 res[SG_HALF];
            [[unroll]] for (uint i = 0; i < SG_HALF; i++) res[i] =
                subgroupAdd(acc[h * SG_HALF + i]);
            [[dont_unroll]] for (uint e = lane; e < SG_HALF * 4; e += lanes) {
                uint at = h * SG_HALF * 4 + e; // the element's place in the TM x TN tile
                store_element(g, m0 + at / TN, n0 + at % TN, res[e / 4][e % 4]);
            }
        }
    }
}
