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

static repmlp_status prepare_conv(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_conv_prepare(ctx, &n->params.conv, out);
}
static uint64_t flops_conv(const rm_node *n) {
    const rm_conv_params *p = &n->params.conv;
    uint64_t out = (uint64_t)p->N * p->O * rm_conv_out_size(p->H, p->kh, p->sh, p->ph) *
                   rm_conv_out_size(p->W, p->kw, p->sw, p->pw);
    return 2ull * out * (p->C / p->groups) * p->kh * p->kw;
}

static repmlp_status prepare_maxpool(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_maxpool_prepare(ctx, &n->params.maxpool, out);
}
static uint64_t flops_maxpool(const rm_node *n) {
    const rm_maxpool_params *p = &n->params.maxpool;
    return (uint64_t)p->N * p->C * rm_conv_out_size(p->H, p->k, p->stride, p->pad) *
           rm_conv_out_size(p->W, p->k, p->stride, p->pad) * p->k * p->k;
}

static repmlp_status prepare_affine(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_affine_prepare(ctx, &n->params.affine, out);
}
static uint64_t flops_affine(const rm_node *n) {
    const rm_affine_params *p = &n->params.affine;
    return 2ull * p->N * p->C * p->HW;
}

static repmlp_status prepare_gather(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_gather_prepare(ctx, &n->params.gather, out);
}
static uint64_t flops_gather(const rm_node *n) {
    const rm_gather_params *p = &n->params.gather;
    return p->has_addend ? (uint64_t)p->rows * p->cols : 0;
}

static repmlp_status prepare_batchnorm(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) {
    return rm_batchnorm_prepare(ctx, &n->params.batchnorm, out);
}
static uint64_t flops_batchnorm(const rm_node *n) {
    const rm_batchnorm_params *p = &n->params.batchnorm;
    return (4ull + p->has_residual) * p->N * p->C * p->HW;
}

const rm_op_kind rm_op_kinds[RM_NODE_KIND_COUNT] = {
    [RM_NODE_AVGPOOL] = {"avgpool", 2, prepare_avgpool, flops_avgpool},
    [RM_NODE_BROADCAST_ADD] = {"broadcast_add", 2, prepare_broadcast_add, flops_broadcast_add},
    [RM_NODE_GEMM] = {"gemm", 7, prepare_gemm, flops_gemm},
    [RM_NODE_CONV] = {"conv", 7, prepare_conv, flops_conv},
    [RM_NODE_MAXPOOL] = {"maxpool", 2, prepare_maxpool, flops_maxpool},
    [RM_NODE_AFFINE] = {"affine", 4, prepare_affine, flops_affine},
    [RM_NODE_GATHER] = {"gather", 3, prepare_gather, flops_gather},
    [RM_NODE_BATCHNORM] = {"batchnorm", 7, prepare_batchnorm, flops_batchnorm},
};
