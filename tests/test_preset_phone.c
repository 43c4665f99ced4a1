/* A full-size preset under a device profile (scripts/check-phone-preset.sh makes the weights and
 * runs this; too slow for the default ctest run): the fused model must load into several
 * weight buffers (more weights than one allocation) and match PyTorch's float64 output; the ops
 * whose weight outgrows one binding, run split, are listed (no preset's tensor exceeds 2^27
 * bytes: test_models_e2e exercises the split on every fixture with shrunk limits).
 *   test_preset_phone FUSED INPUT.safetensors EXPECTED.safetensors TOLERANCE
 * with REPMLP_DEVICE_PROFILE set (the script sets phone) and the ts_context environment. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/context.h"
#include "exec/session.h"
#include "io/safetensors.h"

static char **args;

static float *read_f32(const char *path, const char *name, size_t *count) {
    rm_safetensors *st;
    if (rm_safetensors_open(path, &st) != REPMLP_OK) fail_msg("%s", repmlp_last_error());
    const rm_st_tensor *t = rm_safetensors_find(st, name);
    if (!t) fail_msg("%s: no tensor %s", path, name);
    double *d = malloc(t->count * sizeof *d);
    float *f = malloc(t->count * sizeof *f);
    assert_true(rm_st_tensor_to_f64(t, d));
    for (size_t i = 0; i < t->count; i++) f[i] = (float)d[i];
    *count = t->count;
    free(d);
    rm_safetensors_close(st);
    return f;
}

static void preset(void **state) {
    (void)state;
    const char *profile = getenv("REPMLP_DEVICE_PROFILE");
    if (!profile || !*profile) fail_msg("REPMLP_DEVICE_PROFILE is not set");
    repmlp_context *ctx = ts_context();
    assert_string_equal(ctx->caps.profile, profile);
    double t0 = ts_now_ms();
    repmlp_model *m;
    if (repmlp_model_load(ctx, args[1], &m) != REPMLP_OK) fail_msg("%s", repmlp_last_error());
    double t1 = ts_now_ms();
    size_t nx, ny;
    float *x = read_f32(args[2], "input", &nx);
    float *want_f = read_f32(args[3], "output", &ny);
    double *want = malloc(ny * sizeof *want);
    for (size_t i = 0; i < ny; i++) want[i] = want_f[i];
    free(want_f);
    repmlp_shape in;
    repmlp_model_input_shape(m, &in);
    uint64_t per = 1;
    for (uint32_t d = 1; d < in.ndim; d++) per *= (uint64_t)in.dims[d];
    uint32_t batch = (uint32_t)(nx / per);
    repmlp_session *s;
    if (repmlp_session_create(m, batch, &s) != REPMLP_OK) fail_msg("%s", repmlp_last_error());
    int split = 0, parts = 0;
    for (int i = 0; i < s->graph.node_count; i++)
        if (s->dispatches[i].part_count > 1u) {
            split++;
            parts += (int)s->dispatches[i].part_count;
            print_message("  split: %s into %u dispatches\n", s->graph.nodes[i].label,
                          s->dispatches[i].part_count);
        }
    float *y = malloc(ny * sizeof *y);
    double t2 = ts_now_ms();
    assert_int_equal(ts_session_run(s, x, nx, y, ny), REPMLP_OK);
    double t3 = ts_now_ms();
    double err = ts_max_rel_error(y, want, ny);
    print_message(
        "%s, profile %s, batch %u: %u weight buffers (%.1f MiB, largest allocation "
        "%llu B), %d ops split into %d dispatches; load %.0f ms, run %.0f ms; max rel "
        "error %.3g\n",
        args[1], profile, batch, m->weight_buffer_count, (double)m->weight_bytes / 1048576.0,
        (unsigned long long)ctx->caps.max_allocation_size, split, parts, t1 - t0, t3 - t2, err);
    assert_true(m->weight_buffer_count >= 2);
    assert_true(err <= atof(args[4]));
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    free(x), free(y), free(want);
    ts_context_done(ctx);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: test_preset_phone FUSED INPUT EXPECTED TOLERANCE\n");
        return 2;
    }
    args = argv;
    const struct CMUnitTest tests[] = {cmocka_unit_test(preset)};
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
