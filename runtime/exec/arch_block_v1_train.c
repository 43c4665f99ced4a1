/* The RepMLP version-1 block in its *training-time* structure (docs/MODELS.md §1 steps 1-5,
 * eval mode): GP with its BatchNorm, fc3 + BatchNorm1d, every conv branch + BatchNorm, the
 * explicit partition permutes. It runs the training-time tensors as they are, unfused, so
 * benchmarks can show what re-parameterization buys on the same runtime. */
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

static repmlp_status build(rm_builder *b, uint32_t N) {
    const rm_block_v1_config *c = b->model->config;
    const uint32_t C = (uint32_t)c->in_channels, O = (uint32_t)c->out_channels;
    const uint32_t H = (uint32_t)c->H, W = (uint32_t)c->W, h = (uint32_t)c->h, w = (uint32_t)c->w;
    const uint32_t hp = H / h, wp = W / w, g3 = (uint32_t)c->fc3_groups;
    const uint32_t chw = C * h * w, ohw = O * h * w, rows = N * hp * wp;
    rb_check_size(b, (uint64_t)N * C * H * W);
    rb_check_size(b, (uint64_t)N * O * H * W);
    if (b->status != REPMLP_OK) return b->status;
    rm_graph *g = b->graph;
    int none = rm_graph_none(g);
    int x = rm_graph_value(g, RM_VALUE_INPUT, (uint64_t)N * C * H * W, 0);
    int y = rm_graph_value(g, RM_VALUE_OUTPUT, (uint64_t)N * O * H * W, 0);

    /* 1. GP: v = fc2(relu(fc1(BN_avg(avgpool(x))))). */
    int v = rb_add_gp_v1(b, "", c, N, x, "avg.bn");

    /* 2-3. Partition perceptron: fc3 (no bias) over the partitions (x + v), as (rows, O*h*w),
     * then BatchNorm1d over its O*h*w features. */
    rm_gemm_params fc3 = rb_fc3_v1(c, N);
    fc3.y_rows = rm_map_stride(ohw);
    fc3.y_cols = rm_map_stride(1);
    int64_t s_fc3[4] = {ohw, chw / g3, 1, 1};
    int w3 = rm_builder_weight(b, "fc3.weight", 4, s_fc3);
    int fc3_out = rb_temp(b, (uint64_t)rows * ohw), sum = rb_temp(b, (uint64_t)rows * ohw);
    rm_graph_node(g, RM_NODE_GEMM, &fc3, (int[]){x, w3, none, fc3_out, v, none, none}, "fc3");
    rb_add_batchnorm(b, "fc3_bn", rows, ohw, 1, fc3_out, -1, sum);

    /* 4. Local perceptron: the partitions as a batch of (C, h, w) maps (fc3's A operand,
     * written out), each conv branch and its BatchNorm added to the running sum. */
    if (c->kernel_count > 0) {
        int parts = rb_temp(b, (uint64_t)rows * chw);
        rm_gather_params split = {rows,       chw,        fc3.has_addend, fc3.a_rows,
                                  fc3.a_cols, fc3.v_rows, fc3.v_cols};
        rm_graph_node(g, RM_NODE_GATHER, &split, (int[]){x, v, parts}, "partitions");
        for (int i = 0; i < c->kernel_count; i++) {
            uint32_t k = (uint32_t)c->kernels[i];
            char name[64];
            snprintf(name, sizeof name, "repconv%u.conv.weight", k);
            int64_t s_k[4] = {O, C / g3, k, k};
            int wk = rm_builder_weight(b, name, 4, s_k);
            int conv_out = rb_temp(b, (uint64_t)rows * ohw),
                next = rb_temp(b, (uint64_t)rows * ohw);
            rm_conv_params conv = {.N = rows,
                                   .C = C,
                                   .H = h,
                                   .W = w,
                                   .O = O,
                                   .kh = k,
                                   .kw = k,
                                   .sh = 1,
                                   .sw = 1,
                                   .ph = k / 2,
                                   .pw = k / 2,
                                   .groups = g3};
            snprintf(name, sizeof name, "repconv%u.conv", k);
            if (b->status == REPMLP_OK)
                rm_graph_node(g, RM_NODE_CONV, &conv,
                              (int[]){parts, wk, none, conv_out, none, none, none}, name);
            snprintf(name, sizeof name, "repconv%u.bn", k);
            rb_add_batchnorm(b, name, rows, O, h * w, conv_out, sum, next);
            sum = next;
        }
    }

    /* 5. out = sum (n, ip, jp, o, y, x) permuted to (N, O, H, W). */
    rm_gather_params merge = {
        .rows = N * O,
        .cols = H * W,
        .x_rows = {{O, 0, 0}, {h * w, hp * wp * ohw, 0, 0}},
        .x_cols = {{w, wp, h}, {1, ohw, w, wp * ohw}},
    };
    rm_graph_node(g, RM_NODE_GATHER, &merge, (int[]){sum, none, y}, "merge");
    return b->status;
}

const rm_arch rm_arch_block_v1_train = {RM_ARCH_BLOCK_V1_TRAIN, &rm_model_arch_block_v1, build};
