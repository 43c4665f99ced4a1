/* A fused RepMLP v1 block file read back on the host, for the tests that check the fuser's
 * output against the deploy reference (ref_block_v1_deploy_forward): float32 tensors, shapes
 * checked against the config. */
#ifndef RM_BLOCK_V1_FUSED_LOAD_H
#define RM_BLOCK_V1_FUSED_LOAD_H

#include "model/config.h"
#include "repmlp/status.h"

/* The deploy tensors, owned (free with ref_block_v1_fused_free). */
typedef struct ref_block_v1_fused {
    float *fc1_weight, *fc1_bias; /* (I, C*hp*wp), (I); NULL without GP */
    float *fc2_weight, *fc2_bias; /* (C*hp*wp, I), (C*hp*wp); NULL without GP */
    float *fc3_weight;            /* (O*h*w, C*h*w/g, 1, 1) */
    float *fc3_bias;              /* (O*h*w) */
} ref_block_v1_fused;

/* Frees the arrays; a zeroed struct is fine. */
void ref_block_v1_fused_free(ref_block_v1_fused *d);

/* Reads a fused "--arch RepMLP" file: checks the fused-format metadata and arch, parses and
 * validates the config (errors name "<file>: __metadata__ config" and the key), reads
 * "fc1_fc2.fc1.weight" ... "fc3.bias" with shape checks (errors name the file and tensor,
 * REPMLP_ERROR_FORMAT) and rejects any tensor it does not use. On success the caller owns
 * *cfg and *out; the file is closed. On failure *out is freed and zeroed. */
repmlp_status ref_block_v1_fused_load(const char *path, rm_block_v1_config *cfg,
                                      ref_block_v1_fused *out);

#endif
