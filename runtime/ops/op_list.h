/* Private: every op a model graph can hold, one row each. From this list come the node kinds
 * (RM_NODE_<KIND>), the graph node's parameter union (member <name>, type rm_<name>_params),
 * the declarations of rm_<name>_prepare and rm_<name>_flops (ops/ops.h), the copy of the
 * parameters into a node (graph/graph.c) and the op table (graph/op_table.c). Adding an op is
 * one row here, its parameter struct in ops/ops.h, ops/<name>.c (prepare and flops), its shader
 * row in shaders/shader_list.h and its .comp (docs/ARCHITECTURE.md, recipe (a)).
 *
 *   X(KIND, name, bindings): bindings = the node's operands (value ids), in the order the
 *   prepare function documents (the shader's bindings). */
#ifndef RM_OP_LIST_H
#define RM_OP_LIST_H

#define RM_OP_LIST(X)                                                                              \
    X(AVGPOOL, avgpool, 2)                                                                         \
    X(BROADCAST_ADD, broadcast_add, 2)                                                             \
    X(GEMM, gemm, 7)                                                                               \
    X(CONV, conv, 7)                                                                               \
    X(MAXPOOL, maxpool, 2)                                                                         \
    X(AFFINE, affine, 4)                                                                           \
    X(GATHER, gather, 3)                                                                           \
    X(BATCHNORM, batchnorm, 7)                                                                     \
    X(GLOBAL_PERCEPTRON, global_perceptron, 6)

#endif
