#version 450
// 2-D convolution as an implicit GEMM on the grouped-GEMM core: rows m = (n, oy, ox),
// columns k = (c, ky, kx) inside group G, Wt = the conv weight (O, C/groups, KH, KW) as is.
// A(m, k) = x[n, G*CG + c, oy*STRIDE_H - PAD_H + ky, ox*STRIDE_W - PAD_W + kx], zero outside;
// no im2col buffer is ever written. The output maps write (N, O, OH, OW).
#extension GL_GOOGLE_include_directive : require
#define RM_A_TAPS 1 // a_tap / a_plane below: taps outer, channels inner
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
// The row's first tap before padding, (oy * STRIDE_H) << 16 | ox * STRIDE_W (each below 2^16:
// runtime/ops/conv.c checks): one register per row instead of two, live through the k loop.
uint origin[TM];

void prepare_rows(uint g, uint m0) {
    for (uint i = 0; i < TM; i++) {
        uint m = min(m0 + i, p.M - 1);
        uint ox = m % OW;
        uint oy = (m / OW) % OH;
        uint n = m / (OW * OH);
        image[i] = (n * C + g * CG) * H * W;
        origin[i] = (oy * STRIDE_H) << 16 | ox * STRIDE_W;
    }
}

// Row i's input position of tap (kx, ky), before the padding test.
int tap_y(uint i, uint ky) {
    return int(origin[i] >> 16) + (int(ky) - int(PAD_H));
}
int tap_x(uint i, uint kx) {
    return int(origin[i] & 0xffffu) + (int(kx) - int(PAD_W));
}

// Tap (kx, ky) of the channel plane at `plane`, for the TM rows. The address is clamped to the
// image and the value selected: no branch in the k loop (see FOR_K in gemm_core.glsl).
void load_tap(uint kx, uint ky, uint plane, inout float a[TM]) {
    [[unroll]] for (uint i = 0; i < TM; i++) {
        int iy = tap_y(i, ky);
        int ix = tap_x(i, kx);
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

// The k loop (FOR_K, RM_A_TAPS): per tap, each row's clamped address and padding test, then
// per channel plane one load and one select per row.
uint tap_at[TM];
bool tap_in[TM];

uint a_taps() {
    return KH * KW;
}

uint a_planes() {
    return CG;
}

void a_tap(uint g, uint t) {
    uint kx = t % KW, ky = t / KW;
    [[unroll]] for (uint i = 0; i < TM; i++) {
        int iy = tap_y(i, ky);
        int ix = tap_x(i, kx);
        tap_in[i] = iy >= 0 && ix >= 0 && iy < int(H) && ix < int(W);
        tap_at[i] = image[i] + uint(clamp(iy, 0, int(H) - 1)) * W + uint(clamp(ix, 0, int(W) - 1));
    }
}

void a_plane(uint c, inout float a[TM]) {
    uint plane = c * (H * W);
    [[unroll]] for (uint i = 0; i < TM; i++) {
        float value = LOAD_X(tap_at[i] + plane);
        a[i] = tap_in[i] ? value : 0.0;
    }
}
