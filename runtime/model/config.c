#include "model/config.h"

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

#include <stdlib.h>

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

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static repmlp_status fail_key(const char *where, const char *key, const char *what) {
    return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %s", where, key, what);
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
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        if (dims[i].value < 1 || dims[i].value > RM_CFG_MAX_DIM) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key '%s': %lld is out of range [1, %lld]", where,
                           dims[i].key, (long long)dims[i].value, (long long)RM_CFG_MAX_DIM);
        }
    }
    if (c->H % c->h != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key 'H': %lld is not divisible by h = %lld",
                       where, (long long)c->H, (long long)c->h);
    }
    if (c->W % c->w != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key 'W': %lld is not divisible by w = %lld",
                       where, (long long)c->W, (long long)c->w);
    }
    const int64_t g = c->fc3_groups;
    if (c->in_channels % g != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'in_channels': %lld is not divisible by fc3_groups = %lld",
                       where, (long long)c->in_channels, (long long)g);
    }
    if (c->out_channels % g != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'out_channels': %lld is not divisible by fc3_groups = %lld",
                       where, (long long)c->out_channels, (long long)g);
    }
    if (c->kernel_count < 0 || c->kernel_count > RM_MAX_KERNELS) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'reparam_conv_k': %d entries (at most %d)", where,
                       c->kernel_count, RM_MAX_KERNELS);
    }
    for (int i = 0; i < c->kernel_count; i++) {
        int64_t k = c->kernels[i];
        if (k < 1 || k > RM_CFG_MAX_DIM || k % 2 == 0) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'reparam_conv_k': kernel size %lld is not an odd "
                           "integer >= 1",
                           where, (long long)k);
        }
    }
    qsort(c->kernels, (size_t)c->kernel_count, sizeof c->kernels[0], compare_i64);
    for (int i = 1; i < c->kernel_count; i++) {
        if (c->kernels[i] == c->kernels[i - 1]) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'reparam_conv_k': kernel size %lld appears twice", where,
                           (long long)c->kernels[i]);
        }
    }

    c->hp = c->H / c->h;
    c->wp = c->W / c->w;
    c->has_gp = c->H != c->h || c->W != c->w;
    const int64_t C = c->in_channels, O = c->out_channels;
    int64_t parts, chw_in, hw, ohw, fc3, k2, conv, big, pp, act_in, act_out;
    /* Each product below is the element count of a tensor or activation the block uses. */
    if (!rm_cfg_mul(c->hp, c->wp, &pp) || !rm_cfg_mul(C, pp, &parts) ||
        !rm_cfg_mul(C, c->H, &act_in) || !rm_cfg_mul(act_in, c->W, &act_in) ||
        !rm_cfg_mul(O, c->H, &act_out) || !rm_cfg_mul(act_out, c->W, &act_out)) {
        return fail_key(where, "H", "the activations (C*H*W, O*H*W) are too large");
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
        return fail_key(where, "fc1_fc2_reduction", "the fc1/fc2 weights are too large");
    }
    if (!rm_cfg_mul(c->h, c->w, &hw) || !rm_cfg_mul(C, hw, &chw_in) || !rm_cfg_mul(O, hw, &ohw) ||
        !rm_cfg_mul(ohw, chw_in / g, &fc3)) {
        return fail_key(where, "h", "the fc3 weight (O*h*w, C*h*w/g) is too large");
    }
    for (int i = 0; i < c->kernel_count; i++) {
        if (!rm_cfg_mul(c->kernels[i], c->kernels[i], &k2) || !rm_cfg_mul(O, C / g, &conv) ||
            !rm_cfg_mul(conv, k2, &conv)) {
            return fail_key(where, "reparam_conv_k", "a conv weight (O, C/g, k, k) is too large");
        }
    }
    return REPMLP_OK;
}

char *rm_block_v1_config_to_json(const rm_block_v1_config *c) {
    rm_json_buf b = {0};
    const struct {
        const char *key;
        int64_t value;
    } ints[] = {{"in_channels", c->in_channels},
                {"out_channels", c->out_channels},
                {"H", c->H},
                {"W", c->W},
                {"h", c->h},
                {"w", c->w}};
    rm_json_buf_raw(&b, "{");
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        rm_json_buf_raw(&b, i ? ",\"" : "\"");
        rm_json_buf_raw(&b, ints[i].key);
        rm_json_buf_raw(&b, "\":");
        rm_json_buf_int(&b, ints[i].value);
    }
    rm_json_buf_raw(&b, ",\"reparam_conv_k\":[");
    for (int i = 0; i < c->kernel_count; i++) {
        if (i) rm_json_buf_raw(&b, ",");
        rm_json_buf_int(&b, c->kernels[i]);
    }
    rm_json_buf_raw(&b, "],\"fc1_fc2_reduction\":");
    rm_json_buf_int(&b, c->fc1_fc2_reduction);
    rm_json_buf_raw(&b, ",\"fc3_groups\":");
    rm_json_buf_int(&b, c->fc3_groups);
    rm_json_buf_raw(&b, "}");
    if (b.failed) {
        rm_json_buf_free(&b);
        return NULL;
    }
    return b.text;
}
