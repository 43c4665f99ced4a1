/* Private: Vulkan loading, instance creation, device enumeration and selection. */
#ifndef RM_INSTANCE_H
#define RM_INSTANCE_H

#include <stdbool.h>

#include <volk.h>

#include "repmlp/context.h"

/* Ends the message when no Vulkan driver is found: what to check. */
#define RM_NO_DRIVER_HINT                                                                          \
    "install a Vulkan driver (a GPU's, or Mesa's lavapipe) and check VK_ICD_FILENAMES / "          \
    "VK_DRIVER_FILES (under Wine: a display, e.g. xvfb-run)"

repmlp_status rm_load_vulkan(void);
/* allocator: the application's VkAllocationCallbacks, or NULL. */
repmlp_status rm_instance_create(bool validation, const VkAllocationCallbacks *allocator,
                                 VkInstance *out);
/* rm_malloc'd array of the instance's physical devices. */
repmlp_status rm_enumerate(VkInstance instance, VkPhysicalDevice **devices, uint32_t *count);
void rm_describe_device(VkPhysicalDevice pd, uint32_t index, repmlp_device_info *out);
bool rm_find_compute_queue(VkPhysicalDevice pd, uint32_t *family);
/* Index of the device the selector picks (see repmlp_context_desc.device), or -1. */
int rm_select_device(const repmlp_device_info *infos, uint32_t count, const char *selector);

#endif
