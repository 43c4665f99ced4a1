/* The one comparison every test and `repmlp-run --expect` use: the largest absolute
 * difference over all elements, relative to the largest |reference|. Any non-finite value
 * (NaN or Inf, in the result or the reference) fails the comparison: a kernel that leaves an
 * element unwritten leaves the NaN the tests poison outputs with, and that must never be
 * skipped over, wherever it is. */
#ifndef RM_COMPARE_H
#define RM_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ref_comparison {
    double max_abs;         /* max |got - want| over the finite pairs */
    double scale;           /* max |want| over the finite references (at least 1e-30) */
    double rel;             /* max_abs / scale; +Inf when any value is non-finite */
    size_t nonfinite;       /* elements where got or want is NaN or Inf */
    size_t first_nonfinite; /* index of the first one (valid when nonfinite > 0) */
    size_t worst;           /* index of the largest finite difference */
} ref_comparison;

ref_comparison ref_compare_f32(const float *got, const double *want, size_t n);
ref_comparison ref_compare_f64(const double *got, const double *want, size_t n);
/* True when nothing is non-finite and rel <= tolerance. */
bool ref_comparison_ok(const ref_comparison *c, double tolerance);

#endif
