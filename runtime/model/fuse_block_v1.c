#include "model/fuse_block_v1.h"

#include "model/arch_registry.h"
#include "core/alloc.h"
#include "core/error.h"
#include "model/fuse_io.h"
#include "model/fuse_rules.h"

#include <string.h>

/* Names are built as prefix + a relative name in RM_FUSE_NAME_MAX bytes; 64 of them cover the
 * longest relative name ("repconv<k>.bn.num_batches_tracked") with any k. */
#define PREFIX_MAX (RM_FUSE_NAME_MAX - 64)

/* Global perceptron: fc1 absorbs the BN after the average pool; fc2 is copied. */
static repmlp_status fuse_gp(rm_fuser *f, const rm_block_v1_config *c, const char *prefix,
                             const char *out_prefix) {
    const int64_t cpp = c->in_channels * c->hp * c->wp;
    const int64_t w1_shape[2] = {c->I, cpp}, w2_shape[2] = {cpp, c->I};
    double *w1 = NULL, *b1 = NULL, *w2 = NULL, *b2 = NULL;
    const struct {
        const char *rel;
        int ndim;
        const int64_t *shape;
        double **values;
    } fc[4] = {{"fc1_fc2.fc1.weight", 2, w1_shape, &w1},
               {"fc1_fc2.fc1.bias", 1, &c->I, &b1},
               {"fc1_fc2.fc2.weight", 2, w2_shape, &w2},
               {"fc1_fc2.fc2.bias", 1, &cpp, &b2}};
    char name[RM_FUSE_NAME_MAX];
    rm_fuse_bn avg = {0};
    repmlp_status s =
        rm_fuser_read_bn(f, rm_fuse_name(name, prefix, "avg.bn"), c->in_channels, &avg);
    for (int i = 0; s == REPMLP_OK && i < 4; i++) {
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, fc[i].rel), fc[i].ndim, fc[i].shape,
                          fc[i].values);
    }
    if (s == REPMLP_OK) {
        rm_bn_params bn = rm_fuse_bn_params(&avg);
        rm_fuse_bn_into_next_fc_columns(&bn, c->hp * c->wp, c->I, w1, b1);
    }
    for (int i = 0; s == REPMLP_OK && i < 4; i++) {
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, fc[i].rel), fc[i].ndim, fc[i].shape,
                          fc[i].values);
    }
    rm_fuse_bn_free(&avg);
    for (int i = 0; i < 4; i++) rm_free(*fc[i].values);
    return s;
}

/* Partition perceptron: fc3 absorbs fc3_bn (one BN channel per row), then the conv branches
 * as an FC matrix. */
static repmlp_status fuse_fc3(rm_fuser *f, const rm_block_v1_config *c, const char *prefix,
                              const char *out_prefix) {
    const int64_t O = c->out_channels, cg = c->in_channels / c->fc3_groups, hw = c->h * c->w;
    const int64_t rows = O * hw, w_shape[4] = {rows, cg * hw, 1, 1};
    const rm_fuse_fc3_dims dims = {.out_ch = O,
                                   .in_per_group = cg,
                                   .h = c->h,
                                   .w = c->w,
                                   .rows_per_bn_channel = 1,
                                   .kernel_count = c->kernel_count,
                                   .kernels = c->kernels};
    char name[RM_FUSE_NAME_MAX];
    double *w = NULL, *b = NULL;
    repmlp_status s = rm_fuse_fc3_read(f, prefix, &dims, &w, &b);
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "fc3.weight"), 4, w_shape, &w);
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "fc3.bias"), 1, &rows, &b);
    rm_free(w);
    rm_free(b);
    return s;
}

repmlp_status rm_fuse_block_v1(const rm_block_v1_config *cfg, rm_safetensors *train,
                               const char *prefix, rm_st_writer *out, const char *out_prefix) {
    rm_fuser f = {.train = train, .file = rm_safetensors_path(train), .out = out};
    const char *too_long = strlen(prefix) > PREFIX_MAX       ? prefix
                           : strlen(out_prefix) > PREFIX_MAX ? out_prefix
                                                             : NULL;
    if (too_long) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "%s: tensor name prefix '%s' is longer than %d characters", f.file, too_long,
                       PREFIX_MAX);
    }
    repmlp_status s = REPMLP_OK;
    if (cfg->has_gp) s = fuse_gp(&f, cfg, prefix, out_prefix);
    if (s == REPMLP_OK) s = fuse_fc3(&f, cfg, prefix, out_prefix);
    return s;
}

repmlp_status rm_fuse_check_all_used(const rm_safetensors *train, const char *arch) {
    const rm_st_tensor *t = rm_safetensors_first_unused(train);
    if (!t) return REPMLP_OK;
    return rm_fail(REPMLP_ERROR_FORMAT,
                   "%s: tensor '%s' is unexpected for arch %s with this config",
                   rm_safetensors_path(train), t->name, arch);
}

static repmlp_status block_body(const void *ctx, rm_fuser *f) {
    return rm_fuse_block_v1(ctx, f->train, "", f->out, "");
}

RM_MODEL_ARCH_CONFIG_FNS(rm_block_v1, rm_block_v1_config)

const rm_model_arch rm_model_arch_block_v1 = {RM_ARCH_BLOCK_V1,
                                              "RepMLP block, version 1",
                                              sizeof(rm_block_v1_config),
                                              rm_block_v1_from_json_any,
                                              rm_block_v1_to_json_any,
                                              rm_block_v1_io_shape_any,
                                              block_body,
                                              NULL};
