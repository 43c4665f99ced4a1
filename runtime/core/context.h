/* Private: the context's insides, shared by every runtime file. */
#ifndef RM_CONTEXT_H
#define RM_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <volk.h>

#include "repmlp/context.h"
#include "core/error.h"
#include "core/mutex.h"
#include "core/test_hooks.h"

/* What the device can do, read once at context creation and then clamped to the device
 * profile in effect (REPMLP_DEVICE_PROFILE, see core/limits.h): the ONE set of limits the
 * library plans against and checks against. Only read_caps reads the device's own limits
 * (tests/check_caps_only.sh). Kernels are chosen from this. */
typedef struct rm_device_caps {
    const char *profile; /* "none", "vulkan-min" or "phone" (static storage) */
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_count[3];
    uint32_t max_shared_memory;
    uint32_t max_push_constants;
    uint32_t max_per_stage_storage_buffers;
    uint32_t max_per_stage_sampled_images; /* uniform texel buffers count here */
    uint32_t max_per_stage_uniform_buffers;
    uint32_t max_bound_descriptor_sets;
    uint32_t max_descriptor_set_storage_buffers;
    uint32_t max_per_set_descriptors; /* maintenance3 (core in Vulkan 1.1) */
    uint64_t max_storage_buffer_range;
    uint64_t max_texel_buffer_elements;
    uint64_t min_storage_buffer_offset_alignment;
    uint64_t min_texel_buffer_offset_alignment;
    uint64_t max_allocation_size; /* maintenance3 (core in Vulkan 1.1) */
    uint64_t device_local_bytes;  /* size of the largest device-local heap */
    uint32_t device_local_heap;   /* its index: where weights and activations go */
    uint32_t subgroup_size;       /* the device's real subgroup size */
    /* The subgroup width workgroups are planned for: the real size, or the profile's (the one
     * value a profile may raise). */
    uint32_t plan_subgroup_size;
    bool subgroup_arithmetic; /* compute-stage subgroup arithmetic operations */
    bool storage_16bit;       /* storageBuffer16BitAccess, enabled on the device */
    bool shader_float16;      /* shaderFloat16 (VK_KHR_shader_float16_int8), enabled */
    /* VK_NV_cooperative_matrix enabled and a subgroup-scope fp16 x fp16 + fp32 shape of
     * RM_COOP_M x RM_COOP_N x RM_COOP_K (shaders/gemm_layout.h) reported */
    bool cooperative_matrix_nv;
    bool fp16_weights;        /* REPMLP_CONTEXT_FP16_WEIGHTS requested and storage_16bit */
    bool timestamps;          /* compute queue has timestamp bits */
    bool timeline_semaphores; /* timelineSemaphore enabled (VK_KHR_timeline_semaphore) */
    uint32_t timestamp_valid_bits;
    float timestamp_period_ns;
    bool unified_memory;  /* rm_memory_is_uma (memory_choice.h): device buffers are mapped */
    bool memory_priority; /* VK_EXT_memory_priority enabled on a device the library created */
    /* VK_KHR_pipeline_executable_properties enabled for REPMLP_CONTEXT_COMPILE_STATS: every
     * pipeline is created capturing its statistics and disassembly (core/pipeline_stats.h). */
    bool pipeline_stats;
} rm_device_caps;

/* The offset alignment of every binding the library plans (weights, activations): both the
 * storage- and the texel-buffer alignment, at least 16 bytes (one vec4). */
static inline uint64_t rm_caps_binding_alignment(const rm_device_caps *c) {
    uint64_t a = c->min_storage_buffer_offset_alignment;
    if (c->min_texel_buffer_offset_alignment > a) a = c->min_texel_buffer_offset_alignment;
    return a < 16 ? 16 : a;
}

/* How GEMM-core ops with RM_GEMM_AUTO read their operands: measured on the context's device
 * the first time one is prepared (ops/operand_path.c), or forced by REPMLP_OPERAND_PATH. */
typedef enum rm_operand_path {
    RM_OPERAND_UNDECIDED = 0,
    RM_OPERAND_STORAGE,
    RM_OPERAND_TEXEL,
} rm_operand_path;

struct rm_pipeline_cache_entry;

struct repmlp_context {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical_device;
    VkDevice device;
    bool owns_instance; /* false when imported from the application */
    bool owns_device;
    uint32_t queue_family;
    VkQueue queue;
    struct VolkDeviceTable vk;

    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory;
    rm_device_caps caps;
    repmlp_device_info info;

    VkCommandPool command_pool; /* for one-off transfers; guarded by lock */
    VkFence fence;              /* for one-off transfers; guarded by lock */
    VkPipelineCache pipeline_cache;
    const VkAllocationCallbacks *vk_allocator; /* the application's, or NULL */
    VkSampler sampler; /* nearest, for sampled-image inputs (texelFetch ignores its filters) */
    struct rm_pipeline_cache_entry *pipelines; /* built pipelines, shared by all ops */
    struct rm_block *blocks; /* device memory shared by small buffers (core/suballoc.h) */

    rm_mutex lock;          /* queue submission, the transfer pool, the pipeline list, the blocks */
    rm_mutex transfer_lock; /* one-off transfers share ctx->fence: one at a time */
    rm_mutex operand_lock;  /* the operand-path choice: measured once, by one thread */
    rm_operand_path operand_path;        /* guarded by operand_lock */
    rm_operand_path operand_path_forced; /* REPMLP_OPERAND_PATH, read at creation */
#ifdef REPMLP_TEST_HOOKS
    rm_test_hooks test_hooks; /* read through rm_test_hook (core/test_hooks.h) */
#endif
    const struct rm_profile *profile; /* REPMLP_DEVICE_PROFILE (NULL: none), see limits.h */
    uint64_t timeout_ns;
    uint32_t flags;
    repmlp_log_fn log;
    void *log_user;
    /* Atomic: the layer reports on whichever thread made the call. */
    _Atomic uint32_t validation_messages;
    uint32_t *validation_counter; /* the application's, see repmlp_context_desc */
    /* Device memory: what the library's buffers hold now (in all and per heap), the
     * application's cap on it (0: none), and whether VK_EXT_memory_budget can be queried
     * (memory.c). */
    _Atomic uint64_t memory_used;
    _Atomic uint64_t heap_used[VK_MAX_MEMORY_HEAPS];
    uint64_t memory_limit;
    bool memory_budget_ext;
    /* The application's lock of an imported queue (NULL: none), see repmlp_vulkan_import. */
    void (*queue_lock)(void *user);
    void (*queue_unlock)(void *user);
    void *queue_lock_user;
    /* VK_ERROR_DEVICE_LOST seen: every later call reports it. Atomic: any thread's failed
     * submit or wait sets it while the others check it. */
    atomic_bool lost;
    bool ready; /* creation finished (rm_context_finish): work may have been submitted */
    /* Kernel tuning (exec/tune.h): the per-session budget, and the known shapes' winners and
     * the deny list (one rm_free'd block, NULL until used; guarded by lock). */
    uint32_t tune_budget_ms;
    struct rm_tune_store *tune;
};

void rm_log(const repmlp_context *ctx, repmlp_log_level level, const char *fmt, ...)
    RM_PRINTF(3, 4);

/* Maps a failed VkResult to a status and message naming the call; marks device loss. */
repmlp_status rm_vk_fail(repmlp_context *ctx, VkResult result, const char *call);

/* Returns REPMLP_ERROR_DEVICE_LOST (with a message) once the device has been lost. */
repmlp_status rm_check_alive(repmlp_context *ctx);

/* REPMLP_ERROR_UNSUPPORTED naming `what` on a REPMLP_CONTEXT_COMPILE_ONLY context (which never
 * runs, allocates on or uploads to its device), else REPMLP_OK. */
repmlp_status rm_check_runs(const repmlp_context *ctx, const char *what);

/* Resets fence and submits on the context's queue under its lock (and the application's queue
 * lock, for an imported queue). */
repmlp_status rm_queue_submit(repmlp_context *ctx, const VkSubmitInfo *submit, VkFence fence);
/* Submits cmd on the context's queue and waits for it, within the context's timeout. */
repmlp_status rm_submit_wait(repmlp_context *ctx, VkCommandBuffer cmd, VkFence fence);

const char *rm_vk_result_name(VkResult result);

/* Refuses (REPMLP_ERROR_OUT_OF_DEVICE_MEMORY, with a message) a new allocation of `bytes` that
 * would pass the context's memory limit or, where VK_EXT_memory_budget is present, the
 * budget of `heap` (RM_HEAP_NONE: the limit only). */
#define RM_HEAP_NONE UINT32_MAX
repmlp_status rm_memory_check(repmlp_context *ctx, uint32_t heap, uint64_t bytes);
/* The budget part alone (a shared block of memory: the limit counts buffers' bytes). */
repmlp_status rm_memory_check_budget(repmlp_context *ctx, uint32_t heap, uint64_t bytes);
/* Counts `bytes` in (add) or out of (!add) the context's usage of `heap`. */
void rm_memory_count(repmlp_context *ctx, uint32_t heap, uint64_t bytes, bool add);
/* Whether the physical device offers the device extension (false when out of memory). */
bool rm_has_device_extension(VkPhysicalDevice pd, const char *name);
/* Looks for VK_EXT_memory_budget on the context's physical device. */
void rm_memory_init(repmlp_context *ctx);

/* Context construction steps shared by the library-owned and the imported paths. */
repmlp_status rm_context_alloc(const repmlp_context_desc *desc, repmlp_context **out);
/* After ctx->device, physical_device, queue_family, info and caps are set. */
repmlp_status rm_context_finish(repmlp_context *ctx);

#endif
