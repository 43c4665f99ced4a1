/* Fault injection: the Nth host allocation, and separately the Nth vkCreate* / vkAllocate* call
 * (every one the library makes goes through RM_VK_CREATE), fails, for every N over a context
 * creation and over a model load, a session creation and a run from a cold pipeline list. Each
 * failure must come back as a clean status with a message, leak nothing (ASan/LeakSanitizer in the
 * sanitizer build, the validation layer's object tracking here), and leave the context usable: a
 * full load and run afterwards must succeed and be correct. Then a simulated device loss: every
 * later call reports it, nothing hangs. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repmlp.h"
#include "core/context.h"
#include "core/fault.h"
#include "core/pipeline.h"
#include "ops/gemm_core.h"
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
        st = ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count);
    if (st == REPMLP_OK && err) *err = ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    free(y);
    return st;
}

/* Load, prepare and run with no pipeline built yet, so pipeline creation is walked too. */
static repmlp_status cold_load_and_run(repmlp_context *ctx, double *err) {
    rm_pipelines_destroy_all(ctx);
    return load_and_run(ctx, err);
}

static void check_clean_failure(repmlp_status st, const char *name, long n) {
    if (st != REPMLP_ERROR_OUT_OF_HOST_MEMORY && st != REPMLP_ERROR_OUT_OF_DEVICE_MEMORY)
        fail_msg("%s fault %ld: unexpected status %s: %s", name, n, repmlp_status_name(st),
                 repmlp_last_error());
    assert_true(strlen(repmlp_last_error()) > 0);
    assert_null(strchr(repmlp_last_error(), '\n'));
}

/* Points walked per kind (host, Vulkan), printed at the end for the README's numbers. */
static long walked[RM_FAULT_KIND_COUNT][2];

static void walk(rm_fault_kind kind, const char *name) {
    repmlp_context *ctx = ts_context();
    /* The GEMM operand path is measured once per context, at the first model prepared; done
     * here, so that every pass below is alike (test_limits walks the measurement). */
    rm_operand_path path;
    assert_int_equal(rm_operand_path_get(ctx, &path), REPMLP_OK);
    /* Count the calls of this kind over one clean pass from a cold pipeline list. */
    rm_fault_arm(kind, 0);
    double err = 1;
    assert_int_equal(cold_load_and_run(ctx, &err), REPMLP_OK);
    long calls = rm_fault_calls(kind);
    /* A fresh context per injected fault would hide leaks into the context; use one. */
    long failures = 0;
    for (long n = 1; n <= calls + 1; n++) {
        rm_fault_arm(kind, n);
        repmlp_status st = cold_load_and_run(ctx, NULL);
        rm_fault_arm(kind, 0);
        if (st == REPMLP_OK) {
            assert_true(n > rm_fault_calls(kind) || n == calls + 1);
            continue;
        }
        failures++;
        check_clean_failure(st, name, n);
        /* The context stays usable. */
        err = 1;
        assert_int_equal(load_and_run(ctx, &err), REPMLP_OK);
        assert_true(err < TS_FX_TOLERANCE);
    }
    print_message("%s faults: %ld points per cold load+prepare+run (pipelines built), %ld "
                  "injected failures, all clean, context usable after each\n",
                  name, calls, failures);
    walked[kind][1] = calls;
    assert_true(failures >= 1);
    ts_context_done(ctx);
}

/* Context creation (instance, messenger, device, pools, caches) under each fault in turn. */
static void context_walk(rm_fault_kind kind, const char *name) {
    repmlp_context_desc desc = ts_context_desc();
    repmlp_context *ctx = NULL;
    rm_fault_arm(kind, 0);
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
    long calls = rm_fault_calls(kind);
    repmlp_context_destroy(ctx);
    long failures = 0;
    for (long n = 1; n <= calls; n++) {
        rm_fault_arm(kind, n);
        ctx = NULL;
        repmlp_status st = repmlp_context_create(&desc, &ctx);
        rm_fault_arm(kind, 0);
        if (st == REPMLP_OK) {
            repmlp_context_destroy(ctx);
            continue;
        }
        failures++;
        check_clean_failure(st, name, n);
        assert_null(ctx);
    }
    ts_check_validation();
    print_message("%s faults in context creation: %ld points, %ld injected failures, all "
                  "clean\n",
                  name, calls, failures);
    walked[kind][0] = calls;
    assert_true(failures >= 1);
}

static void host_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    context_walk(RM_FAULT_HOST_ALLOC, "host allocation");
    walk(RM_FAULT_HOST_ALLOC, "host allocation");
}

static void vulkan_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    context_walk(RM_FAULT_VULKAN_ALLOC, "vkCreate*/vkAllocate*");
    walk(RM_FAULT_VULKAN_ALLOC, "vkCreate*/vkAllocate*");
    print_message("fault points walked: host %ld (context) + %ld (load+prepare+run), Vulkan %ld "
                  "+ %ld\n",
                  walked[RM_FAULT_HOST_ALLOC][0], walked[RM_FAULT_HOST_ALLOC][1],
                  walked[RM_FAULT_VULKAN_ALLOC][0], walked[RM_FAULT_VULKAN_ALLOC][1]);
}

/* After a device loss every call reports it (the driver's own loss is simulated by handing
 * VK_ERROR_DEVICE_LOST to the library's one Vulkan-error path, as a failed submit or wait does). */
static void device_loss(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    repmlp_session *s;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    assert_int_equal(rm_vk_fail(ctx, VK_ERROR_DEVICE_LOST, "vkQueueSubmit (simulated)"),
                     REPMLP_ERROR_DEVICE_LOST);
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

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *bytes = malloc(*n);
    assert_int_equal(fread(bytes, 1, *n, f), *n);
    fclose(f);
    return bytes;
}

/* A fused file with a NaN or an Inf in any F32 tensor is refused at load, naming the tensor:
 * a ReLU or a max-pool can swallow a NaN and give finite, wrong outputs. */
static void nonfinite_weights(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    size_t n;
    unsigned char *orig = read_file(ts_fx.fused_path, &n);
    char bad[1100];
    snprintf(bad, sizeof bad, "%s.nonfinite", ts_fx.fused_path);
    rm_safetensors *st;
    assert_int_equal(rm_safetensors_open(ts_fx.fused_path, &st), REPMLP_OK);
    int checked = 0;
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        if (t->dtype != RM_DTYPE_F32 || !t->nbytes) continue;
        /* The tensor's bytes in the file (the data section holds each exactly once). */
        unsigned char *at = NULL;
        for (size_t o = 0; o + t->nbytes <= n && !at; o++)
            if (memcmp(orig + o, t->data, t->nbytes) == 0) at = orig + o;
        assert_non_null(at);
        const float poison[2] = {NAN, INFINITY};
        for (int k = 0; k < 2; k++) {
            unsigned char *copy = malloc(n);
            memcpy(copy, orig, n);
            size_t element = k ? 0 : t->count - 1;
            memcpy(copy + (at - orig) + element * 4, &poison[k], 4);
            FILE *f = fopen(bad, "wb");
            assert_int_equal(fwrite(copy, 1, n, f), n);
            fclose(f);
            free(copy);
            repmlp_model *m = NULL;
            assert_int_equal(repmlp_model_load(ctx, bad, &m), REPMLP_ERROR_FORMAT);
            assert_null(m);
            char want[300];
            snprintf(want, sizeof want, "tensor '%s' holds a non-finite value", t->name);
            if (!strstr(repmlp_last_error(), want))
                fail_msg("%s with %s: message '%s'", t->name, k ? "Inf" : "NaN",
                         repmlp_last_error());
            checked++;
        }
    }
    print_message("%d non-finite fused files (NaN and Inf in each F32 tensor) refused, tensor "
                  "named\n",
                  checked);
    assert_true(checked >= 4);
    rm_safetensors_close(st);
    remove(bad);
    free(orig);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_faults),
        cmocka_unit_test(vulkan_faults),
        cmocka_unit_test(device_loss),
        cmocka_unit_test(nonfinite_weights),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_fixture_open, ts_group_fixture_close));
}
