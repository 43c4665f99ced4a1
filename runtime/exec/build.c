#include "exec/build.h"

#include <stdio.h>

#include "core/error.h"

/* Index maps and offsets in the shaders are 32-bit. */
#define RB_MAX_ELEMENTS (1ull << 31)

int rb_temp(rm_builder *b, uint64_t count) {
    return rm_graph_value(b->graph, RM_VALUE_TEMP, count, 0);
}

void rb_check_size(rm_builder *b, uint64_t count) {
    if (b->status == REPMLP_OK && count >= RB_MAX_ELEMENTS)
        b->status = rm_fail(REPMLP_ERROR_TOO_LARGE,
                            "%s: a tensor of %llu elements exceeds the 2^31 the kernels index",
                            b->model->path, (unsigned long long)count);
}

static int weight(rm_builder *b, const char *prefix, const char *name, int ndim,
                  const int64_t *shape) {
    char full[256];
    int n = snprintf(full, sizeof full, "%s%s", prefix, name);
    if (n < 0 || (size_t)n >= sizeof full) {
        if (b->status == REPMLP_OK)
            b->status = rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor name '%s%s' is too long",
                                b->model->path, prefix, name);
        return -1;
    }
    return rm_builder_weight(b, full, ndim, shape);
}

static void node(rm_builder *b, rm_node_kind kind, const void *params, const int *args,
                 const char *prefix, const char *what) {
    if (b->status != REPMLP_OK) return;
    char label[128];
    if (snprintf(label, sizeof label, "%s%s", prefix, what) < 0) label[0] = '\0';
    rm_graph_node(b->graph, kind, params, args, label);
}

/* A plain (M, K) x (NO, K)^T GEMM with bias into row-major (M, NO). */
static rm_gemm_params dense(uint32_t M, uint32_t K, uint32_t NO, rm_activation act) {
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, 1);
    p.ep = (rm_epilogue){.has_bias = true, .act = act};
    return p;
}

void rb_add_conv(rm_builder *b, const char *prefix, const rb_conv *c, int x, int out) {
    rb_add_conv_rect(b, prefix, c, c->k, c->stride, x, out);
}

void rb_add_conv_rect(rm_builder *b, const char *prefix, const rb_conv *c, uint32_t kw, uint32_t sw,
                      int x, int out) {
    char name[200];
    if (snprintf(name, sizeof name, "%s.conv.", prefix) < 0) name[0] = '\0';
    int64_t ws[4] = {c->O, c->C / c->groups, c->k, kw}, bs[1] = {c->O};
    int wt = weight(b, name, "weight", 4, ws), bias = weight(b, name, "bias", 1, bs);
    int none = rm_graph_none(b->graph);
    rb_check_size(b, (uint64_t)c->C * c->H * c->W);
    rb_check_size(b, (uint64_t)c->O * c->H * c->W);
    rm_conv_params p = {.N = c->N,
                        .C = c->C,
                        .H = c->H,
                        .W = c->W,
                        .O = c->O,
                        .kh = c->k,
                        .kw = kw,
                        .sh = c->stride,
                        .sw = sw,
                        .ph = c->pad,
                        .pw = c->pad,
                        .groups = c->groups,
                        .ep = {.has_bias = true, .has_residual = c->residual >= 0, .act = c->act}};
    int res = c->residual >= 0 ? c->residual : none;
    node(b, RM_NODE_CONV, &p, (int[]){x, wt, bias, out, none, none, res}, prefix, ".conv");
}

void rb_add_batchnorm(rm_builder *b, const char *prefix, uint32_t N, uint32_t C, uint32_t HW, int x,
                      int residual, int out) {
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    int args[7] = {x, -1, -1, -1, -1, residual >= 0 ? residual : rm_graph_none(b->graph), out};
    int64_t shape[1] = {C};
    char dotted[160];
    snprintf(dotted, sizeof dotted, "%s.", prefix);
    for (int i = 0; i < 4; i++) args[1 + i] = weight(b, dotted, parts[i], 1, shape);
    rm_batchnorm_params p = {N, C, HW, residual >= 0};
    node(b, RM_NODE_BATCHNORM, &p, args, prefix, "");
}

/* The global perceptron as one fused op when the device can take it (its pooled and hidden
 * values fit in shared memory); false: the caller emits the unfused ops. weights: W1, b1, W2,
 * b2. */
static bool rb_add_global_perceptron(rm_builder *b, const char *prefix,
                                     rm_global_perceptron_params p, int x, const int weights[4],
                                     int out) {
    if (!rm_global_perceptron_fits(b->model->ctx, &p)) return false;
    node(b, RM_NODE_GLOBAL_PERCEPTRON, &p,
         (int[]){x, weights[0], weights[1], weights[2], weights[3], out}, prefix, "gp");
    return true;
}

int rb_add_gp_v1(rm_builder *b, const char *prefix, const rm_block_v1_config *c, uint32_t N, int x,
                 const char *bn_prefix) {
    int none = rm_graph_none(b->graph);
    if (!c->has_gp) return none;
    const uint32_t C = (uint32_t)c->in_channels, H = (uint32_t)c->H, W = (uint32_t)c->W;
    const uint32_t h = (uint32_t)c->h, w = (uint32_t)c->w, I = (uint32_t)c->I;
    const uint32_t cpp = C * (H / h) * (W / w);
    int64_t s_fc1[2] = {I, cpp}, s_b1[1] = {I}, s_fc2[2] = {cpp, I}, s_b2[1] = {cpp};
    int w1 = weight(b, prefix, "fc1_fc2.fc1.weight", 2, s_fc1);
    int b1 = weight(b, prefix, "fc1_fc2.fc1.bias", 1, s_b1);
    int w2 = weight(b, prefix, "fc1_fc2.fc2.weight", 2, s_fc2);
    int b2 = weight(b, prefix, "fc1_fc2.fc2.bias", 1, s_b2);
    int v = rb_temp(b, (uint64_t)N * cpp);
    if (!bn_prefix &&
        rb_add_global_perceptron(b, prefix,
                                 (rm_global_perceptron_params){N, C, H, W, h, w, I, RM_ACT_NONE}, x,
                                 (int[]){w1, b1, w2, b2}, v))
        return v;
    int pooled = rb_temp(b, (uint64_t)N * cpp), hidden = rb_temp(b, (uint64_t)N * I);
    rm_avgpool_params pool = {N, C, H, W, h, w};
    node(b, RM_NODE_AVGPOOL, &pool, (int[]){x, pooled}, prefix, "gp.avgpool");
    if (bn_prefix) {
        int normed = rb_temp(b, (uint64_t)N * cpp);
        rb_add_batchnorm(b, bn_prefix, N, C, cpp / C, pooled, -1, normed);
        pooled = normed;
    }
    rm_gemm_params fc1 = dense(N, cpp, I, RM_ACT_RELU);
    node(b, RM_NODE_GEMM, &fc1, (int[]){pooled, w1, b1, hidden, none, none, none}, prefix,
         "fc1_fc2.fc1");
    rm_gemm_params fc2 = dense(N, I, cpp, RM_ACT_NONE);
    node(b, RM_NODE_GEMM, &fc2, (int[]){hidden, w2, b2, v, none, none, none}, prefix,
         "fc1_fc2.fc2");
    return v;
}

rm_gemm_params rb_fc3_v1(const rm_block_v1_config *c, uint32_t N) {
    const uint32_t C = (uint32_t)c->in_channels, O = (uint32_t)c->out_channels;
    const uint32_t H = (uint32_t)c->H, W = (uint32_t)c->W, h = (uint32_t)c->h, w = (uint32_t)c->w;
    const uint32_t hp = H / h, wp = W / w, g3 = (uint32_t)c->fc3_groups;
    /* Rows are partitions (n, ip, jp); columns are (c, y, x) inside a partition; the GP's
     * v (N, C*hp*wp) is broadcast over (y, x) on load. */
    rm_gemm_params p = {
        .M = N * hp * wp,
        .K = C * h * w / g3,
        .NO = O * h * w / g3,
        .groups = g3,
        .has_addend = c->has_gp,
        .a_rows = {{wp, hp, 0}, {w, h * W, C * H * W, 0}},
        .a_cols = {{w, h, 0}, {1, W, H * W, 0}},
        .v_rows = {{wp, hp, 0}, {1, wp, C * hp * wp, 0}},
        .v_cols = {{w, h, 0}, {0, 0, hp * wp, 0}},
        .addend_run = h * w, /* v is constant over a channel's h*w pixels */
    };
    return p;
}

void rb_add_block_v1(rm_builder *b, const char *prefix, const rm_block_v1_config *c, uint32_t N,
                     rm_activation act, int x, int out) {
    const uint32_t C = (uint32_t)c->in_channels, O = (uint32_t)c->out_channels;
    const uint32_t H = (uint32_t)c->H, W = (uint32_t)c->W, h = (uint32_t)c->h, w = (uint32_t)c->w;
    const uint32_t g3 = (uint32_t)c->fc3_groups;
    rb_check_size(b, (uint64_t)C * H * W);
    rb_check_size(b, (uint64_t)O * H * W);
    rb_check_size(b, (uint64_t)C * h * w * O * h * w / g3);
    if (b->status != REPMLP_OK) return;
    int none = rm_graph_none(b->graph);
    int v = rb_add_gp_v1(b, prefix, c, N, x, NULL);
    rm_gemm_params fc3 = rb_fc3_v1(c, N);
    int64_t s_fc3[4] = {fc3.groups * fc3.NO, fc3.K, 1, 1}, s_b3[1] = {fc3.groups * fc3.NO};
    int w3 = weight(b, prefix, "fc3.weight", 4, s_fc3), b3 = weight(b, prefix, "fc3.bias", 1, s_b3);
    /* The output is scattered back to (N, O, H, W) by the same partition maps. */
    fc3.y_rows = (rm_index_map){{W / w, H / h, 0}, {w, h * W, O * H * W, 0}};
    fc3.y_cols = (rm_index_map){{w, h, 0}, {1, W, H * W, 0}};
    fc3.ep = (rm_epilogue){.has_bias = true, .act = act};
    node(b, RM_NODE_GEMM, &fc3, (int[]){x, w3, b3, out, v, none, none}, prefix, "fc3");
}

void rb_add_block_v2(rm_builder *b, const char *prefix, const rm_block_v2_config *c, uint32_t N,
                     uint32_t H, uint32_t W, int src, int residual, int out) {
    const uint32_t C = (uint32_t)c->channels, S = (uint32_t)c->sharesets;
    const uint32_t h = (uint32_t)c->h, w = (uint32_t)c->w, hid = (uint32_t)c->hidden;
    rb_check_size(b, (uint64_t)C * H * W);
    if (b->status != REPMLP_OK) return;
    const uint32_t hp = H / h, wp = W / w, hw = h * w, HW = H * W, cs = C / S;
    rm_graph *g = b->graph;
    int none = rm_graph_none(g);
    int64_t s_fc1[4] = {hid, C, 1, 1}, s_b1[1] = {hid}, s_fc2[4] = {C, hid, 1, 1}, s_b2[1] = {C};
    int w1 = weight(b, prefix, "gp.fc1.weight", 4, s_fc1);
    int b1 = weight(b, prefix, "gp.fc1.bias", 1, s_b1);
    int w2 = weight(b, prefix, "gp.fc2.weight", 4, s_fc2);
    int b2 = weight(b, prefix, "gp.fc2.bias", 1, s_b2);
    int64_t s_fc3[4] = {(int64_t)S * hw, hw, 1, 1}, s_b3[1] = {(int64_t)S * hw};
    int w3 = weight(b, prefix, "fc3.weight", 4, s_fc3), b3 = weight(b, prefix, "fc3.bias", 1, s_b3);

    /* Gate: sigmoid(fc2(relu(fc1(mean over the whole map)))), (N, C). */
    int gate = rb_temp(b, (uint64_t)N * C);
    if (!rb_add_global_perceptron(
            b, prefix, (rm_global_perceptron_params){N, C, H, W, H, W, hid, RM_ACT_SIGMOID}, src,
            (int[]){w1, b1, w2, b2}, gate)) {
        int pooled = rb_temp(b, (uint64_t)N * C), hidden = rb_temp(b, (uint64_t)N * hid);
        rm_avgpool_params pool = {N, C, H, W, H, W};
        node(b, RM_NODE_AVGPOOL, &pool, (int[]){src, pooled}, prefix, "gp.avgpool");
        rm_gemm_params fc1 = dense(N, C, hid, RM_ACT_RELU);
        node(b, RM_NODE_GEMM, &fc1, (int[]){pooled, w1, b1, hidden, none, none, none}, prefix,
             "gp.fc1");
        rm_gemm_params fc2 = dense(N, hid, C, RM_ACT_SIGMOID);
        node(b, RM_NODE_GEMM, &fc2, (int[]){hidden, w2, b2, gate, none, none, none}, prefix,
             "gp.fc2");
    }

    /* fc3 over the reshapes of docs/MODELS.md §3, quirk included:
     * row r = ((n*hp + ip)*wp + jp)*(C/S) + cs reads channel cs*S + s of partition (ip, jp);
     * its outputs land, through .reshape(-1, hp, wp, S, h, w), at q = r / (hp*wp),
     * ip' = r / wp % hp, jp' = r % wp, i.e. channel (q*S + s) mod C of image (q*S + s) / C. The
     * gate of that (image, channel) is gate[q*S + s], and the residual is read where the output
     * is written. */
    rm_gemm_params fc3 = {
        .M = N * hp * wp * cs,
        .K = hw,
        .NO = hw,
        .groups = S,
        .a_rows = {{cs, wp, hp}, {S * HW, w, h * W, C * HW}},
        .a_cols = {{w, h, 0}, {1, W, HW, 0}},
        .y_rows = {{wp, hp, 0}, {w, h * W, S * HW, 0}},
        .y_cols = {{w, h, 0}, {1, W, HW, 0}},
        .ep = {.has_bias = true,
               .has_scale = true,
               .has_residual = residual >= 0,
               .s_rows = {{wp, hp, 0}, {0, 0, S, 0}},
               .s_cols = {{w, h, 0}, {0, 0, 1, 0}}},
    };
    int res = residual >= 0 ? residual : none;
    node(b, RM_NODE_GEMM, &fc3, (int[]){src, w3, b3, out, none, gate, res}, prefix, "fc3");
}

void rb_add_head(rm_builder *b, const char *prefix, uint32_t N, uint32_t C, uint32_t H, uint32_t W,
                 uint32_t classes, int x, int out) {
    int none = rm_graph_none(b->graph);
    int64_t ws[2] = {classes, C}, bs[1] = {classes};
    int wt = weight(b, prefix, "weight", 2, ws), bias = weight(b, prefix, "bias", 1, bs);
    int pooled = rb_temp(b, (uint64_t)N * C);
    rm_avgpool_params pool = {N, C, H, W, H, W};
    node(b, RM_NODE_AVGPOOL, &pool, (int[]){x, pooled}, prefix, "avgpool");
    rm_gemm_params fc = dense(N, C, classes, RM_ACT_NONE);
    node(b, RM_NODE_GEMM, &fc, (int[]){pooled, wt, bias, out, none, none, none}, prefix, "linear");
}
