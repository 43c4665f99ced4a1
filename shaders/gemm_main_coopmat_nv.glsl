// NV cooperative matrices (RM_GEMM_ALGORITHM_COOPMAT_NV; GL_NV_cooperative_matrix, the
// extension this toolchain's glslang knows; the KHR one waits for newer tools). A workgroup of
// COOP_SUBGROUPS subgroups computes a BM x BN output tile, each subgroup a 16-row strip of it
// as BN / RM_COOP_N fp32 accumulator matrices. Per RM_COOP_K-deep slice the workgroup stages A
// (through load_a, as the register tile does: index maps, addend, run sums) and W in shared
// memory as fp16, then every subgroup multiplies its A strip by the W slice. The epilogue goes
// element by element through store_element, one accumulator at a time via a small per-subgroup
// shared buffer. Offered only where the device reports this shape (runtime/core/context.c).

#define COOP_SUBGROUPS 4
#define CM_BM (COOP_SUBGROUPS * RM_COOP_M)
#define CM_BN 64
#define CM_BK RM_COOP_K
#define CM_ACCS (CM_BN / RM_COOP_N)
#define CM_ASTRIDE (CM_BK + 8) // fp16 elements per staged A row, padded (bank spread)
#define CM_WSTRIDE (CM_BN + 8) // fp16 elements per staged W k row, padded

shared float16_t a_coop[CM_BM * CM_ASTRIDE];                 // [m][k]
shared float16_t w_coop[CM_BK * CM_WSTRIDE];                 // [k][n]
shared float c_coop[COOP_SUBGROUPS * RM_COOP_M * RM_COOP_N]; // one accumulator per subgroup

void main() {
    uint g = gl_WorkGroupID.z;
    uint tile_m = gl_WorkGroupID.y * CM_BM;
    uint tile_n = gl_WorkGroupID.x * CM_BN;
    uint t = gl_LocalInvocationIndex;
    uint threads = gl_WorkGroupSize.x; // COOP_SUBGROUPS subgroups, a multiple of CM_BM / TM
    uint rg = t % (CM_BM / TM);        // A row group this invocation stages, as in the shared tile
    prepare_rows(g, tile_m + rg * TM);
    const uint panels = (NO + PANEL - 1) / PANEL;
    uint kt = reduction_length();
    uint strip = gl_SubgroupID;

    fcoopmatNV<32, gl_ScopeSubgroup, RM_COOP_M, RM_COOP_N> acc[CM_ACCS];
    [[unroll]] for (uint j = 0; j < CM_ACCS; j++) acc[j] =
        fcoopmatNV<32, gl_ScopeSubgroup, RM_COOP_M, RM_COOP_N>(0.0);

    for (uint k0 = 0; k0 < kt; k0 += CM_BK) {
        for (uint s = t; s < CM_BK * (CM_BM / TM); s += threads) {
            uint kc = s / (CM_BM / TM);
            float a[TM];
            if (k0 + kc < kt) {
                load_column(g, k0 + kc, a);
            } else {
                [[unroll]] for (uint i = 0; i < TM; i++) a[i] = 0.0;
            }
            [[unroll]] for (uint i = 0; i < TM; i++) a_coop[(rg * TM + i) * CM_ASTRIDE + kc] =
                float16_t(a[i]);
        }
        for (uint s = t; s < CM_BK * (CM_BN / 4); s += threads) {
            uint kc = s / (CM_BN / 4), c4 = s % (CM_BN / 4);
            uint n = tile_n + c4 * 4;
            f16vec4 wv = f16vec4(0.0);
            if (k0 + kc < kt && n < panels * PANEL)
                wv = f16vec4(LOAD_W4(w_vec4_index(g, k0 + kc, n)));
            [[unroll]] for (uint c = 0; c < 4; c++) w_coop[kc * CM_WSTRIDE + c4 * 4 + c] = wv[c];
        }
        barrier();
        fcoopmatNV<16, gl_ScopeSubgroup, RM_COOP_M, RM_COOP_K> am;
        coopMatLoadNV(am, a_coop, strip * RM_COOP_M * CM_ASTRIDE, CM_ASTRIDE, false);
        [[unroll]] for (uint j = 0; j < CM_ACCS; j++) {
            fcoopmatNV<16, gl_ScopeSubgroup, RM_COOP_K, RM_COOP_N> bm;
            coopMatLoadNV(bm, w_coop, j * RM_COOP_N, CM_WSTRIDE, false);
            acc[j] = coopMatMulAddNV(am, bm, acc[j]);
        }
        barrier();
    }

    uint cbase = strip * RM_COOP_M * RM_COOP_N;
    [[unroll]] for (uint j = 0; j < CM_ACCS; j++) {
        coopMatStoreNV(acc[j], c_coop, cbase, RM_COOP_N, false);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (uint e = gl_SubgroupInvocationID; e < RM_COOP_M * RM_COOP_N; e += gl_SubgroupSize)
            store_element(g, tile_m + strip * RM_COOP_M + e / RM_COOP_N,
                          tile_n + j * RM_COOP_N + e % RM_COOP_N, c_coop[cbase + e]);
        subgroupBarrier(); // the next accumulator overwrites c_coop
    }
}
