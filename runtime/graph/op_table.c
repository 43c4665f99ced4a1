/* The op table: one entry per row of ops/op_list.h, so a new op needs no edit here. */
#include "graph/graph.h"

#define RM_OP_WRAPPERS(KIND, name, operands, bind)                                                 \
    static repmlp_status prepare_##name(repmlp_context *ctx, const rm_node *n, rm_dispatch *out) { \
        return rm_##name##_prepare(ctx, &n->params.name, out);                                     \
    }                                                                                              \
    static uint64_t flops_##name(const rm_node *n) {                                               \
        return rm_##name##_flops(&n->params.name);                                                 \
    }
RM_OP_LIST(RM_OP_WRAPPERS)
#undef RM_OP_WRAPPERS

/* The bindings hook: none for DIRECT ops (operands bound one to one). */
#define RM_OP_BIND_DIRECT(name) NULL
#define RM_OP_BIND_OWN(name) rm_##name##_bindings
#define RM_OP_ROW(KIND, name, operands, bind)                                                      \
    [RM_NODE_##KIND] = {#name, operands, prepare_##name, flops_##name, RM_OP_BIND_##bind(name)},
const rm_op_kind rm_op_kinds[RM_NODE_KIND_COUNT] = {RM_OP_LIST(RM_OP_ROW)};
#undef RM_OP_ROW
