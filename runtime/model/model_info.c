/* repmlp_model_info_read: what a fused file says about its model, from its metadata and
 * config alone (no device, no tensors), through the architecture registry. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "model/arch_registry.h"
#include "model/fused_format.h"

static repmlp_status read_info(rm_safetensors *st, repmlp_model_info *out) {
    const char *path = rm_safetensors_path(st), *arch_name, *config_text;
    repmlp_status s = rm_fused_read_metadata(st, &arch_name, &config_text);
    if (s != REPMLP_OK) return s;
    const rm_model_arch *arch = rm_model_arch_find(arch_name);
    if (!arch)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: __metadata__ key 'arch': '%s' cannot be run by this version", path,
                       arch_name);
    char where[1100];
    snprintf(where, sizeof where, "%s: __metadata__ key 'config'", path);
    cJSON *json = NULL;
    void *config = NULL;
    s = rm_json_parse(config_text, strlen(config_text), where, &json);
    if (s == REPMLP_OK) s = rm_model_arch_parse(arch, json, where, &config);
    cJSON_Delete(json);
    if (s != REPMLP_OK) return s;
    repmlp_model_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.arch, sizeof info.arch, "%s", arch->name);
    rm_model_arch_shapes(arch, config, &info.input, &info.output);
    rm_free(config);
    if (info.output.ndim == 2) info.classes = (uint32_t)info.output.dims[1];
    const char *pre = rm_safetensors_metadata(st, "preprocess");
    if (pre) {
        snprintf(where, sizeof where, "%s: __metadata__ key 'preprocess'", path);
        s = rm_preprocess_parse(pre, &info.input, where, &info.preprocessing);
        if (s != REPMLP_OK) return s;
        info.has_preprocessing = 1;
    }
    *out = info;
    return REPMLP_OK;
}

repmlp_status repmlp_model_info_read(const char *path, repmlp_model_info *out) {
    if (!path || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_info_read: NULL argument");
    rm_safetensors *st = NULL;
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s == REPMLP_OK) s = read_info(st, out);
    rm_safetensors_close(st);
    return s;
}

repmlp_status repmlp_model_info_read_memory(const void *data, size_t size, repmlp_model_info *out) {
    if ((!data && size) || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_model_info_read_memory: NULL argument");
    rm_safetensors *st = NULL;
    repmlp_status s = rm_safetensors_open_memory(data, size, "<memory>", &st);
    if (s == REPMLP_OK) s = read_info(st, out);
    rm_safetensors_close(st);
    return s;
}
