#include "io/json.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's allocation hooks are process-wide (cJSON_InitHooks), so the library leaves them as
 * the application set them: trees are made and freed by cJSON's allocator. The fault point
 * below stands in for its allocations in failure-injection walks. */

static bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

repmlp_status rm_json_parse(const char *text, size_t len, const char *where, cJSON **out) {
    *out = NULL;
    /* A NUL-terminated private copy: cJSON's length-limited parser has read past the end of
     * unterminated input in some releases, and the text may come from an untrusted file. */
    size_t cap;
    if (!rm_add_size(len, 1, &cap)) return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: too large", where);
    char *copy = rm_malloc(cap);
    if (!copy) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", where);
    memcpy(copy, text, len);
    copy[len] = '\0';

    if (rm_fault_hit(RM_FAULT_HOST_ALLOC)) {
        rm_free(copy);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", where);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(copy, &end, 0);
    if (!root) {
        /* (cJSON reports running out of memory as a parse failure too.) */
        size_t at = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;
        rm_free(copy);
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: invalid JSON at byte %zu", where, at);
    }
    for (const char *p = end; p < copy + len; p++) {
        if (!is_json_space(*p)) { /* also catches an embedded NUL that ended the parse */
            size_t at = (size_t)(p - copy);
            cJSON_Delete(root);
            rm_free(copy);
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: invalid JSON: unexpected data at byte %zu",
                           where, at);
        }
    }
    rm_free(copy);
    *out = root;
    return REPMLP_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

repmlp_status rm_json_find_duplicate_key(const cJSON *obj, const char *where, const char **dup) {
    *dup = NULL;
    size_t n = 0;
    for (const cJSON *it = obj->child; it; it = it->next) n++;
    if (n < 2) return REPMLP_OK;
    const char **names = rm_calloc(n, sizeof *names);
    if (!names) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", where);
    size_t i = 0;
    for (const cJSON *it = obj->child; it; it = it->next) names[i++] = it->string ? it->string : "";
    qsort(names, n, sizeof *names, compare_names);
    for (i = 1; i < n; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            *dup = names[i];
            break;
        }
    }
    rm_free(names);
    return REPMLP_OK;
}

bool rm_json_exact_int(const cJSON *item, int64_t *value) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    /* Beyond 2^53 the text may have been rounded by the parser: not exact any more. */
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9007199254740992.0) return false;
    *value = (int64_t)v;
    return true;
}

static void buf_append(rm_json_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    size_t need;
    if (!rm_add_size(b->len, n, &need) || !rm_add_size(need, 1, &need)) {
        b->failed = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (!rm_mul_size(cap, 2, &cap)) {
                b->failed = true;
                return;
            }
        }
        char *grown = rm_realloc(b->text, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void rm_json_buf_raw(rm_json_buf *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void rm_json_buf_int(rm_json_buf *b, int64_t v) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    rm_json_buf_raw(b, tmp);
}

void rm_json_buf_string(rm_json_buf *b, const char *s) {
    buf_append(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        buf_append(b, run, (size_t)(p - run));
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc[2] = '\0';
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", c);
        }
        rm_json_buf_raw(b, esc);
        run = p + 1;
    }
    buf_append(b, run, strlen(run));
    buf_append(b, "\"", 1);
}

void rm_json_buf_free(rm_json_buf *b) {
    rm_free(b->text);
    memset(b, 0, sizeof *b);
}
