/* Compile-only contexts (REPMLP_CONTEXT_COMPILE_ONLY) and compile statistics
 * (REPMLP_CONTEXT_COMPILE_STATS): a session plans and builds every pipeline with nothing on the
 * device, refuses to run, and its pipeline cache serves a context that runs. Registered for
 * lavapipe and SwiftShader, and for RADV's null device (no GPU: it compiles with ACO, cannot
 * run), where a context that would run is refused and the driver reports statistics. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "exec/session.h"
#include "repmlp/vulkan.h"

static char scratch[1024], fused[1024];

/* RADV's null device (RADV_FORCE_FAMILY without a GPU) is the one under test. */
static bool null_device(void) {
    const char *d = ts_test_device();
    return d && strstr(d, "RADV");
}

typedef struct log_capture {
    char last[1024];
} log_capture;

static void capture(void *user, repmlp_log_level level, const char *message) {
    log_capture *c = user;
    snprintf(c->last, sizeof c->last, "%s", message);
    ts_log(NULL, level, message);
}

static repmlp_context *context(uint32_t flags, log_capture *c) {
    repmlp_context_desc desc = ts_context_desc();
    desc.flags |= flags;
    if (c) {
        desc.log = capture;
        desc.log_user = c;
    }
    repmlp_context *ctx = NULL;
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    return ctx;
}

static void expect_compile_only_error(repmlp_status st) {
    assert_int_equal(st, REPMLP_ERROR_UNSUPPORTED);
    assert_non_null(strstr(repmlp_last_error(), "compile-only"));
}

/* The device list marks a device that cannot run, and only a compile-only context takes it. */
static void device_that_cannot_run(void **state) {
    (void)state;
    repmlp_device_info infos[16];
    uint32_t count = 16;
    assert_int_equal(repmlp_device_list(infos, &count), REPMLP_OK);
    assert_true(count >= 1);
    for (uint32_t i = 0; i < count; i++) assert_int_equal(infos[i].compile_only, null_device());
    repmlp_context_desc desc = ts_context_desc();
    repmlp_context *ctx = NULL;
    repmlp_status st = repmlp_context_create(&desc, &ctx);
    if (!null_device()) {
        assert_int_equal(st, REPMLP_OK);
        ts_context_done(ctx);
        return;
    }
    assert_int_equal(st, REPMLP_ERROR_UNSUPPORTED);
    assert_null(ctx);
    print_message("refused: %s\n", repmlp_last_error());
    assert_non_null(strstr(repmlp_last_error(), "REPMLP_CONTEXT_COMPILE_ONLY"));
    ts_check_validation();
}

/* Every op of a batch-3 session has its pipeline and statistics; nothing is on the device. */
static void plans_and_compiles(void **state) {
    (void)state;
    repmlp_context *ctx = context(REPMLP_CONTEXT_COMPILE_ONLY | REPMLP_CONTEXT_COMPILE_STATS, NULL);
    repmlp_model *model;
    assert_int_equal(repmlp_model_load(ctx, fused, &model), REPMLP_OK);
    assert_true(repmlp_model_weight_bytes(model) > 0); /* planned, not allocated */
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(model, 3, &s), REPMLP_OK);
    repmlp_memory_info mem;
    assert_int_equal(repmlp_context_memory(ctx, &mem), REPMLP_OK);
    assert_int_equal(mem.used, 0);
    assert_null(s->input.buffer);
    assert_null(s->command_buffer);
    uint32_t n = repmlp_session_op_count(s), reported = 0;
    assert_true(n > 5);
    for (uint32_t i = 0; i < n; i++) {
        assert_non_null(s->dispatches[i].pipeline);
        assert_non_null(s->dispatches[i].pipeline->pipeline);
        repmlp_compile_stats c;
        assert_int_equal(repmlp_session_op_compile_stats(s, i, &c), REPMLP_OK);
        const uint32_t *spec = s->dispatches[i].pipeline->spec;
        assert_memory_equal(c.workgroup, spec, sizeof c.workgroup);
        assert_int_equal(c.lanes_active, spec[0] * spec[1] * spec[2]);
        assert_true(c.subgroup_size >= 1 && c.lanes % c.subgroup_size == 0);
        assert_true(c.lanes >= c.lanes_active && c.lanes < c.lanes_active + c.subgroup_size);
        reported += c.reported;
        if (c.reported && null_device()) {
            assert_true(c.vector_registers > 0);
            assert_int_equal(c.spilled_vector_registers, 0);
            assert_int_equal(c.scratch_bytes, 0);
        }
    }
    print_message("%u ops, %u with driver statistics\n", n, reported);
    if (null_device()) assert_int_equal(reported, n);
    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    ts_context_done(ctx);
}

/* Everything that would touch the device's memory or queue is refused with one line. */
static void refuses_to_run(void **state) {
    (void)state;
    repmlp_context *ctx = context(REPMLP_CONTEXT_COMPILE_ONLY, NULL);
    repmlp_model *model;
    assert_int_equal(repmlp_model_load(ctx, fused, &model), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(model, 1, &s), REPMLP_OK);
    uint64_t nin = s->input_count, nout = s->output_count;
    float *in = calloc(nin, sizeof *in), *out = calloc(nout, sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    expect_compile_only_error(repmlp_session_run(s, in, nin, out, nout));
    expect_compile_only_error(repmlp_session_write_input(s, in, nin));
    expect_compile_only_error(repmlp_session_execute(s));
    expect_compile_only_error(repmlp_session_read_output(s, out, nout));
    expect_compile_only_error(repmlp_session_set_topk(s, 3));
    expect_compile_only_error(repmlp_session_bind_buffers(s, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, 0));
    expect_compile_only_error(repmlp_session_submit(s, NULL));
    VkCommandBuffer fake = (VkCommandBuffer)(uintptr_t)1; /* refused before it is used */
    expect_compile_only_error(repmlp_session_record(s, fake));
    double ms[64];
    uint32_t n = repmlp_session_op_count(s);
    assert_true(n <= 64);
    expect_compile_only_error(repmlp_session_profile(s, ms, n));
    repmlp_compile_stats c;
    assert_int_equal(repmlp_session_op_compile_stats(s, 0, &c), REPMLP_ERROR_UNSUPPORTED);
    assert_non_null(strstr(repmlp_last_error(), "REPMLP_CONTEXT_COMPILE_STATS"));
    free(in);
    free(out);
    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    ts_context_done(ctx);
}

/* A pipeline cache built ahead of time by a compile-only context: saved, loaded by a context
 * that runs (with the same pipelines per op: shader and specialization), which then runs the
 * model. Without statistics: capturing them keeps RADV from caching. */
static void pipeline_cache_ahead_of_time(void **state) {
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/compile-only.cache", scratch);
    remove(path);
    repmlp_context *ctx = context(REPMLP_CONTEXT_COMPILE_ONLY, NULL);
    repmlp_model *model;
    repmlp_session *s;
    assert_int_equal(repmlp_model_load(ctx, fused, &model), REPMLP_OK);
    assert_int_equal(repmlp_session_create(model, 2, &s), REPMLP_OK);
    uint32_t n = repmlp_session_op_count(s);
    rm_pipeline planned[64];
    assert_true(n <= 64);
    for (uint32_t i = 0; i < n; i++) planned[i] = *s->dispatches[i].pipeline;
    assert_int_equal(repmlp_context_save_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    ts_context_done(ctx);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    print_message("pipeline cache of a compile-only context: %ld bytes\n", bytes);
    /* RADV keeps the pipelines (lavapipe 22.3 and SwiftShader save a header alone). */
    if (null_device()) assert_true(bytes > 4096);
    fclose(f);

    log_capture c = {0};
    /* A device that cannot run reloads it into another compile-only context. */
    ctx = context(null_device() ? REPMLP_CONTEXT_COMPILE_ONLY : 0, &c);
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, path), REPMLP_OK);
    assert_non_null(strstr(c.last, "loaded"));
    assert_int_equal(repmlp_model_load(ctx, fused, &model), REPMLP_OK);
    assert_int_equal(repmlp_session_create(model, 2, &s), REPMLP_OK);
    assert_int_equal(repmlp_session_op_count(s), n);
    for (uint32_t i = 0; i < n; i++) {
        const rm_pipeline *got = s->dispatches[i].pipeline;
        assert_int_equal(got->shader, planned[i].shader);
        assert_int_equal(got->spec_count, planned[i].spec_count);
        assert_memory_equal(got->spec, planned[i].spec, got->spec_count * sizeof *got->spec);
    }
    if (!null_device()) {
        uint64_t nin = s->input_count, nout = s->output_count;
        float *in = calloc(nin, sizeof *in), *out = calloc(nout, sizeof *out);
        assert_non_null(in);
        assert_non_null(out);
        for (uint64_t i = 0; i < nin; i++) in[i] = (float)sin((double)i);
        assert_int_equal(ts_session_run(s, in, nin, out, nout), REPMLP_OK);
        for (uint64_t i = 0; i < nout; i++) assert_true(isfinite(out[i]));
        free(in);
        free(out);
    }
    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    ts_context_done(ctx);
    remove(path);
}

int main(void) {
    /* The kernels a compile-only context plans (storage operands: it cannot measure) are the
     * ones a context that runs takes, so the cache built ahead of time serves it. */
    setenv("REPMLP_OPERAND_PATH", "storage", 1);
    ts_fuse_digits("compile-only", scratch, fused, sizeof fused);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_that_cannot_run),
        cmocka_unit_test(plans_and_compiles),
        cmocka_unit_test(refuses_to_run),
        cmocka_unit_test(pipeline_cache_ahead_of_time),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
