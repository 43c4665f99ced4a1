/* The RepMLP v1 block fuser on every fixture case (tests/fixtures/block_v1/<case>/, made by
 * tools/fixtures/make_block_v1_fixtures.py from a float64 PyTorch model):
 *  1. the C training-time reference reproduces PyTorch's float64 output (<= 4e-15 relative:
 *     ~10x the worst measured, 3.5e-16: float64 summation order only),
 *     which makes it a trustworthy oracle;
 *  2. the fused file, run through the C deploy reference, matches it (<= 5e-7 relative: ~10x
 *     the worst measured, 4.9e-8; see 1. for the reference);
 *  3. fusing under a name prefix (as network fusers do) gives bit-identical tensors;
 * plus the fuser's own rejections (non-finite values, bad BN statistics, stray tensors). */
#define _POSIX_C_SOURCE 200809L
#include "host_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_v1_fused_load.h"
#include "block_v1_ref.h"
#include "compare.h"
#include "core/alloc.h"
#include "core/fault.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/fuse_block_v1.h"
#include "model/fused_format.h"

#define FIXTURES REPMLP_SOURCE_DIR "/tests/fixtures/block_v1"
#define MAX_CASES 64

static char *dir;
static char *cases[MAX_CASES];
static int case_count;

static int compare_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int setup(void **state) {
    (void)state;
    dir = hu_tmpdir("test_fuse_block_v1");
    DIR *d = opendir(FIXTURES);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) && case_count < MAX_CASES) {
        if (e->d_name[0] == '.') continue;
        cases[case_count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(cases, (size_t)case_count, sizeof cases[0], compare_str);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < case_count; i++) free(cases[i]);
    hu_tmpdir_remove(dir);
    return 0;
}

static const char *fixture(const char *name, const char *file) {
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s/%s", FIXTURES, name, file);
    return p;
}

static rm_block_v1_config load_config(const char *name) {
    const char *path = fixture(name, "config.json");
    size_t n;
    char *text = hu_read_file(path, &n);
    cJSON *json = NULL;
    rm_block_v1_config cfg;
    hu_expect_ok(rm_json_parse(text, n, path, &json));
    hu_expect_ok(rm_block_v1_config_from_json(json, path, &cfg));
    cJSON_Delete(json);
    free(text);
    return cfg;
}

/* Float arrays owned by a test, freed together. */
typedef struct arena {
    float *items[64];
    int count;
} arena;

static const float *take(arena *a, rm_safetensors *st, const char *name, int ndim,
                         const int64_t *shape) {
    float *p = NULL;
    hu_expect_ok(rm_safetensors_read_f32(st, name, ndim, shape, &p));
    assert_true(a->count < 64);
    a->items[a->count++] = p;
    return p;
}

static void arena_free(arena *a) {
    for (int i = 0; i < a->count; i++) rm_free(a->items[i]);
    a->count = 0;
}

static ref_bn take_bn(arena *a, rm_safetensors *st, const char *base, int64_t channels) {
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    const float *p[4];
    char name[128];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", base, parts[i]);
        p[i] = take(a, st, name, 1, &channels);
    }
    return (ref_bn){p[0], p[1], p[2], p[3]};
}

static ref_block_v1_train load_train(arena *a, rm_safetensors *st, const rm_block_v1_config *c) {
    const int64_t C = c->in_channels, O = c->out_channels, g = c->fc3_groups;
    const int64_t cpp = C * c->hp * c->wp, hw = c->h * c->w;
    ref_block_v1_train t = {0};
    if (c->has_gp) {
        t.avg_bn = take_bn(a, st, "avg.bn", C);
        t.fc1_weight = take(a, st, "fc1_fc2.fc1.weight", 2, (int64_t[]){c->I, cpp});
        t.fc1_bias = take(a, st, "fc1_fc2.fc1.bias", 1, &c->I);
        t.fc2_weight = take(a, st, "fc1_fc2.fc2.weight", 2, (int64_t[]){cpp, c->I});
        t.fc2_bias = take(a, st, "fc1_fc2.fc2.bias", 1, &cpp);
    }
    t.fc3_weight = take(a, st, "fc3.weight", 4, (int64_t[]){O * hw, C * hw / g, 1, 1});
    t.fc3_bn = take_bn(a, st, "fc3_bn", O * hw);
    for (int i = 0; i < c->kernel_count; i++) {
        const int64_t k = c->kernels[i];
        char name[64];
        snprintf(name, sizeof name, "repconv%lld.conv.weight", (long long)k);
        t.conv_weight[i] = take(a, st, name, 4, (int64_t[]){O, C / g, k, k});
        snprintf(name, sizeof name, "repconv%lld.bn", (long long)k);
        t.conv_bn[i] = take_bn(a, st, name, O);
    }
    return t;
}

static double max_rel_error(const double *got, const double *want, size_t n) {
    return ref_compare_f64(got, want, n).rel; /* +Inf on any NaN/Inf */
}

static void every_fixture_case(void **state) {
    (void)state;
    assert_true(case_count >= 8);
    double worst_ref = 0, worst_fused = 0;
    for (int ci = 0; ci < case_count; ci++) {
        const char *name = cases[ci];
        const rm_block_v1_config cfg = load_config(name);
        arena a = {0};

        rm_safetensors *train = NULL, *in = NULL, *exp = NULL;
        hu_expect_ok(rm_safetensors_open(fixture(name, "train.safetensors"), &train));
        hu_expect_ok(rm_safetensors_open(fixture(name, "input.safetensors"), &in));
        hu_expect_ok(rm_safetensors_open(fixture(name, "expected.safetensors"), &exp));
        const rm_st_tensor *xt = rm_safetensors_find(in, "input");
        assert_non_null(xt);
        const int64_t n = xt->shape[0];
        const float *x = take(&a, in, "input", 4, (int64_t[]){n, cfg.in_channels, cfg.H, cfg.W});
        const int64_t yshape[4] = {n, cfg.out_channels, cfg.H, cfg.W};
        const size_t ycount = (size_t)(n * cfg.out_channels * cfg.H * cfg.W);
        double *want = NULL;
        hu_expect_ok(rm_safetensors_read_f64(exp, "output", 4, yshape, &want));
        double *y = malloc(ycount * sizeof *y);
        assert_non_null(y);

        /* 1. training-time reference vs PyTorch */
        const ref_block_v1_train t = load_train(&a, train, &cfg);
        hu_expect_ok(ref_block_v1_train_forward(&cfg, &t, n, x, y));
        const double err_ref = max_rel_error(y, want, ycount);

        /* 2. fuse to a file, load it as the runner would, deploy reference vs PyTorch */
        const char *fused = hu_path(dir, "fused.safetensors");
        hu_expect_ok(
            ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, fixture(name, "train.safetensors"), fused));
        rm_block_v1_config cfg2;
        ref_block_v1_fused d;
        hu_expect_ok(ref_block_v1_fused_load(fused, &cfg2, &d));
        assert_memory_equal(&cfg, &cfg2, sizeof cfg);
        const ref_block_v1_deploy dr = {d.fc1_weight, d.fc1_bias,   d.fc2_weight,
                                        d.fc2_bias,   d.fc3_weight, d.fc3_bias};
        hu_expect_ok(ref_block_v1_deploy_forward(&cfg, &dr, n, x, y));
        const double err_fused = max_rel_error(y, want, ycount);

        /* 3. under a prefix, into a writer shared with another block: same tensors */
        const char *prefixed = hu_path(dir, "prefixed.safetensors");
        hu_copy_st(fixture(name, "train.safetensors"), prefixed, "stage2.1.light_repmlp.", NULL,
                   NULL);
        rm_safetensors *pt = NULL;
        rm_st_writer *w = NULL;
        hu_expect_ok(rm_safetensors_open(prefixed, &pt));
        hu_expect_ok(rm_st_writer_create(&w));
        hu_expect_ok(rm_fuse_block_v1(&cfg, pt, "stage2.1.light_repmlp.", w, "blk."));
        hu_expect_ok(rm_fuse_check_all_used(pt, "RepMLPResNet"));
        hu_expect_ok(rm_st_writer_write(w, prefixed));
        rm_st_writer_destroy(w);
        rm_safetensors_close(pt);
        rm_safetensors *a1 = NULL, *a2 = NULL;
        hu_expect_ok(rm_safetensors_open(fused, &a1));
        hu_expect_ok(rm_safetensors_open(prefixed, &a2));
        assert_int_equal(rm_safetensors_count(a1), rm_safetensors_count(a2));
        for (size_t i = 0; i < rm_safetensors_count(a1); i++) {
            const rm_st_tensor *t1 = rm_safetensors_tensor_at(a1, i);
            char pname[128];
            snprintf(pname, sizeof pname, "blk.%s", t1->name);
            const rm_st_tensor *t2 = rm_safetensors_find(a2, pname);
            assert_non_null(t2);
            assert_int_equal(t1->nbytes, t2->nbytes);
            assert_memory_equal(t1->data, t2->data, t1->nbytes);
        }
        rm_safetensors_close(a1);
        rm_safetensors_close(a2);

        print_message("%-28s N=%lld  reference vs PyTorch %.2e   fused vs PyTorch %.2e\n", name,
                      (long long)n, err_ref, err_fused);
        if (!(err_ref <= 4e-15)) fail_msg("%s: training-time reference off by %.3e", name, err_ref);
        if (!(err_fused <= 5e-7)) fail_msg("%s: fused block off by %.3e", name, err_fused);
        worst_ref = fmax(worst_ref, err_ref);
        worst_fused = fmax(worst_fused, err_fused);

        ref_block_v1_fused_free(&d);
        free(y);
        rm_free(want);
        arena_free(&a);
        rm_safetensors_close(train);
        rm_safetensors_close(in);
        rm_safetensors_close(exp);
    }
    print_message("worst over %d cases: reference %.2e, fused %.2e\n", case_count, worst_ref,
                  worst_fused);
}

/* The fused file's metadata is the fixed format the runner relies on. */
static void fused_metadata(void **state) {
    (void)state;
    const char *fused = hu_path(dir, "meta.safetensors");
    const rm_block_v1_config cfg = load_config("gp_g4_k135");
    hu_expect_ok(
        ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, fixture("gp_g4_k135", "train.safetensors"), fused));
    rm_safetensors *st = NULL;
    hu_expect_ok(rm_safetensors_open(fused, &st));
    assert_string_equal(rm_safetensors_metadata(st, "format"), "repmlp-vk-fused");
    assert_string_equal(rm_safetensors_metadata(st, "format_version"), "1");
    assert_string_equal(rm_safetensors_metadata(st, "arch"), "RepMLP");
    assert_string_equal(rm_safetensors_metadata(st, "config"),
                        "{\"in_channels\":8,\"out_channels\":8,\"H\":6,\"W\":6,\"h\":3,\"w\":3,"
                        "\"reparam_conv_k\":[1,3,5],\"fc1_fc2_reduction\":1,\"fc3_groups\":4}");
    static const char *const names[] = {"fc1_fc2.fc1.weight", "fc1_fc2.fc1.bias",
                                        "fc1_fc2.fc2.weight", "fc1_fc2.fc2.bias",
                                        "fc3.weight",         "fc3.bias"};
    assert_int_equal(rm_safetensors_count(st), 6);
    for (int i = 0; i < 6; i++) {
        const rm_st_tensor *t = rm_safetensors_find(st, names[i]);
        assert_non_null(t);
        assert_int_equal(t->dtype, RM_DTYPE_F32);
    }
    const rm_st_tensor *w3 = rm_safetensors_find(st, "fc3.weight");
    assert_int_equal(w3->ndim, 4);
    assert_int_equal(w3->shape[0], 8 * 9);
    assert_int_equal(w3->shape[1], 8 * 9 / 4);
    assert_int_equal(w3->shape[2], 1);
    assert_int_equal(w3->shape[3], 1);
    const char *arch, *config;
    hu_expect_ok(rm_fused_read_metadata(st, &arch, &config));
    assert_string_equal(arch, "RepMLP");
    rm_safetensors_close(st);

    /* A training file is not a fused file. */
    rm_block_v1_config c2;
    ref_block_v1_fused d;
    const char *train = fixture("gp_g4_k135", "train.safetensors");
    HU_EXPECT_ERROR(ref_block_v1_fused_load(train, &c2, &d), REPMLP_ERROR_FORMAT, train,
                    "__metadata__ key 'format'");
}

/* Rejections that only the fuser can make, each naming the file and the tensor. */
static void fuser_rejections(void **state) {
    (void)state;
    const char *src = fixture("gp_c4_k13", "train.safetensors");
    const rm_block_v1_config cfg = load_config("gp_c4_k13");
    const char *bad = hu_path(dir, "bad.safetensors"), *out = hu_path(dir, "out.safetensors");
    const float neg_var[4] = {1, 1, -0.5f, 1};
    const float with_nan[4] = {1, NAN, 1, 1};
    const int64_t nbt[2] = {1, 2};
    const int32_t ints[4] = {1, 2, 3, 4};
    const struct {
        hu_edit e;
        const char *needle1, *needle2;
    } cases_[] = {
        {{"repconv3.bn.running_var", RM_DTYPE_F32, 1, {4}, neg_var},
         "tensor 'repconv3.bn.running_var'",
         "not positive"},
        {{"avg.bn.weight", RM_DTYPE_F32, 1, {4}, with_nan}, "tensor 'avg.bn.weight'", "not finite"},
        {{"fc3_bn.num_batches_tracked", RM_DTYPE_I64, 1, {2}, nbt},
         "tensor 'fc3_bn.num_batches_tracked'",
         "expected shape () or (1)"},
        {{"repconv1.bn.bias", RM_DTYPE_I32, 1, {4}, ints}, "tensor 'repconv1.bn.bias'", "I32"},
        {{"repconv1.bn.bias", RM_DTYPE_F32, 2, {2, 2}, with_nan},
         "tensor 'repconv1.bn.bias': expected shape (4), got (2, 2)",
         NULL},
        {{"fc1_fc2.fc2.bias", RM_DTYPE_F32, -1, {0}, NULL},
         "tensor 'fc1_fc2.fc2.bias' is missing",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases_ / sizeof cases_[0]; i++) {
        hu_copy_st(src, bad, "", &cases_[i].e, NULL);
        HU_EXPECT_ERROR(ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, bad, out), REPMLP_ERROR_FORMAT, bad,
                        cases_[i].needle1,
                        cases_[i].needle2 ? cases_[i].needle2 : cases_[i].needle1);
        print_message("%s\n", repmlp_last_error());
        assert_false(hu_exists(out));
    }
    /* num_batches_tracked as PyTorch writes it, shape () or (1): accepted and consumed */
    const int64_t one = 5;
    hu_copy_st(src, bad, "", &(hu_edit){"fc3_bn.num_batches_tracked", RM_DTYPE_I64, 0, {0}, &one},
               NULL);
    hu_expect_ok(ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, bad, out));
    remove(out);
    /* a stray tensor is named */
    hu_copy_st(src, bad, "", NULL, "repconv5.conv.weight");
    HU_EXPECT_ERROR(ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, bad, out), REPMLP_ERROR_FORMAT, bad,
                    "tensor 'repconv5.conv.weight' is unexpected for arch RepMLP");
    assert_false(hu_exists(out));
}

/* Each allocation of a whole fuse (config parse, read, fuse, write, reload) fails in turn:
 * the status is out-of-memory, nothing leaks (LeakSanitizer), no output is left. */
static void allocation_failures(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    const char *case_name = "gp_c8o4_g4_k5_nbt";
    const char *cfg_path = fixture(case_name, "config.json");
    const char *train = fixture(case_name, "train.safetensors");
    const char *out = hu_path(dir, "fault.safetensors");
    size_t len;
    char *text = hu_read_file(cfg_path, &len);
    int failures = 0;
    remove(out);
    const size_t files = hu_count_files(dir);
    for (long n = 1;; n++) {
        rm_fault_arm(RM_FAULT_HOST_ALLOC, n);
        cJSON *json = NULL;
        rm_block_v1_config cfg, cfg2;
        ref_block_v1_fused d = {0};
        repmlp_status s = rm_json_parse(text, len, cfg_path, &json);
        if (s == REPMLP_OK) s = rm_block_v1_config_from_json(json, cfg_path, &cfg);
        if (s == REPMLP_OK) s = ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, train, out);
        const bool written = s == REPMLP_OK;
        if (s == REPMLP_OK) s = ref_block_v1_fused_load(out, &cfg2, &d);
        ref_block_v1_fused_free(&d);
        cJSON_Delete(json);
        const long calls = rm_fault_calls(RM_FAULT_HOST_ALLOC);
        rm_fault_arm(RM_FAULT_HOST_ALLOC, 0);
        if (n > calls) {
            hu_expect_ok(s);
            break;
        }
        HU_EXPECT_ERROR(s, REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        if (!written) assert_false(hu_exists(out));
        assert_int_equal(hu_count_files(dir), files + (written ? 1 : 0));
        remove(out);
        failures++;
    }
    remove(out);
    free(text);
    print_message("%d allocation failure points checked\n", failures);
    assert_true(failures > 50);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_fixture_case),
        cmocka_unit_test(fused_metadata),
        cmocka_unit_test(fuser_rejections),
        cmocka_unit_test(allocation_failures),
    };
    return ts_exit_code(ts_run_group(tests, setup, teardown));
}
