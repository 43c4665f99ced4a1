#include "nn_ref.h"

#include <math.h>

size_t ref_out_size(size_t in, size_t k, size_t stride, size_t pad) {
    return (in + 2 * pad - k) / stride + 1;
}

static double activate(double v, ref_act act) {
    switch (act) {
        case REF_ACT_RELU:
            return v > 0 ? v : 0;
        case REF_ACT_GELU:
            return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        case REF_ACT_SIGMOID:
            return 1.0 / (1.0 + exp(-v));
        case REF_ACT_NONE:
        default:
            return v;
    }
}

void ref_conv2d(const double *x, size_t N, size_t C, size_t H, size_t W, const double *w,
                const double *b, size_t O, size_t kh, size_t kw, size_t stride, size_t pad,
                size_t groups, ref_act act, double *y) {
    ref_conv2d_rect(x, N, C, H, W, w, b, O, kh, kw, stride, stride, pad, pad, groups, act, y);
}

void ref_conv2d_rect(const double *x, size_t N, size_t C, size_t H, size_t W, const double *w,
                     const double *b, size_t O, size_t kh, size_t kw, size_t sh, size_t sw,
                     size_t ph, size_t pw, size_t groups, ref_act act, double *y) {
    size_t OH = ref_out_size(H, kh, sh, ph), OW = ref_out_size(W, kw, sw, pw);
    size_t cg = C / groups, og = O / groups;
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < O; o++) {
            size_t g = o / og;
            for (size_t oy = 0; oy < OH; oy++)
                for (size_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[o] : 0.0;
                    for (size_t c = 0; c < cg; c++)
                        for (size_t i = 0; i < kh; i++) {
                            long iy = (long)(oy * sh + i) - (long)ph;
                            if (iy < 0 || iy >= (long)H) continue;
                            for (size_t j = 0; j < kw; j++) {
                                long ix = (long)(ox * sw + j) - (long)pw;
                                if (ix < 0 || ix >= (long)W) continue;
                                acc += x[((n * C + g * cg + c) * H + (size_t)iy) * W + (size_t)ix] *
                                       w[((o * cg + c) * kh + i) * kw + j];
                            }
                        }
                    y[((n * O + o) * OH + oy) * OW + ox] = activate(acc, act);
                }
        }
}

void ref_maxpool(const double *x, size_t N, size_t C, size_t H, size_t W, size_t k, size_t stride,
                 size_t pad, double *y) {
    size_t OH = ref_out_size(H, k, stride, pad), OW = ref_out_size(W, k, stride, pad);
    for (size_t nc = 0; nc < N * C; nc++)
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t ox = 0; ox < OW; ox++) {
                double m = -INFINITY;
                for (size_t i = 0; i < k; i++) {
                    long iy = (long)(oy * stride + i) - (long)pad;
                    if (iy < 0 || iy >= (long)H) continue;
                    for (size_t j = 0; j < k; j++) {
                        long ix = (long)(ox * stride + j) - (long)pad;
                        if (ix < 0 || ix >= (long)W) continue;
                        double v = x[(nc * H + (size_t)iy) * W + (size_t)ix];
                        if (v > m) m = v;
                    }
                }
                y[(nc * OH + oy) * OW + ox] = m;
            }
}

void ref_global_avgpool(const double *x, size_t N, size_t C, size_t H, size_t W, double *y) {
    for (size_t nc = 0; nc < N * C; nc++) {
        double s = 0;
        for (size_t i = 0; i < H * W; i++) s += x[nc * H * W + i];
        y[nc] = s / (double)(H * W);
    }
}

void ref_linear(const double *x, size_t N, size_t K, const double *w, const double *b, size_t O,
                ref_act act, double *y) {
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < O; o++) {
            double acc = b ? b[o] : 0.0;
            for (size_t k = 0; k < K; k++) acc += x[n * K + k] * w[o * K + k];
            y[n * O + o] = activate(acc, act);
        }
}

void ref_activate(double *x, size_t n, ref_act act) {
    for (size_t i = 0; i < n; i++) x[i] = activate(x[i], act);
}

void ref_affine(double *x, size_t N, size_t C, size_t HW, const double *scale,
                const double *shift) {
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++)
            for (size_t i = 0; i < HW; i++) {
                double *v = &x[(n * C + c) * HW + i];
                *v = *v * scale[c] + shift[c];
            }
}
