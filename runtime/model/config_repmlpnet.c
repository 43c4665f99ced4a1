/* The RepMLPNet config (docs/MODELS.md §3) and its presets. */
#include "model/config_nets.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

#include <stdio.h>
#include <string.h>

#define MAX RM_CFG_MAX_DIM
/* Units per RepMLPNet stage / blocks per ResNet stage: far beyond any real network. */
#define MAX_UNITS 4096

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
    if (!rm_cfg_key_present(obj, key)) {
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
            s = rm_cfg_get_fixed_list(obj, where, "patch_size", 2, (const int64_t[]){4, 4}, 1, MAX,
                                      patch);
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
        if (!RM_CFG_MUL_OK(S, hw, hw)) {
            return rm_cfg_fail_key(where, "hs", "an fc3 weight (S*h*w, h*w) is too large");
        }
        if (!RM_CFG_MUL_OK(4 * C, C) || (i > 0 && !RM_CFG_MUL_OK(C, c->channels[i - 1], 4))) {
            return rm_cfg_fail_key(where, "channels", "a weight (4C, C) is too large");
        }
        for (int k = 0; k < c->kernel_count; k++) {
            if (!RM_CFG_MUL_OK(S, c->kernels[k], c->kernels[k])) {
                return rm_cfg_fail_key(where, "reparam_conv_k",
                                       "a conv weight (S, 1, k, k) is too large");
            }
        }
    }
    if (!RM_CFG_MUL_OK(c->channels[0], c->in_channels, c->patch_h, c->patch_w)) {
        return rm_cfg_fail_key(where, "patch_size", "the conv_embedding weight is too large");
    }
    if (!RM_CFG_MUL_OK(c->num_class, c->channels[c->stage_count - 1])) {
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
        if (!RM_CFG_MUL_OK(4 * c->channels[i], map_H >> i, map_W >> i)) {
            return rm_cfg_fail_key(where, explicit_H ? "img_H" : "hs",
                                   "an activation is too large");
        }
    }
    if (!RM_CFG_MUL_OK(c->in_channels, c->img_H, c->img_W)) {
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

/* docs/MODELS.md §3's networks. */
#define NET(channels, hs, blocks, sharesets)                                                       \
    "{\"in_channels\":3,\"num_class\":1000,\"patch_size\":[4,4],\"num_blocks\":[" blocks           \
    "],\"channels\":[" channels "],\"hs\":[" hs "],\"ws\":[" hs "],\"sharesets_nums\":[" sharesets \
    "],\"reparam_conv_k\":[1,3],\"globalperceptron_reduce\":4}"

const rm_preset rm_repmlpnet_presets[] = {
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
    {NULL, NULL, NULL},
};

RM_CFG_PARSE_TEXT(rm_repmlpnet_config_parse, rm_repmlpnet_config, rm_repmlpnet_config_from_json)
