/** @file
 * repmlp-vk: sessions — a loaded model prepared for one batch size, and running it.
 *
 * A session (repmlp_session) is a model (repmlp/model.h) prepared for one batch size: its
 * activation memory is planned once and its command buffer recorded once, so a run allocates,
 * compiles and updates nothing. A session is used by one thread at a time. Recording a session
 * into the application's own command buffers, binding its buffers or a picture, and
 * submitting with semaphores take Vulkan types and are in repmlp/vulkan.h. */
#ifndef REPMLP_SESSION_H
#define REPMLP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repmlp/context.h"
#include "repmlp/export.h"
#include "repmlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A model prepared for one batch size (opaque). */
typedef struct repmlp_session repmlp_session;

/** Prepares the model for `batch` images (>= 1): plans activation memory, allocates it and
 * the input and output buffers, builds pipelines and records the command buffer (fp32
 * arithmetic; see repmlp_session_create_desc for the choice of fp16 arithmetic). A batch whose
 * buffers cannot fit the device is refused here with a message, before allocating. */
REPMLP_API repmlp_status repmlp_session_create(repmlp_model *model, uint32_t batch,
                                               repmlp_session **out);

/** The arithmetic a session's GEMMs and convolutions may use. */
typedef enum repmlp_precision {
    /** fp32 products and sums (what repmlp_session_create gives): kernels that multiply in
     * fp16 are never run, whatever the tuner measures or tuning data says. */
    REPMLP_PRECISION_FP32 = 0,
    /** Also kernels that multiply in fp16 and sum in fp32 (shaderFloat16, cooperative
     * matrices), where kernel tuning (REPMLP_CONTEXT_TUNE, or tuning data measured for such
     * sessions) finds them faster. Values beyond fp16's range (65504) become infinities in
     * them, so the session measures its error at creation on the caller's check input (see
     * repmlp_session_desc) and reports it (repmlp_session_precision_info). */
    REPMLP_PRECISION_FP16_ARITHMETIC = 1,
} repmlp_precision;

/** How to prepare a session (repmlp_session_create_desc). Start from
 * REPMLP_SESSION_DESC_INIT. */
typedef struct repmlp_session_desc {
    /** sizeof(repmlp_session_desc) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    uint32_t batch;             /**< images per run, >= 1 */
    repmlp_precision precision; /**< REPMLP_PRECISION_FP32 (0) unless chosen */
    /** With REPMLP_PRECISION_FP16_ARITHMETIC (required there, ignored otherwise): a batch of
     * the model's own, representative input (batch * per-image input size floats, as
     * repmlp_session_run takes). When the session runs any fp16-arithmetic kernel, creation
     * runs it on this input, and a session of fp32 arithmetic on the same input (created and
     * destroyed for the purpose: twice the activation memory meanwhile), and records the
     * difference. Data in the range the application feeds the model is what makes the number
     * mean something: random data in [-1, 1) does not overflow fp16 where real activations
     * do. */
    const float *check_input;
    size_t check_input_count; /**< floats at check_input */
} repmlp_session_desc;

/** A repmlp_session_desc with its size set, batch 0 (to be set) and fp32 arithmetic. */
#define REPMLP_SESSION_DESC_INIT REPMLP_SIZED_INIT(repmlp_session_desc)

/** repmlp_session_create with a description: the same session for { size, batch } (fp32
 * arithmetic), or one that may run fp16-arithmetic kernels.
 * @return REPMLP_ERROR_INVALID_ARGUMENT for a size smaller than the first version's, an
 *         unknown precision, or with fp16 arithmetic a missing check input or one of another
 *         size. */
REPMLP_API repmlp_status repmlp_session_create_desc(repmlp_model *model,
                                                    const repmlp_session_desc *desc,
                                                    repmlp_session **out);

/** The session's precision and, for REPMLP_PRECISION_FP16_ARITHMETIC, what it cost on the
 * check input: the largest |output - fp32 output| and that relative to the largest |fp32
 * output| (infinite where an output is not finite and the fp32 one is). Both 0 when no op runs
 * an fp16-arithmetic kernel (fp16_ops 0: the tuner found none faster, or none could run). */
typedef struct repmlp_precision_info {
    repmlp_precision precision; /**< as created */
    uint32_t fp16_ops;          /**< GEMM/conv ops running a kernel that multiplies in fp16 */
    double max_abs_error;       /**< largest |output - fp32 output| on the check input */
    double max_rel_error;       /**< that relative to the largest |fp32 output| */
} repmlp_precision_info;

/** Fills *out with the session's repmlp_precision_info. */
REPMLP_API repmlp_status repmlp_session_precision_info(const repmlp_session *session,
                                                       repmlp_precision_info *out);

/** Waits for the session's work and frees it. NULL is fine. */
REPMLP_API void repmlp_session_destroy(repmlp_session *session);

/** The device memory (bytes) repmlp_session_create(model, batch) would take: input, output,
 * the planned activations and, on devices whose memory is not host-visible, staging copies. */
REPMLP_API repmlp_status repmlp_session_memory_needed(repmlp_model *model, uint32_t batch,
                                                      uint64_t *bytes);

/** Bytes of the planned activation arena (peak activation memory, excluding input/output). */
REPMLP_API uint64_t repmlp_session_activation_bytes(const repmlp_session *session);

/** Runs one batch: copies input (input_count floats, exactly batch * per-image input size) to
 * the device, runs, and copies the result to output (output_count floats, exact too). */
REPMLP_API repmlp_status repmlp_session_run(repmlp_session *session, const float *input,
                                            size_t input_count, float *output, size_t output_count);

/** Step 1 of repmlp_session_run, for callers that keep data on the device between runs:
 * writes the session's input tensor. */
REPMLP_API repmlp_status repmlp_session_write_input(repmlp_session *session, const float *input,
                                                    size_t input_count);
/** Step 2: runs the session on whatever its input tensor holds. */
REPMLP_API repmlp_status repmlp_session_execute(repmlp_session *session);
/** Step 3: reads the session's output tensor. */
REPMLP_API repmlp_status repmlp_session_read_output(repmlp_session *session, float *output,
                                                    size_t output_count);

/** For runs submitted with repmlp_session_submit (repmlp/vulkan.h): REPMLP_OK when the last
 * one is done (or none is in flight), REPMLP_NOT_READY while it runs. Also frees what retired
 * recordings held once their completions signalled (repmlp/vulkan.h, "Frames in flight"). */
REPMLP_API repmlp_status repmlp_session_poll(repmlp_session *session);
/** Blocks until the last submitted run is done, up to timeout_ns (REPMLP_ERROR_TIMEOUT after
 * that). */
REPMLP_API repmlp_status repmlp_session_wait(repmlp_session *session, uint64_t timeout_ns);

/* ---- Kernel tuning (REPMLP_CONTEXT_TUNE, repmlp/context.h) ---- */

/** How a GEMM/conv op's kernel was chosen. */
typedef enum repmlp_tuning_source {
    REPMLP_TUNING_BUILTIN = 0,  /**< not tuned: the built-in choice (budget spent, a failure) */
    REPMLP_TUNING_MEASURED = 1, /**< measured while this session was created */
    REPMLP_TUNING_KNOWN = 2,    /**< the context knew the shape (loaded or measured before) */
} repmlp_tuning_source;

/** What became of one candidate kernel. */
typedef enum repmlp_tuning_outcome {
    REPMLP_CANDIDATE_TIMED = 0, /**< ms is the median of its timed runs */
    /** Its first timed run took 1.5x the best median or more: ms is that run, not timed
     * further */
    REPMLP_CANDIDATE_SLOW = 1,
    REPMLP_CANDIDATE_DOES_NOT_FIT = 2, /**< beyond the device's limits for this op */
    /** Output off the built-in kernel's, NaN, or no pipeline: on the context's deny list
     * (logged) */
    REPMLP_CANDIDATE_DENIED = 3,
    /** Not run: its form (algorithm, operand path, weight type, row tile) took 1.5x the best
     * time or more on 3 shapes measured earlier in this session, and never came within 1.25x */
    REPMLP_CANDIDATE_PRUNED = 4,
    /** Timed 5% faster than the built-in kernel, but the fastest such candidate was not when
     * the two were timed again alternately: the built-in kernel stays; ms is its first
     * median */
    REPMLP_CANDIDATE_UNCONFIRMED = 5,
} repmlp_tuning_outcome;

/** The most candidates one repmlp_tuning_node lists. */
#define REPMLP_TUNING_MAX_CANDIDATES 32

/** One candidate kernel of a tuned op. */
typedef struct repmlp_tuning_candidate {
    const char *kernel; /**< the kernel variant, e.g. "gemm_texel_m8" (static storage) */
    double ms;          /**< one run, device timestamps where the queue has them; < 0: none */
    repmlp_tuning_outcome outcome; /**< what became of it */
} repmlp_tuning_candidate;

/** One GEMM or convolution of a session. Strings live as long as the session. */
typedef struct repmlp_tuning_node {
    uint32_t node;               /**< its position in the session's op order */
    const char *label;           /**< e.g. "stages.1.0.repmlp_block.fc3" */
    const char *op;              /**< "gemm" or "conv" (a 1x1 conv runs GEMM kernels) */
    uint32_t M;                  /**< output rows */
    uint32_t K;                  /**< reduction length */
    uint32_t N;                  /**< output columns */
    uint32_t groups;             /**< groups of a grouped op (1 otherwise) */
    bool fp16_weights;           /**< its weights are stored in fp16 */
    const char *builtin;         /**< the kernel the built-in heuristic picks */
    const char *winner;          /**< the kernel the session runs */
    repmlp_tuning_source source; /**< how the winner was chosen */
    bool timestamps; /**< times are device timestamps; false: host time around a submission */
    uint32_t candidate_count; /**< 0 unless source is REPMLP_TUNING_MEASURED */
    repmlp_tuning_candidate candidates[REPMLP_TUNING_MAX_CANDIDATES]; /**< candidate_count */
} repmlp_tuning_node;

/** Reports, per GEMM/conv op of the session, how its kernel was chosen: the candidates, their
 * times and the winner. A count query as Vulkan's: none such ops when the session was created
 * without tuning (no REPMLP_CONTEXT_TUNE and no loaded tuning data).
 * @param session the session asked.
 * @param nodes NULL to ask for the number only, else an array of *count entries.
 * @param count in: the capacity of nodes; out: the number of such ops (nodes NULL) or of
 *        entries written.
 * @return REPMLP_OK, or REPMLP_INCOMPLETE (a success) when nodes had room for fewer than all:
 *         the first *count are filled. */
REPMLP_API repmlp_status repmlp_session_tuning_info(const repmlp_session *session,
                                                    repmlp_tuning_node *nodes, uint32_t *count);

/* ---- Classifier results on the device ---- */

/** One of an image's most probable classes. */
typedef struct repmlp_class_score {
    uint32_t class_index; /**< UINT32_MAX when the output row held only NaN */
    float probability;    /**< softmax of the output row at class_index */
} repmlp_class_score;

/** Makes every later run of a classifier's session (output (N, classes)) also compute, on the
 * device, each image's softmax and its k most probable classes, best first (ties: the lower
 * class index first), so an application reads N * k pairs instead of the whole output; also in
 * recordings (repmlp_session_record). 1 <= k <= min(classes, 32); k = 0 turns it off. Records
 * the session's command buffer again (once, not per run); the top-k buffers of earlier
 * recordings into the application's command buffers live until their submissions completed
 * (repmlp/vulkan.h, "Frames in flight"). */
REPMLP_API repmlp_status repmlp_session_set_topk(repmlp_session *session, uint32_t k);
/** The pairs of the last run: count = batch * k, image-major. */
REPMLP_API repmlp_status repmlp_session_read_topk(repmlp_session *session, repmlp_class_score *out,
                                                  size_t count);

#if defined(REPMLP_EXPERIMENTAL)
/* ---- Experimental: what a session runs and how long each part takes ----
 * What repmlp-bench prints. The timings record the session's ops into their own command
 * buffer with timestamp queries, so they need a device whose queue has timestamps
 * (repmlp_device_limits.timestamps); they wait for their submission and must not overlap
 * another use of the session. */

/** Experimental: the batch the session was created for. */
REPMLP_API uint32_t repmlp_session_batch(const repmlp_session *session);

/** Experimental: one op of a session's graph, in run order. */
typedef struct repmlp_op_info {
    const char *label; /**< the op's name in the model ("stages.0.0.fc3"); lives with the session */
    const char *kind;  /**< the op ("gemm", "conv", "avgpool", ...) */
    const char *kernel; /**< the compute shader variant it runs (e.g. "gemm_tm4") */
    double flops;       /**< arithmetic of one run */
    double bytes;       /**< bytes of every buffer it binds, each counted once (a lower bound) */
} repmlp_op_info;

/** Experimental: the number of ops one run dispatches (0 for NULL). */
REPMLP_API uint32_t repmlp_session_op_count(const repmlp_session *session);
/** Experimental: op `op` (< repmlp_session_op_count); REPMLP_ERROR_INVALID_ARGUMENT past the
 * end. */
REPMLP_API repmlp_status repmlp_session_op_info(const repmlp_session *session, uint32_t op,
                                                repmlp_op_info *out);

/** Experimental: runs the session once with a timestamp around every op and writes each op's
 * device time in milliseconds to ms[0 .. count), count == repmlp_session_op_count.
 * REPMLP_ERROR_UNSUPPORTED (naming the device) without timestamp queries. */
REPMLP_API repmlp_status repmlp_session_profile(repmlp_session *session, double *ms,
                                                uint32_t count);

/** Experimental: the device time (milliseconds) of part `part` of `parts`
 * (repmlp_session_record_part in repmlp/vulkan.h) recorded alone into one submission. */
REPMLP_API repmlp_status repmlp_session_profile_part(repmlp_session *session, uint32_t part,
                                                     uint32_t parts, double *ms);

/** A statistic the driver does not report (each driver names its own; this is not AMD-only). */
#define REPMLP_NOT_REPORTED (-1)

/** Experimental (REPMLP_CONTEXT_COMPILE_STATS): one op's pipeline as compiled, from
 * VK_KHR_pipeline_executable_properties (AMD's RADV names in brackets; other drivers'
 * equivalents where they have them). */
typedef struct repmlp_compile_stats {
    uint32_t workgroup[3]; /**< invocations x, y, z */
    /** The subgroup width the code was compiled for (the driver's, else the width the library
     * plans for). */
    uint32_t subgroup_size;
    uint32_t lanes_active; /**< one workgroup's invocations */
    /** the lanes of the subgroups they occupy: lanes_active / lanes is the share doing work */
    uint32_t lanes;
    bool reported;                    /**< the driver reported statistics for the pipeline */
    int64_t vector_registers;         /**< per invocation [VGPRs] */
    int64_t scalar_registers;         /**< per subgroup [SGPRs] */
    int64_t spilled_vector_registers; /**< [Spilled VGPRs] (Intel: spills) */
    int64_t spilled_scalar_registers; /**< [Spilled SGPRs] */
    int64_t scratch_bytes;            /**< private memory per invocation [Scratch size] */
    int64_t shared_bytes;             /**< workgroup shared memory [LDS size] */
    int64_t subgroups_per_simd;       /**< occupancy [Subgroups per SIMD] */
    int64_t instructions;             /**< [Instructions] */
    /** The hottest loop in the disassembly: of the loops (found by their backward branches)
     * the shortest holding at least half the FMA instructions of the loop with the most; its
     * instructions, counted statically (a loop nested inside counts once).
     * REPMLP_NOT_REPORTED without a disassembly or a loop. */
    int64_t loop_instructions;
    /** its floating-point FMAs (fma/mac/mad/dot, not integer ones like AMD's v_mad_u32_u24),
     * as loop_instructions */
    int64_t loop_fma;
    int64_t loop_loads; /**< its loads (memory reads of any kind), as loop_instructions */
    /** The hottest loop's vector ALU instructions (AMD: the "v_" mnemonics, FMAs included,
     * memory and scalar instructions not): loop_fma / loop_vector_alu is the share of the
     * vector units' issue slots doing FMAs. REPMLP_NOT_REPORTED without a loop, or for a
     * disassembly that names no vector ALU instruction this way. */
    int64_t loop_vector_alu;
    /** The compiler's static estimate of one subgroup's latency, in cycles, where it reports it
     * (ACO: [Latency], loops weighted by a guessed trip count). */
    int64_t latency;
    int64_t inverse_throughput; /**< likewise, ACO's [Inverse Throughput] */
} repmlp_compile_stats;

/** Experimental: op `op`'s compiled pipeline. REPMLP_ERROR_UNSUPPORTED unless the context was
 * created with REPMLP_CONTEXT_COMPILE_STATS; a driver without
 * VK_KHR_pipeline_executable_properties gives reported false with only the workgroup and
 * lanes filled. */
REPMLP_API repmlp_status repmlp_session_op_compile_stats(const repmlp_session *session, uint32_t op,
                                                         repmlp_compile_stats *out);
#endif

#ifdef __cplusplus
}
#endif

#endif
