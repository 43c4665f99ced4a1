/* Private: JSON in and out. Parsing goes through cJSON with whatever allocation hooks the
 * application gave cJSON (the library never changes them: they are process-wide); writing
 * uses a small growable buffer that escapes strings. */
#ifndef RM_JSON_H
#define RM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "repmlp/status.h"

/* Parses `len` bytes of JSON text (need not be NUL-terminated; may be followed by JSON
 * whitespace only). Errors: REPMLP_ERROR_FORMAT "<where>: invalid JSON at byte N",
 * REPMLP_ERROR_OUT_OF_HOST_MEMORY. Free the result with cJSON_Delete. */
repmlp_status rm_json_parse(const char *text, size_t len, const char *where, cJSON **out);

/* Sets *dup to the first key (in sorted order) that occurs twice among obj's members, or to
 * NULL. cJSON keeps duplicates, and a silently shadowed key is a wrong model, so every object
 * we accept is checked. Fails only for lack of memory (message names `where`). */
repmlp_status rm_json_find_duplicate_key(const cJSON *obj, const char *where, const char **dup);

/* True when item is a number holding an integer that a double represents exactly. */
bool rm_json_exact_int(const cJSON *item, int64_t *value);

/* A growable, always NUL-terminated text buffer. Appends after a failed one are no-ops and
 * `failed` stays set, so a writer checks once at the end. */
typedef struct rm_json_buf {
    char *text;
    size_t len, cap;
    bool failed;
} rm_json_buf;

void rm_json_buf_raw(rm_json_buf *b, const char *s);
void rm_json_buf_int(rm_json_buf *b, int64_t v);
/* Appends s as a quoted JSON string (", \ and control characters escaped). */
void rm_json_buf_string(rm_json_buf *b, const char *s);
void rm_json_buf_free(rm_json_buf *b);

#endif
