#version 450
// The global perceptron of a RepMLP block in one dispatch (docs/MODELS.md): per image,
//   pooled = avgpool(x, h x w window)              (D = C * (H/h) * (W/w) values)
//   hidden = relu(W1 . pooled + b1)                (I values)
//   v      = act(W2 . hidden + b2)                 (D values: v1's addend, v2's gate)
// One workgroup per image keeps pooled and hidden in shared memory, so the four small passes
// (each a dispatch of its own otherwise) cost one. W1 (I, D), b1, W2 (D, I) and b2 are read
// from one binding at the element offsets pushed by the session (they are model weights).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

layout(constant_id = 3) const uint C = 1;
layout(constant_id = 4) const uint H = 1;
layout(constant_id = 5) const uint W = 1;
layout(constant_id = 6) const uint PH = 1; // the pooling window
layout(constant_id = 7) const uint PW = 1;
layout(constant_id = 8) const uint I = 1;   // hidden width
layout(constant_id = 9) const uint ACT = 0; // of fc2: 0 none, 3 sigmoid
layout(constant_id = 10) const uint D = 1;  // C * (H / PH) * (W / PW), for the shared array
// H / PH and W / PW, divided by the host: a specialization-constant division would need a guard
// against zero (tests/check_spirv.sh refuses one, bench/AB.md 2026-12-08).
layout(constant_id = 11) const uint HP = 1;
layout(constant_id = 12) const uint WP = 1;

layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) readonly buffer Weights {
    float wt[];
};
layout(std430, binding = 2) writeonly buffer Output {
    float v[];
};

layout(push_constant) uniform Params {
    uint w1; // element offsets in Weights
    uint b1;
    uint w2;
    uint b2;
}
p;

shared float pooled[D];
shared float hidden[I];

void main() {
    const uint n = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
    const float scale = 1.0 / float(PH * PW);
    for (uint d = lane; d < D; d += L) {
        uint jp = d % WP, ip = (d / WP) % HP, c = d / (WP * HP);
        uint base = ((n * C + c) * H + ip * PH) * W + jp * PW;
        float sum = 0.0;
        for (uint yy = 0; yy < PH; yy++)
            for (uint xx = 0; xx < PW; xx++) sum += x[base + yy * W + xx];
        pooled[d] = sum * scale;
    }
    barrier();
    for (uint i = lane; i < I; i += L) {
        float sum = wt[p.b1 + i];
        uint row = p.w1 + i * D;
        for (uint d = 0; d < D; d++) sum = fma(wt[row + d], pooled[d], sum);
        hidden[i] = max(sum, 0.0);
    }
    barrier();
    for (uint d = lane; d < D; d += L) {
        float sum = wt[p.b2 + d];
        uint row = p.w2 + d * I;
        for (uint i = 0; i < I; i++) sum = fma(wt[row + i], hidden[i], sum);
        v[n * D + d] = ACT == 3 ? 1.0 / (1.0 + exp(-sum)) : sum;
    }
}
