/* Shared by the fuzz targets: the readers map files, so each input is written to a
 * per-process scratch file first. */
#ifndef RM_FUZZ_UTIL_H
#define RM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes data to the scratch file and returns its path (static storage). */
const char *fuzz_write_input(const uint8_t *data, size_t size);

#endif
