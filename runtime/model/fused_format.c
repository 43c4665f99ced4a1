#include "model/fused_format.h"

#include "core/error.h"

#include <string.h>

/* The extra entries of the fused file being written, for the fusing thread only
 * (repmlp_fuse_file sets and clears them around one call). */
static _Thread_local struct {
    const char *const *keys;
    const char *const *values;
    size_t count;
} extra;

repmlp_status rm_fused_set_extra_metadata(const char *const *keys, const char *const *values,
                                          size_t count) {
    static const char *const reserved[] = {RM_FUSED_KEY_FORMAT, RM_FUSED_KEY_VERSION,
                                           RM_FUSED_KEY_ARCH, RM_FUSED_KEY_CONFIG};
    for (size_t i = 0; i < count; i++) {
        if (!keys[i] || !keys[i][0] || !values[i])
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "__metadata__: empty key or no value");
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++) {
            if (strcmp(keys[i], reserved[r]) == 0) {
                return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                               "__metadata__ key '%s' is the fused format's own", keys[i]);
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keys[i], keys[j]) == 0) {
                return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                               "__metadata__ key '%s' is given twice", keys[i]);
            }
        }
    }
    extra.keys = count ? keys : NULL;
    extra.values = count ? values : NULL;
    extra.count = count;
    return REPMLP_OK;
}

repmlp_status rm_fused_set_metadata(rm_st_writer *w, const char *arch, const char *config_json) {
    repmlp_status s = REPMLP_OK;
    for (size_t i = 0; i < extra.count && s == REPMLP_OK; i++)
        s = rm_st_writer_set_metadata(w, extra.keys[i], extra.values[i]);
    if (s == REPMLP_OK) s = rm_st_writer_set_metadata(w, RM_FUSED_KEY_FORMAT, RM_FUSED_FORMAT);
    if (s == REPMLP_OK)
        s = rm_st_writer_set_metadata(w, RM_FUSED_KEY_VERSION, RM_FUSED_FORMAT_VERSION);
    if (s == REPMLP_OK) s = rm_st_writer_set_metadata(w, RM_FUSED_KEY_ARCH, arch);
    if (s == REPMLP_OK) s = rm_st_writer_set_metadata(w, RM_FUSED_KEY_CONFIG, config_json);
    return s;
}

static repmlp_status require(const rm_safetensors *st, const char *key, const char **value) {
    *value = rm_safetensors_metadata(st, key);
    if (!*value) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: __metadata__ key '%s' is missing: not a fused model (run repmlp-fuse)",
                       rm_safetensors_path(st), key);
    }
    return REPMLP_OK;
}

repmlp_status rm_fused_read_metadata(const rm_safetensors *st, const char **arch,
                                     const char **config_json) {
    const char *format, *version;
    repmlp_status s = require(st, RM_FUSED_KEY_FORMAT, &format);
    if (s != REPMLP_OK) return s;
    if (strcmp(format, RM_FUSED_FORMAT) != 0) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: __metadata__ key 'format': expected '%s', got '%s'",
                       rm_safetensors_path(st), RM_FUSED_FORMAT, format);
    }
    s = require(st, RM_FUSED_KEY_VERSION, &version);
    if (s != REPMLP_OK) return s;
    if (strcmp(version, RM_FUSED_FORMAT_VERSION) != 0) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: __metadata__ key 'format_version': version '%s' is not supported "
                       "(this build reads '%s')",
                       rm_safetensors_path(st), version, RM_FUSED_FORMAT_VERSION);
    }
    s = require(st, RM_FUSED_KEY_ARCH, arch);
    if (s == REPMLP_OK) s = require(st, RM_FUSED_KEY_CONFIG, config_json);
    return s;
}
