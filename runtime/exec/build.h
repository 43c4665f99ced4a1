/* Private: graph-building steps shared by the architectures. Each takes its weights by name
 * under `prefix` (e.g. "stage2.1.light_repmlp."), checks their shapes, and adds nodes that
 * read value `x` and write value `out`. Errors are sticky in the builder (see rm_builder). */
#ifndef RM_BUILD_H
#define RM_BUILD_H

#include "exec/model.h"
#include "model/config.h"
#include "model/config_nets.h"

/* A new temporary of `count` floats. */
int rb_temp(rm_builder *b, uint64_t count);

/* Conv `prefix`.weight (O, C/groups, k, k) + `prefix`.bias, epilogue act, optional residual
 * (a value id, or -1), from x (N, C, H, W) to out (N, O, OH, OW). */
typedef struct rb_conv {
    uint32_t N, C, H, W, O, k, stride, pad, groups;
    rm_activation act;
    int residual;
} rb_conv;
void rb_add_conv(rm_builder *b, const char *prefix, const rb_conv *c, int x, int out);
/* The same with a kw-wide kernel and horizontal stride sw (c->k, c->stride are vertical):
 * RepMLPNet's rectangular patch embedding. */
void rb_add_conv_rect(rm_builder *b, const char *prefix, const rb_conv *c, uint32_t kw, uint32_t sw,
                      int x, int out);

/* Eval-mode BatchNorm `prefix`.{weight,bias,running_mean,running_var} over (N, C, HW), plus
 * residual (a value id, or -1), into out. */
void rb_add_batchnorm(rm_builder *b, const char *prefix, uint32_t N, uint32_t C, uint32_t HW, int x,
                      int residual, int out);

/* The v1 block's global perceptron on x: avgpool, then BatchNorm `bn_prefix` when non-NULL
 * (training-time form), fc1 + ReLU, fc2. Returns v (N, C*hp*wp), or the none value without
 * a GP. */
int rb_add_gp_v1(rm_builder *b, const char *prefix, const rm_block_v1_config *c, uint32_t N, int x,
                 const char *bn_prefix);

/* The v1 block's fc3 over the partitions of x (with v added on load when there is a GP):
 * shape, groups, A and V maps; the caller sets the output maps and epilogue. */
rm_gemm_params rb_fc3_v1(const rm_block_v1_config *c, uint32_t N);

/* The RepMLP v1 block (deploy form, docs/MODELS.md §1) under prefix, batch N, then `act`. */
void rb_add_block_v1(rm_builder *b, const char *prefix, const rm_block_v1_config *cfg, uint32_t N,
                     rm_activation act, int x, int out);

/* The RepMLPBlock (deploy form, docs/MODELS.md §3) under prefix on an H x W map, batch N:
 * out = residual + fc3-partitions(src) * gate(src), with `src` the block's input (x after
 * prebn1, when it was not folded) and `residual` -1 for none. */
void rb_add_block_v2(rm_builder *b, const char *prefix, const rm_block_v2_config *cfg, uint32_t N,
                     uint32_t H, uint32_t W, int src, int residual, int out);

/* Global average pool of x (N, C, H, W) then the linear head `prefix`.weight (classes, C) and
 * `prefix`.bias, into out (N, classes). */
void rb_add_head(rm_builder *b, const char *prefix, uint32_t N, uint32_t C, uint32_t H, uint32_t W,
                 uint32_t classes, int x, int out);

/* Fails the build if one image's tensor of `count` elements could overflow 32-bit indexing. */
void rb_check_size(rm_builder *b, uint64_t count);

#endif
