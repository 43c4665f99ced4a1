/* Private: reading the caller-filled public structs that start with `uint32_t size`
 * (repmlp_context_desc and the like), so that an application built against an older, smaller
 * layout keeps working when fields are appended. */
#ifndef RM_SIZED_STRUCT_H
#define RM_SIZED_STRUCT_H

#include <stddef.h>

#include "repmlp/status.h"

/* The bytes of struct `type` up to and including `field`: a published layout's size, which
 * stays the same when fields are appended later (sizeof would not). */
#define RM_SIZE_THROUGH(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* Copies the caller's struct at src, whose leading uint32_t says how many bytes it has, into
 * dst (dst_size bytes, this library's layout): fields past the caller's size are zero (their
 * defaults), bytes past this library's layout (a newer header's fields) are not read. A size
 * below first_size, the first published layout's, is REPMLP_ERROR_INVALID_ARGUMENT naming
 * `what` ("repmlp_context_desc"). */
repmlp_status rm_sized_struct_read(void *dst, size_t dst_size, const void *src, size_t first_size,
                                   const char *what);

#endif
