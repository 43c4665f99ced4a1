/* The public save/load of a context's device caches (repmlp_cache_kind): one path for the
 * pipeline cache (io/pipeline_cache.c) and the tuning data (exec/tune.c), each of which turns
 * its state into a device file's bytes and back; the file and memory forms differ only in
 * where those bytes go. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "exec/tune.h"
#include "io/device_file.h"
#include "io/file_map.h"
#include "io/pipeline_cache.h"

typedef struct cache_ops {
    const char *name; /* in messages: "pipeline cache", "tuning data" */
    repmlp_status (*serialize)(repmlp_context *ctx, unsigned char **out, size_t *size);
    repmlp_status (*load)(repmlp_context *ctx, const unsigned char *data, size_t size,
                          const char *what);
} cache_ops;

static const cache_ops caches[] = {
    [REPMLP_CACHE_PIPELINES] = {"pipeline cache", rm_pipeline_cache_serialize,
                                rm_pipeline_cache_load},
    [REPMLP_CACHE_TUNING] = {"tuning data", rm_tune_serialize, rm_tune_load},
};

/* The kind's operations, or NULL after failing with a message naming `call`. */
static const cache_ops *ops_for(const repmlp_context *ctx, repmlp_cache_kind kind,
                                const char *call) {
    if (!ctx) {
        rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: NULL context", call);
        return NULL;
    }
    if ((unsigned)kind >= sizeof caches / sizeof caches[0]) {
        rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: %d is not a repmlp_cache_kind", call,
                (int)kind);
        return NULL;
    }
    return &caches[kind];
}

repmlp_status repmlp_context_save_cache(repmlp_context *ctx, repmlp_cache_kind kind,
                                        const char *path) {
    const cache_ops *c = ops_for(ctx, kind, "repmlp_context_save_cache");
    if (!c) return REPMLP_ERROR_INVALID_ARGUMENT;
    if (!path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_save_cache: NULL path");
    unsigned char *bytes;
    size_t n;
    repmlp_status st = c->serialize(ctx, &bytes, &n);
    if (st != REPMLP_OK) return st;
    rm_device_file_header h;
    memcpy(&h, bytes, sizeof h);
    st = rm_device_file_write(path, &h, bytes + sizeof h, n - sizeof h);
    rm_free(bytes);
    return st;
}

repmlp_status repmlp_context_load_cache(repmlp_context *ctx, repmlp_cache_kind kind,
                                        const char *path) {
    const cache_ops *c = ops_for(ctx, kind, "repmlp_context_load_cache");
    if (!c) return REPMLP_ERROR_INVALID_ARGUMENT;
    if (!path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_load_cache: NULL path");
    if (!rm_device_file_exists(path)) {
        rm_log(ctx, REPMLP_LOG_INFO, "%s %s: none yet", c->name, path);
        return REPMLP_OK;
    }
    rm_file_map map;
    repmlp_status st = rm_file_map_open(path, &map);
    if (st != REPMLP_OK) return st;
    st = c->load(ctx, map.data, map.size, path);
    rm_file_map_close(&map);
    return st;
}

repmlp_status repmlp_context_save_cache_memory(repmlp_context *ctx, repmlp_cache_kind kind,
                                               void *data, size_t *size) {
    const cache_ops *c = ops_for(ctx, kind, "repmlp_context_save_cache_memory");
    if (!c) return REPMLP_ERROR_INVALID_ARGUMENT;
    if (!size)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_context_save_cache_memory: NULL size");
    unsigned char *bytes;
    size_t n;
    repmlp_status st = c->serialize(ctx, &bytes, &n);
    if (st != REPMLP_OK) return st;
    size_t capacity = *size;
    *size = n;
    if (data && capacity < n)
        st = rm_fail(REPMLP_ERROR_TOO_LARGE,
                     "repmlp_context_save_cache_memory: %s needs %zu bytes, room for %zu", c->name,
                     n, capacity);
    else if (data)
        memcpy(data, bytes, n);
    rm_free(bytes);
    return st;
}

repmlp_status repmlp_context_load_cache_memory(repmlp_context *ctx, repmlp_cache_kind kind,
                                               const void *data, size_t size) {
    const cache_ops *c = ops_for(ctx, kind, "repmlp_context_load_cache_memory");
    if (!c) return REPMLP_ERROR_INVALID_ARGUMENT;
    if (!data && size)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_context_load_cache_memory: NULL data");
    static const unsigned char empty[1];
    return c->load(ctx, data ? data : empty, size, "(memory)");
}
