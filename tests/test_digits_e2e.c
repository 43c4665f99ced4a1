/* The trained digits example (examples/digits, made by tools/digits/train_digits.py), through
 * the real tools on this test's driver: repmlp-fuse with the preprocessing metadata, then
 * repmlp-run --eval on the held-out test set, whose accuracy must equal PyTorch's recorded
 * float64 accuracy with every per-image prediction the same, and repmlp-run --image on the
 * shipped PNGs, whose top class must be the label in the file name (with PyTorch's
 * probability for it). Then the runner's one-line errors for the new options. */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "image_decode.h"
#include "io/safetensors.h"
#include "ops_ref.h"

#define DIGITS REPMLP_SOURCE_DIR "/examples/digits"

static char scratch[1200], fused[1200];

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static cJSON *read_json(const char *path) {
    char *text = read_text(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fail_msg("%s: not JSON", path);
    return j;
}

/* The repmlp-run options every run of this test takes: validation, this driver's device. */
static const char *run_flags(void) {
    static char flags[256];
    const char *device = ts_test_device();
    TS_FORMAT(flags, "%s%s%s", ts_context_flags() ? "--validation " : "", device ? "--device " : "",
              device ? device : "");
    return flags;
}

static int setup(void **state) {
    (void)state;
    ts_fuse_digits("digits-e2e", scratch, fused, sizeof scratch);
    ts_share_operand_path(); /* one measurement for every repmlp-run */
    return 0;
}

/* The fused file carries the preprocessing exactly as the training script recorded it. */
static void fused_metadata(void **state) {
    (void)state;
    rm_safetensors *st;
    assert_int_equal(rm_safetensors_open(fused, &st), REPMLP_OK);
    char *want = read_text(DIGITS "/preprocess.json");
    size_t n = strlen(want);
    while (n && (want[n - 1] == '\n' || want[n - 1] == ' ')) want[--n] = '\0';
    const char *got = rm_safetensors_metadata(st, "preprocess");
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_string_equal(rm_safetensors_metadata(st, "arch"), "RepMLPNet");
    free(want);
    rm_safetensors_close(st);
}

/* Runs --eval at one batch size; the accuracy line and every prediction equal PyTorch's. */
static void eval_at(int batch) {
    char cmd[4096], out[16384], pred_path[1200];
    TS_FORMAT(pred_path, "%s/predictions-b%d.json", scratch, batch);
    remove(pred_path);
    TS_FORMAT(cmd,
              "%s %s --input " DIGITS "/test.safetensors --eval " DIGITS "/test.safetensors "
              "--batch %d --predictions %s --top 3 --show 2 %s",
              ts_tool("repmlp-run"), fused, batch, pred_path, run_flags());
    double t0 = ts_now_ms();
    int rc = ts_system(cmd, out, sizeof out);
    if (rc != 0) fail_msg("repmlp-run exited %d:\n%s", rc, out);
    print_message("batch %d (%.0f ms):\n%s", batch, ts_now_ms() - t0, out);

    cJSON *ref = read_json(DIGITS "/pytorch_predictions.json");
    cJSON *got = read_json(pred_path);
    int count = cJSON_GetObjectItem(ref, "count")->valueint;
    int correct = cJSON_GetObjectItem(ref, "correct")->valueint;
    double accuracy = cJSON_GetObjectItem(ref, "accuracy")->valuedouble;
    assert_true(count >= 100);
    assert_true(accuracy >= 0.97);
    char line[128];
    TS_FORMAT(line, "accuracy: %.4f (%d/%d)\n", accuracy, correct, count);
    if (!strstr(out, line)) fail_msg("expected \"%s\" in:\n%s", line, out);
    if (!strstr(out, "throughput: ")) fail_msg("no throughput line:\n%s", out);
    if (!strstr(out, "#1 (label ")) fail_msg("no --top lines:\n%s", out);
    assert_int_equal(cJSON_GetObjectItem(got, "correct")->valueint, correct);
    assert_int_equal(cJSON_GetObjectItem(got, "count")->valueint, count);
    assert_true(cJSON_GetObjectItem(got, "accuracy")->valuedouble == accuracy);
    const cJSON *want_p = cJSON_GetObjectItem(ref, "predictions");
    const cJSON *got_p = cJSON_GetObjectItem(got, "predictions");
    assert_int_equal(cJSON_GetArraySize(want_p), count);
    assert_int_equal(cJSON_GetArraySize(got_p), count);
    for (int i = 0; i < count; i++) {
        int w = cJSON_GetArrayItem(want_p, i)->valueint, g = cJSON_GetArrayItem(got_p, i)->valueint;
        if (w != g) fail_msg("test image %d: predicted %d, PyTorch %d", i, g, w);
    }
    cJSON_Delete(ref);
    cJSON_Delete(got);
}

/* Batches of 64 with a smaller last one (450 = 7 * 64 + 2), and one batch of everything. */
static void eval_matches_pytorch(void **state) {
    (void)state;
    eval_at(64);
    eval_at(450);
}

/* The same under both device profiles (REPMLP_DEVICE_PROFILE, inherited by repmlp-run): the
 * batch-64 GEMMs exceed the profiles' texel limit, so they take the 4-storage-buffer kernels. */
static void eval_under_profiles(void **state) {
    (void)state;
    static const char *const profiles[] = {"vulkan-min", "phone"};
    for (int p = 0; p < 2; p++) {
        setenv("REPMLP_DEVICE_PROFILE", profiles[p], 1);
        print_message("profile %s: ", profiles[p]);
        eval_at(64);
        unsetenv("REPMLP_DEVICE_PROFILE");
    }
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* The shipped digit_<label>_<index>.png files (at least 3), sorted. */
static int list_pngs(char names[16][256]) {
    DIR *d = opendir(DIGITS);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 16) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "digit_", 6) == 0 && len > 4 &&
            strcmp(e->d_name + len - 4, ".png") == 0)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    assert_true(n >= 3);
    return n;
}

/* Every shipped digit_<label>_<index>.png is classified as <label>, with PyTorch's probability
 * (the float64 model on the same PNG) to 2e-4 (printed to 4 decimals): the runner's decoding and
 * preprocessing (scale, normalise, bilinear resize) are the training script's. */
static void images_match_labels(void **state) {
    (void)state;
    char names[16][256];
    int n = list_pngs(names);

    char cmd[8192], out[8192], part[1024];
    TS_FORMAT(cmd, "%s %s --top 3 %s", ts_tool("repmlp-run"), fused, run_flags());
    for (int i = 0; i < n; i++) {
        TS_FORMAT(part, " --image " DIGITS "/%s", names[i]);
        if (strlen(cmd) + strlen(part) >= sizeof cmd) fail_msg("command too long");
        strcat(cmd, part);
    }
    int rc = ts_system(cmd, out, sizeof out);
    if (rc != 0) fail_msg("repmlp-run exited %d:\n%s", rc, out);
    print_message("%s", out);

    cJSON *ref = read_json(DIGITS "/pytorch_predictions.json");
    const cJSON *images = cJSON_GetObjectItem(ref, "images");
    for (int i = 0; i < n; i++) {
        int label = atoi(names[i] + 6);
        char key[1100];
        TS_FORMAT(key, "image " DIGITS "/%s: class ", names[i]);
        const char *at = strstr(out, key);
        if (!at) fail_msg("no line for %s:\n%s", names[i], out);
        int cls = -1;
        double p = -1;
        assert_int_equal(sscanf(at + strlen(key), "%d p=%lf", &cls, &p), 2);
        if (cls != label) fail_msg("%s: predicted %d, label %d", names[i], cls, label);
        const cJSON *img = cJSON_GetObjectItem(images, names[i]);
        if (!img) fail_msg("pytorch_predictions.json has no entry for %s", names[i]);
        assert_int_equal(cJSON_GetObjectItem(img, "label")->valueint, label);
        assert_int_equal(cJSON_GetObjectItem(img, "predicted")->valueint, label);
        double want =
            cJSON_GetArrayItem(cJSON_GetObjectItem(img, "probabilities"), label)->valuedouble;
        /* p is printed to 4 decimals: rounding alone is 5e-5 */
        if (!(fabs(p - want) <= 2e-4)) fail_msg("%s: p=%.4f, PyTorch %.4f", names[i], p, want);
    }
    cJSON_Delete(ref);
}

/* The text after "image <path>: " in the runner's output. */
static void image_line(const char *out, const char *path, char *line, size_t size) {
    char key[1200];
    TS_FORMAT(key, "image %s: ", path);
    const char *at = strstr(out, key);
    if (!at) fail_msg("no line for %s:\n%s", path, out);
    at += strlen(key);
    size_t n = strcspn(at, "\n");
    if (n >= size) n = size - 1;
    memcpy(line, at, n);
    line[n] = '\0';
}

/* A digit enlarged 3x vertically and 5x horizontally, as an RGB PPM: the runner's area
 * averaging back to 8x8 and the RGB -> gray conversion (R = G = B) reproduce the PNG exactly,
 * so the printed classes and probabilities are identical. */
static void image_other_size_and_format(void **state) {
    (void)state;
    char names[16][256], png[1200], ppm[1200], err[1400];
    list_pngs(names);
    TS_FORMAT(png, DIGITS "/%s", names[0]);
    unsigned char *px;
    int w, h;
    if (rm_image_load(png, 1, &px, &w, &h, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(w, 8);
    assert_int_equal(h, 8);
    TS_FORMAT(ppm, "%s/digit_big.ppm", scratch);
    FILE *f = fopen(ppm, "wb");
    assert_non_null(f);
    fprintf(f, "P6\n%d %d\n255\n", w * 5, h * 3);
    for (int y = 0; y < h * 3; y++)
        for (int x = 0; x < w * 5; x++)
            for (int c = 0; c < 3; c++) fputc(px[(y / 3) * w + x / 5], f);
    assert_int_equal(fclose(f), 0);
    rm_image_free(px);

    char cmd[4096], out[8192], a[512], b[512];
    TS_FORMAT(cmd, "%s %s --top 4 --image %s --image %s %s", ts_tool("repmlp-run"), fused, png, ppm,
              run_flags());
    int rc = ts_system(cmd, out, sizeof out);
    if (rc != 0) fail_msg("repmlp-run exited %d:\n%s", rc, out);
    image_line(out, png, a, sizeof a);
    image_line(out, ppm, b, sizeof b);
    print_message("%s\n%s\n", a, b);
    assert_string_equal(a, b);
    remove(ppm);
}

/* Runs repmlp-run with args; expects a non-zero exit and one output line holding needle. */
static void expect_error(const char *args, const char *needle) {
    char cmd[8192], out[8192];
    TS_FORMAT(cmd, "%s %s %s", ts_tool("repmlp-run"), args, run_flags());
    int rc = ts_system(cmd, out, sizeof out);
    if (rc == 0) fail_msg("'%s' succeeded:\n%s", args, out);
    /* stdout ("device: ...") may come before or after; the error is one line of stderr */
    const char *err = strstr(out, "repmlp-run: ");
    if (!err) fail_msg("'%s': no error line:\n%s", args, out);
    if (strstr(err + 1, "repmlp-run: ")) fail_msg("'%s': more than one error line:\n%s", args, out);
    const char *nl = strchr(err, '\n');
    size_t len = nl ? (size_t)(nl - err) : strlen(err);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)len, err);
    if (!strstr(line, needle)) fail_msg("'%s': expected \"%s\" in: %s", args, needle, line);
    print_message("exit %d: %s\n", rc, line);
}

static void errors(void **state) {
    (void)state;
    char args[4096], plain[1200], cmd[4096], out[4096];
    /* not an image: names the file */
    TS_FORMAT(args, "%s --image " DIGITS "/config.json", fused);
    expect_error(args, "config.json: cannot decode image");
    TS_FORMAT(args, "%s --image " DIGITS "/no-such.png", fused);
    expect_error(args, "no-such.png: cannot open");
    /* --eval against a file without labels, and labels of the wrong count */
    TS_FORMAT(args, "%s --input " DIGITS "/test.safetensors --eval %s", fused, fused);
    expect_error(args, "tensor 'labels' is missing");
    /* a fused file without the preprocessing cannot take --image */
    TS_FORMAT(plain, "%s/digits-plain.fused.safetensors", scratch);
    TS_FORMAT(
        cmd, "%s --arch RepMLPNet --config @" DIGITS "/config.json " DIGITS "/train.safetensors %s",
        ts_tool("repmlp-fuse"), plain);
    assert_int_equal(ts_system(cmd, out, sizeof out), 0);
    TS_FORMAT(args, "%s --image " DIGITS "/digit_missing.png", plain);
    expect_error(args, "__metadata__ key 'preprocess' is missing");
    remove(plain);
}

/* The preprocessing through the public API: as preprocess.json says, and clear errors. */
static void preprocess_api(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
    repmlp_preprocessing p;
    assert_int_equal(repmlp_model_preprocessing(m, &p), REPMLP_OK);
    assert_int_equal(p.source_h, 8);
    assert_int_equal(p.source_w, 8);
    assert_int_equal(p.input_h, 16);
    assert_int_equal(p.input_w, 16);
    assert_int_equal(p.channels, 1);
    assert_true(p.value_lo == 0 && p.value_hi == 16 && p.bilinear);
    cJSON *ref = read_json(DIGITS "/preprocess.json");
    assert_true(p.mean[0] == cJSON_GetObjectItem(ref, "mean")->valuedouble);
    assert_true(p.std[0] == cJSON_GetObjectItem(ref, "std")->valuedouble);
    cJSON_Delete(ref);
    static const struct {
        const char *json, *message;
    } bad[] = {
        {"{\"source_size\": [8, 8], \"input_size\": [16, 16], \"value_range\": [0, 16], "
         "\"mean\": 0, \"std\": 1, \"resize\": \"cubic\"}",
         "key 'resize'"},
        {"{\"source_size\": [8, 8], \"input_size\": [15, 16], \"value_range\": [0, 16], "
         "\"mean\": 0, \"std\": 1, \"resize\": \"bilinear\"}",
         "differs from the model's input size"},
        {"{\"source_size\": [8, 8], \"input_size\": [16, 16], \"value_range\": [0, 16], "
         "\"mean\": 0, \"std\": 0, \"resize\": \"bilinear\"}",
         "key 'std' must be positive"},
        {"[1, 2]", "is not a JSON object"},
        {"{", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(repmlp_model_parse_preprocessing(m, bad[i].json, &p), REPMLP_ERROR_FORMAT);
        if (!strstr(repmlp_last_error(), bad[i].message))
            fail_msg("'%s': message '%s'", bad[i].json, repmlp_last_error());
    }
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* Softmax + top-k on the device (repmlp_session_set_topk) against the reference on the same
 * run's logits, on the mapped and the staging path; a non-classifier and bad k are refused. */
static void topk_on_device(void **state) {
    (void)state;
    rm_safetensors *st;
    if (rm_safetensors_open(DIGITS "/test.safetensors", &st) != REPMLP_OK)
        fail_msg("%s", repmlp_last_error());
    const rm_st_tensor *t = rm_safetensors_find(st, "input");
    assert_non_null(t);
    enum { BATCH = 37, K = 3 };
    size_t per_image = t->count / (size_t)t->shape[0];
    float *all = malloc(t->count * sizeof *all);
    assert_true(rm_st_tensor_to_f32(t, all));
    rm_safetensors_close(st);
    for (int staging = 0; staging < 2; staging++) {
        repmlp_context_desc desc = ts_context_desc();
        if (staging) desc.flags |= REPMLP_CONTEXT_FORCE_STAGING;
        repmlp_context *ctx;
        assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_OK);
        repmlp_model *m;
        assert_int_equal(repmlp_model_load(ctx, fused, &m), REPMLP_OK);
        repmlp_session *s;
        assert_int_equal(repmlp_session_create(m, BATCH, &s), REPMLP_OK);
        repmlp_class_score pairs[BATCH * K];
        assert_int_equal(repmlp_session_read_topk(s, pairs, BATCH * K),
                         REPMLP_ERROR_INVALID_ARGUMENT); /* off */
        assert_int_equal(repmlp_session_set_topk(s, 11), REPMLP_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(repmlp_last_error(), "k = 11"));
        assert_int_equal(repmlp_session_set_topk(s, K), REPMLP_OK);
        const size_t classes = 10;
        float *logits = malloc(BATCH * classes * sizeof *logits);
        assert_int_equal(ts_session_run(s, all, BATCH * per_image, logits, BATCH * classes),
                         REPMLP_OK);
        assert_int_equal(repmlp_session_read_topk(s, pairs, BATCH * K - 1),
                         REPMLP_ERROR_INVALID_ARGUMENT);
        assert_int_equal(repmlp_session_read_topk(s, pairs, BATCH * K), REPMLP_OK);
        uint32_t want_cls[BATCH * K];
        double want_p[BATCH * K];
        ref_softmax_topk(logits, BATCH, classes, K, want_cls, want_p);
        float got_p[BATCH * K];
        for (int i = 0; i < BATCH * K; i++) {
            if (pairs[i].class_index != want_cls[i])
                fail_msg("image %d pick %d: class %u, want %u", i / K, i % K, pairs[i].class_index,
                         want_cls[i]);
            got_p[i] = pairs[i].probability;
        }
        double err = ts_max_rel_error(got_p, want_p, BATCH * K);
        print_message("top-%d on the device (%s path), batch %d: classes equal, probabilities max "
                      "rel error %.3g\n",
                      K, staging ? "staging" : "mapped", BATCH, err);
        assert_true(err < 1.5e-6); /* as tests/test_op_topk.c */
        /* Off again: the session runs as before. */
        assert_int_equal(repmlp_session_set_topk(s, 0), REPMLP_OK);
        assert_int_equal(ts_session_run(s, all, BATCH * per_image, logits, BATCH * classes),
                         REPMLP_OK);
        free(logits);
        repmlp_session_destroy(s);
        repmlp_model_destroy(m);
        repmlp_context_destroy(ctx);
    }
    ts_check_validation();
    free(all);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fused_metadata),
        cmocka_unit_test(eval_matches_pytorch),
        cmocka_unit_test(eval_under_profiles),
        cmocka_unit_test(images_match_labels),
        cmocka_unit_test(image_other_size_and_format),
        cmocka_unit_test(errors),
        cmocka_unit_test(topk_on_device),
        cmocka_unit_test(preprocess_api),
    };
    return ts_exit_code(ts_run_group(tests, setup, NULL));
}
