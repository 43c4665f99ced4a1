/* Private: what every network fuser does with tensors, in one place: read a training tensor as
 * float64 with its exact shape (rejecting inf/nan), read a BatchNorm (accepting its optional
 * num_batches_tracked), fuse a ConvBN, and emit a deploy tensor rounded to float32 exactly
 * once. Every read marks the tensor used, so a fuser ends with rm_fuse_check_all_used
 * (fuse_block_v1.h). Errors name the training file and the tensor. */
#ifndef RM_FUSE_IO_H
#define RM_FUSE_IO_H

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

/* Rounds (*values) to float32 and adds it to the writer as `name`. Takes *values: frees it and
 * sets it to NULL on success and failure alike. A magnitude beyond float32 is an error. */
repmlp_status rm_fuser_emit(rm_fuser *f, const char *name, int ndim, const int64_t *shape,
                            double **values);

/* Reads `name` and emits it unchanged (same name and shape) as float32. */
repmlp_status rm_fuser_copy(rm_fuser *f, const char *name, int ndim, const int64_t *shape);

/* ConvBN (SPEC §2): reads "<base>.conv.weight" (out_ch, in_per_group, kh, kw) and "<base>.bn.*"
 * (out_ch) and returns the conv with its BN folded (W' = W*t per output channel, b' = beta -
 * mean*t) in *weight and *bias (rm_malloc'd, float64). */
repmlp_status rm_fuse_convbn_read(rm_fuser *f, const char *base, int64_t out_ch,
                                  int64_t in_per_group, int64_t kh, int64_t kw, double **weight,
                                  double **bias);
/* rm_fuse_convbn_read, then emits "<base>.conv.weight" and "<base>.conv.bias". */
repmlp_status rm_fuse_convbn(rm_fuser *f, const char *base, int64_t out_ch, int64_t in_per_group,
                             int64_t kh, int64_t kw);

/* The whole `repmlp-fuse` job for one arch: opens train_path, runs body(ctx, fuser), rejects
 * tensors nobody read, sets the fused-format metadata (arch, config_json) and writes out_path
 * atomically (nothing left there on failure). */
typedef repmlp_status (*rm_fuse_body)(const void *ctx, rm_fuser *f);
repmlp_status rm_fuse_to_file(const char *arch, const char *config_json, rm_fuse_body body,
                              const void *ctx, const char *train_path, const char *out_path);

#endif
