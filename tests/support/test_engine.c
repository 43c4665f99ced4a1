#include "test_engine.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"
#include "repmlp/vulkan.h"

static VKAPI_ATTR VkBool32 VKAPI_CALL engine_debug(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                   VkDebugUtilsMessageTypeFlagsEXT type,
                                                   const VkDebugUtilsMessengerCallbackDataEXT *d,
                                                   void *user) {
    (void)type;
    ts_engine *e = user;
    if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        atomic_fetch_add(&e->messages, 1u);
        fprintf(stderr, "[engine validation] %s\n", d->pMessage);
    }
    return VK_FALSE;
}

static void start(ts_engine *e, bool want_timeline) {
    memset(e, 0, sizeof *e);
    atomic_init(&e->messages, 0u);
    assert_int_equal(volkInitialize(), VK_SUCCESS);
    bool validation = ts_context_flags() & REPMLP_CONTEXT_VALIDATION;
    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
                          VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    /* Synchronization validation too, as the library's own contexts have it: the engine's
     * barriers around the library's work are checked with the library's. */
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT sync_features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                             .enabledValidationFeatureCount = 1,
                                             .pEnabledValidationFeatures = &sync};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ii = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = validation ? &sync_features : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = validation,
                               .ppEnabledLayerNames = &layer,
                               .enabledExtensionCount = validation ? 2 : 0,
                               .ppEnabledExtensionNames = exts};
    assert_int_equal(vkCreateInstance(&ii, NULL, &e->instance), VK_SUCCESS);
    volkLoadInstanceOnly(e->instance);
    if (validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
            .pfnUserCallback = engine_debug,
            .pUserData = e};
        assert_int_equal(vkCreateDebugUtilsMessengerEXT(e->instance, &mi, NULL, &e->messenger),
                         VK_SUCCESS);
    }
    uint32_t count = 1;
    VkResult r = vkEnumeratePhysicalDevices(e->instance, &count, &e->physical);
    assert_true(r == VK_SUCCESS || r == VK_INCOMPLETE);
    assert_int_equal(count, 1);

    /* Ask the library first, then create the device with what it can use. */
    repmlp_vulkan_requirements req;
    assert_int_equal(repmlp_vulkan_query(NULL, e->instance, e->physical, &req), REPMLP_OK);
    assert_true(req.usable);
    assert_int_equal(req.extension_count, 0);
    print_message("requirements: Vulkan %u.%u, queue family %u, 16-bit storage %s\n",
                  VK_API_VERSION_MAJOR(req.api_version), VK_API_VERSION_MINOR(req.api_version),
                  req.queue_family, req.storage_16bit ? "available" : "not available");
    e->family = req.queue_family;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = e->family,
                                  .queueCount = 1,
                                  .pQueuePriorities = &priority};
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = req.storage_16bit};
    e->timeline = want_timeline && req.timeline_semaphore;
    VkPhysicalDeviceTimelineSemaphoreFeatures timeline = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES,
        .timelineSemaphore = VK_TRUE};
    if (e->timeline) f16.pNext = &timeline;
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                          .pNext = &f16};
    const char *timeline_ext = VK_KHR_TIMELINE_SEMAPHORE_EXTENSION_NAME;
    VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = &features,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi,
                             .enabledExtensionCount = e->timeline ? 1 : 0,
                             .ppEnabledExtensionNames = &timeline_ext};
    assert_int_equal(vkCreateDevice(e->physical, &di, NULL, &e->device), VK_SUCCESS);
    volkLoadDeviceTable(&e->vk, e->device);
    e->vk.vkGetDeviceQueue(e->device, e->family, 0, &e->queue);
}

void ts_engine_start(ts_engine *e) {
    start(e, false);
}

void ts_engine_start_timeline(ts_engine *e) {
    start(e, true);
}

void ts_engine_stop(ts_engine *e) {
    e->vk.vkDestroyDevice(e->device, NULL);
    if (e->messenger) vkDestroyDebugUtilsMessengerEXT(e->instance, e->messenger, NULL);
    vkDestroyInstance(e->instance, NULL);
    unsigned messages = atomic_load(&e->messages);
    if (messages) fail_msg("the engine's validation layer reported %u messages", messages);
}

repmlp_vulkan_import ts_engine_import(const ts_engine *e) {
    return (repmlp_vulkan_import){.size = sizeof(repmlp_vulkan_import),
                                  .instance = e->instance,
                                  .physical_device = e->physical,
                                  .device = e->device,
                                  .queue_family = e->family,
                                  .queue = e->queue};
}

void ts_engine_barrier(ts_engine *e, VkCommandBuffer cmd, VkPipelineStageFlags src,
                       VkAccessFlags src_access, VkPipelineStageFlags dst,
                       VkAccessFlags dst_access) {
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = src_access,
                         .dstAccessMask = dst_access};
    e->vk.vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &b, 0, NULL, 0, NULL);
}
