/* gather through index maps: the RepMLP partition split (with the broadcast addend) and merge. */
#include "test_support.h"

#include <stdlib.h>

#include "ops/ops.h"

/* A host mirror of shaders/index_map.glsl. */
static size_t map_at(const rm_index_map *m, size_t i) {
    size_t off = 0;
    for (int d = 0; d < 3; d++) {
        if (!m->radix[d]) return off + i * m->stride[d];
        off += i % m->radix[d] * m->stride[d];
        i /= m->radix[d];
    }
    return off + i * m->stride[3];
}

/* The RepMLP partition split (with the GP's broadcast addend) and merge, as gathers. */
static void gather_case(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t h, uint32_t w) {
    uint32_t hp = H / h, wp = W / w, rows = N * hp * wp, cols = C * h * w;
    size_t n = (size_t)N * C * H * W, nv = (size_t)N * C * hp * wp;
    float *x = malloc(n * 4), *v = malloc(nv * 4), *y = malloc(n * 4), *back = malloc(n * 4);
    double *want = malloc(n * 8), *want_back = malloc(n * 8);
    ts_rng rng = ts_rng_make(N + C * 3 + H * 5 + W * 7 + h * 11 + w * 13);
    ts_fill(&rng, x, n, -1.0f, 1.0f);
    ts_fill(&rng, v, nv, -1.0f, 1.0f);
    rm_gather_params split = {rows,
                              cols,
                              true,
                              {{wp, hp, 0}, {w, h * W, C * H * W, 0}},
                              {{w, h, 0}, {1, W, H * W, 0}},
                              {{wp, hp, 0}, {1, wp, C * hp * wp, 0}},
                              {{w, h, 0}, {0, 0, hp * wp, 0}}};
    /* merge: the split's output (n, ip, jp, c, y, x) back to (N, C, H, W), addend dropped */
    rm_gather_params merge = {.rows = N * C,
                              .cols = H * W,
                              .x_rows = {{C, 0, 0}, {h * w, hp * wp * cols, 0, 0}},
                              .x_cols = {{w, wp, h}, {1, cols, w, wp * cols}}};
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            want[r * cols + c] = (double)x[map_at(&split.x_rows, r) + map_at(&split.x_cols, c)] +
                                 v[map_at(&split.v_rows, r) + map_at(&split.v_cols, c)];
    for (size_t i = 0; i < n; i++) {
        size_t nn = i / ((size_t)C * H * W), c = i / ((size_t)H * W) % C, yy = i / W % H,
               xx = i % W;
        size_t row = (nn * hp + yy / h) * wp + xx / w, col = (c * h + yy % h) * w + xx % w;
        want_back[i] = want[row * cols + col];
    }
    rm_buffer bx = ts_buffer_from(ts_ctx, x, n), bv = ts_buffer_from(ts_ctx, v, nv);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, n), bb = ts_buffer_from(ts_ctx, NULL, n);
    rm_dispatch d[2];
    assert_int_equal(rm_gather_prepare(ts_ctx, &split, &d[0]), REPMLP_OK);
    assert_int_equal(rm_gather_prepare(ts_ctx, &merge, &d[1]), REPMLP_OK);
    rm_binding b0[3] = {ts_bind(&bx), ts_bind(&bv), ts_bind(&by)};
    rm_binding b1[3] = {ts_bind(&by), ts_bind(&bv), ts_bind(&bb)};
    const rm_binding *binds[2] = {b0, b1};
    ts_poison(ts_ctx, &by, n);
    ts_poison(ts_ctx, &bb, n);
    ts_run(ts_ctx, d, binds, 2);
    ts_buffer_read(ts_ctx, &by, y, n);
    ts_buffer_read(ts_ctx, &bb, back, n);
    double err = ts_max_rel_error(y, want, n), err_back = ts_max_rel_error(back, want_back, n);
    print_message("gather N=%u C=%u %ux%u part %ux%u: split error %.3g, merge error %.3g\n", N, C,
                  H, W, h, w, err, err_back);
    assert_true(err < 1e-7 && err_back < 1e-7);
    ts_destroy_buffers(ts_ctx, &bx, &bv, &by, &bb, NULL);
    free(x), free(v), free(y), free(back), free(want), free(want_back);
}

static void gather(void **state) {
    (void)state;
    gather_case(1, 1, 1, 1, 1, 1);
    gather_case(2, 3, 14, 14, 7, 7);
    gather_case(3, 5, 6, 10, 3, 5);
    gather_case(1, 7, 49, 7, 7, 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(gather)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
