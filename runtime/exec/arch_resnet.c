/* RepMLP-ResNet (docs/MODELS.md §2, fused as docs/FUSED_FORMAT.md says) as a graph: the stem
 * conv and max-pool, stages of base / light / bottleneck blocks whose last conv adds the
 * shortcut and applies the ReLU in its store, then the global pool and linear head. */
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

static void conv(rm_builder *b, const char *block, const char *layer, const rb_conv *c, int x,
                 int out) {
    char name[192];
    snprintf(name, sizeof name, "%s%s", block, layer);
    rb_add_conv(b, name, c, x, out);
}

static void add_block(rm_builder *b, const char *p, const rm_resnet_block *k, uint32_t N, int x,
                      int out) {
    const uint32_t in = (uint32_t)k->in, width = (uint32_t)k->width, mid = (uint32_t)k->mid;
    const uint32_t H = (uint32_t)k->in_H, W = (uint32_t)k->in_W, s = (uint32_t)k->stride;
    const uint32_t OH = (uint32_t)k->out_H, OW = (uint32_t)k->out_W;
    int shortcut = x;
    if (k->conv_shortcut) {
        shortcut = rb_temp(b, (uint64_t)N * width * OH * OW);
        rb_conv sc = {N, in, H, W, width, 1, s, 0, 1, RM_ACT_NONE, -1};
        conv(b, p, "shortcut", &sc, x, shortcut);
    }
    int t1 = rb_temp(b, (uint64_t)N * mid * H * W);
    char name[192];
    if (k->kind == RM_BLOCK_BASE) {
        rb_conv c1 = {N, in, H, W, mid, 1, 1, 0, 1, RM_ACT_RELU, -1};
        conv(b, p, "conv1", &c1, x, t1);
        int t2 = rb_temp(b, (uint64_t)N * mid * OH * OW);
        rb_conv c2 = {N, mid, H, W, mid, 3, s, 1, 1, RM_ACT_RELU, -1};
        conv(b, p, "conv2", &c2, t1, t2);
        rb_conv c3 = {N, mid, OH, OW, width, 1, 1, 0, 1, RM_ACT_RELU, shortcut};
        conv(b, p, "conv3", &c3, t2, out);
    } else if (k->kind == RM_BLOCK_LIGHT) {
        rb_conv c1 = {N, in, H, W, mid, 1, 1, 0, 1, RM_ACT_RELU, -1};
        conv(b, p, "light_conv1", &c1, x, t1);
        int t2 = rb_temp(b, (uint64_t)N * mid * H * W);
        snprintf(name, sizeof name, "%slight_repmlp.", p);
        rb_add_block_v1(b, name, &k->repmlp, N, RM_ACT_RELU, t1, t2);
        rb_conv c3 = {N, mid, H, W, width, 1, 1, 0, 1, RM_ACT_RELU, shortcut};
        conv(b, p, "light_conv3", &c3, t2, out);
    } else {
        const uint32_t rc = (uint32_t)k->rc;
        rb_conv c1 = {N, in, H, W, mid, 1, 1, 0, 1, RM_ACT_RELU, -1};
        conv(b, p, "btnk_conv1", &c1, x, t1);
        int t2 = rb_temp(b, (uint64_t)N * rc * H * W), t3 = rb_temp(b, (uint64_t)N * rc * H * W);
        rb_conv c2 = {N, mid, H, W, rc, 3, 1, 1, 1, RM_ACT_RELU, -1};
        conv(b, p, "btnk_conv2", &c2, t1, t2);
        snprintf(name, sizeof name, "%sbtnk_repmlp.", p);
        rb_add_block_v1(b, name, &k->repmlp, N, RM_ACT_RELU, t2, t3);
        int t4 = rb_temp(b, (uint64_t)N * mid * H * W);
        rb_conv c4 = {N, rc, H, W, mid, 3, 1, 1, 1, RM_ACT_RELU, -1};
        conv(b, p, "btnk_conv4", &c4, t3, t4);
        rb_conv c5 = {N, mid, H, W, width, 1, 1, 0, 1, RM_ACT_RELU, shortcut};
        conv(b, p, "btnk_conv5", &c5, t4, out);
    }
}

static repmlp_status build(rm_builder *b, uint32_t N) {
    const rm_resnet_config *c = b->model->config;
    rm_graph *g = b->graph;
    int x = rm_graph_value(g, RM_VALUE_INPUT, (uint64_t)N * 3 * c->img_H * c->img_W, 0);
    int out = rm_graph_value(g, RM_VALUE_OUTPUT, (uint64_t)N * c->num_classes, 0);
    rm_resnet_stem stem;
    rm_resnet_stem_at(c, &stem);
    const uint32_t S = (uint32_t)c->stem_channels;
    int t = rb_temp(b, (uint64_t)N * S * stem.conv_H * stem.conv_W);
    rb_conv c0 = {N, 3, (uint32_t)c->img_H, (uint32_t)c->img_W, S, 7, 2, 3, 1, RM_ACT_RELU, -1};
    rb_add_conv(b, "stage0.0", &c0, x, t);
    int cur = rb_temp(b, (uint64_t)N * S * stem.pool_H * stem.pool_W);
    rm_maxpool_params pool = {N, S, (uint32_t)stem.conv_H, (uint32_t)stem.conv_W, 3, 2, 1};
    if (b->status == REPMLP_OK)
        rm_graph_node(g, RM_NODE_MAXPOOL, &pool, (int[]){t, cur}, "stage0.1");
    rm_resnet_block k = {0};
    char prefix[64];
    for (int s = 1; s <= 4; s++)
        for (int64_t i = 0; i < c->num_blocks[s - 1]; i++) {
            rm_resnet_block_at(c, s, i, &k);
            int next = rb_temp(b, (uint64_t)N * k.width * k.out_H * k.out_W);
            snprintf(prefix, sizeof prefix, "stage%d.%lld.", s, (long long)i);
            add_block(b, prefix, &k, N, cur, next);
            cur = next;
        }
    rb_add_head(b, "linear.", N, (uint32_t)k.width, (uint32_t)k.out_H, (uint32_t)k.out_W,
                (uint32_t)c->num_classes, cur, out);
    return b->status;
}

const rm_arch rm_arch_resnet = {RM_ARCH_RESNET, &rm_model_arch_resnet, build};
