/* Private: the fusion rules docs/MODELS.md §3 adds for RepMLPNet ("Further folds"), one function
 * each, pure float64 arithmetic on caller-owned row-major arrays (no allocation, no failure). The
 * §1 rules they build on are in fuse_rules.h. */
#ifndef RM_FUSE_RULES_NETS_H
#define RM_FUSE_RULES_NETS_H

#include <stdint.h>

#include "model/fuse_rules.h"

/* An inference BN as a per-channel affine y = x*scale + shift:
 * scale = gamma/sqrt(var+eps), shift = beta - mean*scale. */
void rm_bn_to_affine(const rm_bn_params *bn, double *scale, double *shift);

/* BN (bn->channels = G channels) in front of a grouped FC with G groups where group c reads
 * only channel c: weight (G*rows_per_group, cols_per_group), bias (G*rows_per_group), updated
 * in place by the §1 column rule applied to each group on its own. (RepMLPNet's prebn1 into
 * fc3 when channels == sharesets: each fc3 group then reads one channel's h*w pixels.) */
void rm_fuse_bn_into_grouped_fc_columns(const rm_bn_params *bn, int64_t rows_per_group,
                                        int64_t cols_per_group, double *weight, double *bias);

#endif
