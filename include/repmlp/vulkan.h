/** @file
 * repmlp-vk: interoperation with an application's own Vulkan objects: sharing its device,
 * recording sessions into its command buffers, binding its buffers and pictures, submitting
 * with its semaphores.
 *
 * Include after <vulkan/vulkan.h> (or volk.h); the library itself loads Vulkan through volk,
 * so this header only uses Vulkan's types. */
#ifndef REPMLP_VULKAN_H
#define REPMLP_VULKAN_H

#include <stdbool.h>

#include <vulkan/vulkan_core.h>

#include "repmlp/export.h"
#include "repmlp/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sharing the application's device ---- */

/** What the library needs from a device and what it can use. Fill it before creating your
 * VkDevice, then enable what you can spare and tell the library in repmlp_vulkan_import. */
typedef struct repmlp_vulkan_requirements {
    uint32_t api_version;  /**< minimum device API version: VK_API_VERSION_1_1 */
    uint32_t queue_family; /**< a family with VK_QUEUE_COMPUTE_BIT (compute-only if any) */
    /** storageBuffer16BitAccess is available: enable it in VkPhysicalDevice16BitStorageFeatures
     * for fp16 weights */
    bool storage_16bit;
    /** VK_KHR_timeline_semaphore and its feature are available: enable both for
     * repmlp_session_submit's timeline values */
    bool timeline_semaphore;
    bool usable;                   /**< the device meets the minimum */
    uint32_t extension_count;      /**< device extensions required: none so far */
    const char *const *extensions; /**< extension_count names */
} repmlp_vulkan_requirements;

/** Queries `physical_device` of `instance`. get_instance_proc_addr may be NULL (the system
 * loader's is used). */
REPMLP_API repmlp_status repmlp_vulkan_query(PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                             VkInstance instance, VkPhysicalDevice physical_device,
                                             repmlp_vulkan_requirements *out);

/** The application's objects (repmlp_context_import); start from REPMLP_VULKAN_IMPORT_INIT.
 * The library never destroys them; they must outlive the context.
 * The queue is used only inside the library's own submissions (repmlp_session_run/execute,
 * uploads) and by repmlp_context_destroy (vkQueueWaitIdle; the library never waits on the
 * whole device it did not create). VkQueue access must be externally synchronised: an engine
 * that submits to the same queue from other threads passes queue_lock/queue_unlock, which the
 * library calls around each of those uses; without them, the application must not use the
 * queue while such a library call runs. */
typedef struct repmlp_vulkan_import {
    /** sizeof(repmlp_vulkan_import) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr; /**< NULL: the system loader's */
    VkInstance instance;                              /**< the application's instance */
    VkPhysicalDevice physical_device;                 /**< the device's physical device */
    VkDevice device;                                  /**< created with API version >= 1.1 */
    uint32_t queue_family;                            /**< the family of `queue`, with compute */
    VkQueue queue;                                    /**< the queue the library submits to */
    bool storage_16bit_enabled; /**< storageBuffer16BitAccess was enabled on `device` */
    /** timelineSemaphore was enabled on `device` (Vulkan 1.2 or VK_KHR_timeline_semaphore):
     * repmlp_session_submit may then wait on and signal timeline values. */
    bool timeline_semaphore_enabled;
    /** Optional, both or neither: the engine's own lock of `queue`. */
    void (*queue_lock)(void *user);
    void (*queue_unlock)(void *user); /**< releases what queue_lock took */
    void *queue_lock_user;            /**< passed to queue_lock and queue_unlock */
} repmlp_vulkan_import;

/** A repmlp_vulkan_import with its size set and no objects yet. */
#define REPMLP_VULKAN_IMPORT_INIT REPMLP_SIZED_INIT(repmlp_vulkan_import)

/** Creates a context on the application's device. desc may be NULL; its `device` selector is
 * ignored, its REPMLP_CONTEXT_VALIDATION flag only counts messages if the application's
 * instance has a debug messenger of its own (the library adds none to an imported instance). */
REPMLP_API repmlp_status repmlp_context_import(const repmlp_vulkan_import *import,
                                               const repmlp_context_desc *desc,
                                               repmlp_context **out);

/* ---- Recording into the application's command buffers ---- */

/** Records the session's dispatches into `cmd` (primary, in the recording state, on a queue
 * family with compute). The session reads its input and writes its output where
 * repmlp_session_bind_buffers() pointed them (else its own buffers).
 * Before: the caller makes its writes of the input visible to compute shaders, e.g.
 *   vkCmdPipelineBarrier(src = the writer's stage/access,
 *                        dst = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT / VK_ACCESS_SHADER_READ_BIT)
 * and must not read or write the output range meanwhile.
 * After: the output is written by compute shaders; the caller adds a barrier from
 *   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT / VK_ACCESS_SHADER_WRITE_BIT to its reader.
 * Between the dispatches the library records its own compute-to-compute barriers. The
 * session's intermediate buffers are shared by every recording of that session: do not let
 * two submissions of the same session run at the same time (on one queue, begin each frame's
 * recording after a compute-to-compute barrier). The recording is untracked: its descriptor
 * sets outlive a later re-record until repmlp_session_release_recordings ("Frames in flight"
 * below; repmlp_session_record_tracked frees them without that call). */
REPMLP_API repmlp_status repmlp_session_record(repmlp_session *session, VkCommandBuffer cmd);

/** One part of a session spread over several frames (repmlp_session_part_info).
 * The session's work split into `parts` pieces at op boundaries, each of about equal
 * estimated cost (an op's FLOPs + 4 x the bytes it moves + a fixed per-dispatch cost; see
 * repmlp_session_part_info), so an engine can record part i of n into frame i's command buffer
 * and keep each frame's share small. Intermediate results stay in the session between parts.
 * Record parts 0, 1, ..., n-1 in that order into submissions on ONE queue, in submission order:
 * each part after the first begins with a compute-to-compute barrier, which orders it after
 * the previous part's writes. Before part 0 and after part n-1 the barriers of
 * repmlp_session_record apply (input visible before part 0; output written after part n-1).
 * A part may be empty when parts exceed the session's op count. repmlp_session_record(s, cmd)
 * is repmlp_session_record_part(s, cmd, 0, 1). The session must not run (execute, another
 * recording) between its parts. */
typedef struct repmlp_part_info {
    uint32_t first_node;       /**< the first op of this part, in run order */
    uint32_t node_count;       /**< the ops of this part */
    uint32_t total_nodes;      /**< the ops of the whole session */
    double estimated_fraction; /**< this part's share of the session's estimated cost */
} repmlp_part_info;
/** Which ops part `part` of `parts` holds and its share of the cost (see repmlp_part_info). */
REPMLP_API repmlp_status repmlp_session_part_info(const repmlp_session *session, uint32_t part,
                                                  uint32_t parts, repmlp_part_info *out);
/** Records part `part` of `parts` (see repmlp_part_info) into `cmd`. */
REPMLP_API repmlp_status repmlp_session_record_part(repmlp_session *session, VkCommandBuffer cmd,
                                                    uint32_t part, uint32_t parts);

/* ---- Frames in flight: what a recording uses, and how long ----
 * A recording (repmlp_session_record, _record_part, _record_tracked) makes the application's
 * command buffer use the session's descriptor sets, texel views and top-k buffers: a
 * "generation" of the session's bound resources. repmlp_session_bind_buffers, _set_topk and
 * _bind_image change them and re-record the session; the generation that earlier recordings
 * use is then retired, not freed, and freed only when the application's submissions holding
 * it have completed:
 * - a recording made with repmlp_session_record_tracked names what its submission signals
 *   (repmlp_completion); the library polls it (vkGetSemaphoreCounterValue, vkGetFenceStatus;
 *   it never waits) on later calls of record_tracked, bind_buffers, set_topk, bind_image,
 *   repmlp_session_poll and release_recordings, and frees the retired generation once every
 *   completion named for it has signalled;
 * - a recording made with repmlp_session_record or _record_part names nothing: its generation
 *   lives until repmlp_session_release_recordings (or the session's destruction).
 * The session's own runs (run, execute, submit) are tracked by the library itself. A command
 * buffer recorded with record_tracked is submitted once (its completion is that submission's);
 * one that is submitted again and again without re-recording holds an untracked recording
 * (record / record_part) and is released after its last submission completed. Nothing of this
 * runs per run or per recording beyond the polls: retiring happens only when the session is
 * re-recorded, and recording again with the same semaphore or fence allocates nothing.
 * Destroying the session frees every generation: its recordings must have completed. */

/** What the application's submission of a recording signals when it has completed: a timeline
 * semaphore (VK_SEMAPHORE_TYPE_TIMELINE, on a device with repmlp_vulkan_handles
 * .timeline_semaphores) reaching `value`, which it is below now, and/or a fence (unsignalled
 * now: reset before recording). With both, both
 * must signal. A later value of the same semaphore, or the same fence signalled after being
 * reset, stands for the earlier ones (Vulkan allows resetting a fence only when its
 * submission has completed). The library polls them until it has seen them signalled: keep
 * them alive while the session lives, or call repmlp_session_release_recordings before
 * destroying them. */
typedef struct repmlp_completion {
    /** sizeof(repmlp_completion) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    VkSemaphore semaphore; /**< a timeline semaphore; VK_NULL_HANDLE: none */
    uint64_t value;        /**< the value `semaphore` reaches */
    VkFence fence;         /**< VK_NULL_HANDLE: none */
} repmlp_completion;

/** A repmlp_completion with its size set, naming nothing yet. */
#define REPMLP_COMPLETION_INIT REPMLP_SIZED_INIT(repmlp_completion)

/** repmlp_session_record_part, for a command buffer whose one submission signals `done` when
 * it has completed (see above): the recording's generation is freed after that without
 * repmlp_session_release_recordings. REPMLP_ERROR_INVALID_ARGUMENT when done is NULL, names
 * neither, or has already signalled; REPMLP_ERROR_UNSUPPORTED for a semaphore without
 * timeline semaphores. */
REPMLP_API repmlp_status repmlp_session_record_tracked(repmlp_session *session, VkCommandBuffer cmd,
                                                       uint32_t part, uint32_t parts,
                                                       const repmlp_completion *done);

/** The application's promise that every submission of every command buffer into which it
 * recorded this session so far (tracked or not) has completed, e.g. after vkQueueWaitIdle or
 * waiting for each frame's fence: frees the retired generations. Recordings made later are
 * held again. */
REPMLP_API repmlp_status repmlp_session_release_recordings(repmlp_session *session);

/* ---- A picture on the GPU as the input ---- */

/** A rendered or uploaded picture the session reads its input from. Start from
 * REPMLP_IMAGE_INPUT_INIT. */
typedef struct repmlp_image_input {
    /** sizeof(repmlp_image_input) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    VkImageView view; /**< 2-D, one level and layer, of an image with SAMPLED usage */
    /** Its layout while the session's work runs: SHADER_READ_ONLY_OPTIMAL or GENERAL */
    VkImageLayout layout;
    /** R8G8B8A8_UNORM/_SRGB, B8G8R8A8_UNORM/_SRGB, R16G16B16A16_SFLOAT or R32G32B32A32_SFLOAT
     * (sRGB views are re-encoded: the 8-bit values the picture holds are what the model
     * sees) */
    VkFormat format;
    uint32_t width;  /**< any size */
    uint32_t height; /**< any size */
} repmlp_image_input;

/** A repmlp_image_input with its size set and no picture yet. */
#define REPMLP_IMAGE_INPUT_INIT REPMLP_SIZED_INIT(repmlp_image_input)

/** Makes a batch-1 session take its input from `image`: its first dispatch preprocesses the
 * picture exactly as repmlp-run --image does on the host (repmlp_model_preprocessing: 8-bit
 * values, luminance for 1-channel models, area average to the source size, normalise,
 * bilinear resize) into the session's input, then the network runs. The model must carry its
 * preprocessing. Before the session's work (execute, submit or a recording), the caller
 * makes its writes of the image visible to compute-shader reads in `layout`; the view must stay
 * valid while bound and until the submissions of recordings made while it was bound have
 * completed. NULL unbinds (the input buffer is used again). Not together with a bound input
 * buffer. Re-records the session (once, not per run): earlier recordings keep their
 * descriptor sets until their submissions completed ("Frames in flight" above). */
REPMLP_API repmlp_status repmlp_session_bind_image(repmlp_session *session,
                                                   const repmlp_image_input *image);

/* ---- Asynchronous submission ---- */

/** The Vulkan objects of a context (its own or the imported ones), e.g. to create semaphores
 * on a library-owned device. The library keeps ownership. */
typedef struct repmlp_vulkan_handles {
    VkInstance instance;              /**< the context's instance */
    VkPhysicalDevice physical_device; /**< its physical device */
    VkDevice device;                  /**< its device */
    uint32_t queue_family;            /**< the family of `queue` */
    VkQueue queue;                    /**< the queue the library submits to */
    bool timeline_semaphores;         /**< timeline values may be used in repmlp_session_submit */
} repmlp_vulkan_handles;
/** Fills *out with the context's Vulkan objects. */
REPMLP_API repmlp_status repmlp_context_vulkan(const repmlp_context *ctx,
                                               repmlp_vulkan_handles *out);

/** The most semaphores one repmlp_submit_info waits on. */
#define REPMLP_SUBMIT_MAX_WAITS 16
/** Semaphores for one submission (at most REPMLP_SUBMIT_MAX_WAITS waits); start from
 * REPMLP_SUBMIT_INFO_INIT. A value array may be NULL when all its semaphores are binary; with
 * timeline semaphores (repmlp_vulkan_handles.timeline_semaphores) it holds one value per
 * semaphore (ignored for binary ones). */
typedef struct repmlp_submit_info {
    /** sizeof(repmlp_submit_info) in the application's header, as repmlp_context_desc.size. */
    uint32_t size;
    uint32_t wait_count;                     /**< semaphores to wait on */
    const VkSemaphore *wait_semaphores;      /**< wait_count semaphores */
    const uint64_t *wait_values;             /**< NULL or wait_count values */
    const VkPipelineStageFlags *wait_stages; /**< NULL (the compute stage) or wait_count */
    uint32_t signal_count;                   /**< semaphores to signal */
    const VkSemaphore *signal_semaphores;    /**< signal_count semaphores */
    const uint64_t *signal_values;           /**< NULL or signal_count values */
} repmlp_submit_info;

/** A repmlp_submit_info with its size set, waiting on and signalling nothing yet. */
#define REPMLP_SUBMIT_INFO_INIT REPMLP_SIZED_INIT(repmlp_submit_info)

/** Submits the session's recorded run (as repmlp_session_execute) without waiting for it: after
 * the waits in `info` (NULL: none) are satisfied it runs, then signals info's semaphores and
 * the session's own fence. repmlp_session_poll / repmlp_session_wait tell when it is done;
 * until then the session's input, output and top-k must not be read or written
 * (read_output and friends refuse). Timeline values need timeline semaphores
 * (REPMLP_ERROR_UNSUPPORTED otherwise). */
REPMLP_API repmlp_status repmlp_session_submit(repmlp_session *session,
                                               const repmlp_submit_info *info);

/** Makes the session read its input from, and write its output to, the caller's buffers
 * instead of its own: `input` bytes [input_offset, + input floats * 4) and likewise for
 * output. The buffers must come from the session's VkDevice and need only
 * VK_BUFFER_USAGE_STORAGE_BUFFER_BIT (where the library's kernels read operands through
 * uniform texel views, which such a buffer cannot back, a bound input is first copied into the
 * session's own buffer by one compute pass); offsets must be multiples of
 * minStorageBufferOffsetAlignment. The command buffer is
 * re-recorded once here, not per run. Pass VK_NULL_HANDLE for either buffer to return that
 * side to the session's own buffer. After binding, repmlp_session_execute() runs on the
 * caller's data; repmlp_session_write_input/read_output keep using the session's own
 * buffers. The caller must keep the buffers alive while bound and until the submissions of
 * recordings made while they were bound have completed. Earlier recordings keep using the
 * buffers they were recorded with, through descriptor sets that live until their submissions
 * completed ("Frames in flight" above). */
REPMLP_API repmlp_status repmlp_session_bind_buffers(repmlp_session *session, VkBuffer input,
                                                     VkDeviceSize input_offset, VkBuffer output,
                                                     VkDeviceSize output_offset);

#ifdef __cplusplus
}
#endif

#endif
