/* Softmax + top-k shader vs the C reference: class counts and k that are not multiples of the
 * workgroup (1, 3, 7, 97, 1000), several rows, ties (broken towards the lower class), an
 * infinite logit, and rows whose best classes sit at the end. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "ops_ref.h"

/* The probabilities are fp32 exp and sums over up to 1000 classes: worst measured 1.6e-7
 * relative (both drivers, 2026-11-30). */
#define TOPK_TOLERANCE 1.5e-6

typedef enum { RANDOM, TIES, SORTED_UP } logits_kind;

static void check(uint32_t rows, uint32_t classes, uint32_t k, logits_kind kind) {
    size_t nx = (size_t)rows * classes, ny = (size_t)rows * k;
    float *x = malloc(nx * sizeof *x);
    ts_rng rng = ts_rng_make(rows * 31 + classes * 7 + k + kind);
    ts_fill(&rng, x, nx, -8.0f, 8.0f);
    if (kind == TIES) /* few distinct values: many equal logits */
        for (size_t i = 0; i < nx; i++) x[i] = floorf(x[i] / 4.0f);
    if (kind == SORTED_UP) /* the best classes are the last ones */
        for (size_t i = 0; i < nx; i++) x[i] = (float)(i % classes) * 0.01f;
    uint32_t *want_cls = malloc(ny * sizeof *want_cls), *got = malloc(ny * 2 * sizeof *got);
    double *want_p = malloc(ny * sizeof *want_p);
    ref_softmax_topk(x, rows, classes, k, want_cls, want_p);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), by = ts_buffer_from(ts_ctx, NULL, ny * 2);
    rm_softmax_topk_params p = {rows, classes, k};
    rm_dispatch d;
    assert_int_equal(rm_softmax_topk_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&by)};
    ts_poison(ts_ctx, &by, ny * 2); /* NaN bits: an unwritten class reads as 0x7fc00000 */
    ts_run1(ts_ctx, &d, b);
    ts_buffer_read(ts_ctx, &by, (float *)got, ny * 2);
    float *prob = malloc(ny * sizeof *prob);
    for (size_t i = 0; i < ny; i++) {
        if (got[2 * i] != want_cls[i])
            fail_msg("rows %u classes %u k %u: pick %zu is class %u, want %u", rows, classes, k, i,
                     got[2 * i], want_cls[i]);
        memcpy(&prob[i], &got[2 * i + 1], sizeof(float));
    }
    double err = ts_max_rel_error(prob, want_p, ny);
    print_message("softmax_topk rows=%u classes=%u k=%u %s: classes equal, probability max rel "
                  "error %.3g\n",
                  rows, classes, k,
                  kind == TIES        ? "ties"
                  : kind == SORTED_UP ? "ascending"
                                      : "random",
                  err);
    assert_true(err < TOPK_TOLERANCE);
    ts_destroy_buffers(ts_ctx, &bx, &by, NULL);
    free(x), free(want_cls), free(got), free(want_p), free(prob);
}

static void sizes(void **state) {
    (void)state;
    check(1, 1, 1, RANDOM);
    check(3, 3, 3, RANDOM);
    check(7, 7, 2, RANDOM);
    check(2, 97, 5, RANDOM);
    check(5, 1000, 32, RANDOM);
    check(97, 10, 3, RANDOM);
}

static void ties_and_order(void **state) {
    (void)state;
    check(4, 49, 7, TIES);
    check(3, 1000, 32, TIES);
    check(2, 97, 13, SORTED_UP);
}

static void special_values(void **state) {
    (void)state;
    /* +Inf wins with probability NaN (inf - inf); -Inf ranks last; both are picked in order. */
    float x[5] = {1.0f, -INFINITY, 3.0f, 3.0f, 0.5f};
    rm_buffer bx = ts_buffer_from(ts_ctx, x, 5), by = ts_buffer_from(ts_ctx, NULL, 10);
    rm_softmax_topk_params p = {1, 5, 5};
    rm_dispatch d;
    assert_int_equal(rm_softmax_topk_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&by)};
    ts_poison(ts_ctx, &by, 10);
    ts_run1(ts_ctx, &d, b);
    uint32_t got[10];
    ts_buffer_read(ts_ctx, &by, (float *)got, 10);
    const uint32_t order[5] = {2, 3, 0, 4, 1};
    for (int i = 0; i < 5; i++) assert_int_equal(got[2 * i], order[i]);
    float last;
    memcpy(&last, &got[9], sizeof last);
    assert_true(last == 0.0f); /* exp(-inf) */
    ts_destroy_buffers(ts_ctx, &bx, &by, NULL);
    /* k out of range is refused with a message. */
    rm_softmax_topk_params bad[3] = {{1, 5, 0}, {1, 5, 6}, {1, 100, RM_TOPK_MAX + 1}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rm_softmax_topk_prepare(ts_ctx, &bad[i], &d),
                         REPMLP_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(repmlp_last_error(), "k ="));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes),
        cmocka_unit_test(ties_and_order),
        cmocka_unit_test(special_values),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
