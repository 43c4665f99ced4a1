/* Private: the architectures' names and the one list of them. Every layer that keeps something
 * per architecture expands RM_ARCH_LIST instead of writing its own list: the model layer's
 * registry (model/arch_registry.h: rm_model_arch_<id>, defined in model/fuse_<id>.c), the
 * runtime's graph builders (exec/arch_table.c: rm_arch_<id>, in exec/arch_<id>.c) and the
 * reference (reference/net_ref.c: ref_arch_<id>). A missing definition fails the link. */
#ifndef RM_ARCH_LIST_H
#define RM_ARCH_LIST_H

#include "repmlp/model.h"

/* The names fused files carry in __metadata__ "arch" and repmlp-fuse takes as --arch: the
 * public REPMLP_ARCH_* (repmlp/model.h). */
#define RM_ARCH_BLOCK_V1 REPMLP_ARCH_BLOCK_V1
#define RM_ARCH_BLOCK_V2 REPMLP_ARCH_BLOCK_V2
#define RM_ARCH_RESNET REPMLP_ARCH_RESNET
#define RM_ARCH_REPMLPNET REPMLP_ARCH_REPMLPNET
/* Runtime only (exec/arch_block_v1_train.c): a v1 block's training-time file run unfused, for
 * benchmarks; never in a fused file. */
#define RM_ARCH_BLOCK_V1_TRAIN "RepMLP-unfused"

/* X(id, NAME), in the order repmlp-fuse --help lists them. */
#define RM_ARCH_LIST(X)                                                                            \
    X(block_v1, RM_ARCH_BLOCK_V1)                                                                  \
    X(block_v2, RM_ARCH_BLOCK_V2)                                                                  \
    X(resnet, RM_ARCH_RESNET)                                                                      \
    X(repmlpnet, RM_ARCH_REPMLPNET)

#endif
