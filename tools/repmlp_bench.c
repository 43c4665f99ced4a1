/* repmlp-bench: measures the runtime on a Vulkan device.
 *
 *   repmlp-bench --gemm M N K [--groups G] [--tiles LIST] [--variant V] [--repeat R]
 *                [--device SEL] [--json]
 *       the grouped GEMM kernel alone: R dispatches in one submission, best of 5, as GFLOP/s
 *       (the practical peak through Vulkan on this device). --tiles 0,1,4,8 measures each
 *       row tile (0 = the runtime's choice) alternately in the same run, so they can be
 *       compared on a noisy machine; --variant storage|texel forces the operand path;
 *   repmlp-bench FUSED.safetensors [--batch N] [--repeat R] [--device SEL] [--json]
 *       a fused model end to end: median/min latency (host to host and device only),
 *       images/s, weight and activation memory, per-op device time and kernel variant; the
 *       limits in effect are printed first (REPMLP_DEVICE_PROFILE applies);
 *   --parts N (with a model) also records the session in N parts (repmlp_session_record_part,
 *       each part its own submission, as an engine spreading it over N frames) and prints
 *       each part's ops, estimated share and device time (median of R), against one part;
 *   --fp16 (with a model) stores its GEMM/conv weights as fp16 where the device has 16-bit
 *       storage (REPMLP_CONTEXT_FP16_WEIGHTS);
 *   repmlp-bench --unfused TRAIN.safetensors --config JSON|@FILE [--batch N] ...
 *       the same for a RepMLP block's training-time file run unfused (its BatchNorms, conv
 *       branches and permutes as separate ops): the baseline of re-parameterization.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"
#include "core/buffer.h"
#include "core/platform.h"
#include "exec/model.h"
#include "exec/session.h"
#include "io/json.h"
#include "ops/ops.h"
#include "print_limits.h"
#include "print_tuning.h"

typedef struct options {
    const char *model, *device, *config;
    int unfused, fp16;
    long gemm[3];
    long groups, batch, repeat, parts;
    int json, tune;
    const char *tuning; /* --tuning-file: loaded before, saved after */
    long tune_budget;   /* ms; 0: the library's default */
    uint32_t tiles[4];
    int tile_count;
    rm_gemm_variant variant;
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

static void usage(FILE *f) {
    fprintf(f, "usage: repmlp-bench --gemm M N K [--groups G] [--tiles 0,1,4,8] "
               "[--variant storage|texel] [--repeat R] [--device SEL] [--json]\n"
               "       repmlp-bench FUSED.safetensors [--batch N] [--repeat R] [--device SEL] "
               "[--fp16] [--parts N] [--tune [--tune-budget MS]] [--tuning-file F] [--json]\n"
               "       repmlp-bench --unfused TRAIN.safetensors --config JSON|@FILE [--batch N] "
               "[--repeat R] [--device SEL] [--json]\n");
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

static void parse_tiles(const char *s, options *o) {
    o->tile_count = 0;
    for (const char *c = s; *c; c++) {
        if (*c == ',') continue;
        if (!strchr("0148", *c) || (c[1] && c[1] != ',') || o->tile_count == 4) {
            fprintf(stderr, "repmlp-bench: --tiles: bad list '%s' (of 0, 1, 4, 8)\n", s);
            exit(2);
        }
        o->tiles[o->tile_count++] = (uint32_t)(*c - '0');
    }
    if (!o->tile_count) {
        fprintf(stderr, "repmlp-bench: --tiles: empty list\n");
        exit(2);
    }
}

static void parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->groups = 1;
    o->batch = 1;
    o->repeat = 20;
    o->tile_count = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--gemm") == 0 && i + 3 < argc) {
            for (int k = 0; k < 3; k++) o->gemm[k] = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--groups") == 0 && has_value) {
            o->groups = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--fp16") == 0) {
            o->fp16 = 1;
        } else if (strcmp(a, "--unfused") == 0) {
            o->unfused = 1;
        } else if (strcmp(a, "--config") == 0 && has_value) {
            o->config = argv[++i];
        } else if (strcmp(a, "--tiles") == 0 && has_value) {
            parse_tiles(argv[++i], o);
        } else if (strcmp(a, "--variant") == 0 && has_value) {
            const char *v = argv[++i];
            o->variant = strcmp(v, "storage") == 0 ? RM_GEMM_STORAGE
                         : strcmp(v, "texel") == 0 ? RM_GEMM_TEXEL
                                                   : RM_GEMM_AUTO;
            if (o->variant == RM_GEMM_AUTO) {
                fprintf(stderr, "repmlp-bench: --variant: '%s' is not storage or texel\n", v);
                exit(2);
            }
        } else if (strcmp(a, "--batch") == 0 && has_value) {
            o->batch = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--parts") == 0 && has_value) {
            o->parts = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--repeat") == 0 && has_value) {
            o->repeat = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--device") == 0 && has_value) {
            o->device = argv[++i];
        } else if (strcmp(a, "--tune") == 0) {
            o->tune = 1;
        } else if (strcmp(a, "--tune-budget") == 0 && has_value) {
            o->tune_budget = parse_long(a, argv[++i]);
        } else if (strcmp(a, "--tuning-file") == 0 && has_value) {
            o->tuning = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (a[0] != '-' && !o->model) {
            o->model = a;
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (!o->model == !o->gemm[0] || o->unfused != !!o->config || (o->unfused && !o->model)) {
        usage(stderr);
        exit(2);
    }
}

static int bench_gemm(repmlp_context *ctx, const options *o, const char *device) {
    uint32_t M = (uint32_t)o->gemm[0], N = (uint32_t)o->gemm[1], K = (uint32_t)o->gemm[2];
    uint32_t g = (uint32_t)o->groups;
    size_t nx = (size_t)M * K * g, nw = (size_t)rm_gemm_packed_count(g, N, K);
    size_t ny = (size_t)M * N * g;
    if (!nw) {
        fprintf(stderr, "repmlp-bench: --gemm: the weight is too large\n");
        return 1;
    }
    /* Values do not change the timing; the weight buffer has the packed layout's size. */
    float *host = calloc(nx > nw ? nx : nw, sizeof(float));
    for (size_t i = 0; i < (nx > nw ? nx : nw); i++) host[i] = (float)(i % 7) * 0.125f;
    rm_buffer bx, bw, bb, by;
    TRY(rm_buffer_create(ctx, nx * 4, RM_BUFFER_DEVICE, &bx));
    TRY(rm_buffer_create(ctx, nw * 4, RM_BUFFER_DEVICE, &bw));
    TRY(rm_buffer_create(ctx, (size_t)N * g * 4, RM_BUFFER_DEVICE, &bb));
    TRY(rm_buffer_create(ctx, ny * 4, RM_BUFFER_DEVICE, &by));
    TRY(rm_buffer_upload(ctx, &bx, 0, host, nx * 4));
    TRY(rm_buffer_upload(ctx, &bw, 0, host, nw * 4));
    TRY(rm_buffer_upload(ctx, &bb, 0, host, (size_t)N * g * 4));
    free(host);
    rm_binding b[7] = {{bx.buffer, 0, bx.size}, {bw.buffer, 0, bw.size}, {bb.buffer, 0, bb.size},
                       {by.buffer, 0, by.size}, {bx.buffer, 0, bx.size}, {bx.buffer, 0, bx.size},
                       {bx.buffer, 0, bx.size}};
    VkDescriptorPool pool;
    TRY(rm_descriptor_pool_create(ctx, (uint32_t)o->tile_count, &pool));
    rm_dispatch d[4];
    for (int t = 0; t < o->tile_count; t++) {
        rm_gemm_params p = rm_gemm_row_major(M, K, N, g);
        p.has_bias = true;
        p.variant = o->variant;
        p.tile_m = o->tiles[t];
        TRY(rm_gemm_prepare(ctx, &p, &d[t]));
        TRY(rm_dispatch_bind(ctx, pool, &d[t], b));
    }
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int trial = 0; trial < 5; trial++)
        for (int t = 0; t < o->tile_count; t++) {
            VkCommandBuffer cmd;
            TRY(rm_oneoff_begin(ctx, &cmd));
            for (long r = 0; r < o->repeat; r++) {
                if (r) rm_barrier_compute(ctx, cmd);
                rm_dispatch_record(ctx, cmd, &d[t]);
            }
            double t0 = rm_now_ms();
            TRY(rm_oneoff_submit(ctx, cmd));
            double ms = (rm_now_ms() - t0) / (double)o->repeat;
            if (ms < best[t]) best[t] = ms;
        }
    for (int t = 0; t < o->tile_count; t++) {
        double gflops = 2.0 * M * N * K * g / (best[t] * 1e6);
        char tile[16] = "auto";
        if (o->tiles[t]) snprintf(tile, sizeof tile, "%u", o->tiles[t]);
        if (o->json)
            printf("{\"device\": \"%s\", \"gemm\": [%u, %u, %u], \"groups\": %u, "
                   "\"tile\": \"%s\", \"kernel\": \"%s\", \"ms\": %.4f, \"gflops\": %.3f}\n",
                   device, M, N, K, g, tile, rm_shader(d[t].pipeline->shader)->name, best[t],
                   gflops);
        else
            printf("gemm M=%u N=%u K=%u groups=%u tile %s (%s): %.3f ms per dispatch, %.2f "
                   "GFLOP/s\n",
                   M, N, K, g, tile, rm_shader(d[t].pipeline->shader)->name, best[t], gflops);
        rm_dispatch_unbind(ctx, &d[t]);
    }
    rm_descriptor_pool_destroy(ctx, pool);
    rm_buffer_destroy(ctx, &bx);
    rm_buffer_destroy(ctx, &bw);
    rm_buffer_destroy(ctx, &bb);
    rm_buffer_destroy(ctx, &by);
    return 0;
}

/* Per-op device time from timestamps, with the op's arithmetic rate and the memory traffic
 * it would have if every bound byte moved once (a lower bound on the real traffic), and the
 * kernel variant (shader) each op got. Without timestamps, the kernels alone. */
static void print_profile(repmlp_session *s) {
    int n = s->graph.node_count;
    double *ms = calloc((size_t)n, sizeof *ms);
    repmlp_status st = ms ? rm_session_profile(s, ms) : REPMLP_ERROR_OUT_OF_HOST_MEMORY;
    bool timed = st == REPMLP_OK;
    double total = 0;
    for (int i = 0; timed && i < n; i++) total += ms[i];
    if (timed)
        printf("per-op device time (one run, %d ops, %.3f ms in total):\n", n, total);
    else
        printf("per-op kernels (%d ops; device times unavailable: %s):\n", n, repmlp_last_error());
    printf("  %-44s %-8s %-15s %10s %6s %10s %10s\n", "op", "kind", "kernel", "ms", "%", "GFLOP/s",
           "GB/s");
    for (int i = 0; i < n; i++) {
        const rm_node *node = &s->graph.nodes[i];
        const char *kernel = rm_shader(s->dispatches[i].pipeline->shader)->name;
        printf("  %-44s %-8s %-15s", node->label, rm_op_kinds[node->kind].name, kernel);
        if (timed) {
            double flops = (double)rm_op_kinds[node->kind].flops(node);
            double bytes = (double)rm_session_node_bytes(s, i);
            double sec = ms[i] > 0 ? ms[i] / 1e3 : 1e-12;
            printf(" %10.3f %5.1f%% %10.2f %10.2f\n", ms[i],
                   100.0 * ms[i] / (total > 0 ? total : 1), flops / sec / 1e9, bytes / sec / 1e9);
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
            st = rm_session_profile_part(s, p, parts, &runs[r]);
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

static int bench_model(repmlp_context *ctx, const options *o, const char *device) {
    repmlp_model *model;
    if (o->unfused) {
        char where[1024];
        cJSON *config = NULL;
        repmlp_status st =
            rm_json_parse_arg(o->config, o->model, "--config", where, sizeof where, &config);
        if (st == REPMLP_OK) st = rm_model_load_as(ctx, o->model, "RepMLP-unfused", config, &model);
        cJSON_Delete(config);
        TRY(st);
    } else {
        TRY(repmlp_model_load(ctx, o->model, &model));
    }
    repmlp_session *s;
    double created = rm_now_ms();
    repmlp_status st = repmlp_session_create(model, (uint32_t)o->batch, &s);
    created = rm_now_ms() - created;
    if (st != REPMLP_OK) {
        repmlp_model_destroy(model);
        return fail_status(st);
    }
    if (!o->json && (o->tune || o->tuning)) {
        printf("session created in %.0f ms\n", created);
        rm_print_tuning(stdout, s);
    }
    if (o->tuning && (st = repmlp_context_save_tuning(ctx, o->tuning)) != REPMLP_OK) {
        repmlp_session_destroy(s);
        repmlp_model_destroy(model);
        return fail_status(st);
    }
    size_t nin = s->input_count, nout = s->output_count;
    float *in = calloc(nin, sizeof(float)), *out = calloc(nout, sizeof(float));
    for (size_t i = 0; i < nin; i++) in[i] = (float)sin((double)i);
    double *host = calloc((size_t)o->repeat, sizeof(double));
    double *dev = calloc((size_t)o->repeat, sizeof(double));
    st = repmlp_session_run(s, in, nin, out, nout); /* warm-up */
    for (long r = 0; st == REPMLP_OK && r < o->repeat; r++) {
        double t0 = rm_now_ms();
        st = repmlp_session_run(s, in, nin, out, nout);
        host[r] = rm_now_ms() - t0;
        t0 = rm_now_ms();
        if (st == REPMLP_OK) st = repmlp_session_execute(s);
        dev[r] = rm_now_ms() - t0;
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
                   "\"session_create_ms\": %.1f}\n",
                   device, o->model, o->batch, med, host[0], dev[o->repeat / 2],
                   1e3 * (double)o->batch / med,
                   (unsigned long long)repmlp_model_weight_bytes(model),
                   (unsigned long long)repmlp_session_activation_bytes(s), o->tune, created);
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

int main(int argc, char **argv) {
    options o;
    parse(argc, argv, &o);
    repmlp_context_desc desc = {.device = o.device,
                                .flags = (o.fp16 ? REPMLP_CONTEXT_FP16_WEIGHTS : 0u) |
                                         (o.tune ? REPMLP_CONTEXT_TUNE : 0u),
                                .tune_budget_ms = (uint32_t)o.tune_budget};
    repmlp_context *ctx;
    TRY(repmlp_context_create(&desc, &ctx));
    if (o.tuning) TRY(repmlp_context_load_tuning(ctx, o.tuning));
    repmlp_device_info info;
    repmlp_context_device(ctx, &info);
    /* The limits in effect (stdout stays one JSON object per line with --json). */
    if (!o.json) printf("device: %s\n", info.name);
    rm_print_limits(o.json ? stderr : stdout, ctx, "");
    int rc = o.gemm[0] ? bench_gemm(ctx, &o, info.name) : bench_model(ctx, &o, info.name);
    repmlp_context_destroy(ctx);
    return rc;
}
