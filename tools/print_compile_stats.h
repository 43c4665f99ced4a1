/* A session's compiled pipelines (repmlp_session_op_compile_stats), printed by
 * repmlp-bench --compile-stats. Public API only. */
#ifndef RM_PRINT_COMPILE_STATS_H
#define RM_PRINT_COMPILE_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "repmlp.h"

/* Prints one row per op (kernel, workgroup, lanes active, registers, spills, scratch, shared
 * memory, occupancy, the hottest loop's instruction mix), as a table or (json) one JSON object
 * on one line with `device`, `model` and `batch`; statistics the driver does not report are
 * "n/r" (null in JSON). Returns 0, or 1 after a message on stderr. */
int rm_print_compile_stats(FILE *f, const repmlp_session *s, const char *device, const char *model,
                           long batch, bool json);

#endif
