/* Private: the RepMLP-ResNet fuser (docs/MODELS.md §2 and docs/FUSED_FORMAT.md): every ConvBN
 * / ConvBNReLU becomes a conv with bias, every RepMLP inside a light or bottleneck block is
 * fused by rm_fuse_block_v1 under the block's name, and `linear` is copied. */
#ifndef RM_FUSE_RESNET_H
#define RM_FUSE_RESNET_H

#include "model/config_nets.h"
#include "model/fuse_io.h"
#include "repmlp/status.h"

/* Reads every tensor of the network from f->train (full state_dict names) and adds the
 * deploy tensors to f->out. cfg must be validated. */
repmlp_status rm_fuse_resnet(const rm_resnet_config *cfg, rm_fuser *f);

#endif
