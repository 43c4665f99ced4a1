// Shared-memory tiles (RM_GEMM_ALGORITHM_SHARED; SHARED_F16 with RM_F16_MATH): a workgroup of
// LX x LY invocations computes a BM x BN output tile. Per BK-deep slice of the reduction, the
// workgroup stages A (through the including shader's load_a, so index maps and the addend
// apply) and W in shared memory once, then every invocation reads its TM rows and TN columns
// from there: each global element is loaded once per workgroup instead of once per invocation
// row or column. Sizes in gemm_layout.h (RM_SHARED_*), the plan in runtime/ops/gemm_algo_shared.c.
//
// RM_F16_MATH: the slices are staged as fp16 and the products are fp16 (f16vec4), summed in
// fp32 accumulators: half the shared memory and, on GPUs with fast fp16, twice the multiply
// rate; about 3 decimal digits per product.

#define SH_LX RM_SHARED_LX(TM)
#define SH_LY RM_SHARED_LY
#define SH_BM RM_SHARED_BM(TM)
#define SH_BN RM_SHARED_BN(TM)
#define SH_BK RM_SHARED_BK(TM)
#define SH_AROW (SH_BM / 4 + 1) // vec4s per staged k row of A, one of padding
#define SH_WROW (SH_BN / 4 + 1)
#define SH_THREADS (SH_LX * SH_LY)

#ifdef RM_F16_MATH
#define STAGE f16vec4
#else
#define STAGE vec4
#endif
shared STAGE a_slice[SH_BK * SH_AROW]; // [k][m / 4]
shared STAGE w_slice[SH_BK * SH_WROW]; // [k][n / 4]

void main() {
    uint g = gl_WorkGroupID.z;
    uint tile_m = gl_WorkGroupID.y * SH_BM;
    uint tile_n = gl_WorkGroupID.x * SH_BN;
    uint t = gl_LocalInvocationIndex;
    // A is staged by row groups: this invocation loads rows tile_m + rg*TM .. +TM (clamped to
    // M by prepare_rows) of every column s / LY it is given. THREADS is a multiple of LY, so
    // rg is the same for all of them.
    uint rg = t % SH_LY;
    prepare_rows(g, tile_m + rg * TM);
    const uint panels = (NO + PANEL - 1) / PANEL;
    uint kt = reduction_length();

    vec4 acc[TM * NV];
    [[unroll]] for (uint i = 0; i < TM * NV; i++) acc[i] = vec4(0.0);
    uint arow = gl_LocalInvocationID.y * (TM / 4);
    uint wcol = gl_LocalInvocationID.x * NV;

    // Every invocation runs every slice (barriers), also those whose rows or columns are past
    // the problem: their loads are clamped or zero and store_element drops their outputs.
    for (uint k0 = 0; k0 < kt; k0 += SH_BK) {
        for (uint s = t; s < SH_BK * SH_LY; s += SH_THREADS) {
            uint kc = s / SH_LY;
            float a[TM];
            if (k0 + kc < kt) {
                load_column(g, k0 + kc, a);
            } else {
                [[unroll]] for (uint i = 0; i < TM; i++) a[i] = 0.0;
            }
            [[unroll]] for (uint j = 0; j < TM / 4; j++) a_slice[kc * SH_AROW + rg * (TM / 4) + j] =
                STAGE(a[4 * j], a[4 * j + 1], a[4 * j + 2], a[4 * j + 3]);
        }
        // W: BK k rows of BN / 4 vec4s; neighbouring invocations read neighbouring vec4s of a
        // panel. Columns past the last (zero-padded) panel and k past the end read nothing.
        for (uint s = t; s < SH_BK * (SH_BN / 4); s += SH_THREADS) {
            uint kc = s / (SH_BN / 4), c4 = s % (SH_BN / 4);
            uint n = tile_n + c4 * 4;
            STAGE wv = STAGE(0.0);
            if (k0 + kc < kt && n < panels * PANEL)
                wv = STAGE(LOAD_W4(w_vec4_index(g, k0 + kc, n)));
            w_slice[kc * SH_WROW + c4] = wv;
        }
        barrier();
        [[unroll]] for (uint kc = 0; kc < SH_BK; kc++) {
            STAGE av[TM / 4];
            [[unroll]] for (uint j = 0; j < TM / 4; j++) av[j] = a_slice[kc * SH_AROW + arow + j];
            STAGE b[NV];
            [[unroll]] for (uint v = 0; v < NV; v++) b[v] = w_slice[kc * SH_WROW + wcol + v];
            [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++) {
#ifdef RM_F16_MATH
                acc[i * NV + v] += vec4(av[i / 4][i % 4] * b[v]); // fp16 product, fp32 sum
#else
                acc[i * NV + v] = fma(vec4(av[i / 4][i % 4]), b[v], acc[i * NV + v]);
#endif
            }
        }
        barrier();
    }

    // The epilogue: constant accumulator indices (a dynamically indexed array would live in
    // memory), a loop over the 4 components so that store_element, and the validation layer's
    // and drivers' compile time, is not multiplied by TM * TN.
    uint m0 = tile_m + gl_LocalInvocationID.y * TM;
    uint n0 = tile_n + gl_LocalInvocationID.x * TN;
    [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++) {
        vec4 value = acc[i * NV + v];
        for (uint c = 0; c < 4; c++) store_element(g, m0 + i, n0 + v * 4 + c, value[c]);
    }
}
