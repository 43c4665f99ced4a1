/* Private: the context's pipeline cache as a device file (io/device_file.h): our header, then
 * the driver's blob, so a stale or damaged cache is detected here and ignored instead of being
 * handed to the driver. The public save/load is exec/device_cache.c. */
#ifndef RM_PIPELINE_CACHE_H
#define RM_PIPELINE_CACHE_H

#include <stddef.h>

#include "core/context.h"

/* The cache as a device file's bytes (header and the driver's data), rm_malloc'd. */
repmlp_status rm_pipeline_cache_serialize(repmlp_context *ctx, unsigned char **out, size_t *size);

/* Merges such bytes into the context's cache; unusable bytes (another device or driver,
 * damaged, refused by the driver) are ignored with a log message naming `what`, and
 * REPMLP_OK. */
repmlp_status rm_pipeline_cache_load(repmlp_context *ctx, const unsigned char *data, size_t size,
                                     const char *what);

#endif
