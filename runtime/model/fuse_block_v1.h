/* Private: turns the training-time tensors of a RepMLP v1 block (docs/MODELS.md §1) into its
 * deploy tensors. Network fusers call rm_fuse_block_v1 once per block with the block's name prefix;
 * every training tensor it reads is marked used in the reader, so the caller can finish with
 * rm_fuse_check_all_used to reject tensors nobody consumed. */
#ifndef RM_FUSE_BLOCK_V1_H
#define RM_FUSE_BLOCK_V1_H

#include "io/safetensors.h"
#include "model/arch_list.h"
#include "model/config.h"
#include "repmlp/status.h"

/* Reads "<prefix>avg.bn.*", "<prefix>fc1_fc2.*" (GP only), "<prefix>fc3.weight",
 * "<prefix>fc3_bn.*" and "<prefix>repconv{k}.{conv.weight,bn.*}" from `train` (F32, F16,
 * BF16 or F64; a "...num_batches_tracked" of shape () or (1) next to any BN is accepted and
 * ignored), checks every shape, and adds the F32 deploy tensors "<out_prefix>fc1_fc2.fc1.*",
 * "<out_prefix>fc1_fc2.fc2.*" (GP only; the avg BN folded into fc1), "<out_prefix>fc3.weight"
 * (O*h*w, C*h*w/g, 1, 1) and "<out_prefix>fc3.bias" (O*h*w) to `out`.
 * `cfg` must be validated; prefix and out_prefix have at most RM_FUSE_NAME_MAX - 64 characters
 * (fuse_io.h; REPMLP_ERROR_INVALID_ARGUMENT otherwise). Errors name the training file and
 * tensor: missing tensor, wrong shape, non-float dtype (REPMLP_ERROR_FORMAT), a non-finite
 * value or a running_var with var + eps <= 0 (REPMLP_ERROR_FORMAT), out of memory. */
repmlp_status rm_fuse_block_v1(const rm_block_v1_config *cfg, rm_safetensors *train,
                               const char *prefix, rm_st_writer *out, const char *out_prefix);

/* REPMLP_ERROR_FORMAT "<file>: tensor '<name>' is unexpected for arch <arch> with this config"
 * for the first (header order) tensor never marked used; OK when all were. */
repmlp_status rm_fuse_check_all_used(const rm_safetensors *train, const char *arch);

#endif
