/* Private: what every fuser does with tensors, in one place: read a training tensor as
 * float64 with its exact shape (rejecting inf/nan), read a BatchNorm (accepting its optional
 * num_batches_tracked), fuse a ConvBN or a block's partition perceptron, and emit a deploy
 * tensor rounded to float32 exactly once. Every read marks the tensor used, so a fuser ends with
 * rm_fuse_check_all_used (fuse_block_v1.h). Errors name the training file and the tensor. */
#ifndef RM_FUSE_IO_H
#define RM_FUSE_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "model/fuse_rules.h"
#include "repmlp/status.h"

/* Longest tensor name a network fuser builds (our prefixes are short: "stages.3.17." ...). */
#define RM_FUSE_NAME_MAX 256

typedef struct rm_fuser {
    rm_safetensors *train;
    const char *file; /* the training file, for messages */
    rm_st_writer *out;
} rm_fuser;

/* prefix + rel into buf (RM_FUSE_NAME_MAX bytes); returns buf. */
const char *rm_fuse_name(char *buf, const char *prefix, const char *rel);

/* REPMLP_ERROR_OUT_OF_HOST_MEMORY "<training file>: out of host memory". */
repmlp_status rm_fuser_out_of_memory(const rm_fuser *f);

/* The tensor `name` as float64 of exactly `shape` (rm_malloc'd into *out), all finite. */
repmlp_status rm_fuser_read(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                            double **out);

/* A BatchNorm's four tensors "<base>.{weight,bias,running_mean,running_var}" (channels each),
 * var + eps > 0, plus an optional "<base>.num_batches_tracked" of shape () or (1). */
typedef struct rm_fuse_bn {
    double *gamma, *beta, *mean, *var;
    int64_t channels;
} rm_fuse_bn;
repmlp_status rm_fuser_read_bn(rm_fuser *f, const char *base, int64_t channels, rm_fuse_bn *bn);
rm_bn_params rm_fuse_bn_params(const rm_fuse_bn *bn);
/* Frees and zeroes; a zeroed struct is fine. */
void rm_fuse_bn_free(rm_fuse_bn *bn);

/* Whether rm_fuser_emit writes GEMM/conv weights as 8-bit blocks (model/weights_q8.h) for
 * every fuse of this thread from now on (repmlp_fuse_* sets and clears it around one fuse). */
void rm_fuse_set_q8(bool q8);

/* Rounds (*values) to float32 and adds it to the writer as `name`. Takes *values: frees it and
 * sets it to NULL on success and failure alike, so callers free only what they never emitted.
 * A magnitude beyond float32 is an error. Under rm_fuse_set_q8(true) a GEMM/conv weight (a
 * name ending in ".weight" with 2 or more dims) is written as I8 `name` plus F16
 * `name_scale` instead (docs/FUSED_FORMAT.md). */
repmlp_status rm_fuser_emit(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                            double **values);

/* Reads `name` and emits it unchanged (same name and shape) as float32. */
repmlp_status rm_fuser_copy(rm_fuser *f, const char *name, int ndim, const int64_t *shape);

/* ConvBN (docs/MODELS.md §2): reads "<base>.conv.weight" (out_ch, in_per_group, kh, kw) and
 * "<base>.bn.*" (out_ch) and returns the conv with its BN folded (W' = W*t per output channel,
 * b' = beta - mean*t) in *weight and *bias (rm_malloc'd, float64). */
repmlp_status rm_fuse_convbn_read(rm_fuser *f, const char *base, int64_t out_ch,
                                  int64_t in_per_group, int64_t kh, int64_t kw, double **weight,
                                  double **bias);
/* rm_fuse_convbn_read, then emits "<base>.conv.weight" and "<base>.conv.bias". */
repmlp_status rm_fuse_convbn(rm_fuser *f, const char *base, int64_t out_ch, int64_t in_per_group,
                             int64_t kh, int64_t kw);

/* The partition perceptron of both block versions: the fc3 rules of docs/MODELS.md §1, which §3
 * applies with g = S and C = O = S. fc3 is (out_ch*h*w, in_per_group*h*w, 1, 1), and each channel
 * of its BN covers rows_per_bn_channel rows: 1 in §1, h*w in §3 (BN per shareset). */
typedef struct rm_fuse_fc3_dims {
    int64_t out_ch, in_per_group, h, w, rows_per_bn_channel;
    int kernel_count;
    const int64_t *kernels; /* sorted ascending */
} rm_fuse_fc3_dims;

/* Reads "<prefix>fc3.weight", "<prefix>fc3_bn.*" and the ConvBN "<prefix>repconv{k}" (out_ch,
 * in_per_group, k, k) of every kernel, and returns in *weight and *bias (rm_malloc'd, float64)
 * fc3 with its BN folded plus the conv branches (each BN folded, padded to the largest kernel,
 * summed) as the matrix of a padding-kmax/2 conv on one h x w partition. */
repmlp_status rm_fuse_fc3_read(rm_fuser *f, const char *prefix, const rm_fuse_fc3_dims *dims,
                               double **weight, double **bias);

/* The whole `repmlp-fuse` job for one arch: takes config_json (rm_malloc'd, freed here; NULL
 * stands for its allocation having failed), opens train_path, runs body(ctx, fuser), rejects
 * tensors nobody read, sets the fused-format metadata (arch, config_json) and writes out_path
 * atomically (nothing left there on failure). */
typedef repmlp_status (*rm_fuse_body)(const void *ctx, rm_fuser *f);
repmlp_status rm_fuse_to_file(const char *arch, char *config_json, rm_fuse_body body,
                              const void *ctx, const char *train_path, const char *out_path);
/* The same from a training file's bytes (borrowed for the call; train_name stands for it in
 * messages) to the fused file's bytes: *out (rm_malloc'd) and *out_size, the bytes
 * rm_fuse_to_file would write. */
repmlp_status rm_fuse_to_memory(const char *arch, char *config_json, rm_fuse_body body,
                                const void *ctx, const void *train, size_t train_size,
                                const char *train_name, void **out, size_t *out_size);

#endif
