#include "compare.h"

#include <math.h>

/* One loop for both result types: got(i) reads element i as a double. */
#define REF_COMPARE_BODY(got)                                                                      \
    ref_comparison c = {0, 1e-30, 0, 0, 0, 0};                                                     \
    for (size_t i = 0; i < n; i++) {                                                               \
        double g = (got), w = want[i];                                                             \
        if (!isfinite(g) || !isfinite(w)) {                                                        \
            if (!c.nonfinite++) c.first_nonfinite = i;                                             \
            continue;                                                                              \
        }                                                                                          \
        if (fabs(w) > c.scale) c.scale = fabs(w);                                                  \
        double d = fabs(g - w);                                                                    \
        if (d > c.max_abs) {                                                                       \
            c.max_abs = d;                                                                         \
            c.worst = i;                                                                           \
        }                                                                                          \
    }                                                                                              \
    c.rel = c.nonfinite ? INFINITY : c.max_abs / c.scale;                                          \
    return c

ref_comparison ref_compare_f32(const float *got, const double *want, size_t n) {
    REF_COMPARE_BODY((double)got[i]);
}

ref_comparison ref_compare_f64(const double *got, const double *want, size_t n) {
    REF_COMPARE_BODY(got[i]);
}

bool ref_comparison_ok(const ref_comparison *c, double tolerance) {
    return c->nonfinite == 0 && c->rel <= tolerance;
}
