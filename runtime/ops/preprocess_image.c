/* A picture in a sampled image -> the model's input, on the device (see
 * shaders/preprocess_image.comp). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

bool rm_image_format_supported(VkFormat format, bool *srgb) {
    switch (format) {
        case VK_FORMAT_R8G8B8A8_SRGB:
        case VK_FORMAT_B8G8R8A8_SRGB:
            *srgb = true;
            return true;
        case VK_FORMAT_R8G8B8A8_UNORM:
        case VK_FORMAT_B8G8R8A8_UNORM:
        case VK_FORMAT_R16G16B16A16_SFLOAT:
        case VK_FORMAT_R32G32B32A32_SFLOAT:
            *srgb = false;
            return true;
        default:
            return false;
    }
}

repmlp_status rm_preprocess_image_prepare(repmlp_context *ctx, const rm_preprocess_image_params *p,
                                          rm_dispatch *out) {
    const repmlp_preprocessing *pre = &p->pre;
    bool srgb;
    if (!rm_image_format_supported(p->format, &srgb))
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "image input: format %d is not supported",
                       (int)p->format);
    if (!p->width || !p->height || p->width > 65536 || p->height > 65536)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "image input: size %ux%u", p->width,
                       p->height);
    uint32_t spec[6] = {pre->channels, srgb ? 1u : 0u, pre->source_h,
                        pre->source_w, pre->input_h,   pre->input_w};
    struct {
        uint32_t width, height;
        float lo, scale, mean[3], inv_std[3];
    } push = {
        p->width, p->height, (float)pre->value_lo, (float)((pre->value_hi - pre->value_lo) / 255.0),
        {0},      {0}};
    for (uint32_t c = 0; c < pre->channels && c < 3; c++) {
        push.mean[c] = (float)pre->mean[c];
        push.inv_std[c] = (float)(1.0 / pre->std[c]);
    }
    uint64_t total = (uint64_t)pre->channels * pre->input_h * pre->input_w;
    return rm_elementwise_prepare_spec(ctx, RM_SHADER_PREPROCESS_IMAGE, total, spec, 6, &push,
                                       sizeof push, out);
}
