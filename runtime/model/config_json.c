#include "model/config_json.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config.h"

#include <stdio.h>
#include <stdlib.h>
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

repmlp_status rm_cfg_fail_key(const char *where, const char *key, const char *what) {
    return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %s", where, key, what);
}

repmlp_status rm_cfg_check_range(const char *where, const char *key, int64_t v, int64_t min,
                                 int64_t max) {
    if (v >= min && v <= max) return REPMLP_OK;
    return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %lld is out of range [%lld, %lld]",
                   where, key, (long long)v, (long long)min, (long long)max);
}

repmlp_status rm_cfg_check_divisible(const char *where, const char *key, int64_t v,
                                     const char *by_key, int64_t by) {
    if (v % by == 0) return REPMLP_OK;
    return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %lld is not divisible by %s = %lld",
                   where, key, (long long)v, by_key, (long long)by);
}

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

repmlp_status rm_cfg_check_kernels(int count, int64_t *k, const char *where) {
    if (count < 0 || count > RM_MAX_KERNELS) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'reparam_conv_k': %d entries (at most %d)", where, count,
                       RM_MAX_KERNELS);
    }
    for (int i = 0; i < count; i++) {
        if (k[i] < 1 || k[i] > RM_CFG_MAX_DIM || k[i] % 2 == 0) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'reparam_conv_k': kernel size %lld is not an odd "
                           "integer >= 1",
                           where, (long long)k[i]);
        }
    }
    qsort(k, (size_t)count, sizeof k[0], compare_i64);
    for (int i = 1; i < count; i++) {
        if (k[i] == k[i - 1]) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'reparam_conv_k': kernel size %lld appears twice", where,
                           (long long)k[i]);
        }
    }
    return REPMLP_OK;
}

void rm_cfg_json_key(rm_json_buf *b, const char *key) {
    rm_json_buf_raw(b, b->len ? ",\"" : "{\"");
    rm_json_buf_raw(b, key);
    rm_json_buf_raw(b, "\":");
}

void rm_cfg_json_int(rm_json_buf *b, const char *key, int64_t v) {
    rm_cfg_json_key(b, key);
    rm_json_buf_int(b, v);
}

void rm_cfg_json_ints(rm_json_buf *b, const char *key, const int64_t *v, int n) {
    rm_cfg_json_key(b, key);
    rm_json_buf_raw(b, "[");
    for (int i = 0; i < n; i++) {
        if (i) rm_json_buf_raw(b, ",");
        rm_json_buf_int(b, v[i]);
    }
    rm_json_buf_raw(b, "]");
}

char *rm_cfg_json_finish(rm_json_buf *b) {
    rm_json_buf_raw(b, b->len ? "}" : "{}");
    if (b->failed) {
        rm_json_buf_free(b);
        return NULL;
    }
    return b->text;
}

bool rm_cfg_mul_ok(int n, const int64_t *factors) {
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (!rm_cfg_mul(p, factors[i], &p)) return false;
    return true;
}

bool rm_cfg_key_present(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return item && !cJSON_IsNull(item);
}

/* A list key with exactly `want` entries (absent: the default, copied from def). */
repmlp_status rm_cfg_get_fixed_list(const cJSON *obj, const char *where, const char *key, int want,
                                    const int64_t *def, int64_t min, int64_t max, int64_t *values) {
    if (!rm_cfg_key_present(obj, key)) {
        memcpy(values, def, (size_t)want * sizeof *values);
        return REPMLP_OK;
    }
    int count;
    int64_t tmp[RM_CFG_MAX_LIST];
    repmlp_status s = rm_cfg_get_int_array(obj, where, key, RM_CFG_MAX_LIST, min, max, tmp, &count);
    if (s != REPMLP_OK) return s;
    if (count != want) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %d entries, expected %d", where,
                       key, count, want);
    }
    memcpy(values, tmp, (size_t)want * sizeof *values);
    return REPMLP_OK;
}
