/* Private: one recorded compute dispatch (pipeline, bound buffers, push constants, grid),
 * and the descriptor pools that back them. Dispatches are bound once at prepare time and
 * recorded into command buffers that are replayed, so nothing here runs per inference. */
#ifndef RM_DISPATCH_H
#define RM_DISPATCH_H

#include "core/pipeline.h"

#define RM_MAX_BINDINGS 8
#define RM_MAX_PUSH 128
/* Dispatches one op may be cut into (rm_dispatch.parts): at the smallest storage-buffer range
 * Vulkan allows (2^27 B) that is a 4 GiB weight, more than any allocation a profile plans. */
#define RM_MAX_PARTS 32

typedef struct rm_binding {
    VkBuffer buffer;
    VkDeviceSize offset;
    VkDeviceSize range; /* bytes; never VK_WHOLE_SIZE, so limits can be checked */
} rm_binding;

/* One dispatch of an op cut into several because one of its bindings (part_binding) is larger
 * than a binding may span: the part binds [offset, offset + range) of what is bound there,
 * runs its own grid, and pushes first[0..1] at push words part_push, part_push + 1. */
typedef struct rm_dispatch_part {
    uint32_t groups[3];
    uint32_t first[2];
    uint64_t offset, range;
} rm_dispatch_part;

typedef struct rm_dispatch {
    const rm_pipeline *pipeline;
    VkDescriptorSet sets[RM_MAX_PARTS];  /* one per part */
    VkBufferView views[RM_MAX_BINDINGS]; /* for texel bindings; owned, see rm_dispatch_unbind */
    uint32_t half_mask; /* vec4 texel bindings whose texels are fp16 (R16G16B16A16_SFLOAT) */
    /* What a sampled-image binding (rm_shader_info.image_mask) reads; its rm_binding is unused. */
    VkImageView image;
    VkImageLayout image_layout;
    uint32_t groups[3];
    uint32_t push_size;
    uint8_t push[RM_MAX_PUSH];
    /* 0: one dispatch of `groups`; else part_count dispatches as parts[] say. */
    uint32_t part_count, part_binding, part_push;
    rm_dispatch_part parts[RM_MAX_PARTS];
    /* Ops that map a graph node's operands to bindings (ops.h) note which they read here. */
    uint32_t operand_mask;
} rm_dispatch;

/* Descriptor sets the dispatch takes from a pool when bound (one per part). */
static inline uint32_t rm_dispatch_sets(const rm_dispatch *d) {
    return d->part_count ? d->part_count : 1;
}

/* A pool big enough for `sets` descriptor sets of at most RM_MAX_BINDINGS buffers each. */
repmlp_status rm_descriptor_pool_create(repmlp_context *ctx, uint32_t sets, VkDescriptorPool *out);
void rm_descriptor_pool_destroy(repmlp_context *ctx, VkDescriptorPool pool);

/* Allocates d's sets from pool and points their bindings at the given buffer ranges (each part's
 * part_binding narrowed to its range), after checking every grid and each range and offset
 * against ctx->caps (core/limits.h). */
repmlp_status rm_dispatch_bind(repmlp_context *ctx, VkDescriptorPool pool, rm_dispatch *d,
                               const rm_binding *bindings);

/* One binding (a window of one buffer) covering several operands, for shaders that read several
 * small tensors through one descriptor (the Vulkan minimum is 4 storage buffers per stage):
 * *window starts at the lowest operand offset rounded down to the storage-offset alignment, and
 * float_offsets[i] is operand i's offset from it in floats (for the shader's push constants).
 * Operands in different buffers are REPMLP_ERROR_UNSUPPORTED naming `what`. */
repmlp_status rm_binding_window(const repmlp_context *ctx, const char *what,
                                const rm_binding *operands, uint32_t count, rm_binding *window,
                                uint32_t *float_offsets);

/* Destroys the buffer views made by rm_dispatch_bind (the set returns with its pool). */
void rm_dispatch_unbind(repmlp_context *ctx, rm_dispatch *d);

/* Records d into cmd. prev: the dispatch recorded just before it into cmd, or NULL. When prev
 * has the same pipeline it is still bound (barriers keep it) and is not bound again: drivers
 * re-validate state on every bind. */
void rm_dispatch_record(const repmlp_context *ctx, VkCommandBuffer cmd, const rm_dispatch *d,
                        const rm_dispatch *prev);

/* Makes compute-shader writes visible to the next dispatches. */
void rm_barrier_compute(const repmlp_context *ctx, VkCommandBuffer cmd);
/* Makes compute-shader writes visible to host reads and transfers after the fence. */
void rm_barrier_to_host(const repmlp_context *ctx, VkCommandBuffer cmd);

/* Splits a 1-D count of workgroups over x and y so that neither exceeds the device limit. */
repmlp_status rm_grid_1d(const repmlp_context *ctx, uint64_t invocations, uint32_t local_size,
                         uint32_t groups[3]);
/* Ceiling division, for group counts. */
static inline uint64_t rm_div_up(uint64_t a, uint64_t b) {
    return (a + b - 1) / b;
}

#endif
