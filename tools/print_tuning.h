/* A session's kernel tuning report (repmlp_session_tuning_info), printed by repmlp-bench --tune.
 * Public API only. */
#ifndef RM_PRINT_TUNING_H
#define RM_PRINT_TUNING_H

#include <stdio.h>

#include "repmlp.h"

/* Prints each GEMM/conv op's candidates, their times and the winner; returns the number of
 * ops, or -1 (with a message on f) when the report cannot be read. */
int rm_print_tuning(FILE *f, const repmlp_session *s);

#endif
