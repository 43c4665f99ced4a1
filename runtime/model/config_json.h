/* Private: typed, checked access to a model config given as a JSON object, the checks and the
 * compact JSON writer shared by every architecture's config code. Every error is
 * REPMLP_ERROR_CONFIG with one line "<where>: config key '<key>': <what>", where `where` names
 * the source (a file, or "<file>: --config"). */
#ifndef RM_CONFIG_JSON_H
#define RM_CONFIG_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "io/json.h"
#include "repmlp/status.h"

/* Largest value of any one size parameter (channels, spatial sizes, kernel sizes...). */
#define RM_CFG_MAX_DIM ((int64_t)1 << 20)
/* Largest element count of any one tensor a config may imply; keeps every byte size far from
 * overflow and rejects absurd configs before anything is allocated. */
#define RM_CFG_MAX_ELEMENTS ((int64_t)1 << 36)

/* Checks that obj is a JSON object whose keys are all in `allowed` (NULL-terminated) and
 * appear once each. Call it first: the getters below read the first occurrence of a key. */
repmlp_status rm_cfg_check_keys(const cJSON *obj, const char *where, const char *const *allowed);

/* Reads integer `key` into *out. Absent (or null): REPMLP_ERROR_CONFIG if `required`, else
 * *out = def. Present: must be an exact integer in [min, max]. */
repmlp_status rm_cfg_get_int(const cJSON *obj, const char *where, const char *key, bool required,
                             int64_t def, int64_t min, int64_t max, int64_t *out);

/* Reads an array of at most max_count integers, each in [min, max], into values[] and *count.
 * Absent or null gives *count = 0 (an "empty list" default). */
repmlp_status rm_cfg_get_int_array(const cJSON *obj, const char *where, const char *key,
                                   int max_count, int64_t min, int64_t max, int64_t *values,
                                   int *count);

/* Reads string `key`, which must be one of `choices` (NULL-terminated), into *index. Absent
 * (or null): error if `required`, else *index = def. */
repmlp_status rm_cfg_get_choice(const cJSON *obj, const char *where, const char *key,
                                const char *const *choices, bool required, int def, int *index);

/* a * b into *out if both are non-negative and the product is at most RM_CFG_MAX_ELEMENTS. */
bool rm_cfg_mul(int64_t a, int64_t b, int64_t *out);

/* The product of n factors is within RM_CFG_MAX_ELEMENTS; RM_CFG_MUL_OK(a, b, ...) counts them. */
bool rm_cfg_mul_ok(int n, const int64_t *factors);
#define RM_CFG_MUL_OK(...)                                                                         \
    rm_cfg_mul_ok((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                       \
                  (const int64_t[]){__VA_ARGS__})

/* Reads a list of exactly `want` (<= RM_CFG_MAX_LIST) integers in [min, max]; absent or null
 * copies def. "...: <n> entries, expected <want>" otherwise. */
#define RM_CFG_MAX_LIST 8
repmlp_status rm_cfg_get_fixed_list(const cJSON *obj, const char *where, const char *key, int want,
                                    const int64_t *def, int64_t min, int64_t max, int64_t *values);

/* `key` is present and not null. */
bool rm_cfg_key_present(const cJSON *obj, const char *key);

/* "<where>: config key '<key>': <what>". */
repmlp_status rm_cfg_fail_key(const char *where, const char *key, const char *what);

/* v in [min, max], else "...: <v> is out of range [<min>, <max>]". */
repmlp_status rm_cfg_check_range(const char *where, const char *key, int64_t v, int64_t min,
                                 int64_t max);

/* v % by == 0, else "...: <v> is not divisible by <by_key> = <by>". by >= 1. */
repmlp_status rm_cfg_check_divisible(const char *where, const char *key, int64_t v,
                                     const char *by_key, int64_t by);

/* reparam_conv_k (docs/MODELS.md §1): at most RM_MAX_KERNELS distinct odd sizes in
 * [1, RM_CFG_MAX_DIM]; sorts k[0..count) ascending in place. */
repmlp_status rm_cfg_check_kernels(int count, int64_t *k, const char *where);

/* The compact JSON object a config is written as, one key after the other: the first key opens
 * the object; rm_cfg_json_finish closes it and returns the text (rm_malloc'd; NULL, with b
 * freed, when out of memory). */
void rm_cfg_json_key(rm_json_buf *b, const char *key);
void rm_cfg_json_int(rm_json_buf *b, const char *key, int64_t v);
void rm_cfg_json_ints(rm_json_buf *b, const char *key, const int64_t *v, int n);
char *rm_cfg_json_finish(rm_json_buf *b);

/* Defines `repmlp_status fn_name(text, where, type *out)`: parses JSON text (e.g. a fused
 * file's "config" metadata) and hands the object to from_json. */
#define RM_CFG_PARSE_TEXT(fn_name, type, from_json)                                                \
    repmlp_status fn_name(const char *text, const char *where, type *out) {                        \
        cJSON *obj = NULL;                                                                         \
        repmlp_status s = rm_json_parse(text, strlen(text), where, &obj);                          \
        if (s == REPMLP_OK) s = from_json(obj, where, out);                                        \
        cJSON_Delete(obj);                                                                         \
        return s;                                                                                  \
    }

/* A named configuration of an architecture (docs/MODELS.md §2 and §3). */
typedef struct rm_preset {
    const char *name;        /* "RepMLPNet-T224", ... */
    const char *arch;        /* RM_ARCH_RESNET or RM_ARCH_REPMLPNET */
    const char *config_json; /* a complete config for the arch */
} rm_preset;

#endif
