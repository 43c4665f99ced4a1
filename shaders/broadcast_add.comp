#version 450
// x (N, C, hp, h, wp, w) += v (N, C, hp, 1, wp, 1), in place: the RepMLP global-perceptron
// add. x is addressed as NCHW with H = hp*h, W = wp*w. One invocation per element of x.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) buffer Data {
    float x[];
};
layout(std430, binding = 1) readonly buffer Addend {
    float v[];
};

layout(push_constant) uniform Params {
    uint total; // N * C * H * W
    uint H;
    uint W;
    uint h;
    uint w;
    uint hp;
    uint wp;
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint col = i % p.W;
    uint t = i / p.W;
    uint row = t % p.H;
    uint nc = t / p.H;
    x[i] += v[(nc * p.hp + row / p.h) * p.wp + col / p.w];
}
