#version 450
// Gather copy through index maps: y[r * COLS + c] = x[rmap(r) + cmap(c)], plus
// v[vrmap(r) + vcmap(c)] when HAS_ADDEND: the explicit reshapes and permutes of the
// training-time RepMLP block (its partition split and merge), which the deploy form folds
// into the GEMM's loads and stores. One invocation per output element.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"
#include "index_map.glsl"

layout(constant_id = 3) const uint COLS = 1;
layout(constant_id = 4) const uint R_R0 = 0;
layout(constant_id = 5) const uint R_R1 = 0;
layout(constant_id = 6) const uint R_R2 = 0;
layout(constant_id = 7) const uint R_S0 = 1;
layout(constant_id = 8) const uint R_S1 = 0;
layout(constant_id = 9) const uint R_S2 = 0;
layout(constant_id = 10) const uint R_S3 = 0;
layout(constant_id = 11) const uint C_R0 = 0;
layout(constant_id = 12) const uint C_R1 = 0;
layout(constant_id = 13) const uint C_R2 = 0;
layout(constant_id = 14) const uint C_S0 = 1;
layout(constant_id = 15) const uint C_S1 = 0;
layout(constant_id = 16) const uint C_S2 = 0;
layout(constant_id = 17) const uint C_S3 = 0;
layout(constant_id = 18) const uint HAS_ADDEND = 0;
layout(constant_id = 19) const uint VR_R0 = 0;
layout(constant_id = 20) const uint VR_R1 = 0;
layout(constant_id = 21) const uint VR_R2 = 0;
layout(constant_id = 22) const uint VR_S0 = 1;
layout(constant_id = 23) const uint VR_S1 = 0;
layout(constant_id = 24) const uint VR_S2 = 0;
layout(constant_id = 25) const uint VR_S3 = 0;
layout(constant_id = 26) const uint VC_R0 = 0;
layout(constant_id = 27) const uint VC_R1 = 0;
layout(constant_id = 28) const uint VC_R2 = 0;
layout(constant_id = 29) const uint VC_S0 = 1;
layout(constant_id = 30) const uint VC_S1 = 0;
layout(constant_id = 31) const uint VC_S2 = 0;
layout(constant_id = 32) const uint VC_S3 = 0;

layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) readonly buffer Addend {
    float v[];
};
layout(std430, binding = 2) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Params {
    uint total; // rows * COLS
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint r = i / COLS, c = i % COLS;
    float value = x[map_index(r, R_R0, R_R1, R_R2, R_S0, R_S1, R_S2, R_S3) +
                    map_index(c, C_R0, C_R1, C_R2, C_S0, C_S1, C_S2, C_S3)];
    if (HAS_ADDEND != 0)
        value += v[map_index(r, VR_R0, VR_R1, VR_R2, VR_S0, VR_S1, VR_S2, VR_S3) +
                   map_index(c, VC_R0, VC_R1, VC_R2, VC_S0, VC_S1, VC_S2, VC_S3)];
    y[i] = value;
}
