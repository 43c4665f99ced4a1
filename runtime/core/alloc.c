#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"
#include "core/sized_struct.h"
#include "repmlp/context.h"

#include <stdlib.h>
#include <string.h>

/* The application's allocator (repmlp_allocator_set); all NULL: the C library's. */
static repmlp_allocator host;

repmlp_status repmlp_allocator_set(const repmlp_allocator *caller_allocator) {
    repmlp_allocator allocator = {0};
    if (caller_allocator) {
        repmlp_status st =
            rm_sized_struct_read(&allocator, sizeof allocator, caller_allocator,
                                 RM_SIZE_THROUGH(repmlp_allocator, user), "repmlp_allocator");
        if (st != REPMLP_OK) return st;
        if (!allocator.malloc || !allocator.realloc || !allocator.free)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "repmlp_allocator_set: malloc, realloc and free are all required");
    }
    host = allocator;
    return REPMLP_OK;
}

void repmlp_free(void *ptr) {
    rm_free(ptr);
}

void *rm_malloc(size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    if (!size) size = 1;
    return host.malloc ? host.malloc(host.user, size) : malloc(size);
}

void *rm_calloc(size_t count, size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    size_t bytes;
    if (!rm_mul_size(count, size, &bytes)) return NULL;
    if (!bytes) bytes = 1;
    if (!host.malloc) return calloc(1, bytes);
    void *p = host.malloc(host.user, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void *rm_realloc(void *ptr, size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    if (!size) size = 1;
    return host.realloc ? host.realloc(host.user, ptr, size) : realloc(ptr, size);
}

void rm_free(void *ptr) {
    if (!ptr) return;
    if (host.free)
        host.free(host.user, ptr);
    else
        free(ptr);
}

char *rm_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = rm_malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

bool rm_product(const int64_t *dims, int n, size_t *out) {
    size_t total = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX) return false;
        if (!rm_mul_size(total, (size_t)dims[i], &total)) return false;
    }
    *out = total;
    return true;
}
