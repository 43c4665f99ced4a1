/* The RepMLP-ResNet config (docs/MODELS.md §2) and its presets. */
#include "model/config_nets.h"

#include "core/error.h"
#include "io/json.h"
#include "model/config_json.h"

#include <stdio.h>
#include <string.h>

#define MAX RM_CFG_MAX_DIM
/* Units per RepMLPNet stage / blocks per ResNet stage: far beyond any real network. */
#define MAX_UNITS 4096

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
        s = rm_cfg_get_fixed_list(obj, where, "num_blocks", 4, (const int64_t[]){3, 4, 6, 3}, 1,
                                  MAX_UNITS, c.num_blocks);
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
        s = rm_cfg_get_fixed_list(obj, where, "bottleneck_r", 2, (const int64_t[]){2, 4}, 1, MAX,
                                  c.bottleneck_r);
    }
    if (s == REPMLP_OK) {
        s = rm_cfg_get_fixed_list(obj, where, "widths", 4, (const int64_t[]){256, 512, 1024, 2048},
                                  1, MAX, c.widths);
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
            if (!RM_CFG_MUL_OK(b.in, b.width) || !RM_CFG_MUL_OK(b.mid, b.mid, 9) ||
                !RM_CFG_MUL_OK(b.width, b.in_H, b.in_W)) {
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
    if (!RM_CFG_MUL_OK(c->stem_channels, stem.conv_H, stem.conv_W) ||
        !RM_CFG_MUL_OK(3, c->img_H, c->img_W)) {
        return rm_cfg_fail_key(where, "img_H", "the input or stem activation is too large");
    }
    if (!RM_CFG_MUL_OK(c->num_classes, c->widths[3])) {
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

/* docs/MODELS.md §2's RepMLP-Res50 variants. */
#define RES50(type, groups)                                                                        \
    "{\"num_blocks\":[3,4,6,3],\"num_classes\":1000,\"block_type\":\"" type "\",\"img_H\":224,"    \
    "\"img_W\":224,\"h\":7,\"w\":7,\"reparam_conv_k\":[1,3,5],\"fc1_fc2_reduction\":1,"            \
    "\"fc3_groups\":" groups ",\"bottleneck_r\":[2,4]}"

const rm_preset rm_resnet_presets[] = {
    {"RepMLPRes50-Light-224", RM_ARCH_RESNET, RES50("light", "4")},
    {"RepMLPRes50-Bottleneck-224", RM_ARCH_RESNET, RES50("bottleneck", "8")},
    {NULL, NULL, NULL},
};

RM_CFG_PARSE_TEXT(rm_resnet_config_parse, rm_resnet_config, rm_resnet_config_from_json)
