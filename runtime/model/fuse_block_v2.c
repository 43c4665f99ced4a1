#include "model/fuse_block_v2.h"

#include "core/alloc.h"
#include "core/error.h"
#include "model/fuse_rules.h"

#include <stdio.h>
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

/* The conv branches of one block as a single kernel (S, 1, kmax, kmax) and bias (S): each
 * branch's BN folded (per shareset), padded to kmax (centred) and summed. kernel and bias are
 * zeroed by the caller. */
static repmlp_status fuse_conv_branches(const rm_block_v2_config *c, rm_fuser *f,
                                        const char *prefix, int64_t kmax, double *kernel,
                                        double *bias) {
    const int64_t S = c->sharesets;
    double *pad = rm_calloc((size_t)(S * kmax * kmax), sizeof *pad);
    repmlp_status s = REPMLP_OK;
    if (!pad) s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", f->file);
    for (int i = 0; s == REPMLP_OK && i < c->kernel_count; i++) {
        const int64_t k = c->kernels[i];
        char rel[64], base[RM_FUSE_NAME_MAX];
        snprintf(rel, sizeof rel, "repconv%lld", (long long)k);
        rm_fuse_name(base, prefix, rel);
        double *kw = NULL, *kbias = NULL;
        s = rm_fuse_convbn_read(f, base, S, 1, k, k, &kw, &kbias);
        if (s == REPMLP_OK) {
            rm_fuse_pad_kernel(kw, S, 1, k, kmax, pad);
            for (int64_t j = 0; j < S * kmax * kmax; j++) kernel[j] += pad[j];
            for (int64_t o = 0; o < S; o++) bias[o] += kbias[o];
        }
        rm_free(kw);
        rm_free(kbias);
    }
    rm_free(pad);
    return s;
}

/* fc3 + fc3_bn (BN channel s for every row of group s), then the conv branches as the matrix
 * of a padding-kmax/2 conv on one partition, added to the same grouped weight (SPEC §3
 * "Fusion": the §1 rules with g = S, C = O = S). */
static repmlp_status fuse_fc3(const rm_block_v2_config *c, rm_fuser *f, const char *prefix,
                              double **weight, double **bias) {
    const int64_t S = c->sharesets, hw = c->h * c->w, rows = S * hw;
    const int64_t shape[4] = {rows, hw, 1, 1};
    const int64_t kmax = c->kernel_count ? c->kernels[c->kernel_count - 1] : 0;
    char name[RM_FUSE_NAME_MAX];
    rm_fuse_bn bn = {0};
    double *kernel = NULL, *kbias = NULL;
    *bias = rm_calloc((size_t)rows, sizeof **bias);
    repmlp_status s = REPMLP_OK;
    if (kmax) {
        kernel = rm_calloc((size_t)(S * kmax * kmax), sizeof *kernel);
        kbias = rm_calloc((size_t)S, sizeof *kbias);
    }
    if (!*bias || (kmax && (!kernel || !kbias))) {
        s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", f->file);
    }
    if (s == REPMLP_OK)
        s = rm_fuser_read(f, rm_fuse_name(name, prefix, "fc3.weight"), 4, shape, weight);
    if (s == REPMLP_OK) s = rm_fuser_read_bn(f, rm_fuse_name(name, prefix, "fc3_bn"), S, &bn);
    if (s == REPMLP_OK && kmax) s = fuse_conv_branches(c, f, prefix, kmax, kernel, kbias);
    if (s == REPMLP_OK) {
        rm_bn_params p = rm_fuse_bn_params(&bn);
        rm_fuse_bn_into_rows(&p, hw, hw, *weight, NULL, *bias);
        if (kmax) rm_fuse_conv_to_fc(kernel, kbias, S, 1, c->h, c->w, kmax, *weight, *bias);
    }
    if (s != REPMLP_OK) {
        rm_free(*weight);
        rm_free(*bias);
        *weight = *bias = NULL;
    }
    rm_fuse_bn_free(&bn);
    rm_free(kernel);
    rm_free(kbias);
    return s;
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
    if (s == REPMLP_OK) s = fuse_fc3(c, f, prefix, &d.fc3_weight, &d.fc3_bias);
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

repmlp_status rm_fuse_block_v2_file(const rm_block_v2_config *cfg, const char *train_path,
                                    const char *out_path) {
    char *json = rm_block_v2_config_to_json(cfg);
    if (!json) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", out_path);
    repmlp_status s =
        rm_fuse_to_file(RM_ARCH_BLOCK_V2, json, block_body, cfg, train_path, out_path);
    rm_free(json);
    return s;
}
