/* 8-bit weights end to end on this test's driver: fixtures fused with `repmlp-fuse --weights
 * q8`, run by `repmlp-run --expect` against PyTorch's float64 output at the q8 tolerance of
 * their architecture, and the same output against the float64 reference run on the weights the
 * q8 file holds (dequantized here), at the fp32 tolerance: the format's error is the only
 * error, the loader adds none. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "io/safetensors.h"
#include "model/fused_format.h"
#include "model/weights_q8.h"
#include "net_ref.h"
#include "repmlp.h"

#define FIXTURES REPMLP_SOURCE_DIR "/tests/fixtures"

/* Output error of q8 against float64, each tolerance ~10x the worst of its architecture's
 * fixtures measured by bench/q8_accuracy.sh (reference forward on the q8 weights, 2026-12-08):
 * block_v1 7.1e-3, block_v2 6.5e-3, resnet 1.1e-2, repmlpnet 2.1e-2 (fp16 weights: 8.0e-4, fp32
 * 5.6e-8; docs/FUSED_FORMAT.md). `exact` is test_models_e2e's fp32 tolerance. */
typedef struct q8_case {
    const char *set, *name, *arch;
    double tolerance, exact;
} q8_case;
static const q8_case cases[] = {
    {"block_v1", "gp_g4_k135", "RepMLP", 7e-2, 3e-6},
    {"block_v1", "nogp_c8o12_g2_k3", "RepMLP", 7e-2, 3e-6},
    {"block_v2", "c12_s4_h2w3_k135_r4", "RepMLPBlock", 7e-2, 2e-6},
    {"resnet", "light_w16_img64_h2_g2_k135", "RepMLPResNet", 1e-1, 3e-6},
    {"resnet", "bottleneck_w16_32x64_h2w4_g4_r24_red2", "RepMLPResNet", 1e-1, 3e-6},
    {"repmlpnet", "p2_c8_16_32_s2_4_32", "RepMLPNet", 2e-1, 5e-6},
};

static char scratch[1024];

static void ok(repmlp_status s) {
    if (s != REPMLP_OK) fail_msg("%s", repmlp_last_error());
}

/* The q8 file with its weights dequantized, as an F32 fused file the reference reads. */
static void dequantized_copy(const char *q8, const char *out) {
    rm_safetensors *st;
    rm_st_writer *w;
    ok(rm_safetensors_open(q8, &st));
    ok(rm_st_writer_create(&w));
    size_t weights = 0;
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        if (t->dtype == RM_DTYPE_F16) continue; /* scales, read with their weight */
        if (t->dtype != RM_DTYPE_I8) {
            ok(rm_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data));
            continue;
        }
        char name[512];
        TS_FORMAT(name, "%s%s", t->name, RM_Q8_SCALE_SUFFIX);
        const rm_st_tensor *sc = rm_safetensors_find(st, name);
        assert_non_null(sc);
        float *v = malloc(t->count * sizeof *v);
        uint64_t rows = (uint64_t)t->shape[0];
        ok(rm_q8_dequantize(t->data, sc->data, rows, t->count / rows, RM_Q8_BLOCK, q8, t->name, v));
        ok(rm_st_writer_add(w, t->name, RM_DTYPE_F32, t->ndim, t->shape, v));
        free(v);
        weights++;
    }
    assert_true(weights > 0);
    const char *arch, *config;
    ok(rm_fused_read_metadata(st, &arch, &config));
    ok(rm_fused_set_metadata(w, arch, config));
    ok(rm_st_writer_write(w, out));
    rm_st_writer_destroy(w);
    rm_safetensors_close(st);
}

static void run_case(const q8_case *c) {
    char dir[2048], fused[2048], deq[2048], out[2048], cmd[16384], log[8192];
    TS_FORMAT(dir, "%s/%s/%s", FIXTURES, c->set, c->name);
    TS_FORMAT(fused, "%s/%s.q8.safetensors", scratch, c->name);
    TS_FORMAT(deq, "%s/%s.deq.safetensors", scratch, c->name);
    TS_FORMAT(out, "%s/%s.out.safetensors", scratch, c->name);
    TS_FORMAT(cmd, "%s --arch %s --config @%s/config.json --weights q8 %s/train.safetensors %s",
              ts_tool("repmlp-fuse"), c->arch, dir, dir, fused);
    int rc = ts_system(cmd, log, sizeof log);
    if (rc != 0) fail_msg("repmlp-fuse exited %d:\n%s", rc, log);
    const char *device = ts_test_device();
    TS_FORMAT(cmd,
              "%s %s --input %s/input.safetensors --output %s --expect %s/expected.safetensors "
              "--tolerance %g %s%s%s",
              ts_tool("repmlp-run"), fused, dir, out, dir, c->tolerance,
              ts_context_flags() ? "--validation " : "", device ? "--device " : "",
              device ? device : "");
    rc = ts_system(cmd, log, sizeof log);
    if (rc != 0 || !strstr(log, "PASS")) fail_msg("repmlp-run exited %d:\n%s", rc, log);
    const char *check = strstr(log, "check:");
    print_message("%s/%s vs PyTorch: %.*s\n", c->set, c->name,
                  check ? (int)strcspn(check, "\n") : 0, check ? check : "");

    /* the device output against the float64 reference on the q8 file's own weights */
    dequantized_copy(fused, deq);
    rm_safetensors *in, *got;
    char path[2048];
    TS_FORMAT(path, "%s/input.safetensors", dir);
    ok(rm_safetensors_open(path, &in));
    ok(rm_safetensors_open(out, &got));
    const rm_st_tensor *xt = rm_safetensors_find(in, "input"),
                       *yt = rm_safetensors_find(got, "output");
    assert_non_null(xt);
    assert_non_null(yt);
    float *x = malloc(xt->count * sizeof *x), *y = malloc(yt->count * sizeof *y);
    assert_true(rm_st_tensor_to_f32(xt, x));
    assert_true(rm_st_tensor_to_f32(yt, y));
    double *want = NULL;
    int out_ndim;
    int64_t out_shape[4];
    ok(ref_fused_forward(deq, xt->shape, x, &want, &out_ndim, out_shape));
    ref_comparison cmp = ref_compare_f32(y, want, yt->count);
    print_message("%s/%s vs the reference on its q8 weights: %.3g\n", c->set, c->name, cmp.rel);
    if (!ref_comparison_ok(&cmp, c->exact))
        fail_msg("%s/%s: %.3g from the reference on the q8 weights (tolerance %g)", c->set, c->name,
                 cmp.rel, c->exact);
    repmlp_free(want);
    free(x);
    free(y);
    rm_safetensors_close(in);
    rm_safetensors_close(got);
}

static void q8_fixtures(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* The predictions field of a repmlp-run --predictions file (or PyTorch's), as cJSON. */
static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    if (!j) fail_msg("%s: not JSON", path);
    return j;
}

/* The trained digits model fused with --weights q8 on the 450 test images: at most one
 * prediction differs from the float64 PyTorch model's and the accuracy stays within 0.25
 * points (one image). Measured: none differs, 443/450 as PyTorch, on both CPU drivers. */
static void q8_digits(void **state) {
    (void)state;
    char fused[2048], preds[2048], cmd[16384], log[8192];
    const char *ex = REPMLP_SOURCE_DIR "/examples/digits";
    TS_FORMAT(fused, "%s/digits.q8.safetensors", scratch);
    TS_FORMAT(preds, "%s/digits.q8.json", scratch);
    TS_FORMAT(cmd,
              "%s --arch RepMLPNet --config @%s/config.json --weights q8 %s/train.safetensors %s",
              ts_tool("repmlp-fuse"), ex, ex, fused);
    int rc = ts_system(cmd, log, sizeof log);
    if (rc != 0) fail_msg("repmlp-fuse exited %d:\n%s", rc, log);
    const char *device = ts_test_device();
    TS_FORMAT(
        cmd, "%s %s --input %s/test.safetensors --eval %s/test.safetensors --predictions %s %s%s%s",
        ts_tool("repmlp-run"), fused, ex, ex, preds, ts_context_flags() ? "--validation " : "",
        device ? "--device " : "", device ? device : "");
    rc = ts_system(cmd, log, sizeof log);
    if (rc != 0) fail_msg("repmlp-run exited %d:\n%s", rc, log);
    char want_path[2048];
    TS_FORMAT(want_path, "%s/pytorch_predictions.json", ex);
    cJSON *got = read_json(preds), *want = read_json(want_path);
    const cJSON *gp = cJSON_GetObjectItem(got, "predictions"),
                *wp = cJSON_GetObjectItem(want, "predictions");
    int n = cJSON_GetArraySize(wp), differ = 0;
    assert_int_equal(cJSON_GetArraySize(gp), n);
    assert_int_equal(n, 450);
    for (int i = 0; i < n; i++)
        differ += cJSON_GetArrayItem(gp, i)->valueint != cJSON_GetArrayItem(wp, i)->valueint;
    int gc = cJSON_GetObjectItem(got, "correct")->valueint;
    int wc = cJSON_GetObjectItem(want, "correct")->valueint;
    print_message("digits q8: %d/%d correct (PyTorch %d), %d predictions differ\n", gc, n, wc,
                  differ);
    assert_true(differ <= 1);
    assert_true(abs(gc - wc) <= 1);
    cJSON_Delete(got);
    cJSON_Delete(want);
}

/* --weights takes f32 or q8; anything else is a usage error (exit 2) naming the value. */
static void weights_option(void **state) {
    (void)state;
    char cmd[4096], log[4096];
    TS_FORMAT(cmd, "%s --preset RepMLPNet-T224 --weights q4 in.safetensors out.safetensors",
              ts_tool("repmlp-fuse"));
    int rc = ts_system(cmd, log, sizeof log);
    if (rc != 2 || !strstr(log, "--weights takes f32 or q8, not 'q4'"))
        fail_msg("repmlp-fuse exited %d:\n%s", rc, log);
    TS_FORMAT(cmd, "%s --help", ts_tool("repmlp-fuse"));
    rc = ts_system(cmd, log, sizeof log);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(log, "--weights f32|q8"));
}

static int setup(void **state) {
    (void)state;
    const char *driver = ts_test_device();
    TS_FORMAT(scratch, "%s/tmp-q8-e2e-%s", REPMLP_BINARY_DIR, driver ? driver : "default");
    mkdir(scratch, 0755);
    ts_share_operand_path();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weights_option),
        cmocka_unit_test(q8_fixtures),
        cmocka_unit_test(q8_digits),
    };
    return ts_exit_code(ts_run_group(tests, setup, NULL));
}
