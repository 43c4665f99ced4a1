/* classify: the smallest complete program using repmlp-vk.
 *
 *   classify FUSED.safetensors
 *
 * Creates a context on the best Vulkan device, loads a fused model (made by repmlp-fuse),
 * prepares it for one image, runs it on a deterministic input and prints the device, the
 * shapes and, for a classifier (output (1, classes)), the five best classes; for any other
 * model, the first output values. Exit status 0 on success, 1 on any error. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <repmlp.h>

static int fail(const char *what, repmlp_status status) {
    /* The status names the kind of failure; repmlp_last_error() says what and where. */
    fprintf(stderr, "classify: %s: %s: %s\n", what, repmlp_status_name(status),
            repmlp_last_error());
    return 1;
}

static size_t shape_count(const repmlp_shape *s) {
    size_t n = 1;
    for (uint32_t i = 0; i < s->ndim; i++) n *= (size_t)s->dims[i];
    return n;
}

static void print_shape(const char *name, const repmlp_shape *s) {
    printf("%s (", name);
    for (uint32_t i = 0; i < s->ndim; i++) printf("%s%lld", i ? ", " : "", (long long)s->dims[i]);
    printf(")\n");
}

/* The five largest values, best first. */
static void print_top5(const float *y, size_t n) {
    size_t best[5];
    size_t k = n < 5 ? n : 5;
    for (size_t r = 0; r < k; r++) {
        size_t arg = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t j = 0; j < r; j++) taken |= best[j] == i;
            if (!taken && (arg == SIZE_MAX || y[i] > y[arg])) arg = i;
        }
        best[r] = arg;
        printf("  #%u: class %u, score %.6g\n", (unsigned)(r + 1), (unsigned)arg, (double)y[arg]);
    }
}

static int run(const char *path) {
    repmlp_context *ctx = NULL;
    repmlp_model *model = NULL;
    repmlp_session *session = NULL;
    float *input = NULL, *output = NULL;
    int rc = 1;

    repmlp_status st = repmlp_context_create(NULL, &ctx); /* NULL: the best device */
    if (st != REPMLP_OK) return fail("creating a context", st);
    repmlp_device_info device;
    st = repmlp_context_device(ctx, &device);
    if (st != REPMLP_OK) {
        rc = fail("querying the device", st);
        goto done;
    }
    printf("device: %s (repmlp-vk %s)\n", device.name, repmlp_version_string());

    st = repmlp_model_load(ctx, path, &model);
    if (st != REPMLP_OK) {
        rc = fail(path, st);
        goto done;
    }
    repmlp_shape in_shape, out_shape;
    if ((st = repmlp_model_input_shape(model, &in_shape)) != REPMLP_OK ||
        (st = repmlp_model_output_shape(model, &out_shape)) != REPMLP_OK) {
        rc = fail("querying the model's shapes", st);
        goto done;
    }
    printf("model: %s\n", repmlp_model_arch(model));
    print_shape("input", &in_shape);
    print_shape("output", &out_shape);

    /* A deterministic input in [-1, 1) instead of an image, to stay dependency-free. */
    size_t in_count = shape_count(&in_shape), out_count = shape_count(&out_shape);
    input = malloc(in_count * sizeof *input);
    output = malloc(out_count * sizeof *output);
    if (!input || !output) {
        fprintf(stderr, "classify: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < in_count; i++) input[i] = (float)((i * 7919u) % 2000u) / 1000.0f - 1.0f;

    st = repmlp_session_create(model, 1, &session); /* plans memory, records, once */
    if (st != REPMLP_OK) {
        rc = fail("preparing a session", st);
        goto done;
    }
    st = repmlp_session_run(session, input, in_count, output, out_count);
    if (st != REPMLP_OK) {
        rc = fail("running", st);
        goto done;
    }
    for (size_t i = 0; i < out_count; i++) {
        if (!isfinite(output[i])) {
            fprintf(stderr, "classify: output %u is not finite\n", (unsigned)i);
            goto done;
        }
    }
    if (out_shape.ndim == 2) {
        printf("top 5 of %u classes:\n", (unsigned)out_count);
        print_top5(output, out_count);
    } else {
        printf("first values:");
        for (size_t i = 0; i < out_count && i < 8; i++) printf(" %.6g", (double)output[i]);
        printf("\n");
    }
    rc = 0;

done:
    free(input);
    free(output);
    repmlp_session_destroy(session); /* the destroy functions accept NULL */
    repmlp_model_destroy(model);
    repmlp_context_destroy(ctx);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: classify FUSED.safetensors\n");
        return 2;
    }
    return run(argv[1]);
}
