#version 450
// Softmax + top-k of a classifier's output rows: for row r of x (ROWS, CLASSES), the K
// largest logits, best first (ties: the lower class index first), each with its softmax
// probability exp(x - max) / sum(exp(x - max)). One workgroup per row; K rounds of a
// workgroup arg-max, each over the classes that rank after the previous round's pick, so the
// selection is exact and deterministic and needs no per-invocation lists.
// Output: top[(r*K + j)*2] = class, top[(r*K + j)*2 + 1] = the probability's float bits.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in; // a power of two
#include "common.glsl"

layout(constant_id = 3) const uint K = 1;
layout(constant_id = 4) const uint CLASSES = 1;

layout(std430, binding = 0) readonly buffer Logits {
    float x[];
};
layout(std430, binding = 1) writeonly buffer Top {
    uint top[];
};

layout(push_constant) uniform Push {
    uint rows;
}
p;

shared float s_value[gl_WorkGroupSize.x];
shared uint s_class[gl_WorkGroupSize.x];

// (v, c) ranks before (w, d): larger value, or equal value and lower class.
bool ranks_before(float v, uint c, float w, uint d) {
    return v > w || (v == w && c < d);
}

// Tree reductions of s_value over the workgroup (max, sum); slot 0 holds the result. All lanes
// call them (uniform control flow).
void reduce_max() {
    for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride /= 2) {
        barrier();
        uint t = gl_LocalInvocationID.x;
        if (t < stride) s_value[t] = max(s_value[t], s_value[t + stride]);
    }
    barrier();
}

void reduce_sum() {
    for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride /= 2) {
        barrier();
        uint t = gl_LocalInvocationID.x;
        if (t < stride) s_value[t] += s_value[t + stride];
    }
    barrier();
}

// Workgroup arg-max by ranks_before; every lane gets the winner.
void reduce_best(inout float v, inout uint c) {
    uint t = gl_LocalInvocationID.x;
    s_value[t] = v;
    s_class[t] = c;
    for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride /= 2) {
        barrier();
        if (t < stride &&
            ranks_before(s_value[t + stride], s_class[t + stride], s_value[t], s_class[t])) {
            s_value[t] = s_value[t + stride];
            s_class[t] = s_class[t + stride];
        }
    }
    barrier();
    v = s_value[0];
    c = s_class[0];
    barrier(); // everyone has read slot 0 before it is written again
}

void main() {
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= p.rows) return; // the whole workgroup: barriers stay uniform
    uint t = gl_LocalInvocationID.x, base = row * CLASSES;

    float m = -1.0 / 0.0;
    for (uint c = t; c < CLASSES; c += gl_WorkGroupSize.x) m = max(m, x[base + c]);
    s_value[t] = m;
    reduce_max();
    m = s_value[0];
    barrier();

    float sum = 0.0;
    for (uint c = t; c < CLASSES; c += gl_WorkGroupSize.x) sum += exp(x[base + c] - m);
    s_value[t] = sum;
    reduce_sum();
    sum = s_value[0];
    barrier();

    // Round j picks the best (value, class) that ranks after round j-1's pick.
    float prev_v = 1.0 / 0.0;
    uint prev_c = 0xffffffffu;
    for (uint j = 0; j < K; j++) {
        float best_v = -1.0 / 0.0;
        uint best_c = 0xffffffffu;
        for (uint c = t; c < CLASSES; c += gl_WorkGroupSize.x) {
            float v = x[base + c];
            bool after = ranks_before(prev_v, prev_c, v, c) || j == 0;
            if (after && ranks_before(v, c, best_v, best_c)) {
                best_v = v;
                best_c = c;
            }
        }
        reduce_best(best_v, best_c);
        if (t == 0) {
            top[(row * K + j) * 2] = best_c;
            top[(row * K + j) * 2 + 1] = floatBitsToUint(exp(best_v - m) / sum);
        }
        prev_v = best_v;
        prev_c = best_c;
    }
}
