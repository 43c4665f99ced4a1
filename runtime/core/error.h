/* Private: recording the thread's last error message. */
#ifndef RM_ERROR_H
#define RM_ERROR_H

#include "repmlp/status.h"

#if defined(__MINGW32__)
/* MinGW checks `printf` formats as MSVCRT's (no %zu); the build uses the C99 implementation
 * instead (__USE_MINGW_ANSI_STDIO), which is what gnu_printf describes. */
#define RM_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define RM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RM_PRINTF(fmt, args)
#endif

/* Formats the message into this thread's last-error slot and returns status, so that a
 * failure path reads `return rm_fail(REPMLP_ERROR_IO, "%s: cannot open", path);`. */
repmlp_status rm_fail(repmlp_status status, const char *fmt, ...) RM_PRINTF(2, 3);

/* Prefixes the current last-error message with "prefix: ", keeping the status. Used where a
 * caller knows context (a file name) that the failing callee did not. */
repmlp_status rm_fail_prefix(repmlp_status status, const char *fmt, ...) RM_PRINTF(2, 3);

#ifdef REPMLP_TEST_HOOKS
/* Empties the thread's last error (test hook: core/test_hooks.h). */
void rm_clear_error(void);
#endif

#endif
