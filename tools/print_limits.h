/* The limits a context plans against (repmlp_context_limits), printed by repmlp-run
 * --list-devices and repmlp-bench. */
#ifndef RM_PRINT_LIMITS_H
#define RM_PRINT_LIMITS_H

#include <stdio.h>

#include "repmlp.h"

/* Prints the limits in effect on ctx, saying whether they are the device's own or a device
 * profile's (REPMLP_DEVICE_PROFILE); each line starts with indent. */
void rm_print_limits(FILE *f, const repmlp_context *ctx, const char *indent);

#endif
