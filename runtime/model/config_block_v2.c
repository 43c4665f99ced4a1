/* The RepMLPBlock config (version 2, docs/MODELS.md §3). */
#include "model/config_nets.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

#include <stdio.h>
#include <string.h>

#define MAX RM_CFG_MAX_DIM

static const char *const block_v2_keys[] = {"in_channels",
                                            "out_channels",
                                            "H",
                                            "W",
                                            "h",
                                            "w",
                                            "reparam_conv_k",
                                            "globalperceptron_reduce",
                                            "num_sharesets",
                                            NULL};

repmlp_status rm_block_v2_config_from_json(const cJSON *obj, const char *where,
                                           rm_block_v2_config *out) {
    rm_block_v2_config c = {0};
    int64_t out_channels = 0;
    repmlp_status s = rm_cfg_check_keys(obj, where, block_v2_keys);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "in_channels", true, 0, 1, MAX, &c.channels);
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "out_channels", true, 0, 1, MAX, &out_channels);
    if (s == REPMLP_OK && out_channels != c.channels) {
        s = rm_fail(REPMLP_ERROR_CONFIG,
                    "%s: config key 'out_channels': %lld must equal in_channels = %lld "
                    "(RepMLPBlock keeps the channel count)",
                    where, (long long)out_channels, (long long)c.channels);
    }
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "H", true, 0, 1, MAX, &c.H);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "W", true, 0, 1, MAX, &c.W);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "h", true, 0, 1, MAX, &c.h);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "w", true, 0, 1, MAX, &c.w);
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int_array(obj, where, "reparam_conv_k", RM_MAX_KERNELS, 1, MAX, c.kernels,
                                 &c.kernel_count);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "globalperceptron_reduce", false, 4, 1, MAX, &c.reduce);
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "num_sharesets", false, 1, 1, MAX, &c.sharesets);
    if (s == REPMLP_OK) s = rm_block_v2_config_validate(&c, where);
    if (s == REPMLP_OK) *out = c;
    return s;
}

/* What a v2 block needs whatever its map size; keys named as in the block's own config. */
static repmlp_status check_block_v2_common(rm_block_v2_config *c, const char *where) {
    repmlp_status s = rm_cfg_check_range(where, "in_channels", c->channels, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "h", c->h, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "w", c->w, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "globalperceptron_reduce", c->reduce, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "num_sharesets", c->sharesets, 1, MAX);
    if (s != REPMLP_OK) return s;
    if (c->channels % c->sharesets != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'num_sharesets': in_channels = %lld is not divisible by "
                       "%lld",
                       where, (long long)c->channels, (long long)c->sharesets);
    }
    c->hidden = c->channels / c->reduce;
    if (c->hidden < 1) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'globalperceptron_reduce': %lld leaves gp.fc1 no outputs "
                       "(in_channels // reduce = %lld // %lld = 0)",
                       where, (long long)c->reduce, (long long)c->channels, (long long)c->reduce);
    }
    s = rm_cfg_check_kernels(c->kernel_count, c->kernels, where);
    if (s != REPMLP_OK) return s;
    const int64_t hw = c->h * c->w; /* both <= 2^20 */
    if (!RM_CFG_MUL_OK(c->sharesets, hw, hw)) {
        return rm_cfg_fail_key(where, "h", "the fc3 weight (S*h*w, h*w) is too large");
    }
    for (int i = 0; i < c->kernel_count; i++) {
        if (!RM_CFG_MUL_OK(c->sharesets, c->kernels[i], c->kernels[i])) {
            return rm_cfg_fail_key(where, "reparam_conv_k",
                                   "a conv weight (S, 1, k, k) is too large");
        }
    }
    if (!RM_CFG_MUL_OK(c->channels, c->hidden)) {
        return rm_cfg_fail_key(where, "in_channels", "the gp weights (C/r, C) are too large");
    }
    return REPMLP_OK;
}

repmlp_status rm_block_v2_config_validate(rm_block_v2_config *c, const char *where) {
    repmlp_status s = check_block_v2_common(c, where);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "H", c->H, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "W", c->W, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_divisible(where, "H", c->H, "h", c->h);
    if (s == REPMLP_OK) s = rm_cfg_check_divisible(where, "W", c->W, "w", c->w);
    if (s != REPMLP_OK) return s;
    if (!RM_CFG_MUL_OK(c->channels, c->H, c->W)) {
        return rm_cfg_fail_key(where, "H", "the activation (C*H*W) is too large");
    }
    c->hp = c->H / c->h;
    c->wp = c->W / c->w;
    return REPMLP_OK;
}

char *rm_block_v2_config_to_json(const rm_block_v2_config *c) {
    rm_json_buf b = {0};
    rm_cfg_json_int(&b, "in_channels", c->channels);
    rm_cfg_json_int(&b, "out_channels", c->channels);
    rm_cfg_json_int(&b, "H", c->H);
    rm_cfg_json_int(&b, "W", c->W);
    rm_cfg_json_int(&b, "h", c->h);
    rm_cfg_json_int(&b, "w", c->w);
    rm_cfg_json_ints(&b, "reparam_conv_k", c->kernels, c->kernel_count);
    rm_cfg_json_int(&b, "globalperceptron_reduce", c->reduce);
    rm_cfg_json_int(&b, "num_sharesets", c->sharesets);
    return rm_cfg_json_finish(&b);
}

void rm_block_v2_io_shape(const rm_block_v2_config *c, int64_t in_chw[3], int *out_ndim,
                          int64_t out_shape[3]) {
    in_chw[0] = out_shape[0] = c->channels;
    in_chw[1] = out_shape[1] = c->H;
    in_chw[2] = out_shape[2] = c->W;
    *out_ndim = 3;
}

RM_CFG_PARSE_TEXT(rm_block_v2_config_parse, rm_block_v2_config, rm_block_v2_config_from_json)
