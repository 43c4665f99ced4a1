// Coalesced register tile (RM_ALGORITHM_COALESCED), included by gemm_core.glsl: the TM x TN
// tile of the register tile, but lane i of a panel's LX = PANEL / TN lanes takes the vec4
// columns i, i + LX, ... of the panel instead of TN/4 neighbouring ones, so each load
// instruction of the LX lanes reads LX consecutive vec4s (one contiguous row segment of the
// panel) rather than every NV-th one. Workgroup (LX, LY, 1), grid as the register tile's.
//
// RM_ALGORITHM_NARROW: the same with 4 columns per invocation (LX = PANEL / 4 lanes), TM vec4
// accumulators instead of 2 * TM, for register files that spill the 8-column tile.
#ifdef RM_ALGORITHM_NARROW
#define CO_NV 1
#else
#define CO_NV NV
#endif
#define CO_TN (CO_NV * 4)
#define CO_LX (PANEL / CO_TN)

// Column of the lane's vec4 v (a multiple of 4).
uint co_column(uint lane, uint v) {
    return (p.p0 + gl_WorkGroupID.x) * PANEL + (lane + v * CO_LX) * 4;
}

// One k step: A's TM values from LOAD_A, the lane's CO_NV weight vec4s of row k.
#define CO_STEP(LOAD_A, k)                                                                         \
    {                                                                                              \
        float a[TM];                                                                               \
        LOAD_A;                                                                                    \
        vec4 b[CO_NV];                                                                             \
        [[unroll]] for (uint v = 0; v < CO_NV; v++) b[v] =                                         \
            LOAD_W4(w_vec4_index(g, k, co_column(lane, v)));                                       \
        [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < CO_NV; v++)       \
            acc[i * CO_NV + v] = fma(vec4(a[i]), b[v], acc[i * CO_NV + v]);                        \
    }

void main() {
    uint g = p.g0 + gl_WorkGroupID.z; // a weight cut into parts starts at p.g0
    uint lane = gl_LocalInvocationID.x;
    uint m0 = gl_GlobalInvocationID.y * TM;
    if (co_column(lane, 0) >= NO || m0 >= p.M) return;
    prepare_rows(g, m0);

    vec4 acc[TM * CO_NV];
    [[unroll]] for (uint i = 0; i < TM * CO_NV; i++) acc[i] = vec4(0.0);
    FOR_K(g, CO_STEP);
#ifdef RM_RUNS
    for (uint r = 0; r < run_count(); r++) CO_STEP(load_run(g, r, a), K + r);
#endif
    // The epilogue as a loop, not unrolled: TM * TN inlined store_element copies took CPU
    // drivers' compilers ~1 s per pipeline. The copy keeps acc's indices constant above.
    vec4 res[TM * CO_NV] = acc;
    [[dont_unroll]] for (uint e = 0; e < TM * CO_TN; e++) store_element(
        g, m0 + e / CO_TN, co_column(lane, (e % CO_TN) / 4) + e % 4, res[e / 4][e % 4]);
}
