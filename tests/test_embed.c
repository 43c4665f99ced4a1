/* Embedding in an application that owns Vulkan: the application creates its instance and
 * device (after asking what the library can use), imports them, records inference into its
 * own command buffer between its own barriers and submits on its own queue; destroying the
 * context leaves its objects alive. Also: the pipeline cache (saved, reloaded, corrupt and
 * stale files ignored), and several threads running their own sessions of one model. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"
#include "test_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "core/context.h"
#include "exec/session.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/fuse_block_v1.h"
#include "io/json.h"

/* The engine's lock of its queue: held at most once at a time, and released. */
typedef struct queue_lock_state {
    pthread_mutex_t mutex;
    int held, locks;
} queue_lock_state;

static void queue_lock(void *user) {
    queue_lock_state *q = user;
    pthread_mutex_lock(&q->mutex);
    q->held++;
    q->locks++;
}

static void queue_unlock(void *user) {
    queue_lock_state *q = user;
    q->held--;
    pthread_mutex_unlock(&q->mutex);
}

static void imported_device(void **state) {
    (void)state;
    ts_engine e;
    ts_engine_start(&e);
    queue_lock_state qlock = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    repmlp_vulkan_import im = ts_engine_import(&e);
    im.queue_lock = queue_lock;
    im.queue_unlock = queue_unlock;
    im.queue_lock_user = &qlock;
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc), .log = ts_log};
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_import(&im, &desc, &ctx), REPMLP_OK);
    const char *profile = getenv("REPMLP_DEVICE_PROFILE");
    if (profile) assert_string_equal(ctx->caps.profile, profile); /* imported contexts too */
    repmlp_model *model;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &model), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(model, ts_fx.batch, &s), REPMLP_OK);

    /* The engine's own buffers, made with exactly the documented usage (STORAGE_BUFFER) in
     * host-visible memory so the test can fill and read them; the output starts poisoned. */
    ts_app_buffer in = ts_app_buffer_create(ctx, ts_fx.input_count * 4);
    ts_app_buffer out = ts_app_buffer_create(ctx, ts_fx.output_count * 4);
    memcpy(in.mapped, ts_fx.input, ts_fx.input_count * 4);
    ts_app_buffer_poison(&out);
    assert_int_equal(repmlp_session_bind_buffers(s, in.buffer, 0, out.buffer, 0), REPMLP_OK);
    /* A block's output is (N, C, H, W): top-k is refused, naming the model. */
    assert_int_equal(repmlp_session_set_topk(s, 1), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "not a classifier"));

    /* The engine's frame: its own pool, command buffer, barriers, submit and fence. */
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .queueFamilyIndex = e.family};
    VkCommandPool pool;
    assert_int_equal(e.vk.vkCreateCommandPool(e.device, &pi, NULL, &pool), VK_SUCCESS);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBuffer cmd;
    assert_int_equal(e.vk.vkAllocateCommandBuffers(e.device, &ai, &cmd), VK_SUCCESS);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    assert_int_equal(e.vk.vkBeginCommandBuffer(cmd, &bi), VK_SUCCESS);
    /* The engine's host writes of the input become visible to the compute shaders. */
    ts_engine_barrier(&e, cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    assert_int_equal(repmlp_session_record(s, cmd), REPMLP_OK);
    ts_engine_barrier(&e, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    assert_int_equal(e.vk.vkEndCommandBuffer(cmd), VK_SUCCESS);
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    assert_int_equal(e.vk.vkCreateFence(e.device, &fi, NULL, &fence), VK_SUCCESS);
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    assert_int_equal(e.vk.vkQueueSubmit(e.queue, 1, &si, fence), VK_SUCCESS);
    assert_int_equal(e.vk.vkWaitForFences(e.device, 1, &fence, VK_TRUE, UINT64_MAX), VK_SUCCESS);

    float *y = malloc(ts_fx.output_count * 4);
    memcpy(y, out.mapped, ts_fx.output_count * 4);
    double err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
    print_message("imported device, engine command buffer, buffers with STORAGE usage only%s: "
                  "max rel error %.3g\n",
                  s->copy_bound_input ? " (input copied: the kernels read it as texels)" : "", err);
    assert_true(err < TS_FX_TOLERANCE);

    /* The library's own submit path works on the imported queue too. */
    assert_int_equal(repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0),
                     REPMLP_OK);
    uint64_t one = 1;
    VkSemaphore none_sem = VK_NULL_HANDLE;
    repmlp_submit_info timeline_info = {.size = sizeof(repmlp_submit_info),
                                        .signal_count = 1,
                                        .signal_semaphores = &none_sem,
                                        .signal_values = &one};
    assert_int_equal(repmlp_session_submit(s, &timeline_info), REPMLP_ERROR_UNSUPPORTED);
    /* Nor can a recording be tracked by a timeline value (the engine enabled none). */
    repmlp_completion by_value = {.size = sizeof(repmlp_completion),
                                  .semaphore = (VkSemaphore)(uintptr_t)0x1, /* never used */
                                  .value = 1};
    assert_int_equal(repmlp_session_record_tracked(s, cmd, 0, 1, &by_value),
                     REPMLP_ERROR_UNSUPPORTED);
    assert_non_null(strstr(repmlp_last_error(), "timeline"));
    int locks_before = qlock.locks;
    assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_OK);
    assert_true(qlock.locks > locks_before); /* the library's submit took the engine's lock */
    assert_int_equal(qlock.held, 0);
    assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);

    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    ts_app_buffer_destroy(ctx, &in);
    ts_app_buffer_destroy(ctx, &out);
    int locks_destroy = qlock.locks;
    repmlp_context_destroy(ctx);
    assert_true(qlock.locks > locks_destroy); /* vkQueueWaitIdle under the engine's lock */
    assert_int_equal(qlock.held, 0);
    print_message("the engine's queue lock was taken %d times by the library\n", qlock.locks);
    /* One callback without the other is refused. */
    im.queue_unlock = NULL;
    repmlp_context *bad = NULL;
    assert_int_equal(repmlp_context_import(&im, &desc, &bad), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_null(bad);

    /* The engine's objects survive the context. */
    e.vk.vkDestroyFence(e.device, fence, NULL);
    e.vk.vkDestroyCommandPool(e.device, pool, NULL);
    assert_int_equal(e.vk.vkDeviceWaitIdle(e.device), VK_SUCCESS);
    free(y);
    ts_engine_stop(&e);
}

/* The same under the phone profile: the engine's buffers, recording and queue with every
 * pipeline at 4 storage buffers. */
static int phone_setup(void **state) {
    (void)state;
    return setenv("REPMLP_DEVICE_PROFILE", "phone", 1);
}
static int phone_teardown(void **state) {
    (void)state;
    return unsetenv("REPMLP_DEVICE_PROFILE");
}

/* ---- pipeline cache ---- */

typedef struct log_capture {
    char last[512];
    int warnings;
} log_capture;

static void capture(void *user, repmlp_log_level level, const char *message) {
    log_capture *c = user;
    if (level >= REPMLP_LOG_WARNING && strncmp(message, "validation", 10) != 0) c->warnings++;
    if (strstr(message, "pipeline cache")) snprintf(c->last, sizeof c->last, "%s", message);
    ts_log(NULL, level, message);
}

static double load_model_ms(repmlp_context *ctx) {
    double t0 = ts_now_ms();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    double t = ts_now_ms() - t0;
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    return t;
}

static repmlp_context *context_with(log_capture *c) {
    repmlp_context_desc desc = ts_context_desc();
    desc.log = capture;
    desc.log_user = c;
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    return ctx;
}

static void flip_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

static void pipeline_cache(void **state) {
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s.cache", ts_fx.fused_path);
    remove(path);
    log_capture c = {0};

    repmlp_context *ctx = context_with(&c);
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, path),
                     REPMLP_OK); /* none yet */
    double cold = load_model_ms(ctx);
    assert_int_equal(repmlp_context_save_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    ts_context_done(ctx);

    ctx = context_with(&c);
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    assert_non_null(strstr(c.last, "loaded"));
    double warm = load_model_ms(ctx);
    print_message("model load + prepare: cold %.2f ms, warm (cache) %.2f ms\n", cold, warm);
    ts_context_done(ctx);

    /* A damaged blob and a stale header are ignored with a warning, never trusted. */
    flip_byte(path, -1);
    ctx = context_with(&c);
    int before = c.warnings;
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    assert_int_equal(c.warnings, before + 1);
    assert_non_null(strstr(c.last, "checksum"));
    ts_context_done(ctx);
    flip_byte(path, -1);
    flip_byte(path, 8); /* vendor id */
    ctx = context_with(&c);
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    assert_non_null(strstr(c.last, "another device"));
    assert_true(load_model_ms(ctx) > 0);
    ts_context_done(ctx);
    remove(path);
}

/* ---- the discrete-GPU path: input and output through staging copies recorded into the
 * session's command buffer (forced here on a device that shares host memory) ---- */

static void staging_path(void **state) {
    (void)state;
    repmlp_context_desc desc = ts_context_desc();
    desc.flags |= REPMLP_CONTEXT_FORCE_STAGING;
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    assert_null(s->input.mapped);
    assert_non_null(s->stage_in.mapped);
    float *y = malloc(ts_fx.output_count * sizeof(float));
    for (int run = 0; run < 2; run++) {
        assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                         REPMLP_OK);
        assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    }
    for (size_t i = 0; i < ts_fx.output_count; i++) y[i] = NAN;
    ts_session_poison(s);
    assert_int_equal(repmlp_session_write_input(s, ts_fx.input, ts_fx.input_count), REPMLP_OK);
    assert_int_equal(repmlp_session_execute(s), REPMLP_OK);
    assert_int_equal(repmlp_session_read_output(s, y, ts_fx.output_count), REPMLP_OK);
    double err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
    print_message("staging path (unmapped device buffers): max rel error %.3g\n", err);
    assert_true(err < TS_FX_TOLERANCE);
    free(y);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* ---- threads: one context, one model, a session per thread ---- */

typedef struct worker {
    repmlp_model *model;
    int runs;
    double err;
    repmlp_status status;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    repmlp_session *s;
    w->status = repmlp_session_create(w->model, ts_fx.batch, &s);
    if (w->status != REPMLP_OK) return NULL;
    float *y = malloc(ts_fx.output_count * 4);
    for (int i = 0; i < w->runs && w->status == REPMLP_OK; i++) {
        w->status = ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count);
        double e = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
        if (e > w->err) w->err = e;
    }
    free(y);
    repmlp_session_destroy(s);
    return NULL;
}

static void threads(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *model;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &model), REPMLP_OK);
    enum { THREADS = 4 };
    pthread_t tid[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){model, 8, 0, REPMLP_OK};
        assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(w[i].status, REPMLP_OK);
        assert_true(w[i].err < TS_FX_TOLERANCE);
    }
    print_message("%d threads x %d runs on one context: all outputs within %g\n", THREADS,
                  w[0].runs, TS_FX_TOLERANCE);
    repmlp_model_destroy(model);
    ts_context_done(ctx);
}

/* ---- asynchronous submission ---- */

/* Submit without waiting: with no semaphores (the fence path), then waiting on and signalling
 * an application's timeline semaphore: the run must not start before the host signals it. */
static void async_submit(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    float *y = malloc(ts_fx.output_count * sizeof *y);
    assert_int_equal(repmlp_session_poll(s), REPMLP_OK); /* nothing in flight */
    VkSemaphore many[REPMLP_SUBMIT_MAX_WAITS + 1] = {VK_NULL_HANDLE};
    repmlp_submit_info too_many = {.size = sizeof(repmlp_submit_info),
                                   .wait_count = REPMLP_SUBMIT_MAX_WAITS + 1,
                                   .wait_semaphores = many};
    assert_int_equal(repmlp_session_submit(s, &too_many), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(repmlp_session_poll(s), REPMLP_OK); /* refused before submitting */

    assert_int_equal(repmlp_session_write_input(s, ts_fx.input, ts_fx.input_count), REPMLP_OK);
    ts_session_poison(s);
    assert_int_equal(repmlp_session_submit(s, NULL), REPMLP_OK);
    assert_int_equal(repmlp_session_wait(s, UINT64_MAX), REPMLP_OK);
    assert_int_equal(repmlp_session_poll(s), REPMLP_OK);
    assert_int_equal(repmlp_session_read_output(s, y, ts_fx.output_count), REPMLP_OK);
    double err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
    assert_true(err < TS_FX_TOLERANCE);

    repmlp_vulkan_handles h;
    assert_int_equal(repmlp_context_vulkan(ctx, &h), REPMLP_OK);
    assert_true(h.device == ctx->device && h.queue == ctx->queue);
    if (!h.timeline_semaphores) {
        ts_skip_note("%s has no timeline semaphores: only the fence path of "
                     "repmlp_session_submit was tested",
                     ctx->info.name);
    } else {
        VkSemaphoreTypeCreateInfo type = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                          .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
                                          .initialValue = 0};
        VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
                                    .pNext = &type};
        VkSemaphore sem;
        assert_int_equal(ctx->vk.vkCreateSemaphore(ctx->device, &si, NULL, &sem), VK_SUCCESS);
        uint64_t wait_value = 1, signal_value = 2;
        repmlp_submit_info info = {.size = sizeof(repmlp_submit_info),
                                   .wait_count = 1,
                                   .wait_semaphores = &sem,
                                   .wait_values = &wait_value,
                                   .signal_count = 1,
                                   .signal_semaphores = &sem,
                                   .signal_values = &signal_value};
        ts_session_poison(s);
        assert_int_equal(repmlp_session_submit(s, &info), REPMLP_OK);
        /* Blocked on the application's semaphore: not done, and its buffers are off limits. */
        assert_int_equal(repmlp_session_wait(s, 50 * 1000 * 1000), REPMLP_ERROR_TIMEOUT);
        assert_int_equal(repmlp_session_poll(s), REPMLP_NOT_READY);
        assert_int_equal(repmlp_session_read_output(s, y, ts_fx.output_count),
                         REPMLP_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(repmlp_last_error(), "has not finished"));
        assert_int_equal(repmlp_session_submit(s, NULL), REPMLP_ERROR_INVALID_ARGUMENT);
        VkSemaphoreSignalInfo signal = {
            .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, .semaphore = sem, .value = 1};
        assert_int_equal(ctx->vk.vkSignalSemaphoreKHR(ctx->device, &signal), VK_SUCCESS);
        assert_int_equal(repmlp_session_wait(s, 10ull * 1000 * 1000 * 1000), REPMLP_OK);
        /* The application waits for the signalled value (lavapipe may publish it a moment
         * after the session's fence). */
        VkSemaphoreWaitInfo wait = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                                    .semaphoreCount = 1,
                                    .pSemaphores = &sem,
                                    .pValues = &signal_value};
        assert_int_equal(ctx->vk.vkWaitSemaphoresKHR(ctx->device, &wait, 10ull * 1000000000),
                         VK_SUCCESS);
        uint64_t value = 0;
        assert_int_equal(ctx->vk.vkGetSemaphoreCounterValueKHR(ctx->device, sem, &value),
                         VK_SUCCESS);
        assert_int_equal(value, 2);
        for (size_t i = 0; i < ts_fx.output_count; i++) y[i] = NAN;
        assert_int_equal(repmlp_session_read_output(s, y, ts_fx.output_count), REPMLP_OK);
        err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
        print_message("submitted behind a timeline semaphore: held until the host signalled it, "
                      "then signalled value %llu; max rel error %.3g\n",
                      (unsigned long long)value, err);
        assert_true(err < TS_FX_TOLERANCE);
        ctx->vk.vkDestroySemaphore(ctx->device, sem, NULL);
    }
    free(y);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* ---- the application's allocators ---- */

/* Host allocations with a 16-byte header holding a magic word: a free of memory this hook did
 * not make fails the test instead of corrupting the heap. */
/* Atomic: drivers free through the callbacks on threads of their own. */
typedef struct counts {
    atomic_long allocs, live;
} counts;
static counts host_counts, vk_counts;
#define HOST_MAGIC 0x72706d6cu

static void *host_malloc(void *user, size_t size) {
    (void)user;
    unsigned char *p = malloc(size + 16);
    if (!p) return NULL;
    memcpy(p, &(uint32_t){HOST_MAGIC}, 4);
    host_counts.allocs++;
    host_counts.live++;
    return p + 16;
}

static void host_free(void *user, void *ptr) {
    (void)user;
    unsigned char *p = (unsigned char *)ptr - 16;
    uint32_t magic;
    memcpy(&magic, p, 4);
    if (magic != HOST_MAGIC) fail_msg("the library freed memory its allocator did not make");
    memset(p, 0, 4);
    host_counts.live--;
    free(p);
}

static void *host_realloc(void *user, void *ptr, size_t size) {
    if (!ptr) return host_malloc(user, size);
    unsigned char *p = (unsigned char *)ptr - 16;
    uint32_t magic;
    memcpy(&magic, p, 4);
    if (magic != HOST_MAGIC) fail_msg("the library reallocated memory its allocator did not make");
    unsigned char *q = realloc(p, size + 16);
    return q ? q + 16 : NULL;
}

static void *VKAPI_CALL vk_alloc(void *user, size_t size, size_t align,
                                 VkSystemAllocationScope scope) {
    (void)user, (void)scope;
    void *p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p) {
        vk_counts.allocs++;
        vk_counts.live++;
    }
    return p;
}

static void VKAPI_CALL vk_free(void *user, void *ptr) {
    (void)user;
    if (!ptr) return;
    vk_counts.live--;
    free(ptr);
}

static void *VKAPI_CALL vk_realloc(void *user, void *old, size_t size, size_t align,
                                   VkSystemAllocationScope scope) {
    if (!old) return vk_alloc(user, size, align, scope);
    if (!size) {
        vk_free(user, old);
        return NULL;
    }
    void *p = aligned_alloc(align, (size + align - 1) / align * align);
    if (!p) return NULL;
    size_t keep = malloc_usable_size(old);
    memcpy(p, old, keep < size ? keep : size);
    free(old);
    return p;
}

/* Every host allocation of a context, model, session and run goes through the application's
 * hook and every Vulkan allocation through its callbacks, and all come back. */
static void allocators(void **state) {
    (void)state;
    counts *all[] = {&host_counts, &vk_counts};
    for (int i = 0; i < 2; i++) {
        atomic_store(&all[i]->allocs, 0);
        atomic_store(&all[i]->live, 0);
    }
    repmlp_allocator a = {sizeof(repmlp_allocator), host_malloc, host_realloc, host_free, NULL};
    repmlp_allocator half = {sizeof(repmlp_allocator), host_malloc, NULL, host_free, NULL};
    assert_int_equal(repmlp_allocator_set(&half), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(repmlp_allocator_set(&a), REPMLP_OK);
    VkAllocationCallbacks cb = {
        .pfnAllocation = vk_alloc, .pfnReallocation = vk_realloc, .pfnFree = vk_free};
    repmlp_context_desc desc = ts_context_desc();
    desc.vk_allocator = &cb;
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    float *y = malloc(ts_fx.output_count * sizeof *y);
    assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_OK);
    assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    free(y);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    repmlp_context_destroy(ctx);
    assert_int_equal(repmlp_allocator_set(NULL), REPMLP_OK);
    print_message("application allocators: %ld host allocations, %ld through "
                  "VkAllocationCallbacks; none left\n",
                  host_counts.allocs, vk_counts.allocs);
    assert_true(host_counts.allocs > 0);
    assert_int_equal(host_counts.live, 0);
    assert_int_equal(vk_counts.live, 0);
    if (!vk_counts.allocs)
        ts_skip_note("%s never calls VkAllocationCallbacks: only their pass-through was checked",
                     ts_ctx ? ts_ctx->info.name : "this driver");
    ts_check_validation();
}

/* ---- memory on the application's terms ---- */

/* The total, checked against the per-heap counts: they add up, every heap is one of the
 * device's, and the main heap is the largest device-local one. */
static uint64_t memory_used(repmlp_context *ctx) {
    repmlp_memory_info info;
    assert_int_equal(repmlp_context_memory(ctx, &info), REPMLP_OK);
    assert_true(info.heap_count >= 1 && info.heap_count <= REPMLP_MAX_HEAPS);
    assert_true(info.main_heap < info.heap_count);
    assert_true(info.heaps[info.main_heap].device_local);
    assert_int_equal(info.heap_size, info.heaps[info.main_heap].size);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < info.heap_count; i++) {
        sum += info.heaps[i].used;
        if (info.heaps[i].device_local) assert_true(info.heaps[i].size <= info.heap_size);
    }
    assert_int_equal(sum, info.used);
    return info.used;
}

/* What a model and a session will take is known before they are created, it is what they
 * take, and a context's memory cap refuses what would pass it, before allocating. */
static void memory_budget(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_memory_info info;
    assert_int_equal(repmlp_context_memory(ctx, &info), REPMLP_OK);
    assert_int_equal(info.used, 0);
    assert_int_equal(info.limit, 0);
    assert_true(info.heap_size > 0);
    uint64_t weights = 0, session = 0;
    assert_int_equal(repmlp_model_memory_needed(ctx, ts_fx.fused_path, &weights), REPMLP_OK);
    assert_int_equal(memory_used(ctx), 0); /* asking allocates nothing */
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    uint64_t after_load = memory_used(ctx);
    assert_int_equal(repmlp_model_weight_bytes(m), weights);
    assert_true(after_load >= weights && after_load < weights + 65536);
    assert_int_equal(repmlp_session_memory_needed(m, ts_fx.batch, &session), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    uint64_t delta = memory_used(ctx) - after_load;
    print_message("memory: weights %llu bytes (asked before: %llu), session %llu (asked before: "
                  "%llu); VK_EXT_memory_budget %s\n",
                  (unsigned long long)after_load, (unsigned long long)weights,
                  (unsigned long long)delta, (unsigned long long)session,
                  info.heap_budget ? "present" : "absent on this device");
    assert_true(delta >= session && delta < session + 65536);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    assert_int_equal(memory_used(ctx), 0);
    ts_context_done(ctx);

    /* A cap that fits the weights but not the session, then one below the weights. */
    repmlp_context_desc desc = ts_context_desc();
    desc.device_memory_limit = after_load + session / 2;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    s = NULL;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_null(s);
    assert_non_null(strstr(repmlp_last_error(), "limit"));
    assert_int_equal(memory_used(ctx), after_load); /* nothing half-made is left */
    repmlp_model_destroy(m);
    repmlp_context_destroy(ctx);
    desc.device_memory_limit = weights / 2;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    m = NULL;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m),
                     REPMLP_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_null(m);
    assert_non_null(strstr(repmlp_last_error(), ts_fx.fused_path));
    assert_int_equal(memory_used(ctx), 0);
    repmlp_context_destroy(ctx);
    ts_check_validation();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imported_device),
        cmocka_unit_test(pipeline_cache),
        cmocka_unit_test_setup_teardown(imported_device, phone_setup, phone_teardown),
        cmocka_unit_test(threads),
        cmocka_unit_test(staging_path),
        cmocka_unit_test(memory_budget),
        cmocka_unit_test(async_submit),
        cmocka_unit_test(allocators),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_fixture_open, ts_group_fixture_close));
}
