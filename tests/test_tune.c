/* Kernel tuning (REPMLP_CONTEXT_TUNE, runtime/exec/tune.c): a tuned session computes what an
 * untuned one does; saved tuning data reloads to the same winners without measuring; a stale or
 * damaged file is ignored with a log line; a candidate with wrong output is denied; faults while
 * tuning leave a usable session or a clean error. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "core/alloc.h"
#include "core/context.h"
#include "core/fault.h"
#include "core/pipeline.h"
#include "exec/tune.h"
#include "io/device_file.h"
#include "ops/ops.h"

/* Log lines seen, to check that ignored files and denied kernels are reported. */
static char log_seen[8192];
static void capture_log(void *user, repmlp_log_level level, const char *message) {
    ts_log(user, level, message);
    size_t used = strlen(log_seen);
    snprintf(log_seen + used, sizeof log_seen - used, "%s\n", message);
}

static char tmp_path[600];
static const char *scratch(const char *what) {
    snprintf(tmp_path, sizeof tmp_path, "%s/tmp-tune-%s-%d.bin", REPMLP_BINARY_DIR, what,
             (int)getpid());
    return tmp_path;
}

/* Tuning compiles a pipeline per candidate (about a second each on SwiftShader): the contexts
 * of this program share one pipeline cache. */
static char pipelines[600];

static repmlp_context *tune_context(uint32_t flags) {
    repmlp_context_desc desc = ts_context_desc();
    desc.flags |= flags;
    desc.log = capture_log;
    repmlp_context *ctx = NULL;
    if (repmlp_context_create(&desc, &ctx) != REPMLP_OK)
        fail_msg("context: %s", repmlp_last_error());
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_PIPELINES, pipelines), REPMLP_OK);
    return ctx;
}

static void context_done(repmlp_context *ctx) {
    assert_int_equal(repmlp_context_save_cache(ctx, REPMLP_CACHE_PIPELINES, pipelines), REPMLP_OK);
    ts_context_done(ctx);
}

typedef struct tuned {
    repmlp_model *model;
    repmlp_session *session;
    repmlp_tuning_node *nodes;
    uint32_t count;
    float *y;
} tuned;

/* Loads the fixture, makes a session of `batch`, reads its tuning report and runs it (the
 * fixture's input repeated per image). */
static void tuned_open(repmlp_context *ctx, uint32_t batch, tuned *t) {
    memset(t, 0, sizeof *t);
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &t->model), REPMLP_OK);
    if (repmlp_session_create(t->model, batch, &t->session) != REPMLP_OK)
        fail_msg("session: %s", repmlp_last_error());
    assert_int_equal(repmlp_session_tuning_info(t->session, NULL, &t->count), REPMLP_OK);
    if (t->count) {
        t->nodes = calloc(t->count, sizeof *t->nodes);
        uint32_t n = t->count;
        assert_int_equal(repmlp_session_tuning_info(t->session, t->nodes, &n), REPMLP_OK);
        assert_int_equal(n, t->count);
        /* A short array: filled as far as it goes, REPMLP_INCOMPLETE (a success). */
        repmlp_tuning_node first;
        memset(&first, 0xee, sizeof first);
        uint32_t none = 0;
        assert_int_equal(repmlp_session_tuning_info(t->session, &first, &none), REPMLP_INCOMPLETE);
        assert_int_equal(none, 0);
        assert_int_equal(first.node, 0xeeeeeeeeu); /* nothing written */
        uint32_t short_count = t->count - 1;
        if (short_count) {
            assert_int_equal(repmlp_session_tuning_info(t->session, t->nodes, &short_count),
                             REPMLP_INCOMPLETE);
            assert_int_equal(short_count, t->count - 1);
        }
    }
    size_t in1 = ts_fx.input_count / ts_fx.batch, out1 = ts_fx.output_count / ts_fx.batch;
    float *x = malloc(in1 * batch * sizeof *x);
    for (uint32_t b = 0; b < batch; b++)
        memcpy(x + b * in1, ts_fx.input + (b % ts_fx.batch) * in1, in1 * sizeof *x);
    t->y = malloc(out1 * batch * sizeof *t->y);
    assert_int_equal(ts_session_run(t->session, x, in1 * batch, t->y, out1 * batch), REPMLP_OK);
    free(x);
}

static void tuned_close(tuned *t) {
    repmlp_session_destroy(t->session);
    repmlp_model_destroy(t->model);
    free(t->nodes);
    free(t->y);
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        if (d < 0) d = -d;
        if (d > worst || d != d) worst = d != d ? 1e30 : d;
        double m = b[i] < 0 ? -(double)b[i] : b[i];
        if (m > scale) scale = m;
    }
    return worst / (scale > 0 ? scale : 1);
}

static const repmlp_tuning_candidate *find_candidate(const repmlp_tuning_node *n,
                                                     const char *kernel) {
    for (uint32_t i = 0; i < n->candidate_count; i++)
        if (strcmp(n->candidates[i].kernel, kernel) == 0) return &n->candidates[i];
    return NULL;
}

static void print_report(const tuned *t) {
    for (uint32_t i = 0; i < t->count; i++) {
        const repmlp_tuning_node *n = &t->nodes[i];
        print_message("  %s %s M=%u K=%u N=%u g=%u: %s -> %s (source %u)\n", n->op, n->label, n->M,
                      n->K, n->N, n->groups, n->builtin, n->winner, n->source);
        for (uint32_t c = 0; c < n->candidate_count; c++)
            print_message("    %-16s %9.4f ms  outcome %u\n", n->candidates[c].kernel,
                          n->candidates[c].ms, n->candidates[c].outcome);
    }
}

/* A kernel that tuned_equals_untuned checked (timed, or found slow after its checked run) and
 * that is no op's built-in choice. */
static char victim[64];

/* Sets victim to the first candidate of t that was checked (timed or slow) and that is no op's
 * built-in choice. */
static void pick_victim(const tuned *t) {
    for (uint32_t i = 0; i < t->count; i++)
        for (uint32_t c = 1; c < t->nodes[i].candidate_count; c++) {
            const repmlp_tuning_candidate *k = &t->nodes[i].candidates[c];
            bool builtin = false;
            for (uint32_t j = 0; j < t->count; j++)
                builtin |= strcmp(k->kernel, t->nodes[j].builtin) == 0;
            bool checked =
                k->outcome == REPMLP_CANDIDATE_TIMED || k->outcome == REPMLP_CANDIDATE_SLOW;
            if (!builtin && checked) {
                snprintf(victim, sizeof victim, "%s", k->kernel);
                return;
            }
        }
}

/* Tuned output equals untuned; every op measured with at least two candidates; a save
 * reloads (file and memory) to the same winners without measuring. */
static void tuned_equals_untuned(void **state) {
    (void)state;
    repmlp_context *plain = tune_context(0);
    tuned u;
    tuned_open(plain, ts_fx.batch, &u);
    assert_int_equal(u.count, 0); /* no flag, nothing loaded: no tuning at all */
    assert_true(ts_max_rel_error(u.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);

    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    double t0 = ts_now_ms();
    tuned_open(ctx, ts_fx.batch, &t);
    print_message("tuned session: %u GEMM/conv ops, created and run in %.0f ms\n", t.count,
                  ts_now_ms() - t0);
    print_report(&t);
    assert_true(t.count >= 1);
    for (uint32_t i = 0; i < t.count; i++) {
        const repmlp_tuning_node *n = &t.nodes[i];
        assert_int_equal(n->source, REPMLP_TUNING_MEASURED);
        assert_true(n->candidate_count >= 2);
        assert_string_equal(n->candidates[0].kernel, n->builtin);
        const repmlp_tuning_candidate *w = find_candidate(n, n->winner);
        assert_non_null(w);
        assert_int_equal(w->outcome, REPMLP_CANDIDATE_TIMED);
        /* The fastest timed candidate wins, except that the built-in kernel stays when the
         * fastest beats it by less than the tuner's 5% margin. */
        double fastest = w->ms;
        for (uint32_t c = 0; c < n->candidate_count; c++)
            if (n->candidates[c].outcome == REPMLP_CANDIDATE_TIMED) {
                assert_true(n->candidates[c].ms >= 0);
                if (n->candidates[c].ms < fastest) fastest = n->candidates[c].ms;
            }
        if (strcmp(n->winner, n->builtin) != 0)
            assert_true(w->ms == fastest && w->ms < 0.95 * n->candidates[0].ms);
        else
            assert_true(fastest >= 0.95 * w->ms);
    }
    pick_victim(&t);
    double diff = max_rel_diff(t.y, u.y, ts_fx.output_count);
    print_message("tuned vs untuned output: max relative difference %.3g\n", diff);
    assert_true(diff < 1e-5);
    assert_true(ts_max_rel_error(t.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);

    /* A second session on the same context knows every shape. */
    tuned again;
    tuned_open(ctx, ts_fx.batch, &again);
    assert_int_equal(again.count, t.count);
    for (uint32_t i = 0; i < again.count; i++) {
        assert_int_equal(again.nodes[i].source, REPMLP_TUNING_KNOWN);
        assert_int_equal(again.nodes[i].candidate_count, 0);
    }
    tuned_close(&again);

    const char *path = scratch("saved");
    char saved[600];
    snprintf(saved, sizeof saved, "%s", path);
    assert_int_equal(repmlp_context_save_cache(ctx, REPMLP_CACHE_TUNING, saved), REPMLP_OK);
    size_t size = 0;
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, NULL, &size),
                     REPMLP_OK);
    assert_true(size > 0);
    unsigned char *mem = malloc(size);
    size_t small = size - 1;
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, mem, &small),
                     REPMLP_ERROR_TOO_LARGE);
    assert_int_equal(small, size);
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, mem, &size),
                     REPMLP_OK);

    /* Reloaded (without the flag, from the file; with it, from memory): same winners, nothing
     * measured, same output. */
    for (int from_memory = 0; from_memory < 2; from_memory++) {
        repmlp_context *fresh = tune_context(from_memory ? REPMLP_CONTEXT_TUNE : 0);
        assert_int_equal(
            from_memory ? repmlp_context_load_cache_memory(fresh, REPMLP_CACHE_TUNING, mem, size)
                        : repmlp_context_load_cache(fresh, REPMLP_CACHE_TUNING, saved),
            REPMLP_OK);
        tuned r;
        tuned_open(fresh, ts_fx.batch, &r);
        assert_int_equal(r.count, t.count);
        for (uint32_t i = 0; i < r.count; i++) {
            assert_int_equal(r.nodes[i].source, REPMLP_TUNING_KNOWN);
            assert_int_equal(r.nodes[i].candidate_count, 0);
            assert_string_equal(r.nodes[i].winner, t.nodes[i].winner);
        }
        assert_true(max_rel_diff(r.y, t.y, ts_fx.output_count) == 0);
        tuned_close(&r);
        context_done(fresh);
    }
    free(mem);
    remove(saved);
    tuned_close(&t);
    tuned_close(&u);
    context_done(ctx);
    context_done(plain);
}

#ifdef REPMLP_FAULT_INJECTION
/* Checks that the victim has outcome `want` wherever it was a candidate other than the op's
 * built-in kernel; returns how many ops that was. */
static uint32_t victim_outcomes(const tuned *t, repmlp_tuning_outcome want) {
    uint32_t seen = 0;
    for (uint32_t i = 0; i < t->count; i++) {
        const repmlp_tuning_candidate *c = find_candidate(&t->nodes[i], victim);
        if (!c || strcmp(victim, t->nodes[i].builtin) == 0) continue;
        assert_int_equal(c->outcome, want);
        seen++;
    }
    return seen;
}

/* A candidate whose output is corrupted goes on the context's deny list with one log line,
 * and never wins. */
static void wrong_candidate_denied(void **state) {
    (void)state;
    if (!victim[0]) ts_skip("no candidate besides the built-in kernels was checked");
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    log_seen[0] = 0;
    rm_tune_fault_corrupt(victim);
    tuned_open(ctx, ts_fx.batch, &t);
    rm_tune_fault_corrupt(NULL);
    print_report(&t);
    char want[200];
    snprintf(want, sizeof want, "tuning: kernel %s denied on this context", victim);
    const char *hit = strstr(log_seen, want);
    if (!hit) fail_msg("no log line '%s' in:\n%s", want, log_seen);
    assert_null(strstr(hit + 1, want)); /* one line, not one per op */
    for (uint32_t i = 0; i < t.count; i++) assert_string_not_equal(t.nodes[i].winner, victim);
    assert_true(victim_outcomes(&t, REPMLP_CANDIDATE_DENIED) >= 1);
    assert_true(ts_max_rel_error(t.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    /* The deny list outlives the session: another batch (new shapes) skips the kernel. */
    tuned t2;
    log_seen[0] = 0;
    tuned_open(ctx, 2 * ts_fx.batch, &t2);
    assert_null(strstr(log_seen, want));
    victim_outcomes(&t2, REPMLP_CANDIDATE_DENIED); /* (as a built-in kernel it still runs) */
    tuned_close(&t2);
    tuned_close(&t);
    context_done(ctx);
}
#endif

/* rm_gemm_params.force runs exactly that row, and refuses a row of another kernel or weight
 * type. */
static void forced_rows(void **state) {
    (void)state;
    repmlp_context *ctx = tune_context(0);
    uint32_t ran = 0;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *row = &rm_gemm_kernel_variants[i];
        rm_gemm_params p = rm_gemm_row_major(8, 32, 32, 1);
        p.force = row;
        rm_dispatch d;
        repmlp_status st = rm_gemm_prepare(ctx, &p, &d);
        bool fits = row->kernel == RM_GEMM_KERNEL_GEMM && row->weights != RM_GEMM_WEIGHTS_F16;
        if (!fits) {
            assert_int_equal(st, REPMLP_ERROR_INVALID_ARGUMENT);
            assert_non_null(strstr(repmlp_last_error(), rm_shader(row->shader)->name));
            continue;
        }
        if (st == REPMLP_ERROR_UNSUPPORTED) continue; /* beyond this device's limits */
        assert_int_equal(st, REPMLP_OK);
        assert_int_equal(d.pipeline->shader, row->shader);
        ran++;
    }
    assert_true(ran >= 2);
    context_done(ctx);
}

static void write_file(const char *path, const unsigned char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Stale (another driver version, library version), damaged (a flipped byte), truncated and
 * foreign files are ignored with a log line; the session still works, untuned. */
static void bad_files_ignored(void **state) {
    (void)state;
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    tuned_open(ctx, ts_fx.batch, &t);
    size_t size = 0;
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, NULL, &size),
                     REPMLP_OK);
    unsigned char *good = malloc(size);
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, good, &size),
                     REPMLP_OK);
    tuned_close(&t);
    context_done(ctx);
    /* Header: magic[8], vendor, device, driver, library version (uint32 each), UUID, ... */
    const struct {
        const char *name;
        size_t offset; /* byte to change; SIZE_MAX: truncate */
        const char *why;
    } cases[] = {
        {"stale-device", 12, "written for another device"},
        {"stale-driver", 16, "written by another driver version"},
        {"stale-library", 20, "written by another library version"},
        {"stale-uuid", 24, "pipelineCacheUUID differs"},
        {"foreign", 0, "not repmlp-vk tuning data"},
        {"damaged", size - 5, "checksum differs"},
        {"truncated", (size_t)-1, "truncated or padded"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *bad = malloc(size);
        memcpy(bad, good, size);
        size_t n = size;
        if (cases[i].offset == (size_t)-1)
            n -= 7;
        else
            bad[cases[i].offset] ^= 0x5a;
        const char *path = scratch(cases[i].name);
        write_file(path, bad, n);
        ctx = tune_context(0);
        log_seen[0] = 0;
        assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_TUNING, path), REPMLP_OK);
        remove(path);
        if (!strstr(log_seen, "ignored") || !strstr(log_seen, cases[i].why))
            fail_msg("%s: no log line saying '%s': %s", cases[i].name, cases[i].why, log_seen);
        tuned r;
        tuned_open(ctx, ts_fx.batch, &r);
        assert_int_equal(r.count, 0); /* nothing was loaded */
        assert_true(ts_max_rel_error(r.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
        tuned_close(&r);
        context_done(ctx);
        free(bad);
    }
    /* A missing file is no error either. */
    ctx = tune_context(0);
    assert_int_equal(repmlp_context_load_cache(ctx, REPMLP_CACHE_TUNING, scratch("missing")),
                     REPMLP_OK);
    context_done(ctx);
    free(good);
}

#ifdef REPMLP_FAULT_INJECTION
/* One tuned session from a cold pipeline list and an empty store (returns the status; on
 * success its output must be right). */
static repmlp_status tune_once(repmlp_context *ctx, repmlp_model *m, bool cold) {
    rm_free(ctx->tune);
    ctx->tune = NULL;
    if (cold) rm_pipelines_destroy_all(ctx);
    repmlp_session *s = NULL;
    repmlp_status st = repmlp_session_create(m, ts_fx.batch, &s);
    if (st == REPMLP_OK) {
        float *y = malloc(ts_fx.output_count * sizeof *y);
        st = ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count);
        if (st == REPMLP_OK)
            assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
        free(y);
    }
    repmlp_session_destroy(s);
    return st;
}

/* Injects fault n of kind into a tuned session creation; counts the outcome. */
static void inject(repmlp_context *ctx, repmlp_model *m, rm_fault_kind kind, long n, bool cold,
                   long *failed, long *recovered) {
    rm_fault_arm(kind, n);
    repmlp_status st = tune_once(ctx, m, cold);
    rm_fault_arm(kind, 0);
    if (st == REPMLP_OK) {
        ++*recovered;
        return;
    }
    ++*failed;
    if (st != REPMLP_ERROR_OUT_OF_HOST_MEMORY && st != REPMLP_ERROR_OUT_OF_DEVICE_MEMORY)
        fail_msg("fault %ld: unexpected status %s: %s", n, repmlp_status_name(st),
                 repmlp_last_error());
    assert_true(strlen(repmlp_last_error()) > 0);
    assert_int_equal(tune_once(ctx, m, false), REPMLP_OK); /* the context stays usable */
}

/* Host allocations, and Vulkan creations and allocations, of a tuned session creation fail
 * one at a time: a clean error or a working session, never a crash or a leak. Every point
 * with the pipelines built; and, since building them costs about a second per candidate on
 * SwiftShader, a few points spread over a cold pass (pipeline creations included). */
static void faults_while_tuning(void **state) {
    (void)state;
    const rm_fault_kind kinds[] = {RM_FAULT_HOST_ALLOC, RM_FAULT_VULKAN_ALLOC};
    for (int k = 0; k < 2; k++) {
        repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
        repmlp_model *m = NULL;
        assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
        rm_fault_arm(kinds[k], 0);
        assert_int_equal(tune_once(ctx, m, true), REPMLP_OK);
        long cold = rm_fault_calls(kinds[k]);
        rm_fault_arm(kinds[k], 0);
        assert_int_equal(tune_once(ctx, m, false), REPMLP_OK);
        long warm = rm_fault_calls(kinds[k]), failed = 0, recovered = 0;
        for (long n = 1; n <= warm; n++) inject(ctx, m, kinds[k], n, false, &failed, &recovered);
        long stride = cold / 5 + 1;
        for (long n = stride / 2 + 1; n <= cold; n += stride)
            inject(ctx, m, kinds[k], n, true, &failed, &recovered);
        print_message("%s faults over a tuned session creation: all %ld points (pipelines "
                      "built), every %ld-th of %ld cold: %ld clean errors, %ld working "
                      "sessions\n",
                      k ? "Vulkan" : "host", warm, stride, cold, failed, recovered);
        /* Tuning is best effort: some faults inside it must leave a working session. */
        assert_true(recovered >= 1);
        assert_true(failed >= 1);
        repmlp_model_destroy(m);
        context_done(ctx);
    }
}
#endif

static const rm_gemm_kernel_variant *variant_named(const char *name) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++)
        if (strcmp(rm_shader(rm_gemm_kernel_variants[i].shader)->name, name) == 0)
            return &rm_gemm_kernel_variants[i];
    fail_msg("no kernel variant %s", name);
    return NULL;
}

/* Pruning across a session's shapes: a form that took 1.5x the best time or more on 3 shapes
 * (timed or slow) and never came within 1.25x is not tried again; its conv twin shares the
 * verdict; candidates that were not measured say nothing. */
static void pruning_from_earlier_shapes(void **state) {
    (void)state;
    rm_tune_evidence ev[RM_SHADER_COUNT];
    memset(ev, 0, sizeof ev);
    const repmlp_tuning_candidate shape[] = {
        {"gemm_texel_m8", 1.0, REPMLP_CANDIDATE_TIMED},
        {"gemm_m8", 2.0, REPMLP_CANDIDATE_TIMED},          /* lost */
        {"gemm_coalesced_m8", 1.6, REPMLP_CANDIDATE_SLOW}, /* lost (slow) */
        {"gemm_narrow_m8", 1.4, REPMLP_CANDIDATE_TIMED},   /* neither */
        {"gemm_shared_m8", -1, REPMLP_CANDIDATE_DENIED},   /* says nothing */
        {"gemm_shared_m4", -1, REPMLP_CANDIDATE_DOES_NOT_FIT},
    };
    const uint32_t count = sizeof shape / sizeof shape[0];
    for (int i = 0; i < 2; i++) rm_tune_learn(shape, count, ev);
    assert_false(rm_tune_pruned(ev, variant_named("gemm_m8"))); /* two losses: not yet */
    rm_tune_learn(shape, count, ev);
    assert_true(rm_tune_pruned(ev, variant_named("gemm_m8")));
    assert_true(rm_tune_pruned(ev, variant_named("conv_m8"))); /* the same form */
    assert_true(rm_tune_pruned(ev, variant_named("gemm_coalesced_m8")));
    assert_false(rm_tune_pruned(ev, variant_named("gemm_m4"))); /* another row tile */
    assert_false(rm_tune_pruned(ev, variant_named("gemm_texel_m8")));
    assert_false(rm_tune_pruned(ev, variant_named("gemm_narrow_m8")));
    assert_false(rm_tune_pruned(ev, variant_named("gemm_shared_m8")));
    assert_false(rm_tune_pruned(ev, variant_named("gemm_shared_m4")));
    /* One shape where it came close keeps a form in the running, however often it lost. */
    const repmlp_tuning_candidate close[] = {{"gemm_texel_m8", 1.0, REPMLP_CANDIDATE_TIMED},
                                             {"conv_m8", 1.2, REPMLP_CANDIDATE_TIMED}};
    rm_tune_learn(close, 2, ev);
    assert_false(rm_tune_pruned(ev, variant_named("gemm_m8")));
    /* A shape with no timed candidate (all failed or pruned) teaches nothing. */
    rm_tune_evidence before[RM_SHADER_COUNT];
    memcpy(before, ev, sizeof ev);
    const repmlp_tuning_candidate none[] = {{"gemm_m4", 5.0, REPMLP_CANDIDATE_SLOW},
                                            {"gemm_m1", -1, REPMLP_CANDIDATE_PRUNED}};
    rm_tune_learn(none, 2, ev);
    assert_memory_equal(before, ev, sizeof ev);
}

/* Without timestamp queries (the phone profile has none) candidates and the confirmation are
 * timed on the host, one submission per run. */
static void host_timing(void **state) {
    (void)state;
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    ctx->caps.timestamps = false;
    tuned t;
    tuned_open(ctx, ts_fx.batch, &t);
    print_report(&t);
    assert_true(t.count >= 1);
    for (uint32_t i = 0; i < t.count; i++) {
        assert_int_equal(t.nodes[i].timestamps, 0);
        assert_int_equal(t.nodes[i].source, REPMLP_TUNING_MEASURED);
        assert_true(t.nodes[i].candidate_count >= 2);
        assert_true(t.nodes[i].candidates[0].ms > 0);
    }
    assert_true(ts_max_rel_error(t.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    tuned_close(&t);
    context_done(ctx);
}

#ifdef REPMLP_FAULT_INJECTION
/* A candidate that only looks fast when timed on its own (a burst of load on the built-in
 * kernel's runs would do the same; the hook also makes it really slow) wins the first round, loses
 * the confirmation run alternately with the built-in kernel, and the built-in kernel stays. */
static void flattered_candidate_unconfirmed(void **state) {
    (void)state;
    if (!victim[0]) ts_skip("no candidate besides the built-in kernels was checked");
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    rm_tune_fault_flatter(victim);
    tuned_open(ctx, ts_fx.batch, &t);
    rm_tune_fault_flatter(NULL);
    print_report(&t);
    assert_true(victim_outcomes(&t, REPMLP_CANDIDATE_UNCONFIRMED) >= 1);
    for (uint32_t i = 0; i < t.count; i++)
        if (find_candidate(&t.nodes[i], victim) && strcmp(victim, t.nodes[i].builtin) != 0)
            assert_string_equal(t.nodes[i].winner, t.nodes[i].builtin);
    assert_true(ts_max_rel_error(t.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    tuned_close(&t);
    context_done(ctx);
}
#endif

/* Whether any op of s runs a kernel that multiplies in fp16, and how many. */
static uint32_t fp16_kernels(const repmlp_session *s) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < repmlp_session_op_count(s); i++) {
        repmlp_op_info info;
        assert_int_equal(repmlp_session_op_info(s, i, &info), REPMLP_OK);
        for (uint32_t v = 0; v < rm_gemm_kernel_variant_count; v++)
            if (strcmp(rm_shader(rm_gemm_kernel_variants[v].shader)->name, info.kernel) == 0)
                n += rm_shader_f16_math(rm_gemm_kernel_variants[v].shader);
    }
    return n;
}

/* The context's tuning data as a tuning file's bytes (free them): *size bytes, *entries
 * measured shapes after the header (at least one). */
static unsigned char *saved_tuning(repmlp_context *ctx, size_t *size, size_t *entries) {
    size_t n = 0;
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, NULL, &n),
                     REPMLP_OK);
    unsigned char *data = malloc(n);
    assert_non_null(data);
    assert_int_equal(repmlp_context_save_cache_memory(ctx, REPMLP_CACHE_TUNING, data, &n),
                     REPMLP_OK);
    *size = n;
    *entries = (n - sizeof(rm_device_file_header)) / sizeof(rm_tune_entry);
    assert_true(*entries >= 1);
    return data;
}

/* Tuning data naming an fp16-arithmetic kernel for every shape of the fixture: each measured
 * entry twice, as a session of fp32 arithmetic (a file that says so, by mistake or malice) and
 * as one of fp16 arithmetic would have it: the bytes of a tuning file (free them). */
static unsigned char *fp16_tuning_data(size_t *size) {
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    tuned_open(ctx, ts_fx.batch, &t);
    size_t n, entries, head = sizeof(rm_device_file_header);
    unsigned char *measured = saved_tuning(ctx, &n, &entries);
    *size = head + 2 * entries * sizeof(rm_tune_entry);
    unsigned char *data = calloc(1, *size);
    rm_tune_entry *out = (rm_tune_entry *)(data + head);
    for (size_t i = 0; i < entries; i++) {
        rm_tune_entry e;
        memcpy(&e, measured + head + i * sizeof e, sizeof e);
        assert_int_equal(e.key.f16_math, 0);
        assert_int_equal(e.key.w16, 0);
        memset(e.winner, 0, sizeof e.winner);
        snprintf(e.winner, sizeof e.winner, "%s",
                 e.key.kernel == RM_GEMM_KERNEL_GEMM ? "gemm_shared_f16_m4" : "conv_shared_f16_m4");
        out[2 * i] = e;
        e.key.f16_math = 1;
        out[2 * i + 1] = e;
    }
    rm_device_file_header h;
    rm_device_file_header_make(ctx, "RMVKTU01", out, *size - head, &h);
    memcpy(data, &h, sizeof h);
    free(measured);
    tuned_close(&t);
    context_done(ctx);
    return data;
}

/* Tuning data saved by a build that had a kernel this one removed (bench/KERNELS.md): it loads,
 * the entry naming the removed kernel is skipped with a warning naming it, its shape keeps the
 * built-in choice, and the other entries are used. */
static void removed_kernel_in_tuning_data(void **state) {
    (void)state;
    const char *removed = "conv_narrow_m8";
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++)
        assert_string_not_equal(rm_shader(rm_gemm_kernel_variants[i].shader)->name, removed);
    repmlp_context *ctx = tune_context(REPMLP_CONTEXT_TUNE);
    tuned t;
    tuned_open(ctx, ts_fx.batch, &t);
    size_t n, entries, head = sizeof(rm_device_file_header);
    unsigned char *data = saved_tuning(ctx, &n, &entries);
    rm_tune_entry e;
    memcpy(&e, data + head, sizeof e);
    memset(e.winner, 0, sizeof e.winner);
    snprintf(e.winner, sizeof e.winner, "%s", removed);
    memcpy(data + head, &e, sizeof e);
    rm_device_file_header h;
    rm_device_file_header_make(ctx, "RMVKTU01", data + head, n - head, &h);
    memcpy(data, &h, sizeof h);
    tuned_close(&t);
    context_done(ctx);

    ctx = tune_context(0);
    log_seen[0] = 0;
    assert_int_equal(repmlp_context_load_cache_memory(ctx, REPMLP_CACHE_TUNING, data, n),
                     REPMLP_OK);
    char want[160];
    snprintf(want, sizeof want, "does not have: 1 (first %s)", removed);
    if (!strstr(log_seen, want)) fail_msg("no log line with '%s' in:\n%s", want, log_seen);
    snprintf(want, sizeof want, "loaded: %u shapes", (unsigned)(entries - 1));
    if (!strstr(log_seen, want)) fail_msg("no log line with '%s' in:\n%s", want, log_seen);
    tuned_open(ctx, ts_fx.batch, &t);
    for (uint32_t i = 0; i < t.count; i++) assert_string_not_equal(t.nodes[i].winner, removed);
    assert_true(ts_max_rel_error(t.y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    tuned_close(&t);
    context_done(ctx);
    free(data);
}

/* fp16 arithmetic is the session's explicit choice: with tuning data naming fp16-arithmetic
 * kernels for every shape, a default session (and an fp32 one from a description) runs none of
 * them; a session that chose fp16 arithmetic runs them and reports their error against fp32
 * arithmetic on its check input, small on the fixture's input and large where the input
 * leaves fp16's range. */
static void fp16_arithmetic_only_when_chosen(void **state) {
    (void)state;
    size_t size;
    unsigned char *data = fp16_tuning_data(&size);
    repmlp_context *ctx = tune_context(0);
    log_seen[0] = 0;
    assert_int_equal(repmlp_context_load_cache_memory(ctx, REPMLP_CACHE_TUNING, data, size),
                     REPMLP_OK);
    assert_non_null(strstr(log_seen, "loaded"));
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    float *y = malloc(ts_fx.output_count * sizeof *y);

    /* The default, twice: repmlp_session_create and a description left at fp32. */
    repmlp_session_desc desc = {.size = sizeof desc, .batch = ts_fx.batch};
    for (int described = 0; described < 2; described++) {
        repmlp_session *s;
        assert_int_equal(described ? repmlp_session_create_desc(m, &desc, &s)
                                   : repmlp_session_create(m, ts_fx.batch, &s),
                         REPMLP_OK);
        assert_int_equal(fp16_kernels(s), 0);
        repmlp_precision_info info;
        assert_int_equal(repmlp_session_precision_info(s, &info), REPMLP_OK);
        assert_int_equal(info.precision, REPMLP_PRECISION_FP32);
        assert_int_equal(info.fp16_ops, 0);
        assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                         REPMLP_OK);
        assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
        repmlp_session_destroy(s);
    }

    /* Bad descriptions. */
    repmlp_session *bad = NULL;
    repmlp_session_desc wrong = desc;
    wrong.size = 4;
    assert_int_equal(repmlp_session_create_desc(m, &wrong, &bad), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "size"));
    wrong = desc;
    wrong.precision = (repmlp_precision)7;
    assert_int_equal(repmlp_session_create_desc(m, &wrong, &bad), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "precision 7"));
    wrong.precision = REPMLP_PRECISION_FP16_ARITHMETIC;
    assert_int_equal(repmlp_session_create_desc(m, &wrong, &bad), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "check_input"));
    assert_null(bad);

    /* The explicit choice, on the fixture's input and on it scaled past fp16's range. Without
     * shaderFloat16 the named kernels cannot run: the session keeps fp32 kernels and says so. */
    bool f16 = ctx->caps.shader_float16;
    if (!f16) print_message("'%s' lacks shaderFloat16: no fp16 kernel can run\n", ctx->info.name);
    float *big = malloc(ts_fx.input_count * sizeof *big);
    for (size_t i = 0; i < ts_fx.input_count; i++) big[i] = ts_fx.input[i] * 1e6f;
    for (int scaled = 0; scaled < 2; scaled++) {
        repmlp_session_desc fp16 = desc;
        fp16.precision = REPMLP_PRECISION_FP16_ARITHMETIC;
        fp16.check_input = scaled ? big : ts_fx.input;
        fp16.check_input_count = ts_fx.input_count;
        repmlp_session *s;
        if (repmlp_session_create_desc(m, &fp16, &s) != REPMLP_OK)
            fail_msg("fp16 session: %s", repmlp_last_error());
        repmlp_precision_info info;
        assert_int_equal(repmlp_session_precision_info(s, &info), REPMLP_OK);
        print_message("fp16 arithmetic, %s input: %u ops, error %.3g (relative %.3g)\n",
                      scaled ? "scaled 1e6" : "the fixture's", info.fp16_ops, info.max_abs_error,
                      info.max_rel_error);
        assert_int_equal(info.precision, REPMLP_PRECISION_FP16_ARITHMETIC);
        assert_int_equal(info.fp16_ops, fp16_kernels(s));
        if (!f16) {
            assert_int_equal(info.fp16_ops, 0);
            assert_true(info.max_abs_error == 0 && info.max_rel_error == 0);
        } else if (scaled) {
            assert_true(info.fp16_ops >= 1);
            assert_true(info.max_rel_error > 1e-2); /* Inf where fp16 overflowed */
        } else {
            assert_true(info.fp16_ops >= 1);
            assert_true(info.max_rel_error > 0 && info.max_rel_error < 1e-2);
            assert_int_equal(
                ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                REPMLP_OK);
            assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < 1e-2);
        }
        repmlp_session_destroy(s);
    }
    free(big);
    /* A check input of another size is refused, naming it. */
    repmlp_session_desc short_input = desc;
    short_input.precision = REPMLP_PRECISION_FP16_ARITHMETIC;
    short_input.check_input = ts_fx.input;
    short_input.check_input_count = ts_fx.input_count - 1;
    assert_int_equal(repmlp_session_create_desc(m, &short_input, &bad),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "check_input_count"));
    assert_null(bad);
    free(y);
    free(data);
    repmlp_model_destroy(m);
    context_done(ctx);
}

static int group_open(void **state) {
    /* One operand path for every context here, so the built-in choices agree between them. */
    ts_share_operand_path();
    snprintf(pipelines, sizeof pipelines, "%s", scratch("pipelines"));
    return ts_group_fixture_open(state);
}

static int group_close(void **state) {
    remove(pipelines);
    return ts_group_fixture_close(state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forced_rows),
        cmocka_unit_test(fp16_arithmetic_only_when_chosen),
        cmocka_unit_test(removed_kernel_in_tuning_data),
        cmocka_unit_test(tuned_equals_untuned),
        cmocka_unit_test(pruning_from_earlier_shapes),
        cmocka_unit_test(host_timing),
#ifdef REPMLP_FAULT_INJECTION
        cmocka_unit_test(wrong_candidate_denied),
        cmocka_unit_test(flattered_candidate_unconfirmed),
#endif
        cmocka_unit_test(bad_files_ignored),
#ifdef REPMLP_FAULT_INJECTION
        cmocka_unit_test(faults_while_tuning),
#endif
    };
    return ts_exit_code(ts_run_group(tests, group_open, group_close));
}
