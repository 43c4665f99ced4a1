/** @file
 * repmlp-vk: status codes shared by every public call.
 *
 * Every function that can fail returns a repmlp_status. REPMLP_OK is 0, every error is
 * negative, a success that says more (REPMLP_NOT_READY, REPMLP_INCOMPLETE) is positive, and
 * the numbers never change between releases. The message that explains the most recent failure
 * on the calling thread is returned by repmlp_last_error(). */
#ifndef REPMLP_STATUS_H
#define REPMLP_STATUS_H

#include "repmlp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The status table: X(name, value, description). It generates the enum, repmlp_status_name()
 * and repmlp_status_string(), so the three can never drift apart. */
#define REPMLP_STATUS_MAP(X)                                                                       \
    X(OK, 0, "success")                                                                            \
    X(NOT_READY, 1, "submitted work is still running")                                             \
    X(INCOMPLETE, 2, "the array was too small for every entry")                                    \
    X(ERROR_INVALID_ARGUMENT, -1, "invalid argument")                                              \
    X(ERROR_OUT_OF_HOST_MEMORY, -2, "out of host memory")                                          \
    X(ERROR_OUT_OF_DEVICE_MEMORY, -3, "out of device memory")                                      \
    X(ERROR_NO_DEVICE, -4, "no matching Vulkan device")                                            \
    X(ERROR_VULKAN, -5, "Vulkan call failed")                                                      \
    X(ERROR_DEVICE_LOST, -6, "Vulkan device lost")                                                 \
    X(ERROR_TIMEOUT, -7, "timed out waiting for the device")                                       \
    X(ERROR_IO, -8, "file input/output error")                                                     \
    X(ERROR_FORMAT, -9, "malformed file or tensor")                                                \
    X(ERROR_CONFIG, -10, "invalid model configuration")                                            \
    X(ERROR_UNSUPPORTED, -11, "unsupported by this device or build")                               \
    X(ERROR_TOO_LARGE, -12, "size exceeds a limit")                                                \
    X(ERROR_NO_LOADER, -13, "Vulkan loader not found")

/** What a call did: REPMLP_OK (0), a positive success with news (REPMLP_NOT_READY: submitted
 * work still runs; REPMLP_INCOMPLETE: a count query's array was too small, as Vulkan's
 * VK_INCOMPLETE), or a negative error (REPMLP_ERROR_*, see REPMLP_STATUS_MAP). Test for
 * failure with `status < 0`. */
typedef enum repmlp_status {
#define REPMLP_STATUS_ENUM_(name, value, text) REPMLP_##name = value,
    REPMLP_STATUS_MAP(REPMLP_STATUS_ENUM_)
#undef REPMLP_STATUS_ENUM_
} repmlp_status;
/** @def REPMLP_STATUS_ENUM_
 * One row of REPMLP_STATUS_MAP as an enumerator (used inside repmlp_status only). */

/** The status's enumerator name.
 * @return "REPMLP_ERROR_IO" for REPMLP_ERROR_IO; "REPMLP_UNKNOWN" for a value outside the
 *         table. Static storage. */
REPMLP_API const char *repmlp_status_name(repmlp_status status);

/** A short fixed English description of the status, for an application's own messages when
 * it has no repmlp_last_error() at hand (e.g. a status kept from an earlier call).
 * @return "file input/output error" for REPMLP_ERROR_IO. Static storage. */
REPMLP_API const char *repmlp_status_string(repmlp_status status);

/** The detailed message of the most recent failed call on this thread (one line, naming the
 * file, tensor, key or Vulkan call at fault), or "" if none failed yet. The pointer stays
 * valid until the next library call on this thread. */
REPMLP_API const char *repmlp_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
