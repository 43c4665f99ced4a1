/* repmlp-run: runs a fused model on a Vulkan device (see CONTRACT.md).
 *
 *   repmlp-run FUSED.safetensors --input IN.safetensors --output OUT.safetensors
 *              [--device SEL] [--repeat K] [--expect REF.safetensors] [--tolerance T]
 *   repmlp-run --list-devices
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "core/alloc.h"
#include "core/platform.h"
#include "io/safetensors.h"

typedef struct options {
    const char *model, *input, *output, *device, *expect;
    long repeat;
    double tolerance;
    int list_devices, validation;
} options;

static void usage(FILE *f) {
    fprintf(f, "usage: repmlp-run FUSED.safetensors --input IN.safetensors --output "
               "OUT.safetensors\n"
               "                  [--device SEL] [--repeat K] [--expect REF.safetensors] "
               "[--tolerance T]\n"
               "       repmlp-run --list-devices\n"
               "  --device SEL     device index from --list-devices or a name substring\n"
               "  --repeat K       run K more times and print min/median latency\n"
               "  --expect REF     compare with tensor 'output' of REF (max error relative to\n"
               "                   its largest magnitude); exit 1 if above --tolerance "
               "(default 1e-4)\n"
               "  --validation     enable the Vulkan validation layer\n");
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
    if (!o->list_devices && (!o->model || !o->input || !o->output)) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int list_devices(void) {
    repmlp_device_info infos[32];
    uint32_t count = 32;
    repmlp_status st = repmlp_list_devices(infos, &count);
    if (st != REPMLP_OK && st != REPMLP_ERROR_TOO_LARGE) return fail_status(st);
    static const char *types[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"};
    for (uint32_t i = 0; i < count && i < 32; i++)
        printf("%u: %s (%s, Vulkan %u.%u)%s\n", infos[i].index, infos[i].name, types[infos[i].type],
               infos[i].api_version >> 22, (infos[i].api_version >> 12) & 0x3ff,
               infos[i].usable ? "" : " [unusable]");
    return 0;
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
        double scale = 1e-30, err = 0;
        for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(want[i]));
        for (size_t i = 0; i < count; i++) {
            double d = fabs(got[i] - want[i]);
            if (!(d <= err)) err = d;
        }
        double rel = err / scale;
        printf("check: max abs error %.3g, relative to max |reference| %.3g: %.3g (tolerance "
               "%.3g) %s\n",
               err, scale, rel, tolerance, rel <= tolerance ? "PASS" : "FAIL");
        rc = rel <= tolerance ? 0 : 1;
    }
    free(want);
    rm_safetensors_close(st);
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

    repmlp_context_desc desc = {.device = o.device,
                                .flags = o.validation ? REPMLP_CONTEXT_VALIDATION : 0,
                                .log = log_to_stderr};
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
    if ((rc = read_input(o.input, &in_shape, &input, &batch))) goto done;

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
    if (repmlp_context_validation_messages(ctx)) {
        fprintf(stderr, "repmlp-run: the validation layer reported %u messages\n",
                repmlp_context_validation_messages(ctx));
        rc = 1;
    }
done:
    free(input);
    free(output);
    repmlp_session_destroy(session);
    repmlp_model_destroy(model);
    repmlp_context_destroy(ctx);
    return rc;
}
