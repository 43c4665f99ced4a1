#version 450
// Grouped GEMM whose A operand is a *logical* matrix: element (m, k) lives at
// arow(m) + acol(k), each an index map (a mixed-radix split of the index with a stride per
// digit). A plain row-major matrix is one digit; the RepMLP partition permute
// (N,C,H,W) <-> (N*hp*wp, C*h*w) is a few digits on each side, so it costs no extra pass over
// memory, and as specialization constants the divisions compile to multiplies. An optional
// addend V (own maps) is added to A on load: the RepMLP global-perceptron broadcast add.
#extension GL_GOOGLE_include_directive : require
#define RM_RUNS 1
#define RM_A_CURSOR 1 // a_begin / a_next below
#include "gemm_core.glsl"

layout(constant_id = RM_SPEC_A_ROWS) const uint AR_R0 = 0;
layout(constant_id = RM_SPEC_A_ROWS + 1) const uint AR_R1 = 0;
layout(constant_id = RM_SPEC_A_ROWS + 2) const uint AR_R2 = 0;
layout(constant_id = RM_SPEC_A_ROWS + 3) const uint AR_S0 = 1;
layout(constant_id = RM_SPEC_A_ROWS + 4) const uint AR_S1 = 0;
layout(constant_id = RM_SPEC_A_ROWS + 5) const uint AR_S2 = 0;
layout(constant_id = RM_SPEC_A_ROWS + 6) const uint AR_S3 = 0;
layout(constant_id = RM_SPEC_A_COLS) const uint AC_R0 = 0;
layout(constant_id = RM_SPEC_A_COLS + 1) const uint AC_R1 = 0;
layout(constant_id = RM_SPEC_A_COLS + 2) const uint AC_R2 = 0;
layout(constant_id = RM_SPEC_A_COLS + 3) const uint AC_S0 = 1;
layout(constant_id = RM_SPEC_A_COLS + 4) const uint AC_S1 = 0;
layout(constant_id = RM_SPEC_A_COLS + 5) const uint AC_S2 = 0;
layout(constant_id = RM_SPEC_A_COLS + 6) const uint AC_S3 = 0;
layout(constant_id = RM_SPEC_HAS_ADDEND) const uint HAS_ADDEND = 0;
layout(constant_id = RM_SPEC_V_ROWS) const uint VR_R0 = 0;
layout(constant_id = RM_SPEC_V_ROWS + 1) const uint VR_R1 = 0;
layout(constant_id = RM_SPEC_V_ROWS + 2) const uint VR_R2 = 0;
layout(constant_id = RM_SPEC_V_ROWS + 3) const uint VR_S0 = 1;
layout(constant_id = RM_SPEC_V_ROWS + 4) const uint VR_S1 = 0;
layout(constant_id = RM_SPEC_V_ROWS + 5) const uint VR_S2 = 0;
layout(constant_id = RM_SPEC_V_ROWS + 6) const uint VR_S3 = 0;
layout(constant_id = RM_SPEC_V_COLS) const uint VC_R0 = 0;
layout(constant_id = RM_SPEC_V_COLS + 1) const uint VC_R1 = 0;
layout(constant_id = RM_SPEC_V_COLS + 2) const uint VC_R2 = 0;
layout(constant_id = RM_SPEC_V_COLS + 3) const uint VC_S0 = 1;
layout(constant_id = RM_SPEC_V_COLS + 4) const uint VC_S1 = 0;
layout(constant_id = RM_SPEC_V_COLS + 5) const uint VC_S2 = 0;
layout(constant_id = RM_SPEC_V_COLS + 6) const uint VC_S3 = 0;
// > 0: V is constant over runs of ADD_RUN columns and is added through the run sums of the
// weight (runtime/ops/gemm_pack.c) instead of at every k.
layout(constant_id = RM_SPEC_ADD_RUN) const uint ADD_RUN = 0;
// K / ADD_RUN, or 0 without a run addend: the host divides, so that no specialization-constant
// expression divides (by zero where ADD_RUN is 0) and every driver sees the loop bound as a
// plain constant. The guarded division this replaces (a select on ADD_RUN) left SwiftShader's
// GEMMs 1.2x slower; this form measures as before it (bench/AB.md, 2026-12-08).
layout(constant_id = RM_SPEC_ADD_RUNS) const uint ADD_RUNS = 0;

uint arow[TM];
uint vrow[TM];

void prepare_rows(uint g, uint m0) {
    [[unroll]] for (uint i = 0; i < TM; i++) {
        uint m = min(m0 + i, p.M - 1); // clamped rows load valid data and are not stored
        arow[i] = map_index(m, AR_R0, AR_R1, AR_R2, AR_S0, AR_S1, AR_S2, AR_S3);
        vrow[i] = map_index(m, VR_R0, VR_R1, VR_R2, VR_S0, VR_S1, VR_S2, VR_S3);
    }
}

void load_a(uint g, uint k, inout float a[TM]) {
    uint col = g * K + k;
    uint acol = map_index(col, AC_R0, AC_R1, AC_R2, AC_S0, AC_S1, AC_S2, AC_S3);
    [[unroll]] for (uint i = 0; i < TM; i++) a[i] = LOAD_X(arow[i] + acol);
    if (HAS_ADDEND != 0 && ADD_RUN == 0) {
        uint vcol = map_index(col, VC_R0, VC_R1, VC_R2, VC_S0, VC_S1, VC_S2, VC_S3);
        [[unroll]] for (uint i = 0; i < TM; i++) a[i] += LOAD_V(vrow[i] + vcol);
    }
}

uvec4 a_digits, v_digits; // the cursor's column under A's and V's column maps

void a_begin(uint g, uint k0) {
    a_digits = map_digits(g * K + k0, AC_R0, AC_R1, AC_R2);
    v_digits = map_digits(g * K + k0, VC_R0, VC_R1, VC_R2);
}

bool a_column_addend() {
    return HAS_ADDEND != 0 && ADD_RUN == 0;
}

void a_next(inout float a[TM]) {
    uint acol = map_offset(a_digits, AC_S0, AC_S1, AC_S2, AC_S3);
    [[unroll]] for (uint i = 0; i < TM; i++) a[i] = LOAD_X(arow[i] + acol);
    a_digits = map_step(a_digits, AC_R0, AC_R1, AC_R2);
}

void a_next_plus_v(inout float a[TM]) {
    a_next(a);
    uint vcol = map_offset(v_digits, VC_S0, VC_S1, VC_S2, VC_S3);
    [[unroll]] for (uint i = 0; i < TM; i++) a[i] += LOAD_V(vrow[i] + vcol);
    v_digits = map_step(v_digits, VC_R0, VC_R1, VC_R2);
}

uint run_count() {
    return ADD_RUNS;
}

void load_run(uint g, uint r, inout float a[TM]) {
    uint vcol = map_index(g * K + r * ADD_RUN, VC_R0, VC_R1, VC_R2, VC_S0, VC_S1, VC_S2, VC_S3);
    [[unroll]] for (uint i = 0; i < TM; i++) a[i] = LOAD_V(vrow[i] + vcol);
}
