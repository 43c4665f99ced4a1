/* Greedy interval placement: largest values first, each at the lowest offset that does not
 * collide with an already placed value whose lifetime overlaps. Optimal packing is NP-hard;
 * this is the usual heuristic (TFLite's "greedy by size") and is within a few percent of the
 * lower bound on chain-like graphs such as these. */
#include "graph/memplan.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"

typedef struct sized {
    uint64_t count;
    int id;
} sized;

static int by_size_desc(const void *a, const void *b) {
    const sized *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return x->id - y->id;
}

static uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) & ~(a - 1);
}

repmlp_status rm_memplan(rm_graph *g, uint64_t alignment, uint64_t *arena_bytes) {
    sized *order = rm_calloc((size_t)g->value_count, sizeof *order);
    int *placed = rm_calloc((size_t)g->value_count, sizeof *placed);
    if (!order || !placed) {
        rm_free(order);
        rm_free(placed);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    int n = 0;
    for (int i = 0; i < g->value_count; i++)
        if (g->values[i].kind == RM_VALUE_TEMP && g->values[i].first_use >= 0)
            order[n++] = (sized){g->values[i].count, i};
    qsort(order, (size_t)n, sizeof *order, by_size_desc);

    uint64_t total = 0;
    int placed_count = 0;
    for (int k = 0; k < n; k++) {
        rm_value *v = &g->values[order[k].id];
        uint64_t bytes = align_up(v->count * sizeof(float), alignment);
        uint64_t offset = 0;
        /* Move past every live-overlapping placed value that intersects [offset, +bytes);
         * repeat until a pass makes no move (placed values are few). */
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < placed_count; j++) {
                const rm_value *u = &g->values[placed[j]];
                if (u->last_use < v->first_use || v->last_use < u->first_use) continue;
                uint64_t ub = align_up(u->count * sizeof(float), alignment);
                if (offset < u->offset + ub && u->offset < offset + bytes) {
                    offset = u->offset + ub;
                    moved = true;
                }
            }
        }
        v->offset = offset;
        placed[placed_count++] = order[k].id;
        if (offset + bytes > total) total = offset + bytes;
    }
    rm_free(order);
    rm_free(placed);
    *arena_bytes = total;
    return REPMLP_OK;
}
