/* Float64 references of the FUSED models (docs/FUSED_FORMAT.md): the RepMLPBlock
 * (docs/MODELS.md §3, its reshape quirk reproduced by literal index arithmetic), RepMLPNet (§3)
 * and RepMLP-ResNet (§2). They are the oracle the GPU runtime is compared with, so they are
 * written for obviousness, from the text of docs/MODELS.md and the layer references of
 * nn_ref.h, and share no code with the fuser beyond reading tensors.
 *
 * Weights come from an opened fused file: every tensor is read with its exact expected shape
 * (float32 values, widened exactly to float64) and marked used, so a run also checks the file.
 * Activations are float64 throughout. Errors: a missing or mis-shaped tensor
 * (REPMLP_ERROR_FORMAT, naming the file and tensor), out of memory. */
#ifndef RM_NET_REF_H
#define RM_NET_REF_H

#include <stdint.h>

#include "io/safetensors.h"
#include "model/config_nets.h"
#include "repmlp/status.h"

/* The deploy tensors of one RepMLPBlock (shapes as in docs/FUSED_FORMAT.md). */
typedef struct ref_block_v2_deploy {
    const double *gp_fc1_weight, *gp_fc1_bias; /* (C/r, C, 1, 1), (C/r) */
    const double *gp_fc2_weight, *gp_fc2_bias; /* (C, C/r, 1, 1), (C) */
    const double *fc3_weight, *fc3_bias;       /* (S*h*w, h*w, 1, 1), (S*h*w) */
} ref_block_v2_deploy;

/* x (n, C, H, W) -> y (n, C, H, W), H % h == 0, W % w == 0 (cfg's own H, W are ignored: the
 * block takes them from the input, docs/MODELS.md §3). y must not alias x. */
repmlp_status ref_block_v2_deploy_forward(const rm_block_v2_config *cfg,
                                          const ref_block_v2_deploy *d, int64_t n, int64_t H,
                                          int64_t W, const double *x, double *y);

/* The same, reading "<prefix>gp.fc1.weight" ... "<prefix>fc3.bias" from a fused file. */
repmlp_status ref_block_v2_fused_forward(const rm_block_v2_config *cfg, rm_safetensors *fused,
                                         const char *prefix, int64_t n, int64_t H, int64_t W,
                                         const double *x, double *y);

/* x (n, in_channels, H, W) with rm_repmlpnet_check_input(H, W) passing -> y (n, num_class). */
repmlp_status ref_repmlpnet_forward(const rm_repmlpnet_config *cfg, rm_safetensors *fused,
                                    int64_t n, int64_t H, int64_t W, const double *x, double *y);

/* x (n, 3, img_H, img_W) -> y (n, num_classes). */
repmlp_status ref_resnet_forward(const rm_resnet_config *cfg, rm_safetensors *fused, int64_t n,
                                 const double *x, double *y);

/* Any fused model file (all four archs): checks the fused-format metadata, parses the config,
 * checks the input shape x (in_shape[0..3] = N, C, H, W; F32 values) against it, runs the
 * reference, and rejects a tensor the arch does not use. *y (rm_malloc'd, the caller frees)
 * gets the output, of shape out_shape[0..out_ndim-1]: (N, O, H, W) for the blocks, (N,
 * classes) for the networks. Input shape errors are REPMLP_ERROR_INVALID_ARGUMENT. */
repmlp_status ref_fused_forward(const char *path, const int64_t in_shape[4], const float *x,
                                double **y, int *out_ndim, int64_t out_shape[4]);

#endif
