/* Float64 references of the RepMLP v1 block (docs/MODELS.md §1), written from its reshape and
 * permute description and sharing no code with the fuser: the training-time block is the
 * oracle the fuser is checked against, the deploy block is what the runtime must compute.
 * Inputs are float (as stored), every sum is double, outputs are double. */
#ifndef RM_BLOCK_V1_REF_H
#define RM_BLOCK_V1_REF_H

#include <stdint.h>

#include "model/config.h"
#include "repmlp/status.h"

/* Inference BatchNorm tensors (gamma, beta, running mean and var), eps = 1e-5. */
typedef struct ref_bn {
    const float *weight, *bias, *running_mean, *running_var;
} ref_bn;

/* Training-time tensors under the names of docs/MODELS.md §1; shapes as listed there. */
typedef struct ref_block_v1_train {
    ref_bn avg_bn;                                              /* GP only */
    const float *fc1_weight, *fc1_bias, *fc2_weight, *fc2_bias; /* GP only */
    const float *fc3_weight;
    ref_bn fc3_bn;
    const float *conv_weight[RM_MAX_KERNELS]; /* [i] is repconv{cfg->kernels[i]} */
    ref_bn conv_bn[RM_MAX_KERNELS];
} ref_block_v1_train;

/* Deploy tensors: fc1/fc2 only with GP, fc3 with bias. */
typedef struct ref_block_v1_deploy {
    const float *fc1_weight, *fc1_bias, *fc2_weight, *fc2_bias;
    const float *fc3_weight, *fc3_bias;
} ref_block_v1_deploy;

/* x (n, C, H, W) -> y (n, O, H, W) with a validated cfg. Fails only when out of memory. */
repmlp_status ref_block_v1_train_forward(const rm_block_v1_config *cfg, const ref_block_v1_train *t,
                                         int64_t n, const float *x, double *y);
repmlp_status ref_block_v1_deploy_forward(const rm_block_v1_config *cfg,
                                          const ref_block_v1_deploy *d, int64_t n, const float *x,
                                          double *y);
/* The same with a float64 input (a block inside a network, fed by float64 layers). */
repmlp_status ref_block_v1_deploy_forward_f64(const rm_block_v1_config *cfg,
                                              const ref_block_v1_deploy *d, int64_t n,
                                              const double *x, double *y);

#endif
