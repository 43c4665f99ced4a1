/* Private: a model as a small graph of ops over values (tensors), built per batch size by the
 * model's architecture and executed by a session. */
#ifndef RM_GRAPH_H
#define RM_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op_list.h"
#include "ops/ops.h"

typedef enum rm_value_kind {
    RM_VALUE_INPUT = 0, /* the session's input (or the caller's buffer) */
    RM_VALUE_OUTPUT,    /* the session's output (or the caller's buffer) */
    RM_VALUE_TEMP,      /* an activation, placed in the session's arena by the memory plan */
    RM_VALUE_WEIGHT,    /* a range of the model's weight buffer */
    RM_VALUE_NONE,      /* an unused binding (a small dummy buffer) */
} rm_value_kind;

typedef struct rm_value {
    rm_value_kind kind;
    uint64_t count;  /* float elements */
    uint64_t offset; /* bytes: in the weight buffer, or in the arena once planned */
    int first_use;   /* node indices, for the memory plan */
    int last_use;
    int weight; /* RM_VALUE_WEIGHT: index of the model's tensor; else -1 */
} rm_value;

/* The node kinds, one per row of ops/op_list.h; rm_op_kinds[] maps each to its prepare
 * function. */
#define RM_NODE_KIND_ENUM(KIND, name, operands, bind) RM_NODE_##KIND,
typedef enum rm_node_kind { RM_OP_LIST(RM_NODE_KIND_ENUM) RM_NODE_KIND_COUNT } rm_node_kind;
#undef RM_NODE_KIND_ENUM

typedef struct rm_node {
    rm_node_kind kind;
#define RM_NODE_PARAMS_MEMBER(KIND, name, operands, bind) rm_##name##_params name;
    union {
        RM_OP_LIST(RM_NODE_PARAMS_MEMBER)
    } params;
#undef RM_NODE_PARAMS_MEMBER
    int args[RM_MAX_BINDINGS]; /* value ids, one per shader binding */
    char label[96];            /* e.g. "stages.1.0.repmlp_block.fc3": errors and timings */
} rm_node;

/* One entry per node kind: how to turn parameters into a dispatch. */
typedef struct rm_op_kind {
    const char *name;
    uint32_t binding_count;
    repmlp_status (*prepare)(repmlp_context *ctx, const rm_node *node, rm_dispatch *out);
    /* Floating-point operations of one run of the node, for benchmarks. */
    uint64_t (*flops)(const rm_node *node);
    /* The shader's bindings from the node's operands; NULL: one to one. */
    rm_op_bindings_fn bindings;
} rm_op_kind;
extern const rm_op_kind rm_op_kinds[RM_NODE_KIND_COUNT];

typedef struct rm_graph {
    rm_value *values;
    int value_count, value_capacity;
    rm_node *nodes;
    int node_count, node_capacity;
    int none_value; /* id of the shared RM_VALUE_NONE value */
    bool failed;    /* an allocation failed while building; reported by rm_graph_finish */
} rm_graph;

void rm_graph_init(rm_graph *g);
void rm_graph_free(rm_graph *g);

/* Adds a value; returns its id (or -1 after an allocation failure, which the graph
 * remembers so builders can chain calls and check once at the end). */
int rm_graph_value(rm_graph *g, rm_value_kind kind, uint64_t count, uint64_t offset);
/* The shared "unused binding" value. */
int rm_graph_none(rm_graph *g);

/* Adds a node; args has rm_op_kinds[kind].binding_count entries. Returns the node id or -1. */
int rm_graph_node(rm_graph *g, rm_node_kind kind, const void *params, const int *args,
                  const char *label);

/* Checks that building succeeded and computes each value's first and last use. */
repmlp_status rm_graph_finish(rm_graph *g);

#endif
