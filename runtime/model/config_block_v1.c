/* The RepMLP version-1 block config (docs/MODELS.md §1). */
#include "model/config.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

static const char *const block_v1_keys[] = {
    "in_channels",    "out_channels",      "H",          "W", "h", "w",
    "reparam_conv_k", "fc1_fc2_reduction", "fc3_groups", NULL};

repmlp_status rm_block_v1_config_from_json(const cJSON *obj, const char *where,
                                           rm_block_v1_config *out) {
    rm_block_v1_config c = {0};
    repmlp_status s = rm_cfg_check_keys(obj, where, block_v1_keys);
    const int64_t max = RM_CFG_MAX_DIM;
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "in_channels", true, 0, 1, max, &c.in_channels);
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "out_channels", true, 0, 1, max, &c.out_channels);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "H", true, 0, 1, max, &c.H);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "W", true, 0, 1, max, &c.W);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "h", true, 0, 1, max, &c.h);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "w", true, 0, 1, max, &c.w);
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int_array(obj, where, "reparam_conv_k", RM_MAX_KERNELS, 1, max, c.kernels,
                                 &c.kernel_count);
    }
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int(obj, where, "fc1_fc2_reduction", false, 1, 1, max, &c.fc1_fc2_reduction);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "fc3_groups", false, 1, 1, max, &c.fc3_groups);
    if (s == REPMLP_OK) s = rm_block_v1_config_validate(&c, where);
    if (s == REPMLP_OK) *out = c;
    return s;
}

repmlp_status rm_block_v1_config_validate(rm_block_v1_config *c, const char *where) {
    const struct {
        const char *key;
        int64_t value;
    } dims[] = {{"in_channels", c->in_channels},
                {"out_channels", c->out_channels},
                {"H", c->H},
                {"W", c->W},
                {"h", c->h},
                {"w", c->w},
                {"fc1_fc2_reduction", c->fc1_fc2_reduction},
                {"fc3_groups", c->fc3_groups}};
    repmlp_status s = REPMLP_OK;
    for (size_t i = 0; s == REPMLP_OK && i < sizeof dims / sizeof dims[0]; i++)
        s = rm_cfg_check_range(where, dims[i].key, dims[i].value, 1, RM_CFG_MAX_DIM);
    const int64_t g = c->fc3_groups;
    if (s == REPMLP_OK) s = rm_cfg_check_divisible(where, "H", c->H, "h", c->h);
    if (s == REPMLP_OK) s = rm_cfg_check_divisible(where, "W", c->W, "w", c->w);
    if (s == REPMLP_OK)
        s = rm_cfg_check_divisible(where, "in_channels", c->in_channels, "fc3_groups", g);
    if (s == REPMLP_OK)
        s = rm_cfg_check_divisible(where, "out_channels", c->out_channels, "fc3_groups", g);
    if (s == REPMLP_OK) s = rm_cfg_check_kernels(c->kernel_count, c->kernels, where);
    if (s != REPMLP_OK) return s;

    c->hp = c->H / c->h;
    c->wp = c->W / c->w;
    c->has_gp = c->H != c->h || c->W != c->w;
    const int64_t C = c->in_channels, O = c->out_channels;
    int64_t parts, chw_in, hw, ohw, fc3, k2, conv, big, pp, act_in, act_out;
    /* Each product below is the element count of a tensor or activation the block uses. */
    if (!rm_cfg_mul(c->hp, c->wp, &pp) || !rm_cfg_mul(C, pp, &parts) ||
        !rm_cfg_mul(C, c->H, &act_in) || !rm_cfg_mul(act_in, c->W, &act_in) ||
        !rm_cfg_mul(O, c->H, &act_out) || !rm_cfg_mul(act_out, c->W, &act_out)) {
        return rm_cfg_fail_key(where, "H", "the activations (C*H*W, O*H*W) are too large");
    }
    c->I = parts / c->fc1_fc2_reduction;
    if (c->I < 1) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'fc1_fc2_reduction': %lld leaves no hidden units (I = "
                       "C*hp*wp / r = %lld / %lld = 0)",
                       where, (long long)c->fc1_fc2_reduction, (long long)parts,
                       (long long)c->fc1_fc2_reduction);
    }
    if (c->has_gp && !rm_cfg_mul(c->I, parts, &big)) {
        return rm_cfg_fail_key(where, "fc1_fc2_reduction", "the fc1/fc2 weights are too large");
    }
    if (!rm_cfg_mul(c->h, c->w, &hw) || !rm_cfg_mul(C, hw, &chw_in) || !rm_cfg_mul(O, hw, &ohw) ||
        !rm_cfg_mul(ohw, chw_in / g, &fc3)) {
        return rm_cfg_fail_key(where, "h", "the fc3 weight (O*h*w, C*h*w/g) is too large");
    }
    for (int i = 0; i < c->kernel_count; i++) {
        if (!rm_cfg_mul(c->kernels[i], c->kernels[i], &k2) || !rm_cfg_mul(O, C / g, &conv) ||
            !rm_cfg_mul(conv, k2, &conv)) {
            return rm_cfg_fail_key(where, "reparam_conv_k",
                                   "a conv weight (O, C/g, k, k) is too large");
        }
    }
    return REPMLP_OK;
}

char *rm_block_v1_config_to_json(const rm_block_v1_config *c) {
    rm_json_buf b = {0};
    rm_cfg_json_int(&b, "in_channels", c->in_channels);
    rm_cfg_json_int(&b, "out_channels", c->out_channels);
    rm_cfg_json_int(&b, "H", c->H);
    rm_cfg_json_int(&b, "W", c->W);
    rm_cfg_json_int(&b, "h", c->h);
    rm_cfg_json_int(&b, "w", c->w);
    rm_cfg_json_ints(&b, "reparam_conv_k", c->kernels, c->kernel_count);
    rm_cfg_json_int(&b, "fc1_fc2_reduction", c->fc1_fc2_reduction);
    rm_cfg_json_int(&b, "fc3_groups", c->fc3_groups);
    return rm_cfg_json_finish(&b);
}

void rm_block_v1_io_shape(const rm_block_v1_config *c, int64_t in_chw[3], int *out_ndim,
                          int64_t out_shape[3]) {
    in_chw[0] = c->in_channels;
    out_shape[0] = c->out_channels;
    in_chw[1] = out_shape[1] = c->H;
    in_chw[2] = out_shape[2] = c->W;
    *out_ndim = 3;
}
