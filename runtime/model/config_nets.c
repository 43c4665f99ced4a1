#include "model/config_nets.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

#include <stdio.h>
#include <string.h>

#define MAX RM_CFG_MAX_DIM
/* Units per RepMLPNet stage / blocks per ResNet stage: far beyond any real network. */
#define MAX_UNITS 4096

/* Product of n factors within RM_CFG_MAX_ELEMENTS. */
static bool mul_ok(int n, const int64_t *f) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (!rm_cfg_mul(p, f[i], &p)) return false;
    }
    return true;
}
#define MUL_OK(...)                                                                                \
    mul_ok((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                              \
           (const int64_t[]){__VA_ARGS__})

static bool key_present(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return item && !cJSON_IsNull(item);
}

/* A list key with exactly `want` entries (absent: the default, copied from def). */
static repmlp_status get_fixed_list(const cJSON *obj, const char *where, const char *key, int want,
                                    const int64_t *def, int64_t min, int64_t max, int64_t *values) {
    if (!key_present(obj, key)) {
        memcpy(values, def, (size_t)want * sizeof *values);
        return REPMLP_OK;
    }
    int count;
    int64_t tmp[RM_MAX_STAGES];
    repmlp_status s = rm_cfg_get_int_array(obj, where, key, RM_MAX_STAGES, min, max, tmp, &count);
    if (s != REPMLP_OK) return s;
    if (count != want) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': %d entries, expected %d", where,
                       key, count, want);
    }
    memcpy(values, tmp, (size_t)want * sizeof *values);
    return REPMLP_OK;
}

/* ================================ RepMLPBlock ================================ */

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
    if (!MUL_OK(c->sharesets, hw, hw)) {
        return rm_cfg_fail_key(where, "h", "the fc3 weight (S*h*w, h*w) is too large");
    }
    for (int i = 0; i < c->kernel_count; i++) {
        if (!MUL_OK(c->sharesets, c->kernels[i], c->kernels[i])) {
            return rm_cfg_fail_key(where, "reparam_conv_k",
                                   "a conv weight (S, 1, k, k) is too large");
        }
    }
    if (!MUL_OK(c->channels, c->hidden)) {
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
    if (!MUL_OK(c->channels, c->H, c->W)) {
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

/* ================================ RepMLPNet ================================ */

static const char *const repmlpnet_keys[] = {"in_channels",
                                             "num_class",
                                             "patch_size",
                                             "num_blocks",
                                             "channels",
                                             "hs",
                                             "ws",
                                             "sharesets_nums",
                                             "reparam_conv_k",
                                             "globalperceptron_reduce",
                                             "img_H",
                                             "img_W",
                                             NULL};

/* A per-stage list: present, 1..RM_MAX_STAGES entries, and (want > 0) as many as num_blocks. */
static repmlp_status get_stage_list(const cJSON *obj, const char *where, const char *key, int want,
                                    int64_t min, int64_t *values, int *count) {
    if (!key_present(obj, key)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' is missing", where, key);
    }
    repmlp_status s = rm_cfg_get_int_array(obj, where, key, RM_MAX_STAGES, min, MAX, values, count);
    if (s != REPMLP_OK) return s;
    if (*count == 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key '%s': the list is empty (one entry per "
                       "stage)",
                       where, key);
    }
    if (want > 0 && *count != want) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key '%s': %d entries, but 'num_blocks' has %d (one per stage)",
                       where, key, *count, want);
    }
    return REPMLP_OK;
}

repmlp_status rm_repmlpnet_config_from_json(const cJSON *obj, const char *where,
                                            rm_repmlpnet_config *out) {
    rm_repmlpnet_config c = {0};
    repmlp_status s = rm_cfg_check_keys(obj, where, repmlpnet_keys);
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "in_channels", false, 3, 1, MAX, &c.in_channels);
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "num_class", false, 1000, 1, MAX, &c.num_class);
    if (s == REPMLP_OK) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "patch_size");
        if (p && cJSON_IsNumber(p)) { /* one int means a square patch, as PyTorch's conv */
            s = rm_cfg_get_int(obj, where, "patch_size", true, 0, 1, MAX, &c.patch_h);
            c.patch_w = c.patch_h;
        } else {
            int64_t patch[2] = {0, 0};
            s = get_fixed_list(obj, where, "patch_size", 2, (const int64_t[]){4, 4}, 1, MAX, patch);
            c.patch_h = patch[0];
            c.patch_w = patch[1];
        }
    }
    int n = 0, count = 0;
    if (s == REPMLP_OK) s = get_stage_list(obj, where, "num_blocks", 0, 0, c.num_blocks, &n);
    if (s == REPMLP_OK) s = get_stage_list(obj, where, "channels", n, 1, c.channels, &count);
    if (s == REPMLP_OK) s = get_stage_list(obj, where, "hs", n, 1, c.hs, &count);
    if (s == REPMLP_OK) s = get_stage_list(obj, where, "ws", n, 1, c.ws, &count);
    if (s == REPMLP_OK) s = get_stage_list(obj, where, "sharesets_nums", n, 1, c.sharesets, &count);
    c.stage_count = n;
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int_array(obj, where, "reparam_conv_k", RM_MAX_KERNELS, 1, MAX, c.kernels,
                                 &c.kernel_count);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "globalperceptron_reduce", false, 4, 1, MAX, &c.reduce);
    /* 0: the default, chosen by validation */
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "img_H", false, 0, 1, MAX, &c.img_H);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "img_W", false, 0, 1, MAX, &c.img_W);
    if (s == REPMLP_OK) s = rm_repmlpnet_config_validate(&c, where);
    if (s == REPMLP_OK) *out = c;
    return s;
}

/* Why an input extent `img` does not fit (docs/MODELS.md §3: img / patch / 2^s an integer
 * divisible by hs[s] at every stage), written to why; false when it fits. `hs_key` is "hs" or
 * "ws". */
static bool map_fault(int64_t img, int64_t patch, const int64_t *hs, int stages, const char *hs_key,
                      char *why, size_t size) {
    if (img % patch != 0) {
        snprintf(why, size, "%lld is not divisible by the patch size %lld", (long long)img,
                 (long long)patch);
        return true;
    }
    int64_t map = img / patch;
    for (int s = 0; s < stages; s++) {
        if (s > 0) {
            if (map % 2 != 0) {
                snprintf(why, size,
                         "stage %d's map %lld (%lld / patch %lld / 2^%d) is odd, so embeds.%d "
                         "(kernel 2, stride 2) would drop a row or column",
                         s - 1, (long long)map, (long long)img, (long long)patch, s - 1, s - 1);
                return true;
            }
            map /= 2;
        }
        if (map % hs[s] != 0) {
            snprintf(why, size,
                     "stage %d's map %lld (%lld / patch %lld / 2^%d) is not divisible by %s[%d] "
                     "= %lld",
                     s, (long long)map, (long long)img, (long long)patch, s, hs_key, s,
                     (long long)hs[s]);
            return true;
        }
    }
    return false;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The smallest extent that fits: patch * lcm_s(2^s * hs[s]); it is patch * hs[0] (the presets'
 * input, docs/MODELS.md §3) whenever that one fits. 0 if it exceeds RM_CFG_MAX_DIM. */
static int64_t default_extent(int64_t patch, const int64_t *hs, int stages) {
    int64_t l = 1;
    for (int s = 0; s < stages; s++) {
        int64_t v = hs[s] << s; /* hs <= 2^20, s < 8 */
        l = l / gcd64(l, v) * v;
        if (l > MAX) return 0;
    }
    return l <= MAX / patch ? patch * l : 0;
}

repmlp_status rm_repmlpnet_config_validate(rm_repmlpnet_config *c, const char *where) {
    repmlp_status s = rm_cfg_check_range(where, "in_channels", c->in_channels, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "num_class", c->num_class, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "patch_size", c->patch_h, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "patch_size", c->patch_w, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "globalperceptron_reduce", c->reduce, 1, MAX);
    if (s == REPMLP_OK)
        s = rm_cfg_check_range(where, "num_blocks", c->stage_count, 1, RM_MAX_STAGES);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "img_H", c->img_H, 0, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "img_W", c->img_W, 0, MAX);
    for (int i = 0; s == REPMLP_OK && i < c->stage_count; i++) {
        s = rm_cfg_check_range(where, "num_blocks", c->num_blocks[i], 0, MAX_UNITS);
        if (s == REPMLP_OK) s = rm_cfg_check_range(where, "channels", c->channels[i], 1, MAX);
        if (s == REPMLP_OK) s = rm_cfg_check_range(where, "hs", c->hs[i], 1, MAX);
        if (s == REPMLP_OK) s = rm_cfg_check_range(where, "ws", c->ws[i], 1, MAX);
        if (s == REPMLP_OK)
            s = rm_cfg_check_range(where, "sharesets_nums", c->sharesets[i], 1, MAX);
    }
    if (s == REPMLP_OK) s = rm_cfg_check_kernels(c->kernel_count, c->kernels, where);
    if (s != REPMLP_OK) return s;

    for (int i = 0; i < c->stage_count; i++) {
        const int64_t C = c->channels[i], S = c->sharesets[i];
        if (C % S != 0) {
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'sharesets_nums': stage %d: channels %lld is not "
                           "divisible by %lld",
                           where, i, (long long)C, (long long)S);
        }
        if (C / c->reduce < 1) {
            return rm_fail(
                REPMLP_ERROR_CONFIG,
                "%s: config key 'globalperceptron_reduce': %lld leaves stage %d's gp.fc1 "
                "no outputs (channels %lld // %lld = 0)",
                where, (long long)c->reduce, i, (long long)C, (long long)c->reduce);
        }
        const int64_t hw = c->hs[i] * c->ws[i];
        if (!MUL_OK(S, hw, hw)) {
            return rm_cfg_fail_key(where, "hs", "an fc3 weight (S*h*w, h*w) is too large");
        }
        if (!MUL_OK(4 * C, C) || (i > 0 && !MUL_OK(C, c->channels[i - 1], 4))) {
            return rm_cfg_fail_key(where, "channels", "a weight (4C, C) is too large");
        }
        for (int k = 0; k < c->kernel_count; k++) {
            if (!MUL_OK(S, c->kernels[k], c->kernels[k])) {
                return rm_cfg_fail_key(where, "reparam_conv_k",
                                       "a conv weight (S, 1, k, k) is too large");
            }
        }
    }
    if (!MUL_OK(c->channels[0], c->in_channels, c->patch_h, c->patch_w)) {
        return rm_cfg_fail_key(where, "patch_size", "the conv_embedding weight is too large");
    }
    if (!MUL_OK(c->num_class, c->channels[c->stage_count - 1])) {
        return rm_cfg_fail_key(where, "num_class", "the head weight is too large");
    }

    const bool explicit_H = c->img_H != 0, explicit_W = c->img_W != 0;
    if (!explicit_H) c->img_H = default_extent(c->patch_h, c->hs, c->stage_count);
    if (!explicit_W) c->img_W = default_extent(c->patch_w, c->ws, c->stage_count);
    if (c->img_H == 0)
        return rm_cfg_fail_key(where, "hs", "no input height up to 2^20 fits every stage");
    if (c->img_W == 0)
        return rm_cfg_fail_key(where, "ws", "no input width up to 2^20 fits every stage");
    char why[256];
    if (map_fault(c->img_H, c->patch_h, c->hs, c->stage_count, "hs", why, sizeof why)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': input height %s", where,
                       explicit_H ? "img_H" : "hs", why);
    }
    if (map_fault(c->img_W, c->patch_w, c->ws, c->stage_count, "ws", why, sizeof why)) {
        return rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s': input width %s", where,
                       explicit_W ? "img_W" : "ws", why);
    }
    const int64_t map_H = c->img_H / c->patch_h, map_W = c->img_W / c->patch_w;
    for (int i = 0; i < c->stage_count; i++) {
        /* the FFN's 4C-channel activation is the largest of each stage */
        if (!MUL_OK(4 * c->channels[i], map_H >> i, map_W >> i)) {
            return rm_cfg_fail_key(where, explicit_H ? "img_H" : "hs",
                                   "an activation is too large");
        }
    }
    if (!MUL_OK(c->in_channels, c->img_H, c->img_W)) {
        return rm_cfg_fail_key(where, explicit_H ? "img_H" : "hs", "the input is too large");
    }
    return REPMLP_OK;
}

repmlp_status rm_repmlpnet_check_input(const rm_repmlpnet_config *c, int64_t H, int64_t W,
                                       const char *where) {
    char why[256];
    if (H < 1 || W < 1) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: input size %lld x %lld is empty", where,
                       (long long)H, (long long)W);
    }
    if (map_fault(H, c->patch_h, c->hs, c->stage_count, "hs", why, sizeof why)) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: input height %s", where, why);
    }
    if (map_fault(W, c->patch_w, c->ws, c->stage_count, "ws", why, sizeof why)) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: input width %s", where, why);
    }
    return REPMLP_OK;
}

char *rm_repmlpnet_config_to_json(const rm_repmlpnet_config *c) {
    rm_json_buf b = {0};
    rm_cfg_json_int(&b, "in_channels", c->in_channels);
    rm_cfg_json_int(&b, "num_class", c->num_class);
    rm_cfg_json_ints(&b, "patch_size", (const int64_t[]){c->patch_h, c->patch_w}, 2);
    rm_cfg_json_ints(&b, "num_blocks", c->num_blocks, c->stage_count);
    rm_cfg_json_ints(&b, "channels", c->channels, c->stage_count);
    rm_cfg_json_ints(&b, "hs", c->hs, c->stage_count);
    rm_cfg_json_ints(&b, "ws", c->ws, c->stage_count);
    rm_cfg_json_ints(&b, "sharesets_nums", c->sharesets, c->stage_count);
    rm_cfg_json_ints(&b, "reparam_conv_k", c->kernels, c->kernel_count);
    rm_cfg_json_int(&b, "globalperceptron_reduce", c->reduce);
    rm_cfg_json_int(&b, "img_H", c->img_H);
    rm_cfg_json_int(&b, "img_W", c->img_W);
    return rm_cfg_json_finish(&b);
}

void rm_repmlpnet_stage_at(const rm_repmlpnet_config *c, int s, rm_repmlpnet_stage *out) {
    memset(out, 0, sizeof *out);
    out->map_H = c->img_H / c->patch_h >> s;
    out->map_W = c->img_W / c->patch_w >> s;
    out->units = c->num_blocks[s];
    out->prebn1_folded = c->channels[s] == c->sharesets[s];
    rm_block_v2_config *b = &out->block;
    b->channels = c->channels[s];
    b->h = c->hs[s];
    b->w = c->ws[s];
    b->kernel_count = c->kernel_count;
    memcpy(b->kernels, c->kernels, sizeof b->kernels);
    b->reduce = c->reduce;
    b->sharesets = c->sharesets[s];
    b->hidden = b->channels / b->reduce;
}

void rm_repmlpnet_io_shape(const rm_repmlpnet_config *c, int64_t in_chw[3], int *out_ndim,
                           int64_t out_shape[3]) {
    in_chw[0] = c->in_channels;
    in_chw[1] = c->img_H;
    in_chw[2] = c->img_W;
    *out_ndim = 1;
    out_shape[0] = c->num_class;
    out_shape[1] = out_shape[2] = 0;
}

/* ================================ RepMLP-ResNet ================================ */

static const char *const resnet_keys[] = {"num_blocks",
                                          "num_classes",
                                          "block_type",
                                          "img_H",
                                          "img_W",
                                          "h",
                                          "w",
                                          "reparam_conv_k",
                                          "fc1_fc2_reduction",
                                          "fc3_groups",
                                          "bottleneck_r",
                                          "widths",
                                          "stem_channels",
                                          NULL};

static const char *const block_kind_names[] = {"base", "light", "bottleneck", NULL};

const char *rm_block_kind_name(rm_block_kind kind) {
    return kind >= RM_BLOCK_BASE && kind <= RM_BLOCK_BOTTLENECK ? block_kind_names[kind] : "?";
}

repmlp_status rm_resnet_config_from_json(const cJSON *obj, const char *where,
                                         rm_resnet_config *out) {
    rm_resnet_config c = {0};
    int kind = 0;
    repmlp_status s = rm_cfg_check_keys(obj, where, resnet_keys);
    if (s == REPMLP_OK) {
        s = get_fixed_list(obj, where, "num_blocks", 4, (const int64_t[]){3, 4, 6, 3}, 1, MAX_UNITS,
                           c.num_blocks);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "num_classes", true, 0, 1, MAX, &c.num_classes);
    if (s == REPMLP_OK)
        s = rm_cfg_get_choice(obj, where, "block_type", block_kind_names, true, 0, &kind);
    c.block_type = (rm_block_kind)kind;
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "img_H", true, 0, 1, MAX, &c.img_H);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "img_W", true, 0, 1, MAX, &c.img_W);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "h", true, 0, 1, MAX, &c.h);
    if (s == REPMLP_OK) s = rm_cfg_get_int(obj, where, "w", true, 0, 1, MAX, &c.w);
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int_array(obj, where, "reparam_conv_k", RM_MAX_KERNELS, 1, MAX, c.kernels,
                                 &c.kernel_count);
    }
    if (s == REPMLP_OK) {
        s = rm_cfg_get_int(obj, where, "fc1_fc2_reduction", false, 1, 1, MAX, &c.fc1_fc2_reduction);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "fc3_groups", false, 1, 1, MAX, &c.fc3_groups);
    if (s == REPMLP_OK) {
        s = get_fixed_list(obj, where, "bottleneck_r", 2, (const int64_t[]){2, 4}, 1, MAX,
                           c.bottleneck_r);
    }
    if (s == REPMLP_OK) {
        s = get_fixed_list(obj, where, "widths", 4, (const int64_t[]){256, 512, 1024, 2048}, 1, MAX,
                           c.widths);
    }
    if (s == REPMLP_OK)
        s = rm_cfg_get_int(obj, where, "stem_channels", false, 64, 1, MAX, &c.stem_channels);
    if (s == REPMLP_OK) s = rm_resnet_config_validate(&c, where);
    if (s == REPMLP_OK) *out = c;
    return s;
}

/* floor((in + 2p - k)/s) + 1 for the stride-2 layers: 7x7 p3, 3x3 p1 and 1x1 p0 all give
 * ceil(in / 2). */
static int64_t half_up(int64_t in) {
    return (in - 1) / 2 + 1;
}

void rm_resnet_stem_at(const rm_resnet_config *c, rm_resnet_stem *out) {
    out->conv_H = half_up(c->img_H);
    out->conv_W = half_up(c->img_W);
    out->pool_H = half_up(out->conv_H);
    out->pool_W = half_up(out->conv_W);
}

void rm_resnet_block_at(const rm_resnet_config *c, int stage, int64_t index, rm_resnet_block *b) {
    memset(b, 0, sizeof *b);
    rm_resnet_stem stem;
    rm_resnet_stem_at(c, &stem);
    b->T = (int64_t)4 << (stage - 1);
    b->stride = stage > 1 && index == 0 ? 2 : 1;
    b->width = c->widths[stage - 1];
    if (index > 0)
        b->in = b->width;
    else
        b->in = stage == 1 ? c->stem_channels : c->widths[stage - 2];
    /* stage s's blocks after the first see the stem output halved s-1 times */
    int64_t H = stem.pool_H, W = stem.pool_W;
    for (int t = 2; t <= stage; t++) {
        if (t < stage || index > 0) {
            H = half_up(H);
            W = half_up(W);
        }
    }
    b->in_H = H;
    b->in_W = W;
    b->out_H = b->stride == 2 ? half_up(H) : H;
    b->out_W = b->stride == 2 ? half_up(W) : W;
    /* docs/MODELS.md §2: base when block_type is base, or stride 2, or T not 8 or 16 */
    const bool base = c->block_type == RM_BLOCK_BASE || b->stride == 2 || (b->T != 8 && b->T != 16);
    b->kind = base ? RM_BLOCK_BASE : c->block_type;
    switch (b->kind) {
        case RM_BLOCK_BASE:
            b->mid = b->width / 4;
            b->conv_shortcut = b->stride != 1 || b->in != b->width;
            return;
        case RM_BLOCK_LIGHT:
            b->mid = b->width / 8;
            break;
        case RM_BLOCK_BOTTLENECK:
            b->mid = b->width / 4;
            b->rc = b->mid / c->bottleneck_r[stage == 2 ? 0 : 1];
            break;
    }
    b->conv_shortcut = b->in != b->width;
    rm_block_v1_config *r = &b->repmlp;
    r->in_channels = r->out_channels = b->kind == RM_BLOCK_LIGHT ? b->mid : b->rc;
    r->H = c->img_H / b->T;
    r->W = c->img_W / b->T;
    r->h = c->h;
    r->w = c->w;
    r->kernel_count = c->kernel_count;
    memcpy(r->kernels, c->kernels, sizeof r->kernels);
    r->fc1_fc2_reduction = c->fc1_fc2_reduction;
    r->fc3_groups = c->fc3_groups;
    r->hp = r->H / r->h;
    r->wp = r->W / r->w;
    r->I = r->in_channels * r->hp * r->wp / r->fc1_fc2_reduction;
    r->has_gp = r->H != r->h || r->W != r->w;
}

/* The RepMLP of block (stage, index): everything docs/MODELS.md §2 requires, with the
 * network's keys. */
static repmlp_status check_resnet_repmlp(const rm_resnet_config *c, int stage, int64_t index,
                                         const rm_resnet_block *b, const char *where) {
    const char *name = b->kind == RM_BLOCK_LIGHT ? "light_repmlp" : "btnk_repmlp";
    const int64_t T = b->T;
    if (c->img_H % T != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'img_H': %lld is not divisible by %lld (stage%d.%lld.%s "
                       "works at img_H/%lld)",
                       where, (long long)c->img_H, (long long)T, stage, (long long)index, name,
                       (long long)T);
    }
    if (c->img_W % T != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'img_W': %lld is not divisible by %lld (stage%d.%lld.%s "
                       "works at img_W/%lld)",
                       where, (long long)c->img_W, (long long)T, stage, (long long)index, name,
                       (long long)T);
    }
    const rm_block_v1_config *r = &b->repmlp;
    if (r->H % c->h != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'h': stage%d.%lld.%s's map height img_H/%lld = %lld is not "
                       "divisible by h = %lld",
                       where, stage, (long long)index, name, (long long)T, (long long)r->H,
                       (long long)c->h);
    }
    if (r->W % c->w != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'w': stage%d.%lld.%s's map width img_W/%lld = %lld is not "
                       "divisible by w = %lld",
                       where, stage, (long long)index, name, (long long)T, (long long)r->W,
                       (long long)c->w);
    }
    if (r->in_channels % c->fc3_groups != 0) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'fc3_groups': stage%d.%lld.%s has %lld channels, not "
                       "divisible by %lld",
                       where, stage, (long long)index, name, (long long)r->in_channels,
                       (long long)c->fc3_groups);
    }
    if (r->I < 1) {
        return rm_fail(REPMLP_ERROR_CONFIG,
                       "%s: config key 'fc1_fc2_reduction': %lld leaves stage%d.%lld.%s no hidden "
                       "units (C*hp*wp = %lld)",
                       where, (long long)c->fc1_fc2_reduction, stage, (long long)index, name,
                       (long long)(r->in_channels * r->hp * r->wp));
    }
    /* the v1 block's own checks (sizes): a failure here still names the block */
    char sub[1024];
    snprintf(sub, sizeof sub, "%s (stage%d.%lld.%s)", where, stage, (long long)index, name);
    rm_block_v1_config copy = *r;
    return rm_block_v1_config_validate(&copy, sub);
}

repmlp_status rm_resnet_config_validate(rm_resnet_config *c, const char *where) {
    repmlp_status s = REPMLP_OK;
    for (int i = 0; s == REPMLP_OK && i < 4; i++) {
        s = rm_cfg_check_range(where, "num_blocks", c->num_blocks[i], 1, MAX_UNITS);
        if (s == REPMLP_OK) s = rm_cfg_check_range(where, "widths", c->widths[i], 1, MAX);
    }
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "num_classes", c->num_classes, 1, MAX);
    if (s == REPMLP_OK && (c->block_type < RM_BLOCK_BASE || c->block_type > RM_BLOCK_BOTTLENECK)) {
        s = rm_cfg_fail_key(where, "block_type", "unknown block type");
    }
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "img_H", c->img_H, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "img_W", c->img_W, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "h", c->h, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "w", c->w, 1, MAX);
    if (s == REPMLP_OK)
        s = rm_cfg_check_range(where, "fc1_fc2_reduction", c->fc1_fc2_reduction, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "fc3_groups", c->fc3_groups, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "bottleneck_r", c->bottleneck_r[0], 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "bottleneck_r", c->bottleneck_r[1], 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_range(where, "stem_channels", c->stem_channels, 1, MAX);
    if (s == REPMLP_OK) s = rm_cfg_check_kernels(c->kernel_count, c->kernels, where);
    if (s != REPMLP_OK) return s;

    for (int st = 1; st <= 4; st++) {
        const int64_t width = c->widths[st - 1];
        if (width % 4 != 0) { /* every stage has a base block (mid = width/4) */
            return rm_fail(REPMLP_ERROR_CONFIG,
                           "%s: config key 'widths': widths[%d] = %lld is not divisible by 4 "
                           "(mid = width/4)",
                           where, st - 1, (long long)width);
        }
        for (int64_t i = 0; i < c->num_blocks[st - 1]; i++) {
            rm_resnet_block b;
            rm_resnet_block_at(c, st, i, &b);
            if (!MUL_OK(b.in, b.width) || !MUL_OK(b.mid, b.mid, 9) ||
                !MUL_OK(b.width, b.in_H, b.in_W)) {
                return rm_cfg_fail_key(where, "widths", "a weight or activation is too large");
            }
            if (b.kind == RM_BLOCK_BASE) continue;
            if (b.kind == RM_BLOCK_LIGHT && width % 8 != 0) {
                return rm_fail(REPMLP_ERROR_CONFIG,
                               "%s: config key 'widths': widths[%d] = %lld is not divisible by 8 "
                               "(light block: mid = width/8)",
                               where, st - 1, (long long)width);
            }
            if (b.kind == RM_BLOCK_BOTTLENECK) {
                const int r = st == 2 ? 0 : 1;
                if (b.mid % c->bottleneck_r[r] != 0) {
                    return rm_fail(REPMLP_ERROR_CONFIG,
                                   "%s: config key 'bottleneck_r': stage %d's mid = widths[%d]/4 = "
                                   "%lld is not divisible by bottleneck_r[%d] = %lld",
                                   where, st, st - 1, (long long)b.mid, r,
                                   (long long)c->bottleneck_r[r]);
                }
            }
            s = check_resnet_repmlp(c, st, i, &b, where);
            if (s != REPMLP_OK) return s;
            /* (img/T exact, so the conv/pool chain lands on exactly the RepMLP's H and W) */
            if (b.in_H != b.repmlp.H || b.in_W != b.repmlp.W) {
                return rm_cfg_fail_key(where, "img_H", "internal: map size mismatch");
            }
        }
    }
    rm_resnet_stem stem;
    rm_resnet_stem_at(c, &stem);
    if (!MUL_OK(c->stem_channels, stem.conv_H, stem.conv_W) || !MUL_OK(3, c->img_H, c->img_W)) {
        return rm_cfg_fail_key(where, "img_H", "the input or stem activation is too large");
    }
    if (!MUL_OK(c->num_classes, c->widths[3])) {
        return rm_cfg_fail_key(where, "num_classes", "the linear weight is too large");
    }
    return REPMLP_OK;
}

char *rm_resnet_config_to_json(const rm_resnet_config *c) {
    rm_json_buf b = {0};
    rm_cfg_json_ints(&b, "num_blocks", c->num_blocks, 4);
    rm_cfg_json_int(&b, "num_classes", c->num_classes);
    rm_cfg_json_key(&b, "block_type");
    rm_json_buf_string(&b, rm_block_kind_name(c->block_type));
    rm_cfg_json_int(&b, "img_H", c->img_H);
    rm_cfg_json_int(&b, "img_W", c->img_W);
    rm_cfg_json_int(&b, "h", c->h);
    rm_cfg_json_int(&b, "w", c->w);
    rm_cfg_json_ints(&b, "reparam_conv_k", c->kernels, c->kernel_count);
    rm_cfg_json_int(&b, "fc1_fc2_reduction", c->fc1_fc2_reduction);
    rm_cfg_json_int(&b, "fc3_groups", c->fc3_groups);
    rm_cfg_json_ints(&b, "bottleneck_r", c->bottleneck_r, 2);
    rm_cfg_json_ints(&b, "widths", c->widths, 4);
    rm_cfg_json_int(&b, "stem_channels", c->stem_channels);
    return rm_cfg_json_finish(&b);
}

void rm_resnet_io_shape(const rm_resnet_config *c, int64_t in_chw[3], int *out_ndim,
                        int64_t out_shape[3]) {
    in_chw[0] = 3;
    in_chw[1] = c->img_H;
    in_chw[2] = c->img_W;
    *out_ndim = 1;
    out_shape[0] = c->num_classes;
    out_shape[1] = out_shape[2] = 0;
}

/* ================================ presets ================================ */

#define RES50(type, groups)                                                                        \
    "{\"num_blocks\":[3,4,6,3],\"num_classes\":1000,\"block_type\":\"" type "\",\"img_H\":224,"    \
    "\"img_W\":224,\"h\":7,\"w\":7,\"reparam_conv_k\":[1,3,5],\"fc1_fc2_reduction\":1,"            \
    "\"fc3_groups\":" groups ",\"bottleneck_r\":[2,4]}"
#define NET(channels, hs, blocks, sharesets)                                                       \
    "{\"in_channels\":3,\"num_class\":1000,\"patch_size\":[4,4],\"num_blocks\":[" blocks           \
    "],\"channels\":[" channels "],\"hs\":[" hs "],\"ws\":[" hs "],\"sharesets_nums\":[" sharesets \
    "],\"reparam_conv_k\":[1,3],\"globalperceptron_reduce\":4}"

static const rm_preset presets[] = {
    {"RepMLPRes50-Light-224", RM_ARCH_RESNET, RES50("light", "4")},
    {"RepMLPRes50-Bottleneck-224", RM_ARCH_RESNET, RES50("bottleneck", "8")},
    {"RepMLPNet-T224", RM_ARCH_REPMLPNET,
     NET("64,128,256,512", "56,28,14,7", "2,2,6,2", "1,4,16,128")},
    {"RepMLPNet-T256", RM_ARCH_REPMLPNET,
     NET("64,128,256,512", "64,32,16,8", "2,2,6,2", "1,4,16,128")},
    {"RepMLPNet-B224", RM_ARCH_REPMLPNET,
     NET("96,192,384,768", "56,28,14,7", "2,2,12,2", "1,4,32,128")},
    {"RepMLPNet-B256", RM_ARCH_REPMLPNET,
     NET("96,192,384,768", "64,32,16,8", "2,2,12,2", "1,4,32,128")},
    {"RepMLPNet-D256", RM_ARCH_REPMLPNET,
     NET("80,160,320,640", "64,32,16,8", "2,2,18,2", "1,4,16,128")},
    {"RepMLPNet-L256", RM_ARCH_REPMLPNET,
     NET("96,192,384,768", "64,32,16,8", "2,2,18,2", "1,4,32,256")},
};

size_t rm_preset_count(void) {
    return sizeof presets / sizeof presets[0];
}

const rm_preset *rm_preset_at(size_t i) {
    return i < rm_preset_count() ? &presets[i] : NULL;
}

const rm_preset *rm_preset_find(const char *name) {
    for (size_t i = 0; i < rm_preset_count(); i++) {
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    }
    return NULL;
}

repmlp_status rm_preset_config(const rm_preset *p, const cJSON *overrides, const char *where,
                               cJSON **out) {
    *out = NULL;
    cJSON *base = NULL;
    repmlp_status s = rm_json_parse(p->config_json, strlen(p->config_json), p->name, &base);
    if (s != REPMLP_OK) return s;
    if (overrides) {
        const char *dup = NULL;
        if (!cJSON_IsObject(overrides)) {
            s = rm_fail(REPMLP_ERROR_CONFIG, "%s: config is not a JSON object", where);
        }
        if (s == REPMLP_OK) s = rm_json_find_duplicate_key(overrides, where, &dup);
        if (s == REPMLP_OK && dup) {
            s = rm_fail(REPMLP_ERROR_CONFIG, "%s: config key '%s' appears twice", where, dup);
        }
        for (const cJSON *it = overrides->child; s == REPMLP_OK && it; it = it->next) {
            cJSON *copy = cJSON_Duplicate(it, 1);
            bool ok = copy != NULL;
            if (ok && cJSON_GetObjectItemCaseSensitive(base, it->string)) {
                ok = cJSON_ReplaceItemInObjectCaseSensitive(base, it->string, copy);
            } else if (ok) {
                ok = cJSON_AddItemToObject(base, it->string, copy);
            }
            if (!ok) {
                cJSON_Delete(copy); /* not attached; NULL is fine */
                s = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", where);
            }
        }
    }
    if (s != REPMLP_OK) {
        cJSON_Delete(base);
        return s;
    }
    *out = base;
    return REPMLP_OK;
}

/* ================================ from text ================================ */

#define PARSE_TEXT(fn_name, type, from_json)                                                       \
    repmlp_status fn_name(const char *text, const char *where, type *out) {                        \
        cJSON *obj = NULL;                                                                         \
        repmlp_status s = rm_json_parse(text, strlen(text), where, &obj);                          \
        if (s == REPMLP_OK) s = from_json(obj, where, out);                                        \
        cJSON_Delete(obj);                                                                         \
        return s;                                                                                  \
    }

PARSE_TEXT(rm_block_v2_config_parse, rm_block_v2_config, rm_block_v2_config_from_json)
PARSE_TEXT(rm_repmlpnet_config_parse, rm_repmlpnet_config, rm_repmlpnet_config_from_json)
PARSE_TEXT(rm_resnet_config_parse, rm_resnet_config, rm_resnet_config_from_json)
