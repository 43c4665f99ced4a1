/* The public fuser (repmlp/fuse.h), driven by the registry (arch_registry.h): presets merged
 * under --config's keys, the fused file's extra metadata for this call only. */
#include "repmlp/fuse.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/sized_struct.h"
#include "io/json.h"
#include "model/arch_registry.h"
#include "model/fuse_io.h"
#include "model/fused_format.h"

/* A network's config: `config` alone, or the preset's with config's keys replacing or adding
 * to it. *merged (free with cJSON_Delete) is NULL when config is used as it is; *where is
 * redirected to where_buf when only the preset speaks. */
static repmlp_status merge_preset(const char *arch, const cJSON *config, const char **where,
                                  const char *preset_name, const char *train, char *where_buf,
                                  size_t where_size, cJSON **merged) {
    *merged = NULL;
    if (!preset_name) {
        if (config) return REPMLP_OK;
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --arch %s needs --config or --preset", train,
                       arch);
    }
    if (!config) {
        snprintf(where_buf, where_size, "%s: --preset %s", train, preset_name);
        *where = where_buf;
    }
    return rm_preset_config(rm_preset_find(preset_name), config, *where, merged);
}

/* The validated config (rm_malloc'd) of `arch` from `config` (NULL or an object, from
 * `where`) and the preset `preset` (NULL or one of the arch's). */
static repmlp_status arch_config(const rm_model_arch *arch, const cJSON *config, const char *where,
                                 const char *preset, const char *train, void **cfg) {
    if (!arch->presets && !config)
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --arch %s needs --config (it has no presets)",
                       train, arch->name);
    char buf[1024];
    cJSON *merged = NULL;
    repmlp_status s =
        merge_preset(arch->name, config, &where, preset, train, buf, sizeof buf, &merged);
    if (s == REPMLP_OK) s = rm_model_arch_parse(arch, merged ? merged : config, where, cfg);
    cJSON_Delete(merged);
    return s;
}

size_t repmlp_fuse_arch_count(void) {
    return rm_model_arch_count();
}

const char *repmlp_fuse_arch_name(size_t i, const char **description) {
    const rm_model_arch *arch = rm_model_arch_at(i);
    if (!arch) return NULL;
    if (description) *description = arch->description;
    return arch->name;
}

size_t repmlp_fuse_preset_count(void) {
    return rm_preset_count();
}

const char *repmlp_fuse_preset_name(size_t i, const char **arch) {
    const rm_preset *p = i < rm_preset_count() ? rm_preset_at(i) : NULL;
    if (!p) return NULL;
    if (arch) *arch = p->arch;
    return p->name;
}

/* Where a fuse reads and writes: files (train_path, fused_path) or memory (train_path names
 * the bytes in messages). */
typedef struct fuse_target {
    const char *train_path, *fused_path;
    const void *train_data;
    size_t train_size;
    void **fused_data;
    size_t *fused_size;
} fuse_target;

static repmlp_status fuse(const repmlp_fuse_desc *caller_desc, const fuse_target *io) {
    repmlp_fuse_desc desc_copy, *desc = &desc_copy;
    repmlp_status s =
        rm_sized_struct_read(desc, sizeof *desc, caller_desc,
                             RM_SIZE_THROUGH(repmlp_fuse_desc, metadata_count), "repmlp_fuse_desc");
    if (s != REPMLP_OK) return s;
    const char *train_path = io->train_path;
    const char *arch_name = desc->arch;
    if (desc->preset) {
        const rm_preset *preset = rm_preset_find(desc->preset);
        if (!preset)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "unknown preset '%s'", desc->preset);
        if (arch_name && strcmp(arch_name, preset->arch) != 0)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "preset '%s' is for --arch %s, not %s",
                           desc->preset, preset->arch, arch_name);
        arch_name = preset->arch;
    }
    if (!arch_name)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "an arch (or a preset) is required");
    const rm_model_arch *arch = rm_model_arch_find(arch_name);
    if (!arch) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "unknown arch '%s'", arch_name);
    if (desc->weights != REPMLP_FUSE_WEIGHTS_F32 && desc->weights != REPMLP_FUSE_WEIGHTS_Q8)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "unknown weights type %d",
                       (int)desc->weights);
    s = rm_fused_set_extra_metadata(desc->metadata_keys, desc->metadata_values,
                                    desc->metadata_count);
    if (s != REPMLP_OK) return rm_fail_prefix(s, "--metadata");
    rm_fuse_set_q8(desc->weights == REPMLP_FUSE_WEIGHTS_Q8);
    cJSON *config = NULL;
    char where[1100];
    snprintf(where, sizeof where, "%s", desc->config_where ? desc->config_where : "config");
    if (desc->config_json)
        s = rm_json_parse(desc->config_json, strlen(desc->config_json), where, &config);
    void *cfg = NULL;
    if (s == REPMLP_OK) s = arch_config(arch, config, where, desc->preset, train_path, &cfg);
    if (s == REPMLP_OK && io->fused_path)
        s = rm_fuse_to_file(arch->name, arch->to_json(cfg), arch->fuse, cfg, train_path,
                            io->fused_path);
    else if (s == REPMLP_OK)
        s = rm_fuse_to_memory(arch->name, arch->to_json(cfg), arch->fuse, cfg, io->train_data,
                              io->train_size, train_path, io->fused_data, io->fused_size);
    rm_free(cfg);
    cJSON_Delete(config);
    rm_fused_set_extra_metadata(NULL, NULL, 0);
    rm_fuse_set_q8(false);
    return s;
}

repmlp_status repmlp_fuse_file(const repmlp_fuse_desc *desc, const char *train_path,
                               const char *fused_path) {
    if (!desc || !train_path || !fused_path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_fuse_file: NULL argument");
    return fuse(desc, &(fuse_target){train_path, fused_path, NULL, 0, NULL, NULL});
}

repmlp_status repmlp_fuse_memory(const repmlp_fuse_desc *desc, const void *train_data,
                                 size_t train_size, void **fused_data, size_t *fused_size) {
    if (fused_data) *fused_data = NULL;
    if (fused_size) *fused_size = 0;
    if (!desc || (!train_data && train_size) || !fused_data || !fused_size)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_fuse_memory: NULL argument");
    /* An empty buffer is still read from memory (and refused as too short). */
    static const unsigned char empty[1];
    return fuse(desc, &(fuse_target){"<memory>", NULL, train_data ? train_data : empty, train_size,
                                     fused_data, fused_size});
}

repmlp_status repmlp_fuse_to_model(repmlp_context *ctx, const repmlp_fuse_desc *desc,
                                   const void *train_data, size_t train_size,
                                   repmlp_model **model) {
    if (model) *model = NULL;
    if (!ctx || !model)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_fuse_to_model: NULL argument");
    void *fused = NULL;
    size_t size = 0;
    repmlp_status s = repmlp_fuse_memory(desc, train_data, train_size, &fused, &size);
    if (s == REPMLP_OK) s = repmlp_model_load_memory(ctx, fused, size, model);
    rm_free(fused);
    return s;
}
