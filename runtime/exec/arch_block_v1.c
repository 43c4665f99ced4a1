/* The RepMLP version-1 block (SPEC.md §1, deploy form) as a graph:
 *   GP:  p = avgpool(x, h x w); t = relu(fc1(p)); v = fc2(t)
 *   fc3: y = partition-GEMM(x [+ v broadcast]) written back to (N, O, H, W)
 * The broadcast add and both permutes are folded into fc3's index maps. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/model.h"
#include "model/config.h"

static repmlp_status parse(const cJSON *json, const char *where, void **config) {
    rm_block_v1_config *cfg = rm_calloc(1, sizeof *cfg);
    if (!cfg) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    repmlp_status st = rm_block_v1_config_from_json(json, where, cfg);
    if (st != REPMLP_OK) {
        rm_free(cfg);
        return st;
    }
    *config = cfg;
    return REPMLP_OK;
}

static void shapes(const void *config, repmlp_shape *in, repmlp_shape *out) {
    const rm_block_v1_config *c = config;
    *in = (repmlp_shape){4, {1, c->in_channels, c->H, c->W}};
    *out = (repmlp_shape){4, {1, c->out_channels, c->H, c->W}};
}

static repmlp_status build(rm_builder *b, uint32_t batch) {
    const rm_block_v1_config *c = b->model->config;
    rm_graph *g = b->graph;
    const uint32_t N = batch, C = (uint32_t)c->in_channels, O = (uint32_t)c->out_channels;
    const uint32_t H = (uint32_t)c->H, W = (uint32_t)c->W, h = (uint32_t)c->h, w = (uint32_t)c->w;
    const uint32_t hp = H / h, wp = W / w, g3 = (uint32_t)c->fc3_groups, I = (uint32_t)c->I;
    const uint32_t chw = C * h * w, ohw = O * h * w, cpp = C * hp * wp; /* config-capped */

    /* Index maps are 32-bit: one image's tensors must stay well inside that. */
    if ((uint64_t)C * H * W >= (1u << 31) || (uint64_t)O * H * W >= (1u << 31) ||
        (uint64_t)chw * ohw / g3 >= (1u << 31))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: the block's tensors exceed 2^31 elements",
                       b->model->path);
    int x = rm_graph_value(g, RM_VALUE_INPUT, (uint64_t)N * C * H * W, 0);
    int y = rm_graph_value(g, RM_VALUE_OUTPUT, (uint64_t)N * O * H * W, 0);
    int none = rm_graph_none(g);
    int v = none;
    if (c->has_gp) {
        int64_t s_fc1[2] = {I, cpp}, s_b1[1] = {I}, s_fc2[2] = {cpp, I}, s_b2[1] = {cpp};
        int wts[4] = {
            rm_builder_weight(b, "fc1_fc2.fc1.weight", 2, s_fc1),
            rm_builder_weight(b, "fc1_fc2.fc1.bias", 1, s_b1),
            rm_builder_weight(b, "fc1_fc2.fc2.weight", 2, s_fc2),
            rm_builder_weight(b, "fc1_fc2.fc2.bias", 1, s_b2),
        };
        int pooled = rm_graph_value(g, RM_VALUE_TEMP, (uint64_t)N * cpp, 0);
        int hidden = rm_graph_value(g, RM_VALUE_TEMP, (uint64_t)N * I, 0);
        v = rm_graph_value(g, RM_VALUE_TEMP, (uint64_t)N * cpp, 0);
        rm_avgpool_params pool = {N, C, H, W, h, w};
        rm_graph_node(g, RM_NODE_AVGPOOL, &pool, (int[]){x, pooled}, "gp.avgpool");
        rm_gemm_params fc1 = {.M = N,
                              .K = cpp,
                              .NO = I,
                              .groups = 1,
                              .has_bias = true,
                              .act = RM_ACT_RELU,
                              .a_rows = rm_map_stride(cpp),
                              .a_cols = rm_map_stride(1),
                              .y_rows = rm_map_stride(I),
                              .y_cols = rm_map_stride(1)};
        rm_graph_node(g, RM_NODE_GEMM, &fc1,
                      (int[]){pooled, wts[0], wts[1], hidden, none, none, none}, "gp.fc1");
        rm_gemm_params fc2 = {.M = N,
                              .K = I,
                              .NO = cpp,
                              .groups = 1,
                              .has_bias = true,
                              .a_rows = rm_map_stride(I),
                              .a_cols = rm_map_stride(1),
                              .y_rows = rm_map_stride(cpp),
                              .y_cols = rm_map_stride(1)};
        rm_graph_node(g, RM_NODE_GEMM, &fc2, (int[]){hidden, wts[2], wts[3], v, none, none, none},
                      "gp.fc2");
    }
    int64_t s_fc3[4] = {ohw, chw / g3, 1, 1}, s_b3[1] = {ohw};
    int wts3[2] = {rm_builder_weight(b, "fc3.weight", 4, s_fc3),
                   rm_builder_weight(b, "fc3.bias", 1, s_b3)};
    /* Rows are partitions (n, ip, jp); columns are (c, y, x) inside a partition. */
    rm_gemm_params fc3 = {
        .M = N * hp * wp,
        .K = chw / g3,
        .NO = ohw / g3,
        .groups = g3,
        .has_bias = true,
        .has_addend = c->has_gp,
        .a_rows = {{wp, hp, 0}, {w, h * W, C * H * W, 0}},
        .a_cols = {{w, h, 0}, {1, W, H * W, 0}},
        .y_rows = {{wp, hp, 0}, {w, h * W, O * H * W, 0}},
        .y_cols = {{w, h, 0}, {1, W, H * W, 0}},
        /* v (N, C*hp*wp) broadcast over (y, x) */
        .v_rows = {{wp, hp, 0}, {1, wp, cpp, 0}},
        .v_cols = {{w, h, 0}, {0, 0, hp * wp, 0}},
    };
    if (b->status != REPMLP_OK) return b->status;
    rm_graph_node(g, RM_NODE_GEMM, &fc3, (int[]){x, wts3[0], wts3[1], y, v, none, none}, "fc3");
    return REPMLP_OK;
}

const rm_arch rm_arch_block_v1 = {"RepMLP", parse, shapes, build};
