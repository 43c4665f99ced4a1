/* The RepMLP version-1 block in its *training-time* structure (SPEC.md §1 steps 1-5, eval
 * mode): GP with its BatchNorm, fc3 + BatchNorm1d, every conv branch + BatchNorm, the
 * explicit partition permutes. It runs the training-time tensors as they are, unfused, so
 * benchmarks can show what re-parameterization buys on the same runtime. */
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/build.h"

RM_ARCH_CONFIG_PARSER(parse, rm_block_v1_config, rm_block_v1_config_from_json)

static void shapes(const void *config, repmlp_shape *in, repmlp_shape *out) {
    const rm_block_v1_config *c = config;
    *in = (repmlp_shape){4, {1, c->in_channels, c->H, c->W}};
    *out = (repmlp_shape){4, {1, c->out_channels, c->H, c->W}};
}

static int tensor(rm_builder *b, const char *name, int ndim, const int64_t *shape) {
    return rm_builder_weight(b, name, ndim, shape);
}

/* Eval-mode BatchNorm `prefix`.{weight,bias,running_mean,running_var} over (N, C, HW), plus
 * residual (a value id, or -1). */
static void batchnorm(rm_builder *b, const char *prefix, uint32_t N, uint32_t C, uint32_t HW, int x,
                      int residual, int out) {
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    int args[7] = {x, -1, -1, -1, -1, residual >= 0 ? residual : rm_graph_none(b->graph), out};
    int64_t shape[1] = {C};
    for (int i = 0; i < 4; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s.%s", prefix, parts[i]);
        args[1 + i] = tensor(b, name, 1, shape);
    }
    if (b->status != REPMLP_OK) return;
    rm_batchnorm_params p = {N, C, HW, residual >= 0};
    rm_graph_node(b->graph, RM_NODE_BATCHNORM, &p, args, prefix);
}

static repmlp_status build(rm_builder *b, uint32_t N) {
    const rm_block_v1_config *c = b->model->config;
    const uint32_t C = (uint32_t)c->in_channels, O = (uint32_t)c->out_channels;
    const uint32_t H = (uint32_t)c->H, W = (uint32_t)c->W, h = (uint32_t)c->h, w = (uint32_t)c->w;
    const uint32_t hp = H / h, wp = W / w, g3 = (uint32_t)c->fc3_groups, I = (uint32_t)c->I;
    const uint32_t chw = C * h * w, ohw = O * h * w, cpp = C * hp * wp, rows = N * hp * wp;
    rb_check_size(b, (uint64_t)N * C * H * W);
    rb_check_size(b, (uint64_t)N * O * H * W);
    if (b->status != REPMLP_OK) return b->status;
    rm_graph *g = b->graph;
    int none = rm_graph_none(g);
    int x = rm_graph_value(g, RM_VALUE_INPUT, (uint64_t)N * C * H * W, 0);
    int y = rm_graph_value(g, RM_VALUE_OUTPUT, (uint64_t)N * O * H * W, 0);

    /* 1. GP: v = fc2(relu(fc1(BN_avg(avgpool(x))))). */
    int v = none;
    if (c->has_gp) {
        int64_t s_fc1[2] = {I, cpp}, s_b1[1] = {I}, s_fc2[2] = {cpp, I}, s_b2[1] = {cpp};
        int w1 = tensor(b, "fc1_fc2.fc1.weight", 2, s_fc1),
            b1 = tensor(b, "fc1_fc2.fc1.bias", 1, s_b1);
        int w2 = tensor(b, "fc1_fc2.fc2.weight", 2, s_fc2),
            b2 = tensor(b, "fc1_fc2.fc2.bias", 1, s_b2);
        int pooled = rb_temp(b, (uint64_t)N * cpp), normed = rb_temp(b, (uint64_t)N * cpp);
        int hidden = rb_temp(b, (uint64_t)N * I);
        v = rb_temp(b, (uint64_t)N * cpp);
        rm_avgpool_params pool = {N, C, H, W, h, w};
        rm_graph_node(g, RM_NODE_AVGPOOL, &pool, (int[]){x, pooled}, "gp.avgpool");
        batchnorm(b, "avg.bn", N, C, hp * wp, pooled, -1, normed);
        rm_gemm_params fc1 = {.M = N,
                              .K = cpp,
                              .NO = I,
                              .groups = 1,
                              .a_rows = rm_map_stride(cpp),
                              .a_cols = rm_map_stride(1),
                              .y_rows = rm_map_stride(I),
                              .y_cols = rm_map_stride(1),
                              .ep = {.has_bias = true, .act = RM_ACT_RELU}};
        rm_graph_node(g, RM_NODE_GEMM, &fc1, (int[]){normed, w1, b1, hidden, none, none, none},
                      "fc1_fc2.fc1");
        rm_gemm_params fc2 = {.M = N,
                              .K = I,
                              .NO = cpp,
                              .groups = 1,
                              .a_rows = rm_map_stride(I),
                              .a_cols = rm_map_stride(1),
                              .y_rows = rm_map_stride(cpp),
                              .y_cols = rm_map_stride(1),
                              .ep = {.has_bias = true}};
        rm_graph_node(g, RM_NODE_GEMM, &fc2, (int[]){hidden, w2, b2, v, none, none, none},
                      "fc1_fc2.fc2");
    }

    /* 2-3. Partition perceptron: fc3 (no bias) over the partitions (x + v), as (rows, O*h*w),
     * then BatchNorm1d over its O*h*w features. */
    const rm_index_map p_rows = {{wp, hp, 0}, {w, h * W, C * H * W, 0}};
    const rm_index_map p_cols = {{w, h, 0}, {1, W, H * W, 0}};
    const rm_index_map v_rows = {{wp, hp, 0}, {1, wp, cpp, 0}};
    const rm_index_map v_cols = {{w, h, 0}, {0, 0, hp * wp, 0}};
    int64_t s_fc3[4] = {ohw, chw / g3, 1, 1};
    int w3 = tensor(b, "fc3.weight", 4, s_fc3);
    int fc3_out = rb_temp(b, (uint64_t)rows * ohw), sum = rb_temp(b, (uint64_t)rows * ohw);
    rm_gemm_params fc3 = {.M = rows,
                          .K = chw / g3,
                          .NO = ohw / g3,
                          .groups = g3,
                          .has_addend = c->has_gp,
                          .a_rows = p_rows,
                          .a_cols = p_cols,
                          .v_rows = v_rows,
                          .v_cols = v_cols,
                          .addend_run = h * w,
                          .y_rows = rm_map_stride(ohw),
                          .y_cols = rm_map_stride(1)};
    rm_graph_node(g, RM_NODE_GEMM, &fc3, (int[]){x, w3, none, fc3_out, v, none, none}, "fc3");
    batchnorm(b, "fc3_bn", rows, ohw, 1, fc3_out, -1, sum);

    /* 4. Local perceptron: the partitions as a batch of (C, h, w) maps, each conv branch and
     * its BatchNorm added to the running sum. */
    if (c->kernel_count > 0) {
        int parts = rb_temp(b, (uint64_t)rows * chw);
        rm_gather_params split = {rows, chw, c->has_gp, p_rows, p_cols, v_rows, v_cols};
        rm_graph_node(g, RM_NODE_GATHER, &split, (int[]){x, v, parts}, "partitions");
        for (int i = 0; i < c->kernel_count; i++) {
            uint32_t k = (uint32_t)c->kernels[i];
            char name[64];
            snprintf(name, sizeof name, "repconv%u.conv.weight", k);
            int64_t s_k[4] = {O, C / g3, k, k};
            int wk = tensor(b, name, 4, s_k);
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
            rm_graph_node(g, RM_NODE_CONV, &conv,
                          (int[]){parts, wk, none, conv_out, none, none, none}, name);
            snprintf(name, sizeof name, "repconv%u.bn", k);
            batchnorm(b, name, rows, O, h * w, conv_out, sum, next);
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

const rm_arch rm_arch_block_v1_train = {"RepMLP-unfused", parse, shapes, build};
