#version 450
// k x k max-pool over NCHW with stride and padding; padding never wins (acts as -inf).
// One invocation per output element.
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
    uint k;
    uint stride;
    uint pad;
    uint OH;
    uint OW;
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint ox = i % p.OW;
    uint t = i / p.OW;
    uint oy = t % p.OH;
    uint nc = t / p.OH;
    int y0 = int(oy * p.stride) - int(p.pad);
    int x0 = int(ox * p.stride) - int(p.pad);
    float best = -1.0 / 0.0;
    for (uint a = 0; a < p.k; a++) {
        int yy = y0 + int(a);
        if (yy < 0 || yy >= int(p.H)) continue;
        for (uint b = 0; b < p.k; b++) {
            int xx = x0 + int(b);
            if (xx < 0 || xx >= int(p.W)) continue;
            best = max(best, x[(nc * p.H + uint(yy)) * p.W + uint(xx)]);
        }
    }
    y[i] = best;
}
