/* A picture in a VkImage as a session's input (repmlp_session_bind_image): for every supported
 * format, an image of the digits model's picture gives the logits of the host path
 * (repmlp_preprocessing_apply, what repmlp-run --image runs) on the same pixels, both for a
 * picture of the model's source size and for one of another size (the area average) in
 * colour (the luminance). */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"
#include "test_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_decode.h"
#include "exec/session.h"
#include "ops/ops.h"
#include "repmlp/vulkan.h"

#define DIGITS REPMLP_SOURCE_DIR "/examples/digits"

/* fp32 preprocessing on the device vs float64 on the host, through the network: worst measured
 * 2.1e-7 relative (both drivers, 2026-11-30). */
#define IMAGE_TOLERANCE 2e-6

static char fused[1200];

static int setup(void **state) {
    (void)state;
    char scratch[1200];
    ts_fuse_digits("image-input", scratch, fused, sizeof fused);
    return 0;
}

/* The texel bytes of format for 8-bit RGBA pixels. */
static size_t texel_bytes(VkFormat format, const unsigned char *rgba, size_t n, void **out) {
    size_t size = format == VK_FORMAT_R32G32B32A32_SFLOAT   ? 16
                  : format == VK_FORMAT_R16G16B16A16_SFLOAT ? 8
                                                            : 4;
    unsigned char *bytes = malloc(n * size);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rgba + 4 * i;
        if (format == VK_FORMAT_R32G32B32A32_SFLOAT) {
            for (int c = 0; c < 4; c++) ((float *)bytes)[4 * i + c] = p[c] / 255.0f;
        } else if (format == VK_FORMAT_R16G16B16A16_SFLOAT) {
            for (int c = 0; c < 4; c++)
                ((uint16_t *)bytes)[4 * i + c] = rm_f32_to_f16(p[c] / 255.0f);
        } else if (format == VK_FORMAT_B8G8R8A8_UNORM || format == VK_FORMAT_B8G8R8A8_SRGB) {
            const unsigned char bgra[4] = {p[2], p[1], p[0], p[3]};
            memcpy(bytes + 4 * i, bgra, 4);
        } else {
            memcpy(bytes + 4 * i, p, 4);
        }
    }
    *out = bytes;
    return n * size;
}

/* A device-local image of `format` holding the RGBA8 pixels rgba (tests/support/test_image). */
static ts_image upload_image(repmlp_context *ctx, VkFormat format, const unsigned char *rgba,
                             uint32_t w, uint32_t h) {
    void *bytes;
    size_t n = texel_bytes(format, rgba, (size_t)w * h, &bytes);
    ts_image t = ts_image_upload(ctx, format, bytes, n, w, h);
    free(bytes);
    return t;
}

/* The model's logits for RGBA pixels on the host path: stb_image's luminance, then
 * repmlp_preprocessing_apply, then the session as usual. */
static void host_logits(repmlp_session *s, const repmlp_preprocessing *pre,
                        const unsigned char *rgba, int w, int h, float *logits, size_t classes) {
    unsigned char *gray = malloc((size_t)w * h);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const unsigned char *p = rgba + 4 * i;
        gray[i] = (unsigned char)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    }
    size_t n = (size_t)pre->input_h * pre->input_w;
    float *input = malloc(n * sizeof *input);
    assert_int_equal(repmlp_preprocessing_apply(pre, gray, (uint32_t)w, (uint32_t)h, input),
                     REPMLP_OK);
    assert_int_equal(ts_session_run(s, input, n, logits, classes), REPMLP_OK);
    free(gray);
    free(input);
}

static const VkFormat formats[] = {
    VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_R8G8B8A8_SRGB,       VK_FORMAT_B8G8R8A8_UNORM,
    VK_FORMAT_B8G8R8A8_SRGB,  VK_FORMAT_R16G16B16A16_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT,
};
static const char *const format_names[] = {"R8G8B8A8_UNORM",      "R8G8B8A8_SRGB",
                                           "B8G8R8A8_UNORM",      "B8G8R8A8_SRGB",
                                           "R16G16B16A16_SFLOAT", "R32G32B32A32_SFLOAT"};

static void every_format(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_preprocessing pre;
    assert_int_equal(repmlp_model_preprocessing(m, &pre), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK);
    enum { CLASSES = 10 };
    float want[CLASSES], got[CLASSES];

    /* Two pictures: a shipped 8x8 digit (the source size), and the same digit drawn at 37x29
     * in colour (area average and luminance on the device). */
    unsigned char *gray;
    int gw, gh;
    char err[1200];
    if (rm_image_load(DIGITS "/digit_3_436.png", 1, &gray, &gw, &gh, err, sizeof err))
        fail_msg("%s", err);
    const int sizes[2][2] = {{gw, gh}, {37, 29}};
    double worst = 0;
    for (int pic = 0; pic < 2; pic++) {
        int w = sizes[pic][0], h = sizes[pic][1];
        unsigned char *rgba = malloc((size_t)w * h * 4);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                unsigned char v = gray[(size_t)(y * gh / h) * gw + (size_t)(x * gw / w)];
                unsigned char *p = rgba + 4 * ((size_t)y * w + x);
                p[0] = pic ? (unsigned char)(v * 3 / 4 + x) : v; /* a tint, not gray */
                p[1] = v;
                p[2] = pic ? (unsigned char)(v / 2 + 7 * y) : v;
                p[3] = 255;
            }
        host_logits(s, &pre, rgba, w, h, want, CLASSES);
        double want_d[CLASSES];
        for (int i = 0; i < CLASSES; i++) want_d[i] = want[i];
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
            VkFormatProperties props;
            vkGetPhysicalDeviceFormatProperties(ctx->physical_device, formats[f], &props);
            if (!(props.optimalTilingFeatures & VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT)) {
                ts_skip_note("%s cannot sample %s images", ctx->info.name, format_names[f]);
                continue;
            }
            ts_image t = upload_image(ctx, formats[f], rgba, (uint32_t)w, (uint32_t)h);
            repmlp_image_input in = {sizeof(repmlp_image_input),
                                     t.view,
                                     VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                                     formats[f],
                                     (uint32_t)w,
                                     (uint32_t)h};
            assert_int_equal(repmlp_session_bind_image(s, &in), REPMLP_OK);
            ts_session_poison(s);
            ts_poison(ctx, &s->input, s->input.size / sizeof(float)); /* written by the image */
            assert_int_equal(repmlp_session_execute(s), REPMLP_OK);
            assert_int_equal(repmlp_session_read_output(s, got, CLASSES), REPMLP_OK);
            double e = ts_max_rel_error(got, want_d, CLASSES);
            print_message("%dx%d %s picture as %-19s logits vs the host path: max rel error %.3g\n",
                          w, h, pic ? "colour" : "gray", format_names[f], e);
            if (!(e < IMAGE_TOLERANCE)) fail_msg("%s: off by %.3g", format_names[f], e);
            if (e > worst) worst = e;
            assert_int_equal(repmlp_session_bind_image(s, NULL), REPMLP_OK);
            ts_image_destroy(ctx, &t);
        }
        free(rgba);
    }
    print_message("worst error over every format and picture: %.3g\n", worst);
    rm_image_free(gray);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* Misuse: batch > 1, an unsupported format, a bad layout, together with an input buffer. */
static void errors(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_session *s2, *s1;
    assert_int_equal(repmlp_session_create(m, 2, &s2), REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, 1, &s1), REPMLP_OK);
    VkImageView fake = (VkImageView)(uintptr_t)0x1; /* never reaches the driver */
    repmlp_image_input in = {
        sizeof(repmlp_image_input), fake, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
        VK_FORMAT_R8G8B8A8_UNORM,   8,    8};
    assert_int_equal(repmlp_session_bind_image(s2, &in), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "batch 1"));
    in.layout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    assert_int_equal(repmlp_session_bind_image(s1, &in), REPMLP_ERROR_INVALID_ARGUMENT);
    in.layout = VK_IMAGE_LAYOUT_GENERAL;
    in.format = VK_FORMAT_R8_UNORM;
    assert_int_equal(repmlp_session_bind_image(s1, &in), REPMLP_ERROR_UNSUPPORTED);
    assert_non_null(strstr(repmlp_last_error(), "format"));
    ts_app_buffer buf = ts_app_buffer_create(ctx, 16 * 16 * 4);
    assert_int_equal(repmlp_session_bind_buffers(s1, buf.buffer, 0, VK_NULL_HANDLE, 0), REPMLP_OK);
    in.format = VK_FORMAT_R8G8B8A8_UNORM;
    assert_int_equal(repmlp_session_bind_image(s1, &in), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "input buffer is bound"));
    repmlp_session_destroy(s1);
    repmlp_session_destroy(s2);
    ts_app_buffer_destroy(ctx, &buf);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format),
        cmocka_unit_test(errors),
    };
    return ts_exit_code(ts_run_group(tests, setup, NULL));
}
