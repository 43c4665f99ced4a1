// Coalesced register tile (RM_ALGORITHM_COALESCED), included by gemm_core.glsl: the TM x TN
// tile of the register tile, but lane i of a panel's LX = PANEL / TN lanes takes the vec4
// columns i, i + LX, ... of the panel instead of TN/4 neighbouring ones, so each load
// instruction of the LX lanes reads LX consecutive vec4s (one contiguous row segment of the
// panel) rather than every NV-th one. Workgroup (LX, LY, 1), grid as the register tile's.
#define CO_LX (PANEL / TN)

// Column of the lane's vec4 v (a multiple of 4).
uint co_column(uint lane, uint v) {
    return gl_WorkGroupID.x * PANEL + (lane + v * CO_LX) * 4;
}

void main() {
    uint g = gl_WorkGroupID.z;
    uint lane = gl_LocalInvocationID.x;
    uint m0 = gl_GlobalInvocationID.y * TM;
    if (co_column(lane, 0) >= NO || m0 >= p.M) return;
    prepare_rows(g, m0);

    vec4 acc[TM * NV];
    [[unroll]] for (uint i = 0; i < TM * NV; i++) acc[i] = vec4(0.0);
    for (uint k = 0; k < K; k++) {
        float a[TM];
        load_a(g, k, a);
        vec4 b[NV];
        [[unroll]] for (uint v = 0; v < NV; v++) b[v] =
            LOAD_W4(w_vec4_index(g, k, co_column(lane, v)));
        [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)
            acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);
    }
#ifdef RM_RUNS
    for (uint r = 0; r < run_count(); r++) {
        float a[TM];
        load_run(g, r, a);
        vec4 b[NV];
        [[unroll]] for (uint v = 0; v < NV; v++) b[v] =
            LOAD_W4(w_run_vec4_index(g, r, co_column(lane, v)));
        [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)
            acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);
    }
#endif
    // The epilogue as a loop, not unrolled: TM * TN inlined store_element copies took CPU
    // drivers' compilers ~1 s per pipeline. The copy keeps acc's indices constant above.
    vec4 res[TM * NV] = acc;
    [[dont_unroll]] for (uint e = 0; e < TM * TN; e++)
        store_element(g, m0 + e / TN, co_column(lane, (e % TN) / 4) + e % 4, res[e / 4][e % 4]);
}
