#include "graph/graph.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

void rm_graph_init(rm_graph *g) {
    memset(g, 0, sizeof *g);
    g->none_value = -1;
}

void rm_graph_free(rm_graph *g) {
    rm_free(g->values);
    rm_free(g->nodes);
    rm_graph_init(g);
}

static bool grow(void **items, int *capacity, int needed, size_t item_size) {
    if (needed <= *capacity) return true;
    int cap = *capacity ? *capacity * 2 : 16;
    void *p = rm_realloc(*items, (size_t)cap * item_size);
    if (!p) return false;
    *items = p;
    *capacity = cap;
    return true;
}

int rm_graph_value(rm_graph *g, rm_value_kind kind, uint64_t count, uint64_t offset) {
    if (g->failed ||
        !grow((void **)&g->values, &g->value_capacity, g->value_count + 1, sizeof(rm_value))) {
        g->failed = true;
        return -1;
    }
    g->values[g->value_count] = (rm_value){kind, count, offset, -1, -1, -1};
    return g->value_count++;
}

int rm_graph_none(rm_graph *g) {
    if (g->none_value < 0) g->none_value = rm_graph_value(g, RM_VALUE_NONE, 4, 0);
    return g->none_value;
}

int rm_graph_node(rm_graph *g, rm_node_kind kind, const void *params, const int *args,
                  const char *label) {
    if (g->failed ||
        !grow((void **)&g->nodes, &g->node_capacity, g->node_count + 1, sizeof(rm_node))) {
        g->failed = true;
        return -1;
    }
    rm_node *n = &g->nodes[g->node_count];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    snprintf(n->label, sizeof n->label, "%s", label);
    switch (kind) {
#define RM_NODE_COPY_PARAMS(KIND, name, operands, bind)                                            \
    case RM_NODE_##KIND:                                                                           \
        n->params.name = *(const rm_##name##_params *)params;                                      \
        break;
        RM_OP_LIST(RM_NODE_COPY_PARAMS)
#undef RM_NODE_COPY_PARAMS
        case RM_NODE_KIND_COUNT:
            break;
    }
    for (uint32_t i = 0; i < rm_op_kinds[kind].binding_count; i++) {
        if (args[i] < 0) g->failed = true; /* a value that failed to allocate */
        n->args[i] = args[i];
    }
    return g->failed ? -1 : g->node_count++;
}

repmlp_status rm_graph_finish(rm_graph *g) {
    if (g->failed) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int i = 0; i < g->node_count; i++) {
        const rm_node *n = &g->nodes[i];
        for (uint32_t b = 0; b < rm_op_kinds[n->kind].binding_count; b++) {
            rm_value *v = &g->values[n->args[b]];
            if (v->first_use < 0) v->first_use = i;
            v->last_use = i;
        }
    }
    return REPMLP_OK;
}
