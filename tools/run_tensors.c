/* repmlp-run's tensor files: --input, --output and --expect, through repmlp/tensor_file.h. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

int run_fail(const char *what) {
    fprintf(stderr, "repmlp-run: %s\n", what);
    return 1;
}

int run_fail_status(repmlp_status st) {
    fprintf(stderr, "repmlp-run: %s (%s)\n", repmlp_last_error(), repmlp_status_name(st));
    return 1;
}

int run_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

const char *run_format_shape(uint32_t ndim, const int64_t *shape, char *buf, size_t size) {
    size_t len = (size_t)snprintf(buf, size, "(");
    for (uint32_t i = 0; i < ndim && len < size; i++)
        len +=
            (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < size) snprintf(buf + len, size - len, ")");
    return buf;
}

int run_read_input(const char *path, const repmlp_shape *want, float **data, int64_t *batch) {
    repmlp_tensor_file *f;
    repmlp_status s = repmlp_tensor_file_open(path, &f);
    if (s != REPMLP_OK) return run_fail_status(s);
    repmlp_tensor_info t;
    char msg[512], got[96], exp[96];
    int rc = 0;
    if (repmlp_tensor_file_find(f, "input", &t) != REPMLP_OK) {
        snprintf(msg, sizeof msg, "%s: tensor 'input' is missing", path);
        rc = run_fail(msg);
    } else if (strcmp(t.dtype, "F32") != 0) {
        snprintf(msg, sizeof msg, "%s: tensor 'input': dtype %s, expected F32", path, t.dtype);
        rc = run_fail(msg);
    } else {
        bool ok = t.ndim == want->ndim && t.shape[0] >= 1 && t.shape[0] <= UINT32_MAX;
        for (uint32_t d = 1; ok && d < want->ndim; d++) ok = t.shape[d] == want->dims[d];
        if (!ok) {
            run_format_shape(t.ndim, t.shape, got, sizeof got);
            run_format_shape(want->ndim, want->dims, exp, sizeof exp);
            snprintf(msg, sizeof msg, "%s: tensor 'input': shape %s, the model takes (N%s", path,
                     got, strchr(exp, ',') ? strchr(exp, ',') : ")");
            rc = run_fail(msg);
        } else {
            *batch = t.shape[0];
            *data = malloc(t.count * sizeof(float));
            if (!*data)
                rc = run_fail("out of memory");
            else if ((s = repmlp_tensor_file_read_f32(f, "input", *data, t.count)) != REPMLP_OK)
                rc = run_fail_status(s);
        }
    }
    repmlp_tensor_file_close(f);
    return rc;
}

int run_write_output(const char *path, const repmlp_shape *shape, int64_t batch,
                     const float *data) {
    int64_t dims[REPMLP_MAX_DIMS];
    memcpy(dims, shape->dims, sizeof dims);
    dims[0] = batch;
    repmlp_status s = repmlp_tensor_file_write_f32(path, "output", shape->ndim, dims, data);
    return s == REPMLP_OK ? 0 : run_fail_status(s);
}

/* The comparison of the tests' reference/compare.c: the largest absolute difference relative
 * to the largest |reference|; any NaN or Inf fails. */
int run_compare(const char *ref, const float *got, size_t count, double tolerance) {
    repmlp_tensor_file *f;
    repmlp_status s = repmlp_tensor_file_open(ref, &f);
    if (s != REPMLP_OK) return run_fail_status(s);
    repmlp_tensor_info t;
    char msg[512];
    int rc = 0;
    double *want = NULL;
    bool found = repmlp_tensor_file_find(f, "output", &t) == REPMLP_OK;
    if (!found || t.count != count || !t.is_float) {
        snprintf(msg, sizeof msg, "%s: tensor 'output' is missing or has %zu elements, not %zu",
                 ref, found ? t.count : 0, count);
        rc = run_fail(msg);
    } else if (!(want = malloc(count * sizeof *want))) {
        rc = run_fail("out of memory");
    } else if ((s = repmlp_tensor_file_read_f64(f, "output", want, count)) != REPMLP_OK) {
        rc = run_fail_status(s);
    } else {
        double max_abs = 0, scale = 1e-30;
        size_t nonfinite = 0, first_nonfinite = 0;
        for (size_t i = 0; i < count; i++) {
            double g = got[i], w = want[i];
            if (!isfinite(g) || !isfinite(w)) {
                if (!nonfinite++) first_nonfinite = i;
                continue;
            }
            if (fabs(w) > scale) scale = fabs(w);
            if (fabs(g - w) > max_abs) max_abs = fabs(g - w);
        }
        double rel = max_abs / scale;
        bool ok = nonfinite == 0 && rel <= tolerance;
        if (nonfinite)
            printf("check: %zu of %zu elements are NaN or Inf (first: element %zu = %g, "
                   "reference %g) FAIL\n",
                   nonfinite, count, first_nonfinite, (double)got[first_nonfinite],
                   want[first_nonfinite]);
        else
            printf("check: max abs error %.3g, relative to max |reference| %.3g: %.3g "
                   "(tolerance %.3g) %s\n",
                   max_abs, scale, rel, tolerance, ok ? "PASS" : "FAIL");
        rc = ok ? 0 : 1;
    }
    free(want);
    repmlp_tensor_file_close(f);
    return rc;
}
