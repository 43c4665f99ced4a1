/* Threads under stress: WORKERS threads share one imported context and one model, each
 * repeatedly creating a session, running it, re-binding it (its own VkBuffers and back, top-k
 * on and off, the plain and the asynchronous submit) and destroying it, while the engine's own
 * thread records a session into its frames and submits them to the same queue, all under the
 * engine's queue lock. Every output is checked against a single-threaded reference run of the
 * same input; each thread has inputs of its own, so work crossing between threads shows, and
 * uses two of them in turn, so a run that writes nothing shows too. Then a device loss while
 * the threads run: each must stop with REPMLP_ERROR_DEVICE_LOST.
 * scripts/test-tsan.sh runs this under ThreadSanitizer. Bounded in iterations and in time. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"
#include "test_engine.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "core/context.h" /* rm_vk_fail, to simulate a device loss */

/* A tiny classifier (RepMLPNet, 1 x 12 x 20 in, 7 classes, batch 2): top-k applies. */
#define FIXTURE REPMLP_SOURCE_DIR "/tests/fixtures/repmlpnet/in1_12x20_h3w5_h1w5"
/* PyTorch's float64 output vs one reference run; outputs of the threads vs that run. */
#define PYTORCH_TOLERANCE 1e-5
#define RUN_TOLERANCE 1e-6

enum {
    WORKERS = 4,
    ITERATIONS = 6,     /* sessions per worker, unless the time budget ends them sooner */
    MIN_ITERATIONS = 2, /* the budget never cuts a worker below this */
    ROUNDS = 2,         /* re-bindings per session */
    TOPK_MAX = 3,       /* k cycles through 0..TOPK_MAX */
    /* Two inputs per thread (the workers', then the engine's), used in turn: a run that
     * writes nothing leaves the other input's results, which fail the check. */
    CASES = 2 * (WORKERS + 1),
    MAX_FRAMES = 1000, /* the engine's frames stop here or when the workers are done */
};
#define BUDGET_MS 60000.0

/* One input and its reference results. */
typedef struct stress_case {
    float *input;
    double *output;                       /* reference output */
    repmlp_class_score top[2 * TOPK_MAX]; /* reference top-TOPK_MAX, batch rows (batch <= 2) */
} stress_case;

typedef struct stress_model {
    repmlp_model *model;
    uint32_t batch;
    size_t input_count, output_count;
    stress_case cases[CASES];
} stress_model;

/* The engine's lock of its queue: must never be held twice at once. */
typedef struct queue_lock_state {
    pthread_mutex_t mutex;
    int held;            /* guarded by mutex */
    atomic_int locks;    /* every lock, the library's and the engine's */
    atomic_int overlaps; /* a lock found it already held */
} queue_lock_state;

static void queue_lock(void *user) {
    queue_lock_state *q = user;
    pthread_mutex_lock(&q->mutex);
    if (++q->held != 1) atomic_fetch_add(&q->overlaps, 1);
    atomic_fetch_add(&q->locks, 1);
}

static void queue_unlock(void *user) {
    queue_lock_state *q = user;
    q->held--;
    pthread_mutex_unlock(&q->mutex);
}

/* What a thread did; cmocka's asserts belong to the main thread, so a worker notes its first
 * failure here and stops. */
typedef struct thread_result {
    char error[768];
    int iterations, runs;
} thread_result;

static bool failed(thread_result *r, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);
static bool failed(thread_result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!r->error[0]) vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return false;
}

static bool ok(thread_result *r, repmlp_status st, const char *what) {
    if (st == REPMLP_OK) return true;
    return failed(r, "%s: %s: %s", what, repmlp_status_name(st), repmlp_last_error());
}

static bool output_matches(thread_result *r, const stress_model *m, const stress_case *c,
                           const float *y, const char *how) {
    double err = ts_max_rel_error(y, c->output, m->output_count);
    if (err < RUN_TOLERANCE) return true;
    return failed(r, "%s: output off the reference run by %.3g", how, err);
}

static bool topk_matches(thread_result *r, const stress_model *m, const stress_case *c,
                         repmlp_session *s, uint32_t k, const char *how) {
    if (!k) return true;
    repmlp_class_score got[2 * TOPK_MAX];
    if (!ok(r, repmlp_session_read_topk(s, got, (size_t)m->batch * k), "read_topk")) return false;
    for (uint32_t n = 0; n < m->batch; n++) {
        for (uint32_t j = 0; j < k; j++) {
            const repmlp_class_score *g = &got[n * k + j], *w = &c->top[n * TOPK_MAX + j];
            if (g->class_index != w->class_index || fabsf(g->probability - w->probability) > 1e-6f)
                return failed(r,
                              "%s: top-%u image %u rank %u: class %u p %g, reference class %u p %g",
                              how, k, n, j, g->class_index, (double)g->probability, w->class_index,
                              (double)w->probability);
        }
    }
    return true;
}

/* ---- the workers ---- */

typedef struct worker {
    const stress_model *m;
    const stress_case *c[2];
    ts_app_buffer in, out; /* the application's buffers this worker binds */
    double deadline_ms;
    thread_result result;
} worker;

/* One round on a session: one input through the session's own buffers, the other through the
 * worker's, then back. */
static bool round_trip(worker *w, repmlp_session *s, float *y, uint32_t k, bool async, int first) {
    thread_result *r = &w->result;
    const stress_model *m = w->m;
    const stress_case *own = w->c[first], *bound = w->c[!first];
    for (size_t i = 0; i < m->output_count; i++) y[i] = NAN;
    if (!ok(r, repmlp_session_set_topk(s, k), "set_topk")) return false;
    if (!ok(r, repmlp_session_run(s, own->input, m->input_count, y, m->output_count), "run"))
        return false;
    if (!output_matches(r, m, own, y, "own buffers") || !topk_matches(r, m, own, s, k, "own"))
        return false;

    memcpy(w->in.mapped, bound->input, m->input_count * sizeof(float));
    ts_app_buffer_poison(&w->out);
    if (!ok(r, repmlp_session_bind_buffers(s, w->in.buffer, 0, w->out.buffer, 0), "bind_buffers"))
        return false;
    if (async) {
        if (!ok(r, repmlp_session_submit(s, NULL), "submit")) return false;
        if (!ok(r, repmlp_session_wait(s, UINT64_MAX), "wait")) return false;
    } else if (!ok(r, repmlp_session_execute(s), "execute")) {
        return false;
    }
    if (!output_matches(r, m, bound, w->out.mapped, "bound buffers") ||
        !topk_matches(r, m, bound, s, k, "bound"))
        return false;
    if (!ok(r, repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0), "unbind"))
        return false;
    r->runs += 2;
    return true;
}

static void *work(void *arg) {
    worker *w = arg;
    float *y = malloc(w->m->output_count * sizeof *y);
    if (!y) {
        failed(&w->result, "out of host memory");
        return NULL;
    }
    for (int i = 0; i < ITERATIONS; i++) {
        if (i >= MIN_ITERATIONS && ts_now_ms() > w->deadline_ms) break;
        repmlp_session *s = NULL;
        if (!ok(&w->result, repmlp_session_create(w->m->model, w->m->batch, &s), "create")) break;
        bool good = true;
        for (int round = 0; round < ROUNDS && good; round++) {
            int n = i * ROUNDS + round;
            good = round_trip(w, s, y, (uint32_t)(n % (TOPK_MAX + 1)), (i + round) % 2 == 1, n % 2);
        }
        repmlp_session_destroy(s);
        if (!good) break;
        w->result.iterations++;
    }
    free(y);
    return NULL;
}

/* ---- the engine's thread: its own frames on the shared queue ---- */

typedef struct frames {
    ts_engine *e;
    const stress_model *m;
    const stress_case *c[2];
    queue_lock_state *qlock;
    ts_app_buffer in, out;
    atomic_bool *workers_done;
    thread_result result;
} frames;

static bool frame(frames *f, repmlp_session *s, VkCommandPool pool, VkCommandBuffer cmd,
                  VkFence fence) {
    ts_engine *e = f->e;
    thread_result *r = &f->result;
    const stress_case *c = f->c[r->runs % 2];
    memcpy(f->in.mapped, c->input, f->m->input_count * sizeof(float));
    ts_app_buffer_poison(&f->out);
    if (e->vk.vkResetCommandPool(e->device, pool, 0) != VK_SUCCESS)
        return failed(r, "vkResetCommandPool failed");
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (e->vk.vkBeginCommandBuffer(cmd, &bi) != VK_SUCCESS)
        return failed(r, "vkBeginCommandBuffer failed");
    ts_engine_barrier(e, cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (!ok(r, repmlp_session_record(s, cmd), "record")) return false;
    ts_engine_barrier(e, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    if (e->vk.vkEndCommandBuffer(cmd) != VK_SUCCESS) return failed(r, "vkEndCommandBuffer failed");
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    queue_lock(f->qlock);
    VkResult vr = e->vk.vkQueueSubmit(e->queue, 1, &si, fence);
    queue_unlock(f->qlock);
    if (vr != VK_SUCCESS) return failed(r, "vkQueueSubmit failed (%d)", (int)vr);
    vr = e->vk.vkWaitForFences(e->device, 1, &fence, VK_TRUE, UINT64_MAX);
    if (vr != VK_SUCCESS || e->vk.vkResetFences(e->device, 1, &fence) != VK_SUCCESS)
        return failed(r, "waiting for the frame's fence failed (%d)", (int)vr);
    r->runs++;
    return output_matches(r, f->m, c, f->out.mapped, "engine frame");
}

static void *engine_frames(void *arg) {
    frames *f = arg;
    ts_engine *e = f->e;
    repmlp_session *s = NULL;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                  .queueFamilyIndex = e->family};
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkCommandBuffer cmd;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if (e->vk.vkCreateCommandPool(e->device, &pi, NULL, &pool) != VK_SUCCESS ||
        e->vk.vkCreateFence(e->device, &fi, NULL, &fence) != VK_SUCCESS) {
        failed(&f->result, "the engine's pool or fence failed");
        goto done;
    }
    ai.commandPool = pool;
    if (e->vk.vkAllocateCommandBuffers(e->device, &ai, &cmd) != VK_SUCCESS) {
        failed(&f->result, "vkAllocateCommandBuffers failed");
        goto done;
    }
    if (!ok(&f->result, repmlp_session_create(f->m->model, f->m->batch, &s), "frames: create") ||
        !ok(&f->result, repmlp_session_bind_buffers(s, f->in.buffer, 0, f->out.buffer, 0),
            "frames: bind_buffers"))
        goto done;
    /* At least one frame, then as many as run while the workers do. */
    do {
        if (!frame(f, s, pool, cmd, fence)) break;
    } while (!atomic_load(f->workers_done) && f->result.runs < MAX_FRAMES);
done:
    repmlp_session_destroy(s);
    if (fence) e->vk.vkDestroyFence(e->device, fence, NULL);
    if (pool) e->vk.vkDestroyCommandPool(e->device, pool, NULL);
    return NULL;
}

/* ---- set-up: the model, the inputs, the reference runs ---- */

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = 0;
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void load_model(repmlp_context *ctx, stress_model *m) {
    memset(m, 0, sizeof *m);
    size_t config_size, train_size;
    char *config = read_file(FIXTURE "/config.json", &config_size);
    void *train = read_file(FIXTURE "/train.safetensors", &train_size);
    repmlp_fuse_desc desc = {
        .size = sizeof(repmlp_fuse_desc), .arch = REPMLP_ARCH_REPMLPNET, .config_json = config};
    assert_int_equal(repmlp_fuse_to_model(ctx, &desc, train, train_size, &m->model), REPMLP_OK);
    free(train);
    free(config);

    repmlp_tensor_file *f;
    repmlp_tensor_info info;
    assert_int_equal(repmlp_tensor_file_open(FIXTURE "/input.safetensors", &f), REPMLP_OK);
    assert_int_equal(repmlp_tensor_file_find(f, "input", &info), REPMLP_OK);
    m->batch = (uint32_t)info.shape[0];
    assert_true(m->batch <= 2);
    m->input_count = info.count;
    /* Case 0 is the fixture's input; the others are random, one per thread. */
    ts_rng rng = ts_rng_make(24);
    for (int c = 0; c < CASES; c++) {
        m->cases[c].input = malloc(m->input_count * sizeof(float));
        assert_non_null(m->cases[c].input);
        if (c == 0)
            assert_int_equal(
                repmlp_tensor_file_read_f32(f, "input", m->cases[c].input, m->input_count),
                REPMLP_OK);
        else
            ts_fill(&rng, m->cases[c].input, m->input_count, -2.0f, 2.0f);
    }
    repmlp_tensor_file_close(f);
    repmlp_shape out;
    assert_int_equal(repmlp_model_output_shape(m->model, &out), REPMLP_OK);
    assert_int_equal(out.ndim, 2);
    assert_true(out.dims[1] >= TOPK_MAX);
    m->output_count = (size_t)m->batch * (size_t)out.dims[1];
}

/* One session, one thread: each case's output and top-k, the fixture's against PyTorch. */
static void reference_runs(stress_model *m) {
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m->model, m->batch, &s), REPMLP_OK);
    assert_int_equal(repmlp_session_set_topk(s, TOPK_MAX), REPMLP_OK);
    float *y = malloc(m->output_count * sizeof *y);
    assert_non_null(y);
    for (int c = 0; c < CASES; c++) {
        stress_case *sc = &m->cases[c];
        assert_int_equal(ts_session_run(s, sc->input, m->input_count, y, m->output_count),
                         REPMLP_OK);
        assert_int_equal(repmlp_session_read_topk(s, sc->top, (size_t)m->batch * TOPK_MAX),
                         REPMLP_OK);
        sc->output = malloc(m->output_count * sizeof(double));
        assert_non_null(sc->output);
        for (size_t i = 0; i < m->output_count; i++) sc->output[i] = y[i];
    }
    repmlp_tensor_file *f;
    double *want = malloc(m->output_count * sizeof *want);
    assert_non_null(want);
    assert_int_equal(repmlp_tensor_file_open(FIXTURE "/expected.safetensors", &f), REPMLP_OK);
    assert_int_equal(repmlp_tensor_file_read_f64(f, "output", want, m->output_count), REPMLP_OK);
    repmlp_tensor_file_close(f);
    for (size_t i = 0; i < m->output_count; i++) y[i] = (float)m->cases[0].output[i];
    double err = ts_max_rel_error(y, want, m->output_count);
    print_message("reference run vs PyTorch: max rel error %.3g\n", err);
    assert_true(err < PYTORCH_TOLERANCE);
    free(want);
    free(y);
    repmlp_session_destroy(s);
}

static void free_model(stress_model *m) {
    for (int c = 0; c < CASES; c++) {
        free(m->cases[c].input);
        free(m->cases[c].output);
    }
    repmlp_model_destroy(m->model);
}

static void check(const char *who, int index, const thread_result *r) {
    if (r->error[0]) fail_msg("%s %d: %s", who, index, r->error);
}

static void stress(void **state) {
    (void)state;
    ts_engine e;
    ts_engine_start(&e);
    queue_lock_state qlock = {.mutex = PTHREAD_MUTEX_INITIALIZER};
    repmlp_vulkan_import im = ts_engine_import(&e);
    im.queue_lock = queue_lock;
    im.queue_unlock = queue_unlock;
    im.queue_lock_user = &qlock;
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc), .log = ts_log};
    repmlp_context *ctx;
    assert_int_equal(repmlp_context_import(&im, &desc, &ctx), REPMLP_OK);
    stress_model m;
    load_model(ctx, &m);
    reference_runs(&m);

    double t0 = ts_now_ms();
    atomic_bool workers_done;
    atomic_init(&workers_done, false);
    frames f = {.e = &e,
                .m = &m,
                .c = {&m.cases[2 * WORKERS], &m.cases[2 * WORKERS + 1]},
                .qlock = &qlock,
                .workers_done = &workers_done};
    size_t in_bytes = m.input_count * sizeof(float), out_bytes = m.output_count * sizeof(float);
    f.in = ts_app_buffer_create(ctx, in_bytes);
    f.out = ts_app_buffer_create(ctx, out_bytes);
    worker w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker){
            .m = &m, .c = {&m.cases[2 * i], &m.cases[2 * i + 1]}, .deadline_ms = t0 + BUDGET_MS};
        w[i].in = ts_app_buffer_create(ctx, in_bytes);
        w[i].out = ts_app_buffer_create(ctx, out_bytes);
    }
    pthread_t engine_thread, tid[WORKERS];
    assert_int_equal(pthread_create(&engine_thread, NULL, engine_frames, &f), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    int runs = 0, iterations = 0;
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        runs += w[i].result.runs;
        iterations += w[i].result.iterations;
    }
    atomic_store(&workers_done, true);
    assert_int_equal(pthread_join(engine_thread, NULL), 0);
    double ms = ts_now_ms() - t0;
    for (int i = 0; i < WORKERS; i++) check("worker", i, &w[i].result);
    check("engine frames", 0, &f.result);
    for (int i = 0; i < WORKERS; i++) assert_true(w[i].result.iterations >= MIN_ITERATIONS);
    print_message("%d workers: %d sessions, %d checked runs; engine thread: %d frames; queue lock "
                  "taken %d times; %.0f ms\n",
                  WORKERS, iterations, runs, f.result.runs, atomic_load(&qlock.locks), ms);
    /* Every run of a worker was one submission by the library, under the engine's lock. */
    assert_true(atomic_load(&qlock.locks) - f.result.runs >= runs);
    assert_int_equal(atomic_load(&qlock.overlaps), 0);
    assert_int_equal(qlock.held, 0);

    for (int i = 0; i < WORKERS; i++) {
        ts_app_buffer_destroy(ctx, &w[i].in);
        ts_app_buffer_destroy(ctx, &w[i].out);
    }
    ts_app_buffer_destroy(ctx, &f.in);
    ts_app_buffer_destroy(ctx, &f.out);
    free_model(&m);
    repmlp_context_destroy(ctx);
    ts_engine_stop(&e);
}

/* ---- a device loss while threads run ---- */

typedef struct loss_worker {
    const stress_model *m;
    const stress_case *c;
    atomic_int *started; /* workers that finished a run */
    repmlp_status last;  /* the status that ended its loop */
    thread_result result;
} loss_worker;

static void *run_until_lost(void *arg) {
    loss_worker *w = arg;
    const stress_model *m = w->m;
    float *y = malloc(m->output_count * sizeof *y);
    repmlp_session *s = NULL;
    w->last = y ? repmlp_session_create(m->model, m->batch, &s) : REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    double deadline = ts_now_ms() + BUDGET_MS;
    while (w->last == REPMLP_OK && ts_now_ms() < deadline) {
        w->last = repmlp_session_run(s, w->c->input, m->input_count, y, m->output_count);
        if (w->last != REPMLP_OK) break;
        if (!output_matches(&w->result, m, w->c, y, "before the loss")) break;
        if (w->result.runs++ == 0) atomic_fetch_add(w->started, 1);
    }
    if (w->last != REPMLP_OK && w->last != REPMLP_ERROR_DEVICE_LOST)
        failed(&w->result, "%s: %s", repmlp_status_name(w->last), repmlp_last_error());
    repmlp_session_destroy(s);
    free(y);
    return NULL;
}

/* The loss comes from the main thread, as a driver's would come from another thread's submit
 * or wait: the one Vulkan-error path marks the context lost while the workers check it. */
static void device_lost_while_running(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    stress_model m;
    load_model(ctx, &m);
    reference_runs(&m);
    atomic_int started;
    atomic_init(&started, 0);
    loss_worker w[WORKERS];
    pthread_t tid[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (loss_worker){.m = &m, .c = &m.cases[i], .started = &started};
        assert_int_equal(pthread_create(&tid[i], NULL, run_until_lost, &w[i]), 0);
    }
    double deadline = ts_now_ms() + BUDGET_MS;
    while (atomic_load(&started) < WORKERS && ts_now_ms() < deadline) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(rm_vk_fail(ctx, VK_ERROR_DEVICE_LOST, "vkQueueSubmit (simulated)"),
                     REPMLP_ERROR_DEVICE_LOST);
    int runs = 0;
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        runs += w[i].result.runs;
    }
    for (int i = 0; i < WORKERS; i++) {
        check("worker", i, &w[i].result);
        assert_true(w[i].result.runs >= 1);
        assert_int_equal(w[i].last, REPMLP_ERROR_DEVICE_LOST);
    }
    print_message("device loss while %d workers ran: each stopped with DEVICE_LOST after %d runs "
                  "in all\n",
                  WORKERS, runs);
    free_model(&m);
    ts_context_done(ctx);
}

int main(void) {
    /* One operand-path measurement for the process (two pipeline compiles on SwiftShader). */
    ts_share_operand_path();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stress),
        cmocka_unit_test(device_lost_while_running),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
