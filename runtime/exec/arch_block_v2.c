/* The RepMLPBlock (docs/MODELS.md §3, deploy form) as a stand-alone model:
 * out = fc3(x) * gate(x). */
#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

static repmlp_status build(rm_builder *b, uint32_t batch) {
    const rm_block_v2_config *c = b->model->config;
    uint64_t per = (uint64_t)c->channels * c->H * c->W;
    int x = rm_graph_value(b->graph, RM_VALUE_INPUT, batch * per, 0);
    int y = rm_graph_value(b->graph, RM_VALUE_OUTPUT, batch * per, 0);
    rb_add_block_v2(b, "", c, batch, (uint32_t)c->H, (uint32_t)c->W, x, -1, y);
    return b->status;
}

const rm_arch rm_arch_block_v2 = {RM_ARCH_BLOCK_V2, &rm_model_arch_block_v2, build};
