/* 8-bit weights (docs/FUSED_FORMAT.md, "8-bit weights"), host only: quantize/dequantize against
 * a plain reference written here, fuse-time quantization (every GEMM/conv weight I8 plus F16
 * scales, everything else F32, values within half a step of the fp32 fuse), and the loader's
 * rejection of damaged files: each mutation of a good q8 file gives one line naming the tensor
 * and loads nothing. */
#include "host_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/model.h"
#include "io/safetensors.h"
#include "model/fused_format.h"
#include "model/weights_q8.h"
#include "repmlp/fuse.h"

#define NET_DIR REPMLP_SOURCE_DIR "/tests/fixtures/repmlpnet/p2_c8_16_32_s2_4_32"
/* (32, 128, 1, 1): four blocks per row */
#define MUTATED "stages.2.0.ffn_block.ffn_fc2.conv.weight"

/* fp16 rounding of a double, to nearest even, by scaling: the reference for the bit code. */
static double ref_f16(double x) {
    double a = fabs(x);
    if (a == 0) return x;
    int e;
    frexp(a, &e);                          /* a = m * 2^e, m in [0.5, 1) */
    int lsb = e - 11 < -24 ? -24 : e - 11; /* 11 significant bits, subnormals at 2^-24 */
    double r = nearbyint(ldexp(a, -lsb));  /* the default rounding mode: to nearest even */
    r = ldexp(r, lsb);
    if (r > 65504) r = INFINITY;
    return x < 0 ? -r : r;
}

static void fp16_conversion(void **state) {
    (void)state;
    uint64_t rng = 7;
    for (int i = 0; i < 200000; i++) {
        float x = (float)ldexp(hu_uniform(&rng, -1, 1), (int)hu_uniform(&rng, -30, 18));
        double want = ref_f16(x);
        double got = rm_q8_f16_to_f32(rm_q8_f32_to_f16(x));
        if (got != want) fail_msg("%.9g: fp16 %.9g, reference %.9g", (double)x, got, want);
    }
    /* ties to even, the largest half, overflow, the smallest subnormal */
    const float edge[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f,      65519.0f,
                          65520.0f,           5.9604645e-8f,      2.9802322e-8f, 4.4703484e-8f};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        assert_true(rm_q8_f16_to_f32(rm_q8_f32_to_f16(edge[i])) == (float)ref_f16(edge[i]));
}

/* q8 of rows x K in blocks of 32 against a loop written from the format's text. */
static void quantize_matches_reference(void **state) {
    (void)state;
    static const uint64_t Ks[] = {1, 3, 7, 31, 33, 97};
    uint64_t rng = 1;
    for (size_t c = 0; c < sizeof Ks / sizeof Ks[0]; c++) {
        const uint64_t rows = 5, K = Ks[c], blocks = (K + 31) / 32;
        double *x = malloc(rows * K * sizeof *x);
        int8_t *q = malloc(rows * K);
        float *s = malloc(rows * blocks * sizeof *s), *back = malloc(rows * K * sizeof *back);
        uint16_t *bits = malloc(rows * blocks * sizeof *bits);
        for (uint64_t i = 0; i < rows * K; i++) x[i] = hu_uniform(&rng, -2, 2) * (i % 5 + 1);
        for (uint64_t k = 0; k < K; k++) x[2 * K + k] = 0; /* a row of zeros: scale 0 */
        assert_int_equal(rm_q8_blocks(K, 32), blocks);
        assert_true(rm_q8_quantize(x, rows, K, 32, true, q, s));
        for (uint64_t r = 0; r < rows; r++) {
            for (uint64_t b = 0; b < blocks; b++) {
                double amax = 0;
                for (uint64_t k = b * 32; k < K && k < b * 32 + 32; k++)
                    amax = fmax(amax, fabs(x[r * K + k]));
                double want = ref_f16((float)(amax / 127));
                if (s[r * blocks + b] != want)
                    fail_msg("K %llu row %llu block %llu: scale %.9g, reference %.9g",
                             (unsigned long long)K, (unsigned long long)r, (unsigned long long)b,
                             (double)s[r * blocks + b], want);
                for (uint64_t k = b * 32; k < K && k < b * 32 + 32; k++) {
                    double v = want > 0 ? nearbyint(x[r * K + k] / want) : 0;
                    v = fmin(127, fmax(-127, v));
                    if (q[r * K + k] != (int8_t)v)
                        fail_msg("K %llu row %llu col %llu: q %d, reference %d",
                                 (unsigned long long)K, (unsigned long long)r,
                                 (unsigned long long)k, q[r * K + k], (int)v);
                }
            }
        }
        for (uint64_t i = 0; i < rows * blocks; i++) bits[i] = rm_q8_f32_to_f16(s[i]);
        hu_expect_ok(rm_q8_dequantize(q, bits, rows, K, 32, "mem", "w", back));
        for (uint64_t i = 0; i < rows * K; i++) {
            float scale = s[i / K * blocks + i % K / 32];
            assert_true(back[i] == (float)q[i] * scale);
            /* half a step, and the clamp at 127 when the scale rounded down */
            assert_true(fabs(back[i] - x[i]) <= scale * 0.5 + fabs(x[i]) * 1e-3);
        }
        free(x), free(q), free(s), free(back), free(bits);
    }
}

static char *fuse_net(const char *dir, repmlp_fuse_weights weights) {
    size_t n;
    char *config = hu_read_file(NET_DIR "/config.json", &n);
    repmlp_fuse_desc desc = {
        .size = sizeof desc, .arch = "RepMLPNet", .config_json = config, .weights = weights};
    char *out = malloc(1100);
    snprintf(out, 1100, "%s/%s.safetensors", dir, weights ? "q8" : "f32");
    hu_expect_ok(repmlp_fuse_file(&desc, NET_DIR "/train.safetensors", out));
    free(config);
    return out;
}

static bool is_core_weight(const rm_st_tensor *t) {
    size_t n = strlen(t->name);
    return t->ndim >= 2 && n > 7 && strcmp(t->name + n - 7, ".weight") == 0;
}

/* Every GEMM/conv weight of the q8 file is I8 (its fp32 shape) with F16 scales, within half a
 * step of the fp32 file's value; every other tensor is the fp32 file's, byte for byte. */
static void fuse_writes_q8(void **state) {
    (void)state;
    char *dir = hu_tmpdir("q8-fuse");
    char *f32 = fuse_net(dir, REPMLP_FUSE_WEIGHTS_F32), *q8 = fuse_net(dir, REPMLP_FUSE_WEIGHTS_Q8);
    rm_safetensors *a, *b;
    hu_expect_ok(rm_safetensors_open(f32, &a));
    hu_expect_ok(rm_safetensors_open(q8, &b));
    size_t weights = 0;
    for (size_t i = 0; i < rm_safetensors_count(a); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(a, i), *u;
        assert_int_equal(t->dtype, RM_DTYPE_F32);
        assert_non_null(u = rm_safetensors_find(b, t->name));
        assert_int_equal(t->ndim, u->ndim);
        assert_memory_equal(t->shape, u->shape, sizeof t->shape);
        if (!is_core_weight(t)) {
            assert_int_equal(u->dtype, RM_DTYPE_F32);
            assert_memory_equal(t->data, u->data, t->nbytes);
            continue;
        }
        weights++;
        assert_int_equal(u->dtype, RM_DTYPE_I8);
        char name[512];
        snprintf(name, sizeof name, "%s_scale", t->name);
        const rm_st_tensor *sc = rm_safetensors_find(b, name);
        assert_non_null(sc);
        uint64_t rows = (uint64_t)t->shape[0], K = t->count / rows, blocks = (K + 31) / 32;
        assert_int_equal(sc->dtype, RM_DTYPE_F16);
        assert_int_equal(sc->ndim, 2);
        assert_int_equal(sc->shape[0], rows);
        assert_int_equal(sc->shape[1], blocks);
        float *want = malloc(t->count * sizeof *want), *got = malloc(t->count * sizeof *got);
        assert_true(rm_st_tensor_to_f32(t, want));
        hu_expect_ok(rm_q8_dequantize(u->data, sc->data, rows, K, 32, q8, t->name, got));
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t k = 0; k < K; k++) {
                float amax = 0;
                for (uint64_t j = k / 32 * 32; j < K && j < k / 32 * 32 + 32; j++)
                    amax = fmaxf(amax, fabsf(want[r * K + j]));
                /* half a step of amax/127, plus the fp16 rounding of the scale */
                assert_true(fabsf(got[r * K + k] - want[r * K + k]) <= amax / 127 * 0.51f);
            }
        free(want), free(got);
    }
    assert_int_equal(rm_safetensors_count(b), rm_safetensors_count(a) + weights);
    assert_true(weights >= 10);
    /* an unknown weights type is refused */
    repmlp_fuse_desc bad = {
        .size = sizeof bad, .preset = "RepMLPNet-T224", .weights = (repmlp_fuse_weights)7};
    HU_EXPECT_ERROR(repmlp_fuse_file(&bad, NET_DIR "/train.safetensors", f32),
                    REPMLP_ERROR_INVALID_ARGUMENT, "unknown weights type 7");
    rm_safetensors_close(a);
    rm_safetensors_close(b);
    free(f32), free(q8);
    hu_tmpdir_remove(dir);
}

/* One damage to the q8 file: tensor `name` replaced (ndim < 0: dropped). */
typedef struct mutation {
    const char *what, *name;
    int dtype, ndim;
    int64_t shape[4];
    int poke; /* >= 0: byte of the (copied) data to set to `value` */
    unsigned char value[2];
    const char *needle; /* in the message, besides the file */
} mutation;

static void write_mutated(const char *src, const char *dst, const mutation *m) {
    rm_safetensors *st;
    rm_st_writer *w;
    hu_expect_ok(rm_safetensors_open(src, &st));
    hu_expect_ok(rm_st_writer_create(&w));
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        if (strcmp(t->name, m->name) != 0) {
            hu_expect_ok(rm_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data));
            continue;
        }
        if (m->ndim < 0) continue;
        rm_dtype dtype = m->dtype >= 0 ? (rm_dtype)m->dtype : t->dtype;
        int ndim = m->ndim ? m->ndim : t->ndim;
        const int64_t *shape = m->ndim ? m->shape : t->shape;
        size_t count = 1;
        for (int d = 0; d < ndim; d++) count *= (size_t)shape[d];
        size_t bytes = count * rm_dtype_size(dtype);
        unsigned char *data = calloc(bytes, 1);
        memcpy(data, t->data, bytes < t->nbytes ? bytes : t->nbytes);
        if (m->poke >= 0) memcpy(data + m->poke, m->value, sizeof m->value);
        hu_expect_ok(rm_st_writer_add(w, t->name, dtype, ndim, shape, data));
        free(data);
    }
    const char *arch, *config;
    hu_expect_ok(rm_fused_read_metadata(st, &arch, &config));
    hu_expect_ok(rm_fused_set_metadata(w, arch, config));
    hu_expect_ok(rm_st_writer_write(w, dst));
    rm_st_writer_destroy(w);
    rm_safetensors_close(st);
}

static void loader_rejects_damage(void **state) {
    (void)state;
    char *dir = hu_tmpdir("q8-load");
    char *q8 = fuse_net(dir, REPMLP_FUSE_WEIGHTS_Q8);
    hu_expect_ok(rm_model_check_file(q8, 2));
    const char *sc = MUTATED "_scale";
    /* F16 bits, little-endian: NaN 0x7e00, Inf 0x7c00, 0, -1 0xbc00 */
    const mutation cases[] = {
        {"NaN scale", sc, -1, 0, {0}, 2, {0x00, 0x7e}, "scale nan is not usable"},
        {"Inf scale", sc, -1, 0, {0}, 2, {0x00, 0x7c}, "scale inf is not usable"},
        {"zero scale", sc, -1, 0, {0}, 2, {0x00, 0x00}, "row 0 block 1: scale 0 is not usable"},
        {"negative scale", sc, -1, 0, {0}, 0, {0x00, 0xbc}, "scale -1 is not usable"},
        {"-128", MUTATED, -1, 0, {0}, 5, {0x80, 0x80}, "row 0 column 5 is -128"},
        {"block count", sc, -1, 2, {32, 3}, -1, {0}, "expected shape (32, 4) (rows, blocks of 32)"},
        {"rows", sc, -1, 2, {31, 4}, -1, {0}, "expected shape (32, 4)"},
        {"scales F32", sc, RM_DTYPE_F32, 0, {0}, -1, {0}, "dtype F32, 8-bit scales are F16"},
        {"no scales", sc, -1, -1, {0}, -1, {0}, "its scales '" MUTATED "_scale' are missing"},
        {"weight I16", MUTATED, RM_DTYPE_I16, 0, {0}, -1, {0}, "fused files hold F32"},
        {"weight 1 dim", MUTATED, -1, 1, {4096}, -1, {0}, "needs 2 to 4 dims"},
        {"weight shape", MUTATED, -1, 4, {32, 96, 1, 1}, -1, {0}, "expected shape (32, 3)"},
        {"bias I8",
         "stages.2.0.ffn_block.ffn_fc2.conv.bias",
         RM_DTYPE_I8,
         0,
         {0},
         -1,
         {0},
         "needs 2 to 4 dims"},
    };
    const char *bad = hu_path(dir, "bad.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("%s\n", cases[i].what);
        write_mutated(q8, bad, &cases[i]);
        HU_EXPECT_ERROR(rm_model_check_file(bad, 1), REPMLP_ERROR_FORMAT, bad, cases[i].needle);
    }
    /* a truncated file: the last tensor's bytes run past the end */
    size_t n;
    char *bytes = hu_read_file(q8, &n);
    hu_write_file(bad, bytes, n - 3);
    HU_EXPECT_ERROR(rm_model_check_file(bad, 1), REPMLP_ERROR_FORMAT, bad);
    free(bytes);
    free(q8);
    hu_tmpdir_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp16_conversion),
        cmocka_unit_test(quantize_matches_reference),
        cmocka_unit_test(fuse_writes_q8),
        cmocka_unit_test(loader_rejects_damage),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
