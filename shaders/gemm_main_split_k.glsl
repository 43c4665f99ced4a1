// Split-K inside a workgroup (RM_ALGORITHM_SPLIT_K), included by gemm_core.glsl, for few rows:
// the workgroup (LX = PANEL / TN lanes, KS = gl_WorkGroupSize.y slices) computes one TM x PANEL
// output tile; slice s sums one contiguous stretch of the reduction (FOR_K_SLICE: A's cursor and
// W's index advance by a step per k, no index division in the loop; the run sums of gemm's
// addend are shared out k = s, s + KS, ...), with the lanes' columns interleaved as in the
// coalesced tile, then the partial tiles are summed through shared memory in slice order
// (deterministic), each invocation finishing some of its lane's accumulators. No subgroup
// operations. Grid (panels, row tiles, groups).
#define SK_LX (PANEL / TN)
#define SK_TILE (TM * NV) // vec4 accumulators per invocation

shared vec4 sk_part[gl_WorkGroupSize.y * SK_LX * SK_TILE];

uint sk_column(uint lane, uint v) {
    return (p.p0 + gl_WorkGroupID.x) * PANEL + (lane + v * SK_LX) * 4;
}

void main() {
    uint g = p.g0 + gl_WorkGroupID.z; // a weight cut into parts starts at p.g0
    uint lane = gl_LocalInvocationID.x;
    uint slice = gl_LocalInvocationID.y;
    const uint slices = gl_WorkGroupSize.y;
    uint m0 = gl_WorkGroupID.y * TM; // < M: the grid has ceil(M / TM) row tiles
    prepare_rows(g, m0);

    vec4 acc[SK_TILE];
    [[unroll]] for (uint i = 0; i < SK_TILE; i++) acc[i] = vec4(0.0);
    // No early return: every invocation must reach the barrier.
    if (sk_column(lane, 0) < NO) {
        // W's vec4 index of (g, k = 0, the lane's first column); column v is v * SK_LX vec4s on
        // (sk_column: the lanes interleave within the panel), row k is k * PANEL / 4 vec4s on.
        const uint w0 = w_vec4_index(g, 0, sk_column(lane, 0));
#define SK_STEP(LOAD_A, KK) FMA_STEP(LOAD_A, w0 + (KK) * (PANEL / 4) + v * SK_LX)
        FOR_K_SLICE(g, slice, slices, SK_STEP);
#ifdef RM_RUNS
        for (uint r = slice; r < run_count(); r += slices) {
            float a[TM];
            load_run(g, r, a);
            vec4 b[NV];
            [[unroll]] for (uint v = 0; v < NV; v++) b[v] =
                LOAD_W4(w_vec4_index(g, K + r, sk_column(lane, v)));
            [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)
                acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);
        }
#endif
    }
    [[unroll]] for (uint e = 0; e < SK_TILE; e++) sk_part[(slice * SK_LX + lane) * SK_TILE + e] =
        acc[e];
    barrier();
    // Accumulator e of this lane, summed over the slices in slice order (deterministic).
    for (uint e = slice; e < SK_TILE; e += slices) {
        vec4 sum = vec4(0.0);
        for (uint t = 0; t < slices; t++) sum += sk_part[(t * SK_LX + lane) * SK_TILE + e];
        uint col = sk_column(lane, e % NV);
        [[unroll]] for (uint c = 0; c < 4; c++) store_element(g, m0 + e / NV, col + c, sum[c]);
    }
}
