#version 450
// Per-channel affine over NCHW, out of place: y = x * scale[c] + shift[c] (a BatchNorm that
// could not be folded). One invocation per element.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) readonly buffer Scale {
    float scale[];
};
layout(std430, binding = 2) readonly buffer Shift {
    float shift[];
};
layout(std430, binding = 3) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Params {
    uint total; // N * C * HW
    uint C;
    uint HW;
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint c = (i / p.HW) % p.C;
    y[i] = x[i] * scale[c] + shift[c];
}
