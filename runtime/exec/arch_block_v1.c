/* The RepMLP version-1 block (docs/MODELS.md §1, deploy form) as a stand-alone model. */
#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

static repmlp_status build(rm_builder *b, uint32_t batch) {
    const rm_block_v1_config *c = b->model->config;
    uint64_t per_in = (uint64_t)c->in_channels * c->H * c->W;
    uint64_t per_out = (uint64_t)c->out_channels * c->H * c->W;
    int x = rm_graph_value(b->graph, RM_VALUE_INPUT, batch * per_in, 0);
    int y = rm_graph_value(b->graph, RM_VALUE_OUTPUT, batch * per_out, 0);
    rb_add_block_v1(b, "", c, batch, RM_ACT_NONE, x, y);
    return b->status;
}

const rm_arch rm_arch_block_v1 = {RM_ARCH_BLOCK_V1, &rm_model_arch_block_v1, build};
