/* Private test hook: injected failures, compiled in only with -DREPMLP_FAULT_INJECTION=ON
 * (test builds; never in the installed libraries). A countdown of 0 disables injection; N > 0
 * makes the Nth later call of that kind fail (a host allocation returns NULL, a Vulkan
 * creation or allocation returns VK_ERROR_OUT_OF_DEVICE_MEMORY). Counters are atomic, so
 * threads may allocate while a walk is armed; a walk itself arms from one thread. */
#ifndef RM_FAULT_H
#define RM_FAULT_H

#include <stdbool.h>

typedef enum rm_fault_kind {
    RM_FAULT_HOST_ALLOC = 0,
    RM_FAULT_VULKAN_ALLOC, /* every vkCreate* / vkAllocate* the library calls (RM_VK_CREATE) */
    RM_FAULT_KIND_COUNT
} rm_fault_kind;

#ifdef REPMLP_FAULT_INJECTION
#define rm_fault_enabled() true
void rm_fault_arm(rm_fault_kind kind, long countdown);
/* True when this call must fail. Counts calls while armed. */
bool rm_fault_hit(rm_fault_kind kind);
/* How many calls of this kind were counted since the last arm (to size a walk). */
long rm_fault_calls(rm_fault_kind kind);
#else
/* Macros, not functions: a library built without injection has no symbol of these names
 * (scripts/check-no-test-code.sh checks the installed ones). */
#define rm_fault_enabled() false
#define rm_fault_arm(kind, countdown) ((void)(kind), (void)(countdown))
#define rm_fault_hit(kind) ((void)(kind), false)
#define rm_fault_calls(kind) ((void)(kind), 0L)
#endif

/* The one wrapper around every vkCreate* / vkAllocate* call of the library (a test checks
 * that no call bypasses it): `call` is not made when the injected fault hits. */
#define RM_VK_CREATE(call)                                                                         \
    (rm_fault_hit(RM_FAULT_VULKAN_ALLOC) ? VK_ERROR_OUT_OF_DEVICE_MEMORY : (call))

#endif
