/* The public calls the tools are built on, beyond loading and running: repmlp_fuse_memory (the
 * same bytes as repmlp_fuse_file), repmlp_model_load_memory (the bytes may be freed at once),
 * repmlp_fuse_to_model, repmlp_model_info_read(_memory) (no device), repmlp_model_load_unfused
 * and repmlp/session.h; bad bytes and arguments with their messages, and every host allocation
 * failing in turn. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "repmlp/session.h"
#include "core/fault.h"
#include "model/arch_list.h"

#define V1_DIR REPMLP_SOURCE_DIR "/tests/fixtures/block_v1/gp_g4_k135"
#define RESNET_DIR REPMLP_SOURCE_DIR "/tests/fixtures/resnet/base_w8_stem8_nb2211"
#define DIGITS_DIR REPMLP_SOURCE_DIR "/examples/digits"

static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)len + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    data[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return data;
}

static void expect_error(repmlp_status got, repmlp_status want, const char *needle) {
    if (got != want)
        fail_msg("status %s, expected %s (%s)", repmlp_status_name(got), repmlp_status_name(want),
                 repmlp_last_error());
    if (!strstr(repmlp_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", repmlp_last_error(), needle);
    assert_null(strchr(repmlp_last_error(), '\n'));
}

static void expect_shape(const repmlp_shape *got, const repmlp_shape *want) {
    assert_int_equal(got->ndim, want->ndim);
    for (uint32_t d = 0; d < want->ndim; d++) assert_int_equal(got->dims[d], want->dims[d]);
}

/* Fuses dir's training file with dir's config both ways; the bytes must be the same. */
static void same_as_file(const char *dir, const char *arch) {
    char path[1024], out[1024];
    size_t n, train_size, file_size, mem_size = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *config = read_all(path, &n);
    snprintf(path, sizeof path, "%s/train.safetensors", dir);
    void *train = read_all(path, &train_size);
    snprintf(out, sizeof out, "%s/tmp-model-memory-%s.fused", REPMLP_BINARY_DIR, arch);
    repmlp_fuse_desc desc = {.size = sizeof(repmlp_fuse_desc), .arch = arch, .config_json = config};
    assert_int_equal(repmlp_fuse_file(&desc, path, out), REPMLP_OK);
    void *from_file = read_all(out, &file_size), *from_memory = NULL;
    remove(out);
    assert_int_equal(repmlp_fuse_memory(&desc, train, train_size, &from_memory, &mem_size),
                     REPMLP_OK);
    assert_int_equal(mem_size, file_size);
    assert_memory_equal(from_memory, from_file, file_size);
    repmlp_free(from_memory);
    free(from_file);
    free(train);
    free(config);
}

static void fuse_memory_matches_file(void **state) {
    (void)state;
    same_as_file(V1_DIR, RM_ARCH_BLOCK_V1);
    same_as_file(RESNET_DIR, RM_ARCH_RESNET);
}

static void fuse_memory_errors(void **state) {
    (void)state;
    size_t n;
    char *config = read_all(V1_DIR "/config.json", &n);
    repmlp_fuse_desc desc = {
        .size = sizeof(repmlp_fuse_desc), .arch = RM_ARCH_BLOCK_V1, .config_json = config};
    void *out = (void *)&n;
    size_t size = 1;
    expect_error(repmlp_fuse_memory(&desc, "junk", 4, &out, &size), REPMLP_ERROR_FORMAT,
                 "<memory>: file is 4 bytes, too short");
    assert_null(out);
    assert_int_equal(size, 0);
    expect_error(repmlp_fuse_memory(&desc, NULL, 0, &out, &size), REPMLP_ERROR_FORMAT, "too short");
    expect_error(repmlp_fuse_memory(&desc, NULL, 8, &out, &size), REPMLP_ERROR_INVALID_ARGUMENT,
                 "repmlp_fuse_memory");
    expect_error(repmlp_fuse_memory(&desc, "junk", 4, NULL, &size), REPMLP_ERROR_INVALID_ARGUMENT,
                 "NULL argument");
    /* A training file of another architecture: its tensors are missing. */
    void *train = read_all(RESNET_DIR "/train.safetensors", &n);
    expect_error(repmlp_fuse_memory(&desc, train, n, &out, &size), REPMLP_ERROR_FORMAT,
                 "<memory>: tensor");
    desc.arch = "Nope";
    expect_error(repmlp_fuse_memory(&desc, train, n, &out, &size), REPMLP_ERROR_INVALID_ARGUMENT,
                 "unknown arch 'Nope'");
    assert_null(out);
    free(train);
    free(config);
}

/* The digits example fused with its preprocessing, in memory. */
static void *fuse_digits(size_t *size) {
    size_t n, train_size;
    char *config = read_all(DIGITS_DIR "/config.json", &n);
    char *pre = read_all(DIGITS_DIR "/preprocess.json", &n);
    void *train = read_all(DIGITS_DIR "/train.safetensors", &train_size), *fused = NULL;
    const char *keys[] = {"preprocess"}, *values[] = {pre};
    repmlp_fuse_desc desc = {.size = sizeof(repmlp_fuse_desc),
                             .arch = RM_ARCH_REPMLPNET,
                             .config_json = config,
                             .metadata_keys = keys,
                             .metadata_values = values,
                             .metadata_count = 1};
    assert_int_equal(repmlp_fuse_memory(&desc, train, train_size, &fused, size), REPMLP_OK);
    free(config);
    free(pre);
    free(train);
    return fused;
}

static void info_without_device(void **state) {
    (void)state;
    repmlp_model_info info;
    assert_int_equal(repmlp_model_info_read(ts_fx.fused_path, &info), REPMLP_OK);
    assert_string_equal(info.arch, RM_ARCH_BLOCK_V1);
    assert_int_equal(info.classes, 0);
    assert_int_equal(info.has_preprocessing, 0);
    /* The same as the loaded model says. */
    repmlp_context *ctx = ts_context();
    repmlp_model *m = NULL;
    repmlp_shape in, out;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_model_input_shape(m, &in);
    repmlp_model_output_shape(m, &out);
    expect_shape(&info.input, &in);
    expect_shape(&info.output, &out);
    repmlp_model_destroy(m);

    size_t size;
    void *digits = fuse_digits(&size);
    assert_int_equal(repmlp_model_info_read_memory(digits, size, &info), REPMLP_OK);
    assert_string_equal(info.arch, RM_ARCH_REPMLPNET);
    assert_int_equal(info.output.ndim, 2);
    assert_true(info.classes >= 2);
    assert_int_equal(info.classes, info.output.dims[1]);
    assert_int_equal(info.has_preprocessing, 1);
    repmlp_preprocessing p;
    assert_int_equal(repmlp_model_load_memory(ctx, digits, size, &m), REPMLP_OK);
    assert_int_equal(repmlp_model_preprocessing(m, &p), REPMLP_OK);
    assert_int_equal(info.preprocessing.input_h, p.input_h);
    assert_int_equal(info.preprocessing.source_w, p.source_w);
    assert_int_equal(info.preprocessing.channels, p.channels);
    assert_int_equal(info.preprocessing.bilinear, p.bilinear);
    assert_memory_equal(info.preprocessing.mean, p.mean, sizeof p.mean);
    assert_memory_equal(info.preprocessing.std, p.std, sizeof p.std);
    repmlp_model_destroy(m);
    repmlp_free(digits);
    ts_context_done(ctx);

    expect_error(repmlp_model_info_read(V1_DIR "/train.safetensors", &info), REPMLP_ERROR_FORMAT,
                 "__metadata__");
    expect_error(repmlp_model_info_read(V1_DIR "/absent.safetensors", &info), REPMLP_ERROR_IO,
                 "absent.safetensors");
    expect_error(repmlp_model_info_read_memory("\x02\0\0\0\0\0\0\0{}", 10, &info),
                 REPMLP_ERROR_FORMAT, "<memory>");
    expect_error(repmlp_model_info_read(NULL, &info), REPMLP_ERROR_INVALID_ARGUMENT,
                 "NULL argument");
}

static void load_memory_runs(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    size_t size;
    unsigned char *bytes = read_all(ts_fx.fused_path, &size);
    repmlp_model *m = NULL;
    assert_int_equal(repmlp_model_load_memory(ctx, bytes, size, &m), REPMLP_OK);
    /* The bytes are not needed after the call. */
    memset(bytes, 0xff, size);
    free(bytes);
    repmlp_session *s = NULL;
    float *y = malloc(ts_fx.output_count * sizeof *y);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_OK);
    assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);

    /* Straight from the training bytes. */
    size_t n, train_size;
    char *config = read_all(V1_DIR "/config.json", &n);
    void *train = read_all(V1_DIR "/train.safetensors", &train_size);
    repmlp_fuse_desc desc = {
        .size = sizeof(repmlp_fuse_desc), .arch = RM_ARCH_BLOCK_V1, .config_json = config};
    assert_int_equal(repmlp_fuse_to_model(ctx, &desc, train, train_size, &m), REPMLP_OK);
    assert_string_equal(repmlp_model_arch(m), RM_ARCH_BLOCK_V1);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_OK);
    assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    m = (repmlp_model *)&n;
    expect_error(repmlp_fuse_to_model(ctx, &desc, "junk", 4, &m), REPMLP_ERROR_FORMAT, "<memory>");
    assert_null(m);
    free(train);
    free(config);
    free(y);
    ts_context_done(ctx);
}

static void load_memory_rejects_bad_bytes(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    size_t size;
    unsigned char *bytes = read_all(ts_fx.fused_path, &size);
    repmlp_model *m = (repmlp_model *)&size;
    /* Cut inside the data: the header's offsets run past the end. */
    expect_error(repmlp_model_load_memory(ctx, bytes, size - 4, &m), REPMLP_ERROR_FORMAT,
                 "<memory>");
    assert_null(m);
    expect_error(repmlp_model_load_memory(ctx, bytes, 6, &m), REPMLP_ERROR_FORMAT, "too short");
    expect_error(repmlp_model_load_memory(ctx, NULL, 0, &m), REPMLP_ERROR_FORMAT, "too short");
    expect_error(repmlp_model_load_memory(ctx, NULL, 8, &m), REPMLP_ERROR_INVALID_ARGUMENT,
                 "repmlp_model_load_memory");
    expect_error(repmlp_model_load_memory(NULL, bytes, size, &m), REPMLP_ERROR_INVALID_ARGUMENT,
                 "NULL argument");
    /* A training file is not a fused one. */
    free(bytes);
    bytes = read_all(V1_DIR "/train.safetensors", &size);
    expect_error(repmlp_model_load_memory(ctx, bytes, size, &m), REPMLP_ERROR_FORMAT,
                 "<memory>: __metadata__");
    free(bytes);
    ts_context_done(ctx);
}

/* Every host allocation of fuse -> info -> load from memory failing in turn: a clean status,
 * a one-line message, nothing returned; the next clean pass still works. */
static repmlp_status memory_pass(repmlp_context *ctx, const repmlp_fuse_desc *desc,
                                 const void *train, size_t train_size) {
    void *fused = NULL;
    size_t size = 0;
    repmlp_model_info info;
    repmlp_model *m = NULL;
    repmlp_status s = repmlp_fuse_memory(desc, train, train_size, &fused, &size);
    if (s != REPMLP_OK) assert_null(fused);
    if (s == REPMLP_OK) s = repmlp_model_info_read_memory(fused, size, &info);
    if (s == REPMLP_OK) s = repmlp_model_load_memory(ctx, fused, size, &m);
    if (s != REPMLP_OK) assert_null(m);
    repmlp_model_destroy(m);
    repmlp_free(fused);
    return s;
}

static void host_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    repmlp_context *ctx = ts_context();
    size_t n, train_size;
    char *config = read_all(V1_DIR "/config.json", &n);
    void *train = read_all(V1_DIR "/train.safetensors", &train_size);
    repmlp_fuse_desc desc = {
        .size = sizeof(repmlp_fuse_desc), .arch = RM_ARCH_BLOCK_V1, .config_json = config};
    rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
    assert_int_equal(memory_pass(ctx, &desc, train, train_size), REPMLP_OK);
    long calls = rm_fault_calls(RM_FAULT_HOST_ALLOC), failures = 0;
    for (long i = 1; i <= calls; i++) {
        rm_fault_arm(RM_FAULT_HOST_ALLOC, i);
        repmlp_status s = memory_pass(ctx, &desc, train, train_size);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
        if (s == REPMLP_OK) continue;
        failures++;
        if (s != REPMLP_ERROR_OUT_OF_HOST_MEMORY)
            fail_msg("fault %ld: %s: %s", i, repmlp_status_name(s), repmlp_last_error());
        assert_true(strlen(repmlp_last_error()) > 0);
        assert_null(strchr(repmlp_last_error(), '\n'));
    }
    assert_true(failures >= 1);
    assert_int_equal(memory_pass(ctx, &desc, train, train_size), REPMLP_OK);
    free(train);
    free(config);
    ts_context_done(ctx);
}

/* The training-time file run unfused gives the fused model's results. */
static void load_unfused_runs(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    size_t n;
    char *config = read_all(V1_DIR "/config.json", &n);
    repmlp_model *m = NULL;
    repmlp_session *s = NULL;
    float *y = malloc(ts_fx.output_count * sizeof *y);
    assert_int_equal(
        repmlp_model_load_unfused(ctx, RM_ARCH_BLOCK_V1, V1_DIR "/train.safetensors", config, &m),
        REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    assert_int_equal(ts_session_run(s, ts_fx.input, ts_fx.input_count, y, ts_fx.output_count),
                     REPMLP_OK);
    assert_true(ts_max_rel_error(y, ts_fx.expected, ts_fx.output_count) < TS_FX_TOLERANCE);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    m = (repmlp_model *)&n;
    expect_error(
        repmlp_model_load_unfused(ctx, RM_ARCH_RESNET, V1_DIR "/train.safetensors", config, &m),
        REPMLP_ERROR_UNSUPPORTED, "cannot run unfused");
    assert_null(m);
    expect_error(repmlp_model_load_unfused(ctx, RM_ARCH_BLOCK_V1, V1_DIR "/train.safetensors",
                                           "{\"in_channels\":4}", &m),
                 REPMLP_ERROR_CONFIG, "train.safetensors: config");
    expect_error(
        repmlp_model_load_unfused(ctx, RM_ARCH_BLOCK_V1, V1_DIR "/train.safetensors", "{", &m),
        REPMLP_ERROR_FORMAT, "train.safetensors: config");
    expect_error(repmlp_model_load_unfused(ctx, NULL, V1_DIR "/train.safetensors", config, &m),
                 REPMLP_ERROR_INVALID_ARGUMENT, "NULL argument");
    free(config);
    free(y);
    ts_context_done(ctx);
}

/* A session's ops and their times: every op named, with a kind and a kernel; times where the
 * device has timestamps, else UNSUPPORTED naming it. */
static void profile_ops(void **state) {
    (void)state;
    repmlp_context *ctx = ts_context();
    repmlp_model *m = NULL;
    repmlp_session *s = NULL;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    assert_int_equal(repmlp_session_create(m, ts_fx.batch, &s), REPMLP_OK);
    uint32_t n = repmlp_session_op_count(s);
    assert_true(n >= 2);
    assert_int_equal(repmlp_session_op_count(NULL), 0);
    bool saw_gemm = false;
    for (uint32_t i = 0; i < n; i++) {
        repmlp_op_info op;
        assert_int_equal(repmlp_session_op_info(s, i, &op), REPMLP_OK);
        assert_true(strlen(op.label) > 0 && strlen(op.kind) > 0 && strlen(op.kernel) > 0);
        assert_true(op.bytes > 0 && op.flops >= 0);
        saw_gemm |= strcmp(op.kind, "gemm") == 0 && op.flops > 0;
    }
    assert_true(saw_gemm);
    repmlp_op_info op;
    expect_error(repmlp_session_op_info(s, n, &op), REPMLP_ERROR_INVALID_ARGUMENT, "op");
    double *ms = calloc(n, sizeof *ms), part = -1;
    expect_error(repmlp_session_profile(s, ms, n - 1), REPMLP_ERROR_INVALID_ARGUMENT,
                 "the session has");
    expect_error(repmlp_session_profile_part(s, 2, 2, &part), REPMLP_ERROR_INVALID_ARGUMENT,
                 "part 2 of 2");
    repmlp_device_limits limits;
    assert_int_equal(repmlp_context_limits(ctx, &limits), REPMLP_OK);
    repmlp_status st = repmlp_session_profile(s, ms, n);
    if (limits.timestamps) {
        assert_int_equal(st, REPMLP_OK);
        for (uint32_t i = 0; i < n; i++) assert_true(ms[i] >= 0);
        assert_int_equal(repmlp_session_profile_part(s, 0, 2, &part), REPMLP_OK);
        assert_true(part >= 0);
    } else {
        expect_error(st, REPMLP_ERROR_UNSUPPORTED, "timestamp");
    }
    free(ms);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuse_memory_matches_file),
        cmocka_unit_test(fuse_memory_errors),
        cmocka_unit_test(info_without_device),
        cmocka_unit_test(load_memory_runs),
        cmocka_unit_test(load_memory_rejects_bad_bytes),
        cmocka_unit_test(load_unfused_runs),
        cmocka_unit_test(profile_ops),
        cmocka_unit_test(host_faults),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_fixture_open, ts_group_fixture_close));
}
