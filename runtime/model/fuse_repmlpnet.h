/* Private: the RepMLPNet fuser (docs/MODELS.md §3 and docs/FUSED_FORMAT.md): every ConvBN folded;
 * per unit, prebn1 folded into gp.fc1 and fc3 when channels == sharesets and written as
 * prebn1.{scale,shift} otherwise, the RepMLPBlock by locality injection, prebn2 folded into
 * ffn_fc1; head_norm folded into head. */
#ifndef RM_FUSE_REPMLPNET_H
#define RM_FUSE_REPMLPNET_H

#include "model/config_nets.h"
#include "model/fuse_io.h"
#include "repmlp/status.h"

/* Reads every tensor of the network from f->train (full state_dict names) and adds the
 * deploy tensors to f->out. cfg must be validated. */
repmlp_status rm_fuse_repmlpnet(const rm_repmlpnet_config *cfg, rm_fuser *f);

#endif
