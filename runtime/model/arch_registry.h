/* Private: the model layer's architecture registry, one rm_model_arch row per entry of
 * RM_ARCH_LIST (model/arch_list.h): everything about an architecture that needs no device, its
 * config (parse, serialize, shapes), its presets and its fuser. The runtime's graph builders
 * (exec/model.h, rm_arch) point at these rows; repmlp_fuse_* (fuse_api.c) and the fused-file
 * metadata reader are driven by them. */
#ifndef RM_ARCH_REGISTRY_H
#define RM_ARCH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/arch_list.h"
#include "model/config_json.h"
#include "model/fuse_io.h"
#include "repmlp/model.h"
#include "repmlp/status.h"

typedef struct rm_model_arch {
    const char *name;        /* RM_ARCH_* */
    const char *description; /* one line, for repmlp-fuse --help */
    size_t config_size;      /* bytes of the architecture's config struct */
    /* Parses and validates a config object into *config (config_size bytes); errors are
     * REPMLP_ERROR_CONFIG "<where>: config key '<key>': <what>". */
    repmlp_status (*from_json)(const cJSON *json, const char *where, void *config);
    /* The full config as compact JSON (what a fused file holds), rm_malloc'd; NULL when out of
     * memory. */
    char *(*to_json)(const void *config);
    /* One input image (C, H, W) and the per-image output: (C, H, W) (*out_ndim 3) or
     * (classes) (*out_ndim 1). */
    void (*io_shape)(const void *config, int64_t in_chw[3], int *out_ndim, int64_t out_shape[3]);
    /* Reads every training tensor from f->train and adds the deploy tensors to f->out; the
     * first argument is a validated config. */
    rm_fuse_body fuse;
    const rm_preset *presets; /* NULL, or rows of this arch ended by one with name NULL */
} rm_model_arch;

/* Defines the untyped from_json, to_json and io_shape of a row (prefix##_from_json_any, ...)
 * from prefix##_config_from_json, prefix##_config_to_json and prefix##_io_shape on `type`. */
#define RM_MODEL_ARCH_CONFIG_FNS(prefix, type)                                                     \
    static repmlp_status prefix##_from_json_any(const cJSON *json, const char *where,              \
                                                void *config) {                                    \
        return prefix##_config_from_json(json, where, (type *)config);                             \
    }                                                                                              \
    static char *prefix##_to_json_any(const void *config) {                                        \
        return prefix##_config_to_json((const type *)config);                                      \
    }                                                                                              \
    static void prefix##_io_shape_any(const void *config, int64_t in_chw[3], int *out_ndim,        \
                                      int64_t out_shape[3]) {                                      \
        prefix##_io_shape((const type *)config, in_chw, out_ndim, out_shape);                      \
    }

#define RM_MODEL_ARCH_DECLARE_(id, name) extern const rm_model_arch rm_model_arch_##id;
RM_ARCH_LIST(RM_MODEL_ARCH_DECLARE_)
#undef RM_MODEL_ARCH_DECLARE_

/* The rows in RM_ARCH_LIST order; rm_model_arch_at returns NULL past the end. */
size_t rm_model_arch_count(void);
const rm_model_arch *rm_model_arch_at(size_t i);
/* NULL when unknown. */
const rm_model_arch *rm_model_arch_find(const char *name);

/* rm_malloc's a config of arch->config_size bytes and fills it with arch->from_json; *config
 * is NULL on failure. */
repmlp_status rm_model_arch_parse(const rm_model_arch *arch, const cJSON *json, const char *where,
                                  void **config);

/* The model's input (1, C, H, W) and output ((1, C, H, W) or (1, classes)) for a config of
 * `arch`: a batch of one, as repmlp_model_input_shape / _output_shape give them. */
void rm_model_arch_shapes(const rm_model_arch *arch, const void *config, repmlp_shape *input,
                          repmlp_shape *output);

/* ---- presets: every row's, in row order ---- */

size_t rm_preset_count(void);
const rm_preset *rm_preset_at(size_t i);
/* NULL when unknown. */
const rm_preset *rm_preset_find(const char *name);

/* The preset's config with every key of `overrides` (an object, may be NULL) replacing or
 * adding to it; the result is not validated (the arch parser does that). Errors:
 * REPMLP_ERROR_CONFIG "<where>: config is ..., not a JSON object" or "<where>: config key 'k'
 * appears twice"; out of memory. Free *out with cJSON_Delete. */
repmlp_status rm_preset_config(const rm_preset *preset, const cJSON *overrides, const char *where,
                               cJSON **out);

#endif
