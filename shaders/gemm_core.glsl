// The grouped-GEMM core shared by gemm.comp and conv.comp:
//   Y[m, G*NO + n] = act((sum_k A(m, G*K + k) * W(G, k, n) + b) * S + R)
// where the including shader supplies A through prepare_rows() and load_a(), the optional
// scale S is read through its own index maps (a stride of 0 broadcasts) and the optional
// residual R is read at the output element's own position.
//
// Bindings (at most 4 storage buffers, the Vulkan minimum per stage): 0 X, 1 the node's
// weight block, 2 Y, 3 AUX (V, S and R at element offsets pushed as constants: one window of
// the session's arena); the RM_TEXEL variant reads X, W and V (binding 4, a view of V's range)
// through uniform texel buffers.
//
// W is the *packed* weight block (runtime/ops/gemm_pack.c): per group G, the columns in panels
// of PANEL (zero padded), one self-contained block per (G, panel): K rows of PANEL weights
// (K-major), then the run sums (gemm's addend, RM_RUNS), then the bias row (fp16: a hi and a
// lo row scaled by 2048, and a zero row to keep the block a multiple of 256 bytes). One k step of
// an invocation's TN columns is TN/4 aligned vec4 loads, neighbouring invocations read neighbouring
// vec4s, and a workgroup (LX*TN = PANEL columns) streams one contiguous block. Any range of blocks
// can be bound alone: a weight larger than one binding may span runs as several dispatches, each
// starting at group p.g0, panel p.p0.
//
// Each invocation computes a TM x TN register tile; the workgroup is LX x LY invocations;
// gl_WorkGroupID.x is the panel and .z the group (from p.p0, p.g0). Specialization constants
// 0..37 are shared; the including shader's own start at 38.
//
// Operands read many times (A's source, W, and gemm's addend) come through uniform texel
// buffers in the RM_TEXEL variant (W as RGBA32F texels): on some CPU drivers (lavapipe) texel
// fetches are far faster than storage-buffer loads with per-invocation addresses.

#extension GL_EXT_control_flow_attributes : require
#ifdef RM_W16
#extension GL_EXT_shader_16bit_storage : require
#endif
#ifdef RM_ALGORITHM_SUBGROUP_GEMV
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#if defined(RM_F16_MATH) || defined(RM_ALGORITHM_COOPMAT_NV) // fp16 arithmetic (shaderFloat16)
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#ifdef RM_ALGORITHM_COOPMAT_NV
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#include "index_map.glsl"

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// Rows per invocation (TM): one row per variant is compiled (1, 4, 8), picked from M by
// runtime/ops/gemm_core.c; taller tiles reuse each weight load over more rows, shorter ones
// idle fewer rows when M is small (a batch-1 GEMV is M = 1). Columns per invocation: TN, a
// multiple of 4 (NV vec4 accumulators per row).
#ifndef TM
#define TM 4
#endif
#include "gemm_layout.h" // shared with the C side: tile, panel, constant ids
#define TN RM_GEMM_TN
#define NV (TN / 4)
#define PANEL RM_GEMM_PANEL // the workgroup's width LX * TN

layout(constant_id = RM_SPEC_K) const uint K = 1;   // reduction length per group
layout(constant_id = RM_SPEC_NO) const uint NO = 1; // output columns per group
layout(constant_id = RM_SPEC_HAS_BIAS) const uint HAS_BIAS = 0;
layout(constant_id = RM_SPEC_ACT) const uint ACT = 0; // 0 none, 1 ReLU, 2 GELU (erf), 3 sigmoid
// Index maps: digit radices r0, r1, r2 (0 = no further digit) and strides s0..s3.
layout(constant_id = RM_SPEC_Y_ROWS) const uint CR_R0 = 0;
layout(constant_id = RM_SPEC_Y_ROWS + 1) const uint CR_R1 = 0;
layout(constant_id = RM_SPEC_Y_ROWS + 2) const uint CR_R2 = 0;
layout(constant_id = RM_SPEC_Y_ROWS + 3) const uint CR_S0 = 1;
layout(constant_id = RM_SPEC_Y_ROWS + 4) const uint CR_S1 = 0;
layout(constant_id = RM_SPEC_Y_ROWS + 5) const uint CR_S2 = 0;
layout(constant_id = RM_SPEC_Y_ROWS + 6) const uint CR_S3 = 0;
layout(constant_id = RM_SPEC_Y_COLS) const uint CC_R0 = 0;
layout(constant_id = RM_SPEC_Y_COLS + 1) const uint CC_R1 = 0;
layout(constant_id = RM_SPEC_Y_COLS + 2) const uint CC_R2 = 0;
layout(constant_id = RM_SPEC_Y_COLS + 3) const uint CC_S0 = 1;
layout(constant_id = RM_SPEC_Y_COLS + 4) const uint CC_S1 = 0;
layout(constant_id = RM_SPEC_Y_COLS + 5) const uint CC_S2 = 0;
layout(constant_id = RM_SPEC_Y_COLS + 6) const uint CC_S3 = 0;
layout(constant_id = RM_SPEC_HAS_SCALE) const uint HAS_SCALE = 0;
layout(constant_id = RM_SPEC_S_ROWS) const uint SR_R0 = 0;
layout(constant_id = RM_SPEC_S_ROWS + 1) const uint SR_R1 = 0;
layout(constant_id = RM_SPEC_S_ROWS + 2) const uint SR_R2 = 0;
layout(constant_id = RM_SPEC_S_ROWS + 3) const uint SR_S0 = 1;
layout(constant_id = RM_SPEC_S_ROWS + 4) const uint SR_S1 = 0;
layout(constant_id = RM_SPEC_S_ROWS + 5) const uint SR_S2 = 0;
layout(constant_id = RM_SPEC_S_ROWS + 6) const uint SR_S3 = 0;
layout(constant_id = RM_SPEC_S_COLS) const uint SC_R0 = 0;
layout(constant_id = RM_SPEC_S_COLS + 1) const uint SC_R1 = 0;
layout(constant_id = RM_SPEC_S_COLS + 2) const uint SC_R2 = 0;
layout(constant_id = RM_SPEC_S_COLS + 3) const uint SC_S0 = 1;
layout(constant_id = RM_SPEC_S_COLS + 4) const uint SC_S1 = 0;
layout(constant_id = RM_SPEC_S_COLS + 5) const uint SC_S2 = 0;
layout(constant_id = RM_SPEC_S_COLS + 6) const uint SC_S3 = 0;
layout(constant_id = RM_SPEC_HAS_RESIDUAL) const uint HAS_RESIDUAL = 0;
layout(constant_id = RM_SPEC_W_HALF) const uint W_HALF = 0;

layout(push_constant) uniform Params {
    uint M;  // rows (depends on the batch, so it is not a specialization constant)
    uint g0; // first group and panel of this dispatch
    uint p0;
    uint v_off; // element offsets of V, S and R in AUX
    uint s_off;
    uint r_off;
}
p;

layout(std430, binding = 3) readonly buffer Aux {
    float aux[];
};
#ifdef RM_TEXEL
layout(binding = 0) uniform samplerBuffer x_texels;
layout(binding = 1) uniform samplerBuffer wt_texels; // RGBA32F, or RGBA16F for fp16 weights
layout(binding = 4) uniform samplerBuffer v_texels;  // V's range of AUX
#define LOAD_X(i) texelFetch(x_texels, int(i)).r
#define LOAD_W4(i) texelFetch(wt_texels, int(i))
#define LOAD_V(i) texelFetch(v_texels, int(i)).r
#else
layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
#ifdef RM_W16 // fp16 weights (16-bit storage), converted on load: arithmetic stays fp32
layout(std430, binding = 1) readonly buffer Weight {
    f16vec4 wt4[];
};
#else
layout(std430, binding = 1) readonly buffer Weight {
    vec4 wt4[];
};
#endif
#define LOAD_X(i) x[i]
#define LOAD_W4(i) vec4(wt4[i])
#define LOAD_V(i) aux[p.v_off + (i)]
#endif
layout(std430, binding = 2) writeonly buffer Output {
    float y[];
};

// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit): GLSL has no erf, and
// docs/MODELS.md §0 asks for the exact GELU, not the tanh approximation. |x| is capped at 9
// (erfc(9) is 4e-37): beyond it exp() returns denormals, which cost x86 CPU drivers (lavapipe)
// ~100x a normal operation and made GELU layers 3x slower.
vec4 erf_approx(vec4 xv) {
    vec4 z = min(abs(xv), vec4(9.0));
    vec4 t = 1.0 / (1.0 + 0.5 * z);
    vec4 r = t * exp(-z * z - 1.26551223 +
                     t * (1.00002368 +
                          t * (0.37409196 +
                               t * (0.09678418 +
                                    t * (-0.18628806 +
                                         t * (0.27886807 +
                                              t * (-1.13520398 +
                                                   t * (1.48851587 +
                                                        t * (-0.82215223 + t * 0.17087277)))))))));
    return mix(r - 1.0, 1.0 - r, greaterThanEqual(xv, vec4(0.0)));
}

vec4 activate(vec4 value) {
    if (ACT == 1) return max(value, 0.0);
    if (ACT == 2) return 0.5 * value * (1.0 + erf_approx(value * 0.70710678118654752));
    if (ACT == 3) return 1.0 / (1.0 + exp(-value));
    return value;
}

// Provided by the including shader: per-row set-up, then column k of the A tile (one call
// per k, so per-column index arithmetic is done once for all TM rows).
void prepare_rows(uint g, uint m0);
void load_a(uint g, uint k, inout float a[TM]);
// FOR_K(g, STEP): the k loop over [0, K) of an algorithm, STEP(LOAD_A, k) one step (LOAD_A
// declares nothing: it fills the step's `float a[TM]`). An including shader that defines
// RM_A_CURSOR walks its column maps by map_step (a_begin, then a_next per k) instead of
// map_index per k, and its per-column addend gets a loop of its own, chosen once: drivers that
// do not fold branches on specialization constants (SwiftShader) pay for every branch in the
// loop (the accumulators are spilled around it).
//
// RM_A_TAPS (conv.comp): the reduction k = c * a_taps() + t is walked taps outer, channels
// inner. a_tap(g, t) sets up each row's address and padding test once per tap, so the inner
// loop is A's TM loads (a uniform plane offset apart), TM selects and the FMAs. With the index
// math inside the k loop, conv_m8's hottest loop was 36-40% FMAs of its vector ALU on ACO; it is
// 78% so. The sum runs in another order than k's: the result differs only by rounding.
#if defined(RM_A_TAPS)
uint a_taps();   // taps per channel (KH * KW)
uint a_planes(); // channels per group
void a_tap(uint g, uint t);
void a_plane(uint c, inout float a[TM]); // A's column (c, t) of the current tap t
#define FOR_K(g, STEP)                                                                             \
    for (uint t = 0; t < a_taps(); t++) {                                                          \
        a_tap(g, t);                                                                               \
        for (uint c = 0; c < a_planes(); c++) STEP(a_plane(c, a), c *a_taps() + t);                \
    }
#elif defined(RM_A_CURSOR)
bool a_column_addend(); // whether V is added at every column
void a_begin(uint g, uint k0);
void a_next(inout float a[TM]);        // A's column, then the cursor moves on
void a_next_plus_v(inout float a[TM]); // the same plus V's column
// FOR_K_RANGE(g, K0, K1, STEP): the columns [K0, K1) (K1 evaluated at every step: pass a
// constant or a local).
#define FOR_K_RANGE(g, K0, K1, STEP)                                                               \
    a_begin(g, K0);                                                                                \
    if (a_column_addend()) {                                                                       \
        for (uint k = K0; k < K1; k++) STEP(a_next_plus_v(a), k);                                  \
    } else {                                                                                       \
        for (uint k = K0; k < K1; k++) STEP(a_next(a), k);                                         \
    }
#else
#define FOR_K_RANGE(g, K0, K1, STEP)                                                               \
    for (uint k = K0; k < K1; k++) STEP(load_a(g, k, a), k)
#endif
#ifndef RM_A_TAPS
#define FOR_K(g, STEP) FOR_K_RANGE(g, 0, K, STEP)
#endif
// FOR_K_SLICE(g, S, SLICES, STEP): slice S of SLICES of the same reduction, for split-K: one
// contiguous stretch of it, walked as FOR_K walks the whole (the cursor from the stretch's first
// column; under RM_A_TAPS the taps-outer order, a tap's set-up once per tap the stretch enters),
// so the k loop has no per-k index division. slice_begin balances n steps over the slices.
uint slice_begin(uint n, uint s, uint slices) {
    return s * (n / slices) + min(s, n % slices);
}
#if defined(RM_A_TAPS)
#define FOR_K_SLICE(g, S, SLICES, STEP)                                                            \
    {                                                                                              \
        const uint n_ = a_taps() * a_planes(), q1_ = slice_begin(n_, (S) + 1, SLICES);             \
        for (uint q_ = slice_begin(n_, S, SLICES); q_ < q1_;) {                                    \
            const uint t = q_ / a_planes(), c0_ = q_ - t * a_planes();                             \
            const uint c1_ = min(a_planes(), c0_ + (q1_ - q_));                                    \
            a_tap(g, t);                                                                           \
            for (uint c = c0_; c < c1_; c++) STEP(a_plane(c, a), c *a_taps() + t);                 \
            q_ += c1_ - c0_;                                                                       \
        }                                                                                          \
    }
#else
#define FOR_K_SLICE(g, S, SLICES, STEP)                                                            \
    {                                                                                              \
        const uint k0_ = slice_begin(K, S, SLICES), k1_ = slice_begin(K, (S) + 1, SLICES);         \
        FOR_K_RANGE(g, k0_, k1_, STEP);                                                            \
    }
#endif
#ifdef RM_RUNS
// Optional second, short reduction (gemm's addend folded through the packed run sums, which
// follow the main panels): run_count() terms, the A side from load_run().
uint run_count();
void load_run(uint g, uint r, inout float a[TM]);
#endif

// Helpers for every algorithm (the register tile below inlines its own, hoisted versions).
uint w_runs() {
#ifdef RM_RUNS
    return run_count();
#else
    return 0;
#endif
}
// Rows of PANEL values in one panel block: K weights, the run sums, the bias (fp16: a hi and a
// lo row, padded to an even count).
uint w_block_rows() {
    return W_HALF != 0 ? (K + w_runs() + 3) / 2 * 2 : K + w_runs() + 1;
}
// The vec4 index of row k (k >= K: the run sums, then the bias) of W(g, ., n .. n+3) in the
// bound blocks, n a multiple of 4. A weight cut into parts binds its blocks from (p.g0, p.p0).
uint w_vec4_index(uint g, uint k, uint n) {
    const uint panels = (NO + PANEL - 1) / PANEL;
    uint block = (g - p.g0) * panels + (n / PANEL - p.p0);
    return (block * w_block_rows() + k) * (PANEL / 4) + (n % PANEL) / 4;
}
// The bias of column n of group g, from its block's bias row(s).
float w_bias(uint g, uint n) {
    uint row = K + w_runs(), n4 = n / 4 * 4;
    float b = LOAD_W4(w_vec4_index(g, row, n4))[n % 4];
    if (W_HALF != 0) b += LOAD_W4(w_vec4_index(g, row + 1, n4))[n % 4] / 2048.0;
    return b;
}
// The reduction as one sequence of columns: K columns of A, then (gemm's addend through the run
// sums) one per run. Its length and column k's A values (TM rows); the W row of column k is
// w_vec4_index(g, k, n) for every k (the run rows follow the K weight rows in each block).
uint reduction_length() {
    return K + w_runs();
}
void load_column(uint g, uint k, inout float a[TM]) {
#ifdef RM_RUNS
    if (k >= K) {
        load_run(g, k - K, a);
        return;
    }
#endif
    load_a(g, k, a);
}
// The epilogue of one output element: row m, column n of group g, from its accumulated sum.
void store_element(uint g, uint m, uint n, float sum) {
    if (m >= p.M || n >= NO) return;
    uint col = g * NO + n;
    uint yat = map_index(m, CR_R0, CR_R1, CR_R2, CR_S0, CR_S1, CR_S2, CR_S3) +
               map_index(col, CC_R0, CC_R1, CC_R2, CC_S0, CC_S1, CC_S2, CC_S3);
    float value = sum;
    if (HAS_BIAS != 0) value += w_bias(g, n);
    if (HAS_SCALE != 0)
        value *= aux[p.s_off + map_index(m, SR_R0, SR_R1, SR_R2, SR_S0, SR_S1, SR_S2, SR_S3) +
                     map_index(col, SC_R0, SC_R1, SC_R2, SC_S0, SC_S1, SC_S2, SC_S3)];
    if (HAS_RESIDUAL != 0) value += aux[p.r_off + yat];
    y[yat] = activate(vec4(value)).x;
}

// One reduction step of a TM x NV-vec4 accumulator tile `acc`: A's TM values from LOAD_A (a call
// filling `a`), W's NV vec4s from the packed weight at vec4 index W_OF_V, an expression of the
// unrolled v (the register tile's columns are adjacent, split-K's lanes interleave theirs),
// TM * NV vector FMAs.
#define FMA_STEP(LOAD_A, W_OF_V)                                                                   \
    {                                                                                              \
        float a[TM];                                                                               \
        LOAD_A;                                                                                    \
        vec4 b[NV];                                                                                \
        [[unroll]] for (uint v = 0; v < NV; v++) b[v] = LOAD_W4(W_OF_V);                           \
        [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint v = 0; v < NV; v++)          \
            acc[i * NV + v] = fma(vec4(a[i]), b[v], acc[i * NV + v]);                              \
    }

#ifndef RM_ALGORITHM_MAIN // another algorithm supplies main() (shaders/shader_list.h)
#define TILE_STEP(LOAD_A, W_AT) FMA_STEP(LOAD_A, (W_AT) + v)

void main() {
    uint g = p.g0 + gl_WorkGroupID.z;
    uint n0 = (p.p0 + gl_WorkGroupID.x) * PANEL + gl_LocalInvocationID.x * TN;
    uint m0 = gl_GlobalInvocationID.y * TM;
    if (n0 >= NO || m0 >= p.M) return;
    prepare_rows(g, m0);

#ifdef RM_RUNS
    const uint runs = run_count();
#else
    const uint runs = 0;
#endif
    // vec4 index of W(g, 0, n0) in the bound range of blocks: this dispatch's blocks are
    // consecutive, whole groups when it spans several (then p.p0 is 0).
    const uint panels = (NO + PANEL - 1) / PANEL;
    const uint rows = W_HALF != 0 ? (K + runs + 3) / 2 * 2 : K + runs + 1;
    uint block = gl_WorkGroupID.z * panels + gl_WorkGroupID.x;
    uint wbase = block * rows * (PANEL / 4) + (n0 % PANEL) / 4;

    // One vec4 accumulator per row and 4 columns, so the inner product is TM * NV vector
    // FMAs. Scalar accumulator arrays ran 1.4x slower on lavapipe and 2.3x on SwiftShader.
    vec4 acc[TM * NV];
    [[unroll]] for (uint i = 0; i < TM * NV; i++) acc[i] = vec4(0.0);

#define REGISTER_STEP(LOAD_A, k) TILE_STEP(LOAD_A, wbase + (k) * (PANEL / 4))
    FOR_K(g, REGISTER_STEP);

#ifdef RM_RUNS
    if (runs != 0) {
        uint rbase = wbase + K * (PANEL / 4);
        for (uint r = 0; r < runs; r++) TILE_STEP(load_run(g, r, a), rbase + r * (PANEL / 4));
    }
#endif

    // The bias row of the block (fp16: hi + lo / 2048, so it keeps ~22 bits).
    vec4 bias4[NV];
    uint bbase = wbase + (K + runs) * (PANEL / 4);
    [[unroll]] for (uint v = 0; v < NV; v++) {
        bias4[v] = vec4(0.0);
        if (HAS_BIAS != 0) bias4[v] = LOAD_W4(bbase + v);
        if (HAS_BIAS != 0 && W_HALF != 0) bias4[v] += LOAD_W4(bbase + PANEL / 4 + v) / 2048.0;
    }

    // Epilogue, one vec4 (a row, 4 columns) at a time with constant accumulator indices: a
    // dynamically indexed accumulator array would have to live in memory (CPU drivers).
    uint ccol[TN], scol[TN];
    [[unroll]] for (uint j = 0; j < TN; j++) {
        uint col = g * NO + min(n0 + j, NO - 1); // clamped columns are computed, not stored
        ccol[j] = map_index(col, CC_R0, CC_R1, CC_R2, CC_S0, CC_S1, CC_S2, CC_S3);
        scol[j] =
            HAS_SCALE != 0 ? map_index(col, SC_R0, SC_R1, SC_R2, SC_S0, SC_S1, SC_S2, SC_S3) : 0;
    }
    [[unroll]] for (uint i = 0; i < TM; i++) {
        uint m = m0 + i;
        if (m >= p.M) break;
        uint yrow = map_index(m, CR_R0, CR_R1, CR_R2, CR_S0, CR_S1, CR_S2, CR_S3);
        uint srow =
            HAS_SCALE != 0 ? map_index(m, SR_R0, SR_R1, SR_R2, SR_S0, SR_S1, SR_S2, SR_S3) : 0;
        [[unroll]] for (uint v = 0; v < NV; v++) {
            vec4 value = acc[i * NV + v] + bias4[v];
            [[unroll]] for (uint c = 0; c < 4; c++) {
                uint j = v * 4 + c;
                if (HAS_SCALE != 0) value[c] *= aux[p.s_off + srow + scol[j]];
                if (HAS_RESIDUAL != 0) value[c] += aux[p.r_off + yrow + ccol[j]];
            }
            value = activate(value);
            [[unroll]] for (uint c = 0; c < 4; c++) if (n0 + v * 4 + c < NO)
                y[yrow + ccol[v * 4 + c]] = value[c];
        }
    }
}
#endif // RM_ALGORITHM_MAIN

// Other algorithms (shaders/shader_list.h rows define RM_ALGORITHM_MAIN and one of these).
#if defined(RM_ALGORITHM_COALESCED) || defined(RM_ALGORITHM_NARROW)
#include "gemm_main_coalesced.glsl"
#endif
#ifdef RM_ALGORITHM_SUBGROUP_GEMV
#include "gemm_main_subgroup_gemv.glsl"
#endif
#ifdef RM_ALGORITHM_SPLIT_K
#include "gemm_main_split_k.glsl"
#endif
#ifdef RM_ALGORITHM_SHARED
#include "gemm_main_shared.glsl"
#endif
#ifdef RM_ALGORITHM_COOPMAT_NV
#include "gemm_main_coopmat_nv.glsl"
#endif
