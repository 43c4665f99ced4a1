/* repmlp-run's parts: the options and the helpers they share. repmlp_run.c parses the command
 * line and runs a model on a tensor file; run_tensors.c reads and writes the tensor files and
 * checks against a reference; run_classify.c evaluates and prints classifiers' results;
 * run_images.c decodes and preprocesses images for --image. Public API only. */
#ifndef TOOL_RUN_H
#define TOOL_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "repmlp.h"

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

/* "repmlp-run: <what>" on stderr; returns 1. */
int run_fail(const char *what);
/* "repmlp-run: <last error> (<status name>)" on stderr; returns 1. */
int run_fail_status(repmlp_status st);
/* qsort comparison of doubles. */
int run_cmp_double(const void *a, const void *b);
/* "(a, b, c)" into buf; returns buf. */
const char *run_format_shape(uint32_t ndim, const int64_t *shape, char *buf, size_t size);

/* ---- run_tensors.c ---- */

/* Tensor `input` of path (F32, the model's shape with any batch) into *data (malloc'd). */
int run_read_input(const char *path, const repmlp_shape *want, float **data, int64_t *batch);
/* Tensor "output" of shape (batch, shape[1:]) into path. */
int run_write_output(const char *path, const repmlp_shape *shape, int64_t batch, const float *data);
/* Prints the max error against ref's tensor 'output'; returns 1 if above tolerance. */
int run_compare(const char *ref, const float *got, size_t count, double tolerance);

/* ---- run_classify.c ---- */

/* The number of classes of a classifier's output (N, classes); an error otherwise. */
int run_classifier_classes(const char *model_path, const repmlp_shape *out, const char *why,
                           int *classes);
/* Prints "<prefix>class c p=0.xxxx, ..." for the k most likely classes. */
void run_print_top(const char *prefix, const float *logits, int classes, long k);
/* --eval: all of input in batches, accuracy against the labels, throughput. */
int run_evaluate(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                 const repmlp_shape *out_shape, const float *input, int64_t n);

/* ---- run_images.c ---- */

/* --image: decodes, preprocesses and classifies the images. */
int run_classify_images(const options *o, repmlp_model *model, const repmlp_shape *in_shape,
                        const repmlp_shape *out_shape);

#endif
