#version 450
// Eval-mode BatchNorm computed from its four tensors, as the training-time structure runs it
// (the deploy form folds it away): y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]
// (+ r, the running sum of the block's branches, when HAS_RESIDUAL) over (N, C, HW).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 3) const uint HAS_RESIDUAL = 0;

// 4 storage buffers (the Vulkan minimum per stage): the four per-channel tensors come as one
// block [gamma | beta | mean | var], packed when the model is loaded.
layout(std430, binding = 0) readonly buffer Input {
    float x[];
};
layout(std430, binding = 1) readonly buffer Params {
    float bn[];
};
layout(std430, binding = 2) readonly buffer Residual {
    float residual[];
};
layout(std430, binding = 3) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Params {
    uint total; // N * C * HW
    uint C;
    uint HW;
    float eps;
}
p;

void main() {
    uint i = flat_invocation();
    if (i >= p.total) return;
    uint c = (i / p.HW) % p.C;
    float value = (x[i] - bn[2 * p.C + c]) / sqrt(bn[3 * p.C + c] + p.eps) * bn[c] + bn[p.C + c];
    if (HAS_RESIDUAL != 0) value += residual[i];
    y[i] = value;
}
