/* A picture in a VkImage for the image-input tests: device-local, uploaded through the
 * library's one-off transfers, left in SHADER_READ_ONLY_OPTIMAL with the writes made visible to
 * compute-shader reads (what repmlp/vulkan.h asks of the caller). */
#ifndef RM_TEST_IMAGE_H
#define RM_TEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"

typedef struct ts_image {
    VkImage image;
    VkDeviceMemory memory;
    VkImageView view;
} ts_image;

/* A w x h image of `format` holding `bytes` bytes of texels (already in that format). Fails the
 * test on error. */
ts_image ts_image_upload(repmlp_context *ctx, VkFormat format, const void *texels, size_t bytes,
                         uint32_t w, uint32_t h);
void ts_image_destroy(repmlp_context *ctx, ts_image *t);

#endif
