#include "model/fuse_block_v2.h"

#include "model/arch_registry.h"
#include "core/alloc.h"

#include <string.h>

void rm_block_v2_fused_free(rm_block_v2_fused *d) {
    rm_free(d->gp_fc1_weight);
    rm_free(d->gp_fc1_bias);
    rm_free(d->gp_fc2_weight);
    rm_free(d->gp_fc2_bias);
    rm_free(d->fc3_weight);
    rm_free(d->fc3_bias);
    memset(d, 0, sizeof *d);
}

repmlp_status rm_fuse_block_v2_compute(const rm_block_v2_config *c, rm_fuser *f, const char *prefix,
                                       rm_block_v2_fused *out) {
    const int64_t C = c->channels, r = c->hidden;
    const int64_t w1[4] = {r, C, 1, 1}, w2[4] = {C, r, 1, 1};
    char name[RM_FUSE_NAME_MAX];
    rm_block_v2_fused d = {0};
    repmlp_status s =
        rm_fuser_read(f, rm_fuse_name(name, prefix, "gp.fc1.weight"), 4, w1, &d.gp_fc1_weight);
    if (s == REPMLP_OK)
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, "gp.fc1.bias"), 1, &r, &d.gp_fc1_bias);
    if (s == REPMLP_OK) {
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, "gp.fc2.weight"), 4, w2, &d.gp_fc2_weight);
    }
    if (s == REPMLP_OK)
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, "gp.fc2.bias"), 1, &C, &d.gp_fc2_bias);
    if (s == REPMLP_OK) {
        /* BN per shareset: channel s covers the h*w rows of group s */
        const rm_fuse_fc3_dims fc3 = {.out_ch = c->sharesets,
                                      .in_per_group = 1,
                                      .h = c->h,
                                      .w = c->w,
                                      .rows_per_bn_channel = c->h * c->w,
                                      .kernel_count = c->kernel_count,
                                      .kernels = c->kernels};
        s = rm_fuse_fc3_read(f, prefix, &fc3, &d.fc3_weight, &d.fc3_bias);
    }
    if (s != REPMLP_OK) rm_block_v2_fused_free(&d);
    *out = d;
    return s;
}

repmlp_status rm_fuse_block_v2_emit(const rm_block_v2_config *c, rm_fuser *f,
                                    const char *out_prefix, rm_block_v2_fused *d) {
    const int64_t C = c->channels, r = c->hidden, rows = c->sharesets * c->h * c->w;
    const int64_t w1[4] = {r, C, 1, 1}, w2[4] = {C, r, 1, 1}, w3[4] = {rows, c->h * c->w, 1, 1};
    char name[RM_FUSE_NAME_MAX];
    repmlp_status s =
        rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "gp.fc1.weight"), 4, w1, &d->gp_fc1_weight);
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "gp.fc1.bias"), 1, &r, &d->gp_fc1_bias);
    if (s == REPMLP_OK) {
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "gp.fc2.weight"), 4, w2,
                          &d->gp_fc2_weight);
    }
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "gp.fc2.bias"), 1, &C, &d->gp_fc2_bias);
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "fc3.weight"), 4, w3, &d->fc3_weight);
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, out_prefix, "fc3.bias"), 1, &rows, &d->fc3_bias);
    rm_block_v2_fused_free(d);
    return s;
}

static repmlp_status block_body(const void *ctx, rm_fuser *f) {
    const rm_block_v2_config *c = ctx;
    rm_block_v2_fused d;
    repmlp_status s = rm_fuse_block_v2_compute(c, f, "", &d);
    if (s == REPMLP_OK) s = rm_fuse_block_v2_emit(c, f, "", &d);
    return s;
}

RM_MODEL_ARCH_CONFIG_FNS(rm_block_v2, rm_block_v2_config)

const rm_model_arch rm_model_arch_block_v2 = {RM_ARCH_BLOCK_V2,
                                              "RepMLPNet block, version 2",
                                              sizeof(rm_block_v2_config),
                                              rm_block_v2_from_json_any,
                                              rm_block_v2_to_json_any,
                                              rm_block_v2_io_shape_any,
                                              block_body,
                                              NULL};
