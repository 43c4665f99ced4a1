/* repmlp-run --image: decoding (image_decode.c), the model's preprocessing and the top
 * classes per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_decode.h"
#include "run.h"
#include "tool_clock.h"

/* The model's preprocessing (repmlp_model_preprocessing: the fused file's metadata), or the JSON
 * file given with --preprocess. */
static int read_preprocess(const options *o, const repmlp_model *model, repmlp_preprocessing *p) {
    char msg[1400];
    if (!o->preprocess) {
        repmlp_status s = repmlp_model_preprocessing(model, p);
        if (s == REPMLP_OK) return 0;
        snprintf(msg, sizeof msg, "%s (or pass --preprocess FILE.json) to use --image",
                 repmlp_last_error());
        return run_fail(msg);
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
        return run_fail(msg);
    }
    repmlp_status s = repmlp_model_parse_preprocessing(model, text, p);
    free(text);
    if (s == REPMLP_OK) return 0;
    snprintf(msg, sizeof msg, "%s: %s", o->preprocess, repmlp_last_error());
    return run_fail(msg);
}

/* Decodes one image and writes the model's input for it (C x H x W floats) into out. */
static int load_image(const char *path, const repmlp_preprocessing *p, int channels, float *out) {
    unsigned char *px;
    int w, h;
    char err[1200];
    if (rm_image_load(path, channels, &px, &w, &h, err, sizeof err)) return run_fail(err);
    repmlp_status s = repmlp_preprocessing_apply(p, px, (uint32_t)w, (uint32_t)h, out);
    int rc = s == REPMLP_OK ? 0 : run_fail_status(s);
    rm_image_free(px);
    return rc;
}

int run_classify_images(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                        const repmlp_shape *out_shape) {
    int classes = 0, rc;
    if ((rc = run_classifier_classes(o->model, out_shape, "--image", &classes))) return rc;
    if (in_shape->ndim != 4)
        return run_fail("--image needs a model that takes (N, C, H, W) images");
    repmlp_preprocessing p;
    if ((rc = read_preprocess(o, model, &p))) return rc;
    int channels = (int)in_shape->dims[1];
    size_t per_in = (size_t)channels * (size_t)p.input_h * (size_t)p.input_w;
    int64_t n = o->n_images;
    float *input = malloc((size_t)n * per_in * sizeof *input);
    float *logits = malloc((size_t)n * (size_t)classes * sizeof *logits);
    repmlp_session *s = NULL;
    if (!input || !logits) rc = run_fail("out of memory");
    for (int64_t i = 0; i < n && !rc; i++)
        rc = load_image(o->images[i], &p, channels, input + (size_t)i * per_in);
    if (!rc) {
        repmlp_status st = repmlp_session_create(model, (uint32_t)n, &s);
        double t0 = tool_now_ms();
        if (st == REPMLP_OK)
            st = repmlp_session_run(s, input, (size_t)n * per_in, logits,
                                    (size_t)n * (size_t)classes);
        double ms = tool_now_ms() - t0;
        if (st != REPMLP_OK) {
            rc = run_fail_status(st);
        } else {
            printf("model: %s, arch %s, %d classes, %lld images, run %.3f ms\n", o->model,
                   repmlp_model_arch(model), classes, (long long)n, ms);
            for (int64_t i = 0; i < n; i++) {
                char prefix[1100];
                snprintf(prefix, sizeof prefix, "image %s: ", o->images[i]);
                run_print_top(prefix, logits + (size_t)i * (size_t)classes, classes,
                              o->top ? o->top : 3);
            }
            if (o->output) rc = run_write_output(o->output, out_shape, n, logits);
        }
    }
    repmlp_session_destroy(s);
    free(input);
    free(logits);
    return rc;
}
