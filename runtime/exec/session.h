/* Private: a model prepared for one batch size. */
#ifndef RM_SESSION_H
#define RM_SESSION_H

#include "exec/model.h"
#include "repmlp/vulkan.h"

/* One wait the application promised: the submission holding a recording signals `semaphore`
 * (timeline) to `value`, or `fence` (session_frames.c). */
typedef struct rm_wait {
    VkSemaphore semaphore;
    uint64_t value;
    VkFence fence;
} rm_wait;

/* The application's submissions that may still use a generation: the waits of its tracked
 * recordings not yet seen signalled (one per semaphore or fence: a later value or a fence
 * reset and reused covers the earlier one), and whether an untracked recording
 * (repmlp_session_record_part) holds it until repmlp_session_release_recordings. */
typedef struct rm_holders {
    rm_wait *waits;
    uint32_t count, capacity;
    bool untracked;
} rm_holders;

/* What a recording into the application's command buffers uses and a re-record would free:
 * the descriptor sets (one pool), the texel views and the top-k buffers. Retired on
 * re-record while held, freed once its holders are done. */
typedef struct rm_generation {
    struct rm_generation *next;
    VkDescriptorPool pool;
    VkBufferView *views;
    uint32_t view_count;
    rm_buffer topk_buf, stage_topk;
    rm_holders holders;
} rm_generation;

/* Emptied descriptor pools kept for the next generation, so re-recording reuses them. */
#define RM_SPARE_POOLS 4

struct repmlp_session {
    repmlp_model *model;
    repmlp_context *ctx;
    uint32_t batch;
    repmlp_precision precision; /* what kernels the tuner may give it (exec/tune.c) */
    /* With REPMLP_PRECISION_FP16_ARITHMETIC: ops running fp16-arithmetic kernels, and the
     * error against fp32 arithmetic measured at creation (exec/session_precision.c). */
    uint32_t fp16_ops;
    double fp16_abs_error, fp16_rel_error;
    rm_graph graph;
    uint64_t input_count, output_count; /* floats */
    uint64_t arena_bytes;
    rm_buffer arena, input, output, dummy;
    /* Host-visible copies of input and output when those are not mapped (discrete GPUs): the
     * copies are recorded into the command buffer, so a run allocates nothing. */
    rm_buffer stage_in, stage_out;
    /* Where the dispatches read input and write output: the session's own buffers, or the
     * caller's (repmlp_session_bind_buffers). */
    rm_binding input_binding, output_binding;
    rm_dispatch *dispatches;
    /* A caller's input buffer needs only STORAGE_BUFFER usage, so it cannot back the uniform
     * texel views some kernels read operands through (the texel path): when a node reads the
     * input that way and the caller binds an input buffer, this copy (a gather) first moves
     * it into the session's own input buffer. input_copy.pipeline is NULL when unneeded. */
    rm_dispatch input_copy;
    bool copy_bound_input; /* the current recording runs input_copy */
    /* A picture bound as the input (repmlp_session_bind_image): preprocessed on the device
     * into the session's own input buffer before node 0; image_dispatch.image is its view. */
    rm_dispatch image_dispatch;
    bool image_bound;
    /* Softmax + top-k after the last node (repmlp_session_set_topk); topk 0: none. */
    uint32_t topk;
    rm_dispatch topk_dispatch;
    rm_buffer topk_buf, stage_topk; /* batch * topk (class, probability) pairs */
    VkDescriptorPool pool;          /* the current generation's descriptor sets */
    uint32_t pool_sets;             /* what each of the session's pools holds */
    rm_holders holders;             /* the current generation's, cleared when it is retired */
    rm_generation *retired;         /* earlier generations still held by the application */
    VkDescriptorPool spare_pools[RM_SPARE_POOLS];
    uint32_t spare_pool_count;
    VkCommandPool command_pool; /* per session, so threads never share one */
    VkCommandBuffer command_buffer;
    VkFence fence;
    bool pending; /* a submission timed out and may still be running */
    /* The dispatches' sets were retired and not bound again (a change failed after
     * rm_session_retire): re-record before the session runs or is recorded again. */
    bool stale;
    struct rm_tune_report *tune; /* how each GEMM/conv kernel was chosen (exec/tune.h), or NULL */
};

/* Creates a session of this batch and precision (repmlp_session_create, or
 * repmlp_session_create_desc before its error check). */
repmlp_status rm_session_create(repmlp_model *model, uint32_t batch, repmlp_precision precision,
                                repmlp_session **out);

/* (Re)binds every dispatch to the current buffers and re-records the command buffer. Runs at
 * creation and when the caller rebinds input/output, never per run. */
repmlp_status rm_session_record(repmlp_session *s);

/* Before the session's bound resources change (re-recording, a new image or top-k): when the
 * application holds the current generation (its submissions may still use it), moves the
 * descriptor pool and the texel views into a retired generation and gives the session an empty
 * pool; with `topk`, the top-k buffers too, held by every unreleased generation (all may write
 * them). Otherwise leaves them to be reused or freed as before. Also frees the retired
 * generations whose holders are done (session_frames.c). Once it has retired anything, the
 * caller must re-record the session (rm_session_record) even when its change fails: the
 * session's own command buffer uses the retired sets. */
repmlp_status rm_session_retire(repmlp_session *s, bool topk);
/* Frees the retired generations whose holders are all done (polls, never waits). */
void rm_session_collect(repmlp_session *s);
/* Notes that the current generation was recorded into an application's command buffer whose
 * submission signals `done` (NULL: untracked, until repmlp_session_release_recordings). */
repmlp_status rm_session_hold(repmlp_session *s, const repmlp_completion *done);
/* Frees every generation and spare pool, held or not (session destruction). */
void rm_session_free_generations(repmlp_session *s);
/* Records part `part` of `parts` into cmd without noting a holder (the library's own
 * submissions, which it waits for). */
repmlp_status rm_session_record_part(repmlp_session *s, VkCommandBuffer cmd, uint32_t part,
                                     uint32_t parts);

/* Re-records a stale session (see `stale`); REPMLP_OK at once otherwise. */
repmlp_status rm_session_ready(repmlp_session *s);

/* Runs the session's dispatches once with timestamps around each and returns each node's
 * device time (REPMLP_ERROR_UNSUPPORTED without timestamp support). */
repmlp_status rm_session_profile(repmlp_session *s, double *ms_per_node);
/* Device time of part `part` of `parts` (repmlp_session_record_part) recorded alone into its
 * own submission, as an engine spreading the session over frames runs it. */
repmlp_status rm_session_profile_part(repmlp_session *s, uint32_t part, uint32_t parts, double *ms);
/* Bytes a node's bindings span (reads and writes, each counted once): its memory traffic
 * if every byte moved once. */
uint64_t rm_session_node_bytes(const repmlp_session *s, int node);

/* REPMLP_OK when no submitted run is in flight (clearing `pending` once its fence signalled),
 * REPMLP_NOT_READY while one is (session_async.c). */
repmlp_status rm_session_settle(repmlp_session *s);

/* Records nodes [first, end) into cmd with barriers between them; the bound-input copy with
 * node 0 and the softmax + top-k with the last node. A range that does not start at node 0
 * begins with a barrier, so parts recorded into successive submissions on one queue are
 * ordered (session_record.c). */
void rm_session_record_range(const repmlp_session *s, VkCommandBuffer cmd, int first, int end);

#endif
