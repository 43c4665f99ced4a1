/** @file
 * repmlp-vk: the context — one Vulkan device and the library state bound to it.
 *
 * A context is created either by the library (repmlp_context_create: it makes its own
 * instance and device) or, for applications that already own Vulkan, from the caller's
 * objects (see repmlp/vulkan.h). Models are loaded onto a context and may only be used with
 * the context they were loaded on. Every function here returns a repmlp_status and, on
 * failure, leaves a one-line explanation in repmlp_last_error().
 *
 * Threads: one context may be used from several threads at once as long as each thread runs
 * its own prepared models; queue submission is serialised inside the context. Destroying a
 * context while another thread uses it, or before the models loaded on it, is a programming
 * error. Create and destroy contexts (and call repmlp_device_list / repmlp_vulkan_query) from
 * one thread at a time: loading the Vulkan entry points is process-wide. */
#ifndef REPMLP_CONTEXT_H
#define REPMLP_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repmlp/export.h"
#include "repmlp/status.h"
#include "repmlp/version.h" /* the version, declared here before 0.9 */

#ifdef __cplusplus
extern "C" {
#endif

/** A Vulkan device and the library's state on it (opaque). */
typedef struct repmlp_context repmlp_context;
struct VkAllocationCallbacks; /* Vulkan's; only repmlp/vulkan.h users need its definition */

/** How important a library message is. */
typedef enum repmlp_log_level {
    REPMLP_LOG_DEBUG = 0,   /**< details for debugging the library */
    REPMLP_LOG_INFO = 1,    /**< what the library chose (device, caches loaded) */
    REPMLP_LOG_WARNING = 2, /**< something ignored or worked around (a stale cache) */
    REPMLP_LOG_ERROR = 3,   /**< a validation-layer error, a failure */
} repmlp_log_level;

/** Receives library messages (device choice, validation-layer reports, ignored caches). The
 * library never prints; without a callback messages are dropped. */
typedef void (*repmlp_log_fn)(void *user, repmlp_log_level level, const char *message);

/** The kind of a Vulkan device (VkPhysicalDeviceType). */
typedef enum repmlp_device_type {
    REPMLP_DEVICE_OTHER = 0,          /**< none of the below */
    REPMLP_DEVICE_INTEGRATED_GPU = 1, /**< a GPU sharing memory with the host */
    REPMLP_DEVICE_DISCRETE_GPU = 2,   /**< a GPU with memory of its own */
    REPMLP_DEVICE_VIRTUAL_GPU = 3,    /**< a GPU of a virtual machine */
    REPMLP_DEVICE_CPU = 4,            /**< a driver running on the CPU (lavapipe, SwiftShader) */
} repmlp_device_type;

/** One Vulkan device, as repmlp_device_list and repmlp_context_device describe it. */
typedef struct repmlp_device_info {
    uint32_t index;          /**< position in repmlp_device_list() order (the loader's order) */
    char name[256];          /**< the driver's name for the device */
    repmlp_device_type type; /**< its kind */
    uint32_t vendor_id;      /**< VkPhysicalDeviceProperties.vendorID */
    uint32_t device_id;      /**< VkPhysicalDeviceProperties.deviceID */
    uint32_t api_version;    /**< VK_MAKE_API_VERSION encoding */
    uint32_t driver_version; /**< the driver's own encoding */
    bool usable;             /**< the device meets the library's needs (Vulkan 1.1, compute) */
    /** The device compiles pipelines but cannot run work: it reports no memory heaps (a
     * driver's null device, e.g. RADV with RADV_FORCE_FAMILY and no GPU). Only a context with
     * the experimental REPMLP_CONTEXT_COMPILE_ONLY can be created on it; the default choice
     * passes it over. */
    bool compile_only;
} repmlp_device_info;

/** A bit mask of repmlp_context_flag_bits (and, with REPMLP_EXPERIMENTAL, the experimental
 * flags). */
typedef uint32_t repmlp_context_flags;

/** Context creation flags (repmlp_context_desc.flags). */
typedef enum repmlp_context_flag_bits {
    /** Enable VK_LAYER_KHRONOS_validation, its synchronization validation (missing barriers,
     * VK_EXT_validation_features) included, and route its reports to the log callback;
     * creation fails with REPMLP_ERROR_UNSUPPORTED if the layer is not installed. */
    REPMLP_CONTEXT_VALIDATION = 1u << 0,
    /** Never use 16-bit storage even where the device has it (fp32 everywhere). */
    REPMLP_CONTEXT_NO_FP16 = 1u << 1,
    /** Never map device buffers, even where the device shares host memory: transfers go
     * through staging buffers as on a discrete GPU. For testing that path on integrated and CPU
     * devices; slower there. */
    REPMLP_CONTEXT_FORCE_STAGING = 1u << 2,
    /** Store the weights of GEMMs and convolutions (nearly all of a model's bytes) as fp16
     * where the device has 16-bit storage: half the weight memory and traffic, fp32
     * arithmetic. Results then differ from fp32 by ~1e-3 relative instead of ~1e-7; a model
     * with a weight beyond fp16's range (65504) fails to load. Ignored (fp32) where the device
     * lacks 16-bit storage, and with REPMLP_CONTEXT_NO_FP16. */
    REPMLP_CONTEXT_FP16_WEIGHTS = 1u << 3,
    /** Kernel tuning: repmlp_session_create times every kernel variant that can run each GEMM
     * and convolution of the session (once per distinct shape; warm-up, then the median of a
     * few runs), checks each one's output against the built-in choice on random data, and
     * records the session with the fastest. Shapes the context already knows (measured by an
     * earlier session, or loaded with repmlp_context_load_cache) are not measured again. Off
     * by default: creating a session then costs up to tune_budget_ms more. Without the flag
     * the built-in choice is used, except for shapes in loaded tuning data. */
    REPMLP_CONTEXT_TUNE = 1u << 4,
} repmlp_context_flag_bits;

#if defined(REPMLP_EXPERIMENTAL)
/** Experimental context flags (REPMLP_EXPERIMENTAL). */
enum repmlp_context_experimental_flag_bits {
    /** Plan and compile, never run: nothing is allocated on or uploaded to the device, and the
     * device is never waited on (no fence, no command pool). Models load their metadata,
     * config and tensor table but no weights; repmlp_session_create plans the graph and
     * creates every pipeline the session would use, with its real specialization constants
     * (the built-in kernel choice: REPMLP_CONTEXT_TUNE and loaded tuning data are ignored;
     * operands through storage buffers unless REPMLP_OPERAND_PATH says texel, since the
     * measured choice needs a run). Weights are neither read nor checked (finite values).
     * Running, writing, reading, recording, binding and submitting a session fail with
     * REPMLP_ERROR_UNSUPPORTED. The pipeline cache fills and saves as usual
     * (repmlp_context_save_cache), so a cache can be built ahead of time; with
     * REPMLP_CONTEXT_COMPILE_STATS, repmlp_session_op_compile_stats reports each op's compiled
     * code. The one kind of context a compile-only device (repmlp_device_info) takes. */
    REPMLP_CONTEXT_COMPILE_ONLY = 1u << 5,
    /** Keep the driver's statistics and disassembly of every pipeline
     * (VK_KHR_pipeline_executable_properties, where the device has it) for
     * repmlp_session_op_compile_stats. Costs compile time and host memory; meant for
     * compile-only contexts and benchmarks. */
    REPMLP_CONTEXT_COMPILE_STATS = 1u << 6,
};
#endif

/** How to create a context (repmlp_context_create, repmlp_context_import). Start from
 * REPMLP_CONTEXT_DESC_INIT: zero is every field's default. */
typedef struct repmlp_context_desc {
    /** sizeof(repmlp_context_desc) in the application's header. The struct only grows at its
     * end: the library reads `size` bytes and gives fields past them their default; a size
     * below the first published layout's (0, for one) is REPMLP_ERROR_INVALID_ARGUMENT. */
    uint32_t size;
    repmlp_context_flags flags; /**< repmlp_context_flag_bits */
    /** NULL or "" picks the best device (discrete > integrated > virtual > CPU > other); a
     * decimal number is an index from repmlp_device_list(); anything else is matched as a
     * case-insensitive substring of the device name. */
    const char *device;
    repmlp_log_fn log; /**< NULL: messages are dropped */
    void *log_user;    /**< passed to log */
    /** How long a run may wait for the device before REPMLP_ERROR_TIMEOUT; 0 means 60 s. */
    uint64_t timeout_ns;
    /** Optional (NULL: none), a testing aid: incremented with every validation-layer warning
     * and error, as the experimental repmlp_context_validation_messages() counts them, and
     * also while repmlp_context_destroy runs, where the layer reports objects that were never
     * destroyed (leaks). The layer reports on whichever thread made the call: the library
     * increments it under a lock of its own (one for all contexts, so several may share the
     * counter). It must stay valid until repmlp_context_destroy returns; check it after that. */
    uint32_t *validation_counter;
    /** Optional cap (0: none) on the device memory the context's models and sessions may
     * hold; a load or session that would pass it fails with REPMLP_ERROR_OUT_OF_DEVICE_MEMORY
     * before anything is allocated. Ask first with repmlp_model_memory_needed /
     * repmlp_session_memory_needed. */
    uint64_t device_memory_limit;
    /** Optional (NULL: the driver's): the application's VkAllocationCallbacks, passed to every
     * vkCreate*, vkAllocate*, vkDestroy* and vkFree* call the library makes (instance and
     * device included when the library creates them). Must outlive the context. */
    const struct VkAllocationCallbacks *vk_allocator;
    /** With REPMLP_CONTEXT_TUNE: the most time (ms) one repmlp_session_create spends
     * measuring kernels; 0 means 30000. Shapes left when it is spent keep the built-in choice
     * and are measured by a later session. */
    uint32_t tune_budget_ms;
} repmlp_context_desc;

/** A repmlp_context_desc with its size set and every option at its default. */
#define REPMLP_CONTEXT_DESC_INIT REPMLP_SIZED_INIT(repmlp_context_desc)

/** Lists the Vulkan devices, as Vulkan's count queries do.
 * @param infos NULL to ask for the number only, else an array of *count entries.
 * @param count in: the capacity of infos; out: the number of devices (infos NULL) or of
 *        entries written.
 * @return REPMLP_OK, or REPMLP_INCOMPLETE (a success) when infos had room for fewer than all
 *         devices: the first *count are filled. */
REPMLP_API repmlp_status repmlp_device_list(repmlp_device_info *infos, uint32_t *count);

/** Creates a context on the selected device.
 * @param desc NULL for all defaults.
 * @param out receives the context (NULL on failure); destroy it with repmlp_context_destroy. */
REPMLP_API repmlp_status repmlp_context_create(const repmlp_context_desc *desc,
                                               repmlp_context **out);

/** Waits for the device to be idle, then frees everything the context made. Objects the
 * caller imported are never destroyed. NULL is allowed. */
REPMLP_API void repmlp_context_destroy(repmlp_context *ctx);

/** The device the context runs on. */
REPMLP_API repmlp_status repmlp_context_device(const repmlp_context *ctx, repmlp_device_info *out);

/** The limits and optional features the library plans against on a context: the device's
 * own, or, when the environment variable REPMLP_DEVICE_PROFILE is set at context creation,
 * clamped to that device profile (a testing aid; see docs/PORTING.md):
 *   vulkan-min  every limit at the Vulkan 1.1 required minimum, no 16-bit storage, no subgroup
 *               arithmetic;
 *   phone       the same, plus 256 MiB allocations, no timestamps and workgroups planned for
 *               64-wide subgroups.
 * A profile only ever lowers a limit (raises an alignment), except plan_subgroup_size. Any
 * other value makes context creation fail with REPMLP_ERROR_INVALID_ARGUMENT. Everything the
 * library creates is checked against these before the driver sees it; a request beyond them
 * fails with REPMLP_ERROR_UNSUPPORTED (REPMLP_ERROR_TOO_LARGE for sizes) naming the limit. */
typedef struct repmlp_device_limits {
    const char *profile;                    /**< "none", "vulkan-min" or "phone" (static storage) */
    uint32_t max_workgroup_invocations;     /**< maxComputeWorkGroupInvocations */
    uint32_t max_workgroup_size[3];         /**< maxComputeWorkGroupSize */
    uint32_t max_workgroup_count[3];        /**< maxComputeWorkGroupCount */
    uint32_t max_shared_memory;             /**< maxComputeSharedMemorySize, bytes */
    uint32_t max_push_constants;            /**< maxPushConstantsSize, bytes */
    uint32_t max_per_stage_storage_buffers; /**< maxPerStageDescriptorStorageBuffers */
    /** maxPerStageDescriptorSampledImages (uniform texel buffers count here) */
    uint32_t max_per_stage_sampled_images;
    uint32_t max_per_stage_uniform_buffers;       /**< maxPerStageDescriptorUniformBuffers */
    uint32_t max_bound_descriptor_sets;           /**< maxBoundDescriptorSets */
    uint32_t max_descriptor_set_storage_buffers;  /**< maxDescriptorSetStorageBuffers */
    uint32_t max_per_set_descriptors;             /**< maxPerSetDescriptors */
    uint64_t max_storage_buffer_range;            /**< maxStorageBufferRange, bytes */
    uint64_t max_texel_buffer_elements;           /**< maxTexelBufferElements */
    uint64_t min_storage_buffer_offset_alignment; /**< minStorageBufferOffsetAlignment */
    uint64_t min_texel_buffer_offset_alignment;   /**< minTexelBufferOffsetAlignment */
    uint64_t max_allocation_size;                 /**< maxMemoryAllocationSize, bytes */
    uint64_t device_local_bytes;   /**< the largest device-local heap (never clamped) */
    uint32_t subgroup_size;        /**< the device's real subgroup size */
    uint32_t plan_subgroup_size;   /**< the width workgroups are planned for */
    bool storage_16bit;            /**< 16-bit storage is enabled and used */
    bool subgroup_arithmetic;      /**< compute shaders may use subgroup arithmetic */
    bool timestamps;               /**< the queue has timestamps (per-op profiles) */
    uint32_t timestamp_valid_bits; /**< the queue's timestampValidBits */
} repmlp_device_limits;

/** Fills *out with the limits in effect on ctx (see repmlp_device_limits). */
REPMLP_API repmlp_status repmlp_context_limits(const repmlp_context *ctx,
                                               repmlp_device_limits *out);

/** The most heaps repmlp_memory_info describes. */
#define REPMLP_MAX_HEAPS 16

/** One memory heap of the device (VkPhysicalDeviceMemoryProperties.memoryHeaps). */
typedef struct repmlp_heap_info {
    uint64_t size;     /**< bytes */
    uint64_t used;     /**< bytes the context's buffers hold in this heap now */
    uint64_t budget;   /**< VK_EXT_memory_budget's budget for the heap; 0 without it */
    uint64_t usage;    /**< and its usage (every process's, as the driver reports it) */
    bool device_local; /**< VK_MEMORY_HEAP_DEVICE_LOCAL_BIT */
} repmlp_heap_info;

/** Device memory as the library sees it. Weights and activations go to the main heap (the
 * largest device-local one); staging buffers and, on a discrete GPU, small input/output
 * buffers may go to others (docs/MEMORY.md): heaps[] tells each heap's share. */
typedef struct repmlp_memory_info {
    uint64_t used;        /**< bytes the context's models and sessions hold now, in all heaps */
    uint64_t limit;       /**< repmlp_context_desc.device_memory_limit (0: none) */
    uint64_t heap_size;   /**< the main heap's size */
    uint64_t heap_budget; /**< VK_EXT_memory_budget's budget for the main heap; 0 without it */
    uint64_t heap_usage;  /**< and its usage (every process's, as the driver reports it) */
    uint32_t main_heap;   /**< its index in heaps[] */
    uint32_t heap_count;  /**< the device's heaps (at most REPMLP_MAX_HEAPS) */
    repmlp_heap_info heaps[REPMLP_MAX_HEAPS]; /**< heap_count entries */
} repmlp_memory_info;

/** Fills *out with the context's device memory use (see repmlp_memory_info). */
REPMLP_API repmlp_status repmlp_context_memory(const repmlp_context *ctx, repmlp_memory_info *out);

/** The application's host allocator: every host allocation the library makes goes through it
 * (not the Vulkan loader's or driver's, which take repmlp_context_desc.vk_allocator, and not
 * cJSON's, which follows the application's own cJSON_InitHooks). Start from
 * REPMLP_ALLOCATOR_INIT; all three functions are required. */
typedef struct repmlp_allocator {
    uint32_t size; /**< sizeof(repmlp_allocator), as repmlp_context_desc.size */
    void *(*malloc)(void *user, size_t size);             /**< as malloc */
    void *(*realloc)(void *user, void *ptr, size_t size); /**< as realloc */
    void (*free)(void *user, void *ptr);                  /**< as free */
    void *user;                                           /**< passed to the three */
} repmlp_allocator;

/** A repmlp_allocator with its size set and no functions yet. */
#define REPMLP_ALLOCATOR_INIT REPMLP_SIZED_INIT(repmlp_allocator)

/** Sets the application's host allocator. Process-wide: set it before any other library call
 * and keep it while anything the library made exists; NULL restores the C library's malloc. */
REPMLP_API repmlp_status repmlp_allocator_set(const repmlp_allocator *allocator);

/** Frees memory the library returned to the caller (repmlp_fuse_memory's bytes); NULL is
 * fine. */
REPMLP_API void repmlp_free(void *ptr);

/* ---- Device caches: pipelines and kernel tuning ---- */

/** What a context can save and load to skip work a later context on the same device would
 * repeat. Both are device files: a header pinning the device (vendor, device, driver version,
 * pipelineCacheUUID) and the library version, with the payload's checksum. */
typedef enum repmlp_cache_kind {
    /** The compiled pipelines (the driver's VkPipelineCache): a later load skips shader
     * compilation. */
    REPMLP_CACHE_PIPELINES = 0,
    /** The kernel choices the context has measured (REPMLP_CONTEXT_TUNE) or loaded, one per
     * GEMM/conv shape: sessions created after a load take them without measuring, with or
     * without REPMLP_CONTEXT_TUNE. */
    REPMLP_CACHE_TUNING = 1,
} repmlp_cache_kind;

/** Saves the context's cache of `kind` to `path`, atomically (a failed save leaves `path`
 * untouched). */
REPMLP_API repmlp_status repmlp_context_save_cache(repmlp_context *ctx, repmlp_cache_kind kind,
                                                   const char *path);

/** Loads a cache of `kind` saved by repmlp_context_save_cache, merging it into the context's.
 * Call it right after creating the context, before loading models and creating sessions. A
 * missing, damaged or stale file (another device, driver version, pipelineCacheUUID or library
 * version) is ignored with a log message and REPMLP_OK: a cache can never change results,
 * only speed. I/O errors other than a missing file are reported. */
REPMLP_API repmlp_status repmlp_context_load_cache(repmlp_context *ctx, repmlp_cache_kind kind,
                                                   const char *path);

/** repmlp_context_save_cache into memory: the same bytes as the file.
 * @param ctx the context whose cache is saved.
 * @param kind which cache.
 * @param data NULL to ask for the size only, else room for *size bytes.
 * @param size in: the capacity of data; out: the bytes needed (data NULL) or written.
 * @return REPMLP_ERROR_TOO_LARGE, with *size set to the bytes needed and nothing written, when
 *         data is too small: a cut cache is of no use, so there is no partial result. */
REPMLP_API repmlp_status repmlp_context_save_cache_memory(repmlp_context *ctx,
                                                          repmlp_cache_kind kind, void *data,
                                                          size_t *size);

/** repmlp_context_load_cache from `size` bytes at `data` (only read during the call). */
REPMLP_API repmlp_status repmlp_context_load_cache_memory(repmlp_context *ctx,
                                                          repmlp_cache_kind kind, const void *data,
                                                          size_t size);

#if defined(REPMLP_EXPERIMENTAL)
/** Experimental: how many warnings and errors the validation layer reported on this context
 * so far (0 when validation is off). Leaks are reported only when the device is destroyed: to
 * count those too, pass repmlp_context_desc.validation_counter and read it after
 * repmlp_context_destroy. */
REPMLP_API uint32_t repmlp_context_validation_messages(const repmlp_context *ctx);
#endif

#ifdef __cplusplus
}
#endif

#endif
