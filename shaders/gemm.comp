#version 450
// Grouped GEMM: Y[m, G*NO + n] = act(sum_k X'[m, G*K + k] * Wt[G*NO + n, k] + b[G*NO + n]),
// where X' = X, or X + V when an addend V is bound (the RepMLP global-perceptron broadcast
// add, folded into the loads: V has its own row and column maps, with strides of 0 where it
// broadcasts).
//
// X and Y are *logical* matrices: where an element lives in memory is given by four index
// maps (rows and columns of X and of Y), each a mixed-radix split of the index with a stride
// per digit. A plain row-major matrix is one digit; the RepMLP partition permute
// (N,C,H,W) <-> (N*hp*wp, C*h*w) is three digits on each side. Folding the permute into the
// loads and stores this way saves a full pass over memory, and because the maps are
// specialization constants the divisions compile to multiplies.
//
// Each invocation computes a TM x TN register tile; the workgroup is LX x LY invocations;
// gl_WorkGroupID.z is the group G.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

#define TM 4
#define TN 4

layout(constant_id = 3) const uint K = 1;  // reduction length per group
layout(constant_id = 4) const uint NO = 1; // output columns per group
layout(constant_id = 5) const uint HAS_BIAS = 0;
layout(constant_id = 6) const uint ACT = 0; // 0 none, 1 ReLU
// Index maps: digit radices r0, r1, r2 (0 = no further digit) and strides s0..s3.
layout(constant_id = 7) const uint AR_R0 = 0;
layout(constant_id = 8) const uint AR_R1 = 0;
layout(constant_id = 9) const uint AR_R2 = 0;
layout(constant_id = 10) const uint AR_S0 = 1;
layout(constant_id = 11) const uint AR_S1 = 0;
layout(constant_id = 12) const uint AR_S2 = 0;
layout(constant_id = 13) const uint AR_S3 = 0;
layout(constant_id = 14) const uint AC_R0 = 0;
layout(constant_id = 15) const uint AC_R1 = 0;
layout(constant_id = 16) const uint AC_R2 = 0;
layout(constant_id = 17) const uint AC_S0 = 1;
layout(constant_id = 18) const uint AC_S1 = 0;
layout(constant_id = 19) const uint AC_S2 = 0;
layout(constant_id = 20) const uint AC_S3 = 0;
layout(constant_id = 21) const uint CR_R0 = 0;
layout(constant_id = 22) const uint CR_R1 = 0;
layout(constant_id = 23) const uint CR_R2 = 0;
layout(constant_id = 24) const uint CR_S0 = 1;
layout(constant_id = 25) const uint CR_S1 = 0;
layout(constant_id = 26) const uint CR_S2 = 0;
layout(constant_id = 27) const uint CR_S3 = 0;
layout(constant_id = 28) const uint CC_R0 = 0;
layout(constant_id = 29) const uint CC_R1 = 0;
layout(constant_id = 30) const uint CC_R2 = 0;
layout(constant_id = 31) const uint CC_S0 = 1;
layout(constant_id = 32) const uint CC_S1 = 0;
layout(constant_id = 33) const uint CC_S2 = 0;
layout(constant_id = 34) const uint CC_S3 = 0;
layout(constant_id = 35) const uint HAS_ADDEND = 0;
layout(constant_id = 36) const uint VR_R0 = 0;
layout(constant_id = 37) const uint VR_R1 = 0;
layout(constant_id = 38) const uint VR_R2 = 0;
layout(constant_id = 39) const uint VR_S0 = 1;
layout(constant_id = 40) const uint VR_S1 = 0;
layout(constant_id = 41) const uint VR_S2 = 0;
layout(constant_id = 42) const uint VR_S3 = 0;
layout(constant_id = 43) const uint VC_R0 = 0;
layout(constant_id = 44) const uint VC_R1 = 0;
layout(constant_id = 45) const uint VC_R2 = 0;
layout(constant_id = 46) const uint VC_S0 = 1;
layout(constant_id = 47) const uint VC_S1 = 0;
layout(constant_id = 48) const uint VC_S2 = 0;
layout(constant_id = 49) const uint VC_S3 = 0;

// Operands that are read many times (X, Wt, V) come through uniform texel buffers in the
// RM_TEXEL variant: on some CPU drivers (lavapipe) texel fetches are far faster than
// storage-buffer loads with per-invocation addresses. Other devices use storage buffers.
#ifdef RM_TEXEL
layout(binding = 0) uniform samplerBuffer x_texels;
layout(binding = 1) uniform samplerBuffer wt_texels;
layout(binding = 4) uniform samplerBuffer v_texels;
#define LOAD_X(i) texelFetch(x_texels, int(i)).r
#define LOAD_W(i) texelFetch(wt_texels, int(i)).r
#define LOAD_V(i) texelFetch(v_texels, int(i)).r
#else
layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) readonly buffer Weight {
    float wt[];
};
layout(std430, binding = 4) readonly buffer Addend {
    float v[];
};
#define LOAD_X(i) x[i]
#define LOAD_W(i) wt[i]
#define LOAD_V(i) v[i]
#endif
layout(std430, binding = 2) readonly buffer Bias {
    float bias[];
};
layout(std430, binding = 3) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Params {
    uint M; // rows (depends on the batch, so it is not a specialization constant)
}
p;

uint map_index(uint i, uint r0, uint r1, uint r2, uint s0, uint s1, uint s2, uint s3) {
    if (r0 == 0) return i * s0;
    uint off = (i % r0) * s0;
    i /= r0;
    if (r1 == 0) return off + i * s1;
    off += (i % r1) * s1;
    i /= r1;
    if (r2 == 0) return off + i * s2;
    off += (i % r2) * s2;
    i /= r2;
    return off + i * s3;
}

void main() {
    uint g = gl_WorkGroupID.z;
    uint n0 = gl_GlobalInvocationID.x * TN;
    uint m0 = gl_GlobalInvocationID.y * TM;
    if (n0 >= NO || m0 >= p.M) return;

    uint arow[TM];
    uint vrow[TM];
    for (uint i = 0; i < TM; i++) {
        uint m = min(m0 + i, p.M - 1); // clamped rows load valid data and are not stored
        arow[i] = map_index(m, AR_R0, AR_R1, AR_R2, AR_S0, AR_S1, AR_S2, AR_S3);
        vrow[i] = map_index(m, VR_R0, VR_R1, VR_R2, VR_S0, VR_S1, VR_S2, VR_S3);
    }
    uint wrow[TN];
    for (uint j = 0; j < TN; j++) wrow[j] = (g * NO + min(n0 + j, NO - 1)) * K;

    float acc[TM][TN];
    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    for (uint k = 0; k < K; k++) {
        uint acol = map_index(g * K + k, AC_R0, AC_R1, AC_R2, AC_S0, AC_S1, AC_S2, AC_S3);
        float a[TM];
        float b[TN];
        for (uint i = 0; i < TM; i++) a[i] = LOAD_X(arow[i] + acol);
        if (HAS_ADDEND != 0) {
            uint vcol = map_index(g * K + k, VC_R0, VC_R1, VC_R2, VC_S0, VC_S1, VC_S2, VC_S3);
            for (uint i = 0; i < TM; i++) a[i] += LOAD_V(vrow[i] + vcol);
        }
        for (uint j = 0; j < TN; j++) b[j] = LOAD_W(wrow[j] + k);
        for (uint i = 0; i < TM; i++)
            for (uint j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }

    for (uint j = 0; j < TN; j++) {
        uint n = n0 + j;
        if (n >= NO) break;
        uint col = g * NO + n;
        float add = HAS_BIAS != 0 ? bias[col] : 0.0;
        uint ccol = map_index(col, CC_R0, CC_R1, CC_R2, CC_S0, CC_S1, CC_S2, CC_S3);
        for (uint i = 0; i < TM; i++) {
            uint m = m0 + i;
            if (m >= p.M) break;
            float v = acc[i][j] + add;
            if (ACT == 1) v = max(v, 0.0);
            y[map_index(m, CR_R0, CR_R1, CR_R2, CR_S0, CR_S1, CR_S2, CR_S3) + ccol] = v;
        }
    }
}
