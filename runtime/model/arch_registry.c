/* The model layer's architecture registry: RM_ARCH_LIST's rows, and the presets they carry. */
#include "model/arch_registry.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"

#define RM_MODEL_ARCH_ROW_(id, name) &rm_model_arch_##id,
static const rm_model_arch *const rows[] = {RM_ARCH_LIST(RM_MODEL_ARCH_ROW_)};
#undef RM_MODEL_ARCH_ROW_
#define ROW_COUNT (sizeof rows / sizeof rows[0])

size_t rm_model_arch_count(void) {
    return ROW_COUNT;
}

const rm_model_arch *rm_model_arch_at(size_t i) {
    return i < ROW_COUNT ? rows[i] : NULL;
}

const rm_model_arch *rm_model_arch_find(const char *name) {
    for (size_t i = 0; name && i < ROW_COUNT; i++)
        if (strcmp(rows[i]->name, name) == 0) return rows[i];
    return NULL;
}

repmlp_status rm_model_arch_parse(const rm_model_arch *arch, const cJSON *json, const char *where,
                                  void **config) {
    *config = NULL;
    void *cfg = rm_calloc(1, arch->config_size);
    if (!cfg) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    repmlp_status s = arch->from_json(json, where, cfg);
    if (s != REPMLP_OK) {
        rm_free(cfg);
        return s;
    }
    *config = cfg;
    return REPMLP_OK;
}

void rm_model_arch_shapes(const rm_model_arch *arch, const void *config, repmlp_shape *input,
                          repmlp_shape *output) {
    int64_t in[3], out[3];
    int out_ndim;
    arch->io_shape(config, in, &out_ndim, out);
    *input = (repmlp_shape){4, {1, in[0], in[1], in[2]}};
    if (out_ndim == 3)
        *output = (repmlp_shape){4, {1, out[0], out[1], out[2]}};
    else
        *output = (repmlp_shape){2, {1, out[0]}};
}

size_t rm_preset_count(void) {
    size_t n = 0;
    for (size_t r = 0; r < ROW_COUNT; r++)
        for (const rm_preset *p = rows[r]->presets; p && p->name; p++) n++;
    return n;
}

const rm_preset *rm_preset_at(size_t i) {
    for (size_t r = 0; r < ROW_COUNT; r++)
        for (const rm_preset *p = rows[r]->presets; p && p->name; p++)
            if (i-- == 0) return p;
    return NULL;
}

const rm_preset *rm_preset_find(const char *name) {
    for (size_t i = 0; i < rm_preset_count(); i++)
        if (strcmp(rm_preset_at(i)->name, name) == 0) return rm_preset_at(i);
    return NULL;
}

repmlp_status rm_preset_config(const rm_preset *p, const cJSON *overrides, const char *where,
                               cJSON **out) {
    *out = NULL;
    cJSON *base = NULL;
    repmlp_status s = rm_json_parse(p->config_json, strlen(p->config_json), p->name, &base);
    if (s != REPMLP_OK) return s;
    if (overrides) {
        const char *dup = NULL;
        if (!cJSON_IsObject(overrides)) {
            s = rm_fail(REPMLP_ERROR_CONFIG, "%s: config is not a JSON object", where);
        }
        if (s == REPMLP_OK) s = rm_json_find_duplicate_key(overrides, where, &dup);
        if (s == REPMLP_OK && dup) {
            s = rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' appears twice", where, dup);
        }
        for (const cJSON *it = overrides->child; s == REPMLP_OK && it; it = it->next) {
            cJSON *copy = cJSON_Duplicate(it, 1);
            bool ok = copy != NULL;
            if (ok && cJSON_GetObjectItemCaseSensitive(base, it->string)) {
                ok = cJSON_ReplaceItemInObjectCaseSensitive(base, it->string, copy);
            } else if (ok) {
                ok = cJSON_AddItemToObject(base, it->string, copy);
            }
            if (!ok) {
                cJSON_Delete(copy); /* not attached; NULL is fine */
                s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", where);
            }
        }
    }
    if (s != REPMLP_OK) {
        cJSON_Delete(base);
        return s;
    }
    *out = base;
    return REPMLP_OK;
}