/* The fusion rules one by one: a small case checked by hand, then random cases against the
 * brute-force computation the rule replaces (BN applied after/before the layer, a direct
 * convolution on a zero-padded partition). */
#include "host_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/fuse_rules.h"

static void close_to(double got, double want, int line) {
    if (!(fabs(got - want) <= 1e-12 * (1.0 + fabs(want)))) {
        fail_msg("line %d: got %.17g, want %.17g", line, got, want);
    }
}
#define CLOSE(a, b) close_to((a), (b), __LINE__)

static uint64_t rng = 12345;

static double *randoms(size_t n, double lo, double hi) {
    double *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = hu_uniform(&rng, lo, hi);
    return p;
}

static double *copy(const double *src, size_t n) {
    double *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    memcpy(p, src, n * sizeof *p);
    return p;
}

/* sqrt(var + eps) == s exactly enough for hand-checked numbers */
#define VAR(s) ((s) * (s)-RM_BN_EPS)

static void bn_into_rows_by_hand(void **state) {
    (void)state;
    const double gamma[2] = {2, -1}, beta[2] = {0.5, 1}, mean[2] = {1, -2};
    const double var[2] = {VAR(2.0), VAR(1.0)}; /* t = {1, -1} */
    rm_bn_params bn = {gamma, beta, mean, var, 2};
    double w[4] = {1, 2, 3, 4}, b[2];
    rm_fuse_bn_into_rows(&bn, 1, 2, w, NULL, b);
    CLOSE(w[0], 1);
    CLOSE(w[1], 2);
    CLOSE(w[2], -3);
    CLOSE(w[3], -4);
    CLOSE(b[0], -0.5); /* 0.5 - 1*1 */
    CLOSE(b[1], -1);   /* 1 - (-2)(-1) */
    double w2[4] = {1, 2, 3, 4}, bias[2] = {10, 20};
    rm_fuse_bn_into_rows(&bn, 1, 2, w2, bias, bias); /* in place */
    CLOSE(bias[0], 9.5);
    CLOSE(bias[1], -21);
    /* two rows per channel (per-shareset BN): both rows of channel 0 scale by t0 */
    rm_bn_params one = {gamma, beta, mean, var, 1};
    double w3[2] = {5, 7}, b3[2];
    rm_fuse_bn_into_rows(&one, 2, 1, w3, NULL, b3);
    CLOSE(w3[0], 5);
    CLOSE(w3[1], 7);
    CLOSE(b3[0], -0.5);
    CLOSE(b3[1], -0.5);
}

/* BN(W x (+ b)) == W' x + b' for random layers, with and without a bias. */
static void bn_into_rows_brute_force(void **state) {
    (void)state;
    for (int trial = 0; trial < 20; trial++) {
        const int64_t channels = 1 + trial % 5, rpc = 1 + trial % 3, len = 1 + trial % 7;
        const int64_t rows = channels * rpc;
        double *gamma = randoms((size_t)channels, -2, 2), *beta = randoms((size_t)channels, -1, 1);
        double *mean = randoms((size_t)channels, -1, 1), *var = randoms((size_t)channels, 0.1, 3);
        double *w = randoms((size_t)(rows * len), -1, 1), *x = randoms((size_t)len, -1, 1);
        double *b = randoms((size_t)rows, -1, 1);
        const bool with_bias = trial % 2;
        double *wf = copy(w, (size_t)(rows * len)), *bf = malloc((size_t)rows * sizeof *bf);
        rm_bn_params bn = {gamma, beta, mean, var, channels};
        rm_fuse_bn_into_rows(&bn, rpc, len, wf, with_bias ? b : NULL, bf);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t c = r / rpc;
            double z = with_bias ? b[r] : 0.0, zf = bf[r];
            for (int64_t i = 0; i < len; i++) {
                z += w[r * len + i] * x[i];
                zf += wf[r * len + i] * x[i];
            }
            const double want = (z - mean[c]) / sqrt(var[c] + RM_BN_EPS) * gamma[c] + beta[c];
            CLOSE(zf, want);
        }
        free(gamma), free(beta), free(mean), free(var), free(w), free(x), free(b), free(wf),
            free(bf);
    }
}

static void pad_kernel_by_hand(void **state) {
    (void)state;
    const double k1[2] = {7, 8}; /* (2, 1, 1, 1) */
    double d[18];
    memset(d, 0xff, sizeof d); /* overwritten entirely */
    rm_fuse_pad_kernel(k1, 2, 1, 1, 3, d);
    for (int i = 0; i < 18; i++) {
        const double want = i == 4 ? 7 : i == 13 ? 8 : 0;
        CLOSE(d[i], want);
    }
    double k3[9], d5[25];
    for (int i = 0; i < 9; i++) k3[i] = i + 1;
    rm_fuse_pad_kernel(k3, 1, 1, 3, 5, d5);
    for (int y = 0; y < 5; y++) {
        for (int x = 0; x < 5; x++) {
            const bool inside = y >= 1 && y <= 3 && x >= 1 && x <= 3;
            CLOSE(d5[y * 5 + x], inside ? k3[(y - 1) * 3 + x - 1] : 0.0);
        }
    }
    double same[9];
    rm_fuse_pad_kernel(k3, 1, 1, 3, 3, same);
    assert_memory_equal(same, k3, sizeof k3);
}

static void conv_to_fc_by_hand(void **state) {
    (void)state;
    /* one channel, a 1x3 partition, 3x3 kernel: only the middle kernel row ever lands */
    const double k[9] = {9, 9, 9, 1, 2, 3, 9, 9, 9}, b[1] = {0.5};
    double w[9] = {0}, bias[3] = {1, 1, 1};
    rm_fuse_conv_to_fc(k, b, 1, 1, 1, 3, 3, w, bias);
    const double want[9] = {2, 3, 0, 1, 2, 3, 0, 1, 2};
    for (int i = 0; i < 9; i++) CLOSE(w[i], want[i]);
    for (int i = 0; i < 3; i++) CLOSE(bias[i], 1.5); /* added, not overwritten */
}

/* Direct grouped conv (stride 1, padding kmax/2, zero outside) on a random partition equals
 * the FC matrix applied to the flattened partition, for C != O, h != w and kmax > h, w. */
static void conv_to_fc_brute_force(void **state) {
    (void)state;
    static const struct {
        int64_t O, C, g, h, w, k;
    } cases[] = {{1, 1, 1, 3, 3, 3}, {2, 3, 1, 2, 3, 7}, {4, 2, 2, 3, 5, 5}, {6, 4, 2, 4, 1, 3},
                 {3, 6, 3, 5, 2, 1}, {8, 8, 8, 3, 3, 9}, {2, 4, 1, 1, 1, 5}, {5, 10, 5, 2, 4, 3}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t O = cases[t].O, C = cases[t].C, g = cases[t].g, h = cases[t].h,
                      w = cases[t].w, k = cases[t].k, cg = C / g, og = O / g, hw = h * w;
        double *kern = randoms((size_t)(O * cg * k * k), -1, 1), *kb = randoms((size_t)O, -1, 1);
        double *x = randoms((size_t)(C * hw), -1, 1);
        double *fw = calloc((size_t)(O * hw * cg * hw), sizeof *fw);
        double *fb = calloc((size_t)(O * hw), sizeof *fb);
        assert_true(fw && fb);
        rm_fuse_conv_to_fc(kern, kb, O, cg, h, w, k, fw, fb);
        double err = 0;
        for (int64_t o = 0; o < O; o++) {
            const int64_t G = o / og;
            for (int64_t y = 0; y < h; y++) {
                for (int64_t xx = 0; xx < w; xx++) {
                    double conv = kb[o];
                    for (int64_t i = 0; i < cg; i++) {
                        for (int64_t ky = 0; ky < k; ky++) {
                            for (int64_t kx = 0; kx < k; kx++) {
                                const int64_t sy = y + ky - k / 2, sx = xx + kx - k / 2;
                                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                                conv += kern[((o * cg + i) * k + ky) * k + kx] *
                                        x[((G * cg + i) * h + sy) * w + sx];
                            }
                        }
                    }
                    /* the grouped FC: row o*hw + p sees group G's columns only */
                    const int64_t row = o * hw + y * w + xx;
                    double fc = fb[row];
                    for (int64_t j = 0; j < cg * hw; j++) {
                        fc += fw[row * cg * hw + j] * x[G * cg * hw + j];
                    }
                    const double d = fabs(fc - conv);
                    if (!isfinite(d)) /* a NaN or Inf fails for good: nothing exceeds Inf */
                        err = INFINITY;
                    else if (d > err)
                        err = d;
                }
            }
        }
        print_message("conv->fc O=%lld C=%lld g=%lld h=%lld w=%lld k=%lld: max error %.2e\n",
                      (long long)O, (long long)C, (long long)g, (long long)h, (long long)w,
                      (long long)k, err);
        assert_true(err < 1e-12);
        free(kern), free(kb), free(x), free(fw), free(fb);
    }
}

static void bn_into_next_fc_by_hand(void **state) {
    (void)state;
    const double gamma[2] = {2, -1}, beta[2] = {1, 0}, mean[2] = {0.5, 3};
    const double var[2] = {VAR(1.0), VAR(1.0)}; /* s = {2, -1}, a = {0, 3} */
    rm_bn_params bn = {gamma, beta, mean, var, 2};
    double w[4] = {1, 2, 3, 4}, b[1] = {0.5};
    rm_fuse_bn_into_next_fc_columns(&bn, 2, 1, w, b);
    CLOSE(b[0], 21.5); /* 0.5 + 3*3 + 4*3, from the unscaled weights */
    CLOSE(w[0], 2);
    CLOSE(w[1], 4);
    CLOSE(w[2], -3);
    CLOSE(w[3], -4);
}

/* W BN(v) + b == W' v + b' with column j in channel j / cols_per_channel. */
static void bn_into_next_fc_brute_force(void **state) {
    (void)state;
    for (int trial = 0; trial < 20; trial++) {
        const int64_t channels = 1 + trial % 4, cpc = 1 + trial % 5, rows = 1 + trial % 6;
        const int64_t cols = channels * cpc;
        double *gamma = randoms((size_t)channels, -2, 2), *beta = randoms((size_t)channels, -1, 1);
        double *mean = randoms((size_t)channels, -1, 1), *var = randoms((size_t)channels, 0.1, 3);
        double *w = randoms((size_t)(rows * cols), -1, 1), *b = randoms((size_t)rows, -1, 1);
        double *v = randoms((size_t)cols, -2, 2);
        double *wf = copy(w, (size_t)(rows * cols)), *bf = copy(b, (size_t)rows);
        rm_bn_params bn = {gamma, beta, mean, var, channels};
        rm_fuse_bn_into_next_fc_columns(&bn, cpc, rows, wf, bf);
        for (int64_t r = 0; r < rows; r++) {
            double want = b[r], got = bf[r];
            for (int64_t j = 0; j < cols; j++) {
                const int64_t c = j / cpc;
                const double bnv = (v[j] - mean[c]) / sqrt(var[c] + RM_BN_EPS) * gamma[c] + beta[c];
                want += w[r * cols + j] * bnv;
                got += wf[r * cols + j] * v[j];
            }
            CLOSE(got, want);
        }
        free(gamma), free(beta), free(mean), free(var), free(w), free(b), free(v), free(wf),
            free(bf);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bn_into_rows_by_hand),        cmocka_unit_test(bn_into_rows_brute_force),
        cmocka_unit_test(pad_kernel_by_hand),          cmocka_unit_test(conv_to_fc_by_hand),
        cmocka_unit_test(conv_to_fc_brute_force),      cmocka_unit_test(bn_into_next_fc_by_hand),
        cmocka_unit_test(bn_into_next_fc_brute_force),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
