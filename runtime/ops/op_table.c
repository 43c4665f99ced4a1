/* The op table: one entry per graph node kind. Adding an op = one entry here, one shader,
 * one prepare function. */
#include "graph/graph.h"

static repmlp_status prepare_avgpool(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_avgpool_prepare(ctx, &n->params.avgpool, out);
}
static uint64_t flops_avgpool(const rm_node *n) {
    const rm_avgpool_params *p = &n->params.avgpool;
    return (uint64_t)p->N * p->C * p->H * p->W;
}

static repmlp_status prepare_broadcast_add(repmlp_context *ctx, const rm_node *n,
                                           rm_dispatch *out) {
    return rm_broadcast_add_prepare(ctx, &n->params.broadcast_add, out);
}
static uint64_t flops_broadcast_add(const rm_node *n) {
    const rm_broadcast_add_params *p = &n->params.broadcast_add;
    return (uint64_t)p->N * p->C * p->H * p->W;
}

static repmlp_status prepare_gemm(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_gemm_prepare(ctx, &n->params.gemm, out);
}
static uint64_t flops_gemm(const rm_node *n) {
    const rm_gemm_params *p = &n->params.gemm;
    return 2ull * p->M * p->K * p->NO * p->groups;
}

const rm_op_kind rm_op_kinds[RM_NODE_KIND_COUNT] = {
    [RM_NODE_AVGPOOL] = {"avgpool", 2, prepare_avgpool, flops_avgpool},
    [RM_NODE_BROADCAST_ADD] = {"broadcast_add", 2, prepare_broadcast_add, flops_broadcast_add},
    [RM_NODE_GEMM] = {"gemm", 5, prepare_gemm, flops_gemm},
};
