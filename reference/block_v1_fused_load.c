#include "block_v1_fused_load.h"

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/fuse_block_v1.h"
#include "model/fused_format.h"

#include <stdio.h>
#include <string.h>

void ref_block_v1_fused_free(ref_block_v1_fused *d) {
    rm_free(d->fc1_weight);
    rm_free(d->fc1_bias);
    rm_free(d->fc2_weight);
    rm_free(d->fc2_bias);
    rm_free(d->fc3_weight);
    rm_free(d->fc3_bias);
    memset(d, 0, sizeof *d);
}

static repmlp_status read_deploy(rm_safetensors *st, const char *prefix, const char *rel, int ndim,
                                 const int64_t *shape, float **out) {
    size_t cap;
    if (!rm_add_size(strlen(prefix), strlen(rel) + 1, &cap)) cap = 0;
    char *name = cap ? rm_malloc(cap) : NULL;
    if (!name) {
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory",
                       rm_safetensors_path(st));
    }
    snprintf(name, cap, "%s%s", prefix, rel);
    repmlp_status s = rm_safetensors_read_f32(st, name, ndim, shape, out);
    rm_free(name);
    return s;
}

static repmlp_status read_tensors(rm_safetensors *st, const char *prefix,
                                  const rm_block_v1_config *c, ref_block_v1_fused *out) {
    memset(out, 0, sizeof *out);
    const int64_t cpp = c->in_channels * c->hp * c->wp;
    const int64_t rows = c->out_channels * c->h * c->w;
    const int64_t w1[2] = {c->I, cpp}, w2[2] = {cpp, c->I};
    const int64_t w3[4] = {rows, c->in_channels / c->fc3_groups * c->h * c->w, 1, 1};
    repmlp_status s = REPMLP_OK;
    if (c->has_gp) {
        s = read_deploy(st, prefix, "fc1_fc2.fc1.weight", 2, w1, &out->fc1_weight);
        if (s == REPMLP_OK)
            s = read_deploy(st, prefix, "fc1_fc2.fc1.bias", 1, &c->I, &out->fc1_bias);
        if (s == REPMLP_OK)
            s = read_deploy(st, prefix, "fc1_fc2.fc2.weight", 2, w2, &out->fc2_weight);
        if (s == REPMLP_OK)
            s = read_deploy(st, prefix, "fc1_fc2.fc2.bias", 1, &cpp, &out->fc2_bias);
    }
    if (s == REPMLP_OK) s = read_deploy(st, prefix, "fc3.weight", 4, w3, &out->fc3_weight);
    if (s == REPMLP_OK) s = read_deploy(st, prefix, "fc3.bias", 1, &rows, &out->fc3_bias);
    if (s != REPMLP_OK) ref_block_v1_fused_free(out);
    return s;
}

repmlp_status ref_block_v1_fused_load(const char *path, rm_block_v1_config *cfg,
                                      ref_block_v1_fused *out) {
    memset(out, 0, sizeof *out);
    rm_safetensors *st = NULL;
    cJSON *json = NULL;
    char *where = NULL;
    const char *arch, *config_text;
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s == REPMLP_OK) s = rm_fused_read_metadata(st, &arch, &config_text);
    if (s == REPMLP_OK && strcmp(arch, RM_ARCH_BLOCK_V1) != 0) {
        s = rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ key 'arch': expected '%s', got '%s'",
                    path, RM_ARCH_BLOCK_V1, arch);
    }
    if (s == REPMLP_OK) {
        size_t cap;
        if (!rm_add_size(strlen(path), 32, &cap) || !(where = rm_malloc(cap))) {
            s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
        } else {
            snprintf(where, cap, "%s: __metadata__ config", path);
        }
    }
    if (s == REPMLP_OK) s = rm_json_parse(config_text, strlen(config_text), where, &json);
    if (s == REPMLP_OK) s = rm_block_v1_config_from_json(json, where, cfg);
    if (s == REPMLP_OK) s = read_tensors(st, "", cfg, out);
    if (s == REPMLP_OK) s = rm_fuse_check_all_used(st, RM_ARCH_BLOCK_V1);
    if (s != REPMLP_OK) ref_block_v1_fused_free(out);
    cJSON_Delete(json);
    rm_free(where);
    rm_safetensors_close(st);
    return s;
}
