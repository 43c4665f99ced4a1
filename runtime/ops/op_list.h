/* Private: every op a model graph can hold, one row each. From this list come the node kinds
 * (RM_NODE_<KIND>), the graph node's parameter union (member <name>, type rm_<name>_params),
 * the declarations of rm_<name>_prepare and rm_<name>_flops (ops/ops.h), the copy of the
 * parameters into a node (graph/graph.c) and the op table (graph/op_table.c). Adding an op is
 * one row here, its parameter struct in ops/ops.h, ops/<name>.c (prepare and flops), its shader
 * row in shaders/shader_list.h and its .comp (docs/ARCHITECTURE.md, recipe (a)).
 *
 *   X(KIND, name, operands, bind): operands = the node's value ids, in the order ops.h
 *   documents; bind = DIRECT when they are the shader's bindings one to one, OWN when
 *   rm_<name>_bindings maps them (e.g. several weights through one window of the weight
 *   buffer, their offsets in push constants). */
#ifndef RM_OP_LIST_H
#define RM_OP_LIST_H

#define RM_OP_LIST(X)                                                                              \
    X(AVGPOOL, avgpool, 2, DIRECT)                                                                 \
    X(BROADCAST_ADD, broadcast_add, 2, DIRECT)                                                     \
    X(GEMM, gemm, 7, OWN)                                                                          \
    X(CONV, conv, 7, OWN)                                                                          \
    X(MAXPOOL, maxpool, 2, DIRECT)                                                                 \
    X(AFFINE, affine, 4, DIRECT)                                                                   \
    X(GATHER, gather, 3, DIRECT)                                                                   \
    X(BATCHNORM, batchnorm, 7, OWN)                                                                \
    X(GLOBAL_PERCEPTRON, global_perceptron, 6, OWN)

#endif
