/* Private: host allocation for the whole library. Every allocation goes through here so
 * that tests can make the Nth one fail (see fault.h) and check the error paths. */
#ifndef RM_ALLOC_H
#define RM_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *rm_malloc(size_t size);
void *rm_calloc(size_t count, size_t size);
void *rm_realloc(void *ptr, size_t size);
void rm_free(void *ptr);
char *rm_strdup(const char *s);

/* Overflow-checked size arithmetic: return false (and leave *out untouched) on overflow. */
static inline bool rm_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool rm_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}
/* Product of n dimensions; false on overflow or if any dimension is negative. */
bool rm_product(const int64_t *dims, int n, size_t *out);

#endif
