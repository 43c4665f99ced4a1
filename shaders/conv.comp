#version 450
// 2-D convolution as an implicit GEMM on the grouped-GEMM core: rows m = (n, oy, ox),
// columns k = (c, ky, kx) inside group G, Wt = the conv weight (O, C/groups, KH, KW) as is.
// A(m, k) = x[n, G*CG + c, oy*STRIDE_H - PAD_H + ky, ox*STRIDE_W - PAD_W + kx], zero outside;
// no im2col buffer is ever written. The output maps write (N, O, OH, OW).
#extension GL_GOOGLE_include_directive : require
#define RM_A_CURSOR 1 // a_begin / a_next below
#include "gemm_core.glsl"

layout(constant_id = RM_SPEC_CONV) const uint CG = 1;    // input channels per group
layout(constant_id = RM_SPEC_CONV + 1) const uint C = 1; // input channels
layout(constant_id = RM_SPEC_CONV + 2) const uint H = 1;
layout(constant_id = RM_SPEC_CONV + 3) const uint W = 1;
layout(constant_id = RM_SPEC_CONV + 4) const uint KH = 1;
layout(constant_id = RM_SPEC_CONV + 5) const uint KW = 1;
layout(constant_id = RM_SPEC_CONV + 6) const uint STRIDE_H = 1;
layout(constant_id = RM_SPEC_CONV + 7) const uint STRIDE_W = 1;
layout(constant_id = RM_SPEC_CONV + 8) const uint PAD_H = 0;
layout(constant_id = RM_SPEC_CONV + 9) const uint PAD_W = 0;
layout(constant_id = RM_SPEC_CONV + 10) const uint OH = 1;
layout(constant_id = RM_SPEC_CONV + 11) const uint OW = 1;

uint image[TM]; // offset of the row's image
int iy0[TM];
int ix0[TM];

void prepare_rows(uint g, uint m0) {
    for (uint i = 0; i < TM; i++) {
        uint m = min(m0 + i, p.M - 1);
        uint ox = m % OW;
        uint oy = (m / OW) % OH;
        uint n = m / (OW * OH);
        image[i] = (n * C + g * CG) * H * W;
        iy0[i] = int(oy * STRIDE_H) - int(PAD_H);
        ix0[i] = int(ox * STRIDE_W) - int(PAD_W);
    }
}

// Tap (kx, ky) of the channel plane at `plane`, for the TM rows. The address is clamped to the
// image and the value selected: no branch in the k loop (see FOR_K in gemm_core.glsl).
void load_tap(uint kx, uint ky, uint plane, inout float a[TM]) {
    [[unroll]] for (uint i = 0; i < TM; i++) {
        int iy = iy0[i] + int(ky);
        int ix = ix0[i] + int(kx);
        bool inside = iy >= 0 && ix >= 0 && iy < int(H) && ix < int(W);
        uint at =
            image[i] + plane + uint(clamp(iy, 0, int(H) - 1)) * W + uint(clamp(ix, 0, int(W) - 1));
        float value = LOAD_X(at);
        a[i] = inside ? value : 0.0;
    }
}

void load_a(uint g, uint k, inout float a[TM]) {
    load_tap(k % KW, (k / KW) % KH, (k / (KW * KH)) * H * W, a);
}

uvec4 tap; // (kx, ky, c) of the cursor's column

bool a_column_addend() {
    return false;
}

void a_begin(uint g, uint k0) {
    tap = map_digits(k0, KW, KH, 0);
}

void a_next(inout float a[TM]) {
    load_tap(tap.x, tap.y, tap.z * H * W, a);
    tap = map_step(tap, KW, KH, 0);
}

void a_next_plus_v(inout float a[TM]) {
    a_next(a);
}
