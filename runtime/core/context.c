/* Context creation: device choice, logical device, capabilities, teardown. */
#include "core/context.h"
#include "core/fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/instance.h"
#include "core/limits.h"
#include "core/memory_choice.h"
#include "core/pipeline.h"
#include "core/sized_struct.h"
#include "gemm_layout.h"
#include "repmlp/vulkan.h"

#define RM_DEFAULT_TIMEOUT_NS (60ull * 1000 * 1000 * 1000)

void rm_log(const repmlp_context *ctx, repmlp_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log) return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, message);
}

const char *rm_vk_result_name(VkResult r) {
    switch (r) {
#define RM_CASE(x)                                                                                 \
    case x:                                                                                        \
        return #x;
        RM_CASE(VK_SUCCESS)
        RM_CASE(VK_NOT_READY)
        RM_CASE(VK_TIMEOUT)
        RM_CASE(VK_INCOMPLETE)
        RM_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        RM_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        RM_CASE(VK_ERROR_INITIALIZATION_FAILED)
        RM_CASE(VK_ERROR_DEVICE_LOST)
        RM_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        RM_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        RM_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        RM_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        RM_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        RM_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        RM_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        RM_CASE(VK_ERROR_FRAGMENTED_POOL)
        RM_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        RM_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        RM_CASE(VK_ERROR_UNKNOWN)
#undef RM_CASE
        default:
            return "VkResult(unknown)";
    }
}

repmlp_status rm_vk_fail(repmlp_context *ctx, VkResult r, const char *call) {
    repmlp_status st;
    switch (r) {
        case VK_ERROR_OUT_OF_HOST_MEMORY:
            st = REPMLP_ERROR_OUT_OF_HOST_MEMORY;
            break;
        case VK_ERROR_OUT_OF_DEVICE_MEMORY:
        case VK_ERROR_OUT_OF_POOL_MEMORY:
        case VK_ERROR_FRAGMENTED_POOL:
            st = REPMLP_ERROR_OUT_OF_DEVICE_MEMORY;
            break;
        case VK_ERROR_DEVICE_LOST:
            if (ctx) atomic_store(&ctx->lost, true);
            st = REPMLP_ERROR_DEVICE_LOST;
            break;
        case VK_TIMEOUT:
            st = REPMLP_ERROR_TIMEOUT;
            break;
        default:
            st = REPMLP_ERROR_VULKAN;
    }
    return rm_fail(st, "%s failed: %s", call, rm_vk_result_name(r));
}

repmlp_status rm_check_runs(const repmlp_context *ctx, const char *what) {
    if (ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: the context on '%s' is compile-only (REPMLP_CONTEXT_COMPILE_ONLY): it "
                       "plans and compiles, it does not run",
                       what, ctx->info.name);
    return REPMLP_OK;
}

repmlp_status rm_check_alive(repmlp_context *ctx) {
    if (atomic_load(&ctx->lost))
        return rm_fail(REPMLP_ERROR_DEVICE_LOST,
                       "the Vulkan device '%s' was lost; destroy and recreate the context",
                       ctx->info.name);
    return REPMLP_OK;
}

/* Guards every context's increments of repmlp_context_desc.validation_counter. */
static rm_mutex validation_counter_lock = RM_MUTEX_INITIALIZER;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    (void)types;
    repmlp_context *ctx = user;
    repmlp_log_level level = REPMLP_LOG_DEBUG;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)
        level = REPMLP_LOG_ERROR;
    else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
        level = REPMLP_LOG_WARNING;
    if (level >= REPMLP_LOG_WARNING) {
        atomic_fetch_add(&ctx->validation_messages, 1u);
        if (ctx->validation_counter) {
            /* A plain uint32_t of the application's, maybe shared by several contexts. */
            rm_mutex_lock(&validation_counter_lock);
            (*ctx->validation_counter)++;
            rm_mutex_unlock(&validation_counter_lock);
        }
    }
    rm_log(ctx, level, "validation: %s", data && data->pMessage ? data->pMessage : "(no text)");
    return VK_FALSE;
}

static repmlp_status create_messenger(repmlp_context *ctx) {
    VkDebugUtilsMessengerCreateInfoEXT info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_debug_message,
        .pUserData = ctx,
    };
    VkResult r = RM_VK_CREATE(
        vkCreateDebugUtilsMessengerEXT(ctx->instance, &info, ctx->vk_allocator, &ctx->messenger));
    return r == VK_SUCCESS ? REPMLP_OK : rm_vk_fail(ctx, r, "vkCreateDebugUtilsMessengerEXT");
}

/* Optional device features the library enables when present (create_device). */
typedef struct rm_optional_features {
    bool storage16;       /* storageBuffer16BitAccess, and the device profile allows it */
    bool float16;         /* VK_KHR_shader_float16_int8 with shaderFloat16 */
    bool coop_nv;         /* VK_NV_cooperative_matrix with cooperativeMatrix and our shape, and the
                           * Vulkan memory model its modules declare (glslang emits it for them) */
    bool memory_priority; /* VK_EXT_memory_priority with memoryPriority */
} rm_optional_features;

/* Whether the device reports the cooperative-matrix shape of the GEMM core's NV kernel
 * (shaders/gemm_main_coopmat_nv.glsl): fp16 A and B, fp32 C and D, subgroup scope. */
static bool coop_nv_shape(VkPhysicalDevice pd) {
    if (!vkGetPhysicalDeviceCooperativeMatrixPropertiesNV) return false;
    uint32_t count = 0;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &count, NULL) != VK_SUCCESS)
        return false;
    VkCooperativeMatrixPropertiesNV *props = rm_calloc(count ? count : 1, sizeof *props);
    if (!props) return false;
    for (uint32_t i = 0; i < count; i++)
        props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    bool found = false;
    if (vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &count, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !found; i++) {
            const VkCooperativeMatrixPropertiesNV *m = &props[i];
            found = m->MSize == RM_COOP_M && m->NSize == RM_COOP_N && m->KSize == RM_COOP_K &&
                    m->AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                    m->BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                    m->CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                    m->DType == VK_COMPONENT_TYPE_FLOAT32_NV && m->scope == VK_SCOPE_SUBGROUP_NV;
        }
    rm_free(props);
    return found;
}

/* Reads limits and optional features (`optional`: which are available; 16-bit storage also
 * allowed by the device profile). The profile clamps the caps in rm_context_finish. */
static void read_caps(repmlp_context *ctx, rm_optional_features *optional) {
    VkPhysicalDeviceSubgroupProperties subgroup = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties maint3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &subgroup};
    VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &maint3};
    vkGetPhysicalDeviceProperties2(ctx->physical_device, &props2);
    ctx->properties = props2.properties;
    vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory);

    /* A feature struct is chained only when its extension exists (the library asks for
     * Vulkan 1.1, where both are extensions). */
    VkPhysicalDevice pd = ctx->physical_device;
    bool has_float16 = rm_has_device_extension(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    bool has_coop = rm_has_device_extension(pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    bool has_memory_model = rm_has_device_extension(pd, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME);
    VkPhysicalDeviceVulkanMemoryModelFeatures memory_model = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
        .pNext = has_memory_model ? &memory_model : NULL};
    VkPhysicalDeviceShaderFloat16Int8Features float16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .pNext = has_coop ? &coop : NULL};
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = has_float16 ? (void *)&float16
                 : has_coop  ? (void *)&coop
                             : NULL};
    VkPhysicalDeviceFeatures2 features2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                           .pNext = &f16};
    bool has_priority = rm_has_device_extension(pd, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME);
    VkPhysicalDeviceMemoryPriorityFeaturesEXT priority = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT, .pNext = &f16};
    if (has_priority) features2.pNext = &priority;
    vkGetPhysicalDeviceFeatures2(pd, &features2);
    optional->memory_priority = has_priority && priority.memoryPriority == VK_TRUE;
    optional->storage16 =
        f16.storageBuffer16BitAccess == VK_TRUE && rm_profile_allows_16bit(ctx->profile);
    optional->float16 = has_float16 && float16.shaderFloat16 == VK_TRUE;
    /* The NV kernel computes in fp16 too, and its modules declare the Vulkan memory model
     * (GL_NV_cooperative_matrix makes glslang emit it; tests/check_spirv.sh). */
    optional->coop_nv = has_coop && coop.cooperativeMatrix == VK_TRUE && optional->float16 &&
                        has_memory_model && memory_model.vulkanMemoryModel == VK_TRUE &&
                        coop_nv_shape(pd);

    const VkPhysicalDeviceLimits *l = &ctx->properties.limits;
    rm_device_caps *c = &ctx->caps;
    c->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        c->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
        c->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
    }
    c->max_shared_memory = l->maxComputeSharedMemorySize;
    c->max_push_constants = l->maxPushConstantsSize;
    c->max_per_stage_storage_buffers = l->maxPerStageDescriptorStorageBuffers;
    c->max_per_stage_sampled_images = l->maxPerStageDescriptorSampledImages;
    c->max_per_stage_uniform_buffers = l->maxPerStageDescriptorUniformBuffers;
    c->max_bound_descriptor_sets = l->maxBoundDescriptorSets;
    c->max_descriptor_set_storage_buffers = l->maxDescriptorSetStorageBuffers;
    c->max_per_set_descriptors = maint3.maxPerSetDescriptors;
    c->max_storage_buffer_range = l->maxStorageBufferRange;
    c->max_texel_buffer_elements = l->maxTexelBufferElements;
    c->min_storage_buffer_offset_alignment = l->minStorageBufferOffsetAlignment;
    c->min_texel_buffer_offset_alignment = l->minTexelBufferOffsetAlignment;
    c->max_allocation_size = maint3.maxMemoryAllocationSize;
    c->subgroup_size = subgroup.subgroupSize;
    c->plan_subgroup_size = subgroup.subgroupSize;
    c->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    c->timestamp_period_ns = l->timestampPeriod;
    c->device_local_heap = rm_memory_main_heap(&ctx->memory);
    c->device_local_bytes = ctx->memory.memoryHeaps[c->device_local_heap].size;
    c->unified_memory = rm_memory_is_uma(&ctx->memory);
}

static repmlp_status read_queue_caps(repmlp_context *ctx) {
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &count, NULL);
    VkQueueFamilyProperties *q = rm_calloc(count, sizeof *q);
    if (!q) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &count, q);
    ctx->caps.timestamp_valid_bits =
        ctx->queue_family < count ? q[ctx->queue_family].timestampValidBits : 0;
    ctx->caps.timestamps = ctx->caps.timestamp_valid_bits > 0 && ctx->caps.timestamp_period_ns > 0;
    rm_free(q);
    return REPMLP_OK;
}

bool rm_has_device_extension(VkPhysicalDevice pd, const char *name) {
    uint32_t count = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &count, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *exts = rm_calloc(count, sizeof *exts);
    if (!exts) return false;
    bool found = false;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &count, exts) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !found; i++)
            found = strcmp(exts[i].extensionName, name) == 0;
    rm_free(exts);
    return found;
}

/* Timeline semaphores for asynchronous submission, where the device has them: through
 * VK_KHR_timeline_semaphore, since the library asks for Vulkan 1.1 only. */
static bool timeline_available(VkPhysicalDevice pd) {
    if (!rm_has_device_extension(pd, VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME)) return false;
    VkPhysicalDeviceTimelineSemaphoreFeatures timeline = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                          .pNext = &timeline};
    vkGetPhysicalDeviceFeatures2(pd, &features);
    return timeline.timelineSemaphore == VK_TRUE;
}

static repmlp_status create_device(repmlp_context *ctx, const rm_optional_features *optional) {
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    bool use16 = optional->storage16 && !(ctx->flags & REPMLP_CONTEXT_NO_FP16);
    bool timeline = timeline_available(ctx->physical_device);
    bool stats = (ctx->flags & REPMLP_CONTEXT_COMPILE_STATS) &&
                 rm_has_device_extension(ctx->physical_device,
                                         VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    const char *extensions[8];
    uint32_t extension_count = 0;
    /* Each optional feature struct heads the chain when used (pNext: what came before). */
    void *chain = NULL;
    VkPhysicalDeviceTimelineSemaphoreFeatures timeline_feature = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
        .timelineSemaphore = VK_TRUE,
    };
    if (timeline) {
        extensions[extension_count++] = VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME;
        chain = &timeline_feature;
    }
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR executable = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pNext = chain,
        .pipelineExecutableInfo = VK_TRUE,
    };
    if (stats) {
        extensions[extension_count++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
        chain = &executable;
    }
    VkPhysicalDeviceShaderFloat16Int8Features float16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .pNext = chain,
        .shaderFloat16 = VK_TRUE,
    };
    if (optional->float16) {
        extensions[extension_count++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        chain = &float16;
    }
    VkPhysicalDeviceVulkanMemoryModelFeatures memory_model = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
        .pNext = chain,
        .vulkanMemoryModel = VK_TRUE,
    };
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
        .pNext = &memory_model,
        .cooperativeMatrix = VK_TRUE,
    };
    if (optional->coop_nv) { /* with the memory model its modules declare */
        extensions[extension_count++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
        extensions[extension_count++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
        chain = &coop;
    }
    /* Only on a device the library creates: an imported one may not have it enabled. */
    VkPhysicalDeviceMemoryPriorityFeaturesEXT priority_feature = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT,
        .pNext = chain,
        .memoryPriority = VK_TRUE,
    };
    if (optional->memory_priority) {
        extensions[extension_count++] = VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME;
        chain = &priority_feature;
    }
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = chain,
        .storageBuffer16BitAccess = use16 ? VK_TRUE : VK_FALSE,
    };
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                          .pNext = &f16};
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &features,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult r =
        RM_VK_CREATE(vkCreateDevice(ctx->physical_device, &info, ctx->vk_allocator, &ctx->device));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateDevice");
    ctx->caps.storage_16bit = use16;
    ctx->caps.fp16_weights = use16 && (ctx->flags & REPMLP_CONTEXT_FP16_WEIGHTS);
    ctx->caps.timeline_semaphores = timeline;
    ctx->caps.shader_float16 = optional->float16;
    ctx->caps.cooperative_matrix_nv = optional->coop_nv;
    ctx->caps.pipeline_stats = stats;
    ctx->caps.memory_priority = optional->memory_priority;
    return REPMLP_OK;
}

/* Everything after the VkDevice exists: function table, queue, pools, caches. Shared by the
 * library-owned and the imported paths. */
repmlp_status rm_context_finish(repmlp_context *ctx) {
    volkLoadDeviceTable(&ctx->vk, ctx->device);
    if (!ctx->queue) ctx->vk.vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
    rm_memory_init(ctx);
    repmlp_status st = read_queue_caps(ctx);
    if (st != REPMLP_OK) return st;
    rm_profile_apply(ctx->profile, &ctx->caps);

    VkResult r;
    if (!(ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY)) {
        /* One-off command buffers: allocated, submitted once, freed; never reset. */
        VkCommandPoolCreateInfo pool = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
            .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
            .queueFamilyIndex = ctx->queue_family,
        };
        r = RM_VK_CREATE(
            ctx->vk.vkCreateCommandPool(ctx->device, &pool, ctx->vk_allocator, &ctx->command_pool));
        if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateCommandPool");
        VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        r = RM_VK_CREATE(
            ctx->vk.vkCreateFence(ctx->device, &fence, ctx->vk_allocator, &ctx->fence));
        if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateFence");
    }
    VkPipelineCacheCreateInfo cache = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    r = RM_VK_CREATE(ctx->vk.vkCreatePipelineCache(ctx->device, &cache, ctx->vk_allocator,
                                                   &ctx->pipeline_cache));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreatePipelineCache");
    VkSamplerCreateInfo sampler = {.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
                                   .magFilter = VK_FILTER_NEAREST,
                                   .minFilter = VK_FILTER_NEAREST,
                                   .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
                                   .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                                   .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                                   .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                                   /* texelFetch picks the level itself: no clamp needed */
                                   .maxLod = VK_LOD_CLAMP_NONE};
    r = RM_VK_CREATE(
        ctx->vk.vkCreateSampler(ctx->device, &sampler, ctx->vk_allocator, &ctx->sampler));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateSampler");
    ctx->ready = true;
    rm_log(ctx, REPMLP_LOG_INFO,
           "device: %s (Vulkan %u.%u, subgroup %u, 16-bit storage %s, weights %s)", ctx->info.name,
           VK_API_VERSION_MAJOR(ctx->info.api_version), VK_API_VERSION_MINOR(ctx->info.api_version),
           ctx->caps.subgroup_size, ctx->caps.storage_16bit ? "on" : "off",
           ctx->caps.fp16_weights ? "fp16" : "fp32");
    if ((ctx->flags & REPMLP_CONTEXT_FP16_WEIGHTS) && !ctx->caps.fp16_weights)
        rm_log(ctx, REPMLP_LOG_INFO, "fp16 weights requested, but 16-bit storage is %s: fp32",
               (ctx->flags & REPMLP_CONTEXT_NO_FP16) ? "disabled" : "unavailable");
    if (ctx->profile)
        rm_log(ctx, REPMLP_LOG_INFO, "device profile %s (REPMLP_DEVICE_PROFILE, a testing aid): %s",
               ctx->profile->name, ctx->profile->summary);
    else
        rm_log(ctx, REPMLP_LOG_INFO, "device profile: none (the device's own limits)");
    return REPMLP_OK;
}

repmlp_status rm_context_alloc(const repmlp_context_desc *desc, repmlp_context **out) {
    const rm_profile *profile;
    rm_operand_path operand_path;
    repmlp_status st = rm_limits_read_env(&profile, &operand_path);
    if (st != REPMLP_OK) return st;
    repmlp_context *ctx = rm_calloc(1, sizeof *ctx);
    if (!ctx) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    ctx->profile = profile;
    ctx->caps.profile = profile ? profile->name : "none";
    ctx->operand_path_forced = operand_path;
    if (rm_mutex_init(&ctx->lock) != 0) {
        rm_free(ctx);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "cannot create a mutex");
    }
    if (rm_mutex_init(&ctx->transfer_lock) != 0) {
        rm_mutex_destroy(&ctx->lock);
        rm_free(ctx);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "cannot create a mutex");
    }
    if (rm_mutex_init(&ctx->operand_lock) != 0) {
        rm_mutex_destroy(&ctx->transfer_lock);
        rm_mutex_destroy(&ctx->lock);
        rm_free(ctx);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "cannot create a mutex");
    }
    if (desc) {
        ctx->flags = desc->flags;
        ctx->log = desc->log;
        ctx->log_user = desc->log_user;
        ctx->timeout_ns = desc->timeout_ns;
        ctx->validation_counter = desc->validation_counter;
        ctx->memory_limit = desc->device_memory_limit;
        ctx->vk_allocator = desc->vk_allocator;
        ctx->tune_budget_ms = desc->tune_budget_ms;
    }
    if (!ctx->timeout_ns) ctx->timeout_ns = RM_DEFAULT_TIMEOUT_NS;
    *out = ctx;
    return REPMLP_OK;
}

static repmlp_status pick_device(repmlp_context *ctx, const char *selector) {
    VkPhysicalDevice *devices = NULL;
    uint32_t count = 0;
    repmlp_status st = rm_enumerate(ctx->instance, &devices, &count);
    if (st != REPMLP_OK) return st;
    repmlp_device_info *infos = rm_calloc(count, sizeof *infos);
    if (!infos) {
        rm_free(devices);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (uint32_t i = 0; i < count; i++) rm_describe_device(devices[i], i, &infos[i]);
    int chosen = rm_select_device(infos, count, selector);
    if (count == 0) {
        st = rm_fail(REPMLP_ERROR_NO_DEVICE, "no Vulkan device found: " RM_NO_DRIVER_HINT);
    } else if (chosen < 0) {
        char names[512] = "";
        size_t used = 0;
        for (uint32_t i = 0; i < count && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%u: %s%s", i ? ", " : "",
                                     i, infos[i].name, infos[i].usable ? "" : " (unusable)");
        st = rm_fail(REPMLP_ERROR_NO_DEVICE, "no usable Vulkan device matches '%s' (devices: %s)",
                     selector && *selector ? selector : "(default)", count ? names : "none");
    } else {
        ctx->physical_device = devices[chosen];
        ctx->info = infos[chosen];
        rm_find_compute_queue(ctx->physical_device, &ctx->queue_family);
        if (ctx->info.compile_only && !(ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY))
            st = rm_fail(REPMLP_ERROR_UNSUPPORTED,
                         "the Vulkan device '%s' cannot run work (it reports no memory heaps: a "
                         "compile-only driver); create the context with "
                         "REPMLP_CONTEXT_COMPILE_ONLY to plan and compile for it",
                         ctx->info.name);
    }
    rm_free(infos);
    rm_free(devices);
    return st;
}

/* The first published layout of repmlp_context_desc ended with vk_allocator; tune_budget_ms
 * came later, so an application built before it still creates contexts (with the default). */
#define CONTEXT_DESC_FIRST_SIZE RM_SIZE_THROUGH(repmlp_context_desc, vk_allocator)

/* The caller's description (NULL: every default) in this library's layout. */
static repmlp_status read_context_desc(const repmlp_context_desc *desc, repmlp_context_desc *out) {
    if (!desc) {
        *out = (repmlp_context_desc)REPMLP_CONTEXT_DESC_INIT;
        return REPMLP_OK;
    }
    return rm_sized_struct_read(out, sizeof *out, desc, CONTEXT_DESC_FIRST_SIZE,
                                "repmlp_context_desc");
}

repmlp_status repmlp_context_create(const repmlp_context_desc *caller_desc, repmlp_context **out) {
    if (!out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_create: out is NULL");
    *out = NULL;
    repmlp_context_desc desc_copy, *desc = &desc_copy;
    repmlp_status st = read_context_desc(caller_desc, desc);
    if (st != REPMLP_OK) return st;
    repmlp_context *ctx;
    st = rm_context_alloc(desc, &ctx);
    if (st != REPMLP_OK) return st;
    ctx->owns_instance = ctx->owns_device = true;
    bool validation = (ctx->flags & REPMLP_CONTEXT_VALIDATION) != 0;
    rm_optional_features optional = {0};
    st = rm_instance_create(validation, ctx->vk_allocator, &ctx->instance);
    if (st == REPMLP_OK && validation) st = create_messenger(ctx);
    if (st == REPMLP_OK) st = pick_device(ctx, desc->device);
    if (st == REPMLP_OK) {
        read_caps(ctx, &optional);
        st = create_device(ctx, &optional);
    }
    if (st == REPMLP_OK) st = rm_context_finish(ctx);
    if (st != REPMLP_OK) {
        repmlp_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return REPMLP_OK;
}

void repmlp_context_destroy(repmlp_context *ctx) {
    if (!ctx) return;
    if (ctx->device && ctx->vk.vkDeviceWaitIdle) {
        /* Nothing was ever submitted by a context that did not finish its creation or that
         * only compiles, and a compile-only driver may not survive the wait. */
        bool submitted = ctx->ready && !(ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY);
        if (submitted && ctx->owns_device) {
            ctx->vk.vkDeviceWaitIdle(ctx->device);
        } else if (submitted && ctx->queue) {
            /* Only the queue the library used: waiting on the application's whole device
             * would need every one of its queues externally synchronised. */
            if (ctx->queue_lock) ctx->queue_lock(ctx->queue_lock_user);
            ctx->vk.vkQueueWaitIdle(ctx->queue);
            if (ctx->queue_unlock) ctx->queue_unlock(ctx->queue_lock_user);
        }
        rm_pipelines_destroy_all(ctx);
        if (ctx->pipeline_cache)
            ctx->vk.vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, ctx->vk_allocator);
        if (ctx->fence) ctx->vk.vkDestroyFence(ctx->device, ctx->fence, ctx->vk_allocator);
        if (ctx->sampler) ctx->vk.vkDestroySampler(ctx->device, ctx->sampler, ctx->vk_allocator);
        if (ctx->command_pool)
            ctx->vk.vkDestroyCommandPool(ctx->device, ctx->command_pool, ctx->vk_allocator);
        if (ctx->owns_device) ctx->vk.vkDestroyDevice(ctx->device, ctx->vk_allocator);
    }
    if (ctx->messenger)
        vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, ctx->vk_allocator);
    if (ctx->instance && ctx->owns_instance) vkDestroyInstance(ctx->instance, ctx->vk_allocator);
    rm_mutex_destroy(&ctx->operand_lock);
    rm_mutex_destroy(&ctx->transfer_lock);
    rm_mutex_destroy(&ctx->lock);
    rm_free(ctx->tune);
    rm_free(ctx);
}

repmlp_status repmlp_context_device(const repmlp_context *ctx, repmlp_device_info *out) {
    if (!ctx || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_device: NULL argument");
    *out = ctx->info;
    return REPMLP_OK;
}

repmlp_status repmlp_context_limits(const repmlp_context *ctx, repmlp_device_limits *out) {
    if (!ctx || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_limits: NULL argument");
    const rm_device_caps *c = &ctx->caps;
    memset(out, 0, sizeof *out);
    out->profile = c->profile;
    out->max_workgroup_invocations = c->max_workgroup_invocations;
    for (int i = 0; i < 3; i++) {
        out->max_workgroup_size[i] = c->max_workgroup_size[i];
        out->max_workgroup_count[i] = c->max_workgroup_count[i];
    }
    out->max_shared_memory = c->max_shared_memory;
    out->max_push_constants = c->max_push_constants;
    out->max_per_stage_storage_buffers = c->max_per_stage_storage_buffers;
    out->max_per_stage_sampled_images = c->max_per_stage_sampled_images;
    out->max_per_stage_uniform_buffers = c->max_per_stage_uniform_buffers;
    out->max_bound_descriptor_sets = c->max_bound_descriptor_sets;
    out->max_descriptor_set_storage_buffers = c->max_descriptor_set_storage_buffers;
    out->max_per_set_descriptors = c->max_per_set_descriptors;
    out->max_storage_buffer_range = c->max_storage_buffer_range;
    out->max_texel_buffer_elements = c->max_texel_buffer_elements;
    out->min_storage_buffer_offset_alignment = c->min_storage_buffer_offset_alignment;
    out->min_texel_buffer_offset_alignment = c->min_texel_buffer_offset_alignment;
    out->max_allocation_size = c->max_allocation_size;
    out->device_local_bytes = c->device_local_bytes;
    out->subgroup_size = c->subgroup_size;
    out->plan_subgroup_size = c->plan_subgroup_size;
    out->storage_16bit = c->storage_16bit;
    out->subgroup_arithmetic = c->subgroup_arithmetic;
    out->timestamps = c->timestamps;
    out->timestamp_valid_bits = c->timestamp_valid_bits;
    return REPMLP_OK;
}

uint32_t repmlp_context_validation_messages(const repmlp_context *ctx) {
    return ctx ? atomic_load(&ctx->validation_messages) : 0;
}

const char *repmlp_version_string(void) {
#define RM_STR2(x) #x
#define RM_STR(x) RM_STR2(x)
    return RM_STR(REPMLP_VERSION_MAJOR) "." RM_STR(REPMLP_VERSION_MINOR) "." RM_STR(
        REPMLP_VERSION_PATCH);
}

unsigned repmlp_version_number(void) {
    return REPMLP_VERSION_NUMBER;
}

repmlp_status rm_queue_submit(repmlp_context *ctx, const VkSubmitInfo *submit, VkFence fence) {
    VkResult r = ctx->vk.vkResetFences(ctx->device, 1, &fence);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkResetFences");
    rm_mutex_lock(&ctx->lock);
    if (ctx->queue_lock) ctx->queue_lock(ctx->queue_lock_user);
    r = ctx->vk.vkQueueSubmit(ctx->queue, 1, submit, fence);
    if (ctx->queue_unlock) ctx->queue_unlock(ctx->queue_lock_user);
    rm_mutex_unlock(&ctx->lock);
    return r == VK_SUCCESS ? REPMLP_OK : rm_vk_fail(ctx, r, "vkQueueSubmit");
}

repmlp_status rm_submit_wait(repmlp_context *ctx, VkCommandBuffer cmd, VkFence fence) {
    repmlp_status st = rm_check_alive(ctx);
    if (st != REPMLP_OK) return st;
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    st = rm_queue_submit(ctx, &submit, fence);
    if (st != REPMLP_OK) return st;
    VkResult r = ctx->vk.vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, ctx->timeout_ns);
    if (r == VK_TIMEOUT)
        return rm_fail(REPMLP_ERROR_TIMEOUT, "the device '%s' did not finish within %.1f s",
                       ctx->info.name, (double)ctx->timeout_ns / 1e9);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkWaitForFences");
    return REPMLP_OK;
}

static repmlp_status load_for(PFN_vkGetInstanceProcAddr gipa, VkInstance instance) {
    if (gipa) {
        volkInitializeCustom(gipa);
    } else {
        repmlp_status st = rm_load_vulkan();
        if (st != REPMLP_OK) return st;
    }
    volkLoadInstanceOnly(instance);
    return REPMLP_OK;
}

repmlp_status repmlp_vulkan_query(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                                  VkPhysicalDevice physical_device,
                                  repmlp_vulkan_requirements *out) {
    if (!instance || !physical_device || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_vulkan_query: NULL argument");
    repmlp_status st = load_for(gipa, instance);
    if (st != REPMLP_OK) return st;
    memset(out, 0, sizeof *out);
    out->api_version = VK_API_VERSION_1_1;
    repmlp_device_info info;
    rm_describe_device(physical_device, 0, &info);
    out->usable = info.usable && rm_find_compute_queue(physical_device, &out->queue_family);
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                          .pNext = &f16};
    if (info.api_version >= VK_API_VERSION_1_1)
        vkGetPhysicalDeviceFeatures2(physical_device, &features);
    out->storage_16bit = f16.storageBuffer16BitAccess;
    out->timeline_semaphore =
        info.api_version >= VK_API_VERSION_1_1 && timeline_available(physical_device);
    return REPMLP_OK;
}

repmlp_status repmlp_context_vulkan(const repmlp_context *ctx, repmlp_vulkan_handles *out) {
    if (!ctx || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_vulkan: NULL argument");
    *out = (repmlp_vulkan_handles){.instance = ctx->instance,
                                   .physical_device = ctx->physical_device,
                                   .device = ctx->device,
                                   .queue_family = ctx->queue_family,
                                   .queue = ctx->queue,
                                   .timeline_semaphores = ctx->caps.timeline_semaphores};
    return REPMLP_OK;
}

repmlp_status repmlp_context_import(const repmlp_vulkan_import *caller_import,
                                    const repmlp_context_desc *caller_desc, repmlp_context **out) {
    if (!caller_import || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_import: NULL argument");
    repmlp_vulkan_import import_copy, *im = &import_copy;
    repmlp_context_desc desc_copy, *desc = &desc_copy;
    repmlp_status st = rm_sized_struct_read(im, sizeof *im, caller_import,
                                            RM_SIZE_THROUGH(repmlp_vulkan_import, queue_lock_user),
                                            "repmlp_vulkan_import");
    if (st == REPMLP_OK) st = read_context_desc(caller_desc, desc);
    if (st != REPMLP_OK) return st;
    if (!im->instance || !im->physical_device || !im->device || !im->queue)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_context_import: instance, physical device, device and queue are "
                       "required");
    if (!im->queue_lock != !im->queue_unlock)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_context_import: queue_lock and queue_unlock go together");
    *out = NULL;
    st = load_for(im->get_instance_proc_addr, im->instance);
    if (st != REPMLP_OK) return st;
    repmlp_context *ctx;
    st = rm_context_alloc(desc, &ctx);
    if (st != REPMLP_OK) return st;
    ctx->instance = im->instance;
    ctx->physical_device = im->physical_device;
    ctx->device = im->device;
    ctx->queue_family = im->queue_family;
    ctx->queue = im->queue;
    ctx->queue_lock = im->queue_lock;
    ctx->queue_unlock = im->queue_unlock;
    ctx->queue_lock_user = im->queue_lock_user;
    rm_describe_device(im->physical_device, 0, &ctx->info);
    if (!ctx->info.usable) {
        repmlp_context_destroy(ctx);
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "repmlp_context_import: '%s' does not support Vulkan 1.1 compute",
                       ctx->info.name);
    }
    rm_optional_features optional;
    read_caps(ctx, &optional);
    /* The application's device: fp16 arithmetic and cooperative matrices stay off, as the
     * import does not say whether it enabled them. */
    ctx->caps.storage_16bit =
        optional.storage16 && im->storage_16bit_enabled && !(ctx->flags & REPMLP_CONTEXT_NO_FP16);
    ctx->caps.fp16_weights = ctx->caps.storage_16bit && (ctx->flags & REPMLP_CONTEXT_FP16_WEIGHTS);
    ctx->caps.timeline_semaphores = im->timeline_semaphore_enabled;
    st = rm_context_finish(ctx);
    if (st != REPMLP_OK) {
        repmlp_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return REPMLP_OK;
}
