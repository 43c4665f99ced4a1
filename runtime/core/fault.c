/* Fault injection counters (see fault.h); empty unless REPMLP_FAULT_INJECTION is defined. */
#include "core/fault.h"

#ifdef REPMLP_FAULT_INJECTION
#include <stdatomic.h>

static atomic_long fault_countdown[RM_FAULT_KIND_COUNT];
static atomic_long fault_calls[RM_FAULT_KIND_COUNT];

void rm_fault_arm(rm_fault_kind kind, long countdown) {
    atomic_store(&fault_countdown[kind], countdown);
    atomic_store(&fault_calls[kind], 0);
}

bool rm_fault_hit(rm_fault_kind kind) {
    atomic_fetch_add(&fault_calls[kind], 1);
    long left = atomic_load(&fault_countdown[kind]);
    /* Exactly one caller takes the countdown from 1 to 0 and fails. */
    while (left > 0) {
        if (atomic_compare_exchange_weak(&fault_countdown[kind], &left, left - 1)) return left == 1;
    }
    return false;
}

long rm_fault_calls(rm_fault_kind kind) {
    return atomic_load(&fault_calls[kind]);
}
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int rm_fault_unused;
#endif
