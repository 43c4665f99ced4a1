/* repmlp-vk: what a session runs and how long each part takes on the device (what
 * repmlp-bench prints). The timings record the session's ops into their own command buffer
 * with timestamp queries, so they need a device whose queue has timestamps
 * (repmlp_device_limits.timestamps); they wait for their submission and must not overlap
 * another use of the session. */
#ifndef REPMLP_PROFILE_H
#define REPMLP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "repmlp/export.h"
#include "repmlp/model.h"
#include "repmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One op of a session's graph, in run order. */
typedef struct repmlp_op_info {
    const char *label;  /* the op's name in the model ("stages.0.0.fc3"); lives with the session */
    const char *kind;   /* the op ("gemm", "conv", "avgpool", ...) */
    const char *kernel; /* the compute shader variant it runs (e.g. "gemm_tm4") */
    double flops;       /* arithmetic of one run */
    double bytes;       /* bytes of every buffer it binds, each counted once (a lower bound) */
} repmlp_op_info;

/* The number of ops one run dispatches (0 for NULL). */
REPMLP_API uint32_t repmlp_session_op_count(const repmlp_session *session);
/* Op `op` (< repmlp_session_op_count); REPMLP_ERROR_INVALID_ARGUMENT past the end. */
REPMLP_API repmlp_status repmlp_session_op_info(const repmlp_session *session, uint32_t op,
                                                repmlp_op_info *out);

/* Runs the session once with a timestamp around every op and writes each op's device time in
 * milliseconds to ms[0 .. count), count == repmlp_session_op_count. REPMLP_ERROR_UNSUPPORTED
 * (naming the device) without timestamp queries. */
REPMLP_API repmlp_status repmlp_session_profile(repmlp_session *session, double *ms,
                                                uint32_t count);

/* The device time (milliseconds) of part `part` of `parts` (repmlp_session_record_part in
 * repmlp/vulkan.h) recorded alone into one submission. */
REPMLP_API repmlp_status repmlp_session_profile_part(repmlp_session *session, uint32_t part,
                                                     uint32_t parts, double *ms);

#ifdef __cplusplus
}
#endif

#endif
