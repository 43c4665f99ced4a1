#include "model/fuse_rules.h"

#include <math.h>
#include <string.h>

/* t = gamma/sqrt(var+eps): W'[r,:] = W[r,:]*t[c], b'[r] = beta[c]-mean[c]*t[c] (+b[r]*t[c]) */
void rm_fuse_bn_into_rows(const rm_bn_params *bn, int64_t rows_per_channel, int64_t row_len,
                          double *weight, const double *bias_in, double *bias_out) {
    for (int64_t c = 0; c < bn->channels; c++) {
        const double t = bn->gamma[c] / sqrt(bn->var[c] + RM_BN_EPS);
        for (int64_t r = c * rows_per_channel; r < (c + 1) * rows_per_channel; r++) {
            double *row = weight + r * row_len;
            for (int64_t i = 0; i < row_len; i++) row[i] *= t;
            double b = bn->beta[c] - bn->mean[c] * t;
            if (bias_in) b += bias_in[r] * t;
            bias_out[r] = b;
        }
    }
}

/* dst[o, i, y + (kmax-k)/2, x + (kmax-k)/2] = src[o, i, y, x], 0 elsewhere */
void rm_fuse_pad_kernel(const double *src, int64_t out_ch, int64_t in_per_group, int64_t k,
                        int64_t kmax, double *dst) {
    const int64_t off = (kmax - k) / 2, planes = out_ch * in_per_group;
    memset(dst, 0, (size_t)(planes * kmax * kmax) * sizeof *dst);
    for (int64_t p = 0; p < planes; p++) {
        for (int64_t y = 0; y < k; y++) {
            for (int64_t x = 0; x < k; x++) {
                dst[(p * kmax + y + off) * kmax + x + off] = src[(p * k + y) * k + x];
            }
        }
    }
}

/* Wfc[o*hw + y*w+x, i*hw + y2*w+x2] += K[o, i, y2-y+kmax/2, x2-x+kmax/2]; bfc[o*hw+p] += b[o] */
void rm_fuse_conv_to_fc(const double *kernel, const double *bias, int64_t out_ch,
                        int64_t in_per_group, int64_t h, int64_t w, int64_t kmax, double *fc_weight,
                        double *fc_bias) {
    const int64_t hw = h * w, cols = in_per_group * hw, half = kmax / 2;
    for (int64_t o = 0; o < out_ch; o++) {
        for (int64_t y = 0; y < h; y++) {
            for (int64_t x = 0; x < w; x++) {
                const int64_t row = o * hw + y * w + x;
                double *fc_row = fc_weight + row * cols;
                if (bias) fc_bias[row] += bias[o];
                for (int64_t i = 0; i < in_per_group; i++) {
                    const double *k = kernel + (o * in_per_group + i) * kmax * kmax;
                    for (int64_t ky = 0; ky < kmax; ky++) {
                        const int64_t y2 = y + ky - half;
                        if (y2 < 0 || y2 >= h) continue; /* zero padding at partition borders */
                        for (int64_t kx = 0; kx < kmax; kx++) {
                            const int64_t x2 = x + kx - half;
                            if (x2 < 0 || x2 >= w) continue;
                            fc_row[i * hw + y2 * w + x2] += k[ky * kmax + kx];
                        }
                    }
                }
            }
        }
    }
}

/* s = gamma/sqrt(var+eps), a = beta-mean*s: b' = b + W @ a_rep, W'[:,j] = W[:,j]*s[c(j)] */
void rm_fuse_bn_into_next_fc_columns(const rm_bn_params *bn, int64_t cols_per_channel, int64_t rows,
                                     double *weight, double *bias) {
    const int64_t cols = bn->channels * cols_per_channel;
    for (int64_t r = 0; r < rows; r++) {
        double *row = weight + r * cols;
        double shift = 0.0; /* uses the unscaled row, so it comes before the scaling */
        for (int64_t c = 0; c < bn->channels; c++) {
            const double s = bn->gamma[c] / sqrt(bn->var[c] + RM_BN_EPS);
            const double a = bn->beta[c] - bn->mean[c] * s;
            for (int64_t j = c * cols_per_channel; j < (c + 1) * cols_per_channel; j++) {
                shift += row[j] * a;
                row[j] *= s;
            }
        }
        bias[r] += shift;
    }
}
