#include "model/fuse_rules_nets.h"

#include <math.h>

/* scale = gamma/sqrt(var+eps), shift = beta - mean*scale */
void rm_bn_to_affine(const rm_bn_params *bn, double *scale, double *shift) {
    for (int64_t c = 0; c < bn->channels; c++) {
        scale[c] = bn->gamma[c] / sqrt(bn->var[c] + RM_BN_EPS);
        shift[c] = bn->beta[c] - bn->mean[c] * scale[c];
    }
}

/* group c: b'[r] = b[r] + sum_j W[r,j]*shift[c], W'[r,j] = W[r,j]*scale[c] */
void rm_fuse_bn_into_grouped_fc_columns(const rm_bn_params *bn, int64_t rows_per_group,
                                        int64_t cols_per_group, double *weight, double *bias) {
    for (int64_t c = 0; c < bn->channels; c++) {
        const rm_bn_params one = {bn->gamma + c, bn->beta + c, bn->mean + c, bn->var + c, 1};
        rm_fuse_bn_into_next_fc_columns(&one, cols_per_group, rows_per_group,
                                        weight + c * rows_per_group * cols_per_group,
                                        bias + c * rows_per_group);
    }
}
