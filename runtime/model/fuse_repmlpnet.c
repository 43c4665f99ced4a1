#include "model/fuse_repmlpnet.h"

#include "model/arch_registry.h"
#include "core/alloc.h"
#include "model/fuse_block_v2.h"
#include "model/fuse_rules.h"
#include "model/fuse_rules_nets.h"

#include <stdio.h>

/* prebn1 feeds both the gate and the partitions (docs/MODELS.md §3): with channels == sharesets
 * each fc3 group reads exactly one channel, so the BN folds into both gp.fc1 (mean of an affine is
 * the affine of the mean) and fc3; otherwise fc3's weights are shared by channels with different BN
 * scales, so it folds into neither and is written as an affine op. */
static repmlp_status fuse_prebn1(rm_fuser *f, const rm_repmlpnet_stage *st, const char *prefix,
                                 const rm_fuse_bn *bn, rm_block_v2_fused *block) {
    const rm_block_v2_config *c = &st->block;
    const rm_bn_params p = rm_fuse_bn_params(bn);
    if (st->prebn1_folded) {
        const int64_t hw = c->h * c->w;
        rm_fuse_bn_into_next_fc_columns(&p, 1, c->hidden, block->gp_fc1_weight, block->gp_fc1_bias);
        rm_fuse_bn_into_grouped_fc_columns(&p, hw, hw, block->fc3_weight, block->fc3_bias);
        return REPMLP_OK;
    }
    const int64_t C = c->channels;
    double *scale = rm_calloc((size_t)C, sizeof *scale),
           *shift = rm_calloc((size_t)C, sizeof *shift);
    char name[RM_FUSE_NAME_MAX];
    repmlp_status s = scale && shift ? REPMLP_OK : rm_fuser_out_of_memory(f);
    if (s == REPMLP_OK) {
        rm_bn_to_affine(&p, scale, shift);
        s = rm_fuser_emit(f, rm_fuse_name(name, prefix, "prebn1.scale"), 1, &C, &scale);
    }
    if (s == REPMLP_OK)
        s = rm_fuser_emit(f, rm_fuse_name(name, prefix, "prebn1.shift"), 1, &C, &shift);
    rm_free(scale);
    rm_free(shift);
    return s;
}

/* ffn_fc1 with its BN folded, then prebn2 (an affine in front of a 1x1 conv without padding)
 * folded into its input columns. */
static repmlp_status fuse_ffn_fc1(rm_fuser *f, int64_t C, const char *prefix) {
    char base[RM_FUSE_NAME_MAX], name[RM_FUSE_NAME_MAX];
    const int64_t C4 = 4 * C, shape[4] = {C4, C, 1, 1};
    rm_fuse_bn prebn2 = {0};
    double *w = NULL, *b = NULL;
    repmlp_status s = rm_fuser_read_bn(f, rm_fuse_name(base, prefix, "prebn2"), C, &prebn2);
    rm_fuse_name(base, prefix, "ffn_block.ffn_fc1");
    if (s == REPMLP_OK) s = rm_fuse_convbn_read(f, base, C4, C, 1, 1, &w, &b);
    if (s == REPMLP_OK) {
        const rm_bn_params p = rm_fuse_bn_params(&prebn2);
        rm_fuse_bn_into_next_fc_columns(&p, 1, C4, w, b);
        s = rm_fuser_emit(f, rm_fuse_name(name, base, ".conv.weight"), 4, shape, &w);
        if (s == REPMLP_OK)
            s = rm_fuser_emit(f, rm_fuse_name(name, base, ".conv.bias"), 1, &C4, &b);
    }
    rm_fuse_bn_free(&prebn2);
    rm_free(w);
    rm_free(b);
    return s;
}

/* One unit stages.{s}.{u}: y = x + repmlp_block(prebn1(x)), z = y + ffn(prebn2(y)). */
static repmlp_status fuse_unit(rm_fuser *f, const rm_repmlpnet_stage *st, const char *prefix) {
    const int64_t C = st->block.channels;
    char name[RM_FUSE_NAME_MAX];
    rm_fuse_bn prebn1 = {0};
    rm_block_v2_fused block = {0};
    repmlp_status s = rm_fuser_read_bn(f, rm_fuse_name(name, prefix, "prebn1"), C, &prebn1);
    rm_fuse_name(name, prefix, "repmlp_block.");
    if (s == REPMLP_OK) s = rm_fuse_block_v2_compute(&st->block, f, name, &block);
    if (s == REPMLP_OK) s = fuse_prebn1(f, st, prefix, &prebn1, &block);
    if (s == REPMLP_OK) s = rm_fuse_block_v2_emit(&st->block, f, name, &block);
    rm_block_v2_fused_free(&block);
    rm_fuse_bn_free(&prebn1);
    if (s == REPMLP_OK) s = fuse_ffn_fc1(f, C, prefix);
    if (s == REPMLP_OK) {
        s = rm_fuse_convbn(f, rm_fuse_name(name, prefix, "ffn_block.ffn_fc2"), C, 4 * C, 1, 1);
    }
    return s;
}

/* head(GAP(head_norm(x))) = (head with head_norm's affine in its columns)(GAP(x)): the global
 * average pool is linear, so the per-channel affine commutes through it. */
static repmlp_status fuse_head(const rm_repmlpnet_config *c, rm_fuser *f) {
    const int64_t Cl = c->channels[c->stage_count - 1], K = c->num_class, shape[2] = {K, Cl};
    rm_fuse_bn norm = {0};
    double *w = NULL, *b = NULL;
    repmlp_status s = rm_fuser_read_bn(f, "head_norm", Cl, &norm);
    if (s == REPMLP_OK) s = rm_fuser_read(f, "head.weight", 2, shape, &w);
    if (s == REPMLP_OK) s = rm_fuser_read(f, "head.bias", 1, &K, &b);
    if (s == REPMLP_OK) {
        const rm_bn_params p = rm_fuse_bn_params(&norm);
        rm_fuse_bn_into_next_fc_columns(&p, 1, K, w, b);
        s = rm_fuser_emit(f, "head.weight", 2, shape, &w);
        if (s == REPMLP_OK) s = rm_fuser_emit(f, "head.bias", 1, &K, &b);
    }
    rm_fuse_bn_free(&norm);
    rm_free(w);
    rm_free(b);
    return s;
}

repmlp_status rm_fuse_repmlpnet(const rm_repmlpnet_config *c, rm_fuser *f) {
    repmlp_status s =
        rm_fuse_convbn(f, "conv_embedding", c->channels[0], c->in_channels, c->patch_h, c->patch_w);
    for (int i = 0; s == REPMLP_OK && i < c->stage_count; i++) {
        rm_repmlpnet_stage st;
        rm_repmlpnet_stage_at(c, i, &st);
        char prefix[RM_FUSE_NAME_MAX];
        for (int64_t u = 0; s == REPMLP_OK && u < st.units; u++) {
            snprintf(prefix, sizeof prefix, "stages.%d.%lld.", i, (long long)u);
            s = fuse_unit(f, &st, prefix);
        }
        if (s == REPMLP_OK && i + 1 < c->stage_count) {
            snprintf(prefix, sizeof prefix, "embeds.%d", i);
            s = rm_fuse_convbn(f, prefix, c->channels[i + 1], c->channels[i], 2, 2);
        }
    }
    if (s == REPMLP_OK) s = fuse_head(c, f);
    return s;
}

static repmlp_status net_body(const void *ctx, rm_fuser *f) {
    return rm_fuse_repmlpnet(ctx, f);
}

RM_MODEL_ARCH_CONFIG_FNS(rm_repmlpnet, rm_repmlpnet_config)

const rm_model_arch rm_model_arch_repmlpnet = {RM_ARCH_REPMLPNET,
                                               "RepMLPNet network",
                                               sizeof(rm_repmlpnet_config),
                                               rm_repmlpnet_from_json_any,
                                               rm_repmlpnet_to_json_any,
                                               rm_repmlpnet_io_shape_any,
                                               net_body,
                                               rm_repmlpnet_presets};
