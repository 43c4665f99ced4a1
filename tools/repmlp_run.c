/* repmlp-run: runs a fused model on a Vulkan device (see CONTRACT.md).
 *
 *   repmlp-run FUSED.safetensors --input IN.safetensors --output OUT.safetensors
 *              [--device SEL] [--repeat K] [--expect REF.safetensors] [--tolerance T]
 *   repmlp-run FUSED.safetensors --input IN.safetensors --eval LABELS.safetensors
 *              [--batch B] [--predictions OUT.json] [--top K] [--show N] [--output ...]
 *   repmlp-run FUSED.safetensors --image FILE.png [--image ...] [--top K] [--preprocess P.json]
 *   repmlp-run --list-devices
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "compare.h"
#include "core/alloc.h"
#include "core/platform.h"
#include "image_decode.h"
#include "print_limits.h"
#include "io/json.h"
#include "io/safetensors.h"

#define MAX_IMAGES 256

typedef struct options {
    const char *model, *input, *output, *device, *expect;
    const char *eval, *predictions, *preprocess;
    const char *images[MAX_IMAGES];
    int n_images;
    long repeat, batch, top, show;
    double tolerance;
    int list_devices, validation;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: repmlp-run FUSED.safetensors --input IN.safetensors --output "
            "OUT.safetensors\n"
            "                  [--device SEL] [--repeat K] [--expect REF.safetensors] "
            "[--tolerance T]\n"
            "       repmlp-run FUSED.safetensors --input IN.safetensors --eval LABELS.safetensors\n"
            "                  [--batch B] [--predictions P.json] [--top K] [--show N]\n"
            "       repmlp-run FUSED.safetensors --image FILE.png [--image ...] [--top K]\n"
            "       repmlp-run --list-devices      (with the limits in effect on each)\n"
            "  --device SEL     device index from --list-devices or a name substring\n"
            "  --repeat K       run K more times and print min/median latency\n"
            "  --expect REF     compare with tensor 'output' of REF (max error relative to\n"
            "                   its largest magnitude); exit 1 if above --tolerance "
            "(default 1e-4)\n"
            "  --validation     enable the Vulkan validation layer\n"
            "classifiers (output (N, classes)):\n"
            "  --eval LABELS    run all of --input in batches and report top-1 accuracy against\n"
            "                   tensor 'labels' (N) of LABELS, and the throughput; --output is\n"
            "                   optional then\n"
            "  --batch B        images per run with --eval (default 64)\n"
            "  --predictions P  write the predicted classes (with --eval) as JSON to P\n"
            "  --top K          print the K most likely classes with softmax probabilities\n"
            "  --show N         ... for the first N images of --input (default 5)\n"
            "  --image FILE     classify an image file (PNG, JPEG, BMP, PNM; repeatable) instead\n"
            "                   of --input, preprocessed as the fused file's metadata\n"
            "                   'preprocess' says (repmlp-fuse --metadata preprocess=@P.json);\n"
            "                   prints the top classes (K from --top, default 3)\n"
            "  --preprocess P   read that preprocessing JSON from file P instead\n"
            "environment: REPMLP_DEVICE_PROFILE=vulkan-min|phone plans as if the device had\n"
            "  only those limits (a testing aid; --list-devices shows them)\n");
}

static int fail(const char *what) {
    fprintf(stderr, "repmlp-run: %s\n", what);
    return 1;
}

static int fail_status(repmlp_status st) {
    fprintf(stderr, "repmlp-run: %s (%s)\n", repmlp_last_error(), repmlp_status_name(st));
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-4;
    o->batch = 64;
    o->show = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--input") == 0)
            target = &o->input;
        else if (strcmp(a, "--output") == 0)
            target = &o->output;
        else if (strcmp(a, "--device") == 0)
            target = &o->device;
        else if (strcmp(a, "--expect") == 0)
            target = &o->expect;
        else if (strcmp(a, "--eval") == 0)
            target = &o->eval;
        else if (strcmp(a, "--predictions") == 0)
            target = &o->predictions;
        else if (strcmp(a, "--preprocess") == 0)
            target = &o->preprocess;
        else if (strcmp(a, "--image") == 0) {
            if (o->n_images == MAX_IMAGES)
                return fprintf(stderr, "repmlp-run: at most %d --image files\n", MAX_IMAGES), 2;
            target = &o->images[o->n_images++];
        }
        if (target) {
            if (++i >= argc) return fprintf(stderr, "repmlp-run: %s needs a value\n", a), 2;
            *target = argv[i];
        } else if (strcmp(a, "--repeat") == 0 || strcmp(a, "--tolerance") == 0) {
            if (++i >= argc) return fprintf(stderr, "repmlp-run: %s needs a value\n", a), 2;
            char *end;
            double v = strtod(argv[i], &end);
            if (*end || !(v >= 0) || (a[2] == 'r' && (v != floor(v) || v > 1e6)))
                return fprintf(stderr, "repmlp-run: %s: bad value '%s'\n", a, argv[i]), 2;
            if (a[2] == 'r')
                o->repeat = (long)v;
            else
                o->tolerance = v;
        } else if (strcmp(a, "--batch") == 0 || strcmp(a, "--top") == 0 ||
                   strcmp(a, "--show") == 0) {
            if (++i >= argc) return fprintf(stderr, "repmlp-run: %s needs a value\n", a), 2;
            char *end;
            long v = strtol(argv[i], &end, 10);
            long lo = a[2] == 's' ? 0 : 1;
            if (*end || end == argv[i] || v < lo || v > 1000000)
                return fprintf(stderr, "repmlp-run: %s: bad value '%s'\n", a, argv[i]), 2;
            if (a[2] == 'b')
                o->batch = v;
            else if (a[2] == 't')
                o->top = v;
            else
                o->show = v;
        } else if (strcmp(a, "--list-devices") == 0) {
            o->list_devices = 1;
        } else if (strcmp(a, "--validation") == 0) {
            o->validation = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (a[0] == '-' || o->model) {
            fprintf(stderr, "repmlp-run: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            o->model = a;
        }
    }
    if (o->list_devices) return 0;
    const char *conflict = NULL;
    if (o->n_images && o->input)
        conflict = "--image and --input exclude each other";
    else if (o->n_images && (o->eval || o->expect))
        conflict = "--image does not take --eval or --expect";
    else if (o->eval && !o->input)
        conflict = "--eval needs --input";
    else if (o->predictions && !o->eval)
        conflict = "--predictions needs --eval";
    else if (o->eval && o->expect)
        conflict = "--eval does not take --expect";
    if (conflict) {
        fprintf(stderr, "repmlp-run: %s\n", conflict);
        return 2;
    }
    if (!o->model || (!o->input && !o->n_images) || (o->input && !o->eval && !o->output)) {
        usage(stderr);
        return 2;
    }
    return 0;
}

/* Lists the devices and, for each usable one, the limits the library plans against there
 * (a context is made on it: REPMLP_DEVICE_PROFILE applies as it would to a run). */
static int list_devices(void) {
    repmlp_device_info infos[32];
    uint32_t count = 32;
    repmlp_status st = repmlp_list_devices(infos, &count);
    if (st != REPMLP_OK && st != REPMLP_ERROR_TOO_LARGE) return fail_status(st);
    static const char *types[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"};
    int rc = 0;
    for (uint32_t i = 0; i < count && i < 32; i++) {
        printf("%u: %s (%s, Vulkan %u.%u)%s\n", infos[i].index, infos[i].name, types[infos[i].type],
               infos[i].api_version >> 22, (infos[i].api_version >> 12) & 0x3ff,
               infos[i].usable ? "" : " [unusable]");
        if (!infos[i].usable) continue;
        char index[16];
        snprintf(index, sizeof index, "%u", infos[i].index);
        repmlp_context_desc desc = {.device = index};
        repmlp_context *ctx = NULL;
        st = repmlp_context_create(&desc, &ctx);
        if (st != REPMLP_OK) {
            fprintf(stderr, "repmlp-run: device %u: %s (%s)\n", infos[i].index, repmlp_last_error(),
                    repmlp_status_name(st));
            rc = 1;
            continue;
        }
        rm_print_limits(stdout, ctx, "   ");
        repmlp_context_destroy(ctx);
    }
    return rc;
}

/* Reads tensor `input` (F32, rank 4) and checks it against the model's input shape. */
static int read_input(const char *path, const repmlp_shape *want, float **data, int64_t *batch) {
    rm_safetensors *st;
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s != REPMLP_OK) return fail_status(s);
    const rm_st_tensor *t = rm_safetensors_find(st, "input");
    char msg[512], got[96], exp[96];
    int rc = 0;
    if (!t) {
        snprintf(msg, sizeof msg, "%s: tensor 'input' is missing", path);
        rc = fail(msg);
    } else if (t->dtype != RM_DTYPE_F32) {
        snprintf(msg, sizeof msg, "%s: tensor 'input': dtype %s, expected F32", path,
                 rm_dtype_name(t->dtype));
        rc = fail(msg);
    } else {
        bool ok = t->ndim == (int)want->ndim && t->shape[0] >= 1 && t->shape[0] <= UINT32_MAX;
        for (uint32_t d = 1; ok && d < want->ndim; d++) ok = t->shape[d] == want->dims[d];
        if (!ok) {
            rm_st_format_shape(t->ndim, t->shape, got, sizeof got);
            repmlp_shape w = *want;
            rm_st_format_shape((int)w.ndim, w.dims, exp, sizeof exp);
            snprintf(msg, sizeof msg, "%s: tensor 'input': shape %s, the model takes (N%s", path,
                     got, strchr(exp, ',') ? strchr(exp, ',') : ")");
            rc = fail(msg);
        } else {
            *batch = t->shape[0];
            *data = malloc(t->count * sizeof(float));
            if (!*data)
                rc = fail("out of memory");
            else
                rm_st_tensor_to_f32(t, *data);
        }
    }
    rm_safetensors_close(st);
    return rc;
}

static int write_output(const char *path, const repmlp_shape *shape, int64_t batch,
                        const float *data) {
    rm_st_writer *w;
    repmlp_status s = rm_st_writer_create(&w);
    if (s != REPMLP_OK) return fail_status(s);
    int64_t dims[REPMLP_MAX_DIMS];
    memcpy(dims, shape->dims, sizeof dims);
    dims[0] = batch;
    s = rm_st_writer_add_f32(w, "output", (int)shape->ndim, dims, data);
    if (s == REPMLP_OK) s = rm_st_writer_write(w, path);
    rm_st_writer_destroy(w);
    return s == REPMLP_OK ? 0 : fail_status(s);
}

/* Prints the max error against REF's tensor 'output'; returns 1 if above tolerance. */
static int compare(const char *ref, const float *got, size_t count, double tolerance) {
    rm_safetensors *st;
    repmlp_status s = rm_safetensors_open(ref, &st);
    if (s != REPMLP_OK) return fail_status(s);
    const rm_st_tensor *t = rm_safetensors_find(st, "output");
    char msg[512];
    int rc = 0;
    double *want = NULL;
    if (!t || t->count != count || !rm_dtype_is_float(t->dtype)) {
        snprintf(msg, sizeof msg, "%s: tensor 'output' is missing or has %zu elements, not %zu",
                 ref, t ? t->count : 0, count);
        rc = fail(msg);
    } else if (!(want = malloc(count * sizeof *want))) {
        rc = fail("out of memory");
    } else {
        rm_st_tensor_to_f64(t, want);
        ref_comparison c = ref_compare_f32(got, want, count);
        bool ok = ref_comparison_ok(&c, tolerance);
        if (c.nonfinite)
            printf("check: %zu of %zu elements are NaN or Inf (first: element %zu = %g, "
                   "reference %g) FAIL\n",
                   c.nonfinite, count, c.first_nonfinite, (double)got[c.first_nonfinite],
                   want[c.first_nonfinite]);
        else
            printf("check: max abs error %.3g, relative to max |reference| %.3g: %.3g "
                   "(tolerance %.3g) %s\n",
                   c.max_abs, c.scale, c.rel, tolerance, ok ? "PASS" : "FAIL");
        rc = ok ? 0 : 1;
    }
    free(want);
    rm_safetensors_close(st);
    return rc;
}

/* ---- classifiers: --eval, --top, --image ---- */

/* The number of classes of a classifier's output (N, classes); an error otherwise. */
static int classifier_classes(const char *model_path, const repmlp_shape *out, const char *why,
                              int *classes) {
    if (out->ndim != 2 || out->dims[1] < 1 || out->dims[1] > 1000000) {
        char shape[96], msg[512];
        repmlp_shape o = *out;
        rm_st_format_shape((int)o.ndim, o.dims, shape, sizeof shape);
        snprintf(msg, sizeof msg, "%s: output shape %s is not (N, classes): %s needs a classifier",
                 model_path, shape, why);
        return fail(msg);
    }
    *classes = (int)out->dims[1];
    return 0;
}

/* Tensor `labels` of path: integer dtype, shape (n), values in [0, classes). */
static int read_labels(const char *path, int64_t n, int classes, int64_t **labels) {
    rm_safetensors *st;
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s != REPMLP_OK) return fail_status(s);
    const rm_st_tensor *t = rm_safetensors_find(st, "labels");
    char msg[512];
    int rc = 0;
    *labels = NULL;
    if (!t) {
        snprintf(msg, sizeof msg, "%s: tensor 'labels' is missing", path);
        rc = fail(msg);
    } else if (t->dtype != RM_DTYPE_I64 && t->dtype != RM_DTYPE_I32 && t->dtype != RM_DTYPE_I16 &&
               t->dtype != RM_DTYPE_I8 && t->dtype != RM_DTYPE_U8) {
        snprintf(msg, sizeof msg, "%s: tensor 'labels': dtype %s, expected an integer dtype (I64)",
                 path, rm_dtype_name(t->dtype));
        rc = fail(msg);
    } else if (t->ndim != 1 || t->shape[0] != n) {
        char got[96];
        rm_st_format_shape(t->ndim, t->shape, got, sizeof got);
        snprintf(msg, sizeof msg, "%s: tensor 'labels': shape %s, expected (%lld) as the input",
                 path, got, (long long)n);
        rc = fail(msg);
    } else if (!(*labels = malloc((size_t)n * sizeof **labels))) {
        rc = fail("out of memory");
    } else {
        const unsigned char *p = t->data;
        size_t es = rm_dtype_size(t->dtype);
        for (int64_t i = 0; i < n && !rc; i++) {
            int64_t v64 = 0;
            int32_t v32;
            int16_t v16;
            int8_t v8;
            if (t->dtype == RM_DTYPE_I64)
                memcpy(&v64, p + (size_t)i * es, 8);
            else if (t->dtype == RM_DTYPE_I32)
                memcpy(&v32, p + (size_t)i * es, 4), v64 = v32;
            else if (t->dtype == RM_DTYPE_I16)
                memcpy(&v16, p + (size_t)i * es, 2), v64 = v16;
            else if (t->dtype == RM_DTYPE_I8)
                memcpy(&v8, p + (size_t)i, 1), v64 = v8;
            else
                v64 = p[i];
            if (v64 < 0 || v64 >= classes) {
                snprintf(msg, sizeof msg,
                         "%s: tensor 'labels': element %lld is %lld, outside 0..%d (the model's "
                         "classes)",
                         path, (long long)i, (long long)v64, classes - 1);
                rc = fail(msg);
            }
            (*labels)[i] = v64;
        }
        if (rc) {
            free(*labels);
            *labels = NULL;
        }
    }
    rm_safetensors_close(st);
    return rc;
}

static int argmax(const float *logits, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (logits[c] > logits[best]) best = c;
    return best;
}

/* Prints "<prefix>class c p=0.xxxx, ..." for the k most likely classes (softmax in double). */
static void print_top(const char *prefix, const float *logits, int classes, long k) {
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
        return fail(msg);
    }
    fprintf(f, "{\"accuracy\": %.17g, \"correct\": %lld, \"count\": %lld, \"predictions\": [",
            (double)correct / (double)n, (long long)correct, (long long)n);
    for (int64_t i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", pred[i]);
    fprintf(f, "]}\n");
    if (ferror(f) | fclose(f)) {
        snprintf(msg, sizeof msg, "%s: write failed", path);
        return fail(msg);
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
        double t0 = rm_now_ms();
        repmlp_status st =
            repmlp_session_run(s, input + (size_t)i * per_in, (size_t)cur * per_in,
                               logits + (size_t)i * (size_t)classes, (size_t)cur * (size_t)classes);
        *ms += rm_now_ms() - t0;
        if (st != REPMLP_OK) return fail_status(st);
    }
    return 0;
}

static int evaluate(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                    const repmlp_shape *out_shape, const float *input, int64_t n) {
    int classes, rc;
    if ((rc = classifier_classes(o->model, out_shape, "--eval", &classes))) return rc;
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
        rc = fail("out of memory");
        goto done;
    }
    double t0 = rm_now_ms();
    st = repmlp_session_create(model, batch, &full);
    if (st == REPMLP_OK && rest) st = repmlp_session_create(model, rest, &tail);
    if (st != REPMLP_OK) {
        rc = fail_status(st);
        goto done;
    }
    double t_prepare = rm_now_ms() - t0;
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
    qsort(passes, (size_t)o->repeat + 1, sizeof *passes, cmp_double);
    double ms = passes[o->repeat / 2];
    printf("throughput: %.1f images/s (%lld images in %.2f ms, host to host incl. transfers%s)\n",
           (double)n * 1000.0 / (ms > 0 ? ms : 1e-9), (long long)n, ms,
           o->repeat ? ", median pass" : "");
    for (int64_t i = 0; o->top && i < n && i < o->show; i++) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "#%lld (label %lld): ", (long long)i, (long long)labels[i]);
        print_top(prefix, logits + (size_t)i * (size_t)classes, classes, o->top);
    }
    if (o->predictions && (rc = write_predictions(o->predictions, pred, n, correct))) goto done;
    if (o->output) rc = write_output(o->output, out_shape, n, logits);
done:
    repmlp_session_destroy(full);
    repmlp_session_destroy(tail);
    free(labels);
    free(logits);
    free(pred);
    free(passes);
    return rc;
}

/* The model's preprocessing (repmlp_model_preprocess: the fused file's metadata), or the JSON
 * file given with --preprocess. */
static int read_preprocess(const options *o, const repmlp_model *model, repmlp_preprocess *p) {
    char msg[1400];
    if (!o->preprocess) {
        repmlp_status s = repmlp_model_preprocess(model, p);
        if (s == REPMLP_OK) return 0;
        snprintf(msg, sizeof msg, "%s (or pass --preprocess FILE.json) to use --image",
                 repmlp_last_error());
        return fail(msg);
    }
    FILE *f = fopen(o->preprocess, "rb");
    long len = -1;
    char *text = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (f && len >= 0 && len < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len)
        text[len] = '\0';
    else {
        free(text);
        text = NULL;
    }
    if (f) fclose(f);
    if (!text) {
        snprintf(msg, sizeof msg, "%s: cannot read the preprocessing file", o->preprocess);
        return fail(msg);
    }
    repmlp_status s = repmlp_model_preprocess_json(model, text, p);
    free(text);
    if (s == REPMLP_OK) return 0;
    snprintf(msg, sizeof msg, "%s: %s", o->preprocess, repmlp_last_error());
    return fail(msg);
}

/* Decodes one image and writes the model's input for it (C x H x W floats) into out. */
static int load_image(const char *path, const repmlp_preprocess *p, int channels, float *out) {
    unsigned char *px;
    int w, h;
    char err[1200];
    if (rm_image_load(path, channels, &px, &w, &h, err, sizeof err)) return fail(err);
    repmlp_status s = repmlp_preprocess_pixels(p, px, (uint32_t)w, (uint32_t)h, out);
    int rc = s == REPMLP_OK ? 0 : fail_status(s);
    rm_image_free(px);
    return rc;
}

static int classify_images(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                           const repmlp_shape *out_shape) {
    int classes, rc;
    if ((rc = classifier_classes(o->model, out_shape, "--image", &classes))) return rc;
    if (in_shape->ndim != 4) return fail("--image needs a model that takes (N, C, H, W) images");
    repmlp_preprocess p;
    if ((rc = read_preprocess(o, model, &p))) return rc;
    int channels = (int)in_shape->dims[1];
    size_t per_in = (size_t)channels * (size_t)p.input_h * (size_t)p.input_w;
    int64_t n = o->n_images;
    float *input = malloc((size_t)n * per_in * sizeof *input);
    float *logits = malloc((size_t)n * (size_t)classes * sizeof *logits);
    repmlp_session *s = NULL;
    if (!input || !logits) rc = fail("out of memory");
    for (int64_t i = 0; i < n && !rc; i++)
        rc = load_image(o->images[i], &p, channels, input + (size_t)i * per_in);
    if (!rc) {
        repmlp_status st = repmlp_session_create(model, (uint32_t)n, &s);
        double t0 = rm_now_ms();
        if (st == REPMLP_OK)
            st = repmlp_session_run(s, input, (size_t)n * per_in, logits,
                                    (size_t)n * (size_t)classes);
        double ms = rm_now_ms() - t0;
        if (st != REPMLP_OK) {
            rc = fail_status(st);
        } else {
            printf("model: %s, arch %s, %d classes, %lld images, run %.3f ms\n", o->model,
                   repmlp_model_arch(model), classes, (long long)n, ms);
            for (int64_t i = 0; i < n; i++) {
                char prefix[1100];
                snprintf(prefix, sizeof prefix, "image %s: ", o->images[i]);
                print_top(prefix, logits + (size_t)i * (size_t)classes, classes,
                          o->top ? o->top : 3);
            }
            if (o->output) rc = write_output(o->output, out_shape, n, logits);
        }
    }
    repmlp_session_destroy(s);
    free(input);
    free(logits);
    return rc;
}

static void log_to_stderr(void *user, repmlp_log_level level, const char *message) {
    (void)user;
    if (level >= REPMLP_LOG_WARNING) fprintf(stderr, "repmlp-run: %s\n", message);
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    if (o.list_devices) return list_devices();

    /* Counted until the context is destroyed: leaks are reported by vkDestroyDevice. */
    uint32_t validation_messages = 0;
    repmlp_context_desc desc = {.device = o.device,
                                .flags = o.validation ? REPMLP_CONTEXT_VALIDATION : 0,
                                .log = log_to_stderr,
                                .validation_counter = &validation_messages};
    repmlp_context *ctx = NULL;
    repmlp_model *model = NULL;
    repmlp_session *session = NULL;
    float *input = NULL, *output = NULL;
    repmlp_status st = repmlp_context_create(&desc, &ctx);
    if (st != REPMLP_OK) return fail_status(st);
    repmlp_device_info info;
    repmlp_context_device(ctx, &info);
    printf("device: %s\n", info.name);

    repmlp_shape in_shape, out_shape;
    int64_t batch = 0;
    double t0 = rm_now_ms();
    st = repmlp_model_load(ctx, o.model, &model);
    if (st != REPMLP_OK) {
        rc = fail_status(st);
        goto done;
    }
    double t_load = rm_now_ms() - t0;
    repmlp_model_input_shape(model, &in_shape);
    repmlp_model_output_shape(model, &out_shape);
    if (o.n_images) {
        rc = classify_images(&o, model, &in_shape, &out_shape);
        goto done;
    }
    if ((rc = read_input(o.input, &in_shape, &input, &batch))) goto done;
    if (o.eval) {
        rc = evaluate(&o, model, &in_shape, &out_shape, input, batch);
        goto done;
    }

    t0 = rm_now_ms();
    st = repmlp_session_create(model, (uint32_t)batch, &session);
    if (st != REPMLP_OK) {
        rc = fail_status(st);
        goto done;
    }
    double t_prepare = rm_now_ms() - t0;
    size_t in_count = 1, out_count = 1;
    for (uint32_t d = 0; d < in_shape.ndim; d++) in_count *= (size_t)(d ? in_shape.dims[d] : batch);
    for (uint32_t d = 0; d < out_shape.ndim; d++)
        out_count *= (size_t)(d ? out_shape.dims[d] : batch);
    output = malloc(out_count * sizeof *output);
    if (!output) {
        rc = fail("out of memory");
        goto done;
    }
    t0 = rm_now_ms();
    st = repmlp_session_run(session, input, in_count, output, out_count);
    double t_first = rm_now_ms() - t0;
    if (st != REPMLP_OK) {
        rc = fail_status(st);
        goto done;
    }
    printf("model: %s, arch %s, batch %lld, weights %.2f MiB, activations %.2f MiB\n", o.model,
           repmlp_model_arch(model), (long long)batch,
           (double)repmlp_model_weight_bytes(model) / 1048576.0,
           (double)repmlp_session_activation_bytes(session) / 1048576.0);
    printf("time: load %.2f ms, prepare %.2f ms, first run %.3f ms\n", t_load, t_prepare, t_first);
    if (o.repeat > 0) {
        double *times = malloc((size_t)o.repeat * sizeof *times);
        if (!times) {
            rc = fail("out of memory");
            goto done;
        }
        for (long i = 0; i < o.repeat && st == REPMLP_OK; i++) {
            t0 = rm_now_ms();
            st = repmlp_session_run(session, input, in_count, output, out_count);
            times[i] = rm_now_ms() - t0;
        }
        if (st == REPMLP_OK) {
            qsort(times, (size_t)o.repeat, sizeof *times, cmp_double);
            printf("latency over %ld runs (host to host): min %.3f ms, median %.3f ms\n", o.repeat,
                   times[0], times[o.repeat / 2]);
        }
        free(times);
        if (st != REPMLP_OK) {
            rc = fail_status(st);
            goto done;
        }
    }
    if ((rc = write_output(o.output, &out_shape, batch, output))) goto done;
    if (o.expect) rc = compare(o.expect, output, out_count, o.tolerance);
    if (o.top) {
        int classes, crc = classifier_classes(o.model, &out_shape, "--top", &classes);
        for (int64_t i = 0; !crc && i < batch && i < o.show; i++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "#%lld: ", (long long)i);
            print_top(prefix, output + (size_t)i * (size_t)classes, classes, o.top);
        }
        if (crc) rc = crc;
    }
done:
    free(input);
    free(output);
    repmlp_session_destroy(session);
    repmlp_model_destroy(model);
    repmlp_context_destroy(ctx);
    if (validation_messages) {
        fprintf(stderr, "repmlp-run: the validation layer reported %u messages\n",
                validation_messages);
        if (!rc) rc = 1;
    }
    return rc;
}
