/* RepMLPNet (docs/MODELS.md §3, fused as docs/FUSED_FORMAT.md says) as a graph:
 *   conv_embedding (conv k=s=patch, ReLU)
 *   per unit: [prebn1 affine when not folded] -> RepMLPBlock with the unit's residual folded
 *             into fc3's store -> ffn_fc1 (1x1, GELU) -> ffn_fc2 (1x1) + residual
 *   embeds.{s} (conv 2x2 s2, ReLU) between stages; global pool + head. */
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

/* One unit: y = x + block(prebn1(x)); z = y + ffn(y) (prebn2 folded into ffn_fc1). */
static void add_unit(rm_builder *b, const char *prefix, const rm_repmlpnet_stage *st, uint32_t N,
                     int x, int z) {
    const uint32_t C = (uint32_t)st->block.channels, H = (uint32_t)st->map_H,
                   W = (uint32_t)st->map_W;
    const uint64_t count = (uint64_t)N * C * H * W;
    char name[256];
    int src = x;
    if (!st->prebn1_folded) {
        int64_t cs[1] = {C};
        snprintf(name, sizeof name, "%sprebn1.scale", prefix);
        int scale = rm_builder_weight(b, name, 1, cs);
        snprintf(name, sizeof name, "%sprebn1.shift", prefix);
        int shift = rm_builder_weight(b, name, 1, cs);
        src = rb_temp(b, count);
        rm_affine_params p = {N, C, H * W};
        snprintf(name, sizeof name, "%sprebn1", prefix);
        if (b->status == REPMLP_OK)
            rm_graph_node(b->graph, RM_NODE_AFFINE, &p, (int[]){x, scale, shift, src}, name);
    }
    int y = rb_temp(b, count);
    snprintf(name, sizeof name, "%srepmlp_block.", prefix);
    rb_add_block_v2(b, name, &st->block, N, H, W, src, x, y);

    int hidden = rb_temp(b, 4 * count);
    rb_conv fc1 = {N, C, H, W, 4 * C, 1, 1, 0, 1, RM_ACT_GELU, -1};
    snprintf(name, sizeof name, "%sffn_block.ffn_fc1", prefix);
    rb_add_conv(b, name, &fc1, y, hidden);
    rb_conv fc2 = {N, 4 * C, H, W, C, 1, 1, 0, 1, RM_ACT_NONE, y};
    snprintf(name, sizeof name, "%sffn_block.ffn_fc2", prefix);
    rb_add_conv(b, name, &fc2, hidden, z);
}

static repmlp_status build(rm_builder *b, uint32_t N) {
    const rm_repmlpnet_config *c = b->model->config;
    rm_graph *g = b->graph;
    int x =
        rm_graph_value(g, RM_VALUE_INPUT, (uint64_t)N * c->in_channels * c->img_H * c->img_W, 0);
    int out = rm_graph_value(g, RM_VALUE_OUTPUT, (uint64_t)N * c->num_class, 0);
    rm_repmlpnet_stage st;
    rm_repmlpnet_stage_at(c, 0, &st);
    uint32_t C = (uint32_t)c->channels[0], H = (uint32_t)st.map_H, W = (uint32_t)st.map_W;
    int cur = rb_temp(b, (uint64_t)N * C * H * W);
    rb_conv embed = {N,
                     (uint32_t)c->in_channels,
                     (uint32_t)c->img_H,
                     (uint32_t)c->img_W,
                     C,
                     (uint32_t)c->patch_h,
                     (uint32_t)c->patch_h,
                     0,
                     1,
                     RM_ACT_RELU,
                     -1};
    rb_add_conv_rect(b, "conv_embedding", &embed, (uint32_t)c->patch_w, (uint32_t)c->patch_w, x,
                     cur);
    char prefix[128];
    for (int s = 0; s < c->stage_count; s++) {
        rm_repmlpnet_stage_at(c, s, &st);
        C = (uint32_t)c->channels[s];
        H = (uint32_t)st.map_H;
        W = (uint32_t)st.map_W;
        for (int64_t u = 0; u < st.units; u++) {
            int next = rb_temp(b, (uint64_t)N * C * H * W);
            snprintf(prefix, sizeof prefix, "stages.%d.%lld.", s, (long long)u);
            add_unit(b, prefix, &st, N, cur, next);
            cur = next;
        }
        if (s + 1 < c->stage_count) {
            uint32_t C2 = (uint32_t)c->channels[s + 1];
            int next = rb_temp(b, (uint64_t)N * C2 * (H / 2) * (W / 2));
            rb_conv down = {N, C, H, W, C2, 2, 2, 0, 1, RM_ACT_RELU, -1};
            snprintf(prefix, sizeof prefix, "embeds.%d", s);
            rb_add_conv(b, prefix, &down, cur, next);
            cur = next;
        }
    }
    rb_add_head(b, "head.", N, C, H, W, (uint32_t)c->num_class, cur, out);
    return b->status;
}

const rm_arch rm_arch_repmlpnet = {RM_ARCH_REPMLPNET, &rm_model_arch_repmlpnet, build};
