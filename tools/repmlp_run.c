/* repmlp-run: runs a fused model on a Vulkan device (see CONTRACT.md). This file: the
 * command line, --list-devices and the plain run; run.h names the other parts.
 *
 *   repmlp-run FUSED.safetensors --input IN.safetensors --output OUT.safetensors
 *              [--device SEL] [--repeat K] [--expect REF.safetensors] [--tolerance T]
 *   repmlp-run FUSED.safetensors --input IN.safetensors --eval LABELS.safetensors
 *              [--batch B] [--predictions OUT.json] [--top K] [--show N] [--output ...]
 *   repmlp-run FUSED.safetensors --image FILE.png [--image ...] [--top K] [--preprocess P.json]
 *   repmlp-run --list-devices
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print_limits.h"
#include "run.h"
#include "tool_clock.h"

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
    repmlp_status st = repmlp_device_list(infos, &count);
    if (st < 0) return run_fail_status(st); /* REPMLP_INCOMPLETE: the first 32 */
    static const char *types[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"};
    int rc = 0;
    for (uint32_t i = 0; i < count && i < 32; i++) {
        printf("%u: %s (%s, Vulkan %u.%u)%s\n", infos[i].index, infos[i].name, types[infos[i].type],
               infos[i].api_version >> 22, (infos[i].api_version >> 12) & 0x3ff,
               !infos[i].usable        ? " [unusable]"
               : infos[i].compile_only ? " [compile only: cannot run]"
                                       : "");
        if (!infos[i].usable) continue;
        char index[16];
        snprintf(index, sizeof index, "%u", infos[i].index);
        /* A device that cannot run still shows the limits its pipelines are planned for. */
        repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc),
                                    .device = index,
                                    .flags =
                                        infos[i].compile_only ? REPMLP_CONTEXT_COMPILE_ONLY : 0u};
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
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc),
                                .device = o.device,
                                .flags = o.validation ? REPMLP_CONTEXT_VALIDATION : 0,
                                .log = log_to_stderr,
                                .validation_counter = &validation_messages};
    repmlp_context *ctx = NULL;
    repmlp_model *model = NULL;
    repmlp_session *session = NULL;
    float *input = NULL, *output = NULL;
    repmlp_status st = repmlp_context_create(&desc, &ctx);
    if (st != REPMLP_OK) return run_fail_status(st);
    repmlp_device_info info;
    repmlp_context_device(ctx, &info);
    printf("device: %s\n", info.name);

    repmlp_shape in_shape, out_shape;
    int64_t batch = 0;
    double t0 = tool_now_ms();
    st = repmlp_model_load(ctx, o.model, &model);
    if (st != REPMLP_OK) {
        rc = run_fail_status(st);
        goto done;
    }
    double t_load = tool_now_ms() - t0;
    repmlp_model_input_shape(model, &in_shape);
    repmlp_model_output_shape(model, &out_shape);
    if (o.n_images) {
        rc = run_classify_images(&o, model, &in_shape, &out_shape);
        goto done;
    }
    if ((rc = run_read_input(o.input, &in_shape, &input, &batch))) goto done;
    if (o.eval) {
        rc = run_evaluate(&o, model, &in_shape, &out_shape, input, batch);
        goto done;
    }

    t0 = tool_now_ms();
    st = repmlp_session_create(model, (uint32_t)batch, &session);
    if (st != REPMLP_OK) {
        rc = run_fail_status(st);
        goto done;
    }
    double t_prepare = tool_now_ms() - t0;
    size_t in_count = 1, out_count = 1;
    for (uint32_t d = 0; d < in_shape.ndim; d++) in_count *= (size_t)(d ? in_shape.dims[d] : batch);
    for (uint32_t d = 0; d < out_shape.ndim; d++)
        out_count *= (size_t)(d ? out_shape.dims[d] : batch);
    output = malloc(out_count * sizeof *output);
    if (!output) {
        rc = run_fail("out of memory");
        goto done;
    }
    t0 = tool_now_ms();
    st = repmlp_session_run(session, input, in_count, output, out_count);
    double t_first = tool_now_ms() - t0;
    if (st != REPMLP_OK) {
        rc = run_fail_status(st);
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
            rc = run_fail("out of memory");
            goto done;
        }
        for (long i = 0; i < o.repeat && st == REPMLP_OK; i++) {
            t0 = tool_now_ms();
            st = repmlp_session_run(session, input, in_count, output, out_count);
            times[i] = tool_now_ms() - t0;
        }
        if (st == REPMLP_OK) {
            qsort(times, (size_t)o.repeat, sizeof *times, run_cmp_double);
            printf("latency over %ld runs (host to host): min %.3f ms, median %.3f ms\n", o.repeat,
                   times[0], times[o.repeat / 2]);
        }
        free(times);
        if (st != REPMLP_OK) {
            rc = run_fail_status(st);
            goto done;
        }
    }
    if ((rc = run_write_output(o.output, &out_shape, batch, output))) goto done;
    if (o.expect) rc = run_compare(o.expect, output, out_count, o.tolerance);
    if (o.top) {
        int classes = 0, crc = run_classifier_classes(o.model, &out_shape, "--top", &classes);
        for (int64_t i = 0; !crc && i < batch && i < o.show; i++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "#%lld: ", (long long)i);
            run_print_top(prefix, output + (size_t)i * (size_t)classes, classes, o.top);
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
