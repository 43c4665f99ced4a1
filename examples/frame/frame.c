/* frame: classifying what a renderer draws, inside its frames, on the GPU.
 *
 *   frame DIGITS.fused.safetensors DIGIT.png [DIGIT.png ...] [--validation]
 *
 * A stand-in for a game engine with a per-frame budget. It owns Vulkan (its own volk,
 * instance, device and a graphics+compute queue, handed to the library with
 * repmlp_context_import) and, for each PNG, renders the digit with a graphics pipeline (a
 * textured quad, turned and scaled a little differently each time) into an offscreen 32x32
 * R8G8B8A8 image. The library reads that image directly (repmlp_session_bind_image: the fused
 * file's preprocessing runs on the GPU) and the network is spread over 3 frames
 * (repmlp_session_record_part, one part per frame, each recorded into that frame's command
 * buffer after the engine's own work); softmax + top-3 run on the GPU too
 * (repmlp_session_set_topk), so the engine reads 3 (class, probability) pairs. Each frame
 * prints what it did; after the third, the top-3 of that picture.
 *
 * It also checks itself: the rendered picture is copied back, preprocessed on the host
 * (repmlp_preprocessing_apply, what repmlp-run --image does) and run through a second session;
 * the GPU's top-3 must name the same classes with probabilities within 1e-4, or the exit
 * status is non-zero. --validation (or FRAME_VALIDATION=1) turns on the Khronos validation
 * layer; any warning or error fails the run too. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <volk.h> /* built with VK_NO_PROTOTYPES: every vk* below is volk's function pointer */

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <repmlp.h>
#include <repmlp/vulkan.h>

#include "digit_frag.h"
#include "quad_vert.h"

enum { SIZE = 32, PARTS = 3, TOP = 3 };
#define TARGET_FORMAT VK_FORMAT_R8G8B8A8_UNORM

typedef struct image {
    VkImage image;
    VkDeviceMemory memory;
    VkImageView view;
} image;

typedef struct buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;
} buffer;

typedef struct app {
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
    /* the renderer */
    image target, texture;
    buffer readback;
    VkRenderPass pass;
    VkFramebuffer framebuffer;
    VkSampler sampler;
    VkDescriptorSetLayout set_layout;
    VkDescriptorPool descriptors;
    VkDescriptorSet set;
    VkPipelineLayout layout;
    VkPipeline pipeline;
} app;

static void vk_check(VkResult r, const char *what) {
    if (r == VK_SUCCESS) return;
    fprintf(stderr, "frame: %s failed (VkResult %d)\n", what, (int)r);
    exit(1);
}

static void repmlp_check(repmlp_status st, const char *what) {
    if (st == REPMLP_OK) return;
    fprintf(stderr, "frame: %s: %s: %s\n", what, repmlp_status_name(st), repmlp_last_error());
    exit(1);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                               VkDebugUtilsMessageTypeFlagsEXT type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data,
                                               void *user) {
    (void)type;
    app *a = user;
    a->messages++;
    fprintf(stderr, "frame: validation %s: %s\n",
            severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data->pMessage);
    return VK_FALSE;
}

static void create_instance(app *a, bool validation) {
    vk_check(volkInitialize(), "loading Vulkan (volkInitialize)");
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
                                VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    /* With validation, synchronization validation too: it reports missing barriers. */
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync};
    VkApplicationInfo info_app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                  .pApplicationName = "repmlp-vk frame example",
                                  .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                 .pNext = validation ? &features : NULL,
                                 .pApplicationInfo = &info_app,
                                 .enabledLayerCount = validation ? 1 : 0,
                                 .ppEnabledLayerNames = &layer,
                                 .enabledExtensionCount = validation ? 2 : 0,
                                 .ppEnabledExtensionNames = extensions};
    vk_check(vkCreateInstance(&info, NULL, &a->instance), "vkCreateInstance");
    volkLoadInstance(a->instance);
    if (!validation) return;
    VkDebugUtilsMessengerCreateInfoEXT mi = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
        .pfnUserCallback = on_debug,
        .pUserData = a};
    vk_check(vkCreateDebugUtilsMessengerEXT(a->instance, &mi, NULL, &a->messenger),
             "vkCreateDebugUtilsMessengerEXT");
}

/* A device the library can use with a queue family that both draws and computes: the engine
 * renders and runs the network on one queue. */
static void create_device(app *a, bool *storage_16bit) {
    VkPhysicalDevice devices[16];
    uint32_t count = 16;
    VkResult r = vkEnumeratePhysicalDevices(a->instance, &count, devices);
    if (r != VK_INCOMPLETE) vk_check(r, "vkEnumeratePhysicalDevices");
    repmlp_vulkan_requirements req = {0};
    bool found = false;
    for (uint32_t i = 0; i < count && !found; i++) {
        repmlp_check(repmlp_vulkan_query(vkGetInstanceProcAddr, a->instance, devices[i], &req),
                     "repmlp_vulkan_query");
        if (!req.usable) continue;
        VkQueueFamilyProperties families[16];
        uint32_t n = 16;
        vkGetPhysicalDeviceQueueFamilyProperties(devices[i], &n, families);
        for (uint32_t f = 0; f < n && !found; f++) {
            VkQueueFlags both = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
            if ((families[f].queueFlags & both) != both) continue;
            a->physical = devices[i];
            a->family = f;
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "frame: no device with a graphics + compute queue the library can use\n");
        exit(1);
    }
    vkGetPhysicalDeviceMemoryProperties(a->physical, &a->memory);
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = a->family,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
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
    vk_check(vkCreateDevice(a->physical, &info, NULL, &a->device), "vkCreateDevice");
    volkLoadDevice(a->device);
    vkGetDeviceQueue(a->device, a->family, 0, &a->queue);
    *storage_16bit = req.storage_16bit;
    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = a->family};
    vk_check(vkCreateCommandPool(a->device, &pool, NULL, &a->pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                         .commandPool = a->pool,
                                         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                         .commandBufferCount = 1};
    vk_check(vkAllocateCommandBuffers(a->device, &alloc, &a->cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    vk_check(vkCreateFence(a->device, &fence, NULL, &a->fence), "vkCreateFence");
}

static uint32_t memory_type(const app *a, uint32_t allowed, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < a->memory.memoryTypeCount; i++)
        if ((allowed & (1u << i)) && (a->memory.memoryTypes[i].propertyFlags & want) == want)
            return i;
    fprintf(stderr, "frame: no suitable memory type\n");
    exit(1);
}

static VkDeviceMemory allocate(const app *a, VkMemoryRequirements req, bool host) {
    VkMemoryPropertyFlags want =
        host ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT : 0;
    VkMemoryAllocateInfo info = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                 .allocationSize = req.size,
                                 .memoryTypeIndex = memory_type(a, req.memoryTypeBits, want)};
    VkDeviceMemory memory;
    vk_check(vkAllocateMemory(a->device, &info, NULL, &memory), "vkAllocateMemory");
    return memory;
}

static buffer create_host_buffer(const app *a, VkDeviceSize size, VkBufferUsageFlags usage) {
    buffer b;
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                               .size = size,
                               .usage = usage,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    vk_check(vkCreateBuffer(a->device, &info, NULL, &b.buffer), "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(a->device, b.buffer, &req);
    b.memory = allocate(a, req, true);
    vk_check(vkBindBufferMemory(a->device, b.buffer, b.memory, 0), "vkBindBufferMemory");
    vk_check(vkMapMemory(a->device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
    return b;
}

static void destroy_buffer(const app *a, buffer *b) {
    vkDestroyBuffer(a->device, b->buffer, NULL);
    vkFreeMemory(a->device, b->memory, NULL);
}

static image create_image(const app *a, uint32_t w, uint32_t h, VkImageUsageFlags usage) {
    image im;
    VkImageCreateInfo info = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                              .imageType = VK_IMAGE_TYPE_2D,
                              .format = TARGET_FORMAT,
                              .extent = {w, h, 1},
                              .mipLevels = 1,
                              .arrayLayers = 1,
                              .samples = VK_SAMPLE_COUNT_1_BIT,
                              .tiling = VK_IMAGE_TILING_OPTIMAL,
                              .usage = usage,
                              .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
    vk_check(vkCreateImage(a->device, &info, NULL, &im.image), "vkCreateImage");
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(a->device, im.image, &req);
    im.memory = allocate(a, req, false);
    vk_check(vkBindImageMemory(a->device, im.image, im.memory, 0), "vkBindImageMemory");
    VkImageViewCreateInfo view = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                                  .image = im.image,
                                  .viewType = VK_IMAGE_VIEW_TYPE_2D,
                                  .format = TARGET_FORMAT,
                                  .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    vk_check(vkCreateImageView(a->device, &view, NULL, &im.view), "vkCreateImageView");
    return im;
}

static void destroy_image(const app *a, image *im) {
    vkDestroyImageView(a->device, im->view, NULL);
    vkDestroyImage(a->device, im->image, NULL);
    vkFreeMemory(a->device, im->memory, NULL);
}

static void begin(const app *a) {
    vk_check(vkResetCommandBuffer(a->cmd, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo info = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                     .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vk_check(vkBeginCommandBuffer(a->cmd, &info), "vkBeginCommandBuffer");
}

static void submit_and_wait(const app *a) {
    vk_check(vkEndCommandBuffer(a->cmd), "vkEndCommandBuffer");
    VkSubmitInfo info = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                         .commandBufferCount = 1,
                         .pCommandBuffers = &a->cmd};
    vk_check(vkQueueSubmit(a->queue, 1, &info, a->fence), "vkQueueSubmit");
    vk_check(vkWaitForFences(a->device, 1, &a->fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    vk_check(vkResetFences(a->device, 1, &a->fence), "vkResetFences");
}

static void image_barrier(const app *a, VkImage im, VkImageLayout from, VkImageLayout to,
                          VkPipelineStageFlags src, VkAccessFlags src_access,
                          VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                              .srcAccessMask = src_access,
                              .dstAccessMask = dst_access,
                              .oldLayout = from,
                              .newLayout = to,
                              .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .image = im,
                              .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    vkCmdPipelineBarrier(a->cmd, src, dst, 0, 0, NULL, 0, NULL, 1, &b);
}

/* The digit's gray pixels as the quad's texture (SHADER_READ_ONLY_OPTIMAL). */
static void upload_texture(app *a, const unsigned char *gray, int w, int h) {
    a->texture = create_image(a, (uint32_t)w, (uint32_t)h,
                              VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT);
    buffer staging =
        create_host_buffer(a, (VkDeviceSize)w * h * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT);
    unsigned char *rgba = staging.mapped;
    for (int i = 0; i < w * h; i++) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = gray[i];
        rgba[4 * i + 3] = 255;
    }
    begin(a);
    image_barrier(a, a->texture.image, VK_IMAGE_LAYOUT_UNDEFINED,
                  VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, 0,
                  VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {(uint32_t)w, (uint32_t)h, 1}};
    vkCmdCopyBufferToImage(a->cmd, staging.buffer, a->texture.image,
                           VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    image_barrier(a, a->texture.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                  VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT,
                  VK_ACCESS_SHADER_READ_BIT);
    submit_and_wait(a);
    destroy_buffer(a, &staging);
    VkDescriptorImageInfo info = {.sampler = a->sampler,
                                  .imageView = a->texture.view,
                                  .imageLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet write = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = a->set,
                                  .descriptorCount = 1,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
                                  .pImageInfo = &info};
    vkUpdateDescriptorSets(a->device, 1, &write, 0, NULL);
}

static VkShaderModule shader_module(const app *a, const uint32_t *code, size_t size) {
    VkShaderModuleCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code};
    VkShaderModule m;
    vk_check(vkCreateShaderModule(a->device, &info, NULL, &m), "vkCreateShaderModule");
    return m;
}

/* The render pass leaves the target in GENERAL: the library's compute shader samples it and
 * the engine copies it back, and its outgoing dependency makes the drawing visible to both. */
static void create_renderer(app *a) {
    a->target = create_image(a, SIZE, SIZE,
                             VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT |
                                 VK_IMAGE_USAGE_TRANSFER_SRC_BIT);
    a->readback = create_host_buffer(a, SIZE * SIZE * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT);
    VkAttachmentDescription color = {.format = TARGET_FORMAT,
                                     .samples = VK_SAMPLE_COUNT_1_BIT,
                                     .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
                                     .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
                                     .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
                                     .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
                                     .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
                                     .finalLayout = VK_IMAGE_LAYOUT_GENERAL};
    VkAttachmentReference ref = {0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription subpass = {.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
                                    .colorAttachmentCount = 1,
                                    .pColorAttachments = &ref};
    VkSubpassDependency deps[2] = {
        /* the previous frame's compute reads and copy of the target, before drawing again */
        {.srcSubpass = VK_SUBPASS_EXTERNAL,
         .dstSubpass = 0,
         .srcStageMask = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
         .dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
         .srcAccessMask = 0,
         .dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT},
        /* the drawing, visible to the library's compute shader and the copy */
        {.srcSubpass = 0,
         .dstSubpass = VK_SUBPASS_EXTERNAL,
         .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
         .dstStageMask = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
         .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT},
    };
    VkRenderPassCreateInfo pass = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
                                   .attachmentCount = 1,
                                   .pAttachments = &color,
                                   .subpassCount = 1,
                                   .pSubpasses = &subpass,
                                   .dependencyCount = 2,
                                   .pDependencies = deps};
    vk_check(vkCreateRenderPass(a->device, &pass, NULL, &a->pass), "vkCreateRenderPass");
    VkFramebufferCreateInfo fb = {.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
                                  .renderPass = a->pass,
                                  .attachmentCount = 1,
                                  .pAttachments = &a->target.view,
                                  .width = SIZE,
                                  .height = SIZE,
                                  .layers = 1};
    vk_check(vkCreateFramebuffer(a->device, &fb, NULL, &a->framebuffer), "vkCreateFramebuffer");

    VkSamplerCreateInfo sampler = {.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
                                   .magFilter = VK_FILTER_LINEAR,
                                   .minFilter = VK_FILTER_LINEAR,
                                   .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                                   .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
                                   .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE};
    vk_check(vkCreateSampler(a->device, &sampler, NULL, &a->sampler), "vkCreateSampler");
    VkDescriptorSetLayoutBinding binding = {.binding = 0,
                                            .descriptorType =
                                                VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
                                            .descriptorCount = 1,
                                            .stageFlags = VK_SHADER_STAGE_FRAGMENT_BIT};
    VkDescriptorSetLayoutCreateInfo set = {.sType =
                                               VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = 1,
                                           .pBindings = &binding};
    vk_check(vkCreateDescriptorSetLayout(a->device, &set, NULL, &a->set_layout),
             "vkCreateDescriptorSetLayout");
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1};
    VkDescriptorPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 1,
                                       .poolSizeCount = 1,
                                       .pPoolSizes = &size};
    vk_check(vkCreateDescriptorPool(a->device, &pool, NULL, &a->descriptors),
             "vkCreateDescriptorPool");
    VkDescriptorSetAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = a->descriptors,
                                         .descriptorSetCount = 1,
                                         .pSetLayouts = &a->set_layout};
    vk_check(vkAllocateDescriptorSets(a->device, &alloc, &a->set), "vkAllocateDescriptorSets");
    VkPushConstantRange push = {VK_SHADER_STAGE_VERTEX_BIT, 0, 4 * sizeof(float)};
    VkPipelineLayoutCreateInfo layout = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                         .setLayoutCount = 1,
                                         .pSetLayouts = &a->set_layout,
                                         .pushConstantRangeCount = 1,
                                         .pPushConstantRanges = &push};
    vk_check(vkCreatePipelineLayout(a->device, &layout, NULL, &a->layout),
             "vkCreatePipelineLayout");

    VkShaderModule vert = shader_module(a, spv_quad_vert, sizeof spv_quad_vert);
    VkShaderModule frag = shader_module(a, spv_digit_frag, sizeof spv_digit_frag);
    VkPipelineShaderStageCreateInfo stages[2] = {
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
         .stage = VK_SHADER_STAGE_VERTEX_BIT,
         .module = vert,
         .pName = "main"},
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
         .stage = VK_SHADER_STAGE_FRAGMENT_BIT,
         .module = frag,
         .pName = "main"},
    };
    VkPipelineVertexInputStateCreateInfo vertex = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    VkPipelineInputAssemblyStateCreateInfo assembly = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
        .topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP};
    VkViewport viewport = {0, 0, SIZE, SIZE, 0, 1};
    VkRect2D scissor = {{0, 0}, {SIZE, SIZE}};
    VkPipelineViewportStateCreateInfo view = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
        .viewportCount = 1,
        .pViewports = &viewport,
        .scissorCount = 1,
        .pScissors = &scissor};
    VkPipelineRasterizationStateCreateInfo raster = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
        .polygonMode = VK_POLYGON_MODE_FILL,
        .cullMode = VK_CULL_MODE_NONE,
        .lineWidth = 1.0f};
    VkPipelineMultisampleStateCreateInfo multisample = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
        .rasterizationSamples = VK_SAMPLE_COUNT_1_BIT};
    VkPipelineColorBlendAttachmentState blend = {.colorWriteMask = 0xf};
    VkPipelineColorBlendStateCreateInfo blending = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
        .attachmentCount = 1,
        .pAttachments = &blend};
    VkGraphicsPipelineCreateInfo info = {.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
                                         .stageCount = 2,
                                         .pStages = stages,
                                         .pVertexInputState = &vertex,
                                         .pInputAssemblyState = &assembly,
                                         .pViewportState = &view,
                                         .pRasterizationState = &raster,
                                         .pMultisampleState = &multisample,
                                         .pColorBlendState = &blending,
                                         .layout = a->layout,
                                         .renderPass = a->pass};
    vk_check(vkCreateGraphicsPipelines(a->device, VK_NULL_HANDLE, 1, &info, NULL, &a->pipeline),
             "vkCreateGraphicsPipelines");
    vkDestroyShaderModule(a->device, vert, NULL);
    vkDestroyShaderModule(a->device, frag, NULL);
}

static void destroy_renderer(app *a) {
    vkDestroyPipeline(a->device, a->pipeline, NULL);
    vkDestroyPipelineLayout(a->device, a->layout, NULL);
    vkDestroyDescriptorPool(a->device, a->descriptors, NULL);
    vkDestroyDescriptorSetLayout(a->device, a->set_layout, NULL);
    vkDestroySampler(a->device, a->sampler, NULL);
    vkDestroyFramebuffer(a->device, a->framebuffer, NULL);
    vkDestroyRenderPass(a->device, a->pass, NULL);
    destroy_buffer(a, &a->readback);
    destroy_image(a, &a->target);
}

/* The engine's own work of a frame: draw the digit (turned by `angle`), then copy the picture
 * back for the host-side check. */
static void record_drawing(const app *a, float angle, float scale) {
    VkClearValue clear = {.color = {{0, 0, 0, 1}}};
    VkRenderPassBeginInfo rp = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                                .renderPass = a->pass,
                                .framebuffer = a->framebuffer,
                                .renderArea = {{0, 0}, {SIZE, SIZE}},
                                .clearValueCount = 1,
                                .pClearValues = &clear};
    vkCmdBeginRenderPass(a->cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(a->cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, a->pipeline);
    vkCmdBindDescriptorSets(a->cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, a->layout, 0, 1, &a->set, 0,
                            NULL);
    const float push[4] = {angle, scale, 0.02f, -0.01f};
    vkCmdPushConstants(a->cmd, a->layout, VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof push, push);
    vkCmdDraw(a->cmd, 4, 1, 0, 0);
    vkCmdEndRenderPass(a->cmd);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {SIZE, SIZE, 1}};
    vkCmdCopyImageToBuffer(a->cmd, a->target.image, VK_IMAGE_LAYOUT_GENERAL, a->readback.buffer, 1,
                           &region);
}

/* The host path on the picture the GPU saw: luminance, repmlp_preprocessing_apply, a session
 * run, softmax; the top `TOP` classes into cls/prob. */
static void host_top(repmlp_session *host, const repmlp_preprocessing *pre,
                     const unsigned char *rgba, uint32_t *cls, float *prob) {
    unsigned char gray[SIZE * SIZE];
    for (int i = 0; i < SIZE * SIZE; i++) {
        const unsigned char *p = rgba + 4 * i;
        gray[i] = (unsigned char)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    }
    float input[1024], logits[10];
    if ((size_t)pre->input_h * pre->input_w > 1024) exit(1);
    repmlp_check(repmlp_preprocessing_apply(pre, gray, SIZE, SIZE, input), "preprocess");
    repmlp_check(repmlp_session_run(host, input, (size_t)pre->input_h * pre->input_w, logits, 10),
                 "host session");
    double m = logits[0], sum = 0;
    for (int c = 1; c < 10; c++) m = fmax(m, logits[c]);
    for (int c = 0; c < 10; c++) sum += exp(logits[c] - m);
    bool taken[10] = {false};
    for (int k = 0; k < TOP; k++) {
        int best = -1;
        for (int c = 0; c < 10; c++)
            if (!taken[c] && (best < 0 || logits[c] > logits[best])) best = c;
        taken[best] = true;
        cls[k] = (uint32_t)best;
        prob[k] = (float)(exp(logits[best] - m) / sum);
    }
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *pngs[16];
    int npng = 0;
    const char *env = getenv("FRAME_VALIDATION");
    bool validation = env && *env && strcmp(env, "0") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--validation") == 0)
            validation = true;
        else if (!model_path)
            model_path = argv[i];
        else if (npng < 16)
            pngs[npng++] = argv[i];
    }
    if (!model_path || !npng) {
        fprintf(stderr, "usage: frame DIGITS.fused.safetensors DIGIT.png [...] [--validation]\n");
        return 2;
    }
    app a = {0};
    bool storage_16bit;
    create_instance(&a, validation);
    create_device(&a, &storage_16bit);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(a.physical, &props);
    printf("device: %s, queue family %u (graphics + compute), validation %s\n", props.deviceName,
           a.family, validation ? "on" : "off");
    create_renderer(&a);

    repmlp_vulkan_import import = REPMLP_VULKAN_IMPORT_INIT; /* sets its size */
    import.get_instance_proc_addr = vkGetInstanceProcAddr;
    import.instance = a.instance;
    import.physical_device = a.physical;
    import.device = a.device;
    import.queue_family = a.family;
    import.queue = a.queue;
    import.storage_16bit_enabled = storage_16bit;
    repmlp_context *ctx;
    repmlp_check(repmlp_context_import(&import, NULL, &ctx), "repmlp_context_import");
    repmlp_model *model;
    repmlp_check(repmlp_model_load(ctx, model_path, &model), "repmlp_model_load");
    repmlp_preprocessing pre;
    repmlp_check(repmlp_model_preprocessing(model, &pre), "repmlp_model_preprocessing");
    repmlp_session *gpu, *host;
    repmlp_check(repmlp_session_create(model, 1, &gpu), "repmlp_session_create");
    repmlp_check(repmlp_session_create(model, 1, &host), "repmlp_session_create");
    repmlp_check(repmlp_session_set_topk(gpu, TOP), "repmlp_session_set_topk");
    repmlp_image_input picture = REPMLP_IMAGE_INPUT_INIT;
    picture.view = a.target.view;
    picture.layout = VK_IMAGE_LAYOUT_GENERAL;
    picture.format = TARGET_FORMAT;
    picture.width = picture.height = SIZE;
    repmlp_check(repmlp_session_bind_image(gpu, &picture), "repmlp_session_bind_image");
    for (uint32_t p = 0; p < PARTS; p++) {
        repmlp_part_info info;
        repmlp_check(repmlp_session_part_info(gpu, p, PARTS, &info), "part_info");
        printf("part %u of %u: ops %u..%u of %u, %.0f%% of the estimated cost\n", p + 1, PARTS,
               info.first_node, info.first_node + info.node_count, info.total_nodes,
               100 * info.estimated_fraction);
    }

    int mismatches = 0, frame = 0;
    for (int d = 0; d < npng; d++) {
        int w, h, n;
        unsigned char *gray = stbi_load(pngs[d], &w, &h, &n, 1);
        if (!gray) {
            fprintf(stderr, "frame: %s: cannot decode: %s\n", pngs[d], stbi_failure_reason());
            return 1;
        }
        if (d) destroy_image(&a, &a.texture);
        upload_texture(&a, gray, w, h);
        stbi_image_free(gray);
        for (uint32_t part = 0; part < PARTS; part++, frame++) {
            begin(&a);
            if (part == 0) record_drawing(&a, 0.12f * (float)(d - 1), 0.92f + 0.03f * (float)d);
            repmlp_check(repmlp_session_record_part(gpu, a.cmd, part, PARTS), "record_part");
            if (part == PARTS - 1) {
                VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                     .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                                     .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
                vkCmdPipelineBarrier(a.cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                     VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, NULL, 0, NULL);
            }
            submit_and_wait(&a);
            if (part < PARTS - 1) {
                printf("frame %d: %s, network part %u of %u\n", frame,
                       part == 0 ? "drew the digit" : "no drawing", part + 1, PARTS);
                continue;
            }
            repmlp_class_score top[TOP];
            repmlp_check(repmlp_session_read_topk(gpu, top, TOP), "repmlp_session_read_topk");
            uint32_t cls[TOP];
            float prob[TOP];
            host_top(host, &pre, a.readback.mapped, cls, prob);
            printf("frame %d: network part %u of %u; %s as drawn: GPU top-%d", frame, part + 1,
                   PARTS, pngs[d], TOP);
            bool same = true;
            for (int k = 0; k < TOP; k++) {
                printf(" %u (p=%.4f)", top[k].class_index, top[k].probability);
                same = same && top[k].class_index == cls[k] &&
                       fabs(top[k].probability - prob[k]) <= 1e-4;
            }
            printf("; host path %s\n", same ? "agrees" : "DIFFERS");
            if (!same) mismatches++;
        }
    }
    repmlp_session_destroy(gpu);
    repmlp_session_destroy(host);
    repmlp_model_destroy(model);
    repmlp_context_destroy(ctx);

    destroy_image(&a, &a.texture);
    destroy_renderer(&a);
    vkDestroyFence(a.device, a.fence, NULL);
    vkDestroyCommandPool(a.device, a.pool, NULL);
    vkDestroyDevice(a.device, NULL);
    if (a.messenger) vkDestroyDebugUtilsMessengerEXT(a.instance, a.messenger, NULL);
    vkDestroyInstance(a.instance, NULL);
    if (mismatches) {
        fprintf(stderr, "frame: %d pictures classified differently on the GPU and the host\n",
                mismatches);
        return 1;
    }
    if (a.messages) {
        fprintf(stderr, "frame: the validation layer reported %u messages\n", a.messages);
        return 1;
    }
    return 0;
}
