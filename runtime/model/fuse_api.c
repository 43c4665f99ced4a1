/* The public fuser (repmlp/fuse.h): one table of the architectures it takes, presets merged
 * under --config's keys, the fused file's extra metadata for this call only. */
#include "repmlp/fuse.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "model/config.h"
#include "model/config_nets.h"
#include "model/fuse_block_v1.h"
#include "model/fuse_block_v2.h"
#include "model/fuse_repmlpnet.h"
#include "model/fuse_resnet.h"
#include "model/fused_format.h"

/* How one architecture is fused: `config` is the parsed config object or NULL, `where` names
 * its source, `preset` is NULL or a preset of this arch. */
typedef repmlp_status (*fuse_fn)(const cJSON *config, const char *where, const char *preset,
                                 const char *train, const char *out);

static repmlp_status fuse_block_v1(const cJSON *config, const char *where, const char *preset,
                                   const char *train, const char *out) {
    (void)preset; /* the v1 block has no presets */
    if (!config)
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: --arch RepMLP needs --config (it has no presets)",
                       train);
    rm_block_v1_config cfg;
    repmlp_status s = rm_block_v1_config_from_json(config, where, &cfg);
    return s == REPMLP_OK ? rm_fuse_block_v1_file(&cfg, train, out) : s;
}

static repmlp_status fuse_block_v2(const cJSON *config, const char *where, const char *preset,
                                   const char *train, const char *out) {
    (void)preset; /* no presets for the block */
    if (!config)
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: --arch RepMLPBlock needs --config (it has no presets)", train);
    rm_block_v2_config cfg;
    repmlp_status s = rm_block_v2_config_from_json(config, where, &cfg);
    return s == REPMLP_OK ? rm_fuse_block_v2_file(&cfg, train, out) : s;
}

/* A network's config: `config` alone, or the preset's with config's keys replacing or adding
 * to it. *merged (free with cJSON_Delete) is NULL when config is used as it is; *where is
 * redirected to where_buf when only the preset speaks. */
static repmlp_status network_config(const char *arch, const cJSON *config, const char **where,
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

static repmlp_status fuse_resnet(const cJSON *config, const char *where, const char *preset,
                                 const char *train, const char *out) {
    char buf[1024];
    cJSON *merged = NULL;
    rm_resnet_config cfg;
    repmlp_status s =
        network_config(RM_ARCH_RESNET, config, &where, preset, train, buf, sizeof buf, &merged);
    if (s == REPMLP_OK) s = rm_resnet_config_from_json(merged ? merged : config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_resnet_file(&cfg, train, out);
    cJSON_Delete(merged);
    return s;
}

static repmlp_status fuse_repmlpnet(const cJSON *config, const char *where, const char *preset,
                                    const char *train, const char *out) {
    char buf[1024];
    cJSON *merged = NULL;
    rm_repmlpnet_config cfg;
    repmlp_status s =
        network_config(RM_ARCH_REPMLPNET, config, &where, preset, train, buf, sizeof buf, &merged);
    if (s == REPMLP_OK) s = rm_repmlpnet_config_from_json(merged ? merged : config, where, &cfg);
    if (s == REPMLP_OK) s = rm_fuse_repmlpnet_file(&cfg, train, out);
    cJSON_Delete(merged);
    return s;
}

static const struct arch_entry {
    const char *name;
    const char *what;
    fuse_fn fuse;
} archs[] = {
    {RM_ARCH_BLOCK_V1, "RepMLP block, version 1", fuse_block_v1},
    {RM_ARCH_BLOCK_V2, "RepMLPNet block, version 2", fuse_block_v2},
    {RM_ARCH_RESNET, "RepMLP-ResNet network", fuse_resnet},
    {RM_ARCH_REPMLPNET, "RepMLPNet network", fuse_repmlpnet},
};
#define ARCH_COUNT (sizeof archs / sizeof archs[0])

size_t repmlp_fuse_arch_count(void) {
    return ARCH_COUNT;
}

const char *repmlp_fuse_arch_name(size_t i, const char **description) {
    if (i >= ARCH_COUNT) return NULL;
    if (description) *description = archs[i].what;
    return archs[i].name;
}

size_t repmlp_preset_count(void) {
    return rm_preset_count();
}

const char *repmlp_preset_name(size_t i, const char **arch) {
    const rm_preset *p = i < rm_preset_count() ? rm_preset_at(i) : NULL;
    if (!p) return NULL;
    if (arch) *arch = p->arch;
    return p->name;
}

repmlp_status repmlp_fuse_file(const repmlp_fuse_desc *desc, const char *train_path,
                               const char *fused_path) {
    if (!desc || !train_path || !fused_path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_fuse_file: NULL argument");
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
    const struct arch_entry *arch = NULL;
    for (size_t i = 0; i < ARCH_COUNT && !arch; i++)
        if (strcmp(archs[i].name, arch_name) == 0) arch = &archs[i];
    if (!arch) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "unknown arch '%s'", arch_name);
    repmlp_status s = rm_fused_set_extra_metadata(desc->metadata_keys, desc->metadata_values,
                                                  desc->metadata_count);
    if (s != REPMLP_OK) return rm_fail_prefix(s, "--metadata");
    cJSON *config = NULL;
    char where[1100];
    snprintf(where, sizeof where, "%s", desc->config_where ? desc->config_where : "config");
    if (desc->config_json)
        s = rm_json_parse(desc->config_json, strlen(desc->config_json), where, &config);
    if (s == REPMLP_OK) s = arch->fuse(config, where, desc->preset, train_path, fused_path);
    cJSON_Delete(config);
    rm_fused_set_extra_metadata(NULL, NULL, 0);
    return s;
}
