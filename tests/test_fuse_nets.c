/* The network fusers (RepMLPBlock, RepMLPResNet, RepMLPNet) on every fixture case under
 * tests/fixtures/{block_v2,resnet,repmlpnet}/<case>/ (made by
 * tools/fixtures/make_network_fixtures.py from a float64 PyTorch model of the TRAINING-time
 * structure): fuse in-process, run the float64 reference of the FUSED model
 * (reference/net_ref.h) on the fixture input, compare with PyTorch's float64 output. Plus the
 * fused tensor names of docs/FUSED_FORMAT.md, the new fusion rules on their own, allocation
 * failures, and bad inputs through the real repmlp-fuse binary (one stderr line naming the
 * file and the tensor or key, non-zero exit, no output left). */
#define _POSIX_C_SOURCE 200809L
#include "host_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config_nets.h"
#include "model/fuse_block_v2.h"
#include "model/fuse_repmlpnet.h"
#include "model/fuse_resnet.h"
#include "model/fuse_rules_nets.h"
#include "model/fused_format.h"
#include "compare.h"
#include "net_ref.h"

#define FIXTURES REPMLP_SOURCE_DIR "/tests/fixtures"
#define TOOL REPMLP_BINARY_DIR "/bin/repmlp-fuse"
#define MAX_CASES 64
/* docs/MODELS.md "Accuracy" allows a block 1e-5 of the output's largest magnitude, a network 1e-4;
 * the float64 reference on the fused float32 weights lands at <= 5.6e-8 on every case (measured
 * 2026-11-30), so the bound is ~10x that. */
#define TOLERANCE 5e-7

static const struct set {
    const char *dir, *arch;
} sets[] = {
    {"block_v2", RM_ARCH_BLOCK_V2},
    {"resnet", RM_ARCH_RESNET},
    {"repmlpnet", RM_ARCH_REPMLPNET},
};
#define SET_COUNT (sizeof sets / sizeof sets[0])

static char *dir;
static char *cases[SET_COUNT][MAX_CASES];
static int case_count[SET_COUNT];

static int compare_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int setup(void **state) {
    (void)state;
    dir = hu_tmpdir("test_fuse_nets");
    for (size_t s = 0; s < SET_COUNT; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", FIXTURES, sets[s].dir);
        DIR *d = opendir(path);
        if (!d) return -1;
        struct dirent *e;
        while ((e = readdir(d)) && case_count[s] < MAX_CASES) {
            if (e->d_name[0] == '.') continue;
            cases[s][case_count[s]++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(cases[s], (size_t)case_count[s], sizeof cases[s][0], compare_str);
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (size_t s = 0; s < SET_COUNT; s++)
        for (int i = 0; i < case_count[s]; i++) free(cases[s][i]);
    hu_tmpdir_remove(dir);
    return 0;
}

static const char *fixture(const char *set, const char *name, const char *file) {
    static char buf[8][1024];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s/%s/%s", FIXTURES, set, name, file);
    return p;
}

/* The case's input: shape in[4], values rm_malloc'd. */
static float *load_input(const char *set, const char *name, int64_t in[4]) {
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(fixture(set, name, "input.safetensors"), &st));
    const rm_st_tensor *t = rm_safetensors_find(st, "input");
    assert_non_null(t);
    assert_int_equal(t->ndim, 4);
    memcpy(in, t->shape, 4 * sizeof *in);
    float *x = NULL;
    hu_expect_ok(rm_safetensors_read_f32(st, "input", 4, in, &x));
    rm_safetensors_close(st);
    return x;
}

/* config.json as the arch's config (RepMLPNet: the input size becomes img_H/img_W, so the
 * fused file describes the input it is tested with), fused into `out`; returns the config
 * JSON the fused file must carry (rm_malloc'd). */
static char *fuse_case(const struct set *set, const char *name, const int64_t in[4],
                       const char *out) {
    const char *path = fixture(set->dir, name, "config.json");
    size_t n;
    char *text = hu_read_file(path, &n);
    cJSON *obj = NULL;
    hu_expect_ok(rm_json_parse(text, n, path, &obj));
    free(text);
    char *json = NULL;
    const char *train = fixture(set->dir, name, "train.safetensors");
    if (strcmp(set->arch, RM_ARCH_BLOCK_V2) == 0) {
        rm_block_v2_config c;
        hu_expect_ok(rm_block_v2_config_from_json(obj, path, &c));
        hu_expect_ok(ts_fuse_file(RM_ARCH_BLOCK_V2, &c, train, out));
        json = rm_block_v2_config_to_json(&c);
    } else if (strcmp(set->arch, RM_ARCH_RESNET) == 0) {
        rm_resnet_config c;
        hu_expect_ok(rm_resnet_config_from_json(obj, path, &c));
        hu_expect_ok(ts_fuse_file(RM_ARCH_RESNET, &c, train, out));
        json = rm_resnet_config_to_json(&c);
    } else {
        rm_repmlpnet_config c;
        if (!cJSON_GetObjectItemCaseSensitive(obj, "img_H")) {
            assert_non_null(cJSON_AddNumberToObject(obj, "img_H", (double)in[2]));
            assert_non_null(cJSON_AddNumberToObject(obj, "img_W", (double)in[3]));
        }
        hu_expect_ok(rm_repmlpnet_config_from_json(obj, path, &c));
        hu_expect_ok(ts_fuse_file(RM_ARCH_REPMLPNET, &c, train, out));
        json = rm_repmlpnet_config_to_json(&c);
    }
    cJSON_Delete(obj);
    assert_non_null(json);
    return json;
}

static void every_fixture_case(void **state) {
    (void)state;
    int total = 0;
    for (size_t si = 0; si < SET_COUNT; si++) {
        const struct set *set = &sets[si];
        assert_true(case_count[si] >= 3);
        double worst = 0;
        for (int ci = 0; ci < case_count[si]; ci++) {
            const char *name = cases[si][ci];
            const char *fused = hu_path(dir, "fused.safetensors");
            int64_t in[4], out[4];
            float *x = load_input(set->dir, name, in);
            char *json = fuse_case(set, name, in, fused);

            /* the fused file carries the arch and the full config */
            rm_safetensors *st = NULL;
            const char *arch, *config;
            hu_expect_ok(rm_safetensors_open(fused, &st));
            hu_expect_ok(rm_fused_read_metadata(st, &arch, &config));
            assert_string_equal(arch, set->arch);
            assert_string_equal(config, json);
            rm_safetensors_close(st);

            double *y = NULL, *want = NULL;
            int ndim = 0;
            hu_expect_ok(ref_fused_forward(fused, in, x, &y, &ndim, out));
            rm_safetensors *exp = NULL;
            hu_expect_ok(
                rm_safetensors_open(fixture(set->dir, name, "expected.safetensors"), &exp));
            hu_expect_ok(rm_safetensors_read_f64(exp, "output", ndim, out, &want));
            rm_safetensors_close(exp);
            size_t count;
            assert_true(rm_product(out, ndim, &count));
            const ref_comparison cmp = ref_compare_f64(y, want, count);
            const double rel = cmp.rel, scale = cmp.scale;
            print_message("%-10s %-38s in %lldx%lldx%lldx%lld  max|y| %7.3f  fused vs PyTorch "
                          "%.2e\n",
                          set->dir, name, (long long)in[0], (long long)in[1], (long long)in[2],
                          (long long)in[3], scale, rel);
            if (!(rel <= TOLERANCE))
                fail_msg("%s/%s: fused model off by %.3e", set->dir, name, rel);
            worst = fmax(worst, rel);
            total++;
            rm_free(x);
            rm_free(y);
            rm_free(want);
            rm_free(json);
            remove(fused);
        }
        print_message("%s: worst of %d cases %.2e\n", set->dir, case_count[si], worst);
    }
    assert_true(total >= 10);
}

/* The tensor names of docs/FUSED_FORMAT.md, written out for two fixtures: the file holds
 * exactly these, all F32, with these shapes. */
typedef struct want_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
} want_tensor;

static void expect_tensors(const char *path, const want_tensor *want, size_t n) {
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(path, &st));
    for (size_t i = 0; i < n; i++) {
        const rm_st_tensor *t = rm_safetensors_find(st, want[i].name);
        if (!t) fail_msg("%s: no tensor '%s'", path, want[i].name);
        assert_int_equal(t->dtype, RM_DTYPE_F32);
        assert_int_equal(t->ndim, want[i].ndim);
        assert_memory_equal(t->shape, want[i].shape, (size_t)want[i].ndim * sizeof(int64_t));
    }
    if (rm_safetensors_count(st) != n) {
        for (size_t i = 0; i < rm_safetensors_count(st); i++) {
            const char *name = rm_safetensors_tensor_at(st, i)->name;
            bool listed = false;
            for (size_t j = 0; j < n; j++) listed |= strcmp(name, want[j].name) == 0;
            if (!listed) fail_msg("%s: unlisted tensor '%s'", path, name);
        }
    }
    rm_safetensors_close(st);
}

#define CONV(p, o, i, k)                                                                           \
    {p ".conv.weight", 4, {o, i, k, k}}, {                                                         \
        p ".conv.bias", 1, {                                                                       \
            o                                                                                      \
        }                                                                                          \
    }
#define FC3(p, rows, hw)                                                                           \
    {p "fc3.weight", 4, {rows, hw, 1, 1}}, {                                                       \
        p "fc3.bias", 1, {                                                                         \
            rows                                                                                   \
        }                                                                                          \
    }
#define GP(p, c, r)                                                                                \
    {p "gp.fc1.weight", 4, {r, c, 1, 1}}, {p "gp.fc1.bias", 1, {r}},                               \
        {p "gp.fc2.weight", 4, {c, r, 1, 1}}, {                                                    \
        p "gp.fc2.bias", 1, {                                                                      \
            c                                                                                      \
        }                                                                                          \
    }
#define AFFINE(p, c)                                                                               \
    {p "prebn1.scale", 1, {c}}, {                                                                  \
        p "prebn1.shift", 1, {                                                                     \
            c                                                                                      \
        }                                                                                          \
    }
#define FFN(p, c) CONV(p "ffn_block.ffn_fc1", 4 * c, c, 1), CONV(p "ffn_block.ffn_fc2", c, 4 * c, 1)

static void fused_tensor_names(void **state) {
    (void)state;
    const char *fused = hu_path(dir, "names.safetensors");
    int64_t in[4];
    /* RepMLPNet p2_c8_16_32_s2_4_32: channels 8/16/32, sharesets 2/4/32 (prebn1 folded only in
     * stage 2), hs = ws = 4/2/1, units 1/1/2, reduce 4, patch 2, 10 classes */
    const struct set *net = &sets[2];
    float *x = load_input(net->dir, "p2_c8_16_32_s2_4_32", in);
    char *json = fuse_case(net, "p2_c8_16_32_s2_4_32", in, fused);
    static const want_tensor net_want[] = {
        CONV("conv_embedding", 8, 3, 2),
        AFFINE("stages.0.0.", 8),
        GP("stages.0.0.repmlp_block.", 8, 2),
        FC3("stages.0.0.repmlp_block.", 2 * 16, 16),
        FFN("stages.0.0.", 8),
        CONV("embeds.0", 16, 8, 2),
        AFFINE("stages.1.0.", 16),
        GP("stages.1.0.repmlp_block.", 16, 4),
        FC3("stages.1.0.repmlp_block.", 4 * 4, 4),
        FFN("stages.1.0.", 16),
        CONV("embeds.1", 32, 16, 2),
        GP("stages.2.0.repmlp_block.", 32, 8),
        FC3("stages.2.0.repmlp_block.", 32, 1),
        FFN("stages.2.0.", 32),
        GP("stages.2.1.repmlp_block.", 32, 8),
        FC3("stages.2.1.repmlp_block.", 32, 1),
        FFN("stages.2.1.", 32),
        {"head.weight", 2, {10, 32}},
        {"head.bias", 1, {10}},
    };
    expect_tensors(fused, net_want, sizeof net_want / sizeof net_want[0]);
    rm_free(x);
    rm_free(json);

    /* RepMLPResNet bottleneck_w16_img32_h2_g1_r22: stem 8, widths 16/32/64/64, blocks 1/2/2/1,
     * r [2, 2], kernels [3], h = w = 2, img 32 (RepMLPs at 4x4 with GP and 2x2 without) */
    const struct set *res = &sets[1];
    x = load_input(res->dir, "bottleneck_w16_img32_h2_g1_r22", in);
    json = fuse_case(res, "bottleneck_w16_img32_h2_g1_r22", in, fused);
    static const want_tensor res_want[] = {
        CONV("stage0.0", 8, 3, 7),
        CONV("stage1.0.conv1", 4, 8, 1),
        CONV("stage1.0.conv2", 4, 4, 3),
        CONV("stage1.0.conv3", 16, 4, 1),
        CONV("stage1.0.shortcut", 16, 8, 1),
        CONV("stage2.0.conv1", 8, 16, 1),
        CONV("stage2.0.conv2", 8, 8, 3),
        CONV("stage2.0.conv3", 32, 8, 1),
        CONV("stage2.0.shortcut", 32, 16, 1),
        CONV("stage2.1.btnk_conv1", 8, 32, 1),
        CONV("stage2.1.btnk_conv2", 4, 8, 3),
        {"stage2.1.btnk_repmlp.fc1_fc2.fc1.weight", 2, {16, 16}},
        {"stage2.1.btnk_repmlp.fc1_fc2.fc1.bias", 1, {16}},
        {"stage2.1.btnk_repmlp.fc1_fc2.fc2.weight", 2, {16, 16}},
        {"stage2.1.btnk_repmlp.fc1_fc2.fc2.bias", 1, {16}},
        {"stage2.1.btnk_repmlp.fc3.weight", 4, {16, 16, 1, 1}},
        {"stage2.1.btnk_repmlp.fc3.bias", 1, {16}},
        CONV("stage2.1.btnk_conv4", 8, 4, 3),
        CONV("stage2.1.btnk_conv5", 32, 8, 1),
        CONV("stage3.0.conv1", 16, 32, 1),
        CONV("stage3.0.conv2", 16, 16, 3),
        CONV("stage3.0.conv3", 64, 16, 1),
        CONV("stage3.0.shortcut", 64, 32, 1),
        CONV("stage3.1.btnk_conv1", 16, 64, 1),
        CONV("stage3.1.btnk_conv2", 8, 16, 3),
        {"stage3.1.btnk_repmlp.fc3.weight", 4, {32, 32, 1, 1}},
        {"stage3.1.btnk_repmlp.fc3.bias", 1, {32}},
        CONV("stage3.1.btnk_conv4", 16, 8, 3),
        CONV("stage3.1.btnk_conv5", 64, 16, 1),
        CONV("stage4.0.conv1", 16, 64, 1),
        CONV("stage4.0.conv2", 16, 16, 3),
        CONV("stage4.0.conv3", 64, 16, 1),
        CONV("stage4.0.shortcut", 64, 64, 1),
        {"linear.weight", 2, {10, 64}},
        {"linear.bias", 1, {10}},
    };
    expect_tensors(fused, res_want, sizeof res_want / sizeof res_want[0]);
    rm_free(x);
    rm_free(json);
    remove(fused);
}

/* The two rules docs/MODELS.md §3 adds, against their definitions evaluated directly. */
static void new_rules(void **state) {
    (void)state;
    uint64_t rng = 7;
    double gamma[3], beta[3], mean[3], var[3];
    for (int c = 0; c < 3; c++) {
        gamma[c] = hu_uniform(&rng, 0.5, 1.5);
        beta[c] = hu_uniform(&rng, -1, 1);
        mean[c] = hu_uniform(&rng, -1, 1);
        var[c] = hu_uniform(&rng, 0.1, 2);
    }
    const rm_bn_params bn = {gamma, beta, mean, var, 3};
    double scale[3], shift[3];
    rm_bn_to_affine(&bn, scale, shift);
    for (int c = 0; c < 3; c++) {
        const double v = 0.37;
        const double bn_v = (v - mean[c]) / sqrt(var[c] + 1e-5) * gamma[c] + beta[c];
        assert_true(fabs(v * scale[c] + shift[c] - bn_v) < 1e-14);
    }
    /* grouped FC: 3 groups, 2 rows x 4 columns each; group c reads channel c only */
    double w[3 * 2 * 4], b[3 * 2], w0[3 * 2 * 4], b0[3 * 2], xin[3 * 4];
    for (int i = 0; i < 24; i++) w[i] = w0[i] = hu_uniform(&rng, -1, 1);
    for (int i = 0; i < 6; i++) b[i] = b0[i] = hu_uniform(&rng, -1, 1);
    for (int i = 0; i < 12; i++) xin[i] = hu_uniform(&rng, -2, 2);
    rm_fuse_bn_into_grouped_fc_columns(&bn, 2, 4, w, b);
    for (int g = 0; g < 3; g++)
        for (int r = 0; r < 2; r++) {
            double direct = b0[g * 2 + r], fused = b[g * 2 + r];
            for (int k = 0; k < 4; k++) {
                const double bn_x = xin[g * 4 + k] * scale[g] + shift[g];
                direct += w0[(g * 2 + r) * 4 + k] * bn_x;
                fused += w[(g * 2 + r) * 4 + k] * xin[g * 4 + k];
            }
            assert_true(fabs(direct - fused) < 1e-12);
        }
}

/* The reference takes the RepMLPNet input size from the input, checked against the stages. */
static void repmlpnet_other_input_sizes(void **state) {
    (void)state;
    const struct set *net = &sets[2];
    const char *fused = hu_path(dir, "sizes.safetensors");
    int64_t in[4], out[4];
    float *x = load_input(net->dir, "p2_c8_16_32_s2_4_32", in); /* 2x3x16x16 */
    char *json = fuse_case(net, "p2_c8_16_32_s2_4_32", in, fused);
    const int64_t in2[4] = {1, 3, 32, 16}; /* maps 16x8, 8x4, 4x2: all divisible */
    float *x2 = calloc(3 * 32 * 16, sizeof *x2);
    assert_non_null(x2);
    for (int i = 0; i < 3 * 32 * 16; i++) x2[i] = x[i % (2 * 3 * 16 * 16)];
    double *y = NULL;
    int ndim;
    hu_expect_ok(ref_fused_forward(fused, in2, x2, &y, &ndim, out));
    assert_int_equal(ndim, 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 10);
    rm_free(y);
    const int64_t bad_in2[4] = {1, 3, 20, 16}; /* map 10: not divisible by hs[0] = 4 */
    HU_EXPECT_ERROR(ref_fused_forward(fused, bad_in2, x2, &y, &ndim, out),
                    REPMLP_ERROR_INVALID_ARGUMENT, fused, "input height", "hs[0] = 4");
    assert_null(y);
    const int64_t bad_c[4] = {1, 4, 16, 16};
    HU_EXPECT_ERROR(ref_fused_forward(fused, bad_c, x2, &y, &ndim, out),
                    REPMLP_ERROR_INVALID_ARGUMENT, fused, "channels");
    free(x2);
    rm_free(x);
    rm_free(json);
    remove(fused);
}

/* Each allocation of a whole network fuse fails in turn: out-of-memory status, nothing leaks
 * (LeakSanitizer), no output left. */
static void allocation_failures(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    static const struct {
        int set;
        const char *name;
    } walk[] = {
        {2, "in1_12x20_h3w5_h1w5"}, {1, "bottleneck_w16_img32_h2_g1_r22"}, {0, "c8_s2_k13_r4"}};
    const char *out = hu_path(dir, "fault.safetensors");
    remove(out);
    const size_t files = hu_count_files(dir);
    for (size_t w = 0; w < sizeof walk / sizeof walk[0]; w++) {
        const struct set *set = &sets[walk[w].set];
        int failures = 0;
        for (long n = 1;; n++) {
            rm_fault_arm(RM_FAULT_HOST_ALLOC, n);
            repmlp_status s;
            const char *train = fixture(set->dir, walk[w].name, "train.safetensors");
            const char *cfg_path = fixture(set->dir, walk[w].name, "config.json");
            char *text = hu_read_file(cfg_path, NULL);
            if (walk[w].set == 2) {
                rm_repmlpnet_config c;
                s = rm_repmlpnet_config_parse(text, cfg_path, &c);
                if (s == REPMLP_OK) s = ts_fuse_file(RM_ARCH_REPMLPNET, &c, train, out);
            } else if (walk[w].set == 1) {
                rm_resnet_config c;
                s = rm_resnet_config_parse(text, cfg_path, &c);
                if (s == REPMLP_OK) s = ts_fuse_file(RM_ARCH_RESNET, &c, train, out);
            } else {
                rm_block_v2_config c;
                s = rm_block_v2_config_parse(text, cfg_path, &c);
                if (s == REPMLP_OK) s = ts_fuse_file(RM_ARCH_BLOCK_V2, &c, train, out);
            }
            free(text);
            const long calls = rm_fault_calls(RM_FAULT_HOST_ALLOC);
            rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
            if (n > calls) {
                hu_expect_ok(s);
                break;
            }
            HU_EXPECT_ERROR(s, REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
            assert_false(hu_exists(out));
            assert_int_equal(hu_count_files(dir), files);
            failures++;
        }
        remove(out);
        print_message("%s/%s: %d allocation failure points checked\n", set->dir, walk[w].name,
                      failures);
        assert_true(failures > 50);
    }
}

/* ---------------------------------------------------------------- the real CLI */

static char *err_text; /* stderr of the last run */

/* Runs the tool with argv (NULL-terminated, without argv[0]); returns its exit status. */
static int run(const char *const *args) {
    return hu_run_tool(TOOL, args, dir, &err_text, NULL);
}

static void expect_failure(const char *const *args, int code, const char *out,
                           const char *const *needles) {
    size_t files = hu_count_files(dir);
    int got = run(args);
    if (got != code) fail_msg("exit status %d, expected %d; stderr: %s", got, code, err_text);
    size_t lines = 0;
    for (const char *p = err_text; *p; p++) lines += *p == '\n';
    if (lines != 1 || err_text[strlen(err_text) - 1] != '\n') {
        fail_msg("stderr is not exactly one line: [%s]", err_text);
    }
    if (strncmp(err_text, "repmlp-fuse: ", 13) != 0) fail_msg("stderr: %s", err_text);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(err_text, *n)) fail_msg("stderr lacks \"%s\": %s", *n, err_text);
    }
    assert_false(hu_exists(out));
    assert_int_equal(hu_count_files(dir), files);
    print_message("exit %d: %s", got, err_text);
}

#define EXPECT_FAILURE(code, needles, ...)                                                         \
    expect_failure((const char *const[]){__VA_ARGS__, NULL}, code, out, needles)
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool same_file(const char *a, const char *b) {
    size_t na, nb;
    char *da = hu_read_file(a, &na), *db = hu_read_file(b, &nb);
    bool same = na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void cli_fuses_every_arch(void **state) {
    (void)state;
    const char *out = hu_path(dir, "cli.safetensors"), *lib = hu_path(dir, "lib.safetensors");
    static const struct {
        int set;
        const char *name;
    } pick[] = {
        {0, "c12_s4_h2w3_k135_r4"}, {1, "light_w16_img64_h2_g2_k135"}, {2, "p2_c8_16_32_s2_4_32"}};
    for (size_t i = 0; i < sizeof pick / sizeof pick[0]; i++) {
        const struct set *set = &sets[pick[i].set];
        char cfg[1100];
        snprintf(cfg, sizeof cfg, "@%s", fixture(set->dir, pick[i].name, "config.json"));
        const char *train = fixture(set->dir, pick[i].name, "train.safetensors");
        int code =
            run((const char *const[]){"--arch", set->arch, "--config", cfg, train, out, NULL});
        if (code != 0) fail_msg("exit %d: %s", code, err_text);
        assert_string_equal(err_text, "");
        /* the same bytes as the library call (RepMLPNet: without img_H, its default) */
        const int64_t in[4] = {0};
        char *json = NULL;
        if (pick[i].set == 2) {
            rm_repmlpnet_config c;
            char *text = hu_read_file(fixture(set->dir, pick[i].name, "config.json"), NULL);
            hu_expect_ok(rm_repmlpnet_config_parse(text, "cfg", &c));
            free(text);
            hu_expect_ok(ts_fuse_file(RM_ARCH_REPMLPNET, &c, train, lib));
        } else {
            json = fuse_case(set, pick[i].name, in, lib);
        }
        assert_true(same_file(out, lib));
        rm_free(json);
        remove(out);
        remove(lib);
    }
}

static void cli_rejections(void **state) {
    (void)state;
    const char *out = hu_path(dir, "out.safetensors");
    const char *bad = hu_path(dir, "bad.safetensors");
    const float four[4] = {1, 2, 3, 4};
    char cfg[1100];

    /* RepMLPBlock c8_s2_k13_r4: C 8, S 2, h = w = 4, kernels 1, 3 */
    const char *v2 = fixture("block_v2", "c8_s2_k13_r4", "train.safetensors");
    snprintf(cfg, sizeof cfg, "@%s", fixture("block_v2", "c8_s2_k13_r4", "config.json"));
    hu_copy_st(v2, bad, "", &(hu_edit){"repconv3.bn.running_mean", 0, -1, {0}, NULL}, NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'repconv3.bn.running_mean' is missing"), "--arch",
                   "RepMLPBlock", "--config", cfg, bad, out);
    hu_copy_st(v2, bad, "", NULL, "repconv5.conv.weight");
    EXPECT_FAILURE(1,
                   NEEDLES(bad, "tensor 'repconv5.conv.weight' is unexpected for arch RepMLPBlock"),
                   "--arch", "RepMLPBlock", "--config", cfg, bad, out);
    hu_copy_st(v2, bad, "", &(hu_edit){"fc3.weight", RM_DTYPE_F32, 2, {2, 2}, four}, NULL);
    EXPECT_FAILURE(1,
                   NEEDLES(bad, "tensor 'fc3.weight': expected shape (32, 16, 1, 1), got (2, 2)"),
                   "--arch", "RepMLPBlock", "--config", cfg, bad, out);
    hu_copy_st(v2, bad, "", &(hu_edit){"gp.fc1.bias", RM_DTYPE_F32, 1, {4}, four}, NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'gp.fc1.bias': expected shape (2), got (4)"), "--arch",
                   "RepMLPBlock", "--config", cfg, bad, out);
    EXPECT_FAILURE(1, NEEDLES(v2, "--config", "config key 'num_sharesets'", "not divisible by 3"),
                   "--arch", "RepMLPBlock", "--config",
                   "{\"in_channels\":8,\"out_channels\":8,\"H\":8,\"W\":8,\"h\":4,\"w\":4,"
                   "\"num_sharesets\":3}",
                   v2, out);
    EXPECT_FAILURE(1, NEEDLES(v2, "needs --config"), "--arch", "RepMLPBlock", v2, out);

    /* RepMLPResNet light_w16_img64_h2_g2_k135 */
    const char *res = fixture("resnet", "light_w16_img64_h2_g2_k135", "train.safetensors");
    snprintf(cfg, sizeof cfg, "@%s",
             fixture("resnet", "light_w16_img64_h2_g2_k135", "config.json"));
    hu_copy_st(res, bad, "",
               &(hu_edit){"stage2.1.light_repmlp.fc3_bn.running_var", 0, -1, {0}, NULL}, NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stage2.1.light_repmlp.fc3_bn.running_var' is missing"),
                   "--arch", "RepMLPResNet", "--config", cfg, bad, out);
    hu_copy_st(res, bad, "", NULL, "stage3.1.shortcut.conv.weight");
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stage3.1.shortcut.conv.weight' is unexpected"),
                   "--arch", "RepMLPResNet", "--config", cfg, bad, out);
    hu_copy_st(res, bad, "", &(hu_edit){"stage0.0.conv.weight", RM_DTYPE_F32, 2, {2, 2}, four},
               NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stage0.0.conv.weight': expected shape (8, 3, 7, 7)"),
                   "--arch", "RepMLPResNet", "--config", cfg, bad, out);
    const int64_t nbt[2] = {1, 2};
    hu_copy_st(res, bad, "",
               &(hu_edit){"stage1.0.conv2.bn.num_batches_tracked", RM_DTYPE_I64, 1, {2}, nbt},
               NULL);
    EXPECT_FAILURE(
        1,
        NEEDLES(bad, "tensor 'stage1.0.conv2.bn.num_batches_tracked'", "expected shape () or (1)"),
        "--arch", "RepMLPResNet", "--config", cfg, bad, out);
    EXPECT_FAILURE(1, NEEDLES(res, "--config", "config key 'h'", "not divisible by h = 3"),
                   "--arch", "RepMLPResNet", "--config",
                   "{\"num_classes\":10,\"block_type\":\"light\",\"img_H\":64,\"img_W\":64,"
                   "\"h\":3,\"w\":2,\"widths\":[16,32,64,128],\"stem_channels\":8}",
                   res, out);
    /* a preset against a small file: the first tensor read is named with its full shape */
    EXPECT_FAILURE(1, NEEDLES(res, "tensor 'stage0.0.conv.weight': expected shape (64, 3, 7, 7)"),
                   "--preset", "RepMLPRes50-Light-224", res, out);
    EXPECT_FAILURE(1, NEEDLES(res, "needs --config or --preset"), "--arch", "RepMLPResNet", res,
                   out);

    /* RepMLPNet p2_c8_16_32_s2_4_32 */
    const char *net = fixture("repmlpnet", "p2_c8_16_32_s2_4_32", "train.safetensors");
    snprintf(cfg, sizeof cfg, "@%s", fixture("repmlpnet", "p2_c8_16_32_s2_4_32", "config.json"));
    hu_copy_st(net, bad, "", &(hu_edit){"stages.2.1.prebn2.running_var", 0, -1, {0}, NULL}, NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stages.2.1.prebn2.running_var' is missing"), "--arch",
                   "RepMLPNet", "--config", cfg, bad, out);
    hu_copy_st(net, bad, "", NULL, "stages.2.2.prebn1.weight");
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stages.2.2.prebn1.weight' is unexpected"), "--arch",
                   "RepMLPNet", "--config", cfg, bad, out);
    hu_copy_st(net, bad, "", &(hu_edit){"head.weight", RM_DTYPE_F32, 2, {2, 2}, four}, NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'head.weight': expected shape (10, 32), got (2, 2)"),
                   "--arch", "RepMLPNet", "--config", cfg, bad, out);
    const float with_inf[4] = {1, INFINITY, 1, 1};
    hu_copy_st(net, bad, "",
               &(hu_edit){"stages.1.0.repmlp_block.fc3_bn.weight", RM_DTYPE_F32, 1, {4}, with_inf},
               NULL);
    EXPECT_FAILURE(1, NEEDLES(bad, "tensor 'stages.1.0.repmlp_block.fc3_bn.weight'", "not finite"),
                   "--arch", "RepMLPNet", "--config", cfg, bad, out);
    EXPECT_FAILURE(1, NEEDLES(net, "--config", "config key 'ws'", "but 'num_blocks' has 3"),
                   "--arch", "RepMLPNet", "--config",
                   "{\"num_blocks\":[1,1,2],\"channels\":[8,16,32],\"hs\":[4,2,1],\"ws\":[4,2],"
                   "\"sharesets_nums\":[2,4,32]}",
                   net, out);
    EXPECT_FAILURE(
        1, NEEDLES(net, "tensor 'conv_embedding.conv.weight': expected shape (64, 3, 4, 4)"),
        "--preset", "RepMLPNet-T224", net, out);
    /* --config overrides the preset; its errors are reported against --config */
    EXPECT_FAILURE(
        1, NEEDLES(net, "--config", "config key 'sharesets_nums'", "not divisible by 100"),
        "--preset", "RepMLPNet-T224", "--config", "{\"sharesets_nums\":[1,4,16,100]}", net, out);
    /* ... and a complete override makes any preset this network: the same file as --config */
    static const char *const p2 = "{\"patch_size\":[2,2],\"num_blocks\":[1,1,2],"
                                  "\"channels\":[8,16,32],\"hs\":[4,2,1],\"ws\":[4,2,1],"
                                  "\"sharesets_nums\":[2,4,32],\"num_class\":10,"
                                  "\"img_H\":16,\"img_W\":16}";
    const char *ref = hu_path(dir, "ref.safetensors");
    int code =
        run((const char *const[]){"--preset", "RepMLPNet-L256", "--config", p2, net, out, NULL});
    if (code != 0) fail_msg("exit %d: %s", code, err_text);
    code = run((const char *const[]){"--arch", "RepMLPNet", "--config", cfg, net, ref, NULL});
    if (code != 0) fail_msg("exit %d: %s", code, err_text);
    assert_true(same_file(out, ref));
    remove(out);
    remove(ref);
    EXPECT_FAILURE(2, NEEDLES("preset 'RepMLPNet-T224' is for --arch RepMLPNet, not RepMLPResNet"),
                   "--arch", "RepMLPResNet", "--preset", "RepMLPNet-T224", net, out);
    remove(bad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_fixture_case),  cmocka_unit_test(fused_tensor_names),
        cmocka_unit_test(new_rules),           cmocka_unit_test(repmlpnet_other_input_sizes),
        cmocka_unit_test(allocation_failures), cmocka_unit_test(cli_fuses_every_arch),
        cmocka_unit_test(cli_rejections),
    };
    int rc = ts_run_group(tests, setup, teardown);
    free(err_text);
    return ts_exit_code(rc);
}
