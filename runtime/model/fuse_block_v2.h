/* Private: the RepMLPBlock (version 2, docs/MODELS.md §3) fuser. Locality injection: fc3 + fc3_bn
 * (BN per shareset) and every repconv{k} branch (BN folded, padded to the largest kernel,
 * summed, turned into its matrix on one h x w partition) become one grouped fc3 with bias;
 * gp.fc1 and gp.fc2 pass through. RepMLPNet calls the compute/emit pair per unit so it can
 * fold prebn1 into the float64 result before anything is rounded. */
#ifndef RM_FUSE_BLOCK_V2_H
#define RM_FUSE_BLOCK_V2_H

#include "io/safetensors.h"
#include "model/config_nets.h"
#include "model/fuse_io.h"
#include "repmlp/status.h"

/* The deploy tensors in float64 (C = channels, S = sharesets, hw = h*w, r = hidden). */
typedef struct rm_block_v2_fused {
    double *gp_fc1_weight; /* (r, C, 1, 1) */
    double *gp_fc1_bias;   /* (r) */
    double *gp_fc2_weight; /* (C, r, 1, 1) */
    double *gp_fc2_bias;   /* (C) */
    double *fc3_weight;    /* (S*hw, hw, 1, 1): group s maps columns of row slice s */
    double *fc3_bias;      /* (S*hw) */
} rm_block_v2_fused;

/* Reads "<prefix>gp.fc{1,2}.{weight,bias}", "<prefix>fc3.weight", "<prefix>fc3_bn.*" and
 * "<prefix>repconv{k}.{conv.weight,bn.*}" (shapes checked against cfg, which may have
 * H = W = 0) and fills *out. On failure *out is left zeroed. */
repmlp_status rm_fuse_block_v2_compute(const rm_block_v2_config *cfg, rm_fuser *f,
                                       const char *prefix, rm_block_v2_fused *out);

/* Emits "<out_prefix>gp.fc1.weight" ... "<out_prefix>fc3.bias" as float32; takes (frees) the
 * arrays of *fused in every case. */
repmlp_status rm_fuse_block_v2_emit(const rm_block_v2_config *cfg, rm_fuser *f,
                                    const char *out_prefix, rm_block_v2_fused *fused);

/* Frees and zeroes; a zeroed struct is fine. */
void rm_block_v2_fused_free(rm_block_v2_fused *fused);

#endif
