/* Private test hook: injected failures. Not thread-safe by design; fault walks run on one
 * thread. A countdown of 0 disables injection; N > 0 makes the Nth later call of that kind
 * fail (host allocation returns NULL, a Vulkan creation returns an out-of-memory error). */
#ifndef RM_FAULT_H
#define RM_FAULT_H

#include <stdbool.h>

typedef enum rm_fault_kind {
    RM_FAULT_HOST_ALLOC = 0,
    RM_FAULT_VULKAN_ALLOC, /* device memory, buffers, pipelines, descriptor pools */
    RM_FAULT_KIND_COUNT
} rm_fault_kind;

void rm_fault_arm(rm_fault_kind kind, long countdown);
/* True when this call must fail. Counts calls while armed. */
bool rm_fault_hit(rm_fault_kind kind);
/* How many calls of this kind were counted since the last arm (to size a walk). */
long rm_fault_calls(rm_fault_kind kind);

#endif
