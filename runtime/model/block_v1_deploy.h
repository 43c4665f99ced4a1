/* Private: loading the deploy (fused) tensors of a RepMLP v1 block, as the runtime needs them:
 * float32, shapes checked against the config. */
#ifndef RM_BLOCK_V1_DEPLOY_H
#define RM_BLOCK_V1_DEPLOY_H

#include "io/safetensors.h"
#include "model/config.h"
#include "repmlp/status.h"

typedef struct rm_block_v1_deploy {
    float *fc1_weight, *fc1_bias; /* (I, C*hp*wp), (I); NULL without GP */
    float *fc2_weight, *fc2_bias; /* (C*hp*wp, I), (C*hp*wp); NULL without GP */
    float *fc3_weight;            /* (O*h*w, C*h*w/g, 1, 1) */
    float *fc3_bias;              /* (O*h*w) */
} rm_block_v1_deploy;

/* Reads "<prefix>fc1_fc2.fc1.weight" ... "<prefix>fc3.bias" with shape checks (errors name
 * the file and tensor, REPMLP_ERROR_FORMAT) and marks them used. On failure *out is freed and
 * zeroed. */
repmlp_status rm_block_v1_deploy_load(rm_safetensors *st, const char *prefix,
                                      const rm_block_v1_config *cfg, rm_block_v1_deploy *out);

/* Frees the arrays; a zeroed struct is fine. */
void rm_block_v1_deploy_free(rm_block_v1_deploy *d);

/* Everything the runner needs from a fused "--arch RepMLP" file: checks the fused-format
 * metadata and arch, parses and validates the config (errors name "<file>: __metadata__
 * config" and the key), loads the tensors and rejects any tensor it does not use. On success
 * the caller owns *cfg and *out (free with rm_block_v1_deploy_free); the file is closed. */
repmlp_status rm_block_v1_fused_load(const char *path, rm_block_v1_config *cfg,
                                     rm_block_v1_deploy *out);

#endif
