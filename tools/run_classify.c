/* repmlp-run's classifiers: --eval (accuracy and throughput over a labelled set), --top and
 * --predictions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "tool_clock.h"

/* The number of classes of a classifier's output (N, classes); an error otherwise. */
int run_classifier_classes(const char *model_path, const repmlp_shape *out, const char *why,
                           int *classes) {
    if (out->ndim != 2 || out->dims[1] < 1 || out->dims[1] > 1000000) {
        char shape[96], msg[512];
        run_format_shape(out->ndim, out->dims, shape, sizeof shape);
        snprintf(msg, sizeof msg, "%s: output shape %s is not (N, classes): %s needs a classifier",
                 model_path, shape, why);
        return run_fail(msg);
    }
    *classes = (int)out->dims[1];
    return 0;
}

/* Tensor `labels` of path: integer dtype, shape (n), values in [0, classes). */
static int read_labels(const char *path, int64_t n, int classes, int64_t **labels) {
    repmlp_tensor_file *f;
    repmlp_status s = repmlp_tensor_file_open(path, &f);
    if (s != REPMLP_OK) return run_fail_status(s);
    repmlp_tensor_info t;
    char msg[512];
    int rc = 0;
    *labels = NULL;
    if (repmlp_tensor_file_find(f, "labels", &t) != REPMLP_OK) {
        snprintf(msg, sizeof msg, "%s: tensor 'labels' is missing", path);
        rc = run_fail(msg);
    } else if (!t.is_integer) {
        snprintf(msg, sizeof msg, "%s: tensor 'labels': dtype %s, expected an integer dtype (I64)",
                 path, t.dtype);
        rc = run_fail(msg);
    } else if (t.ndim != 1 || t.shape[0] != n) {
        char got[96];
        run_format_shape(t.ndim, t.shape, got, sizeof got);
        snprintf(msg, sizeof msg, "%s: tensor 'labels': shape %s, expected (%lld) as the input",
                 path, got, (long long)n);
        rc = run_fail(msg);
    } else if (!(*labels = malloc((size_t)n * sizeof **labels))) {
        rc = run_fail("out of memory");
    } else if ((s = repmlp_tensor_file_read_i64(f, "labels", *labels, (size_t)n)) != REPMLP_OK) {
        rc = run_fail_status(s);
    } else {
        for (int64_t i = 0; i < n && !rc; i++) {
            if ((*labels)[i] < 0 || (*labels)[i] >= classes) {
                snprintf(msg, sizeof msg,
                         "%s: tensor 'labels': element %lld is %lld, outside 0..%d (the model's "
                         "classes)",
                         path, (long long)i, (long long)(*labels)[i], classes - 1);
                rc = run_fail(msg);
            }
        }
    }
    if (rc) {
        free(*labels);
        *labels = NULL;
    }
    repmlp_tensor_file_close(f);
    return rc;
}

static int argmax(const float *logits, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (logits[c] > logits[best]) best = c;
    return best;
}

/* Prints "<prefix>class c p=0.xxxx, ..." for the k most likely classes (softmax in double). */
void run_print_top(const char *prefix, const float *logits, int classes, long k) {
    double mx = logits[argmax(logits, classes)], sum = 0;
    for (int c = 0; c < classes; c++) sum += exp((double)logits[c] - mx);
    if (k > classes) k = classes;
    unsigned char *used = calloc((size_t)classes, 1);
    printf("%s", prefix);
    for (long j = 0; j < k && used; j++) {
        int best = -1;
        for (int c = 0; c < classes; c++)
            if (!used[c] && (best < 0 || logits[c] > logits[best])) best = c;
        used[best] = 1;
        printf("%sclass %d p=%.4f", j ? ", " : "", best, exp((double)logits[best] - mx) / sum);
    }
    printf("\n");
    free(used);
}

/* {"accuracy": a, "correct": k, "count": n, "predictions": [...]} into path. */
static int write_predictions(const char *path, const int *pred, int64_t n, int64_t correct) {
    FILE *f = fopen(path, "w");
    char msg[512];
    if (!f) {
        snprintf(msg, sizeof msg, "%s: cannot open for writing: %s", path, strerror(errno));
        return run_fail(msg);
    }
    fprintf(f, "{\"accuracy\": %.17g, \"correct\": %lld, \"count\": %lld, \"predictions\": [",
            (double)correct / (double)n, (long long)correct, (long long)n);
    for (int64_t i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", pred[i]);
    fprintf(f, "]}\n");
    if (ferror(f) | fclose(f)) {
        snprintf(msg, sizeof msg, "%s: write failed", path);
        return run_fail(msg);
    }
    return 0;
}

/* Runs `n` images of `input` through sessions of min(batch, n) images (and one of n % batch for
 * the rest) into logits; *ms is the time of the runs (host to host, transfers included). */
static int run_batches(repmlp_session *full, repmlp_session *tail, uint32_t batch,
                       const float *input, size_t per_in, float *logits, int classes, int64_t n,
                       double *ms) {
    *ms = 0;
    for (int64_t i = 0; i < n; i += batch) {
        uint32_t cur = (uint32_t)(n - i < (int64_t)batch ? n - i : (int64_t)batch);
        repmlp_session *s = cur == batch ? full : tail;
        double t0 = tool_now_ms();
        repmlp_status st =
            repmlp_session_run(s, input + (size_t)i * per_in, (size_t)cur * per_in,
                               logits + (size_t)i * (size_t)classes, (size_t)cur * (size_t)classes);
        *ms += tool_now_ms() - t0;
        if (st != REPMLP_OK) return run_fail_status(st);
    }
    return 0;
}

int run_evaluate(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                 const repmlp_shape *out_shape, const float *input, int64_t n) {
    int classes = 0, rc;
    if ((rc = run_classifier_classes(o->model, out_shape, "--eval", &classes))) return rc;
    int64_t *labels = NULL;
    if ((rc = read_labels(o->eval, n, classes, &labels))) return rc;
    size_t per_in = 1;
    for (uint32_t d = 1; d < in_shape->ndim; d++) per_in *= (size_t)in_shape->dims[d];
    uint32_t batch = (uint32_t)(o->batch < n ? o->batch : n), rest = (uint32_t)(n % batch);
    repmlp_session *full = NULL, *tail = NULL;
    float *logits = malloc((size_t)n * (size_t)classes * sizeof *logits);
    int *pred = malloc((size_t)n * sizeof *pred);
    double *passes = malloc(((size_t)o->repeat + 1) * sizeof *passes);
    repmlp_status st = REPMLP_OK;
    if (!logits || !pred || !passes) {
        rc = run_fail("out of memory");
        goto done;
    }
    double t0 = tool_now_ms();
    st = repmlp_session_create(model, batch, &full);
    if (st == REPMLP_OK && rest) st = repmlp_session_create(model, rest, &tail);
    if (st != REPMLP_OK) {
        rc = run_fail_status(st);
        goto done;
    }
    double t_prepare = tool_now_ms() - t0;
    for (long r = 0; r <= o->repeat && !rc; r++)
        rc = run_batches(full, tail, batch, input, per_in, logits, classes, n, &passes[r]);
    if (rc) goto done;
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        pred[i] = argmax(logits + (size_t)i * (size_t)classes, classes);
        correct += pred[i] == labels[i];
    }
    printf("model: %s, arch %s, %d classes, %lld images in batches of %u%s, weights %.2f MiB, "
           "prepare %.2f ms\n",
           o->model, repmlp_model_arch(model), classes, (long long)n, batch,
           rest ? " (and one smaller)" : "", (double)repmlp_model_weight_bytes(model) / 1048576.0,
           t_prepare);
    printf("accuracy: %.4f (%lld/%lld)\n", (double)correct / (double)n, (long long)correct,
           (long long)n);
    qsort(passes, (size_t)o->repeat + 1, sizeof *passes, run_cmp_double);
    double ms = passes[o->repeat / 2];
    printf("throughput: %.1f images/s (%lld images in %.2f ms, host to host incl. transfers%s)\n",
           (double)n * 1000.0 / (ms > 0 ? ms : 1e-9), (long long)n, ms,
           o->repeat ? ", median pass" : "");
    for (int64_t i = 0; o->top && i < n && i < o->show; i++) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "#%lld (label %lld): ", (long long)i, (long long)labels[i]);
        run_print_top(prefix, logits + (size_t)i * (size_t)classes, classes, o->top);
    }
    if (o->predictions && (rc = write_predictions(o->predictions, pred, n, correct))) goto done;
    if (o->output) rc = run_write_output(o->output, out_shape, n, logits);
done:
    repmlp_session_destroy(full);
    repmlp_session_destroy(tail);
    free(labels);
    free(logits);
    free(pred);
    free(passes);
    return rc;
}
