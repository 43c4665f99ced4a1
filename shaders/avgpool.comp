#version 450
// Non-overlapping average pooling over NCHW: window kh x kw, stride kh x kw, no padding.
// The global pool is the case kh = H, kw = W. One invocation per output element.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Params {
    uint total; // N * C * OH * OW
    uint H;
    uint W;
    uint kh;
    uint kw;
    uint OH;
    uint OW;
    float scale; // 1 / (kh * kw)
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint ox = i % p.OW;
    uint t = i / p.OW;
    uint oy = t % p.OH;
    uint nc = t / p.OH;
    uint base = nc * p.H * p.W + oy * p.kh * p.W + ox * p.kw;
    float sum = 0.0;
    for (uint yy = 0; yy < p.kh; yy++) {
        uint row = base + yy * p.W;
        for (uint xx = 0; xx < p.kw; xx++) sum += x[row + xx];
    }
    y[i] = sum * p.scale;
}
