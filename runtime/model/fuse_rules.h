/* Private: the fusion rules of docs/MODELS.md §1, one function each, on float64 arrays (the fuser
 * converts to float32 once, at the very end, so rounding happens once). Each function is pure
 * arithmetic on caller-owned arrays: no allocation, no failure. Shapes are row-major. */
#ifndef RM_FUSE_RULES_H
#define RM_FUSE_RULES_H

#include <stdint.h>

#define RM_BN_EPS 1e-5

/* Inference-mode BatchNorm statistics, `channels` entries each. */
typedef struct rm_bn_params {
    const double *gamma, *beta, *mean, *var;
    int64_t channels;
} rm_bn_params;

/* BN after a layer with `channels * rows_per_channel` output rows of `row_len` weights
 * (rows_per_channel > 1 serves BN per shareset, MODELS.md §3). `weight` is scaled in place;
 * bias_in may be NULL (layer without bias); bias_out gets one entry per row and may alias
 * bias_in. */
void rm_fuse_bn_into_rows(const rm_bn_params *bn, int64_t rows_per_channel, int64_t row_len,
                          double *weight, const double *bias_in, double *bias_out);

/* Kernel (out_ch, in_per_group, k, k) zero-padded, centred, to (out_ch, in_per_group, kmax,
 * kmax) in dst (overwritten). k and kmax odd, k <= kmax. */
void rm_fuse_pad_kernel(const double *src, int64_t out_ch, int64_t in_per_group, int64_t k,
                        int64_t kmax, double *dst);

/* Adds the matrix of a stride-1, padding-kmax/2 grouped conv on one h x w partition to a
 * grouped FC: kernel (out_ch, in_per_group, kmax, kmax) -> fc_weight (out_ch*h*w,
 * in_per_group*h*w) and fc_bias (out_ch*h*w). Taps outside the partition are dropped, so
 * kmax > h or w and out_ch != in channels are fine. bias may be NULL. */
void rm_fuse_conv_to_fc(const double *kernel, const double *bias, int64_t out_ch,
                        int64_t in_per_group, int64_t h, int64_t w, int64_t kmax, double *fc_weight,
                        double *fc_bias);

/* BN (per channel) in front of an FC whose `channels * cols_per_channel` input columns are
 * grouped by channel (column j is channel j / cols_per_channel): weight (rows, cols) and
 * bias (rows) are updated in place. */
void rm_fuse_bn_into_next_fc_columns(const rm_bn_params *bn, int64_t cols_per_channel, int64_t rows,
                                     double *weight, double *bias);

#endif
