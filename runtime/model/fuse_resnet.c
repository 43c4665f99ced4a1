#include "model/fuse_resnet.h"

#include "model/arch_registry.h"
#include "model/fuse_block_v1.h"

#include <stdio.h>

/* "<prefix><rel>" as a ConvBN of (out, in, k, k). */
static repmlp_status convbn(rm_fuser *f, const char *prefix, const char *rel, int64_t out,
                            int64_t in, int64_t k) {
    char name[RM_FUSE_NAME_MAX];
    return rm_fuse_convbn(f, rm_fuse_name(name, prefix, rel), out, in, k, k);
}

static repmlp_status fuse_block(const rm_resnet_block *b, rm_fuser *f, const char *prefix) {
    char name[RM_FUSE_NAME_MAX];
    repmlp_status s = REPMLP_OK;
    switch (b->kind) {
        case RM_BLOCK_BASE:
            s = convbn(f, prefix, "conv1", b->mid, b->in, 1);
            if (s == REPMLP_OK) s = convbn(f, prefix, "conv2", b->mid, b->mid, 3);
            if (s == REPMLP_OK) s = convbn(f, prefix, "conv3", b->width, b->mid, 1);
            break;
        case RM_BLOCK_LIGHT:
            s = convbn(f, prefix, "light_conv1", b->mid, b->in, 1);
            rm_fuse_name(name, prefix, "light_repmlp.");
            if (s == REPMLP_OK) s = rm_fuse_block_v1(&b->repmlp, f->train, name, f->out, name);
            if (s == REPMLP_OK) s = convbn(f, prefix, "light_conv3", b->width, b->mid, 1);
            break;
        case RM_BLOCK_BOTTLENECK:
            s = convbn(f, prefix, "btnk_conv1", b->mid, b->in, 1);
            if (s == REPMLP_OK) s = convbn(f, prefix, "btnk_conv2", b->rc, b->mid, 3);
            rm_fuse_name(name, prefix, "btnk_repmlp.");
            if (s == REPMLP_OK) s = rm_fuse_block_v1(&b->repmlp, f->train, name, f->out, name);
            if (s == REPMLP_OK) s = convbn(f, prefix, "btnk_conv4", b->mid, b->rc, 3);
            if (s == REPMLP_OK) s = convbn(f, prefix, "btnk_conv5", b->width, b->mid, 1);
            break;
    }
    if (s == REPMLP_OK && b->conv_shortcut) s = convbn(f, prefix, "shortcut", b->width, b->in, 1);
    return s;
}

repmlp_status rm_fuse_resnet(const rm_resnet_config *c, rm_fuser *f) {
    repmlp_status s = rm_fuse_convbn(f, "stage0.0", c->stem_channels, 3, 7, 7);
    for (int st = 1; s == REPMLP_OK && st <= 4; st++) {
        for (int64_t i = 0; s == REPMLP_OK && i < c->num_blocks[st - 1]; i++) {
            rm_resnet_block b;
            rm_resnet_block_at(c, st, i, &b);
            char prefix[RM_FUSE_NAME_MAX];
            snprintf(prefix, sizeof prefix, "stage%d.%lld.", st, (long long)i);
            s = fuse_block(&b, f, prefix);
        }
    }
    const int64_t K = c->num_classes, shape[2] = {K, c->widths[3]};
    if (s == REPMLP_OK) s = rm_fuser_copy(f, "linear.weight", 2, shape);
    if (s == REPMLP_OK) s = rm_fuser_copy(f, "linear.bias", 1, &K);
    return s;
}

static repmlp_status resnet_body(const void *ctx, rm_fuser *f) {
    return rm_fuse_resnet(ctx, f);
}

RM_MODEL_ARCH_CONFIG_FNS(rm_resnet, rm_resnet_config)

const rm_model_arch rm_model_arch_resnet = {RM_ARCH_RESNET,
                                            "RepMLP-ResNet network",
                                            sizeof(rm_resnet_config),
                                            rm_resnet_from_json_any,
                                            rm_resnet_to_json_any,
                                            rm_resnet_io_shape_any,
                                            resnet_body,
                                            rm_resnet_presets};
