/* Vulkan loading, instance creation and device enumeration. */
#include "core/instance.h"
#include "core/fault.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "core/error.h"

#define RM_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

repmlp_status rm_load_vulkan(void) {
    /* volk keeps process-wide function pointers; loading twice is harmless. */
    if (vkGetInstanceProcAddr) return REPMLP_OK;
    if (volkInitialize() != VK_SUCCESS)
        return rm_fail(REPMLP_ERROR_NO_LOADER,
                       "Vulkan loader (libvulkan.so.1 / vulkan-1.dll) could not be loaded");
    return REPMLP_OK;
}

/* *found tells whether the loader lists the layer; fails only when out of host memory. */
static repmlp_status has_layer(const char *name, bool *found) {
    *found = false;
    uint32_t count = 0;
    if (vkEnumerateInstanceLayerProperties(&count, NULL) != VK_SUCCESS) return REPMLP_OK;
    VkLayerProperties *layers = rm_calloc(count, sizeof *layers);
    if (!layers) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (vkEnumerateInstanceLayerProperties(&count, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !*found; i++)
            *found = strcmp(layers[i].layerName, name) == 0;
    rm_free(layers);
    return REPMLP_OK;
}

/* layer: NULL for the loader's and drivers' extensions, else that layer's own. */
static repmlp_status has_instance_extension(const char *layer, const char *name, bool *found) {
    *found = false;
    uint32_t count = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &count, NULL) != VK_SUCCESS) return REPMLP_OK;
    VkExtensionProperties *exts = rm_calloc(count, sizeof *exts);
    if (!exts) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (vkEnumerateInstanceExtensionProperties(layer, &count, exts) == VK_SUCCESS)
        for (uint32_t i = 0; i < count && !*found; i++)
            *found = strcmp(exts[i].extensionName, name) == 0;
    rm_free(exts);
    return REPMLP_OK;
}

repmlp_status rm_instance_create(bool validation, const VkAllocationCallbacks *allocator,
                                 VkInstance *out) {
    repmlp_status st = rm_load_vulkan();
    if (st != REPMLP_OK) return st;

    uint32_t api = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion) vkEnumerateInstanceVersion(&api);
    /* A loader without drivers can report 1.0 (Wine's does without a display). */
    if (api < VK_API_VERSION_1_1)
        return rm_fail(
            REPMLP_ERROR_NO_DEVICE,
            "no Vulkan 1.1 driver found (the Vulkan loader reports only %u.%u): " RM_NO_DRIVER_HINT,
            VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));

    const char *layers[1] = {RM_VALIDATION_LAYER};
    const char *extensions[3];
    uint32_t extension_count = 0;
    VkInstanceCreateFlags flags = 0;
    bool found;
    /* Validation includes synchronization validation: a missing barrier is as much a bug as a
     * bad argument, and only this check sees it (a CPU driver computes right without it). */
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync,
    };
    const void *chain = NULL;
    if (validation) {
        if ((st = has_layer(RM_VALIDATION_LAYER, &found)) != REPMLP_OK) return st;
        if (!found)
            return rm_fail(REPMLP_ERROR_UNSUPPORTED, "validation requested but %s is not installed",
                           RM_VALIDATION_LAYER);
        extensions[extension_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        if ((st = has_instance_extension(RM_VALIDATION_LAYER,
                                         VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME, &found)) !=
            REPMLP_OK)
            return st;
        if (!found)
            return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                           "validation requested but %s lacks %s (synchronization validation)",
                           RM_VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
        extensions[extension_count++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
        chain = &features;
    }
    /* Lets the loader list portability (layered) drivers too, such as MoltenVK. */
    if ((st = has_instance_extension(NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME,
                                     &found)) != REPMLP_OK)
        return st;
    if (found) {
        extensions[extension_count++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "repmlp-vk",
        .pEngineName = "repmlp-vk",
        .engineVersion = REPMLP_VERSION_NUMBER,
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = chain,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = RM_VK_CREATE(vkCreateInstance(&info, allocator, &instance));
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) /* what the loader says when it finds no driver */
        return rm_fail(REPMLP_ERROR_NO_DEVICE, "no Vulkan driver found (vkCreateInstance: "
                                               "VK_ERROR_INCOMPATIBLE_DRIVER): " RM_NO_DRIVER_HINT);
    if (r != VK_SUCCESS)
        return rm_fail(r == VK_ERROR_OUT_OF_HOST_MEMORY     ? REPMLP_ERROR_OUT_OF_HOST_MEMORY
                       : r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? REPMLP_ERROR_OUT_OF_DEVICE_MEMORY
                                                            : REPMLP_ERROR_VULKAN,
                       "vkCreateInstance failed: %s", rm_vk_result_name(r));
    volkLoadInstanceOnly(instance);
    *out = instance;
    return REPMLP_OK;
}

static repmlp_device_type device_type(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return REPMLP_DEVICE_INTEGRATED_GPU;
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return REPMLP_DEVICE_DISCRETE_GPU;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return REPMLP_DEVICE_VIRTUAL_GPU;
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return REPMLP_DEVICE_CPU;
        default:
            return REPMLP_DEVICE_OTHER;
    }
}

bool rm_find_compute_queue(VkPhysicalDevice pd, uint32_t *family) {
    /* No allocation, so running out of memory never makes a device look unusable; devices
     * have a handful of families (the first 64 are considered). The count is asked first, as
     * the API intends. */
    VkQueueFamilyProperties q[64];
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, NULL);
    if (count > 64) count = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &count, q);
    /* Prefer a compute-only family (async compute on GPUs), else any with compute. */
    int best = -1;
    for (uint32_t i = 0; i < count; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0) continue;
        if (best < 0 || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) best = (int)i;
        if (!(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) break;
    }
    if (best < 0) return false;
    *family = (uint32_t)best;
    return true;
}

void rm_describe_device(VkPhysicalDevice pd, uint32_t index, repmlp_device_info *out) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    memset(out, 0, sizeof *out);
    out->index = index;
    snprintf(out->name, sizeof out->name, "%s", p.deviceName);
    out->type = device_type(p.deviceType);
    out->vendor_id = p.vendorID;
    out->device_id = p.deviceID;
    out->api_version = p.apiVersion;
    out->driver_version = p.driverVersion;
    uint32_t family;
    out->usable = p.apiVersion >= VK_API_VERSION_1_1 && rm_find_compute_queue(pd, &family);
    /* A device with no memory heap can hold no buffer: it compiles, it cannot run. */
    VkPhysicalDeviceMemoryProperties memory;
    vkGetPhysicalDeviceMemoryProperties(pd, &memory);
    out->compile_only = memory.memoryHeapCount == 0 || memory.memoryTypeCount == 0;
}

repmlp_status rm_enumerate(VkInstance instance, VkPhysicalDevice **devices, uint32_t *count) {
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(instance, &n, NULL);
    if (r != VK_SUCCESS)
        return rm_fail(REPMLP_ERROR_VULKAN, "vkEnumeratePhysicalDevices failed: %s",
                       rm_vk_result_name(r));
    VkPhysicalDevice *list = rm_calloc(n, sizeof *list);
    if (!list) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    r = vkEnumeratePhysicalDevices(instance, &n, list);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        rm_free(list);
        return rm_fail(REPMLP_ERROR_VULKAN, "vkEnumeratePhysicalDevices failed: %s",
                       rm_vk_result_name(r));
    }
    *devices = list;
    *count = n;
    return REPMLP_OK;
}

static int type_rank(repmlp_device_type t) {
    switch (t) {
        case REPMLP_DEVICE_DISCRETE_GPU:
            return 4;
        case REPMLP_DEVICE_INTEGRATED_GPU:
            return 3;
        case REPMLP_DEVICE_VIRTUAL_GPU:
            return 2;
        case REPMLP_DEVICE_CPU:
            return 1;
        default:
            return 0;
    }
}

/* Devices that can run come first; a compile-only one is chosen only when nothing else
 * matches (and the context then refuses it unless it is compile-only). */
static int rank(const repmlp_device_info *info) {
    return type_rank(info->type) - (info->compile_only ? 10 : 0);
}

static bool contains_ignore_case(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return n == 0;
}

static bool is_index(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

int rm_select_device(const repmlp_device_info *infos, uint32_t count, const char *selector) {
    if (selector && is_index(selector)) {
        unsigned long idx = strtoul(selector, NULL, 10);
        if (idx < count && infos[idx].usable) return (int)idx;
        return -1;
    }
    int best = -1;
    for (uint32_t i = 0; i < count; i++) {
        if (!infos[i].usable) continue;
        if (selector && *selector && !contains_ignore_case(infos[i].name, selector)) continue;
        if (best < 0 || rank(&infos[i]) > rank(&infos[best])) best = (int)i;
    }
    return best;
}

repmlp_status repmlp_device_list(repmlp_device_info *infos, uint32_t *count) {
    if (!count) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_device_list: count is NULL");
    VkInstance instance;
    repmlp_status st = rm_instance_create(false, NULL, &instance);
    if (st != REPMLP_OK) return st;
    VkPhysicalDevice *devices = NULL;
    uint32_t n = 0;
    st = rm_enumerate(instance, &devices, &n);
    if (st == REPMLP_OK) {
        /* Vulkan's count query: NULL asks for the number; a short array gets what fits. */
        uint32_t written = infos ? (n < *count ? n : *count) : n;
        for (uint32_t i = 0; infos && i < written; i++)
            rm_describe_device(devices[i], i, &infos[i]);
        *count = written;
        if (written < n) st = REPMLP_INCOMPLETE;
    }
    rm_free(devices);
    vkDestroyInstance(instance, NULL);
    return st;
}
