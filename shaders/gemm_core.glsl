// The grouped-GEMM core shared by gemm.comp and conv.comp:
//   Y[m, G*NO + n] = act((sum_k A(m, G*K + k) * Wt[G*NO + n, k] + b) * S + R)
// where the including shader supplies A through prepare_rows() and load_a(), the optional
// scale S is read through its own index maps (a stride of 0 broadcasts) and the optional
// residual R is read at the output element's own position.
//
// Each invocation computes a TM x TN register tile; the workgroup is LX x LY invocations;
// gl_WorkGroupID.z is the group G. Specialization constants 0..36 are shared; the including
// shader's own start at 37.
//
// Operands read many times (A's source, Wt, and gemm's addend) come through uniform texel
// buffers in the RM_TEXEL variant: on some CPU drivers (lavapipe) texel fetches are far
// faster than storage-buffer loads with per-invocation addresses.

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// Rows per invocation: 4, or 8 in the "tall" variants chosen for large M (on CPU drivers
// the taller tile reuses each weight load over more rows: ~1.3x on lavapipe, ~2x on
// SwiftShader at M = 128; at M = 4 it would idle half the tile).
#ifndef TM
#define TM 4
#endif
#define TN 4 // the vec4 accumulators below assume it

layout(constant_id = 3) const uint K = 1;  // reduction length per group
layout(constant_id = 4) const uint NO = 1; // output columns per group
layout(constant_id = 5) const uint HAS_BIAS = 0;
layout(constant_id = 6) const uint ACT = 0; // 0 none, 1 ReLU, 2 GELU (erf), 3 sigmoid
// Index maps: digit radices r0, r1, r2 (0 = no further digit) and strides s0..s3.
layout(constant_id = 7) const uint CR_R0 = 0;
layout(constant_id = 8) const uint CR_R1 = 0;
layout(constant_id = 9) const uint CR_R2 = 0;
layout(constant_id = 10) const uint CR_S0 = 1;
layout(constant_id = 11) const uint CR_S1 = 0;
layout(constant_id = 12) const uint CR_S2 = 0;
layout(constant_id = 13) const uint CR_S3 = 0;
layout(constant_id = 14) const uint CC_R0 = 0;
layout(constant_id = 15) const uint CC_R1 = 0;
layout(constant_id = 16) const uint CC_R2 = 0;
layout(constant_id = 17) const uint CC_S0 = 1;
layout(constant_id = 18) const uint CC_S1 = 0;
layout(constant_id = 19) const uint CC_S2 = 0;
layout(constant_id = 20) const uint CC_S3 = 0;
layout(constant_id = 21) const uint HAS_SCALE = 0;
layout(constant_id = 22) const uint SR_R0 = 0;
layout(constant_id = 23) const uint SR_R1 = 0;
layout(constant_id = 24) const uint SR_R2 = 0;
layout(constant_id = 25) const uint SR_S0 = 1;
layout(constant_id = 26) const uint SR_S1 = 0;
layout(constant_id = 27) const uint SR_S2 = 0;
layout(constant_id = 28) const uint SR_S3 = 0;
layout(constant_id = 29) const uint SC_R0 = 0;
layout(constant_id = 30) const uint SC_R1 = 0;
layout(constant_id = 31) const uint SC_R2 = 0;
layout(constant_id = 32) const uint SC_S0 = 1;
layout(constant_id = 33) const uint SC_S1 = 0;
layout(constant_id = 34) const uint SC_S2 = 0;
layout(constant_id = 35) const uint SC_S3 = 0;
layout(constant_id = 36) const uint HAS_RESIDUAL = 0;

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
layout(std430, binding = 5) readonly buffer Scale {
    float scale[];
};
layout(std430, binding = 6) readonly buffer Residual {
    float residual[];
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

// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit): GLSL has no erf, and
// SPEC.md requires the exact GELU, not the tanh approximation.
float erf_approx(float xv) {
    float z = abs(xv);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 +
                      t * (1.00002368 +
                           t * (0.37409196 +
                                t * (0.09678418 +
                                     t * (-0.18628806 +
                                          t * (0.27886807 +
                                               t * (-1.13520398 +
                                                    t * (1.48851587 +
                                                         t * (-0.82215223 + t * 0.17087277)))))))));
    return xv >= 0.0 ? 1.0 - r : r - 1.0;
}

float activate(float value) {
    if (ACT == 1) return max(value, 0.0);
    if (ACT == 2) return 0.5 * value * (1.0 + erf_approx(value * 0.70710678118654752));
    if (ACT == 3) return 1.0 / (1.0 + exp(-value));
    return value;
}

// Provided by the including shader: per-row set-up, then column k of the A tile (one call
// per k, so per-column index arithmetic is done once for all TM rows).
void prepare_rows(uint g, uint m0);
void load_a(uint g, uint k, inout float a[TM]);

void main() {
    uint g = gl_WorkGroupID.z;
    uint n0 = gl_GlobalInvocationID.x * TN;
    uint m0 = gl_GlobalInvocationID.y * TM;
    if (n0 >= NO || m0 >= p.M) return;
    prepare_rows(g, m0);

    uint wrow[TN];
    for (uint j = 0; j < TN; j++) wrow[j] = (g * NO + min(n0 + j, NO - 1)) * K;

    // TN == 4: one vec4 accumulator per row, so the inner product is TM vector FMAs. Scalar
    // accumulator arrays ran 1.4x slower on lavapipe and 2.3x slower on SwiftShader.
    vec4 acc[TM];
    for (uint i = 0; i < TM; i++) acc[i] = vec4(0.0);

    for (uint k = 0; k < K; k++) {
        float a[TM];
        load_a(g, k, a);
        vec4 b = vec4(LOAD_W(wrow[0] + k), LOAD_W(wrow[1] + k), LOAD_W(wrow[2] + k),
                      LOAD_W(wrow[3] + k));
        for (uint i = 0; i < TM; i++) acc[i] = fma(vec4(a[i]), b, acc[i]);
    }

    for (uint j = 0; j < TN; j++) {
        uint n = n0 + j;
        if (n >= NO) break;
        uint col = g * NO + n;
        float add = HAS_BIAS != 0 ? bias[col] : 0.0;
        uint ccol = map_index(col, CC_R0, CC_R1, CC_R2, CC_S0, CC_S1, CC_S2, CC_S3);
        uint scol =
            HAS_SCALE != 0 ? map_index(col, SC_R0, SC_R1, SC_R2, SC_S0, SC_S1, SC_S2, SC_S3) : 0;
        for (uint i = 0; i < TM; i++) {
            uint m = m0 + i;
            if (m >= p.M) break;
            float value = acc[i][j] + add;
            if (HAS_SCALE != 0)
                value *=
                    scale[map_index(m, SR_R0, SR_R1, SR_R2, SR_S0, SR_S1, SR_S2, SR_S3) + scol];
            uint at = map_index(m, CR_R0, CR_R1, CR_R2, CR_S0, CR_S1, CR_S2, CR_S3) + ccol;
            if (HAS_RESIDUAL != 0) value += residual[at];
            y[at] = activate(value);
        }
    }
}
