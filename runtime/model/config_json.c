#include "model/config_json.h"

#include "core/error.h"
#include "io/json.h"

#include <stdio.h>
#include <string.h>

static const char *json_type_name(const cJSON *item) {
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsArray(item)) return "an array";
    if (cJSON_IsObject(item)) return "an object";
    if (cJSON_IsNumber(item)) return "a number";
    return "an invalid value";
}

repmlp_status rm_cfg_check_keys(const cJSON *obj, const char *where, const char *const *allowed) {
    if (!cJSON_IsObject(obj)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config is %s, not a JSON object", where,
                       json_type_name(obj));
    }
    const char *dup;
    repmlp_status status = rm_json_find_duplicate_key(obj, where, &dup);
    if (status != REPMLP_OK) return status;
    if (dup) return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' appears twice", where, dup);
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++) known = strcmp(*a, it->string) == 0;
        if (known) continue;
        char list[512];
        size_t len = 0;
        list[0] = '\0';
        for (const char *const *a = allowed; *a && len < sizeof list; a++) {
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", a == allowed ? "" : ", ",
                                    *a);
        }
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': unknown key (expected %s)", where,
                       it->string, list);
    }
    return REPMLP_OK;
}

/* Checks one integer value; `what` describes where it sits ("" or " element 2"). */
static repmlp_status check_int(const cJSON *item, const char *where, const char *key,
                               const char *what, int64_t min, int64_t max, int64_t *out) {
    if (!cJSON_IsNumber(item)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s':%s expected an integer, got %s",
                       where, key, what, json_type_name(item));
    }
    int64_t v;
    if (!rm_json_exact_int(item, &v)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s':%s %g is not an integer", where,
                       key, what, item->valuedouble);
    }
    if (v < min || v > max) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key '%s':%s %lld is out of range [%lld, %lld]", where, key, what,
                       (long long)v, (long long)min, (long long)max);
    }
    *out = v;
    return REPMLP_OK;
}

repmlp_status rm_cfg_get_int(const cJSON *obj, const char *where, const char *key, bool required,
                             int64_t def, int64_t min, int64_t max, int64_t *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item)) {
        if (required)
            return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' is missing", where, key);
        *out = def;
        return REPMLP_OK;
    }
    return check_int(item, where, key, "", min, max, out);
}

repmlp_status rm_cfg_get_int_array(const cJSON *obj, const char *where, const char *key,
                                   int max_count, int64_t min, int64_t max, int64_t *values,
                                   int *count) {
    *count = 0;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item)) return REPMLP_OK;
    if (!cJSON_IsArray(item)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': expected an array, got %s", where,
                       key, json_type_name(item));
    }
    int n = cJSON_GetArraySize(item);
    if (n > max_count) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %d entries (at most %d)", where,
                       key, n, max_count);
    }
    int i = 0;
    for (const cJSON *it = item->child; it; it = it->next, i++) {
        char what[32];
        snprintf(what, sizeof what, " element %d:", i);
        repmlp_status status = check_int(it, where, key, what, min, max, &values[i]);
        if (status != REPMLP_OK) return status;
    }
    *count = n;
    return REPMLP_OK;
}

repmlp_status rm_cfg_get_choice(const cJSON *obj, const char *where, const char *key,
                                const char *const *choices, bool required, int def, int *index) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item)) {
        if (required)
            return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' is missing", where, key);
        *index = def;
        return REPMLP_OK;
    }
    if (!cJSON_IsString(item)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': expected a string, got %s", where,
                       key, json_type_name(item));
    }
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], item->valuestring) == 0) {
            *index = i;
            return REPMLP_OK;
        }
    }
    return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': unknown value '%s'", where, key,
                   item->valuestring);
}

bool rm_cfg_mul(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    if (a != 0 && b > RM_CFG_MAX_ELEMENTS / a) return false;
    *out = a * b;
    return true;
}
