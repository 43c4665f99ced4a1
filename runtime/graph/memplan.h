/* Private: places the graph's temporary values in one arena so that values whose lifetimes
 * do not overlap share memory. */
#ifndef RM_MEMPLAN_H
#define RM_MEMPLAN_H

#include "graph/graph.h"

/* Sets offset of every RM_VALUE_TEMP value (each aligned to `alignment`, a power of two) and
 * returns the arena size in *arena_bytes (0 when there are no temporaries). */
repmlp_status rm_memplan(rm_graph *g, uint64_t alignment, uint64_t *arena_bytes);

#endif
