#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RM_ERROR_CAPACITY 1024

static _Thread_local char last_error[RM_ERROR_CAPACITY];

const char *repmlp_status_name(repmlp_status status) {
    switch (status) {
#define RM_STATUS_NAME_(name, value, text)                                                         \
    case REPMLP_##name:                                                                            \
        return "REPMLP_" #name;
        REPMLP_STATUS_MAP(RM_STATUS_NAME_)
#undef RM_STATUS_NAME_
    }
    return "REPMLP_UNKNOWN";
}

const char *repmlp_status_string(repmlp_status status) {
    switch (status) {
#define RM_STATUS_TEXT_(name, value, text)                                                         \
    case REPMLP_##name:                                                                            \
        return text;
        REPMLP_STATUS_MAP(RM_STATUS_TEXT_)
#undef RM_STATUS_TEXT_
    }
    return "unknown status";
}

const char *repmlp_last_error(void) {
    return last_error;
}

#ifdef REPMLP_TEST_HOOKS
void rm_clear_error(void) {
    last_error[0] = '\0';
}
#endif

repmlp_status rm_fail(repmlp_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

repmlp_status rm_fail_prefix(repmlp_status status, const char *fmt, ...) {
    char prefix[RM_ERROR_CAPACITY];
    char old[RM_ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* Truncation is acceptable for a message; build it piecewise so the compiler agrees. */
    size_t n = strlen(prefix);
    if (n > sizeof last_error - 3) n = sizeof last_error - 3;
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, ": ", 2);
    size_t room = sizeof last_error - n - 2 - 1, m = strlen(old);
    if (m > room) m = room;
    memcpy(last_error + n + 2, old, m);
    last_error[n + 2 + m] = '\0';
    return status;
}
