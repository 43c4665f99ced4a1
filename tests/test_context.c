/* Context creation, device selection and the runtime's error paths. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/pipeline.h"
#include "ops/ops.h"

static void default_context_and_info(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_device_info info;
    assert_int_equal(repmlp_context_device(ctx, &info), REPMLP_OK);
    assert_true(info.usable);
    assert_true(strlen(info.name) > 0);
    assert_true(ctx->caps.max_workgroup_invocations >= 128);
    print_message("limits: %u invocations, storage range %llu, subgroup %u, fp16 storage %d, "
                  "timestamps %d, unified memory %d, memory priority %d\n",
                  ctx->caps.max_workgroup_invocations,
                  (unsigned long long)ctx->caps.max_storage_buffer_range, ctx->caps.subgroup_size,
                  ctx->caps.storage_16bit, ctx->caps.timestamps, ctx->caps.unified_memory,
                  ctx->caps.memory_priority);
    ts_context_done(ctx);
}

/* A validation message reaches both counts, the context's and the application's counter (the
 * layer rejects the zero-sized buffer before the driver sees it). */
static void validation_counted(void **state) {
    (void)state;
    if (!(ts_context_flags() & REPMLP_CONTEXT_VALIDATION))
        ts_skip("the validation layer is off in this run");
    uint32_t counter = 0;
    repmlp_context_desc desc = ts_context_desc();
    desc.validation_counter = &counter;
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    VkBufferCreateInfo bad = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = 0,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer buffer = VK_NULL_HANDLE;
    print_message("a deliberate validation error follows:\n");
    ctx->vk.vkCreateBuffer(ctx->device, &bad, NULL, &buffer);
    if (buffer) ctx->vk.vkDestroyBuffer(ctx->device, buffer, NULL);
    uint32_t seen = repmlp_context_validation_messages(ctx);
    assert_true(seen >= 1);
    repmlp_context_destroy(ctx);
    assert_int_equal(counter, seen);
}

static void list_devices(void **state) {
    (void)state;
    uint32_t count = 0;
    assert_int_equal(repmlp_device_list(NULL, &count), REPMLP_OK);
    assert_true(count >= 1);
    repmlp_device_info infos[16];
    uint32_t cap = 16;
    assert_int_equal(repmlp_device_list(infos, &cap), REPMLP_OK);
    assert_int_equal(cap, count);
    assert_int_equal(infos[0].index, 0);
    assert_int_equal(repmlp_device_list(NULL, NULL), REPMLP_ERROR_INVALID_ARGUMENT);
}

static void selector_errors(void **state) {
    (void)state;
    repmlp_context *ctx = (repmlp_context *)0x1;
    repmlp_context_desc desc = ts_context_desc();
    desc.device = "no-such-device-xyz";
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_ERROR_NO_DEVICE);
    assert_null(ctx);
    assert_non_null(strstr(repmlp_last_error(), "no-such-device-xyz"));
    desc.device = "4096";
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_ERROR_NO_DEVICE);
    assert_int_equal(repmlp_context_create(&desc, NULL), REPMLP_ERROR_INVALID_ARGUMENT);
    /* Selection by index 0 and by a case-insensitive name substring both work. */
    const char *expect = ts_test_device();
    desc.device = "0";
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    repmlp_context_destroy(ctx);
    if (expect) {
        char upper[64];
        size_t i = 0;
        for (; expect[i] && i < sizeof upper - 1; i++)
            upper[i] = (char)(expect[i] >= 'a' && expect[i] <= 'z' ? expect[i] - 32 : expect[i]);
        upper[i] = 0;
        desc.device = upper;
        assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
        repmlp_context_destroy(ctx);
    }
    repmlp_context_destroy(NULL);
    ts_check_validation();
}

/* With no driver the loader finds nothing; the message says so and what to check. */
static void no_driver(void **state) {
    (void)state;
    static const char *vars[2] = {"VK_ICD_FILENAMES", "VK_DRIVER_FILES"};
    char *saved[2];
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        assert_int_equal(setenv(vars[i], REPMLP_BINARY_DIR "/no-such-driver.json", 1), 0);
    }
    uint32_t count = 0;
    assert_int_equal(repmlp_device_list(NULL, &count), REPMLP_ERROR_NO_DEVICE);
    assert_non_null(strstr(repmlp_last_error(), "no Vulkan driver found"));
    assert_non_null(strstr(repmlp_last_error(), "VK_ICD_FILENAMES"));
    repmlp_context *ctx = (repmlp_context *)0x1;
    repmlp_context_desc desc = {
        .size = sizeof(repmlp_context_desc), .flags = ts_context_flags(), .log = ts_log};
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_ERROR_NO_DEVICE);
    assert_null(ctx);
    assert_non_null(strstr(repmlp_last_error(), "no Vulkan driver found"));
    for (int i = 0; i < 2; i++) {
        if (saved[i])
            assert_int_equal(setenv(vars[i], saved[i], 1), 0);
        else
            assert_int_equal(unsetenv(vars[i]), 0);
        free(saved[i]);
    }
    assert_int_equal(repmlp_device_list(NULL, &count), REPMLP_OK); /* the driver is back */
}

static void buffer_errors(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    rm_buffer b;
    assert_int_equal(rm_buffer_create(ctx, 0, RM_BUFFER_ACTIVATIONS, &b),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    repmlp_status st = rm_buffer_create(ctx, (VkDeviceSize)1 << 62, RM_BUFFER_ACTIVATIONS, &b);
    assert_true(st == REPMLP_ERROR_TOO_LARGE || st == REPMLP_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_int_equal(rm_buffer_create(ctx, 64, RM_BUFFER_ACTIVATIONS, &b), REPMLP_OK);
    char data[65] = {0};
    assert_int_equal(rm_buffer_upload(ctx, &b, 8, data, 64), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(rm_buffer_download(ctx, &b, 65, data, 0), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(rm_buffer_upload(ctx, &b, 0, data, 64), REPMLP_OK);
    rm_buffer_destroy(ctx, &b);
    rm_buffer_destroy(ctx, NULL);
    ts_context_done(ctx);
}

/* Small buffers share a block: aligned, disjoint, each holding its own bytes, of one memory
 * per kind; freed in any order, the block goes with the last one (and a large buffer never
 * shares). Both staging kinds too, with FORCE_STAGING's unmapped device buffers beside them. */
static void small_buffers_share_blocks(void **state) {
    (void)state;
    for (int forced = 0; forced < 2; forced++) {
        repmlp_context_desc desc = ts_context_desc();
        if (forced) desc.flags |= REPMLP_CONTEXT_FORCE_STAGING;
        repmlp_context *ctx;
        assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
        enum { N = 40 };
        rm_buffer b[N];
        for (int i = 0; i < N; i++) {
            rm_buffer_kind kind = i % 4 == 3 ? RM_BUFFER_READBACK : RM_BUFFER_ACTIVATIONS;
            VkDeviceSize size = 16 + (VkDeviceSize)(i * 1237 % 9000);
            assert_int_equal(rm_buffer_create(ctx, size, kind, &b[i]), REPMLP_OK);
            assert_non_null(b[i].block);
            assert_int_equal(b[i].memory, VK_NULL_HANDLE);
            VkMemoryRequirements req;
            ctx->vk.vkGetBufferMemoryRequirements(ctx->device, b[i].buffer, &req);
            assert_int_equal(b[i].offset % req.alignment, 0);
            assert_int_equal(b[i].mapped != NULL, kind == RM_BUFFER_READBACK || !forced);
            for (int j = 0; j < i; j++) {
                if (b[j].block != b[i].block) continue;
                assert_true(b[i].offset >= b[j].offset + b[j].allocated ||
                            b[j].offset >= b[i].offset + b[i].allocated);
            }
        }
        for (int i = 0; i < N; i++) {
            uint32_t word[2] = {0xabc00000u + (uint32_t)i, (uint32_t)i};
            assert_int_equal(rm_buffer_upload(ctx, &b[i], 0, word, sizeof word), REPMLP_OK);
        }
        for (int i = 0; i < N; i++) {
            uint32_t word[2];
            assert_int_equal(rm_buffer_download(ctx, &b[i], 0, word, sizeof word), REPMLP_OK);
            assert_int_equal(word[0], 0xabc00000u + (uint32_t)i);
            assert_int_equal(word[1], (uint32_t)i);
            if (i % 4 != 3) assert_ptr_equal(b[i].block, b[0].block);
        }
        assert_ptr_not_equal(b[3].block, b[0].block); /* staging has blocks of its own */
        rm_buffer big;
        assert_int_equal(rm_buffer_create(ctx, 2u << 20, RM_BUFFER_ACTIVATIONS, &big), REPMLP_OK);
        assert_null(big.block);
        assert_int_not_equal(big.memory, VK_NULL_HANDLE);
        rm_buffer_destroy(ctx, &big);
        for (int i = 0; i < N; i += 2) rm_buffer_destroy(ctx, &b[i]);
        assert_non_null(ctx->blocks);
        for (int i = N - 1; i > 0; i -= 2) rm_buffer_destroy(ctx, &b[i]);
        assert_null(ctx->blocks);
        repmlp_memory_info info;
        assert_int_equal(repmlp_context_memory(ctx, &info), REPMLP_OK);
        assert_int_equal(info.used, 0);
        ts_context_done(ctx);
    }
}

static void op_errors(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    rm_dispatch d;
    rm_avgpool_params pool = {1, 3, 7, 7, 2, 2};
    assert_int_equal(rm_avgpool_prepare(ctx, &pool, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "avgpool"));
    rm_broadcast_add_params add = {1, 3, 8, 8, 3, 4};
    assert_int_equal(rm_broadcast_add_prepare(ctx, &add, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    rm_gemm_params g = {.M = 0, .K = 1, .NO = 1, .groups = 1};
    assert_int_equal(rm_gemm_prepare(ctx, &g, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    g = (rm_gemm_params){.M = 1u << 20,
                         .K = 1u << 13,
                         .NO = 1,
                         .groups = 1,
                         .a_rows = rm_map_stride(1u << 13),
                         .a_cols = rm_map_stride(1),
                         .y_rows = rm_map_stride(1),
                         .y_cols = rm_map_stride(1)};
    assert_int_equal(rm_gemm_prepare(ctx, &g, &d), REPMLP_ERROR_TOO_LARGE);
    /* A workgroup over the device's invocation limit is refused before the driver sees it. */
    uint32_t spec[3] = {ctx->caps.max_workgroup_invocations + 1, 1, 1};
    const rm_pipeline *p;
    assert_int_equal(rm_pipeline_get(ctx, RM_SHADER_AVGPOOL, spec, 3, &p),
                     REPMLP_ERROR_UNSUPPORTED);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_context_and_info),
        cmocka_unit_test(list_devices),
        cmocka_unit_test(validation_counted),
        cmocka_unit_test(selector_errors),
        cmocka_unit_test(no_driver),
        cmocka_unit_test(buffer_errors),
        cmocka_unit_test(small_buffers_share_blocks),
        cmocka_unit_test(op_errors),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
