/* Private: files of device-specific data (the pipeline cache, tuning data). Each is a header
 * pinning the device (vendor, device, driver version, pipelineCacheUUID) and the library
 * version, with the payload's size and checksum, then the payload: a stale or damaged file is
 * detected here and ignored by its reader instead of being trusted. */
#ifndef RM_DEVICE_FILE_H
#define RM_DEVICE_FILE_H

#include <stdbool.h>

#include "core/context.h"

typedef struct rm_device_file_header {
    char magic[8];
    uint32_t vendor_id, device_id, driver_version, library_version;
    uint8_t uuid[VK_UUID_SIZE];
    uint64_t size;     /* bytes of payload that follow */
    uint64_t checksum; /* FNV-1a of those bytes */
} rm_device_file_header;

/* 64-bit FNV-1a. */
uint64_t rm_fnv1a(const void *data, size_t n);

/* The header of `size` payload bytes for this context's device. */
void rm_device_file_header_make(const repmlp_context *ctx, const char magic[8], const void *payload,
                                uint64_t size, rm_device_file_header *h);

/* Why header + payload bytes cannot be used here, or NULL when they can. not_ours: the reason
 * given for another magic (e.g. "not a repmlp-vk cache"). */
const char *rm_device_file_check(const repmlp_context *ctx, const char magic[8],
                                 const char *not_ours, const unsigned char *data, size_t size);

/* Writes the header and the payload to path atomically (rm_file_out). */
repmlp_status rm_device_file_write(const char *path, const rm_device_file_header *h,
                                   const void *payload, size_t size);

/* Whether path can be opened for reading: a missing file is not an error (nothing saved yet). */
bool rm_device_file_exists(const char *path);

#endif
