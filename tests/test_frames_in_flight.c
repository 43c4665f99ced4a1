/* Frames in flight: an engine (its own device and queue, timeline semaphores) keeps three
 * frames pending, each recording the session into its own command buffer, and between them
 * rebinds its buffers, changes top-k and binds and unbinds an image. Every frame must still
 * compute what a plain run of the same input gives, and the validation layer must see no use
 * of a freed descriptor set, view or buffer: a re-record retires what pending recordings use
 * (repmlp/vulkan.h, "Frames in flight") instead of freeing it. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"
#include "test_engine.h"
#include "test_image.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "core/context.h"
#include "core/fault.h"
#include "exec/session.h"

enum { FRAMES = 3, CLASSES = 10, SIDE = 8 };

/* Same kernels, same device, same input: only the input copy may differ in rounding. */
#define FRAME_TOLERANCE 1e-6

static char fused[1200];

static int setup(void **state) {
    (void)state;
    char scratch[1200];
    ts_fuse_digits("frames-in-flight", scratch, fused, sizeof fused);
    /* Operands through texel views on every driver (not only where they measure faster), so
     * that views too must outlive the frames that use them. */
    setenv("REPMLP_OPERAND_PATH", "texel", 1);
    return 0;
}

/* ---- the engine (tests/support/test_engine): its device has timeline semaphores ---- */

static VkSemaphore timeline_semaphore(ts_engine *e) {
    VkSemaphoreTypeCreateInfo type = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                      .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
    VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type};
    VkSemaphore sem;
    assert_int_equal(e->vk.vkCreateSemaphore(e->device, &si, NULL, &sem), VK_SUCCESS);
    return sem;
}

static uint64_t counter(ts_engine *e, VkSemaphore sem) {
    uint64_t value = 0;
    assert_int_equal(e->vk.vkGetSemaphoreCounterValueKHR(e->device, sem, &value), VK_SUCCESS);
    return value;
}

/* ---- checks ---- */

static uint32_t retired_generations(const repmlp_session *s) {
    uint32_t n = 0;
    for (const rm_generation *g = s->retired; g; g = g->next) n++;
    return n;
}

static void expect_logits(const char *what, const float *got, const float *want) {
    double want_d[CLASSES];
    for (int i = 0; i < CLASSES; i++) want_d[i] = want[i];
    double err = ts_max_rel_error(got, want_d, CLASSES);
    print_message("%s: max rel error %.3g against a plain run\n", what, err);
    if (!(err < FRAME_TOLERANCE)) fail_msg("%s: max rel error %g", what, err);
}

static void expect_topk(const char *what, const repmlp_class_score *got,
                        const repmlp_class_score *want, uint32_t k) {
    for (uint32_t i = 0; i < k; i++)
        if (got[i].class_index != want[i].class_index ||
            !(fabsf(got[i].probability - want[i].probability) <= 1e-6f))
            fail_msg("%s: top-%u entry %u is class %u (%g), a plain run gives %u (%g)", what, k, i,
                     got[i].class_index, got[i].probability, want[i].class_index,
                     want[i].probability);
}

/* The engine's frame f: its command buffer waits for the host's gate value f + 1, so it stays
 * pending until the host opens it; signals `done` to f + 1 and `fence`. */
static void submit_frame(ts_engine *e, VkCommandBuffer cmd, VkSemaphore gate, VkSemaphore done,
                         uint32_t f, VkFence fence) {
    uint64_t wait_value = f + 1, signal_value = f + 1;
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    VkTimelineSemaphoreSubmitInfo values = {.sType =
                                                VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                                            .waitSemaphoreValueCount = 1,
                                            .pWaitSemaphoreValues = &wait_value,
                                            .signalSemaphoreValueCount = 1,
                                            .pSignalSemaphoreValues = &signal_value};
    VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .pNext = &values,
                           .waitSemaphoreCount = 1,
                           .pWaitSemaphores = &gate,
                           .pWaitDstStageMask = &stage,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &cmd,
                           .signalSemaphoreCount = 1,
                           .pSignalSemaphores = &done};
    assert_int_equal(e->vk.vkQueueSubmit(e->queue, 1, &submit, fence), VK_SUCCESS);
}

/* Begins frame f's command buffer: the host's writes of its input and the previous frame's
 * compute work (the session's shared intermediates) come before this frame's dispatches. */
static void begin_frame(ts_engine *e, VkCommandBuffer cmd) {
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    assert_int_equal(e->vk.vkBeginCommandBuffer(cmd, &bi), VK_SUCCESS);
    ts_engine_barrier(e, cmd, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                      VK_ACCESS_HOST_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

static void end_frame(ts_engine *e, VkCommandBuffer cmd) {
    ts_engine_barrier(e, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    assert_int_equal(e->vk.vkEndCommandBuffer(cmd), VK_SUCCESS);
}

static void three_frames(void **state) {
    (void)state;
    ts_engine e;
    ts_engine_start_timeline(&e);
    if (!e.timeline) {
        ts_engine_stop(&e);
        ts_skip("the device has no timeline semaphores");
    }
    repmlp_vulkan_import im = ts_engine_import(&e);
    im.timeline_semaphore_enabled = VK_TRUE;
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc), .log = ts_log};
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_import(&im, &desc, &ctx), REPMLP_OK);
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_session *s, *ref;
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, 1, &ref), REPMLP_OK);
    const size_t n_in = 16 * 16;

    /* The frames' inputs: two tensors and a picture. */
    ts_rng rng = ts_rng_make(24);
    float x[2][16 * 16];
    for (int i = 0; i < 2; i++) ts_fill(&rng, x[i], n_in, -1.0f, 1.0f);
    unsigned char rgba[SIDE * SIDE * 4];
    for (size_t i = 0; i < sizeof rgba; i++)
        rgba[i] = i % 4 == 3 ? 255 : (unsigned char)(ts_uniform(&rng, 0, 255.99f));
    ts_image img =
        ts_image_upload(ctx, VK_FORMAT_R8G8B8A8_UNORM, rgba, SIDE * SIDE * 4, SIDE, SIDE);
    repmlp_image_input picture = {.size = sizeof(repmlp_image_input),
                                  .view = img.view,
                                  .layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                                  .format = VK_FORMAT_R8G8B8A8_UNORM,
                                  .width = SIDE,
                                  .height = SIDE};

    /* What each frame must give: plain runs of the same inputs on another session. */
    float want[FRAMES][CLASSES];
    repmlp_class_score want_top3[3], want_top5[5];
    assert_int_equal(ts_session_run(ref, x[0], n_in, want[0], CLASSES), REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(ref, 3), REPMLP_OK);
    assert_int_equal(ts_session_run(ref, x[1], n_in, want[1], CLASSES), REPMLP_OK);
    assert_int_equal(repmlp_session_read_topk(ref, want_top3, 3), REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(ref, 5), REPMLP_OK);
    assert_int_equal(repmlp_session_bind_image(ref, &picture), REPMLP_OK);
    assert_int_equal(repmlp_session_execute(ref), REPMLP_OK);
    assert_int_equal(repmlp_session_read_output(ref, want[2], CLASSES), REPMLP_OK);
    assert_int_equal(repmlp_session_read_topk(ref, want_top5, 5), REPMLP_OK);

    /* The engine's buffers (STORAGE_BUFFER only, as documented), one input and one output per
     * frame, outputs poisoned. */
    ts_app_buffer in[2], out[FRAMES];
    for (int i = 0; i < 2; i++) {
        in[i] = ts_app_buffer_create(ctx, n_in * 4);
        memcpy(in[i].mapped, x[i], n_in * 4);
    }
    for (int f = 0; f < FRAMES; f++) {
        out[f] = ts_app_buffer_create(ctx, CLASSES * 4);
        ts_app_buffer_poison(&out[f]);
    }
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = e.family};
    VkCommandPool pool;
    assert_int_equal(e.vk.vkCreateCommandPool(e.device, &pi, NULL, &pool), VK_SUCCESS);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = FRAMES};
    VkCommandBuffer cmd[FRAMES];
    assert_int_equal(e.vk.vkAllocateCommandBuffers(e.device, &ai, cmd), VK_SUCCESS);
    VkSemaphore gate = timeline_semaphore(&e), done = timeline_semaphore(&e);
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    assert_int_equal(e.vk.vkCreateFence(e.device, &fi, NULL, &fence), VK_SUCCESS);

    /* Frame 0: the engine's buffers; tracked by a fence. */
    assert_int_equal(repmlp_session_bind_buffers(s, in[0].buffer, 0, out[0].buffer, 0), REPMLP_OK);
    begin_frame(&e, cmd[0]);
    repmlp_completion by_fence = {.size = sizeof(repmlp_completion), .fence = fence};
    assert_int_equal(repmlp_session_record_tracked(s, cmd[0], 0, 1, &by_fence), REPMLP_OK);
    end_frame(&e, cmd[0]);
    submit_frame(&e, cmd[0], gate, done, 0, fence);

    /* Frame 1, frame 0 pending: other buffers and top-3; recorded in two parts, tracked by
     * the timeline semaphore. */
    assert_int_equal(repmlp_session_bind_buffers(s, in[1].buffer, 0, out[1].buffer, 0), REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(s, 3), REPMLP_OK);
    begin_frame(&e, cmd[1]);
    repmlp_completion by_value = {.size = sizeof(repmlp_completion), .semaphore = done, .value = 2};
    for (uint32_t part = 0; part < 2; part++)
        assert_int_equal(repmlp_session_record_tracked(s, cmd[1], part, 2, &by_value), REPMLP_OK);
    end_frame(&e, cmd[1]);
    submit_frame(&e, cmd[1], gate, done, 1, VK_NULL_HANDLE);

    /* Frame 2, frames 0 and 1 pending: the picture as the input, top-5; untracked. */
    assert_int_equal(repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, out[2].buffer, 0),
                     REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(s, 5), REPMLP_OK);
    assert_int_equal(repmlp_session_bind_image(s, &picture), REPMLP_OK);
    begin_frame(&e, cmd[2]);
    assert_int_equal(repmlp_session_record(s, cmd[2]), REPMLP_OK);
    end_frame(&e, cmd[2]);
    submit_frame(&e, cmd[2], gate, done, 2, VK_NULL_HANDLE);

    /* All three pending, and the engine moves on: unbinds the picture, binds other buffers. */
    assert_int_equal(repmlp_session_bind_image(s, NULL), REPMLP_OK);
    assert_int_equal(repmlp_session_bind_buffers(s, in[0].buffer, 0, out[0].buffer, 0), REPMLP_OK);
    assert_int_equal(repmlp_session_poll(s), REPMLP_OK);
    uint64_t before = counter(&e, done);
    uint32_t held = retired_generations(s);
    print_message("3 frames pending (done counter %llu): %u retired generations held\n",
                  (unsigned long long)before, held);
    assert_int_equal(before, 0); /* nothing could run: every frame waits for the gate */

    /* The host opens the gate; the frames run in order. */
    VkSemaphoreSignalInfo open = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = gate, .value = FRAMES};
    assert_int_equal(e.vk.vkSignalSemaphoreKHR(e.device, &open), VK_SUCCESS);
    uint64_t last = FRAMES;
    VkSemaphoreWaitInfo wait = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                                .semaphoreCount = 1,
                                .pSemaphores = &done,
                                .pValues = &last};
    assert_int_equal(e.vk.vkWaitSemaphoresKHR(e.device, &wait, 60ull * 1000000000), VK_SUCCESS);
    assert_int_equal(e.vk.vkWaitForFences(e.device, 1, &fence, VK_TRUE, 60ull * 1000000000),
                     VK_SUCCESS);

    static const char *const what[FRAMES] = {"frame 0 (engine buffers)",
                                             "frame 1 (other buffers, top-3, two parts)",
                                             "frame 2 (picture, top-5)"};
    for (int f = 0; f < FRAMES; f++) expect_logits(what[f], out[f].mapped, want[f]);
    /* Held were frames 0, 1 and 2's descriptor sets and the top-3 buffers frame 1 writes
     * (checked after the results, which show what freeing them early does). */
    assert_int_equal(held, 4);
    /* Frame 1's top-3 went to the top-k buffer it was recorded with, now retired. */
    const rm_generation *with_top3 = NULL;
    for (const rm_generation *g = s->retired; g; g = g->next)
        if (g->topk_buf.size == 3 * sizeof(repmlp_class_score)) with_top3 = g;
    assert_non_null(with_top3);
    if (with_top3->topk_buf.mapped)
        expect_topk(what[1], with_top3->topk_buf.mapped, want_top3, 3);
    else
        ts_skip_note("the top-k buffer is not host-visible: frame 1's top-3 was not read");
    repmlp_class_score top5[5];
    assert_int_equal(repmlp_session_read_topk(s, top5, 5), REPMLP_OK);
    expect_topk(what[2], top5, want_top5, 5);

    /* Polling frees what the tracked frames held; the untracked one stays until released. */
    assert_int_equal(repmlp_session_poll(s), REPMLP_OK);
    assert_int_equal(retired_generations(s), 1);
    assert_int_equal(repmlp_session_release_recordings(s), REPMLP_OK);
    assert_int_equal(retired_generations(s), 0);

    /* Completions that have signalled already cannot track anything. */
    begin_frame(&e, cmd[0]);
    assert_int_equal(repmlp_session_record_tracked(s, cmd[0], 0, 1, &by_fence),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "fence is signalled"));
    assert_int_equal(repmlp_session_record_tracked(s, cmd[0], 0, 1, &by_value),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "reached value 2"));
    repmlp_completion nothing = {.size = sizeof(repmlp_completion)};
    assert_int_equal(repmlp_session_record_tracked(s, cmd[0], 0, 1, &nothing),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(repmlp_session_record_tracked(s, cmd[0], 0, 1, NULL),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    end_frame(&e, cmd[0]);

    e.vk.vkDestroyFence(e.device, fence, NULL);
    e.vk.vkDestroySemaphore(e.device, gate, NULL);
    e.vk.vkDestroySemaphore(e.device, done, NULL);
    e.vk.vkDestroyCommandPool(e.device, pool, NULL);
    for (int i = 0; i < 2; i++) ts_app_buffer_destroy(ctx, &in[i]);
    for (int f = 0; f < FRAMES; f++) ts_app_buffer_destroy(ctx, &out[f]);
    ts_image_destroy(ctx, &img);
    repmlp_session_destroy(s);
    repmlp_session_destroy(ref);
    repmlp_model_destroy(m);
    repmlp_context_destroy(ctx);
    ts_engine_stop(&e);
}

/* A session with no recording of the application keeps freeing in place: re-recording takes
 * no new pool and retires nothing. */
static void nothing_held(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK);
    VkDescriptorPool pool = s->pool;
    assert_int_equal(repmlp_session_set_topk(s, 2), REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(s, 0), REPMLP_OK);
    assert_true(s->pool == pool);
    assert_int_equal(retired_generations(s), 0);
    assert_int_equal(repmlp_session_release_recordings(NULL), REPMLP_ERROR_INVALID_ARGUMENT);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* On the library's own device: recording a frame again with the same completion allocates
 * nothing (the per-frame path), and a retirement that cannot get its memory or its new pool
 * fails cleanly, leaving the held generation current and the session's own runs correct. */
static void steady_state_and_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled()) ts_skip("needs -DREPMLP_FAULT_INJECTION=ON");
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK);
    const size_t n_in = 16 * 16;
    float x[16 * 16], want[CLASSES], got[CLASSES];
    ts_rng rng = ts_rng_make(7);
    ts_fill(&rng, x, n_in, -1.0f, 1.0f);
    assert_int_equal(ts_session_run(s, x, n_in, want, CLASSES), REPMLP_OK);
    ts_app_buffer in = ts_app_buffer_create(ctx, n_in * 4), out = ts_app_buffer_create(ctx, 40);
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = ctx->queue_family};
    VkCommandPool pool;
    assert_int_equal(ctx->vk.vkCreateCommandPool(ctx->device, &pi, NULL, &pool), VK_SUCCESS);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBuffer cmd;
    assert_int_equal(ctx->vk.vkAllocateCommandBuffers(ctx->device, &ai, &cmd), VK_SUCCESS);
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    assert_int_equal(ctx->vk.vkCreateFence(ctx->device, &fi, NULL, &fence), VK_SUCCESS);
    repmlp_completion done = {.size = sizeof(repmlp_completion), .fence = fence};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};

    /* Frames recorded again and again (never submitted: the fence stays unsignalled). */
    long host = 0, vulkan = 0;
    for (int frame = 0; frame < 8; frame++) {
        assert_int_equal(ctx->vk.vkBeginCommandBuffer(cmd, &bi), VK_SUCCESS);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, LONG_MAX); /* counts, never fails */
        rm_fault_arm(RM_FAULT_VULKAN_ALLOC, LONG_MAX);
        assert_int_equal(repmlp_session_record_tracked(s, cmd, 0, 1, &done), REPMLP_OK);
        if (frame > 0) host += rm_fault_calls(RM_FAULT_HOST_ALLOC);
        if (frame > 0) vulkan += rm_fault_calls(RM_FAULT_VULKAN_ALLOC);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
        rm_fault_arm(RM_FAULT_VULKAN_ALLOC, 0);
        assert_int_equal(ctx->vk.vkEndCommandBuffer(cmd), VK_SUCCESS);
    }
    print_message("frames 1-7 recorded with the same fence: %ld host, %ld Vulkan allocations\n",
                  host, vulkan);
    assert_int_equal(host, 0);
    assert_int_equal(vulkan, 0);

    /* The held generation cannot be retired without memory or a new pool: refused, nothing
     * changes. */
    VkDescriptorPool held_pool = s->pool;
    static const struct {
        rm_fault_kind kind;
        repmlp_status status;
    } faults[] = {{RM_FAULT_HOST_ALLOC, REPMLP_ERROR_OUT_OF_HOST_MEMORY},
                  {RM_FAULT_VULKAN_ALLOC, REPMLP_ERROR_OUT_OF_DEVICE_MEMORY}};
    for (int i = 0; i < 2; i++) {
        rm_fault_arm(faults[i].kind, 1);
        assert_int_equal(repmlp_session_bind_buffers(s, in.buffer, 0, out.buffer, 0),
                         faults[i].status);
        rm_fault_arm(faults[i].kind, 0);
        assert_non_null(strstr(repmlp_last_error(), "retiring"));
        assert_true(s->pool == held_pool);
        assert_int_equal(retired_generations(s), 0);
        assert_int_equal(ts_session_run(s, x, n_in, got, CLASSES), REPMLP_OK);
        expect_logits("own run after a refused retirement", got, want);
    }
    assert_int_equal(repmlp_session_bind_buffers(s, in.buffer, 0, out.buffer, 0), REPMLP_OK);
    assert_true(s->pool != held_pool);
    assert_int_equal(retired_generations(s), 1);
    assert_int_equal(repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0),
                     REPMLP_OK);
    assert_int_equal(retired_generations(s), 1); /* nothing recorded since: freed in place */
    assert_int_equal(ts_session_run(s, x, n_in, got, CLASSES), REPMLP_OK);
    expect_logits("own run beside a retired generation", got, want);

    /* A re-record that fails after retiring (its descriptor sets cannot be allocated) leaves
     * the session's own command buffer on retired sets; once those are freed, the next run
     * must record again rather than use them. */
    assert_int_equal(ctx->vk.vkBeginCommandBuffer(cmd, &bi), VK_SUCCESS);
    assert_int_equal(repmlp_session_record_tracked(s, cmd, 0, 1, &done), REPMLP_OK);
    assert_int_equal(ctx->vk.vkEndCommandBuffer(cmd), VK_SUCCESS);
    rm_fault_arm(RM_FAULT_VULKAN_ALLOC, 2); /* 1: the new pool, 2: a set or view in it */
    assert_int_equal(repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0),
                     REPMLP_ERROR_OUT_OF_DEVICE_MEMORY);
    rm_fault_arm(RM_FAULT_VULKAN_ALLOC, 0);
    assert_int_equal(retired_generations(s), 2);
    assert_int_equal(repmlp_session_release_recordings(s), REPMLP_OK);
    assert_int_equal(retired_generations(s), 0);
    assert_int_equal(s->spare_pool_count, 2); /* kept for the next retirements */
    assert_int_equal(ts_session_run(s, x, n_in, got, CLASSES), REPMLP_OK);
    expect_logits("own run after a failed re-record", got, want);

    ctx->vk.vkDestroyFence(ctx->device, fence, NULL);
    ctx->vk.vkDestroyCommandPool(ctx->device, pool, NULL);
    ts_app_buffer_destroy(ctx, &in);
    ts_app_buffer_destroy(ctx, &out);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_frames),
        cmocka_unit_test(nothing_held),
        cmocka_unit_test(steady_state_and_faults),
    };
    return ts_exit_code(ts_run_group(tests, setup, NULL));
}
