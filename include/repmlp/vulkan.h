/* repmlp-vk: interoperation with an application's own Vulkan objects.
 *
 * Include after <vulkan/vulkan.h> (or volk.h); the library itself loads Vulkan through volk,
 * so this header only uses Vulkan's types. */
#ifndef REPMLP_VULKAN_H
#define REPMLP_VULKAN_H

#include <vulkan/vulkan_core.h>

#include "repmlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the session read its input from, and write its output to, the caller's buffers
 * instead of its own: `input` bytes [input_offset, + input floats * 4) and likewise for
 * output. The buffers must come from the session's VkDevice, have STORAGE_BUFFER usage, and
 * offsets must be multiples of minStorageBufferOffsetAlignment. The command buffer is
 * re-recorded once here, not per run. Pass VK_NULL_HANDLE for either buffer to return that
 * side to the session's own buffer. After binding, repmlp_session_execute() runs on the
 * caller's data; repmlp_session_write_input/read_output keep using the session's own
 * buffers. The caller must keep the buffers alive while bound. */
repmlp_status repmlp_session_bind_buffers(repmlp_session *session, VkBuffer input,
                                          VkDeviceSize input_offset, VkBuffer output,
                                          VkDeviceSize output_offset);

#ifdef __cplusplus
}
#endif

#endif
