#include "core/alloc.h"
#include "core/fault.h"

#include <stdlib.h>
#include <string.h>

void *rm_malloc(size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    return malloc(size ? size : 1);
}

void *rm_calloc(size_t count, size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    if (count == 0 || size == 0) count = size = 1;
    return calloc(count, size);
}

void *rm_realloc(void *ptr, size_t size) {
    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) return NULL;
    return realloc(ptr, size ? size : 1);
}

void rm_free(void *ptr) {
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
