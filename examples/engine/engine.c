/* engine: embedding repmlp-vk in an application that owns Vulkan.
 *
 *   engine FUSED.safetensors [--validation] [--frames N]
 *
 * A stand-in for a game or render engine. It loads Vulkan through its own copy of volk,
 * creates its own instance, device and queue (after asking the library what it can use),
 * hands them to the library with repmlp_context_import, and allocates its own input and
 * output buffers. Every "frame" it records, into its own command buffer:
 *   its own work producing the input (a copy from a staging buffer) and clearing the output,
 *   the barrier repmlp/vulkan.h documents before inference,
 *   repmlp_session_record_tracked (the network's dispatches; the frame's fence tells the
 *   library when what they use may be freed),
 *   the barrier documented after it,
 *   its own follow-up work (copying the output to a host-visible buffer),
 * then submits on its queue with its fence. It checks that the output is finite and identical
 * in every frame, destroys the library's context, and goes on using its device before
 * destroying it.
 *
 * --validation (or ENGINE_VALIDATION=1 in the environment) enables VK_LAYER_KHRONOS_validation
 * with a debug messenger; any warning or error it reports, from the engine's calls or the
 * library's, makes the exit status non-zero. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <volk.h> /* built with VK_NO_PROTOTYPES: every vk* below is volk's function pointer */

#include <repmlp.h>
#include <repmlp/vulkan.h>

typedef struct engine {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical;
    VkPhysicalDeviceMemoryProperties memory;
    VkDevice device;
    uint32_t family;
    VkQueue queue;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;
    unsigned messages; /* validation warnings and errors */
} engine;

typedef struct buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped; /* host-visible buffers only */
} buffer;

static void vk_check(VkResult r, const char *what) {
    if (r == VK_SUCCESS) return;
    fprintf(stderr, "engine: %s failed (VkResult %d)\n", what, (int)r);
    exit(1);
}

static void repmlp_check(repmlp_status st, const char *what) {
    if (st == REPMLP_OK) return;
    fprintf(stderr, "engine: %s: %s: %s\n", what, repmlp_status_name(st), repmlp_last_error());
    exit(1);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                               VkDebugUtilsMessageTypeFlagsEXT type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data,
                                               void *user) {
    (void)type;
    engine *e = user;
    e->messages++;
    fprintf(stderr, "engine: validation %s: %s\n",
            severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data->pMessage);
    return VK_FALSE;
}

static void on_library_log(void *user, repmlp_log_level level, const char *message) {
    (void)user;
    if (level >= REPMLP_LOG_INFO) fprintf(stderr, "engine: [repmlp] %s\n", message);
}

static void create_instance(engine *e, bool validation) {
    vk_check(volkInitialize(), "loading Vulkan (volkInitialize)");
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
                                VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    /* With validation, synchronization validation too: it reports missing barriers. */
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "repmlp-vk engine example",
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                 .pNext = validation ? &features : NULL,
                                 .pApplicationInfo = &app,
                                 .enabledLayerCount = validation ? 1 : 0,
                                 .ppEnabledLayerNames = &layer,
                                 .enabledExtensionCount = validation ? 2 : 0,
                                 .ppEnabledExtensionNames = extensions};
    vk_check(vkCreateInstance(&info, NULL, &e->instance), "vkCreateInstance");
    volkLoadInstance(e->instance);
    if (validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_debug,
            .pUserData = e};
        vk_check(vkCreateDebugUtilsMessengerEXT(e->instance, &mi, NULL, &e->messenger),
                 "vkCreateDebugUtilsMessengerEXT");
    }
}

/* Picks the first device the library can use and creates the engine's device on it, with
 * whatever the library asked for that the device has. */
static void create_device(engine *e, bool *storage_16bit) {
    VkPhysicalDevice devices[16];
    uint32_t count = 16;
    VkResult r = vkEnumeratePhysicalDevices(e->instance, &count, devices);
    if (r != VK_INCOMPLETE) vk_check(r, "vkEnumeratePhysicalDevices");
    repmlp_vulkan_requirements req;
    uint32_t i = 0;
    for (; i < count; i++) {
        /* The engine passes its own loader entry point; the library resolves everything
         * else through it. */
        repmlp_check(repmlp_vulkan_query(vkGetInstanceProcAddr, e->instance, devices[i], &req),
                     "repmlp_vulkan_query");
        if (req.usable) break;
    }
    if (i == count) {
        fprintf(stderr, "engine: no Vulkan device meets the library's needs\n");
        exit(1);
    }
    e->physical = devices[i];
    e->family = req.queue_family;
    vkGetPhysicalDeviceMemoryProperties(e->physical, &e->memory);

    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = e->family,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
    /* 16-bit storage lets the library keep weights in fp16: enable it where available. */
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = req.storage_16bit};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                          .pNext = &f16};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                               .pNext = &features,
                               .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &queue,
                               .enabledExtensionCount = req.extension_count,
                               .ppEnabledExtensionNames = req.extensions};
    vk_check(vkCreateDevice(e->physical, &info, NULL, &e->device), "vkCreateDevice");
    volkLoadDevice(e->device);
    vkGetDeviceQueue(e->device, e->family, 0, &e->queue);
    *storage_16bit = req.storage_16bit;

    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = e->family};
    vk_check(vkCreateCommandPool(e->device, &pool, NULL, &e->pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                         .commandPool = e->pool,
                                         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                         .commandBufferCount = 1};
    vk_check(vkAllocateCommandBuffers(e->device, &alloc, &e->cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    vk_check(vkCreateFence(e->device, &fence, NULL, &e->fence), "vkCreateFence");
}

static uint32_t memory_type(const engine *e, uint32_t allowed, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < e->memory.memoryTypeCount; i++) {
        if ((allowed & (1u << i)) && (e->memory.memoryTypes[i].propertyFlags & want) == want)
            return i;
    }
    return UINT32_MAX;
}

static buffer create_buffer(const engine *e, VkDeviceSize size, VkBufferUsageFlags usage,
                            bool host_visible) {
    buffer b = {.size = size};
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                               .size = size,
                               .usage = usage,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    vk_check(vkCreateBuffer(e->device, &info, NULL, &b.buffer), "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(e->device, b.buffer, &req);
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type;
    if (host_visible) {
        type = memory_type(e, req.memoryTypeBits, host);
    } else {
        type = memory_type(e, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type == UINT32_MAX) type = memory_type(e, req.memoryTypeBits, 0);
    }
    if (type == UINT32_MAX) {
        fprintf(stderr, "engine: no suitable memory type\n");
        exit(1);
    }
    VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                  .allocationSize = req.size,
                                  .memoryTypeIndex = type};
    vk_check(vkAllocateMemory(e->device, &alloc, NULL, &b.memory), "vkAllocateMemory");
    vk_check(vkBindBufferMemory(e->device, b.buffer, b.memory, 0), "vkBindBufferMemory");
    if (host_visible)
        vk_check(vkMapMemory(e->device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
    return b;
}

static void destroy_buffer(const engine *e, buffer *b) {
    vkDestroyBuffer(e->device, b->buffer, NULL);
    vkFreeMemory(e->device, b->memory, NULL); /* also unmaps */
    memset(b, 0, sizeof *b);
}

static void barrier(const engine *e, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = src_access,
                         .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(e->cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

static void begin(const engine *e) {
    vk_check(vkResetCommandBuffer(e->cmd, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo info = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                     .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vk_check(vkBeginCommandBuffer(e->cmd, &info), "vkBeginCommandBuffer");
}

static void submit_and_wait(const engine *e) {
    vk_check(vkEndCommandBuffer(e->cmd), "vkEndCommandBuffer");
    VkSubmitInfo info = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                         .commandBufferCount = 1,
                         .pCommandBuffers = &e->cmd};
    vk_check(vkQueueSubmit(e->queue, 1, &info, e->fence), "vkQueueSubmit");
    vk_check(vkWaitForFences(e->device, 1, &e->fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    vk_check(vkResetFences(e->device, 1, &e->fence), "vkResetFences");
}

static size_t shape_count(const repmlp_shape *s) {
    size_t n = 1;
    for (uint32_t i = 0; i < s->ndim; i++) n *= (size_t)s->dims[i];
    return n;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    const char *env = getenv("ENGINE_VALIDATION");
    bool validation = env && *env && strcmp(env, "0") != 0;
    int frames = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--validation") == 0) {
            validation = true;
        } else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            frames = atoi(argv[++i]);
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    if (!path || frames < 1) {
        fprintf(stderr, "usage: engine FUSED.safetensors [--validation] [--frames N]\n");
        return 2;
    }

    /* ---- the engine's own Vulkan ---- */
    engine e = {0};
    bool storage_16bit;
    create_instance(&e, validation);
    create_device(&e, &storage_16bit);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(e.physical, &props);
    printf("device: %s, queue family %u, 16-bit storage %s, validation %s\n", props.deviceName,
           e.family, storage_16bit ? "enabled" : "not available", validation ? "on" : "off");

    /* ---- the library on the engine's device ---- */
    /* Each struct starts from its initializer, which sets its size: a later library version
     * may append fields, and reads only what this header had. */
    repmlp_vulkan_import import = REPMLP_VULKAN_IMPORT_INIT;
    import.get_instance_proc_addr = vkGetInstanceProcAddr;
    import.instance = e.instance;
    import.physical_device = e.physical;
    import.device = e.device;
    import.queue_family = e.family;
    import.queue = e.queue;
    import.storage_16bit_enabled = storage_16bit;
    repmlp_context_desc desc = REPMLP_CONTEXT_DESC_INIT;
    desc.log = on_library_log;
    repmlp_context *ctx;
    repmlp_check(repmlp_context_import(&import, &desc, &ctx), "repmlp_context_import");
    repmlp_model *model;
    repmlp_check(repmlp_model_load(ctx, path, &model), path);
    repmlp_shape in_shape, out_shape;
    repmlp_check(repmlp_model_input_shape(model, &in_shape), "repmlp_model_input_shape");
    repmlp_check(repmlp_model_output_shape(model, &out_shape), "repmlp_model_output_shape");
    repmlp_session *session;
    repmlp_check(repmlp_session_create(model, 1, &session), "repmlp_session_create");
    size_t in_count = shape_count(&in_shape), out_count = shape_count(&out_shape);
    VkDeviceSize in_bytes = in_count * sizeof(float), out_bytes = out_count * sizeof(float);

    /* ---- the engine's buffers ----
     * The library needs only STORAGE_BUFFER usage on them (repmlp/vulkan.h); TRANSFER is for
     * the engine's own copies and fills. */
    VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    buffer input = create_buffer(&e, in_bytes, usage, false);
    buffer output = create_buffer(&e, out_bytes, usage, false);
    buffer staging = create_buffer(&e, in_bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, true);
    buffer readback = create_buffer(&e, out_bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
    float *x = staging.mapped;
    for (size_t i = 0; i < in_count; i++) x[i] = (float)((i * 7919u) % 2000u) / 1000.0f - 1.0f;
    /* Re-records the session once to read and write the engine's buffers. */
    repmlp_check(repmlp_session_bind_buffers(session, input.buffer, 0, output.buffer, 0),
                 "repmlp_session_bind_buffers");

    float *first = malloc(out_bytes);
    if (!first) return 1;
    for (int frame = 0; frame < frames; frame++) {
        begin(&e);
        /* The engine's own work: produce the input, and poison the output with NaN so that a
         * frame in which inference wrote nothing could not pass the checks below. */
        VkBufferCopy in_copy = {.size = in_bytes};
        vkCmdCopyBuffer(e.cmd, staging.buffer, input.buffer, 1, &in_copy);
        vkCmdFillBuffer(e.cmd, output.buffer, 0, VK_WHOLE_SIZE, 0x7fc00000u);
        /* Before inference: the engine's writes visible to compute shaders (the output too,
         * which the shaders then overwrite). */
        barrier(&e, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        /* The frame's fence (unsignalled now) tells the library when this recording is done,
         * so a later rebind frees what it used without repmlp_session_release_recordings. */
        repmlp_completion done = REPMLP_COMPLETION_INIT;
        done.fence = e.fence;
        repmlp_check(repmlp_session_record_tracked(session, e.cmd, 0, 1, &done),
                     "repmlp_session_record_tracked");
        /* After inference: compute-shader writes of the output visible to the engine's copy. */
        barrier(&e, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
        VkBufferCopy out_copy = {.size = out_bytes};
        vkCmdCopyBuffer(e.cmd, output.buffer, readback.buffer, 1, &out_copy);
        barrier(&e, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        submit_and_wait(&e);

        const float *y = readback.mapped;
        for (size_t i = 0; i < out_count; i++) {
            if (!isfinite(y[i])) {
                fprintf(stderr, "engine: frame %d: output %u is not finite\n", frame, (unsigned)i);
                return 1;
            }
        }
        if (frame == 0) {
            memcpy(first, y, out_bytes);
        } else if (memcmp(first, y, out_bytes) != 0) {
            fprintf(stderr, "engine: frame %d differs from frame 0\n", frame);
            return 1;
        }
    }
    printf("%d frames, output of %u values identical in each; first values:", frames,
           (unsigned)out_count);
    for (size_t i = 0; i < out_count && i < 6; i++) printf(" %.6g", (double)first[i]);
    printf("\n");
    free(first);

    /* ---- the library goes; the engine's objects stay ---- */
    repmlp_session_destroy(session);
    repmlp_model_destroy(model);
    repmlp_context_destroy(ctx);

    begin(&e);
    vkCmdFillBuffer(e.cmd, readback.buffer, 0, VK_WHOLE_SIZE, 0x3f800000u); /* 1.0f */
    barrier(&e, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    submit_and_wait(&e);
    if (((const float *)readback.mapped)[out_count - 1] != 1.0f) {
        fprintf(stderr, "engine: the device misbehaves after the context was destroyed\n");
        return 1;
    }
    printf("context destroyed; the engine's device, queue and buffers still work\n");

    destroy_buffer(&e, &input);
    destroy_buffer(&e, &output);
    destroy_buffer(&e, &staging);
    destroy_buffer(&e, &readback);
    vkDestroyFence(e.device, e.fence, NULL);
    vkDestroyCommandPool(e.device, e.pool, NULL);
    vkDestroyDevice(e.device, NULL);
    if (e.messenger) vkDestroyDebugUtilsMessengerEXT(e.instance, e.messenger, NULL);
    vkDestroyInstance(e.instance, NULL);
    if (e.messages) {
        fprintf(stderr, "engine: the validation layer reported %u messages\n", e.messages);
        return 1;
    }
    return 0;
}
