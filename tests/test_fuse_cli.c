/* The real repmlp-fuse binary: a good run writes the fused file; every bad input exits
 * non-zero with exactly one stderr line naming the file and the tensor or key, and leaves
 * no output (nor a temporary file) behind. */
#define _POSIX_C_SOURCE 200809L
#include "host_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"

#define TOOL REPMLP_BINARY_DIR "/bin/repmlp-fuse"
#define CASE_DIR REPMLP_SOURCE_DIR "/tests/fixtures/block_v1/gp_c4_k13"
#define TRAIN CASE_DIR "/train.safetensors"
#define CONFIG "@" CASE_DIR "/config.json"

static char *dir;
static char *err_text; /* stderr of the last run */
static char *out_text; /* stdout of the last run */

static int setup(void **state) {
    (void)state;
    dir = hu_tmpdir("test_fuse_cli");
    return access(TOOL, X_OK) == 0 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(err_text);
    free(out_text);
    hu_tmpdir_remove(dir);
    return 0;
}

/* Runs the tool with argv (NULL-terminated, without argv[0]); returns its exit status. */
static int run(const char *const *args) {
    return hu_run_tool(TOOL, args, dir, &err_text, &out_text);
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* Exit status `code`, one stderr line starting "repmlp-fuse: " and holding every needle,
 * and no output file or temporary left in the scratch directory. */
static void expect_failure(const char *const *args, int code, const char *out,
                           const char *const *needles) {
    size_t files = hu_count_files(dir);
    int got = run(args);
    if (got != code) fail_msg("exit status %d, expected %d; stderr: %s", got, code, err_text);
    if (count_lines(err_text) != 1 || err_text[strlen(err_text) - 1] != '\n') {
        fail_msg("stderr is not exactly one line: [%s]", err_text);
    }
    if (strncmp(err_text, "repmlp-fuse: ", 13) != 0) fail_msg("stderr: %s", err_text);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(err_text, *n)) fail_msg("stderr lacks \"%s\": %s", *n, err_text);
    }
    if (out) assert_false(hu_exists(out));
    assert_int_equal(hu_count_files(dir), files);
    print_message("exit %d: %s", got, err_text);
}

#define EXPECT_FAILURE(code, out, needles, ...)                                                    \
    expect_failure((const char *const[]){__VA_ARGS__, NULL}, code, out, needles)
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void success_writes_fused_file(void **state) {
    (void)state;
    const char *out = hu_path(dir, "fused.safetensors");
    assert_int_equal(
        run((const char *const[]){"--arch", "RepMLP", "--config", CONFIG, TRAIN, out, NULL}), 0);
    assert_string_equal(err_text, "");
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(out, &st));
    assert_string_equal(rm_safetensors_metadata(st, "format"), "repmlp-vk-fused");
    assert_string_equal(rm_safetensors_metadata(st, "format_version"), "1");
    assert_string_equal(rm_safetensors_metadata(st, "arch"), "RepMLP");
    assert_string_equal(rm_safetensors_metadata(st, "config"),
                        "{\"in_channels\":4,\"out_channels\":4,\"H\":8,\"W\":8,\"h\":4,\"w\":4,"
                        "\"reparam_conv_k\":[1,3],\"fc1_fc2_reduction\":1,\"fc3_groups\":1}");
    assert_int_equal(rm_safetensors_count(st), 6);
    const rm_st_tensor *w = rm_safetensors_find(st, "fc3.weight");
    assert_non_null(w);
    assert_int_equal(w->dtype, RM_DTYPE_F32);
    assert_int_equal(w->shape[0], 64);
    assert_int_equal(w->shape[1], 64);
    assert_non_null(rm_safetensors_find(st, "fc3.bias"));
    assert_non_null(rm_safetensors_find(st, "fc1_fc2.fc1.weight"));
    assert_non_null(rm_safetensors_find(st, "fc1_fc2.fc2.bias"));
    rm_safetensors_close(st);
    remove(out);

    /* inline JSON and --opt=value spelling */
    assert_int_equal(run((const char *const[]){"--arch=RepMLP",
                                               "--config={\"in_channels\":4,\"out_channels\":4,"
                                               "\"H\":8,\"W\":8,\"h\":4,\"w\":4,"
                                               "\"reparam_conv_k\":[3,1]}",
                                               TRAIN, out, NULL}),
                     0);
    assert_true(hu_exists(out));
    remove(out);

    assert_int_equal(run((const char *const[]){"--help", NULL}), 0);
    assert_non_null(strstr(out_text, "usage: repmlp-fuse --arch ARCH"));
}

static void bad_training_files(void **state) {
    (void)state;
    const char *out = hu_path(dir, "out.safetensors");
    const char *bad = hu_path(dir, "bad.safetensors");
    size_t n;
    char *train = hu_read_file(TRAIN, &n);

    hu_write_file(bad, train, n / 2);
    EXPECT_FAILURE(1, out, NEEDLES(bad), "--arch", "RepMLP", "--config", CONFIG, bad, out);
    hu_write_file(bad, train, 5);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "too short"), "--arch", "RepMLP", "--config", CONFIG, bad,
                   out);
    hu_write_file(bad, "\xe8\x03\0\0\0\0\0\0{}", 10);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "past the end"), "--arch", "RepMLP", "--config", CONFIG,
                   bad, out);
    hu_write_st(bad, "{\"fc3.weight\": [", NULL, 0);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "invalid JSON"), "--arch", "RepMLP", "--config", CONFIG,
                   bad, out);
    hu_write_st(bad, "{\"fc3.weight\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                "x", 1);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "tensor 'fc3.weight'", "unknown dtype"), "--arch", "RepMLP",
                   "--config", CONFIG, bad, out);
    free(train);

    const float zeros[64] = {0};
    hu_copy_st(TRAIN, bad, "", &(hu_edit){"fc1_fc2.fc1.weight", RM_DTYPE_F32, 2, {16, 4}, zeros},
               NULL);
    EXPECT_FAILURE(
        1, out, NEEDLES(bad, "tensor 'fc1_fc2.fc1.weight': expected shape (16, 16), got (16, 4)"),
        "--arch", "RepMLP", "--config", CONFIG, bad, out);
    hu_copy_st(TRAIN, bad, "", &(hu_edit){"repconv3.bn.running_mean", 0, -1, {0}, NULL}, NULL);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "tensor 'repconv3.bn.running_mean' is missing"), "--arch",
                   "RepMLP", "--config", CONFIG, bad, out);
    hu_copy_st(TRAIN, bad, "", NULL, "repconv5.bn.weight");
    EXPECT_FAILURE(1, out, NEEDLES(bad, "tensor 'repconv5.bn.weight' is unexpected"), "--arch",
                   "RepMLP", "--config", CONFIG, bad, out);
    /* a tensor name with a newline still makes one line */
    hu_copy_st(TRAIN, bad, "", NULL, "evil\nname");
    EXPECT_FAILURE(1, out, NEEDLES(bad, "evil?name"), "--arch", "RepMLP", "--config", CONFIG, bad,
                   out);
    remove(bad);
    EXPECT_FAILURE(1, out, NEEDLES(bad, "cannot open"), "--arch", "RepMLP", "--config", CONFIG, bad,
                   out);
}

static void bad_configs(void **state) {
    (void)state;
    const char *out = hu_path(dir, "out.safetensors");
#define CFG(extra) "{\"in_channels\":4,\"out_channels\":4,\"H\":8,\"W\":8,\"h\":4,\"w\":4" extra "}"
    EXPECT_FAILURE(
        1, out, NEEDLES(TRAIN, "--config", "config key 'H': 8 is not divisible by h = 3"), "--arch",
        "RepMLP", "--config",
        "{\"in_channels\":4,\"out_channels\":4,\"H\":8,\"W\":8,\"h\":3,\"w\":4}", TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "config key 'in_channels'", "fc3_groups = 3"), "--arch",
                   "RepMLP", "--config",
                   "{\"in_channels\":4,\"out_channels\":6,\"H\":8,\"W\":8,\"h\":4,\"w\":4,"
                   "\"fc3_groups\":3}",
                   TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "config key 'reparam_conv_k'", "4"), "--arch", "RepMLP",
                   "--config", CFG(",\"reparam_conv_k\":[1,4]"), TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "config key 'groups'", "unknown key"), "--arch", "RepMLP",
                   "--config", CFG(",\"groups\":1"), TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "--config", "invalid JSON"), "--arch", "RepMLP",
                   "--config", "{\"in_channels\":", TRAIN, out);
    /* a valid config that does not match the file: the tensor is named */
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "tensor 'fc3.weight'", "expected shape"), "--arch",
                   "RepMLP", "--config", CFG(",\"reparam_conv_k\":[1,3],\"fc3_groups\":2"), TRAIN,
                   out);
    /* @file: the config file is named */
    const char *cfg_file = hu_path(dir, "cfg.json");
    hu_write_file(cfg_file, CFG(",\"W\":9"), strlen(CFG(",\"W\":9")));
    char arg[1100];
    snprintf(arg, sizeof arg, "@%s", cfg_file);
    EXPECT_FAILURE(1, out, NEEDLES(cfg_file, "config key 'W'", "twice"), "--arch", "RepMLP",
                   "--config", arg, TRAIN, out);
    remove(cfg_file);
#undef CFG
}

static void usage_errors(void **state) {
    (void)state;
    const char *out = hu_path(dir, "out.safetensors");
    /* the other archs on a v1 block's file: what they miss first is named */
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "--arch RepMLPNet needs --config or --preset"), "--arch",
                   "RepMLPNet", TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "tensor 'conv_embedding.conv.weight' is missing"),
                   "--preset", "RepMLPNet-B224", TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "tensor 'stage0.0.conv.weight' is missing"), "--preset",
                   "RepMLPRes50-Light-224", TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "--config", "config key 'in_channels' is missing"),
                   "--arch", "RepMLPBlock", "--config", "{}", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("unknown arch 'RepMLPv9'"), "--arch", "RepMLPv9", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("preset 'RepMLPNet-T224' is for --arch RepMLPNet"), "--arch",
                   "RepMLP", "--preset", "RepMLPNet-T224", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("unknown preset"), "--preset", "Nope", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("--arch"), TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("expected TRAIN.safetensors"), "--arch", "RepMLP", TRAIN);
    EXPECT_FAILURE(2, out, NEEDLES("unknown option '--bogus'"), "--bogus", TRAIN, out);
    EXPECT_FAILURE(1, out, NEEDLES(TRAIN, "needs --config"), "--arch", "RepMLP", TRAIN, out);
    const char *nowhere = hu_path(dir, "missing-dir/out.safetensors");
    EXPECT_FAILURE(1, nowhere, NEEDLES(nowhere, "cannot create"), "--arch", "RepMLP", "--config",
                   CONFIG, TRAIN, nowhere);
}

/* --metadata KEY=VALUE and KEY=@FILE add string entries to the fused file's __metadata__
 * (the digits example stores its preprocessing so); the format's own keys, a key given twice,
 * a malformed entry and an unreadable file are errors that leave nothing behind. */
static void metadata_option(void **state) {
    (void)state;
    const char *out = hu_path(dir, "meta.safetensors");
    const char *file = hu_path(dir, "pre.json");
    const char *text = "{\"mean\": 4.5, \"note\": \"a \\\"quoted\\\" word\"}\n\n";
    hu_write_file(file, text, strlen(text));
    char arg[1200];
    snprintf(arg, sizeof arg, "preprocess=@%s", file);
    assert_int_equal(run((const char *const[]){"--arch", "RepMLP", "--config", CONFIG, "--metadata",
                                               arg, "--metadata=origin=a=b c", TRAIN, out, NULL}),
                     0);
    assert_string_equal(err_text, "");
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(out, &st));
    assert_string_equal(rm_safetensors_metadata(st, "preprocess"),
                        "{\"mean\": 4.5, \"note\": \"a \\\"quoted\\\" word\"}");
    assert_string_equal(rm_safetensors_metadata(st, "origin"), "a=b c");
    assert_string_equal(rm_safetensors_metadata(st, "arch"), "RepMLP");
    assert_string_equal(rm_safetensors_metadata(st, "format"), "repmlp-vk-fused");
    rm_safetensors_close(st);
    remove(out);

    EXPECT_FAILURE(2, out, NEEDLES("--metadata", "'arch'"), "--arch", "RepMLP", "--config", CONFIG,
                   "--metadata", "arch=RepMLPNet", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("--metadata", "'k'", "twice"), "--arch", "RepMLP", "--config",
                   CONFIG, "--metadata", "k=1", "--metadata", "k=2", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("--metadata 'novalue'", "KEY=VALUE"), "--arch", "RepMLP",
                   "--config", CONFIG, "--metadata", "novalue", TRAIN, out);
    EXPECT_FAILURE(2, out, NEEDLES("--metadata '=x'"), "--arch", "RepMLP", "--config", CONFIG,
                   "--metadata", "=x", TRAIN, out);
    remove(file);
    snprintf(arg, sizeof arg, "preprocess=@%s", file);
    EXPECT_FAILURE(1, out, NEEDLES(file, "cannot open"), "--arch", "RepMLP", "--config", CONFIG,
                   "--metadata", arg, TRAIN, out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_writes_fused_file),
        cmocka_unit_test(bad_training_files),
        cmocka_unit_test(bad_configs),
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(metadata_option),
    };
    return ts_exit_code(ts_run_group(tests, setup, teardown));
}
