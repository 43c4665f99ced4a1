/* Private: configuration of the RepMLP version-1 block (docs/MODELS.md §1), with the
 * constructor parameter names as JSON keys. */
#ifndef RM_CONFIG_H
#define RM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "repmlp/status.h"

#define RM_MAX_KERNELS 8

typedef struct rm_block_v1_config {
    int64_t in_channels, out_channels, H, W, h, w;
    int kernel_count; /* sorted ascending */
    int64_t kernels[RM_MAX_KERNELS];
    int64_t fc1_fc2_reduction, fc3_groups;
    /* derived by validation */
    int64_t hp, wp, I; /* I = C*hp*wp / r */
    bool has_gp;       /* H != h || W != w */
} rm_block_v1_config;

/* Parses and validates a config object: keys in_channels, out_channels, H, W, h, w (required),
 * reparam_conv_k (array of distinct odd ints >= 1, or null/absent/empty), fc1_fc2_reduction
 * (default 1), fc3_groups (default 1); nothing else. On success *out is validated (derived
 * fields filled). Errors: REPMLP_ERROR_CONFIG, "<where>: config key '<key>': <what>". */
repmlp_status rm_block_v1_config_from_json(const cJSON *obj, const char *where,
                                           rm_block_v1_config *out);

/* Checks the constraints of docs/MODELS.md §1 and size limits, sorts the kernels, fills hp, wp,
 * I and has_gp. Same error convention as above. */
repmlp_status rm_block_v1_config_validate(rm_block_v1_config *cfg, const char *where);

/* The full config as compact JSON (every key, defaults included), rm_malloc'd; NULL when out
 * of memory. Parsing it back gives the same config. */
char *rm_block_v1_config_to_json(const rm_block_v1_config *cfg);

/* One input image (in_channels, H, W) and its output (out_channels, H, W) (*out_ndim 3). */
void rm_block_v1_io_shape(const rm_block_v1_config *cfg, int64_t in_chw[3], int *out_ndim,
                          int64_t out_shape[3]);

#endif
