/* Reading size-prefixed public structs (core/sized_struct.h). */
#include "core/sized_struct.h"

#include <stdint.h>
#include <string.h>

#include "core/error.h"

repmlp_status rm_sized_struct_read(void *dst, size_t dst_size, const void *src, size_t first_size,
                                   const char *what) {
    uint32_t size;
    memcpy(&size, src, sizeof size); /* the caller's struct may be smaller than ours */
    if (size < first_size)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "%s.size is %u, below its first layout's %zu bytes (start from the "
                       "header's %s initializer)",
                       what, size, first_size, what);
    memset(dst, 0, dst_size);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    return REPMLP_OK;
}
