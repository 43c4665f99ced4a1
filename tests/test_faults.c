/* Fault injection: the Nth host allocation, and separately the Nth Vulkan allocation (device
 * memory, buffer, pipeline, descriptor pool), fails, for every N over a model load, a session
 * creation and a run. Each failure must come back as a clean status with a message, leak
 * nothing (ASan/LeakSanitizer in the sanitizer build, the validation layer's object tracking
 * here), and leave the context usable: a full load and run afterwards must succeed and be
 * correct. Then a simulated device loss: every later call reports it, nothing hangs. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repmlp.h"
#include "core/context.h"
#include "core/fault.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/fuse_block_v1.h"

/* Load, prepare, run; returns the first failing status (everything is released). */
static repmlp_status load_and_run(repmlp_context *ctx, double *err) {
    repmlp_model *m = NULL;
    repmlp_session *s = NULL;
    float *y = malloc(ts_fx.output_count * sizeof(float));
    repmlp_status st = repmlp_model_load(ctx, ts_fx.fused_path, &m);
    if (st == REPMLP_OK) st = repmlp_session_create(m, ts_fx.batch, &s);
    if (st == REPMLP_OK)
        st = repmlp_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count);
    if (st == REPMLP_OK && err) *err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    free(y);
    return st;
}

static void walk(rm_fault_kind kind, const char *name) {
    repmlp_context *ctx = ts_context();
    /* Count the calls of this kind over one clean pass (it builds the pipelines too, so the
     * walk below starts with a warm pipeline cache, like a second model on a context). */
    rm_fault_arm(kind, 0);
    double err = 1;
    assert_int_equal(load_and_run(ctx, &err), REPMLP_OK);
    long calls = rm_fault_calls(kind);
    /* A fresh context per injected fault would hide leaks into the context; use one. */
    long failures = 0;
    for (long n = 1; n <= calls + 1; n++) {
        rm_fault_arm(kind, n);
        repmlp_status st = load_and_run(ctx, NULL);
        rm_fault_arm(kind, 0);
        if (st == REPMLP_OK) {
            assert_true(n > rm_fault_calls(kind) || n == calls + 1);
            continue;
        }
        failures++;
        if (st != REPMLP_ERROR_OUT_OF_HOST_MEMORY && st != REPMLP_ERROR_OUT_OF_DEVICE_MEMORY)
            fail_msg("%s fault %ld: unexpected status %s: %s", name, n, repmlp_status_name(st),
                     repmlp_last_error());
        assert_true(strlen(repmlp_last_error()) > 0);
        assert_null(strchr(repmlp_last_error(), '\n'));
        /* The context stays usable. */
        err = 1;
        assert_int_equal(load_and_run(ctx, &err), REPMLP_OK);
        assert_true(err < 1e-5);
    }
    print_message("%s faults: %ld points per load+prepare+run, %ld injected failures, all "
                  "clean, context usable after each\n",
                  name, calls, failures);
    assert_true(failures >= 1);
    ts_context_done(ctx);
}

static void host_faults(void **state) {
    (void)state;
    walk(RM_FAULT_HOST_ALLOC, "host allocation");
}

static void vulkan_faults(void **state) {
    (void)state;
    walk(RM_FAULT_VULKAN_ALLOC, "Vulkan allocation");
}

/* After a device loss every call reports it (the driver's own loss is simulated by marking
 * the context, as a real VK_ERROR_DEVICE_LOST from a submit or wait does). */
static void device_loss(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    repmlp_session *s;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    ctx->lost = true;
    float *y = malloc(ts_fx.output_count * sizeof(float));
    assert_int_equal(repmlp_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_ERROR_DEVICE_LOST);
    assert_non_null(strstr(repmlp_last_error(), "lost"));
    assert_int_equal(repmlp_session_execute(s), REPMLP_ERROR_DEVICE_LOST);
    repmlp_session *s2 = NULL;
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s2), REPMLP_ERROR_DEVICE_LOST);
    repmlp_model *m2 = NULL;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m2), REPMLP_ERROR_DEVICE_LOST);
    assert_null(m2);
    free(y);
    /* Teardown still works (the device is not really lost here). */
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_faults),
        cmocka_unit_test(vulkan_faults),
        cmocka_unit_test(device_loss),
    };
    return cmocka_run_group_tests(tests, ts_group_fixture_open, ts_group_fixture_close);
}
