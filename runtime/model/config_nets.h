/* Private: configurations of the RepMLPNet block (version 2, docs/MODELS.md §3), the RepMLPNet
 * network (§3) and the RepMLP-ResNet network (§2), with the constructor parameter names of
 * docs/MODELS.md as JSON keys, plus its presets and the per-stage / per-block facts every
 * consumer (fuser, runtime graph, reference) derives from a config.
 *
 * Every parser rejects unknown keys, fills defaults and validates all of the constraints there;
 * errors are REPMLP_ERROR_CONFIG with one line "<where>: config key '<key>': <what>". Every
 * *_to_json writes the full config (all keys, defaults and extension keys included), and
 * parsing it back gives the same struct. */
#ifndef RM_CONFIG_NETS_H
#define RM_CONFIG_NETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/arch_list.h"
#include "model/config.h"
#include "model/config_json.h"
#include "repmlp/status.h"

#define RM_MAX_STAGES 8

/* ---- RepMLPBlock (docs/MODELS.md §3) ----
 * JSON keys: in_channels, out_channels (must equal in_channels), H, W (the input size of the
 * stand-alone arch), h, w (required), reparam_conv_k (distinct odd ints >= 1; absent, null or
 * [] for none), globalperceptron_reduce (default 4), num_sharesets (default 1). */
typedef struct rm_block_v2_config {
    int64_t channels; /* in_channels; out_channels must equal it */
    int64_t H, W;     /* stand-alone arch only (0 inside RepMLPNet) */
    int64_t h, w;
    int kernel_count;
    int64_t kernels[RM_MAX_KERNELS]; /* sorted ascending */
    int64_t reduce;                  /* globalperceptron_reduce */
    int64_t sharesets;               /* num_sharesets S; channels % S == 0 */
    /* derived by validation */
    int64_t hidden; /* channels / reduce: gp.fc1's outputs (>= 1) */
    int64_t hp, wp; /* H / h, W / w; 0 inside RepMLPNet (the map size comes from the input) */
} rm_block_v2_config;

repmlp_status rm_block_v2_config_from_json(const cJSON *obj, const char *where,
                                           rm_block_v2_config *out);
/* Checks the stand-alone block (H, W set) and fills the derived fields; sorts the kernels. */
repmlp_status rm_block_v2_config_validate(rm_block_v2_config *cfg, const char *where);
/* rm_malloc'd compact JSON, NULL when out of memory. */
char *rm_block_v2_config_to_json(const rm_block_v2_config *cfg);

/* ---- RepMLPNet (docs/MODELS.md §3) ----
 * JSON keys: in_channels (default 3), num_class (default 1000), patch_size ([ph, pw] or one
 * int, default [4, 4]), num_blocks, channels, hs, ws, sharesets_nums (required, one entry per
 * stage, 1..RM_MAX_STAGES stages), reparam_conv_k (as above), globalperceptron_reduce
 * (default 4), and the extension keys img_H, img_W (the input size; default patch_h*hs[0],
 * patch_w*ws[0], as the presets). Constraints: channels[s] % sharesets_nums[s] == 0,
 * channels[s] / globalperceptron_reduce >= 1, and img_H / patch_h / 2^s an integer divisible
 * by hs[s] at every stage (likewise for W). */
typedef struct rm_repmlpnet_config {
    int64_t in_channels, num_class, patch_h, patch_w;
    int stage_count;
    int64_t num_blocks[RM_MAX_STAGES], channels[RM_MAX_STAGES], hs[RM_MAX_STAGES],
        ws[RM_MAX_STAGES], sharesets[RM_MAX_STAGES];
    int kernel_count;
    int64_t kernels[RM_MAX_KERNELS]; /* sorted ascending */
    int64_t reduce;                  /* globalperceptron_reduce */
    int64_t img_H, img_W;
} rm_repmlpnet_config;

repmlp_status rm_repmlpnet_config_from_json(const cJSON *obj, const char *where,
                                            rm_repmlpnet_config *out);
repmlp_status rm_repmlpnet_config_validate(rm_repmlpnet_config *cfg, const char *where);
char *rm_repmlpnet_config_to_json(const rm_repmlpnet_config *cfg);

/* Stage s of a validated config, for an img_H x img_W input. */
typedef struct rm_repmlpnet_stage {
    int64_t map_H, map_W;     /* the units' activation size: img / patch / 2^s */
    int64_t units;            /* num_blocks[s] */
    bool prebn1_folded;       /* channels == sharesets: prebn1 lives in gp.fc1 and fc3 */
    rm_block_v2_config block; /* the units' RepMLPBlock; H = W = hp = wp = 0 */
} rm_repmlpnet_stage;
void rm_repmlpnet_stage_at(const rm_repmlpnet_config *cfg, int s, rm_repmlpnet_stage *out);

/* Checks that an input of H x W (other than img_H x img_W) fits the network: H / patch_h /
 * 2^s an integer divisible by hs[s] at every stage. REPMLP_ERROR_INVALID_ARGUMENT
 * "<where>: input height H: ..." otherwise. */
repmlp_status rm_repmlpnet_check_input(const rm_repmlpnet_config *cfg, int64_t H, int64_t W,
                                       const char *where);

/* ---- RepMLP-ResNet (docs/MODELS.md §2) ----
 * JSON keys: num_blocks (4 ints >= 1, default [3,4,6,3]), num_classes, block_type
 * ("base" | "light" | "bottleneck"), img_H, img_W, h, w (required), reparam_conv_k (as above),
 * fc1_fc2_reduction (default 1), fc3_groups (default 1), bottleneck_r (2 ints, default [2,4]),
 * and the extension keys widths (4 ints, default [256,512,1024,2048]) and stem_channels
 * (default 64). Validated for the blocks the config actually has: widths % 4 (base mid),
 * widths % 8 (light mid), (widths/4) % r (bottleneck rc), img_H % T and (img_H/T) % h for
 * T = 8, 16 where a RepMLP sits, C % fc3_groups and C*hp*wp / r >= 1 for every RepMLP. */
typedef enum rm_block_kind { RM_BLOCK_BASE = 0, RM_BLOCK_LIGHT, RM_BLOCK_BOTTLENECK } rm_block_kind;

typedef struct rm_resnet_config {
    int64_t num_blocks[4], num_classes;
    rm_block_kind block_type;
    int64_t img_H, img_W, h, w;
    int kernel_count;
    int64_t kernels[RM_MAX_KERNELS]; /* sorted ascending */
    int64_t fc1_fc2_reduction, fc3_groups, bottleneck_r[2];
    int64_t widths[4], stem_channels;
} rm_resnet_config;

repmlp_status rm_resnet_config_from_json(const cJSON *obj, const char *where,
                                         rm_resnet_config *out);
repmlp_status rm_resnet_config_validate(rm_resnet_config *cfg, const char *where);
char *rm_resnet_config_to_json(const rm_resnet_config *cfg);

/* "base", "light", "bottleneck". */
const char *rm_block_kind_name(rm_block_kind kind);

/* stage0: ConvBNReLU 3 -> stem_channels k7 s2 p3, then max-pool 3x3 s2 p1. */
typedef struct rm_resnet_stem {
    int64_t conv_H, conv_W; /* after the conv */
    int64_t pool_H, pool_W; /* after the max-pool: stage 1's input */
} rm_resnet_stem;
void rm_resnet_stem_at(const rm_resnet_config *cfg, rm_resnet_stem *out);

/* Block `index` of stage `stage` (1..4, index < num_blocks[stage-1]) of a validated config. */
typedef struct rm_resnet_block {
    rm_block_kind kind; /* the kind actually used (MODELS.md §2's base/light/bottleneck rule) */
    int64_t T;          /* the stage's total stride: 4, 8, 16, 32 */
    int64_t in, width, stride;
    int64_t mid;        /* base, bottleneck: width/4; light: width/8 */
    int64_t rc;         /* bottleneck: mid / bottleneck_r[stage == 2 ? 0 : 1]; else 0 */
    bool conv_shortcut; /* `shortcut` is a ConvBN 1x1 (stride `stride`), else identity */
    int64_t in_H, in_W; /* activation size entering the block */
    int64_t out_H, out_W;
    rm_block_v1_config repmlp; /* light (C = O = mid) / bottleneck (C = O = rc); zero for base */
} rm_resnet_block;
void rm_resnet_block_at(const rm_resnet_config *cfg, int stage, int64_t index,
                        rm_resnet_block *out);

/* ---- shapes ---- */

/* One input image (C, H, W) and the per-image output: (C, H, W) for the block, (classes) for
 * the networks (*out_ndim 3 or 1). */
void rm_block_v2_io_shape(const rm_block_v2_config *cfg, int64_t in_chw[3], int *out_ndim,
                          int64_t out_shape[3]);
void rm_repmlpnet_io_shape(const rm_repmlpnet_config *cfg, int64_t in_chw[3], int *out_ndim,
                           int64_t out_shape[3]);
void rm_resnet_io_shape(const rm_resnet_config *cfg, int64_t in_chw[3], int *out_ndim,
                        int64_t out_shape[3]);

/* ---- presets (docs/MODELS.md §2 and §3), listed by the registry rows (arch_registry.h) ---- */

/* Each ended by a row with name NULL. */
extern const rm_preset rm_resnet_presets[];
extern const rm_preset rm_repmlpnet_presets[];

/* Parses JSON text (e.g. a fused file's "config" metadata) into a config. */
repmlp_status rm_block_v2_config_parse(const char *text, const char *where,
                                       rm_block_v2_config *out);
repmlp_status rm_repmlpnet_config_parse(const char *text, const char *where,
                                        rm_repmlpnet_config *out);
repmlp_status rm_resnet_config_parse(const char *text, const char *where, rm_resnet_config *out);

#endif
