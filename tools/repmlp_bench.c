/* repmlp-bench: measures the runtime on a Vulkan device, through the public API.
 *
 *   repmlp-bench FUSED.safetensors [--batch N] [--repeat R] [--device SEL] [--json]
 *       a fused model end to end: median/min latency (host to host and device only),
 *       images/s, weight and activation memory, per-op device time and kernel variant; the
 *       limits in effect are printed first (REPMLP_DEVICE_PROFILE applies);
 *   --parts N (with a model) also records the session in N parts (repmlp_session_record_part,
 *       each part its own submission, as an engine spreading it over N frames) and prints
 *       each part's ops, estimated share and device time (median of R), against one part;
 *   --tune (with a model) measures the kernel candidates of every GEMM/conv op when the
 *       session is created (REPMLP_CONTEXT_TUNE, --tune-budget MS) and prints each op's
 *       candidates, times and winner; --tuning-file F loads tuning data before and saves it after;
 *   --validation enables the Vulkan validation layer (its messages on stderr; any fails the
 *       run), for checks of the profiling and tuning paths, not for timings;
 *   --fp16 (with a model) stores its GEMM/conv weights as fp16 where the device has 16-bit
 *       storage (REPMLP_CONTEXT_FP16_WEIGHTS);
 *   --compile-stats (with a model) runs nothing: on a compile-only context with compile
 *       statistics (REPMLP_CONTEXT_COMPILE_ONLY | REPMLP_CONTEXT_COMPILE_STATS) it creates the
 *       session and prints each op's compiled pipeline (repmlp_session_op_compile_stats):
 *       kernel, workgroup, lanes active, registers, spills, scratch, shared memory, occupancy
 *       and the hottest loop's instruction mix; works on devices that cannot run (a driver's
 *       null device);
 *   --fp16-arithmetic IN (with a model) lets the session run kernels that multiply in fp16
 *       (REPMLP_PRECISION_FP16_ARITHMETIC; they come from --tune or --tuning-file) and prints
 *       their error against fp32 arithmetic on tensor 'input' of IN (its images repeated to
 *       fill the batch): the model's own input, not the benchmark's synthetic one;
 *   repmlp-bench --unfused TRAIN.safetensors --config JSON|@FILE [--batch N] ...
 *       the same for a RepMLP block's training-time file run unfused (its BatchNorms, conv
 *       branches and permutes as separate ops): the baseline of re-parameterization.
 * The single-kernel benchmark (--gemm) is the internal program repmlp-bench-kernels.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "print_compile_stats.h"
#include "print_limits.h"
#include "print_tuning.h"
#include "tool_clock.h"

typedef struct options {
    const char *model, *device, *config;
    int unfused, fp16;
    long batch, repeat, parts;
    int json, tune, compile_stats, validation;
    const char *tuning;     /* --tuning-file: loaded before, saved after */
    const char *fp16_check; /* --fp16-arithmetic: the check input's file */
    long tune_budget;       /* ms; 0: the library's default */
} options;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail_status(repmlp_status st) {
    fprintf(stderr, "repmlp-bench: %s (%s)\n", repmlp_last_error(), repmlp_status_name(st));
    return 1;
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        repmlp_status st_ = (call);                                                                \
        if (st_ != REPMLP_OK) return fail_status(st_);                                             \
    } while (0)

/* The check input of --fp16-arithmetic: tensor 'input' of path (whole images of the model),
 * repeated to fill the batch, into desc (malloc'd). */
static repmlp_status read_check_input(const char *path, const repmlp_model *model, size_t batch,
                                      repmlp_session_desc *desc) {
    repmlp_shape shape;
    repmlp_status st = repmlp_model_input_shape(model, &shape);
    size_t image = 1;
    for (uint32_t d = 1; st == REPMLP_OK && d < shape.ndim; d++) image *= (size_t)shape.dims[d];
    repmlp_tensor_file *f = NULL;
    if (st == REPMLP_OK) st = repmlp_tensor_file_open(path, &f);
    repmlp_tensor_info t;
    if (st == REPMLP_OK) st = repmlp_tensor_file_find(f, "input", &t);
    float *all = NULL, *x = NULL;
    if (st == REPMLP_OK && (t.count == 0 || t.count % image != 0)) {
        fprintf(stderr,
                "repmlp-bench: %s: tensor 'input' holds %zu values, not whole images of "
                "%zu\n",
                path, t.count, image);
        st = REPMLP_ERROR_FORMAT;
    }
    if (st == REPMLP_OK) {
        all = malloc(t.count * sizeof *all);
        x = malloc(batch * image * sizeof *x);
        if (!all || !x) st = REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    }
    if (st == REPMLP_OK) st = repmlp_tensor_file_read_f32(f, "input", all, t.count);
    if (st == REPMLP_OK)
        for (size_t b = 0; b < batch; b++)
            memcpy(x + b * image, all + (b % (t.count / image)) * image, image * sizeof *x);
    repmlp_tensor_file_close(f);
    free(all);
    if (st != REPMLP_OK) {
        free(x);
        return st;
    }
    desc->check_input = x;
    desc->check_input_count = batch * image;
    return REPMLP_OK;
}

static void usage(FILE *f) {
    fprintf(f, "usage: repmlp-bench FUSED.safetensors [--batch N] [--repeat R] [--device SEL] "
               "[--fp16] [--parts N] [--tune [--tune-budget MS]] [--tuning-file F] "
               "[--fp16-arithmetic IN.safetensors] [--json] [--validation]\n"
               "       repmlp-bench FUSED.safetensors --compile-stats [--batch N] [--device SEL] "
               "[--fp16] [--json]\n"
               "       repmlp-bench --unfused TRAIN.safetensors --config JSON|@FILE [--batch N] "
               "[--repeat R] [--device SEL] [--json]\n"
               "(the GEMM kernel alone: repmlp-bench-kernels --gemm M N K)\n");
}

static long parse_long(const char *flag, const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 1L << 30) {
        fprintf(stderr, "repmlp-bench: %s: bad value '%s'\n", flag, s);
        exit(2);
    }
    return v;
}

static void parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->repeat = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--fp16") == 0) {
            o->fp16 = 1;
        } else if (strcmp(a, "--unfused") == 0) {
            o->unfused = 1;
        } else if (strcmp(a, "--config") == 0 && has_value) {
            o->config = argv[++i];
        } else if (strcmp(a, "--batch") == 0 && has_value) {
            o->batch = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--parts") == 0 && has_value) {
            o->parts = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--repeat") == 0 && has_value) {
            o->repeat = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--device") == 0 && has_value) {
            o->device = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--compile-stats") == 0) {
            o->compile_stats = 1;
        } else if (strcmp(a, "--tune") == 0) {
            o->tune = 1;
        } else if (strcmp(a, "--validation") == 0) {
            o->validation = 1;
        } else if (strcmp(a, "--tune-budget") == 0 && has_value) {
            o->tune_budget = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--fp16-arithmetic") == 0 && has_value) {
            o->fp16_check = argv[++i];
        } else if (strcmp(a, "--tuning-file") == 0 && has_value) {
            o->tuning = argv[++i];
        } else if (a[0] != '-' && !o->model) {
            o->model = a;
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (!o->model || o->unfused != !!o->config ||
        (o->compile_stats && (o->unfused || o->tune || o->tuning || o->parts))) {
        usage(stderr);
        exit(2);
    }
}

/* Per-op device time from timestamps, with the op's arithmetic rate and the memory traffic
 * it would have if every bound byte moved once (a lower bound on the real traffic), and the
 * kernel variant (shader) each op got. Without timestamps, the kernels alone. */
static void print_profile(repmlp_session *s) {
    uint32_t n = repmlp_session_op_count(s);
    double *ms = calloc(n ? n : 1, sizeof *ms);
    repmlp_status st = ms ? repmlp_session_profile(s, ms, n) : REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    bool timed = st == REPMLP_OK;
    double total = 0;
    for (uint32_t i = 0; timed && i < n; i++) total += ms[i];
    if (timed)
        printf("per-op device time (one run, %u ops, %.3f ms in total):\n", n, total);
    else
        printf("per-op kernels (%u ops; device times unavailable: %s):\n", n, repmlp_last_error());
    printf("  %-44s %-8s %-15s %10s %6s %10s %10s\n", "op", "kind", "kernel", "ms", "%", "GFLOP/s",
           "GB/s");
    for (uint32_t i = 0; i < n; i++) {
        repmlp_op_info op;
        if (repmlp_session_op_info(s, i, &op) != REPMLP_OK) break;
        printf("  %-44s %-8s %-15s", op.label, op.kind, op.kernel);
        if (timed) {
            double sec = ms[i] > 0 ? ms[i] / 1e3 : 1e-12;
            printf(" %10.3f %5.1f%% %10.2f %10.2f\n", ms[i],
                   100.0 * ms[i] / (total > 0 ? total : 1), op.flops / sec / 1e9,
                   op.bytes / sec / 1e9);
        } else {
            printf(" %10s %6s %10s %10s\n", "-", "-", "-", "-");
        }
    }
    free(ms);
}

/* Median device time of each part of `parts`, each recorded into its own submission. */
static repmlp_status part_times(repmlp_session *s, uint32_t parts, long repeat, double *ms) {
    double *runs = calloc((size_t)repeat, sizeof *runs);
    repmlp_status st = runs ? REPMLP_OK : REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t p = 0; st == REPMLP_OK && p < parts; p++) {
        for (long r = 0; st == REPMLP_OK && r < repeat; r++)
            st = repmlp_session_profile_part(s, p, parts, &runs[r]);
        qsort(runs, (size_t)repeat, sizeof *runs, cmp_double);
        ms[p] = runs[repeat / 2];
    }
    free(runs);
    return st;
}

/* The session spread over `parts` submissions: each part's ops, estimated share and device
 * time, and the sum against the whole session in one part (the cost of splitting). */
static void print_parts(repmlp_session *s, uint32_t parts, long repeat) {
    double one, *ms = calloc(parts, sizeof *ms);
    repmlp_status st = ms ? part_times(s, 1, repeat, &one) : REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    if (st == REPMLP_OK) st = part_times(s, parts, repeat, ms);
    if (st != REPMLP_OK) {
        printf("parts: unavailable (%s)\n", repmlp_last_error());
        free(ms);
        return;
    }
    double sum = 0, largest = 0;
    printf("in %u parts (each its own submission; device time, median of %ld):\n", parts, repeat);
    printf("  %-6s %8s %10s %10s\n", "part", "ops", "estimated", "ms");
    for (uint32_t p = 0; p < parts; p++) {
        repmlp_part_info info;
        repmlp_session_part_info(s, p, parts, &info);
        printf("  %-6u %8u %9.1f%% %10.3f\n", p, info.node_count, 100 * info.estimated_fraction,
               ms[p]);
        sum += ms[p];
        if (ms[p] > largest) largest = ms[p];
    }
    printf("  sum %.3f ms, largest part %.3f ms; in one part %.3f ms (splitting costs %+.1f%%)\n",
           sum, largest, one, 100 * (sum - one) / one);
    free(ms);
}

/* --config's JSON: the argument itself, or the text of file F for @F; NULL after a message. */
static char *read_config(const char *arg) {
    if (arg[0] != '@') {
        char *text = malloc(strlen(arg) + 1);
        if (text) strcpy(text, arg);
        return text;
    }
    FILE *f = fopen(arg + 1, "rb");
    long len = -1;
    char *text = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (f && len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)) &&
        fread(text, 1, (size_t)len, f) == (size_t)len) {
        text[len] = '\0';
    } else {
        free(text);
        text = NULL;
        fprintf(stderr, "repmlp-bench: %s: cannot read the config file\n", arg + 1);
    }
    if (f) fclose(f);
    return text;
}

static int bench_model(repmlp_context *ctx, const options *o, const char *device) {
    repmlp_model *model;
    if (o->unfused) {
        char *text = read_config(o->config);
        if (!text) return 1;
        repmlp_status st =
            repmlp_model_load_unfused(ctx, REPMLP_ARCH_BLOCK_V1, o->model, text, &model);
        free(text);
        TRY(st);
    } else {
        TRY(repmlp_model_load(ctx, o->model, &model));
    }
    repmlp_session *s = NULL;
    repmlp_session_desc sd = {.size = sizeof sd, .batch = (uint32_t)o->batch};
    repmlp_status st = REPMLP_OK;
    if (o->fp16_check) {
        sd.precision = REPMLP_PRECISION_FP16_ARITHMETIC;
        st = read_check_input(o->fp16_check, model, (size_t)o->batch, &sd);
    }
    double created = tool_now_ms();
    if (st == REPMLP_OK) st = repmlp_session_create_desc(model, &sd, &s);
    created = tool_now_ms() - created;
    free((float *)sd.check_input);
    if (st != REPMLP_OK) {
        repmlp_model_destroy(model);
        return fail_status(st);
    }
    repmlp_precision_info precision;
    repmlp_session_precision_info(s, &precision);
    if (!o->json) printf("session created in %.0f ms\n", created);
    if (o->compile_stats) {
        int rc = rm_print_compile_stats(stdout, s, device, o->model, o->batch, o->json);
        repmlp_session_destroy(s);
        repmlp_model_destroy(model);
        return rc;
    }
    if (!o->json && o->fp16_check)
        printf("fp16 arithmetic: %u ops; against fp32 arithmetic on %s: max error %.3g "
               "(%.3g relative)\n",
               precision.fp16_ops, o->fp16_check, precision.max_abs_error, precision.max_rel_error);
    if (!o->json && (o->tune || o->tuning)) rm_print_tuning(stdout, s);
    if (o->tuning &&
        (st = repmlp_context_save_cache(ctx, REPMLP_CACHE_TUNING, o->tuning)) != REPMLP_OK) {
        repmlp_session_destroy(s);
        repmlp_model_destroy(model);
        return fail_status(st);
    }
    repmlp_shape ishape, oshape;
    repmlp_model_input_shape(model, &ishape);
    repmlp_model_output_shape(model, &oshape);
    size_t nin = (size_t)o->batch, nout = (size_t)o->batch;
    for (uint32_t d = 1; d < ishape.ndim; d++) nin *= (size_t)ishape.dims[d];
    for (uint32_t d = 1; d < oshape.ndim; d++) nout *= (size_t)oshape.dims[d];
    float *in = calloc(nin, sizeof(float)), *out = calloc(nout, sizeof(float));
    for (size_t i = 0; i < nin; i++) in[i] = (float)sin((double)i);
    double *host = calloc((size_t)o->repeat, sizeof(double));
    double *dev = calloc((size_t)o->repeat, sizeof(double));
    st = repmlp_session_run(s, in, nin, out, nout); /* warm-up */
    for (long r = 0; st == REPMLP_OK && r < o->repeat; r++) {
        double t0 = tool_now_ms();
        st = repmlp_session_run(s, in, nin, out, nout);
        host[r] = tool_now_ms() - t0;
        t0 = tool_now_ms();
        if (st == REPMLP_OK) st = repmlp_session_execute(s);
        dev[r] = tool_now_ms() - t0;
    }
    int rc = 0;
    if (st != REPMLP_OK) {
        rc = fail_status(st);
    } else {
        qsort(host, (size_t)o->repeat, sizeof *host, cmp_double);
        qsort(dev, (size_t)o->repeat, sizeof *dev, cmp_double);
        double med = host[o->repeat / 2];
        if (o->json)
            printf("{\"device\": \"%s\", \"model\": \"%s\", \"batch\": %ld, \"median_ms\": %.4f, "
                   "\"min_ms\": %.4f, \"execute_median_ms\": %.4f, \"images_per_s\": %.2f, "
                   "\"weight_bytes\": %llu, \"activation_bytes\": %llu, \"tune\": %d, "
                   "\"session_create_ms\": %.1f, \"fp16_ops\": %u, \"fp16_rel_error\": %.3g}\n",
                   device, o->model, o->batch, med, host[0], dev[o->repeat / 2],
                   1e3 * (double)o->batch / med,
                   (unsigned long long)repmlp_model_weight_bytes(model),
                   (unsigned long long)repmlp_session_activation_bytes(s), o->tune, created,
                   precision.fp16_ops, precision.max_rel_error);
        else
            printf("model: %s (%s), batch %ld\n"
                   "latency host to host: median %.3f ms, min %.3f ms; execute only: median "
                   "%.3f ms\nthroughput: %.2f images/s\nmemory: weights %.2f MiB, activations "
                   "%.2f MiB\n",
                   o->model, repmlp_model_arch(model), o->batch, med, host[0], dev[o->repeat / 2],
                   1e3 * (double)o->batch / med,
                   (double)repmlp_model_weight_bytes(model) / 1048576.0,
                   (double)repmlp_session_activation_bytes(s) / 1048576.0);
        if (!o->json) print_profile(s);
        if (o->parts) print_parts(s, (uint32_t)o->parts, o->repeat);
    }
    free(in);
    free(out);
    free(host);
    free(dev);
    repmlp_session_destroy(s);
    repmlp_model_destroy(model);
    return rc;
}

static void log_to_stderr(void *user, repmlp_log_level level, const char *message) {
    (void)user;
    if (level >= REPMLP_LOG_WARNING) fprintf(stderr, "repmlp-bench: %s\n", message);
}

int main(int argc, char **argv) {
    options o;
    parse(argc, argv, &o);
    /* Counted until the context is destroyed: leaks are reported by vkDestroyDevice. */
    uint32_t validation_messages = 0;
    repmlp_context_desc desc = {
        .size = sizeof(repmlp_context_desc),
        .device = o.device,
        .flags =
            (o.fp16 ? REPMLP_CONTEXT_FP16_WEIGHTS : 0u) | (o.tune ? REPMLP_CONTEXT_TUNE : 0u) |
            (o.compile_stats ? REPMLP_CONTEXT_COMPILE_ONLY | REPMLP_CONTEXT_COMPILE_STATS : 0u) |
            (o.validation ? REPMLP_CONTEXT_VALIDATION : 0u),
        .log = o.validation ? log_to_stderr : NULL,
        .validation_counter = &validation_messages,
        .tune_budget_ms = (uint32_t)o.tune_budget};
    repmlp_context *ctx;
    TRY(repmlp_context_create(&desc, &ctx));
    if (o.tuning) TRY(repmlp_context_load_cache(ctx, REPMLP_CACHE_TUNING, o.tuning));
    repmlp_device_info info;
    repmlp_context_device(ctx, &info);
    /* The limits in effect (stdout stays one JSON object per line with --json). */
    if (!o.json) printf("device: %s\n", info.name);
    rm_print_limits(o.json ? stderr : stdout, ctx, "");
    int rc = bench_model(ctx, &o, info.name);
    repmlp_context_destroy(ctx);
    if (validation_messages) {
        fprintf(stderr, "repmlp-bench: the validation layer reported %u messages\n",
                validation_messages);
        if (!rc) rc = 1;
    }
    return rc;
}
