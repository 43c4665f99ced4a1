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

/* ---- What the driver compiled (REPMLP_CONTEXT_COMPILE_STATS; experimental) ---- */

/* A statistic the driver does not report (each driver names its own; this is not AMD-only). */
#define REPMLP_NOT_REPORTED (-1)

/* One op's pipeline as compiled, from VK_KHR_pipeline_executable_properties (AMD's RADV names
 * in brackets; other drivers' equivalents where they have them). */
typedef struct repmlp_compile_stats {
    uint32_t workgroup[3]; /* invocations x, y, z */
    /* The subgroup width the code was compiled for (the driver's, else the width the library
     * plans for), one workgroup's invocations, and the lanes of the subgroups they occupy:
     * lanes_active / lanes is the share of those lanes doing work. */
    uint32_t subgroup_size, lanes_active, lanes;
    uint32_t reported;                /* 1 when the driver reported statistics for the pipeline */
    int64_t vector_registers;         /* per invocation [VGPRs] */
    int64_t scalar_registers;         /* per subgroup [SGPRs] */
    int64_t spilled_vector_registers; /* [Spilled VGPRs] (Intel: spills) */
    int64_t spilled_scalar_registers; /* [Spilled SGPRs] */
    int64_t scratch_bytes;            /* private memory per invocation [Scratch size] */
    int64_t shared_bytes;             /* workgroup shared memory [LDS size] */
    int64_t subgroups_per_simd;       /* occupancy [Subgroups per SIMD] */
    int64_t instructions;             /* [Instructions] */
    /* The hottest loop in the disassembly: of the loops (found by their backward branches) the
     * shortest holding at least half the FMA instructions of the loop with the most; its
     * instructions, floating-point FMAs (fma/mac/mad/dot, not integer ones like AMD's
     * v_mad_u32_u24) and loads (memory reads of any kind), counted statically (a loop nested
     * inside counts once). REPMLP_NOT_REPORTED without a disassembly or a loop. */
    int64_t loop_instructions, loop_fma, loop_loads;
    /* The hottest loop's vector ALU instructions (AMD: the "v_" mnemonics, FMAs included,
     * memory and scalar instructions not): loop_fma / loop_vector_alu is the share of the
     * vector units' issue slots doing FMAs. REPMLP_NOT_REPORTED without a loop, or for a
     * disassembly that names no vector ALU instruction this way. */
    int64_t loop_vector_alu;
    /* The compiler's static estimates for one subgroup, where it reports them (ACO: [Latency]
     * and [Inverse Throughput], in cycles, loops weighted by a guessed trip count). */
    int64_t latency, inverse_throughput;
} repmlp_compile_stats;

/* Op `op`'s compiled pipeline. REPMLP_ERROR_UNSUPPORTED unless the context was created with
 * REPMLP_CONTEXT_COMPILE_STATS; a driver without VK_KHR_pipeline_executable_properties gives
 * reported 0 with only the workgroup and lanes filled. */
REPMLP_API repmlp_status repmlp_session_op_compile_stats(const repmlp_session *session, uint32_t op,
                                                         repmlp_compile_stats *out);

#ifdef __cplusplus
}
#endif

#endif
