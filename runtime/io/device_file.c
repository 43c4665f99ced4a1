#include "io/device_file.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/file_map.h"

uint64_t rm_fnv1a(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

void rm_device_file_header_make(const repmlp_context *ctx, const char magic[8], const void *payload,
                                uint64_t size, rm_device_file_header *h) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, magic, sizeof h->magic);
    h->vendor_id = ctx->properties.vendorID;
    h->device_id = ctx->properties.deviceID;
    h->driver_version = ctx->properties.driverVersion;
    h->library_version = REPMLP_VERSION_NUMBER;
    memcpy(h->uuid, ctx->properties.pipelineCacheUUID, VK_UUID_SIZE);
    h->size = size;
    h->checksum = rm_fnv1a(payload, (size_t)size);
}

const char *rm_device_file_check(const repmlp_context *ctx, const char magic[8],
                                 const char *not_ours, const unsigned char *data, size_t size) {
    rm_device_file_header want, got;
    if (size < sizeof got) return "too short to hold a header";
    memcpy(&got, data, sizeof got);
    rm_device_file_header_make(ctx, magic, NULL, 0, &want);
    if (memcmp(got.magic, want.magic, sizeof got.magic) != 0) return not_ours;
    if (got.library_version != want.library_version) return "written by another library version";
    if (got.vendor_id != want.vendor_id || got.device_id != want.device_id)
        return "written for another device";
    if (got.driver_version != want.driver_version) return "written by another driver version";
    if (memcmp(got.uuid, want.uuid, VK_UUID_SIZE) != 0) return "pipelineCacheUUID differs";
    if (got.size != size - sizeof got) return "truncated or padded";
    if (got.checksum != rm_fnv1a(data + sizeof got, (size_t)got.size)) return "checksum differs";
    return NULL;
}

repmlp_status rm_device_file_write(const char *path, const rm_device_file_header *h,
                                   const void *payload, size_t size) {
    rm_file_out out;
    repmlp_status st = rm_file_out_begin(path, &out);
    if (st != REPMLP_OK) return st;
    if (fwrite(h, sizeof *h, 1, out.fp) != 1 || (size && fwrite(payload, size, 1, out.fp) != 1)) {
        rm_file_out_abort(&out);
        return rm_fail(REPMLP_ERROR_IO, "%s: write failed", path);
    }
    return rm_file_out_commit(&out);
}

bool rm_device_file_exists(const char *path) {
    FILE *probe = fopen(path, "rb");
    if (!probe) return false;
    fclose(probe);
    return true;
}
